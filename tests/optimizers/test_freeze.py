"""Per-image convergence in bands (`ElasticBand.freeze`) and the FIRE 2.0 -> L-BFGS stepper
(`Hybrid`), checked against fresh full evaluations and against the bands that hold nothing."""

from __future__ import annotations

import numpy as np
import pytest

from landscape import (
    Budget,
    CountingPotential,
    ElasticBand,
    Path,
    connect,
    load_potential,
    make_optimizer,
    optimize,
)
from landscape.optimizers.forces import band_forces
from landscape.optimizers.hybrid import Hybrid
from landscape.optimizers.steppers import FIRE2, LBFGS, stepper_from_config

SURFACES = [("mueller-brown", {}, "A", "B", 17), ("leps", {}, "A", "B", 9), ("three-hole", {}, "A", "B", 9)]


def _band(pot, a, b, pivots, freeze, stepper=None):
    counted = CountingPotential(pot)
    result = connect(
        counted, pot.minimum(a), pot.minimum(b), method="neb", pivots=pivots, freeze=freeze, stepper=stepper or FIRE2()
    )
    band = make_optimizer("neb", freeze=freeze, stepper=stepper or FIRE2(), deterministic=True)  # as connect
    return band, result, counted


@pytest.mark.parametrize("name, options, a, b, pivots", SURFACES)
def test_a_band_that_holds_converged_pivots_ends_where_the_full_band_does(name, options, a, b, pivots):
    pot = load_potential(name, options)
    _, full, _ = _band(pot, a, b, pivots, 0.0)
    band, held, counted = _band(pot, a, b, pivots, 1.0)
    assert full.success and held.success
    barrier = full.saddle_energy - min(full.path.energies[[0, -1]])
    assert abs(held.saddle_energy - full.saddle_energy) <= 1e-3 * barrier
    state = held.state
    # every evaluation is some pivot's or the climber check's, and the counter saw each
    assert int(state.evaluations.sum()) + state.checks == state.nfev
    assert held.nfev == counted.points  # the counter saw each, and the result's final checks
    assert state.evaluations[0] == state.evaluations[-1] == 1  # the ends once, at the start
    # a fresh evaluation of every pivot: the band converged on forces that are the true ones
    pivots_now = np.asarray(state.path.pivots)
    energies, gradients = pot.energy_and_gradient(pivots_now)
    np.testing.assert_array_equal(energies, np.asarray(state.path.energies))
    np.testing.assert_array_equal(gradients[1:-1], np.asarray(state.gradients))
    forces = band_forces(pivots_now, energies, gradients[1:-1], state.spring, True, kinks=band.kinks)
    assert np.sqrt((forces**2).sum(axis=1)).max() <= band.tolerance(state)


def test_pivots_are_held_where_the_ends_converge_first():
    """(Whether holding saves calls overall depends on the run: the steppers see a
    different band; bench/bench_defaults.py measures it.)"""
    pot = load_potential("mueller-brown")
    _, held, _ = _band(pot, "A", "B", 17, 1.0)
    counts = held.state.evaluations[1:-1]
    assert counts.min() < counts.max()  # some pivots were held while others moved


def test_a_pivot_moved_by_its_neighbour_steps_again():
    """Hold every pivot but one, then move that one: its neighbours' tangents and
    springs change, and they are released as soon as their forces exceed the tolerance."""
    pot = load_potential("mueller-brown")
    band = ElasticBand(method="neb", climb=False, fmax=1.0, freeze=1.0, stepper=FIRE2())
    path = Path.straight(pot.minimum("A"), pot.minimum("B"), 7)
    state = band.init(path, pot)
    norms = np.sqrt((np.asarray(state.forces) ** 2).sum(axis=1))
    moving = band._moving(state, pot)
    assert moving is None or np.array_equal(
        moving, ~((norms <= 1.0) & np.r_[True, norms[:-1] <= 1.0] & np.r_[norms[1:] <= 1.0, True])
    )
    # a pivot far off the path next to converged ones: they must move again
    from dataclasses import replace

    pivots = np.asarray(state.path.pivots).copy()
    pivots[3] += np.array([0.3, 0.3])
    moved = band.init(Path(pivots), pot)
    flags = band._moving(replace(moved, forces=np.asarray(moved.forces)), pot)
    norms = np.sqrt((np.asarray(moved.forces) ** 2).sum(axis=1))
    assert flags is None or flags[2]  # the displaced pivot itself always moves
    assert norms[2] > 1.0


