"""Stored paths record what their force tolerance bounds (`force_measure`): a store
written when `fmax` bounded the whole image's force is not continued under the
per-particle test (refused in one line), and an analytic store is unaffected."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from landscape import find_minima, load_potential
from landscape.exploration.loop import explore
from landscape.exploration.results import ExploreBudget
from landscape.exploration.state import GRAPH_GROUP, read_graph
from landscape.foundations.errors import LandscapeError
from landscape.paths.budget import Budget
from landscape.potentials.potential import force_measure
from landscape.runs.stored import connect_stored
from landscape.store import Store
from landscape_plugins.analytic.surfaces import MuellerBrown

BAND = {"method": "neb", "pivots": 5, "fmax": 0.05, "budget": Budget(max_steps=40)}


def _forget_path_measure(filename, name):
    """What a store written before the measure was recorded holds for path `name`."""
    with Store.write(filename) as store:
        result = store.read_result(name)
        config = {k: v for k, v in result.config.items() if k != "force_measure"}
        store.write_result(name, replace(result, config=config), start=name.split("-")[0], end=name.split("-")[1])


def _forget_graph_measure(filename):
    """... and for an exploration's record (the graph group's attributes)."""
    with Store.write(filename) as store:
        arrays, attrs = read_graph(store)
        attrs["config"] = {k: v for k, v in attrs["config"].items() if k != "force_measure"}
        store.write_array_group(GRAPH_GROUP, arrays, attrs)


@pytest.fixture(scope="module")
def lj():
    pot = load_potential("lj", {"atoms": 7})
    return pot, find_minima(pot, 30, seed=0).coords


def test_the_measure_of_a_potential():
    assert force_measure(MuellerBrown()) == {}
    assert force_measure(load_potential("lj", {"atoms": 7})) == {"particle_dim": 3}


def test_a_stored_band_of_atoms_from_before_is_refused_and_an_analytic_one_continues(tmp_path, lj):
    pot, x = lj
    f = tmp_path / "lj.h5"
    connect_stored(str(f), pot, ("a", "b"), x[0], x[1], **BAND)
    with Store.open(f) as store:
        assert store.read_result("a-b").config["force_measure"] == {"particle_dim": 3}
    connect_stored(str(f), pot, ("a", "b"), x[0], x[1], **BAND)  # the same settings: reused
    _forget_path_measure(f, "a-b")
    with pytest.raises(LandscapeError, match=r"differs in force_measure"):
        connect_stored(str(f), pot, ("a", "b"), x[0], x[1], **BAND)
    mb, g = MuellerBrown(), tmp_path / "mb.h5"
    first = connect_stored(str(g), mb, ("A", "B"), mb.minimum("A"), mb.minimum("B"), **BAND)
    with Store.open(g) as store:
        assert "force_measure" not in store.read_result("A-B").config  # as stores from before hold it
    again = connect_stored(str(g), mb, ("A", "B"), mb.minimum("A"), mb.minimum("B"), **BAND)
    assert again.result.nfev == first.result.nfev


def test_an_exploration_of_atoms_from_before_is_refused_in_one_line(tmp_path, lj):
    pot, x = lj
    f = tmp_path / "lj.h5"
    settings = {"method": "neb", "pivots": 5, "fmax": 0.05, "run_budget": Budget(max_steps=40)}
    explore(pot, x, store=f, budget=ExploreBudget(max_runs=1), **settings)
    explore(pot, None, store=f, budget=ExploreBudget(max_runs=1), **settings)  # continues
    _forget_graph_measure(f)
    with pytest.raises(LandscapeError, match="bound the whole image's force, not the largest force on one particle"):
        explore(pot, None, store=f, budget=ExploreBudget(max_runs=1), **settings)


def test_an_analytic_exploration_from_before_continues(tmp_path):
    pot = load_potential("gaussian-mixture", {"wells": 6, "seed": 1})
    x = find_minima(pot, 40, seed=0).coords
    f = tmp_path / "gm.h5"
    settings = {"method": "neb", "pivots": 9, "fmax": 1e-2, "run_budget": Budget(max_steps=200)}
    explore(pot, x, store=f, budget=ExploreBudget(max_runs=1), **settings)
    _forget_graph_measure(f)
    assert explore(pot, None, store=f, **settings).runs > 0
    assert np.isfinite(list(explore(pot, None, store=f, **settings).edges.values())).all()
