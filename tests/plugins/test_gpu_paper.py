"""bench/gpu_paper.py on a CPU at the smallest size: summary.json, the samples of every
phase against a hand count (the default curve preset, and AutoNEB's `cpu` preset), the
wall-clock guard (stop, then continue to the same row), and its one-line errors.  A
ResNet-8 of width 2 on 40 synthetic training images, seconds."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from itertools import count
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

pytestmark = pytest.mark.usefixtures("torch_single_thread")

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "gpu_paper.py"
M, N, NT, EPOCHS, TRAIN_BATCH, NEB_BATCH, CAL = 3, 40, 20, 2, 15, 8, 16
CYCLE_STEPS, CURVE_STEPS, PIVOTS, PER_SEGMENT, LINE_POINTS = 1, 6, 3, 1, 2
TINY = [
    "--smoke",
    "--data",
    "synthetic",
    "--model",
    "resnet8-w2",
    "--n-train",
    str(N),
    "--n-test",
    str(NT),
    "--minima",
    str(M),
    "--epochs",
    str(EPOCHS),
    "--train-batch",
    str(TRAIN_BATCH),
    "--neb-batch",
    str(NEB_BATCH),
    "--calibration",
    str(CAL),
    "--pivots",
    str(PIVOTS),
    "--max-pivots",
    str(PIVOTS),
    "--per-segment",
    str(PER_SEGMENT),
    "--line-points",
    str(LINE_POINTS),
]
CURVE = [*TINY, "--curve-steps", str(CURVE_STEPS)]  # the default preset, bezier, at 6 steps
AUTONEB = [*TINY, "--preset", "cpu", "--cycle-steps", str(CYCLE_STEPS), "--minima", "2"]  # one path: cheap


def _module():
    spec = importlib.util.spec_from_file_location("gpu_paper", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_paper"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


gpu_paper = _module()


def _ticks():
    """A clock that advances one 'second' per reading: the guard's decisions then depend
    on the work done, not on the machine's speed."""
    ticks = count()
    return lambda: float(next(ticks))


def _run(out, *extra, budget=1e9, preset=CURVE):
    return gpu_paper.main(
        [*preset, "--out", str(out), "--budget-seconds", str(budget), *extra], clock=_ticks(), log=lambda _: None
    )


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    """One uninterrupted run of the tiny row (the default: a curve for each pair)."""
    out = tmp_path_factory.mktemp("whole")
    return out, _run(out)


@pytest.fixture(scope="module")
def autoneb(tmp_path_factory):
    """The same row with AutoNEB's `cpu` preset."""
    out = tmp_path_factory.mktemp("autoneb")
    return out, _run(out, preset=AUTONEB)


def test_the_smoke_run_writes_the_row_phase_times_samples_and_criteria(whole):
    out, summary = whole
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk == summary
    assert summary["completed"] is True and summary["phase"] == "done"
    assert summary["phases_done"] == list(gpu_paper.PHASES) == list(summary["phase_seconds"])
    assert summary["data"] == {
        "file": str(out / f"synthetic-{N}-{NT}.npz"),
        "kind": "synthetic",
        "n_train": N,
        "n_test": NT,
    }
    assert set(summary["samples"]) == set(gpu_paper.PHASES)
    assert all(v > 0 for k, v in summary["images_per_second"].items() if k != "criteria")
    assert summary["row"]["minima"] == M and summary["row"]["paths"] == summary["exploration"]["paths"]
    assert summary["row"]["aligned_line_train_loss"] is not None  # the weight-matched line is in the row
    assert {
        "minima_fit_training_set",
        "every_maximum_inside",
        "saddle_within_factor",
        "straight_line_above_factor",
        "test_error_within_points",
        "minima_test_error_within",
    } == set(summary["criteria"])  # a curve has no cycles to level off
    assert summary["cycle_maxima"] is None
    # Algorithm 3 on 3 minima: the two pairs of the tree, then the third, which might lower it
    assert summary["exploration"]["pairs"] == ["0-1", "0-2", "1-2"] and len(summary["exploration"]["tree"]) == M - 1
    assert summary["device"] and summary["paper_row"]["train_loss_min"] == 0.016
    assert len(summary["calls"]) == 1 and summary["total"]["samples"] == summary["samples"]


