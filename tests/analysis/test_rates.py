"""Rates against independent truth: overdamped Langevin walkers on a double well, the
closed form of a three-minimum chain (Mueller-Brown's A - C - B), the graph
transformation against a linear solve on random networks of minima and saddles,
detailed balance, and the `rates` command on an explored store."""

from __future__ import annotations

import importlib.util
import json
import pathlib

import numpy as np
import pytest

from landscape import LandscapeError
from landscape.analysis.hessian import refine_saddle
from landscape.analysis.kinetics import graph_transformation, master_equation
from landscape.analysis.rates import (
    SaddleNetwork,
    StationaryPoint,
    Transition,
    log_rate,
    log_weight,
    stationary_point,
)
from landscape_cli.testing import error_line, run
from landscape_plugins.analytic.surfaces import MuellerBrown

_spec = importlib.util.spec_from_file_location(
    "bench_rates", pathlib.Path(__file__).resolve().parents[2] / "bench" / "bench_rates.py"
)
bench_rates = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_rates)


def test_kramers_langer_matches_langevin_walkers_on_a_double_well():
    # barrier 1 at T = 0.2: Kramers-Langer's finite-barrier error is about +14% here
    # (bench/bench_rates.py: it shrinks as T falls); the walkers' standard error is 3%
    well = bench_rates.DoubleWell()
    low, top = stationary_point(well, well.minima["A"]), stationary_point(well, [0.0, 0.0])
    np.testing.assert_allclose(low.eigenvalues, [3.0, 8.0], rtol=1e-6)
    np.testing.assert_allclose(top.eigenvalues, [-4.0, 2.0], rtol=1e-6)
    times = bench_rates.first_passage_times(0.2, 1.0, walkers=1000, dt=0.02, seed=0)
    rate = np.exp(log_rate(low, top, 0.2, theory="kramers-langer", friction=1.0))
    assert rate * times.mean() == pytest.approx(1.0, rel=0.2)
    # friction only divides the overdamped rate; HTST has none
    assert np.exp(log_rate(low, top, 0.2, theory="kramers-langer", friction=4.0)) == pytest.approx(rate / 4)
    htst = np.exp(log_rate(low, top, 0.2, theory="htst"))
    assert htst == pytest.approx(np.sqrt(8 * 3 / 2) / (2 * np.pi) * np.exp(-1 / 0.2))


@pytest.fixture(scope="module")
def mueller_brown_chain():
    """Mueller-Brown's minima A, C, B and the saddles A-C, C-B (docs/concepts.md values), certified."""
    mb = MuellerBrown()
    minima = [stationary_point(mb, mb.minima[k]) for k in "ACB"]
    saddles = [stationary_point(mb, refine_saddle(mb, x)[0]) for x in ([-0.822, 0.624], [0.212, 0.293])]
    np.testing.assert_allclose([s.energy for s in saddles], [-40.664844, -72.248940], atol=1e-5)
    return SaddleNetwork(
        ["A", "C", "B"], minima, [Transition(saddles[0], 0, 1, "ac"), Transition(saddles[1], 1, 2, "cb")]
    )


@pytest.mark.parametrize("theory", ["htst", "kramers-langer"])
def test_three_minimum_chain_against_its_closed_form(mueller_brown_chain, theory):
    net, T = mueller_brown_chain, 8.0
    k = np.exp(net.log_rates(T, theory))
    a, b, c = k[1, 0], k[0, 1], k[2, 1]  # A -> C, C -> A, C -> B
    # T_A = 1/a + T_C, T_C = 1/(b + c) + b/(b + c) T_A  =>  T_A = (a + b + c) / (a c)
    closed = (a + b + c) / (a * c)
    for method in ("graph transformation", "master equation"):
        p = net.passage(["A"], ["B"], T, theory=theory, method=method)
        assert p.mfpt == pytest.approx(closed, rel=1e-12) and p.rate == pytest.approx(1 / closed, rel=1e-12)


def test_detailed_balance_with_the_harmonic_weights(mueller_brown_chain):
    net = mueller_brown_chain
    for theory in ("htst", "kramers-langer"):
        logk = net.log_rates(5.0, theory, friction=2.5)
        w = [log_weight(m, 5.0) for m in net.minima]
        for i, j in ((0, 1), (1, 2)):
            assert w[i] + logk[j, i] == pytest.approx(w[j] + logk[i, j], abs=1e-12)


