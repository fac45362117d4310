"""Basin-hopping minima against independent truth: LJ13's global minimum (the Cambridge
Cluster Database value) from random starts, the four LJ7 minima and the three
Mueller-Brown minima each tallied once modulo symmetry, hits that add up, the store the
command writes, and one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from landscape import LandscapeError, basin_hopping, distance
from landscape.store import Store
from landscape_cli.testing import error_line, run
from landscape_plugins.analytic.surfaces import MuellerBrown
from landscape_plugins.clusters.lj import LennardJones

LJ13_GLOBAL = -44.326801  # Cambridge Cluster Database, the Mackay icosahedron
LJ7_MINIMA = [-16.505384, -15.935043, -15.593211, -15.533060]  # tests/plugins/test_clusters.py, Hessian-certified


@pytest.mark.parametrize("seed", range(5))
def test_lj13_reaches_the_global_minimum_from_random_starts(seed):
    run_ = basin_hopping(LennardJones(13), 300, seed=seed, temperature=0.8, stepsize=0.4, target=LJ13_GLOBAL)
    assert run_.stopped_at_target
    assert run_.minima.energies[0] == pytest.approx(LJ13_GLOBAL, abs=1e-6)
    assert run_.quenches <= 301


def test_lj7_minima_are_tallied_once_each_modulo_symmetry():
    lj = LennardJones(7)
    run_ = basin_hopping(lj, 80, seed=0, temperature=1.0, stepsize=0.4)  # 80 steps find all four in seeds 0-4
    np.testing.assert_allclose(run_.minima.energies, LJ7_MINIMA, atol=1e-6)
    # every converged quench is counted once: 81 quenches hit 4 minima, mostly as rotated,
    # reflected or relabelled copies of the first hit
    assert run_.hits.sum() == run_.quenches - run_.failed and run_.quenches == 81
    assert all(run_.hits >= 1) and run_.first_hit.min() == 0
    coords = run_.minima.coords
    assert min(distance(lj, coords[i], coords[j]) for i in range(4) for j in range(i + 1, 4)) > 0.1


def test_mueller_brown_minima_and_summary():
    mb = MuellerBrown()
    run_ = basin_hopping(mb, 100, seed=0, temperature=20.0, stepsize=1.0)
    np.testing.assert_allclose(run_.minima.energies, [mb.reference_energies[k] for k in "ABC"], atol=1e-6)
    np.testing.assert_allclose(run_.minima.coords, [mb.minima[k] for k in "ABC"], atol=1e-4)
    summary = json.loads(json.dumps(run_.summary()))
    assert summary["hits"] == [int(h) for h in run_.hits] and summary["quenches"] == 101


def test_the_walk_is_seeded():
    a, b = (basin_hopping(MuellerBrown(), 20, seed=3, temperature=20.0, stepsize=1.0) for _ in range(2))
    np.testing.assert_array_equal(a.minima.coords, b.minima.coords)
    np.testing.assert_array_equal(a.hits, b.hits)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"steps": -1}, "steps must be an integer"),
        ({"temperature": 0.0}, "temperature must be positive"),
        ({"stepsize": float("nan")}, "stepsize must be positive"),
        ({"target": float("inf")}, "target energy must be finite"),
        ({"start": [0.0]}, "start point has shape"),
        ({"time_limit": 0.0}, "time limit must be positive"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(LandscapeError, match=message):
        basin_hopping(MuellerBrown(), **{"steps": 2, **kwargs})


def test_a_time_limit_stops_the_walk_with_what_it_found():
    run_ = basin_hopping(MuellerBrown(), 1_000_000, seed=0, temperature=20.0, stepsize=1.0, time_limit=0.2)
    assert run_.stopped_at_time_limit and not run_.stopped_at_target
    assert 2 <= run_.quenches < 1_000_001 and run_.hits.sum() == run_.quenches - run_.failed
    assert run_.summary()["stopped_at_time_limit"] and run_.summary()["time_limit"] == 0.2
    unlimited = basin_hopping(MuellerBrown(), 5, seed=0, temperature=20.0, stepsize=1.0)
    assert not unlimited.stopped_at_time_limit and unlimited.quenches == 6


def test_cli_stores_every_minimum_with_its_hits(tmp_path):
    out = tmp_path / "mb"
    data = json.loads(
        run(
            [
                "minima",
                "mueller-brown",
                "--method",
                "basinhopping",
                "--steps",
                "60",
                "--temperature",
                "20",
                "--step-size",
                "1",
                "--out",
                out,
                "--json",
            ]
        ).stdout
    )
    assert data["count"] == 3 and data["quenches"] == 61 and sum(data["hits"]) == 61 - data["failed_quenches"]
    with Store.open(out) as store:
        _, energies, names = store.read_minima()
        meta = store.minima_metadata()
    assert names == data["names"] and meta["method"] == "basinhopping" and meta["hits"] == data["hits"]
    np.testing.assert_allclose(energies, data["energies"])


@pytest.mark.parametrize(
    "args, message",
    [
        (["--steps", "5"], "--steps applies to --method basinhopping only"),
        (["--method", "basinhopping", "--starts", "5"], "--starts applies to --method starts"),
        (["--method", "basinhopping", "--steps", "-2"], "--steps must be from 0"),
        (["--method", "basinhopping", "--temperature", "-1"], "temperature must be positive"),
    ],
)
def test_cli_bad_input_is_one_line(tmp_path, args, message):
    assert message in error_line(run(["minima", "mueller-brown", *args, "--out", tmp_path / "x"], 1))