def _train_and_table_by_hand(summary, m=M):
    """Training and Table 1 of `m` minima in the hand count (the same for every preset)."""
    s = summary["samples"]
    paths = summary["exploration"]["paths"]
    assert s["data"] == {"gradient": 0, "forward": 0}
    # training (the minima stacked, counted per network as if alone): every epoch's full
    # batches (the tail of 40 = 2 x 15 + 10 is dropped); after each epoch the curves
    # recalibrate BatchNorm on 16 images and evaluate both sets; the committed minimum's
    # energy is one mini-batch loss of the path's batch (8)
    per_minimum = {"gradient": EPOCHS * (N // TRAIN_BATCH) * TRAIN_BATCH, "forward": EPOCHS * (CAL + N + NT)}
    assert s["train"] == {
        "gradient": m * per_minimum["gradient"],
        "forward": m * per_minimum["forward"] + m * NEB_BATCH,
    }
    assert summary["stored_samples"]["train"] == {str(k): per_minimum for k in range(m)}
    assert summary["stored_samples"]["per_minimum"] == per_minimum and summary["stacked_training"] is True
    # Table 1 (potential evaluated point by point, batched="loop" on the CPU: each
    # point's BatchNorm statistics are recomputed once, for both data sets): the minima;
    # every path's pivots and 1 point per segment; the straight and the aligned line
    # between the MST's m - 1 pairs, 2 + 2 points each
    mst = m - 1
    points = paths * (PIVOTS + (PIVOTS - 1) * PER_SEGMENT) + 2 * mst * (2 + LINE_POINTS)
    forward = (m + points) * (CAL + N + NT)
    assert s["table1"] == {"gradient": 0, "forward": forward}
    assert s["criteria"] == {"gradient": 0, "forward": 0}  # no evaluation of its own


def test_the_samples_of_every_phase_equal_a_hand_count(whole):
    _, summary = whole
    _train_and_table_by_hand(summary)
    s, paths = summary["samples"], summary["exploration"]["paths"]
    # a curve per pair: every step one t on one batch (the only sample-gradients); its
    # pivots evaluated forward at the start and after the last step, then the final
    # profile's 9 points per segment (the driver's, as for any path)
    schedule = summary["schedule"]
    assert (schedule["method"], schedule["steps"], schedule["draws"]) == ("curve", CURVE_STEPS, 1)
    assert (schedule["batch"], schedule["pivots"]) == (NEB_BATCH, PIVOTS)
    per_path = {
        "gradient": CURVE_STEPS * 1 * NEB_BATCH,
        "forward": 2 * PIVOTS * NEB_BATCH + (PIVOTS - 1) * 9 * NEB_BATCH,
    }
    assert schedule["sample_gradients_per_path"] == per_path["gradient"]
    assert s["paths"] == {k: paths * v for k, v in per_path.items()}
    assert list(summary["stored_samples"]["paths"].values()) == [per_path] * paths
    assert summary["stored_samples"]["per_path"] == per_path


def test_the_autoneb_preset_still_runs_and_its_samples_equal_a_hand_count(autoneb):
    _, summary = autoneb
    assert summary["completed"] is True and "autoneb_levelled_off" in summary["criteria"]
    assert set(summary["cycle_maxima"]) == set(summary["exploration"]["pairs"]) == {"0-1"}
    _train_and_table_by_hand(summary, 2)
    s, paths = summary["samples"], summary["exploration"]["paths"]
    # AutoNEB: the 4 cycles of the `cpu` preset at 1 step each, 3 pivots capped at 3
    # (nothing inserted); every cycle's band is evaluated at its start and after each
    # step: the moving pivots' gradients and the fixed ends' energies on the same batch
    # (a mini-batch loss: forward only); after each cycle the insertion test evaluates 9
    # points (the schedule's) in each of the 2 segments
    cycles = summary["schedule"]["cycles"]
    assert summary["schedule"]["method"] == "autoneb" and cycles == 4
    assert summary["schedule"]["steps"] == cycles * CYCLE_STEPS
    bands = cycles * CYCLE_STEPS + cycles
    per_path = {
        "gradient": bands * (PIVOTS - 2) * NEB_BATCH,
        "forward": bands * 2 * NEB_BATCH + cycles * (PIVOTS - 1) * 9 * NEB_BATCH,
    }
    assert s["paths"] == {k: paths * v for k, v in per_path.items()}
    assert list(summary["stored_samples"]["paths"].values()) == [per_path] * paths
    assert summary["stored_samples"]["per_path"] == per_path and summary["forward_only_ends"] is True


@pytest.mark.parametrize(
    "phase, into, why",
    [("train", 3, "inside an epoch"), ("train", 6, "before epoch 2"), ("paths", 1.5, ""), ("table1", 1.5, "")],
)
def test_the_guard_stops_early_and_a_rerun_completes_the_same_row(whole, tmp_path, phase, into, why):
    """A budget that ends `into` clock readings after `phase` began (the uninterrupted
    run's timeline): the guard stops in that phase (training inside the first epoch,
    where the store holds no finished epoch yet, or between two epochs; the
    paths in the first path's curve, which the step hook interrupts and whose state the
    store keeps for the rerun to resume; Table 1 before
    its first evaluation), and the same command then finishes the row of the
    uninterrupted run."""
    _, full = whole
    budget = full["phase_began"][phase] + gpu_paper.RESERVE_SECONDS + into
    first = _run(tmp_path, budget=budget)
    assert first["completed"] is False and first["phase"] == phase and first["stopped"] and why in first["stopped"]
    assert first["wall_seconds"] <= budget
    assert first["phases_done"] == list(gpu_paper.PHASES[: gpu_paper.PHASES.index(phase)])
    assert json.loads((tmp_path / "summary.json").read_text()) == first
    second = _run(tmp_path)
    assert second["completed"] is True and [c["phase"] for c in second["calls"]] == [phase, "done"]
    # the stored minima, paths and their evaluations are those of the uninterrupted run
    assert second["minima"] == full["minima"] and second["table"]["paths"] == full["table"]["paths"]
    assert second["row"] == full["row"] and second["stored_samples"] == full["stored_samples"]
    # the calls together spent at least what one uninterrupted run spends
    for name, spent in full["samples"].items():
        assert second["total"]["samples"][name]["gradient"] >= spent["gradient"]


def test_the_guard_stops_inside_a_table_evaluation_and_stores_none_of_it(whole, tmp_path):
    """A budget that passes the check before Table 1's first evaluation (the minima's)
    and ends a few batches into it: the evaluation's hook stops it in the middle, the
    store holds no evaluation at all (none half-written), and the same command then
    computes it whole, to the row and table of the uninterrupted run."""
    from landscape import LandscapeError, Store
    from landscape.store.layout import MINIMA_METRICS_GROUP

    _, full = whole
    # readings after the phase's check: its start, the report's `done` and `check` (which
    # sees a longest unit of 2 readings), then one per evaluated batch: expired at the 3rd
    budget = full["phase_began"]["table1"] + gpu_paper.RESERVE_SECONDS + 6
    first = _run(tmp_path, budget=budget)
    assert first["completed"] is False and first["phase"] == "table1"
    assert first["stopped"].startswith("stopped inside an evaluation")
    assert first["samples"]["table1"]["forward"] > 0  # it had begun
    with Store.open(str(tmp_path / "paper")) as s, pytest.raises(LandscapeError, match="no group"):
        s.read_array_group(MINIMA_METRICS_GROUP)
    second = _run(tmp_path)
    assert second["completed"] is True and [c["phase"] for c in second["calls"]] == ["table1", "done"]
    assert second["row"] == full["row"]
    assert {k: v for k, v in second["table"].items() if k != "store"} == {
        k: v for k, v in full["table"].items() if k != "store"
    }
    assert second["samples"]["table1"] == full["samples"]["table1"]  # the rerun evaluated everything


def test_no_time_at_all_stops_before_the_data_and_says_so(tmp_path):
    summary = _run(tmp_path, budget=0)
    assert summary["completed"] is False and summary["phase"] == "data" and summary["phases_done"] == []
    assert summary["device"] is None and summary["samples"] == {}


def test_bad_input_is_one_line_and_exit_1(tmp_path, capsys):
    assert gpu_paper.cli(["--data", str(tmp_path / "missing.npz"), "--out", str(tmp_path)]) == 1
    assert capsys.readouterr().err.strip().count("\n") == 0
    assert gpu_paper.cli([*TINY, "--minima", "1", "--out", str(tmp_path)]) == 1
    assert "at least 2 minima" in capsys.readouterr().err
    mixed = ((["--cycle-steps", "2"], "--cycle-steps applies to AutoNEB"), (["--preset", "cpu"], "--curve-steps"))
    for flags, what in mixed:  # an option of the other kind of preset
        assert gpu_paper.cli([*CURVE, *flags, "--out", str(tmp_path / "y")]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and what in err
        assert not (tmp_path / "y").exists()  # refused before anything was written
    if not torch.cuda.is_available():
        assert gpu_paper.cli([*TINY, "--device", "cuda", "--out", str(tmp_path / "x")]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "CUDA is not available" in err
        assert not (tmp_path / "x").exists()  # refused before anything was written


def test_the_command_line_exits_1_with_one_line(tmp_path):
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--data", str(tmp_path / "none.npz"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "not found" in done.stderr


def test_a_throughput_flag_this_checkout_cannot_honour_is_one_line(tmp_path, capsys):
    """--stacked and --compile switch on what plugins/torchnet offers once the stored
    training and the cifar plugin take it; until then they say so instead of ignoring it."""
    import inspect

    from landscape_plugins.cifar.potential import build_cifar
    from landscape_plugins.torchnet.trainrun import train_stored

    for flag, func, name in (
        (["--stacked"], train_stored, "stacked"),
        (["--compile", "default"], build_cifar, "compile"),
    ):
        if name in inspect.signature(func).parameters:
            continue
        assert gpu_paper.cli([*TINY, *flag, "--out", str(tmp_path)]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and flag[0] in err


def test_compile_reaches_the_cifar_potential_and_a_bad_mode_is_one_line(tmp_path, capsys):
    args = gpu_paper.parse([*TINY, "--compile", "reduce-overhead", "--out", str(tmp_path)])
    assert gpu_paper.experiment(args, gpu_paper._settings(args), "unused.npz").potential["compile"] == "reduce-overhead"
    assert gpu_paper.cli([*TINY, "--compile", "fast", "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "compile must be one of" in err
    assert not (tmp_path / "x").exists()  # refused before anything was written


def test_ctrl_c_writes_the_summary_and_the_same_command_continues(whole, tmp_path):
    _, full = whole
    ticks, at = count(), full["phase_began"]["train"] + 4  # a few readings into the training

    def clock() -> float:  # Ctrl-C arrives once, at reading `at`
        now = next(ticks)
        if now == at:
            raise KeyboardInterrupt
        return float(now)

    with pytest.raises(KeyboardInterrupt):
        gpu_paper.main([*CURVE, "--out", str(tmp_path)], clock=clock, log=lambda _: None)
    stopped = json.loads((tmp_path / "summary.json").read_text())
    assert stopped["completed"] is False and stopped["phase"] == "train"
    assert stopped["stopped"] == "interrupted by the user"
    again = _run(tmp_path)
    assert again["completed"] is True and again["row"] == full["row"]


def test_a_full_run_without_any_data_file_is_one_line(tmp_path, capsys, monkeypatch):
    from landscape_plugins.cifar import data

    monkeypatch.setattr(data, "default_npz_path", lambda: None)  # as on a machine without ../shared/data
    assert gpu_paper.cli(["--device", "cpu", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no CIFAR data" in err
    # --smoke falls back to a synthetic data set instead (a budget of 0: nothing else runs)
    summary = gpu_paper.main(["--smoke", "--out", str(tmp_path / "smoke"), "--budget-seconds", "0"], log=lambda _: None)
    assert summary["data"]["kind"] == "synthetic" and Path(summary["data"]["file"]).is_file()


def _paths_of(out):
    from landscape import Store

    with Store.open(str(out / "paper")) as s:
        return {n: s.read_result(n) for n in s.path_names()}


def _assert_paths_close(got, want, atol=1e-5):
    """Per pair the same path up to float32 rounding of the joint call (vmap against the
    potential's loop; about 1e-6 measured here), the same counts and status."""
    assert sorted(got) == sorted(want) == ["0-1", "0-2", "1-2"]
    for name, r in got.items():
        r0 = want[name]
        for a, b in ((r.path.pivots, r0.path.pivots), (r.path.energies, r0.path.energies)):
            np.testing.assert_allclose(a, b, rtol=0, atol=atol)
        np.testing.assert_allclose(r.profile.energies, r0.profile.energies, rtol=0, atol=atol)
        assert (r.status, r.nit, r.nfev, r.samples) == (r0.status, r0.nit, r0.nfev, r0.samples)


@pytest.fixture(scope="module")
def together(tmp_path_factory):
    """The tiny row with each batch's curves in lockstep."""
    out = tmp_path_factory.mktemp("together")
    return out, _run(out, "--together", "on")


def test_together_on_stores_the_paths_one_pair_after_another_stores(whole, together):
    (out, full), (out_on, on) = whole, together
    assert full["together"] == {"asked": "auto", "ran": "off", "batches": []}  # auto on a CPU: the loop
    assert on["completed"] is True and on["together"]["ran"] == "on" and on["together"]["batched"] == "vmap"
    # Algorithm 3: the tree's two pairs in one lockstepped batch, then the third alone
    assert on["together"]["batches"] == ["vmap", "alone"] and on["together"]["resume"].startswith("exact")
    _assert_paths_close(_paths_of(out_on), _paths_of(out))
    assert on["stored_samples"] == full["stored_samples"] and on["samples"]["paths"] == full["samples"]["paths"]


def test_a_lockstepped_group_stopped_by_the_guard_resumes_exactly(whole, together, tmp_path):
    """The guard stops both curves of the first batch after their first step (each
    commits its state); the same command resumes them, in lockstep again, to the paths
    of the uninterrupted lockstepped run, to the bit."""
    from landscape import Store

    (_, full), (out_on, on) = whole, together
    first = _run(tmp_path, "--together", "on", budget=full["phase_began"]["paths"] + gpu_paper.RESERVE_SECONDS + 1.5)
    assert first["completed"] is False and first["phase"] == "paths"
    with Store.open(str(tmp_path / "paper")) as s:
        assert sorted(s.path_names()) == ["0-1", "0-2"]
        assert [s.read_checkpoint(n)[1]["nit"] for n in ("0-1", "0-2")] == [1, 1]
    second = _run(tmp_path, "--together", "on")
    assert second["completed"] is True and [c["phase"] for c in second["calls"]] == ["paths", "done"]
    assert second["exploration"]["pairs"] == full["exploration"]["pairs"]
    _assert_paths_close(_paths_of(tmp_path), _paths_of(out_on), atol=0)
    assert second["stored_samples"] == on["stored_samples"] and second["row"] == on["row"]


def test_together_on_with_an_autoneb_preset_is_one_line(tmp_path, capsys):
    assert gpu_paper.cli([*AUTONEB, "--together", "on", "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--together on applies to a curve preset" in err
    assert not (tmp_path / "x").exists()  # refused before anything was written


def test_the_device_script_refuses_a_missing_data_file_in_one_line(tmp_path):
    """bench/device_paper.sh, the prepared call for a lent GPU: a missing data file is
    one line and exit 2 before anything runs (the whole script on --smoke: docs/cifar.md)."""
    script = SCRIPT.parent / "device_paper.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    env = {"PATH": "/usr/bin:/bin", "OUT": str(tmp_path / "out"), "PYTHON": sys.executable, "SITE": str(tmp_path)}
    env["DATA"] = str(tmp_path / "absent.npz")
    done = subprocess.run(["bash", str(script)], cwd=SCRIPT.parents[1], env=env, capture_output=True, text=True)
    assert done.returncode == 2 and done.stdout.strip().splitlines() == [
        f"device_paper: no {env['DATA']}: copy ../shared/data/cifar10_jpeg.npz into data/ and carry data"
    ]
