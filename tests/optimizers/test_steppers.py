"""Update rules against closed forms, and numpy/torch agreement."""

from __future__ import annotations

import numpy as np
import pytest

from landscape.foundations.errors import LandscapeError
from landscape.optimizers.steppers import FIRE, FIRE2, LBFGS, SGD, Adam, stepper_from_config


def _run(stepper, x0, steps, hess):
    x, s = x0.copy(), stepper.init(x0)
    for _ in range(steps):
        x, s = stepper.update(x, -(x @ hess), s)
    return x


def test_sgd_matches_the_closed_form_on_a_quadratic():
    x0 = np.array([[1.0, -2.0]])
    h = np.diag([1.0, 3.0])
    x = _run(SGD(lr=0.1), x0, 5, h)
    np.testing.assert_allclose(x, x0 * (1 - 0.1 * np.diag(h)) ** 5)


def test_sgd_momentum_and_weight_decay_follow_pytorch_convention():
    torch = pytest.importorskip("torch")
    x0 = np.array([[0.5, -1.5, 2.0]])
    h = np.diag([0.5, 1.0, 2.0])
    ours = _run(SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01), x0, 7, h)
    p = torch.nn.Parameter(torch.tensor(x0))
    opt = torch.optim.SGD([p], lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)
    for _ in range(7):
        opt.zero_grad()
        (0.5 * (p @ torch.tensor(h) * p).sum()).backward()
        opt.step()
    np.testing.assert_allclose(ours, p.detach().numpy(), rtol=1e-12)


def test_adam_first_step_has_size_lr():
    x = np.array([[3.0, -1.0]])
    new, _ = Adam(lr=0.01).update(x, np.array([[-5.0, 0.2]]), Adam(lr=0.01).init(x))
    np.testing.assert_allclose(new - x, [[-0.01, 0.01]], rtol=1e-6)  # along the force


def test_stepper_config_round_trips_and_rejects_unknown_kinds():
    for s in (
        SGD(lr=0.3, momentum=0.9),
        Adam(lr=1e-2),
        FIRE(lr=0.05, max_step=0.3),
        FIRE2(n_delay=3),
        LBFGS(memory=7, max_step=0.1),
    ):
        assert stepper_from_config(s.to_config()) == s
    with pytest.raises(LandscapeError, match="unknown stepper"):
        stepper_from_config({"kind": "bfgs"})
    with pytest.raises(LandscapeError, match="memory must be >= 1"):
        LBFGS(memory=0)
    with pytest.raises(LandscapeError, match="bad settings"):
        stepper_from_config({"kind": "sgd", "speed": 3})


@pytest.mark.parametrize(
    "stepper",
    [
        FIRE(lr=0.01, dt_max=0.05, max_step=0.1),
        FIRE2(lr=0.01, dt_max=0.05, max_step=0.1),
        LBFGS(lr=0.005, max_step=0.1),
    ],
)
def test_band_steppers_relax_a_stiff_quadratic_within_the_step_cap(stepper):
    h = np.diag([1.0, 100.0])
    x, s = np.array([[2.0, 1.0]]), stepper.init(np.zeros((1, 2)))
    for _ in range(300):
        new, s = stepper.update(x, -(x @ h), s)
        assert np.linalg.norm(new - x) <= 0.1 + 1e-12
        x = new
    assert np.linalg.norm(x) < 1e-3


def test_lbfgs_needs_far_fewer_steps_than_fire_on_an_ill_conditioned_quadratic():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    h = q @ np.diag([1, 3, 10, 30, 100, 300.0]) @ q.T

    def steps_to(stepper, tol=1e-8):
        x, s = np.ones((1, 6)), stepper.init(np.zeros((1, 6)))
        for k in range(5000):
            g = x @ h
            if np.linalg.norm(g) < tol:
                return k
            x, s = stepper.update(x, -g, s)
        return 5000

    lbfgs, fire = steps_to(LBFGS(lr=1 / 300, max_step=10.0)), steps_to(FIRE(lr=1 / 300, dt_max=0.01, max_step=10.0))
    assert 10 * lbfgs <= fire, (lbfgs, fire)
    # The trust radius's price on a true gradient (45 steps here): without it, 20.
    assert steps_to(LBFGS(lr=1 / 300, max_step=10.0, force_growth=1e9)) <= 20