def test_a_mini_batch_loss_and_the_string_method_hold_nothing():
    from landscape.potentials.potential import PotentialWrapper

    class Noisy(PotentialWrapper):
        stochastic = True

    pot = load_potential("mueller-brown")
    for method, p in (("neb", Noisy(pot)), ("string", pot)):
        band = ElasticBand(method=method, climb=True, frtol=1e-4, freeze=1.0)
        result = optimize(band, p, Path.straight(pot.minimum("A"), pot.minimum("B"), 9), budget=Budget(max_steps=300))
        counts = result.state.evaluations[1:-1]
        assert counts.min() == counts.max() == result.nit + 1 + result.state.repairs


def test_freeze_is_checked_and_recorded_only_when_on():
    from landscape.foundations.errors import LandscapeError

    with pytest.raises(LandscapeError, match="freeze"):
        ElasticBand(freeze=1.5)
    assert "freeze" not in ElasticBand().to_config()
    assert ElasticBand(freeze=1.0).to_config()["freeze"] == 1.0


def test_a_held_band_resumes_from_its_snapshot_exactly():
    pot = load_potential("mueller-brown")
    band = ElasticBand(method="neb", climb=True, frtol=1e-4, freeze=1.0, stepper=Hybrid())
    path = Path.straight(pot.minimum("A"), pot.minimum("B"), 17)
    whole = optimize(band, pot, path, budget=Budget(max_steps=5000), per_segment=0)
    stop = whole.nit // 2
    half = optimize(band, pot, path, budget=Budget(max_steps=stop), per_segment=0)
    arrays, attrs = band.snapshot(half.state)
    restored = band.restore(arrays, attrs, pot)
    rest = optimize(band, pot, path, budget=Budget(max_steps=5000), per_segment=0, state=restored)
    np.testing.assert_array_equal(rest.path.pivots, whole.path.pivots)
    np.testing.assert_array_equal(rest.state.evaluations, whole.state.evaluations)
    assert (rest.nit, rest.nfev) == (whole.nit, whole.nfev)


def test_hybrid_hands_over_to_lbfgs_near_the_minimum_and_back_to_fire2_after_cuts():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    h = q @ np.diag([1, 3, 10, 30, 100, 300.0]) @ q.T
    stepper = Hybrid(first=FIRE2(lr=0.002, dt_max=0.01), near=0.1, resets=2)
    x, s = np.ones((1, 6)), stepper.init(np.zeros((1, 6)))
    f0 = np.linalg.norm(np.ones((1, 6)) @ h)
    phases = []
    for _ in range(400):
        g = x @ h
        if np.linalg.norm(g) < 1e-8:
            break
        before = float(s["phase"])
        x, s = stepper.update(x, -g, s)
        phases.append(before)
        if before == 0:  # FIRE 2.0 runs until the force is down to `near` of the first
            assert np.linalg.norm(g) > 0.1 * f0 or float(s["phase"]) == 1
    assert np.linalg.norm(x @ h) < 1e-8 and 0 in phases and 1 in phases and 2 not in phases
    # a force that grows by half at every step cuts L-BFGS's radius: FIRE 2.0 again, from rest
    s = stepper.init(np.zeros((1, 2)))
    x = np.array([[1.0, 1.0]])
    force = np.array([[1e-3, 0.0]])
    s = {**s, "phase": np.float64(1), "f0": np.float64(1)}
    for _ in range(3):
        x, s = stepper.update(x, force, s)
        force = force * 2
    assert float(s["phase"]) == 2 and float(s["cuts"]) >= 2
    np.testing.assert_array_equal(s["1.v"], 0)


@pytest.mark.parametrize("start", ["fire2", "lbfgs"])
def test_hybrid_config_round_trips_and_runs_identically_on_torch(start):
    torch = pytest.importorskip("torch")
    stepper = Hybrid(first=FIRE2(n_delay=3), then=LBFGS(memory=5), near=0.5, resets=3, start=start)
    assert stepper_from_config(stepper.to_config()) == stepper
    h = np.diag([1.0, 10.0, 3.0])
    x_np, s_np = np.array([[1.0, 1.0, -1.0]]), stepper.init(np.zeros((1, 3)))
    x_t, s_t, ht = torch.tensor(x_np), stepper.init(torch.zeros((1, 3), dtype=torch.float64)), torch.tensor(h)
    for _ in range(25):
        x_np, s_np = stepper.update(x_np, -(x_np @ h), s_np)
        x_t, s_t = stepper.update(x_t, -(x_t @ ht), s_t)
    np.testing.assert_allclose(x_t.numpy(), x_np, rtol=1e-10)
    assert float(s_np["phase"]) == 1  # it reached L-BFGS


