"""Crash safety: commits per cycle, exact resume after kill -9, one writer per store."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from landscape.foundations.errors import LandscapeError
from landscape.foundations.lock import WriterLock
from landscape.potentials.registry import load_potential
from landscape.runs.stored import connect_stored
from landscape.store import Store
from landscape_cli.faults import kill_and_resume, landscape_command
from landscape_cli.testing import snapshot


class Crash(Exception):
    """Stands for the process dying right after a commit."""


def crash_after_cycles(monkeypatch, n: int) -> None:
    """Make the run die right after committing its n-th cycle."""
    import landscape.runs.checkpoints as checkpoints

    original = checkpoints.Committer.commit_cycles

    def commit_then_crash(self, state):
        original(self, state)
        if len(state.cycles) == n:
            raise Crash

    monkeypatch.setattr(checkpoints.Committer, "commit_cycles", commit_then_crash)


# AutoNEB on Mueller-Brown embedded in 5000 dimensions: 5 cycles, each committed, in about 2 s.
ARGS = ("connect", "mueller-brown", "-o", "dim=5000", "--start", "A", "--end", "B", "--method", "autoneb", "--json")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run through the same CLI."""
    out = tmp_path_factory.mktemp("ref") / "ref.h5"
    done = subprocess.run(landscape_command(*ARGS, "--out", str(out)), capture_output=True, text=True, check=True)
    with Store.open(out) as s:
        return json.loads(done.stdout), s.read_result("A-B")


@pytest.mark.parametrize("cycles", [1, 2, 4])
def test_kill_minus_nine_then_resume_gives_the_uninterrupted_result(tmp_path, reference, cycles):
    """Killed once that many of the reference's 5 cycles are committed (a kill after a
    fixed time lands anywhere, or after the end, as the machine's load goes)."""
    payload, ref = reference
    assert len(ref.cycles) == 5
    out = tmp_path / "run.h5"
    trial = kill_and_resume(landscape_command(*ARGS, "--out", str(out)), str(out), 0.0, ready=_cycles_of(out, cycles))
    assert trial.readable, trial.problems
    assert trial.killed and trial.resumed_from_cycle is not None and trial.resumed_from_cycle >= cycles
    with Store.open(out) as s:
        got = s.read_result("A-B")
    np.testing.assert_array_equal(got.path.pivots, ref.path.pivots)
    np.testing.assert_array_equal(got.path.energies, ref.path.energies)
    np.testing.assert_array_equal(got.history, ref.history)
    assert got.nfev == ref.nfev and got.nit == ref.nit and len(got.cycles) == len(ref.cycles)
    assert trial.result["saddle_energy"] == payload["saddle_energy"]


def _polled(holds: Callable[[], bool]) -> Callable[[], bool]:
    """`holds`, False while the store that another process writes cannot tell yet."""

    def ready() -> bool:
        try:
            return holds()
        except (LandscapeError, OSError, sqlite3.Error):  # not created yet, or its first commit in flight
            return False

    return ready


def _reading(store, holds: Callable[[Store], bool]) -> Callable[[], bool]:
    """Whether `store`, written by another process, holds what `holds` looks for yet."""

    def read() -> bool:
        with Store.open(store) as s:
            return holds(s)

    return _polled(read)


def _cycles_of(store, cycles: int) -> Callable[[], bool]:
    return _reading(store, lambda s: "A-B" in s.path_names() and len(s.read_result("A-B").cycles) >= cycles)


def _snapshot_of(store, step: int) -> Callable[[], bool]:
    """A snapshot of A-B at `step` or later."""

    def holds(s: Store) -> bool:
        snapshot = s.read_checkpoint("A-B")
        return snapshot is not None and snapshot[1]["nit"] >= step

    return _reading(store, holds)


# About 1.5 s each, so that kills land after the interpreter started and before the end.
BANDS = {
    "neb": ("-o", "dim=10000", "--fmax", "0.01"),
    "string": ("-o", "dim=6000", "--pivots", "33", "--fmax", "0.001"),
}


