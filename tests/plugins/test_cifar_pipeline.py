"""The CIFAR pipeline end to end through the CLI on a tiny synthetic .npz: train, explore, Table 1.

Seconds on a CPU: a ResNet-8 of width 2 on 40 training / 20 test images.  Also the
`cifar` plugin itself (options, rebuild from the store description, augmented and
checkpointable training stream, bf16 autocast) and the report's definitions.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import math
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

pytestmark = pytest.mark.usefixtures("torch_single_thread")

from landscape import LandscapeError  # noqa: E402
from landscape.potentials.registry import available, load_potential  # noqa: E402
from landscape.store import Store  # noqa: E402
from landscape_cli.testing import run, snapshot  # noqa: E402
from landscape_plugins.cifar.potential import AugmentedSource, CifarPotential, build_cifar  # noqa: E402
from landscape_plugins.cifar.report import _crossing, table1  # noqa: E402

TINY = [
    "-o",
    "model=resnet8-w2",
    "-o",
    "device=cpu",
    "-o",
    "batched=loop",
    "-o",
    "batch_size=8",
    "-o",
    "calibration_size=16",
    "-o",
    "calibration_batch=8",
]


def _write_npz(path, n_train: int = 40, n_test: int = 20) -> None:
    """Blocky random images of 10 classes, JPEG-encoded in the cifar10_jpeg.npz layout."""
    from landscape_plugins.cifar.data import write_synthetic_npz

    write_synthetic_npz(path, n_train, n_test)


@pytest.fixture(scope="module")
def cifar_plugin(tmp_path_factory):
    """The `cifar` entry point, faked by a dist-info folder until pyproject registers it."""
    if "cifar" in available():
        yield
        return
    root = tmp_path_factory.mktemp("dist")
    info = root / "landscape_cifar_test-0.1.0.dist-info"
    info.mkdir()
    info.joinpath("METADATA").write_text("Metadata-Version: 2.1\nName: landscape_cifar_test\nVersion: 0.1.0\n")
    info.joinpath("entry_points.txt").write_text(
        "[landscape.potentials]\ncifar = landscape_plugins.cifar.descriptor:CIFAR\n"
    )
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    yield
    sys.path.remove(str(root))
    importlib.invalidate_caches()


@pytest.fixture(scope="module")
def npz(tmp_path_factory):
    path = tmp_path_factory.mktemp("npz") / "tiny.npz"
    _write_npz(path)
    return path


def _schedule(path) -> str:
    sgd = {"kind": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 1e-4}
    cycles = [{"steps": 2, "stepper": sgd}, {"steps": 2, "stepper": sgd}]
    path.write_text(json.dumps({"name": "tiny", "cycles": cycles}))
    return str(path)


def test_train_explore_report_through_the_cli(tmp_path, npz, cifar_plugin):
    store = tmp_path / "c.h5"
    out = json.loads(
        run(
            [
                "train",
                "cifar",
                *TINY,
                "-o",
                f"data={npz}",
                "--minima",
                2,
                "--epochs",
                2,
                "--batch-size",
                8,
                "--out",
                store,
                "--json",
            ]
        ).stdout
    )
    assert out["names"] == ["0", "1"] and out["epochs"] == 2
    with Store.open(store) as s:
        desc = s.potential_description
        assert desc["plugin"]["name"] == "cifar" and desc["options"]["model"] == "resnet8-w2"
        assert set(s.read_array_group("learning_curves")[0]) >= {"0.train_loss", "1.test_error"}
    assert isinstance(load_potential(desc["name"], desc["options"]), CifarPotential)  # rebuilt from the store
    explored = json.loads(
        run(["explore", store, "--schedule", _schedule(tmp_path / "s.json"), "--no-climb", "--json"]).stdout
    )
    report = json.loads(
        run(
            ["report-table", store, "--json", "--per-segment", 1, "--line-points", 3, "--figures", tmp_path / "fig"]
        ).stdout
    )
    row = report["row"]
    for key in (
        "train_loss_min",
        "train_loss_sadd",
        "factor",
        "test_loss_min",
        "test_loss_sadd",
        "test_error_min_pct",
        "test_error_sadd_pct",
        "line_train_loss",
        "line_factor",
        "autoneb_train_barrier",
    ):
        assert row[key] is not None and math.isfinite(row[key]), key
    assert row["minima"] == 2 and row["mst_edges"] == 1 and row["train_loss_sadd"] >= row["train_loss_min"]
    assert row["line_factor"] == pytest.approx(row["line_train_loss"] / row["train_loss_min"], rel=1e-9)
    with Store.open(store) as s:
        spent = s.read_result(report["paths"][0]["name"]).samples
    assert report["paths"][0]["samples"] == spent and row["samples_gradient_per_path"] == spent["gradient"] > 0
    assert explored["samples"] == spent and explored["path_samples"] == {report["paths"][0]["name"]: spent}
    # fields that cannot hide the spread between the ends
    path = report["paths"][0]
    ends, t_max = path["end_train_losses"], path["train_loss_barriers"]["saddle_t"]
    assert path["max_inside"] == (0 < t_max < 1) and row["paths_max_inside"] == int(path["max_inside"])
    assert path["train_loss_barriers"]["saddle_minus_higher_end"] == pytest.approx(
        path["maxima"]["train_loss"] - max(ends), abs=1e-6
    )
    assert path["factor"] == pytest.approx(path["maxima"]["train_loss"] / (0.5 * sum(ends)), rel=1e-6)
    assert len(report["figures"]) == 3 and all((tmp_path / "fig").joinpath(f).name for f in report["figures"].values())
    for png in report["figures"].values():
        assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    # the claim's per-cycle curve: its last entry is the final path's interior maximum of Table 1
    from landscape_plugins.cifar.claim import cycle_curves

    pot = load_potential(desc["plugin"]["name"], desc["plugin"]["options"])
    curves = cycle_curves(str(store), [path["name"]], pot)[path["name"]]
    with Store.open(store) as s:
        n_cycles = len(s.read_result(path["name"]).cycles)
    assert len(curves["curve"]) == len(curves["minibatch_curve"]) == n_cycles and curves["full_batch"]
    assert curves["samples"][-1] == spent and curves["samples"][0]["gradient"] < spent["gradient"]
    assert curves["curve"][-1] == pytest.approx(path["interior_max_train_loss"], rel=1e-5)
    text = run(["report-table", store, "--no-evaluate", "--no-figures", "--per-segment", 1, "--line-points", 3]).stdout
    assert "Min." in text and "straight line" in text
    rows = list(
        csv.DictReader(
            io.StringIO(
                run(
                    [
                        "report-table",
                        store,
                        "--csv",
                        "--no-evaluate",
                        "--no-figures",
                        "--per-segment",
                        1,
                        "--line-points",
                        3,
                    ]
                ).stdout
            )
        )
    )
    assert len(rows) == 1 and float(rows[0]["train_loss_sadd"]) == pytest.approx(row["train_loss_sadd"], rel=1e-5)


def test_report_table_bad_input(tmp_path, npz, cifar_plugin):
    run(["report-table", tmp_path / "missing.h5"], expect=1)
    store = tmp_path / "c.h5"
    run(["train", "cifar", *TINY, "-o", f"data={npz}", "--minima", 2, "--epochs", 1, "--out", store])
    before = snapshot(store)
    run(["report-table", store], expect=1)  # no paths yet
    run(["report-table", store, "--json", "--csv"], expect=1)
    run(["report-table", store, "--line-points", 0], expect=1)
    assert snapshot(store) == before


def test_the_cifar_plugin_options_and_streams(npz):
    pot = build_cifar(model="resnet8-w2", data=str(npz), n_train=20, n_test=10, device="cpu", batch_size=4)
    assert len(pot.train_data) == 20 and len(pot.test_data) == 10 and pot.sampler.batch_size == 4
    assert pot.describe()["options"]["n_train"] == 20 and pot.training_config().epochs == 136
    src = pot.training_source(3)
    assert isinstance(src, AugmentedSource)
    state = src.state_dict()
    idx = torch.arange(4)
    a = src.get(idx)[0]
    src.load_state_dict(state)
    assert torch.equal(a, src.get(idx)[0])  # the checkpointed stream replays exactly
    assert not torch.equal(a, pot.train_data.get(idx)[0])  # augmented vs plain
    assert build_cifar(model="resnet8-w2", data=str(npz), device="cpu", augment=False).training_source(0) is None
    bf = build_cifar(model="resnet8-w2", data=str(npz), device="cpu", bf16=True, batched="loop")
    e, g = bf.energy_and_gradient(torch.zeros(2, bf.dim) + 0.01)
    assert e.dtype == torch.float32 and torch.isfinite(g).all()
    for bad in (dict(model="resnet9"), dict(batched="fast"), dict(n_train=-1), dict(device="tpu")):
        with pytest.raises(LandscapeError):
            build_cifar(data=str(npz), **bad)
    with pytest.raises(LandscapeError, match="no such|not found"):
        build_cifar(data=str(npz) + ".missing.npz")


def test_epoch_of_crossing_is_the_first_below():
    assert _crossing(np.array([2.0, 1.0, 0.5, 0.6, 0.1]), 0.55) == 3
    assert _crossing(np.array([2.0, 1.0]), 0.1) is None and _crossing(None, 1.0) is None


def test_table_needs_paths(tmp_path):
    with Store.create(tmp_path / "e.h5", {"name": "x", "dim": 2}) as s:
        s.write_minima(np.zeros((2, 2)) + [[0], [1]], np.zeros(2), ["a", "b"])
    with pytest.raises(LandscapeError, match="no finished paths"):
        table1(tmp_path / "e.h5")


def test_align_option_declares_the_channel_symmetry(npz):
    """-o align=true: a relabelled copy of a ResNet's channels aligns back exactly and
    has the same loss; without it the potential declares no symmetry (and its stored
    description is as before)."""
    import numpy as np

    from landscape.potentials.symmetry import align
    from landscape_plugins.cifar.potential import build_cifar

    common = dict(model="resnet8-w4", data=str(npz), device="cpu", augment=False, batch_size=0, calibration_size=20)
    plain, aligned = build_cifar(**common), build_cifar(**common, align=True)
    assert plain.symmetry is None and "align" not in plain.describe().get("options", {})
    x = np.random.default_rng(0).standard_normal(aligned.dim) * 0.1
    perms = aligned.symmetry.permutations(x, np.random.default_rng(1).standard_normal(aligned.dim))
    shuffled = aligned.symmetry.apply({k: np.random.default_rng(2).permutation(len(p)) for k, p in perms.items()}, x)
    assert np.linalg.norm(shuffled - x) > 1.0
    assert np.linalg.norm(align(aligned, x, shuffled) - x) < 1e-12
    energies = aligned.energy(aligned.asarray(np.stack([x, shuffled])))
    assert float(energies[0]) == pytest.approx(float(energies[1]), rel=1e-5)


def test_table1_adds_the_straight_line_to_the_matched_image(tmp_path, npz, cifar_plugin):
    """With -o align=true, Table 1 evaluates the straight line to the second minimum's
    weight-matched image too; that image computes the same function, so the line ends
    at the minimum's own training loss."""
    store = tmp_path / "a"
    run(
        [
            "train",
            "cifar",
            *TINY,
            "-o",
            f"data={npz}",
            "-o",
            "align=true",
            "--minima",
            2,
            "--epochs",
            2,
            "--batch-size",
            8,
            "--out",
            store,
        ]
    )
    run(["explore", store, "--schedule", _schedule(tmp_path / "s.json"), "--no-climb"])
    report = json.loads(
        run(["report-table", store, "--json", "--per-segment", 1, "--line-points", 3, "--no-figures"]).stdout
    )
    row, path = report["row"], report["paths"][0]
    assert math.isfinite(row["aligned_line_train_loss"]) and math.isfinite(row["aligned_line_train_barrier"])
    with Store.open(store) as s:
        matched = s.read_array_group(f"evaluation-aligned-line-{path['a']}-{path['b']}")[0]
        plain = s.read_array_group(f"evaluation-line-{path['a']}-{path['b']}")[0]
    end = int(np.argmax(matched["t"]))
    assert matched["train_loss"][end] == pytest.approx(plain["train_loss"][int(np.argmax(plain["t"]))], rel=1e-4)
    assert not np.allclose(matched["train_loss"], plain["train_loss"])  # the end moved: another line inside
    text = run(["report-table", store, "--no-evaluate", "--no-figures", "--per-segment", 1, "--line-points", 3]).stdout
    assert "straight line to the weight-matched image" in text
