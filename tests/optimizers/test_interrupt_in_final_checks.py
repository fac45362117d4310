"""Ctrl-C in a run's final checks (the last step's path settled, its profile, the
sanity tests) keeps the last step's state: the rerun resumes there, runs the checks
again and ends with the uninterrupted result, instead of redoing every step since the
last commit (a rerun Ctrl-C'd there each time never finished)."""

from __future__ import annotations

import numpy as np
import pytest

import landscape.optimizers.driver as driver
from landscape import Budget, make_optimizer, optimize
from landscape.paths.path import Path
from landscape.paths.result import Status
from landscape.runs.stored import connect_stored
from landscape_plugins.analytic.surfaces import MuellerBrown

SETTINGS = {"method": "neb", "fmax": 1e-3, "deterministic": True}


@pytest.mark.parametrize("method", ["neb", "string"])
def test_an_interrupted_final_check_keeps_the_last_step_and_the_resume_is_exact(interrupt_once, method):
    pot = MuellerBrown()
    path = Path.straight(pot.minimum("A"), pot.minimum("B"), 9)
    settings = {**SETTINGS, "method": method}
    whole = optimize(make_optimizer(**settings), pot, path, budget=Budget(max_steps=3000))
    assert whole.success
    calls = interrupt_once(driver, "_check_sane")
    opt = make_optimizer(**settings)
    cut = optimize(opt, pot, path, budget=Budget(max_steps=3000))
    assert calls and cut.status is Status.INTERRUPTED and cut.state is not None
    assert cut.nit == whole.nit  # every step kept: only the checks are left to do
    rest = optimize(opt, pot, path, budget=Budget(max_steps=3000), state=cut.state)
    assert rest.status is whole.status and (rest.nit, rest.nfev) == (whole.nit, whole.nfev)
    np.testing.assert_array_equal(rest.path.pivots, whole.path.pivots)
    assert rest.saddle_energy == whole.saddle_energy


def test_a_stored_run_interrupted_in_its_final_checks_resumes_from_its_last_step(tmp_path, interrupt_once):
    pot = MuellerBrown()
    a, b = pot.minimum("A"), pot.minimum("B")
    run = lambda f: connect_stored(str(f), pot, ("A", "B"), a, b, pivots=9, **SETTINGS)  # noqa: E731
    whole = run(tmp_path / "whole").result
    interrupt_once(driver, "_check_sane")
    assert run(tmp_path / "cut").result.status is Status.INTERRUPTED
    again = run(tmp_path / "cut")
    assert again.resumed_from_step == whole.nit
    assert again.result.status is whole.status and again.result.nfev == whole.nfev
    np.testing.assert_array_equal(again.result.path.pivots, whole.path.pivots)
