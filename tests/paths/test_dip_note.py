"""A band stopped by its budget says when its path dips below both ends (`dip_note`):
a minimum lies between them, the case of each random-surface band that the strongest
pull across bends left without success (docs/benchmarks.md); a band that stops on its
own criterion, or whose path stays above its lower end, says nothing more."""

from __future__ import annotations

import numpy as np

from landscape import Budget, Status, load_potential
from landscape.paths.sanity import dip_note, rise_tolerance
from landscape.runs.pair import connect
from landscape_plugins.analytic.surfaces import random_pair


def test_a_dip_below_both_ends_is_named_with_its_pivot():
    note = dip_note(np.array([-1.0, 0.5, -3.0, 0.2, -1.5]))
    assert note is not None and "dips below both ends (E=-3 at pivot 2, ends -1 and -1.5)" in note


def test_no_dip_no_note():
    assert dip_note(np.array([-1.0, 0.5, -1.2, 0.2, -1.5])) is None  # above the lower end
    assert dip_note(np.array([0.0, 1.0, 0.0])) is None
    assert dip_note(np.array([0.0, np.nan, -5.0, 0.0])) is None  # no judgement on NaN


def test_round_off_below_an_end_is_no_dip():
    e = np.array([0.0, 2.0, 0.0, 2.0, 0.0])
    e[2] = -0.5 * rise_tolerance(e)  # within the tolerance the sanity test allows above
    assert dip_note(e) is None
    e[2] = -2 * rise_tolerance(e)
    assert dip_note(e) is not None


def _case(seed: int):
    """bench/bench_random_surfaces.py's case `seed`: a surface and an ordered pair of minima."""
    found = random_pair(seed)
    assert found is not None
    return found


def test_a_band_stopped_by_its_budget_across_a_deeper_basin_says_so():
    """Surface 64: its minimax path passes a basin at E = -4.70, below both ends (-1.77,
    -1.45); the default band spends 3,000 steps there (measured); after 100 it already
    dips to -4.37."""
    surface, a, b = _case(64)
    r = connect(surface, a, b, method="neb", pivots=15, fmax=1e-3, budget=Budget(max_steps=100))
    assert r.status is Status.MAX_STEPS
    assert r.message.startswith("step budget of 100 spent; its path dips below both ends")
    assert "landscape minima" in r.message


def test_no_note_on_a_converged_band_or_one_above_its_ends():
    surface, a, b = _case(64)
    r = connect(surface, a, b, method="neb", pivots=15, fmax=1e-3, budget=Budget(max_steps=2))
    assert r.status is Status.MAX_STEPS and "dips" not in r.message  # still near the straight line
    mb = load_potential("mueller-brown")  # A -> B passes minimum C, above both ends
    r = connect(mb, mb.minimum("A"), mb.minimum("B"), method="neb", budget=Budget(max_steps=5))
    assert r.status is Status.MAX_STEPS and "dips" not in r.message
    r = connect(mb, mb.minimum("A"), mb.minimum("B"), method="neb")
    assert r.success and "dips" not in r.message
