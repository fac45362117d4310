"""Ends that are not minima: measured, relaxed by default, reported (landscape.optimizers.endpoints)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from landscape.foundations.errors import LandscapeError
from landscape.optimizers.endpoints import GTOL, RELAX_GTOL, check_and_relax
from landscape.potentials.potential import Potential
from landscape_cli.testing import error_line, invoke, run

MB_SADDLE = -40.664844


class Quadratic(Potential):
    """Two wells at x = -1 and x = +1 (a double well in x, a parabola in y): exact minima."""

    dim = 2
    name = "double-well"

    def energy_and_gradient(self, x):
        e = (x[:, 0] ** 2 - 1) ** 2 + 3 * x[:, 1] ** 2
        return e, np.stack([4 * x[:, 0] * (x[:, 0] ** 2 - 1), 6 * x[:, 1]], axis=1)


def test_minima_are_left_alone_and_measured():
    pot = Quadratic()
    a, b, (sa, sb) = check_and_relax(pot, np.array([-1.0, 0.0]), np.array([1.0, 0.0]))
    assert np.array_equal(a, [-1.0, 0.0]) and np.array_equal(b, [1.0, 0.0])
    assert sa.checked and sa.gradient_norm == 0.0 and not sa.relaxed and sa.is_minimum


def test_a_point_off_the_minimum_is_relaxed_into_it():
    pot = Quadratic()
    a, b, (sa, sb) = check_and_relax(pot, np.array([-0.6, 0.4]), np.array([1.0, 0.0]))
    assert sa.relaxed and not sb.relaxed and sa.steps > 0
    _, g = pot.energy_and_gradient(a[None])
    # the middle of the straight line sets the scale: its gradient norm times RELAX_GTOL
    _, g_mid = pot.energy_and_gradient(np.array([[0.2, 0.2]]))
    assert np.linalg.norm(g) <= RELAX_GTOL * np.linalg.norm(g_mid) * (1 + 1e-12)
    assert sa.tolerance == pytest.approx(GTOL * np.linalg.norm(g_mid))
    assert np.linalg.norm(a - [-1.0, 0.0]) < 1e-3
    assert sa.moved == pytest.approx(np.linalg.norm(a - [-0.6, 0.4]))
    assert sa.energy_drop == pytest.approx(pot.energy(np.array([[-0.6, 0.4]]))[0] - pot.energy(a[None])[0])


def test_without_relaxing_the_ends_stay_and_the_check_says_so():
    pot = Quadratic()
    a, _, (sa, _) = check_and_relax(pot, np.array([-0.6, 0.4]), np.array([1.0, 0.0]), relax=False)
    assert np.array_equal(a, [-0.6, 0.4]) and not sa.relaxed and not sa.is_minimum


def test_ends_that_fall_into_one_minimum_are_refused():
    with pytest.raises(LandscapeError, match="same minimum"):
        check_and_relax(Quadratic(), np.array([0.6, 0.3]), np.array([1.3, -0.2]))


def test_stochastic_potentials_are_not_judged():
    class Noisy(Quadratic):
        stochastic = True

    _, _, (sa, sb) = check_and_relax(Noisy(), np.array([-0.6, 0.4]), np.array([1.0, 0.0]))
    assert not sa.checked and not sa.relaxed and sa.is_minimum


def test_cli_relaxes_a_start_that_is_not_a_minimum_and_finds_the_saddle():
    out = json.loads(
        run(["connect", "mueller-brown", "--start", "-0.3,1.2", "--end", "B", "--method", "string", "--json"]).stdout
    )
    assert out["ends"]["start"]["relaxed"] and out["ends"]["start"]["moved"] > 0.3
    assert not out["ends"]["end"]["relaxed"] and out["ends"]["end"]["checked"]
    assert abs(out["saddle_energy"] - MB_SADDLE) < 1e-3 and out["status"] == "converged"
    assert out["saddle_index"] > 0


def test_cli_keeps_the_ends_with_no_relax_ends_and_warns():
    # The kept start (E=-14.8) is above the saddle, so the climber is not the top of its
    # path: the run is reported, with the warning, and is no success (exit 1).
    r = run(
        ["connect", "mueller-brown", "--start", "-0.3,1.2", "--end", "B", "--method", "string", "--no-relax-ends"],
        expect=1,
    )
    assert "warning: start point is not a minimum" in r.stdout and "kept as given" in r.stdout
    assert "did not succeed: saddle_not_at_top" in error_line(r)


def test_cli_refuses_ends_that_relax_into_one_minimum():
    line = error_line(invoke(["connect", "mueller-brown", "--start", "0,0", "--end", "B"]))
    assert "relax into the same minimum" in line
