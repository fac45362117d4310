"""Crash-safe training into a store: every epoch and minimum committed, exact resume, kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("torch_single_thread")

from landscape import LandscapeError  # noqa: E402
from landscape.potentials.registry import load_potential  # noqa: E402
from landscape.store import Store  # noqa: E402
from landscape_plugins.torchnet.train import TrainConfig  # noqa: E402
from landscape_plugins.torchnet.trainrun import copy_minima, store_description, train_stored  # noqa: E402

OPTIONS = {"hidden": "8", "n_train": "128", "n_test": "64", "minima": "0"}
CONFIG = TrainConfig(epochs=5, lr=0.05, optimizer="sgd", batch_size=32, schedule="step")


@pytest.fixture(scope="module")
def potential():
    return load_potential("mlp", OPTIONS)


def _train(path, potential, **kw):
    return train_stored(path, potential, 2, CONFIG, description=store_description(potential, "mlp", OPTIONS), **kw)


def _contents(path):
    with Store.open(path) as s:
        coords, energies, names = s.read_minima()
        curves, _ = s.read_array_group("learning_curves")
    return coords, energies, names, curves


def _epochs_committed(path) -> int:
    """Epochs of the minimum in progress committed so far (minima count 40 each)."""
    try:
        with Store.open(path) as s:
            attrs = s.read_array_group("training")[1]
            done = len(s.read_minima()[2]) if "learning_curves" in s.describe()["groups"] else 0
    except LandscapeError:
        return 0
    return 40 * done + int(attrs.get("checkpoint_epoch") or 0)


class Crash(Exception):
    pass


@pytest.mark.parametrize("at", [("0", 2), ("1", 1), ("0", 0), ("1", 4)])
def test_a_crash_after_any_commit_resumes_to_the_uninterrupted_result(tmp_path, potential, at):
    reference = _contents(_train(tmp_path / "ref.h5", potential).store)

    def crash(name, epoch):
        if (name, epoch) == at:
            raise Crash

    with pytest.raises(Crash):
        _train(tmp_path / "run.h5", potential, after_commit=crash)
    _contents_readable = Store.open(tmp_path / "run.h5")  # readable after the crash
    _contents_readable.close()
    run = _train(tmp_path / "run.h5", potential)
    if at[1]:
        assert run.resumed == at
    got = _contents(tmp_path / "run.h5")
    assert got[2] == reference[2] and np.array_equal(got[0], reference[0]) and np.array_equal(got[1], reference[1])
    assert all(np.array_equal(got[3][k], reference[3][k]) for k in reference[3])


@pytest.mark.parametrize("stacked, at", [(False, 9), (False, 3), (True, 9)])
def test_a_stop_between_two_steps_resumes_from_the_last_epoch_to_the_same_minima(tmp_path, potential, stacked, at):
    """`on_step` raising after optimizer step `at` (4 steps an epoch: inside the third
    epoch, or inside the first, before any commit) stops training there; the store keeps
    the epochs committed before it, and a rerun ends at the uninterrupted minima."""
    reference = _contents(_train(tmp_path / "ref.h5", potential, stacked=stacked).store)
    steps = iter(range(1, 10**6))

    def stop():
        if next(steps) == at:
            raise Crash

    with pytest.raises(Crash):
        _train(tmp_path / "run.h5", potential, stacked=stacked, on_step=stop)
    assert _epochs_committed(tmp_path / "run.h5") == (at - 1) // 4
    run = _train(tmp_path / "run.h5", potential, stacked=stacked)
    assert run.resumed == (("0,1" if stacked else "0"), 2) if at > 4 else run.resumed is None
    got = _contents(tmp_path / "run.h5")
    assert got[2] == reference[2] and np.array_equal(got[0], reference[0]) and np.array_equal(got[1], reference[1])


def test_store_checks(tmp_path, potential):
    path = tmp_path / "a.h5"
    _train(path, potential)
    other = TrainConfig(epochs=6, lr=0.05, optimizer="sgd", batch_size=32)
    with pytest.raises(LandscapeError, match="another recipe"):
        train_stored(path, potential, 2, other, description=store_description(potential, "mlp", OPTIONS))
    with pytest.raises(LandscapeError, match="seeds"):
        train_stored(path, potential, 2, CONFIG, seed=5, description=store_description(potential, "mlp", OPTIONS))
    with pytest.raises(LandscapeError, match="more than"):
        train_stored(path, potential, 1, CONFIG, description=store_description(potential, "mlp", OPTIONS))
    with pytest.raises(LandscapeError, match="does not exist"):
        _train(tmp_path / "no" / "b.h5", potential)
    assert train_stored(
        path, potential, 2, other, force=True, description=store_description(potential, "mlp", OPTIONS)
    ).trained == ("0", "1")


def test_a_failed_fresh_run_leaves_no_store(tmp_path, potential):
    def crash(name, epoch):
        raise Crash

    with pytest.raises(Crash):
        train_stored(tmp_path / "x.h5", potential, 1, CONFIG, epoch_checkpoints=False, after_commit=crash)
    assert (tmp_path / "x.h5").exists()  # a finished minimum is kept

    def broken_source(seed):
        raise LandscapeError("no training data")

    with pytest.raises(LandscapeError, match="no training data"):
        train_stored(tmp_path / "y.h5", potential, 1, CONFIG, train_source=broken_source)
    assert not (tmp_path / "y.h5").exists()  # nothing to resume: no store left behind


def test_kill_9_during_training_then_resume(tmp_path, potential):
    """A real kill -9 of `landscape train` at a moment when epochs are being committed."""
    options = sum((["-o", f"{k}={v}"] for k, v in OPTIONS.items() if k != "minima"), [])
    args = [
        sys.executable,
        "-m",
        "landscape_cli.main",
        "train",
        "mlp",
        *options,
        "--minima",
        "2",
        "--epochs",
        "40",
        "--batch-size",
        "32",
        "--lr",
        "0.05",
        "--optimizer",
        "sgd",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(args + ["--out", str(tmp_path / "ref.h5")], check=True, env=env, capture_output=True)
    proc = subprocess.Popen(
        args + ["--out", str(tmp_path / "run.h5")], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while _epochs_committed(tmp_path / "run.h5") < 5 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with Store.open(tmp_path / "run.h5") as s:  # readable whatever the moment
        s.read_array_group("training")
    out = subprocess.run(
        args + ["--out", str(tmp_path / "run.h5")], check=True, env=env, capture_output=True, text=True
    )
    assert "continued minimum" in out.stdout or proc.returncode == 0
    ref, got = _contents(tmp_path / "ref.h5"), _contents(tmp_path / "run.h5")
    assert got[2] == ref[2] and np.array_equal(got[0], ref[0])
    assert all(np.array_equal(got[3][k], ref[3][k]) for k in ref[3])


def test_copied_minima_are_the_trained_ones_bit_for_bit_and_train_nothing(tmp_path, potential):
    source = _train(tmp_path / "a.h5", potential).store
    options = {**OPTIONS, "batch_size": "16"}  # another loss batch: a setting of the path search
    batched = load_potential("mlp", options)
    description = store_description(batched, "mlp", options)
    assert copy_minima(source, tmp_path / "b.h5", description) == ["0", "1"]
    run = train_stored(tmp_path / "b.h5", batched, 2, CONFIG, description=description)
    assert run.trained == () and run.names == ("0", "1")
    got, want = _contents(tmp_path / "b.h5"), _contents(source)
    assert got[2] == want[2] and np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    assert all(np.array_equal(got[3][k], want[3][k]) for k in want[3])
    with pytest.raises(LandscapeError, match="already exists"):
        copy_minima(source, tmp_path / "b.h5", description)
    wider = {**OPTIONS, "hidden": "9"}
    with pytest.raises(LandscapeError, match="another potential"):
        copy_minima(source, tmp_path / "c.h5", store_description(load_potential("mlp", wider), "mlp", wider))
    with pytest.raises(LandscapeError, match="another recipe"):  # the recipe travels with the minima
        train_stored(
            tmp_path / "b.h5",
            batched,
            2,
            TrainConfig(epochs=6, lr=0.05, optimizer="sgd", batch_size=32),
            description=description,
        )


def test_minima_of_an_unfinished_training_are_not_copied(tmp_path, potential):
    class Stop(Exception):
        pass

    def stop(name, epoch):
        if (name, epoch) == ("0", 0):
            raise Stop

    with pytest.raises(Stop):
        _train(tmp_path / "a.h5", potential, after_commit=stop)
    with pytest.raises(LandscapeError, match="not finished"):
        copy_minima(tmp_path / "a.h5", tmp_path / "b.h5", store_description(potential, "mlp", OPTIONS))
    assert not os.path.exists(tmp_path / "b.h5")
