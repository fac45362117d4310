"""A store explored with the earlier default optimizer (FIRE 2.0, `deterministic` False)
that was stopped in its first batch has merged nothing, so it records no settings yet;
its runs in flight say which optimizer it computes with.  Continuing it without an
optimizer must resume them with that one (`recorded_optimizer`), not delete their
progress and compute every path with the new default instead."""

from __future__ import annotations

import numpy as np
import pytest

import landscape.runs.checkpoints as checkpoints
from landscape.exploration.loop import explore
from landscape.paths.budget import Budget
from landscape.runs.pair import make_optimizer
from landscape.store import Store
from landscape_plugins.analytic.surfaces import GaussianMixture

SURFACE = GaussianMixture(14, seed=0)
MINIMA = np.array(list(SURFACE.minima.values()))[:4]
STEPS = Budget(max_steps=500)
EARLIER = make_optimizer("neb", fmax=1e-2, deterministic=False)


class Crash(Exception):
    """Stands for the process dying right after a commit."""


def _crashed_in_the_first_batch(tmp_path, monkeypatch):
    """A store explored with EARLIER whose process died with the first run of its first
    batch in flight (its state committed at step 5), nothing merged."""
    original = checkpoints.Committer.commit_state

    def commit_then_crash(self, state):
        done = original(self, state)
        if state.nit == 5:
            raise Crash
        return done

    monkeypatch.setattr(checkpoints.Committer, "commit_state", commit_then_crash)
    f = tmp_path / "s"
    with pytest.raises(Crash):
        explore(SURFACE, MINIMA, store=f, batch=2, optimizer=EARLIER, pivots=15, run_budget=STEPS, checkpoint_seconds=0)
    monkeypatch.undo()
    return f


def test_runs_left_in_flight_by_the_first_batch_continue_with_their_optimizer(tmp_path, monkeypatch):
    want = explore(SURFACE, MINIMA, batch=2, optimizer=EARLIER, pivots=15, run_budget=STEPS)
    f = _crashed_in_the_first_batch(tmp_path, monkeypatch)
    got = explore(SURFACE, None, store=f, batch=2, method="neb", fmax=1e-2, pivots=15, run_budget=STEPS)
    assert got.runs_resumed == 1 and got.config["optimizer"] == EARLIER.to_config()
    assert got.complete and got.edges == want.edges and got.tree == want.tree
    with Store.open(f) as store:
        assert all(store.read_result(n).config == EARLIER.to_config() for n in store.path_names())


def test_a_run_in_flight_with_other_settings_starts_afresh_and_is_not_counted_resumed(tmp_path, monkeypatch):
    """No settings recorded, so the call's own fmax is not refused: the run in flight,
    computed with another, is deleted and computed afresh, and `runs_resumed` says 0."""
    f = _crashed_in_the_first_batch(tmp_path, monkeypatch)
    other = make_optimizer("neb", fmax=5e-2, deterministic=False)
    got = explore(SURFACE, None, store=f, batch=2, optimizer=other, pivots=15, run_budget=STEPS)
    assert got.complete and got.runs_resumed == 0
    with Store.open(f) as store:
        assert all(store.read_result(n).config == other.to_config() for n in store.path_names())
