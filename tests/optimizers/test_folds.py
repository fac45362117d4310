"""A band that folds back on itself is spread out again (`landscape.optimizers.folds`,
`ElasticBand.unfold`): the fold test at known angles, the spread band's spacing, a band
that folds again and again spread a bounded number of times, a random surface whose
band folded and ran up its confining wall, against the grid-exact minimax; a snapshot
taken at the fold continues bit for bit."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from landscape import Budget, grid_minimax, load_potential, optimize
from landscape.optimizers.folds import FOLD_COS, MAX_SPREADS, folded, spread_out
from landscape.paths import geometry
from landscape.paths.path import Path
from landscape.runs.pair import make_optimizer
from landscape_plugins.analytic.surfaces import random_pair


def _turn(degrees: float) -> np.ndarray:
    """Three pivots: along x, then turned by `degrees` (180: straight back)."""
    a = np.radians(degrees)
    return np.array([[0.0, 0.0], [1.0, 0.0], [1.0 + np.cos(a), np.sin(a)]])


def test_bend_cosines_at_known_angles():
    np.testing.assert_allclose(geometry.bend_cosines(np.vstack([_turn(0.0), [[3.0, 0.0]]])), [1.0, 1.0], atol=1e-15)
    np.testing.assert_allclose(geometry.bend_cosines(_turn(90.0)), [0.0], atol=1e-15)
    np.testing.assert_allclose(geometry.bend_cosines(_turn(180.0)), [-1.0], atol=1e-15)


def test_a_fold_is_a_turn_past_the_threshold_only():
    edge = np.degrees(np.arccos(FOLD_COS))  # 171.9 degrees
    assert not folded(_turn(edge - 0.5)) and folded(_turn(edge + 0.5)) and folded(_turn(180.0))
    assert not folded(np.vstack([_turn(0.0), [[3.0, 0.0]]]))
    assert not folded(np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0]]))  # a coincident pivot is no fold


def test_spread_out_keeps_the_ends_and_spaces_the_pivots_evenly_along_the_old_polyline():
    p = np.array([[0.0, 0.0], [0.1, 0.0], [2.0, 0.0], [1.5, 0.0], [1.6, 1.0], [3.0, 1.0]])
    q = np.asarray(spread_out(Path(p, np.array([0.0, 1.0, 2.0, 5.0, 1.0, -1.0]))).pivots)
    np.testing.assert_array_equal(q[[0, -1]], p[[0, -1]])
    # by hand: equal steps of arc length along the old polyline, the fold included
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1))])
    at = np.linspace(0.0, arc[-1], len(p))
    want = np.stack([np.interp(at, arc, p[:, d]) for d in range(2)], axis=1)
    np.testing.assert_allclose(q, want, atol=1e-12)


def _seed_4():
    """bench/bench_random_surfaces.py's case 4 from the straight line: without the fold
    check the default band folded back and ran up the wall (18,015 calls, measured)."""
    found = random_pair(4)
    assert found is not None
    surface, a, b = found
    return surface, a, b, Path.straight(a, b, 15)


def test_a_band_that_folded_and_ran_away_now_finds_the_grid_exact_saddle():
    surface, a, b, start = _seed_4()
    band = replace(make_optimizer("neb", deterministic=True), climb=True, fmax=1e-3, frtol=None)
    truth = grid_minimax(surface, a, b, grid=501)
    r = optimize(band, surface, start, budget=Budget(max_steps=3000))
    assert r.success and abs(r.saddle_energy - truth.saddle_energy) <= 2 * max(truth.tolerance, 1e-3)
    assert r.state.spreads > 0  # it folded on the way
    # Without the check this band ran up the wall, spent its steps or, with exp one ulp
    # lower everywhere, converged: a chaotic band's fate, so the comparison is the
    # 1,000-surface count of docs/benchmarks.md ("Bands that fold back"), not this run.


def test_a_snapshot_at_a_fold_continues_bit_for_bit():
    surface, a, b, start = _seed_4()
    band = replace(make_optimizer("neb", deterministic=True), climb=True, fmax=1e-3, frtol=None)
    states = []
    full = optimize(
        band, surface, start, budget=Budget(max_steps=3000), callbacks=[lambda s: states.append(s) and None]
    )
    spread = [t for s, t in zip(states, states[1:]) if t.nfev - s.nfev > 13]  # 13 pivots moved, then all again
    assert spread, "no fold on this run"
    assert any(s.spreads for s in states[::10])  # the count itself saved and restored
    for state in [*states[::10], *(states[states.index(t) - 1] for t in spread[:3])]:
        arrays, attrs = band.snapshot(state)
        back = band.restore({k: np.array(v, copy=True) for k, v in arrays.items()}, attrs, surface)
        r = optimize(band, surface, start, budget=Budget(max_steps=3000), state=back)
        np.testing.assert_array_equal(r.path.pivots, full.path.pivots)
        assert (r.nit, r.nfev) == (full.nit, full.nfev)


def test_a_band_that_folds_again_and_again_is_spread_a_bounded_number_of_times():
    """An exploration's band between two wells of a Gaussian mixture (8 wells, seed 3: m2
    and the well near (0.832, -1.492), which `landscape minima` finds) folds again after
    each of its first spreads: spread `MAX_SPREADS` times, it goes on without and converges."""
    from scipy.optimize import minimize

    gm = load_potential("gaussian-mixture", {"wells": 8, "seed": 3})
    well = minimize(
        lambda x: float(gm.energy(x[None])[0]),
        np.array([0.832, -1.492]),
        jac=lambda x: np.asarray(gm.energy_and_gradient(x[None])[1][0]),
        method="L-BFGS-B",
        options={"gtol": 1e-12, "ftol": 1e-15},
    ).x
    band = make_optimizer("neb", fmax=0.01, deterministic=True)
    r = optimize(band, gm, Path.straight(gm.minima["m2"], well, 15), budget=Budget(max_steps=5000))
    assert r.state.spreads == MAX_SPREADS and r.success


def test_no_unfold_on_the_command_line_is_the_band_without_the_check(tmp_path):
    """The pair of an exploration (12 wells, seed 7, m4-m5) that converges only without the
    check (docs/benchmarks.md): `--no-unfold` converges as `unfold=False` does, call for
    call; the default spends its 500 steps; the store holds the switch."""
    import json

    from landscape.store import Store
    from landscape_cli.testing import invoke, run

    args = ["connect", "gaussian-mixture", "-o", "wells=12", "-o", "seed=7", "--start", "m4", "--end", "m5"]
    args += ["--method", "neb", "--pivots", "15", "--fmax", "1e-2", "--steps", "500", "--json"]
    off = json.loads(run([*args, "--no-unfold", "--out", tmp_path / "off"]).stdout)
    gm = load_potential("gaussian-mixture", {"wells": 12, "seed": 7})
    band = make_optimizer("neb", fmax=1e-2, deterministic=True, unfold=False)
    api = optimize(band, gm, Path.straight(gm.minima["m4"], gm.minima["m5"], 15), budget=Budget(max_steps=500))
    assert off["success"] and api.success
    assert off["saddle_energy"] == api.saddle_energy and off["evaluations"] == api.nfev
    with Store.open(tmp_path / "off") as store:
        assert store.read_result("m4-m5").config["optimizer"]["unfold"] is False
    on = invoke([*args, "--out", tmp_path / "on"])
    assert on.exit_code != 0 and json.loads(on.stdout)["status"] == "max_steps"
