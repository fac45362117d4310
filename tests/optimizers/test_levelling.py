"""AutoNEB cycles that end when the band has levelled off (Schedule.level_window)."""

from __future__ import annotations

import numpy as np
import pytest

from landscape import Path, load_potential
from landscape.foundations.errors import LandscapeError
from landscape.optimizers.autoneb import AutoNEB
from landscape.optimizers.schedules import Cycle, Schedule, levelled
from landscape.optimizers.steppers import SGD

CAP, WINDOW, TOL = 400, 10, 0.01


def _schedule(window: int, first: int = CAP) -> Schedule:
    sgd = SGD(lr=2e-4, momentum=0.5)
    return Schedule(
        "levelling",
        (Cycle(first, sgd), Cycle(CAP, sgd.with_lr(1e-4))),
        threshold=0.2,
        level_window=window,
        level_tol=TOL,
    )


def _first_cycle(schedule: Schedule) -> tuple[list[float], object]:
    """Per-step highest pivot energy of the first cycle (its last step left out), and its record."""
    pot = load_potential("mueller-brown")
    opt = AutoNEB(schedule=schedule, max_pivots=9)
    state = opt.init(Path.straight(pot.minima["A"], pot.minima["B"], 7), pot)
    trace = []
    while state.cycle == 0:
        state = opt.step(state, pot)
        if state.cycle == 0:
            trace.append(float(state.inner.max_energy))
    return trace, state.records[0]


def test_a_cycle_ends_at_the_first_window_whose_mean_stopped_falling():
    trace, plain = _first_cycle(_schedule(0))
    assert plain.steps == CAP and len(trace) == CAP - 1
    # The truth, from the run without the rule: the means of its per-step maxima over
    # consecutive windows, and the first window that fell less than TOL from the one before.
    means = np.asarray(trace[: (len(trace) // WINDOW) * WINDOW]).reshape(-1, WINDOW).mean(axis=1)
    falls = (means[:-1] - means[1:]) / np.abs(means[:-1])
    k = (int(np.flatnonzero(falls < TOL)[0]) + 2) * WINDOW
    assert 2 * WINDOW < k < CAP  # the test means something: it ends neither at once nor at the cap
    _, ruled = _first_cycle(_schedule(WINDOW))
    assert ruled.steps == k
    # The rule only ends the cycle: its band is the one a plain cycle of k steps ends with.
    _, short = _first_cycle(_schedule(0, first=k))
    assert short.steps == k and np.array_equal(ruled.path.pivots, short.path.pivots)


def test_levelled_by_hand():
    assert not levelled([5.0, 4.0, 3.0], 2, 0.1)  # fewer than two windows
    assert not levelled([4.0, 4.0, 2.0, 2.0], 2, 0.1)  # fell by half
    assert levelled([4.0, 4.0, 3.9, 3.7], 2, 0.1)  # 4.0 -> 3.8: 5% < 10%
    assert levelled([1.0, 1.0, 1.5, 1.5], 2, 0.0)  # rose: stopped falling
    assert not levelled([9.0, 4.0, 4.0, 3.0, 3.0], 2, 0.2)  # only the last two windows count: 4 -> 3


def test_schedule_checks_and_round_trips_the_rule():
    sched = _schedule(WINDOW)
    assert Schedule.from_config(sched.to_config()) == sched
    assert "level_window" not in _schedule(0).to_config()  # stored configs without the rule stay as they were
    with pytest.raises(LandscapeError, match="level_tol"):
        Schedule("x", sched.cycles, level_window=5, level_tol=1.5)
    with pytest.raises(LandscapeError, match="level_window"):
        Schedule("x", sched.cycles, level_window=-1)
