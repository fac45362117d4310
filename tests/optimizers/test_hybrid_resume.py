"""A stored band of the guarded L-BFGS stepper (`Hybrid`), killed right after the
commit that follows each change of its phase (FIRE 2.0 from the starting band, L-BFGS
handed a band, L-BFGS given up and sent back to the band it was handed), resumes from
its snapshot (phase, hand-over band `x0` and force `fh` included) and ends exactly as
the uninterrupted run: same pivots, steps and evaluations."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import landscape.runs.checkpoints as checkpoints
from landscape.paths.budget import Budget
from landscape.runs.pair import make_optimizer
from landscape.runs.stored import connect_stored
from landscape_plugins.analytic.surfaces import GaussianMixture

POT = GaussianMixture(12, seed=7)  # minima 4 and 5: the band that ran away before the hand-over force
# Without the fold check (`unfold`): with it this band is spread twice and spends its 500 steps.
BAND = replace(make_optimizer("neb", fmax=1e-2, deterministic=True), unfold=False)
SETTINGS = dict(method="neb", pivots=15, optimizer=BAND, budget=Budget(max_steps=500), checkpoint_seconds=None)


class Crash(Exception):
    """Stands for the process dying right after a commit."""


def _run(filename: str):
    a, b = list(POT.minima.values())[4:6]
    return connect_stored(filename, POT, ("m4", "m5"), a, b, **SETTINGS)


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    """The uninterrupted run, and the step after each change of the stepper's phase."""
    original, phases = checkpoints.Committer.__call__, []

    def record(self, state):
        phases.append((state.nit, float(state.stepper_state["phase"])))
        return original(self, state)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(checkpoints.Committer, "__call__", record)
        result = _run(str(tmp_path_factory.mktemp("whole") / "s")).result
    changes = [nit for (nit, p), (_, before) in zip(phases[1:], phases) if p != before]
    return result, changes, [p for _, p in phases]


def test_the_run_passes_every_phase(whole):
    result, changes, phases = whole
    assert result.success
    assert {-1.0, 0.0, 1.0, 2.0} <= set(phases) and len(changes) == 3  # the tests below kill it at each


@pytest.mark.parametrize("change", [0, 1, 2])
def test_killed_after_a_phase_change_the_rerun_ends_as_the_uninterrupted_run(tmp_path, monkeypatch, whole, change):
    result, changes, _ = whole
    original = checkpoints.Committer.__call__

    def commit_then_crash(self, state):
        original(self, state)
        if state.nit == changes[change] + 1:  # the first step taken in the new phase
            assert self.commit_state(state)
            raise Crash

    monkeypatch.setattr(checkpoints.Committer, "__call__", commit_then_crash)
    with pytest.raises(Crash):
        _run(str(tmp_path / "s"))
    monkeypatch.undo()
    again = _run(str(tmp_path / "s"))
    assert again.resumed_from_step == changes[change] + 1
    assert (again.result.status, again.result.nit, again.result.nfev) == (result.status, result.nit, result.nfev)
    np.testing.assert_array_equal(again.result.path.pivots, result.path.pivots)
