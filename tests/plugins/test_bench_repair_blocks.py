"""bench/bench_repair_blocks.py at the smallest size (a ResNet-8 of width 2, two minima
trained one epoch on 32 synthetic images): its rows equal the points evaluated one set
at a time, and its forward samples equal a hand count in which each point's BatchNorm
is recalibrated once for both sets."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

pytestmark = pytest.mark.usefixtures("torch_single_thread")

from landscape import Store  # noqa: E402
from landscape_cli.testing import run  # noqa: E402
from landscape_plugins.cifar.data import write_synthetic_npz  # noqa: E402
from landscape_plugins.torchnet import commands  # noqa: E402
from landscape_plugins.torchnet.evaluate import evaluate_points  # noqa: E402
from landscape_plugins.torchnet.matching import network_symmetry  # noqa: E402
from landscape_plugins.torchnet.repair import repair_point  # noqa: E402

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "bench_repair_blocks.py"
N, NT, CAL = 32, 16, 16  # training, test and calibration images


def _bench():
    spec = importlib.util.spec_from_file_location("bench_repair_blocks", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_bench_recalibrates_each_point_once_for_both_sets_and_its_rows_are_unchanged(tmp_path, monkeypatch):
    write_synthetic_npz(tmp_path / "tiny.npz", N, NT)
    options = ["-o", "model=resnet8-w2", "-o", f"data={tmp_path / 'tiny.npz'}", "-o", "device=cpu"]
    options += ["-o", f"calibration_size={CAL}"]
    store = str(tmp_path / "store")
    run(["train", "cifar", *options, "--minima", 2, "--epochs", 1, "--batch-size", 16, "--out", store])
    built = []
    stored = commands.stored_network
    monkeypatch.setattr(commands, "stored_network", lambda *a: built.append(stored(*a)) or built[-1])
    bench = _bench()
    (row,) = bench.main([store, "--pair", "0-1", "--t", "0.5"])
    pot = built[0]
    assert pot.calibration["size"] == CAL
    # per t: the folded point (REPAIR: ends and point, one calibration pass each) 3 CAL,
    # the folded coefficients again 3 CAL, the block statistics at the point CAL, the
    # hooked point's recalibration CAL and its two sets N + NT, and the plain and folded
    # points: BatchNorm statistics 2 CAL, once, then the two sets 2 (N + NT)
    assert row["forward_samples"] == 10 * CAL + 3 * (N + NT)
    assert pot.cost() == {"gradient": 0, "forward": 2 * CAL + row["forward_samples"]}  # + the ends' block passes

    with Store.open(store) as s:
        coords, _, _ = s.read_minima()
    a = pot.asarray(coords[0])
    b = pot.asarray(network_symmetry(pot).align(coords[0], coords[1]))
    points = torch.stack([(1 - 0.5) * a + 0.5 * b, repair_point(pot, a, b, 0.5)])
    train, test = evaluate_points(pot, points), evaluate_points(pot, points, "test")  # each recalibrates
    for k, name in enumerate(bench.ROWS[:2]):
        np.testing.assert_array_equal(row[name], (train.loss[k], test.error[k]))
