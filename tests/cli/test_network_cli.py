"""`landscape train | evaluate | hessian | xor` on small networks, and their bad input.

Every bad input ends as one `error:` line on stderr with a non-zero exit and leaves
existing files byte for byte as they were.
"""

from __future__ import annotations

import json
import math
import os

import pytest

torch = pytest.importorskip("torch")

from landscape.store import Store  # noqa: E402
from landscape_cli.testing import error_line, invoke, run, snapshot  # noqa: E402

MLP = ["-o", "hidden=8", "-o", "n_train=64", "-o", "n_test=64", "-o", "data_seed=1"]


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _schedule(path) -> str:
    sgd = {"kind": "sgd", "lr": 0.05, "momentum": 0.9}
    path.write_text(
        json.dumps(
            {"name": "tiny", "cycles": [{"steps": 15, "stepper": sgd}, {"steps": 15, "stepper": sgd, "climb": True}]}
        )
    )
    return str(path)


@pytest.fixture(scope="module")
def explored(tmp_path_factory):
    """An MLP store with 2 trained minima and an AutoNEB path between them."""
    folder = tmp_path_factory.mktemp("mlp")
    store = folder / "m.h5"
    run(["train", "mlp", *MLP, "--minima", 2, "--epochs", 60, "--out", store])
    run(["explore", store, "--schedule", _schedule(folder / "s.json")])
    return store


def test_train_writes_minima_curves_and_a_rebuildable_description(tmp_path):
    store = tmp_path / "t.h5"
    out = json.loads(
        run(["train", "mlp", *MLP, "--minima", 2, "--epochs", 5, "--seed", 3, "--out", store, "--json"]).stdout
    )
    assert out["names"] == ["0", "1"] and out["seeds"] == [3, 4] and out["trained"] == ["0", "1"]
    assert all(math.isfinite(v["train_loss"]) for v in out["final"].values())
    # full batches of the 64 training samples for 5 epochs; after each epoch the curves
    # evaluate the 64 training and 64 test samples (no BatchNorm to recalibrate)
    assert out["samples"] == {n: {"gradient": 5 * 64, "forward": 5 * 128} for n in ("0", "1")}
    with Store.open(store) as s:
        coords, energies, names = s.read_minima()
        desc = s.potential_description
        curves, _ = s.read_array_group("learning_curves")
        meta = s.minima_metadata()
    assert coords.shape[0] == 2 and names == ["0", "1"] and curves["1.train_loss"].shape == (5,)
    assert (
        list(curves["1.samples_gradient"]) == [64, 128, 192, 256, 320]
        and meta["minima"]["1"]["samples"] == out["samples"]["1"]
    )
    opts = desc["plugin"]["options"]  # every option of the plugin, coerced (minima=0: none trained on build)
    assert desc["plugin"]["name"] == "mlp" and {
        k: opts[k] for k in ("hidden", "n_train", "n_test", "data_seed", "minima")
    } == {"hidden": "8", "n_train": 64, "n_test": 64, "data_seed": 1, "minima": 0}
    assert meta["minima"]["1"]["seed"] == 4 and meta["config"]["epochs"] == 5
    from landscape.potentials.registry import load_potential

    assert load_potential(desc["plugin"]["name"], opts).dim == coords.shape[1]  # no minima trained on build
    common = ["--epochs", 5, "--seed", 3, "--out", store, "--json"]
    again = json.loads(run(["train", "mlp", *MLP, "--minima", 2, *common]).stdout)
    assert again["trained"] == []  # finished: nothing to do
    more = json.loads(run(["train", "mlp", *MLP, "--minima", 3, *common]).stdout)
    assert more["trained"] == ["2"] and more["seeds"] == [3, 4, 5]


def test_evaluate_stores_the_evaluation_and_prints_three_barriers(explored, tmp_path):
    out = json.loads(run(["evaluate", explored, "--per-segment", 3, "--json"]).stdout)
    ((name, info),) = out["paths"].items()
    assert name == "0-1" and os.path.exists(info["figure"])
    with Store.open(explored) as s:
        stored = s.read_result("0-1")
    # every evaluated point (pivots, 3 per segment) runs forward over 64 train + 64 test samples
    points = stored.path.n_pivots + 3 * (stored.path.n_pivots - 1)
    assert info["evaluation_samples"] == {"gradient": 0, "forward": points * 128}
    assert info["samples"] == stored.samples and stored.samples["gradient"] > 0
    for key in ("train_loss", "train_error", "test_loss", "test_error"):
        b = info["summary"][key]["barriers"]
        assert set(b) >= {"max_minus_mean_ends", "max_gap_to_line", "saddle_minus_higher_end"}
    with Store.open(explored) as s:
        arrays, attrs = s.read_array_group("evaluation-0-1")
    assert attrs["per_segment"] == 3 and arrays["train_loss"].shape == arrays["t"].shape
    text = run(["evaluate", explored, "--path", "0-1", "--per-segment", 1, "--figure", tmp_path / "p.png"]).stdout
    assert "max-mean" in text and "gap-line" in text and "sad-high" in text and (tmp_path / "p.png").exists()