def test_lbfgs_halves_its_trust_radius_and_forgets_when_the_force_grows():
    """A force 2x the last one (over force_growth 1.5): memory reset, radius halved, the
    step then capped by it; a shrinking force lets the radius grow back by 1.2."""
    lb = LBFGS(lr=1.0, max_step=1.0)
    x0 = np.zeros((1, 2))
    x1, s1 = lb.update(x0, np.array([[0.1, 0.0]]), lb.init(x0))
    x2, s2 = lb.update(x1, np.array([[0.05, 0.0]]), s1)  # smaller force: a curvature pair is kept
    assert float(s2["rho"].sum()) > 0 and float(s2["r"]) == 1.0
    x3, s3 = lb.update(x2, np.array([[0.0, 10.0]]), s2)  # 200x the force
    assert float(s3["rho"].sum()) == 0 and float(s3["r"]) == 0.5
    assert np.linalg.norm(x3 - x2) == pytest.approx(0.5)  # lr x force = 10, capped at the radius
    _, s4 = lb.update(x3, np.array([[0.0, 1.0]]), s3)
    assert float(s4["r"]) == pytest.approx(0.6)


def test_lbfgs_on_a_soft_spring_neb_reaches_the_saddle_where_it_used_to_diverge():
    """Mueller-Brown, NEB at k = 1, climbing image: without the trust radius the band ran
    off to E = 8e4 (docs/benchmarks.md)."""
    from landscape import Path
    from landscape.optimizers.band import NEB
    from landscape.optimizers.driver import optimize
    from landscape.paths.budget import Budget
    from landscape.potentials.registry import load_potential

    mb = load_potential("mueller-brown")
    band = NEB(spring=1.0, climb=True, fmax=0.05, stepper=LBFGS())
    r = optimize(band, mb, Path.straight(mb.minimum("A"), mb.minimum("B"), 9), budget=Budget(max_steps=3000))
    assert r.success and r.saddle_energy == pytest.approx(-40.664844, abs=1e-4)


def test_fire2_steps_back_after_an_overshoot_as_the_paper_writes():
    """Guenole et al. 2020, Algorithm 2: on P <= 0 the time step shrinks, x -= dt/2 v
    with the new dt, v = 0, then the semi-implicit Euler step along the force."""
    stepper = FIRE2(lr=0.1, n_delay=0, max_step=10.0, a_start=0.25)
    x, s = np.array([[1.0]]), stepper.init(np.zeros((1, 1)))
    x1, s = stepper.update(x, np.array([[1.0]]), s)  # from rest: P = 0 counts as uphill, dt 0.1 -> 0.05
    np.testing.assert_allclose(x1, 1.0 + 0.05 * 0.05, rtol=1e-12)
    v1 = float(s["v"][0, 0])
    back, s = stepper.update(x1, np.array([[-1.0]]), s)  # the force turned: uphill, dt 0.05 -> 0.025
    dt = float(s["dt"])
    assert dt == pytest.approx(0.025)
    np.testing.assert_allclose(back, x1 - 0.5 * dt * v1 + dt * (dt * -1.0), rtol=1e-12)


@pytest.mark.parametrize("stepper", [FIRE(lr=0.02, dt_max=0.1), FIRE2(lr=0.02, dt_max=0.1), LBFGS(lr=0.02)])
def test_band_steppers_run_identically_on_torch(stepper):
    torch = pytest.importorskip("torch")
    h = np.diag([1.0, 10.0, 3.0])
    x_np, s_np = np.array([[1.0, 1.0, -1.0]]), stepper.init(np.zeros((1, 3)))
    x_t = torch.tensor(x_np)
    s_t = stepper.init(x_t)
    ht = torch.tensor(h)
    for _ in range(50):
        x_np, s_np = stepper.update(x_np, -(x_np @ h), s_np)
        x_t, s_t = stepper.update(x_t, -(x_t @ ht), s_t)
    assert isinstance(x_t, torch.Tensor)
    np.testing.assert_allclose(x_t.numpy(), x_np, rtol=1e-10)