def test_a_guarded_lbfgs_start_that_cuts_its_radius_goes_back_to_the_first_band_with_fire2():
    stepper = Hybrid(start="lbfgs")
    x0 = np.array([[1.0, -2.0, 0.5]])
    s = stepper.init(x0)
    assert float(s["phase"]) == -1
    x, force = x0, np.array([[1e-3, 0.0, 0.0]])
    for _ in range(3):  # the force grows by half or more each step, never down to `trust`: a cut
        before = float(s["phase"])
        x, s = stepper.update(x, force, s)
        force = force * 2
        if float(s["phase"]) != before:
            break
    assert float(s["phase"]) == 0 and float(s["cuts"]) == 0
    np.testing.assert_array_equal(x, x0)  # the band it started from, not where L-BFGS went
    np.testing.assert_array_equal(s["1.v"], 0)
    np.testing.assert_array_equal(s["2.rho"], 0)  # an empty memory for the hand-over to come


def test_a_guarded_lbfgs_start_converges_on_a_quadratic_without_fire2():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    h = q @ np.diag([1, 3, 10, 30, 100, 300.0]) @ q.T
    for start in ("fire2", "lbfgs"):
        stepper = Hybrid(first=FIRE2(lr=0.002, dt_max=0.01), near=0.1, start=start)
        x, s, phases = np.ones((1, 6)), stepper.init(np.ones((1, 6))), set()
        for _ in range(2000):
            g = x @ h
            if np.linalg.norm(g) < 1e-8:
                break
            phases.add(float(s["phase"]))
            x, s = stepper.update(x, -g, s)
        assert np.linalg.norm(x @ h) < 1e-8
        assert (0 in phases) == (start == "fire2")  # no FIRE 2.0 before L-BFGS: no cut before `near`


def test_the_guarded_lbfgs_start_falls_back_to_fire2_where_lbfgs_alone_runs_away():
    # bench/bench_defaults.py's Gaussian mixture seed 1 at 5 pivots: L-BFGS alone leaves
    # the valley and diverges; the guard sends the band back to its start.
    from landscape import find_minima

    pot = load_potential("gaussian-mixture", {"wells": 6, "seed": 1})
    m = find_minima(pot, 60, seed=0)
    alone = connect(
        pot, m.coords[0], m.coords[1], method="neb", pivots=5, stepper=LBFGS(), budget=Budget(max_steps=300)
    )
    assert not alone.success
    phases: list[float] = []
    guarded = connect(
        pot,
        m.coords[0],
        m.coords[1],
        method="neb",
        pivots=5,
        stepper=Hybrid(start="lbfgs"),
        budget=Budget(max_steps=300),
        callbacks=[lambda state: phases.append(float(state.stepper_state["phase"]))],
    )
    assert guarded.success
    assert -1 in phases and 0 in phases  # it started with L-BFGS and went back to FIRE 2.0
    assert np.all(np.asarray(guarded.state.evaluations)[1:-1] > 0)


@pytest.mark.parametrize("config", [{"kind": "fire2-lbfgs"}, {"kind": "fire2-lbfgs", "start": "lbfgs", "trust": 0.2}])
def test_hybrid_start_round_trips_and_a_config_without_it_starts_with_fire2(config):
    stepper = stepper_from_config(config)
    assert stepper_from_config(stepper.to_config()) == stepper
    assert stepper.start == config.get("start", "fire2")
    assert ("start" in stepper.to_config()) == ("start" in config)  # stored runs keep their identity


def test_hybrid_start_must_be_fire2_or_lbfgs():
    from landscape import LandscapeError

    with pytest.raises(LandscapeError, match="start must be fire2 or lbfgs"):
        Hybrid(start="sgd")
    with pytest.raises(LandscapeError, match="trust"):
        Hybrid(start="lbfgs", trust=1.0)


def test_a_hybrid_state_stored_before_the_guarded_start_steps_as_a_new_one():
    stepper, x = Hybrid(), np.array([[1.0, -1.0], [0.5, 2.0]])
    s = stepper.init(x)
    x1, s1 = stepper.update(x, -x, s)
    old = {k: v for k, v in s1.items() if k != "x0"}  # a snapshot written before the key existed
    x_new, _ = stepper.update(x1, -x1, s1)
    x_old, s_old = stepper.update(x1, -x1, old)
    np.testing.assert_array_equal(x_old, x_new)
    assert "x0" in s_old