def _random_network(seed: int, n: int = 40, dim: int = 5) -> SaddleNetwork:
    """Minima with random energies and spectra, joined by random saddles (a spanning tree
    plus extra edges, some pairs by two saddles): the structure of a stored network."""
    rng = np.random.default_rng(seed)

    def point(energy: float, negative: bool) -> StationaryPoint:
        values = np.sort(rng.uniform(0.5, 20.0, dim))
        if negative:
            values[0] = -rng.uniform(0.5, 20.0)
        return StationaryPoint(np.zeros(dim), energy, np.sort(values), 0, int(rng.choice([1, 2])), True)

    minima = [point(float(e), False) for e in rng.normal(0.0, 1.0, n)]
    pairs = [(int(rng.integers(i)), i) for i in range(1, n)] + [
        tuple(sorted(rng.choice(n, 2, replace=False))) for _ in range(2 * n)
    ]
    transitions = [
        Transition(
            point(max(minima[i].energy, minima[j].energy) + rng.uniform(0.1, 2.0), True), int(i), int(j), "random"
        )
        for i, j in pairs
        if i != j
    ]
    return SaddleNetwork([f"m{i}" for i in range(n)], minima, transitions)


@pytest.mark.parametrize("seed", range(4))
def test_graph_transformation_equals_the_linear_solve(seed):
    net = _random_network(seed)
    A, B = ["m0", "m3", "m7"], ["m1", "m20"]
    for theory in ("htst", "kramers-langer"):
        gt = net.passage(A, B, 0.5, theory=theory)
        me = net.passage(A, B, 0.5, theory=theory, method="master equation")
        np.testing.assert_allclose(gt.times, me.times, rtol=1e-10)
        assert gt.rate == pytest.approx(me.rate, rel=1e-10) and gt.rate >= 1 / gt.mfpt


def test_kinetics_bad_input():
    K = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    with pytest.raises(LandscapeError, match="infinite"):
        graph_transformation(K, [0], [2])
    with pytest.raises(LandscapeError, match="disjoint"):
        master_equation(K, [0], [0])
    with pytest.raises(LandscapeError, match="non-negative"):
        graph_transformation(-K, [0], [1])


def test_rate_needs_certified_points(mueller_brown_chain):
    net = mueller_brown_chain
    with pytest.raises(LandscapeError, match="index 0"):
        log_rate(net.transitions[0].saddle, net.minima[0], 1.0)
    with pytest.raises(LandscapeError, match="unknown rate theory"):
        log_rate(net.minima[0], net.transitions[0].saddle, 1.0, theory="eyring")
    with pytest.raises(LandscapeError, match="unknown minima"):
        net.passage(["A"], ["Z"], 1.0)


@pytest.fixture(scope="module")
def explored(tmp_path_factory):
    out = tmp_path_factory.mktemp("rates") / "mb"
    run(["minima", "mueller-brown", "--starts", "20", "--out", out])
    run(["explore", out, "--method", "neb", "--fmax", "1e-2", "--pivots", "15", "--steps", "500"])
    return out


def test_cli_rates_on_an_explored_store(explored, mueller_brown_chain):
    data = json.loads(run(["rates", explored, "--from", "m0", "--to", "m1", "--temperature", "8", "--json"]).stdout)
    joined = sorted((s["energy"], s["a"], s["b"]) for s in data["saddles"])  # m0 = A, m1 = B, m2 = C
    assert [(a, b) for _, a, b in joined] == [("m1", "m2"), ("m0", "m2")]  # C-B and A-C, each once
    np.testing.assert_allclose([e for e, *_ in joined], [-72.248940, -40.664844], atol=1e-5)
    for theory in ("htst", "kramers-langer"):
        p = data["passage"][theory]
        assert p["relative_difference"] < 1e-10
        assert p["mfpt"] == pytest.approx(mueller_brown_chain.passage(["A"], ["B"], 8.0, theory=theory).mfpt, rel=1e-5)
    assert "taken as 1" in data["point_group_orders"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--from", "m0", "--to", "m9", "--temperature", "1"], "no minima m9"),
        (["--from", "m0", "--to", "m0", "--temperature", "1"], "disjoint"),
        (["--from", "m0", "--to", "m1", "--temperature", "0"], "must be positive"),
        (["--from", "m0,", "--to", "m1", "--temperature", "1"], "comma-separated"),
    ],
)
def test_cli_bad_input_is_one_line(explored, args, message):
    assert message in error_line(run(["rates", explored, *args], 1))
