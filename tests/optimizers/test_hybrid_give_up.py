"""When the L-BFGS phase of `Hybrid` is given up for good, a band left with more force
than it was handed goes back to the band it was handed (a climbing band ran away from
L-BFGS's last band to E = 1418 under FIRE 2.0); one left with less goes on from there."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from landscape import Budget, connect
from landscape.optimizers.hybrid import Hybrid
from landscape.paths.exact import pairwise_minimax
from landscape.runs.pair import make_optimizer
from landscape_plugins.analytic.surfaces import GaussianMixture


def _handed(stepper: Hybrid, x: np.ndarray, force: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """A guarded start whose second force is below `trust` of the first: L-BFGS takes over."""
    s = stepper.init(x)
    x, s = stepper.update(x, force, s)
    handed = x
    x, s = stepper.update(x, 0.05 * force, s)
    assert float(s["phase"]) == 1
    np.testing.assert_array_equal(s["x0"], handed)
    assert float(s["fh"]) == pytest.approx(0.05 * np.linalg.norm(force))
    return handed, x, s


@pytest.mark.parametrize("scale, back", [(1.0, True), (1e-6, False)])
def test_lbfgs_given_up_goes_back_only_from_a_band_with_more_force(scale, back):
    stepper = Hybrid(start="lbfgs")
    force = np.array([[0.3, -0.2, 0.1]])
    handed, x, s = _handed(stepper, np.array([[1.0, -2.0, 0.5]]), force)
    f = scale * 0.05 * force  # from the hand-over's force (or a millionth of it), doubled each step: cuts
    for _ in range(20):
        before = x
        x, s = stepper.update(x, f, s)
        if float(s["phase"]) == 2:
            break
        f = 2 * f
    assert float(s["phase"]) == 2 and float(s["cuts"]) >= stepper.resets
    assert (np.linalg.norm(f) > float(s["fh"])) == back
    if back:
        np.testing.assert_array_equal(x, handed)
    else:
        assert not np.array_equal(x, handed) and not np.array_equal(x, before)  # a FIRE 2.0 step on
    np.testing.assert_array_equal(s["1.v"], 0)  # FIRE 2.0 from rest either way


def test_an_older_snapshot_without_the_hand_over_force_never_goes_back():
    stepper = Hybrid(start="lbfgs")
    force = np.array([[0.3, -0.2, 0.1]])
    handed, x, s = _handed(stepper, np.array([[1.0, -2.0, 0.5]]), force)
    s = {k: v for k, v in s.items() if k != "fh"}
    f = 0.05 * force
    while float(s.get("phase", 1)) != 2:
        x, s = stepper.update(x, f, s)
        f = 2 * f
    assert not np.array_equal(x, handed)


def test_the_band_that_ran_away_now_reaches_the_exact_saddle():
    """GaussianMixture(12, seed=7), minima 4 and 5, 15 pivots (an exploration's pair):
    the default NEB ended `diverged` at E = 1418; FIRE 2.0 alone found the saddle."""
    pot = GaussianMixture(12, seed=7)
    m = list(pot.minima.values())
    a, b = m[4], m[5]
    # without the fold check (`unfold`), which spreads this band twice and leaves it spending
    # its steps in the basin below both ends (docs/benchmarks.md, "Bands that fold back")
    band = replace(make_optimizer("neb", fmax=1e-2, deterministic=True), unfold=False)
    result = connect(pot, a, b, pivots=15, optimizer=band, budget=Budget(max_steps=500))
    exact = pairwise_minimax(pot, np.array([a, b]), grid=401)[0, 1]
    assert result.success
    assert abs(result.saddle_energy - exact) < 2e-3
