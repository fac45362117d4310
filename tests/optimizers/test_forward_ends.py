"""A band on a mini-batch loss evaluates its fixed ends forward-only on each step's batch
(`Potential.same_batch_energy`, `optimizers.forces.evaluate_pivots`): the same
trajectory as evaluating them with gradients in the step's call, two gradients fewer
per evaluation of the band."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from landscape import connect
from landscape.optimizers.schedules import Cycle, Schedule
from landscape.optimizers.steppers import SGD
from landscape.paths.budget import Budget
from landscape.potentials.potential import Potential


class Batched(Potential):
    """A quadratic bowl with a seeded random tilt per batch: `energy_and_gradient` draws the
    next batch, `energy` evaluates on the last one drawn.  Each row is computed alone, so
    the results do not depend on which rows share a call."""

    stochastic = True
    dim = 3

    def __init__(self, same_batch: bool):
        self.same_batch_energy = same_batch
        self.rng = np.random.default_rng(0)
        self.tilt = np.zeros(self.dim)
        self.calls: list[tuple[str, int]] = []

    def _energy(self, x: np.ndarray) -> np.ndarray:
        return np.array([0.5 * row @ row + np.sin(row).sum() + self.tilt @ row for row in x])

    def energy_and_gradient(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        self.tilt = self.rng.normal(scale=0.3, size=self.dim)
        self.calls.append(("gradient", len(x)))
        return self._energy(x), np.array([row + np.cos(row) + self.tilt for row in x])

    def energy(self, x: Any) -> np.ndarray:
        self.calls.append(("energy", len(x)))
        return self._energy(x)


@pytest.mark.parametrize("method", ["neb", "string", "autoneb"])
def test_forward_only_ends_leave_the_trajectory_unchanged(method):
    a, b = np.array([-2.0, 0.5, 1.0]), np.array([2.0, -0.5, 0.0])
    settings: dict[str, Any] = {"budget": Budget(max_steps=7)}
    if method == "autoneb":
        sgd = SGD(lr=0.05, momentum=0.5)
        settings = {"schedule": Schedule("tiny", (Cycle(3, sgd), Cycle(3, sgd)), threshold=1e9), "climb": False}
    runs = {}
    for same in (False, True):
        pot = Batched(same)
        runs[same] = (connect(pot, a, b, method=method, pivots=6, **settings), pot.calls)
    (old, old_calls), (new, new_calls) = runs[False], runs[True]
    np.testing.assert_array_equal(new.path.pivots, old.path.pivots)
    np.testing.assert_array_equal(new.path.energies, old.path.energies)
    assert new.nfev == old.nfev
    # every gradient call of the whole band becomes one of its interior and one energy
    # call of its two ends, right after it (on its batch)
    gradients = [n for kind, n in old_calls if kind == "gradient"]
    assert gradients and all(n == 6 for n in gradients)
    for i, (kind, n) in enumerate(new_calls):
        if kind == "gradient":
            assert n == 4 and new_calls[i + 1] == ("energy", 2)
    assert sum(n for k, n in new_calls if k == "gradient") == sum(gradients) - 2 * len(gradients)


def test_a_deterministic_band_still_never_evaluates_its_ends_again():
    pot = Batched(True)
    pot.stochastic = False
    r = connect(pot, np.zeros(3), np.ones(3), method="neb", pivots=5, budget=Budget(max_steps=3))
    # the start: the 3 moving pivots' gradients and the ends' energies, once; each step
    # only the 3 moving pivots; then the final profile (9 points in each of 4 segments) and,
    # the climber having climbed above the start on this bowl without a saddle, the
    # starting path's profile only when the climber climbed above the start (no end
    # evaluated again in either); climbing the bowl's wall, the band folds back once and
    # is spread out again (`ElasticBand.unfold`): its 3 pivots evaluated once more, its ends not
    assert r.status == "max_steps" and r.state.spreads == 1
    assert pot.calls == [("gradient", 3), ("energy", 2)] + [("gradient", 3)] * 4 + [("energy", 36)]