@pytest.mark.parametrize("method", ["neb", "string"])
def test_bands_commit_their_state_and_resume_mid_run_exactly(tmp_path, method):
    """NEB and the string method commit a snapshot every --checkpoint-every seconds: a
    kill loses at most that much, and the resumed run is the uninterrupted one."""
    args = (
        "connect",
        "mueller-brown",
        *BANDS[method],
        "--start",
        "A",
        "--end",
        "B",
        "--method",
        method,
        "--checkpoint-every",
        "0.05",
        "--json",
    )
    ref = tmp_path / "ref"
    subprocess.run(landscape_command(*args, "--out", str(ref)), check=True, capture_output=True)
    with Store.open(ref) as s:
        want = s.read_result("A-B")
    for k, step in enumerate((1, want.nit // 2)):
        out = tmp_path / f"run{k}"
        # Killed once a snapshot of that step is on disk, not after a fixed time: on a
        # loaded machine the interpreter's start-up alone can outlast any fixed delay.
        trial = kill_and_resume(
            landscape_command(*args, "--out", str(out)), str(out), 0.0, ready=_snapshot_of(out, step)
        )
        assert trial.readable, trial.problems
        with Store.open(out) as s:
            got = s.read_result("A-B")
        np.testing.assert_array_equal(got.path.pivots, want.path.pivots)
        np.testing.assert_array_equal(got.history, want.history)
        assert (got.nit, got.nfev, got.status) == (want.nit, want.nfev, want.status)
        assert trial.killed and trial.result["resumed_from_step"] >= step  # the rerun went on from the kill


@pytest.mark.parametrize("cycles", [3, 5])  # 5: the last cycle committed, the final result not yet written
def test_interrupted_store_holds_completed_cycles_and_resumes(tmp_path, monkeypatch, cycles):
    pot = load_potential("mueller-brown")
    a, b = pot.minima["A"], pot.minima["B"]
    out = str(tmp_path / "s.h5")
    with monkeypatch.context() as patch:
        crash_after_cycles(patch, cycles)
        with pytest.raises(Crash):
            connect_stored(out, pot, ("A", "B"), a, b)
    with Store.open(out) as s:
        partial = s.read_result("A-B")
        assert partial.status.value == "running" and len(partial.cycles) == cycles
        assert s.check() == []
    resumed = connect_stored(out, pot, ("A", "B"), a, b)
    assert resumed.resumed_from_cycle == cycles
    fresh = connect_stored(str(tmp_path / "f.h5"), pot, ("A", "B"), a, b)
    np.testing.assert_array_equal(resumed.result.path.pivots, fresh.result.path.pivots)
    assert (resumed.result.nfev, resumed.result.nit, resumed.result.status, resumed.result.climbing) == (
        fresh.result.nfev,
        fresh.result.nit,
        fresh.result.status,
        fresh.result.climbing,
    )
    np.testing.assert_array_equal(resumed.result.history, fresh.result.history)
    assert connect_stored(out, pot, ("A", "B"), a, b).reused


def test_a_second_writer_is_refused_at_once(tmp_path):
    out = tmp_path / "busy.h5"
    pot = load_potential("mueller-brown")
    with WriterLock(out):
        with pytest.raises(LandscapeError, match="another process"):
            connect_stored(str(out), pot, ("A", "B"), pot.minima["A"], pot.minima["B"])
        done = subprocess.run(landscape_command(*ARGS, "--out", str(out)), capture_output=True, text=True)
        assert done.returncode == 1 and done.stderr.count("\n") == 1 and "another process" in done.stderr
    assert not out.exists()


def test_other_settings_or_potential_are_refused_without_force(tmp_path):
    out = str(tmp_path / "s.h5")
    pot = load_potential("mueller-brown")
    a, b = pot.minima["A"], pot.minima["B"]
    connect_stored(out, pot, ("A", "B"), a, b, method="neb", fmax=0.5)
    before = snapshot(out)
    with pytest.raises(LandscapeError, match="other settings"):
        connect_stored(out, pot, ("A", "B"), a, b, method="neb", fmax=0.1)
    with pytest.raises(LandscapeError, match="another potential"):
        other = load_potential("mueller-brown", {"dim": 3})
        connect_stored(out, other, ("A", "B"), other.minima["A"], other.minima["B"])
    with pytest.raises(LandscapeError, match="nothing to resume"):
        connect_stored(out, pot, ("A", "B"), a, b, method="neb", fmax=0.5, require_resume=True)
    assert snapshot(out) == before
    replaced = connect_stored(out, pot, ("A", "B"), a, b, method="neb", fmax=0.1, force=True)
    assert not replaced.reused and os.path.exists(out)


def test_a_store_killed_before_its_first_cycle_is_started_afresh(tmp_path):
    from landscape.runs.stored import _create

    pot = load_potential("mueller-brown")
    a, b = pot.minima["A"], pot.minima["B"]
    out = str(tmp_path / "early.h5")
    _create(out, pot, ("A", "B"), (a, b))  # what a run leaves when killed right after creating its store
    run = connect_stored(out, pot, ("A", "B"), a, b, method="neb", fmax=0.5)
    assert run.result.success and not run.reused


class NoisyMuellerBrown:
    """Mueller-Brown plus seeded noise drawn per call, like a mini-batch loss: resuming
    is exact only when the sampler's position is checkpointed and restored."""

    def __new__(cls):
        from landscape.testing import SeededNoise

        return SeededNoise(load_potential("mueller-brown"))


def _fresh_and_resumed(tmp_path, monkeypatch, make: Any) -> tuple[Any, Any]:
    """(the result of an uninterrupted AutoNEB run of `make()`, the run crashed after two
    cycles and resumed), each on a fresh potential, A to B."""
    pot = make()
    a, b = pot.minima["A"], pot.minima["B"]
    fresh = connect_stored(str(tmp_path / "fresh.h5"), pot, ("A", "B"), a, b).result
    with monkeypatch.context() as patch:
        crash_after_cycles(patch, 2)
        with pytest.raises(Crash):
            connect_stored(str(tmp_path / "s.h5"), make(), ("A", "B"), a, b)
    resumed = connect_stored(str(tmp_path / "s.h5"), make(), ("A", "B"), a, b)
    assert resumed.resumed_from_cycle == 2
    return fresh, resumed


def test_stochastic_potential_resumes_exactly_with_its_sampler_state(tmp_path, monkeypatch):
    fresh, resumed = _fresh_and_resumed(tmp_path, monkeypatch, NoisyMuellerBrown)
    np.testing.assert_array_equal(resumed.result.path.pivots, fresh.path.pivots)
    np.testing.assert_array_equal(resumed.result.history, fresh.history)


def test_kill_minus_nine_during_exploration_then_continue(tmp_path):
    """An exploration killed mid-run continues from its committed edges to the same tree."""
    from landscape.exploration.loop import load_exploration

    base = tmp_path / "minima.h5"
    subprocess.run(
        landscape_command(
            "minima", "gaussian-mixture", "-o", "wells=8", "-o", "seed=3", "--starts", "80", "--out", str(base)
        ),
        check=True,
        capture_output=True,
    )
    explore_args = ("--method", "neb", "--fmax", "0.01", "--pivots", "15", "--json")
    ref = tmp_path / "ref.h5"
    shutil.copytree(base, ref)
    subprocess.run(landscape_command("explore", str(ref), *explore_args), check=True, capture_output=True)
    reference = load_exploration(ref)
    for k, edges in enumerate((1, len(reference.edges) // 2)):  # killed once that many edges are committed
        out = tmp_path / f"run{k}.h5"
        shutil.copytree(base, out)
        ready = _polled(lambda: len(load_exploration(out).edges) >= edges)
        trial = kill_and_resume(landscape_command("explore", str(out), *explore_args), str(out), 0.0, ready=ready)
        assert trial.killed and trial.readable, trial.problems
        got = load_exploration(out)
        assert got.edges == reference.edges and got.tree == reference.tree


class SampledMuellerBrown:
    """Mueller-Brown that counts 10 data samples per point, as a network counts its
    batch: resumed runs must report the samples of the uninterrupted one."""

    def __new__(cls):
        from landscape.potentials.potential import PotentialWrapper

        class Sampled(PotentialWrapper):
            def __init__(self):
                super().__init__(load_potential("mueller-brown"))
                self.samples = {"gradient": 0, "forward": 0}

            def energy_and_gradient(self, x):
                self.samples["gradient"] += 10 * len(x)
                return self.inner.energy_and_gradient(x)

            def energy(self, x):
                self.samples["forward"] += 10 * len(x)
                return self.inner.energy(x)

            def cost(self):
                return dict(self.samples)

        return Sampled()


def test_a_resumed_autoneb_run_reports_the_samples_of_the_uninterrupted_one(tmp_path, monkeypatch):
    fresh, resumed = _fresh_and_resumed(tmp_path, monkeypatch, SampledMuellerBrown)
    assert fresh.samples["gradient"] > 0 and fresh.samples["forward"] > 0
    assert resumed.result.samples == fresh.samples
    assert [c.samples for c in resumed.result.cycles] == [c.samples for c in fresh.cycles]
    with Store.open(tmp_path / "s.h5") as s:
        assert s.read_result("A-B").samples == fresh.samples


def test_a_resumed_band_reports_the_samples_of_the_uninterrupted_one(tmp_path, monkeypatch):
    """NEB commits its state every step here (checkpoint_seconds=0); a crash after the
    5th commit, then the same call continues from it."""
    import landscape.runs.checkpoints as checkpoints

    settings = dict(method="neb", fmax=0.5, checkpoint_seconds=0)
    pot = SampledMuellerBrown()
    a, b = pot.minima["A"], pot.minima["B"]
    fresh = connect_stored(str(tmp_path / "fresh.h5"), pot, ("A", "B"), a, b, **settings).result
    original, commits = checkpoints.Committer.commit_state, []

    def commit_then_crash(self, state):
        done = original(self, state)
        commits.append(done)
        if len(commits) == 5:
            raise Crash
        return done

    with monkeypatch.context() as patch:
        patch.setattr(checkpoints.Committer, "commit_state", commit_then_crash)
        with pytest.raises(Crash):
            connect_stored(str(tmp_path / "s.h5"), SampledMuellerBrown(), ("A", "B"), a, b, **settings)
    resumed = connect_stored(str(tmp_path / "s.h5"), SampledMuellerBrown(), ("A", "B"), a, b, **settings)
    assert resumed.resumed_from_step and fresh.nit > resumed.resumed_from_step
    assert (resumed.result.nfev, resumed.result.samples) == (fresh.nfev, fresh.samples)


def test_a_larger_budget_continues_the_samples_of_the_spent_one(tmp_path):
    """NEB stopped at 10 steps, continued to 30 (it converges at 46): the samples of one
    30-step run (the short run's final profile is not carried into the continued count)."""
    from landscape.paths.budget import Budget

    def run(out, steps):
        pot = SampledMuellerBrown()
        return connect_stored(
            str(out),
            pot,
            ("A", "B"),
            pot.minima["A"],
            pot.minima["B"],
            method="neb",
            fmax=1e-9,
            budget=Budget(max_steps=steps),
        ).result

    short = run(tmp_path / "s", 10)
    longer, straight = run(tmp_path / "s", 30), run(tmp_path / "straight", 30)
    assert short.nit == 10 and longer.nit == straight.nit == 30
    assert longer.samples == straight.samples != short.samples