def test_evaluate_repair_is_stored_apart_and_keeps_the_ends(explored):
    plain = json.loads(run(["evaluate", explored, "--per-segment", 1, "--json"]).stdout)["paths"]["0-1"]
    out = json.loads(run(["evaluate", explored, "--per-segment", 1, "--repair", "--json"]).stdout)
    info = out["paths"]["0-1"]
    assert out["repair"] and info["figure"].endswith("0-1-repaired-evaluation.png") and os.path.exists(info["figure"])
    with Store.open(explored) as s:
        points = 2 * s.read_result("0-1").path.n_pivots - 1
        assert s.read_array_group("evaluation-0-1")[1]["bn_mode"] == "none"  # the plain one stays
        assert "REPAIR" in s.read_array_group("evaluation-repaired-0-1")[1]["bn_mode"]
    # REPAIR: the ends and every point once over the 64 calibration samples; then 64 train + 64 test
    assert info["evaluation_samples"] == {"gradient": 0, "forward": (2 + points) * 64 + points * 128}
    for key in ("train_loss", "test_error"):  # REPAIR leaves the ends as they are
        for end in ("start", "end"):
            assert info["summary"][key][end] == pytest.approx(plain["summary"][key][end], rel=1e-5, abs=1e-7)


def test_hessian_at_minima_and_climbing_image(explored):
    out = json.loads(run(["hessian", explored, "--json"]).stdout)
    assert set(out["minima"]) == {"0", "1"} and set(out["paths"]) == {"0-1"}
    for r in out["minima"].values():
        assert r["largest"] >= r["smallest"] and r["near_zero"] >= 0 and r["near_zero_method"] == "dense"
        assert r["tangent_of"] == "0-1" and math.isfinite(r["tangent_curvature"])
    ci = out["paths"]["0-1"]
    assert ci["climbing"] and math.isfinite(ci["smallest_eigenvalue"]) and ci["index"] >= 1
    only = json.loads(run(["hessian", explored, "--minimum", "1", "--samples", 32, "--json"]).stdout)
    assert set(only["minima"]) == {"1"} and only["paths"] == {}


def test_xor_command(tmp_path):
    out = json.loads(run(["xor", "--seed", 0, "--out-dir", tmp_path, "--json"]).stdout)
    assert out["holds"] and os.path.exists(out["seeds"]["0"]["files"]["figure"])
    assert "HOLDS" in run(["xor", "--out-dir", tmp_path]).stdout


def _bad_cases(store, folder):
    (folder / "notes.txt").write_text("notes")
    return [
        ["train", "no-such-plugin", "--minima", 1, "--out", folder / "x.h5"],
        ["train", "mueller-brown", "--minima", 1, "--out", folder / "x.h5"],
        ["train", "mlp", "--minima", 0, "--out", folder / "x.h5"],
        ["train", "mlp", "--minima", 1, "--epochs", 0, "--out", folder / "x.h5"],
        ["train", "mlp", "--minima", 1, "--lr", -1, "--out", folder / "x.h5"],
        ["train", "mlp", "-o", "minima=2", "--minima", 1, "--out", folder / "x.h5"],
        ["train", "mlp", "-o", "hidden=abc", "--minima", 1, "--out", folder / "x.h5"],
        ["train", "mlp", "--minima", 1, "--out", folder / "no-such-dir" / "x.h5"],
        ["train", "mlp", *MLP, "--minima", 2, "--epochs", 7, "--out", store],  # other recipe
        ["train", "mlp", "-o", "hidden=4", "--minima", 2, "--epochs", 60, "--out", store],  # other potential
        ["evaluate", folder / "missing.h5"],
        ["evaluate", store, "--path", "9-9"],
        ["evaluate", store, "--per-segment", -1],
        ["evaluate", store, "--figure", folder / "a.png", "--path", "0-1", "--path", "0-1", "--batch-size", 0],
        ["hessian", store, "--minimum", "7"],
        ["hessian", store, "--rtol", 0],
        ["xor", "--seed", -1, "--out-dir", folder / "xor"],
        ["xor", "--out-dir", folder / "notes.txt"],  # a file, not a folder
        ["report-table", store, "--json", "--csv"],
    ]


def test_bad_input_gives_one_line_and_leaves_files_alone(explored, tmp_path):
    before = snapshot(explored)
    for args in _bad_cases(explored, tmp_path):
        r = invoke(args)
        assert r.exit_code != 0, args
        error_line(r)
    assert snapshot(explored) == before
    assert not (tmp_path / "x.h5").exists()


def test_evaluate_on_a_store_without_paths(tmp_path):
    store = tmp_path / "t.h5"
    run(["train", "mlp", *MLP, "--minima", 2, "--epochs", 2, "--out", store])
    before = snapshot(store)
    assert "no finished paths" in run(["evaluate", store], expect=1).stderr
    assert snapshot(store) == before


def test_one_writer_evaluate_refuses_while_reading_goes_on(explored):
    from landscape.foundations.lock import WriterLock

    table = ["report-table", explored, "--no-line", "--no-figures", "--per-segment", 2]
    run(table)  # evaluates the minima and the path
    before = snapshot(explored)
    with WriterLock(explored):  # another process writing the store
        assert "is writing" in run(["evaluate", explored], expect=1).stderr
        assert "Min." in run(table + ["--no-evaluate"]).stdout  # readers never wait
        assert "is writing" in run(table[:-1] + ["3"], expect=1).stderr  # new settings need a writer
        assert "lacks the evaluation" in run(table[:-1] + ["3", "--no-evaluate"], expect=1).stderr
    assert snapshot(explored) == before
