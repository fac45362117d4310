"""Bezier curves and polygonal chains (Garipov et al. 2018) as path optimizers, against
closed forms, finite differences and grid-exact minimax truth."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from landscape import Path
from landscape.foundations.errors import LandscapeError
from landscape.optimizers.curves import BezierCurve, Curve, PolyChain, curve_weights
from landscape.optimizers.driver import optimize
from landscape.optimizers.steppers import SGD, Adam
from landscape.paths.exact import grid_minimax
from landscape.paths.result import Status
from landscape.potentials.potential import Potential
from landscape.runs.pair import connect, make_optimizer
from landscape.testing import check_optimizer, examples
from landscape_plugins.analytic.strategies import gaussian_surfaces
from landscape_plugins.analytic.surfaces import MuellerBrown

#: The grid-exact minimax of Mueller-Brown A -> B (`landscape exact mueller-brown --start A --end B`).
MB_MINIMAX = -40.664844
DENSE = np.linspace(0.0, 1.0, 401)


@pytest.fixture(scope="module")
def mb():
    return MuellerBrown()


def dense_max(potential, curve, result):
    return float(np.max(potential.energy(curve.points(result.state.controls, DENSE))))


def test_weights_are_the_closed_forms():
    t = np.linspace(0.0, 1.0, 13)
    np.testing.assert_allclose(curve_weights("bezier", 1, t), np.stack([(1 - t) ** 2, 2 * t * (1 - t), t**2], 1))
    for bends in (1, 3, 8):
        w = curve_weights("polychain", bends, t)
        nodes = np.arange(bends + 2) / (bends + 1)
        hats = np.stack([np.interp(t, nodes, np.eye(bends + 2)[j]) for j in range(bends + 2)], 1)
        np.testing.assert_allclose(w, hats, atol=1e-15)
        np.testing.assert_allclose(curve_weights("bezier", bends, t).sum(1), 1.0)
    ends = curve_weights("bezier", 4, [0.0, 1.0])
    assert ends[0, 0] == 1.0 and ends[1, -1] == 1.0 and ends[0, 1:].sum() == 0 and ends[1, :-1].sum() == 0


@pytest.mark.parametrize("kind", ["bezier", "polychain"])
def test_a_step_follows_minus_the_gradient_of_the_mean_sample_energy(mb, kind):
    """With plain SGD the step is lr x the force; the force must be minus the finite-difference
    gradient of the mean energy at the step's t with respect to the bends."""
    lr = 1e-6
    curve = Curve(kind=kind, bends=2, samples_per_step=5, stepper=SGD(lr=lr), seed=3)
    a, b = mb.minima["A"], mb.minima["B"]
    state = curve.init(Path(np.stack([a, [-0.9, 0.9], [0.2, 0.4], b])), mb)
    after = curve.step(state, mb)
    force = (after.controls[1:-1] - state.controls[1:-1]) / lr
    t = curve.draws(0)

    def mean_energy(bends):
        return float(np.mean(mb.energy(curve.points(np.concatenate([a[None], bends, b[None]]), t))))

    h, grad = 1e-6, np.zeros_like(force)
    for idx in np.ndindex(*force.shape):
        step = np.zeros_like(force)
        step[idx] = h
        grad[idx] = (mean_energy(state.controls[1:-1] + step) - mean_energy(state.controls[1:-1] - step)) / (2 * h)
    np.testing.assert_allclose(force, -grad, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(after.loss, mean_energy(state.controls[1:-1]))
    assert after.nfev == state.nfev + 5 + 2  # the samples, then the two interior pivots of the path


def test_the_curves_pass_the_conformance_suite(mb):
    check_optimizer(BezierCurve(steps=300), mb, mb.minima["A"], mb.minima["B"], pivots=7)


def test_mueller_brown_curves_never_beat_the_exact_minimax_and_more_bends_lower_the_objective(mb):
    """On the dense curve (401 t) no curve goes below the grid-exact minimax.  What the
    training lowers is the mean energy over t (Garipov's objective): more bends, lower
    mean.  The highest energy falls only a little with bends: the bends settle in the
    deep wells of A and B and one segment crosses between them (docs/curves.md)."""
    a, b = mb.minima["A"], mb.minima["B"]
    straight = float(np.max(mb.energy(Path.straight(a, b, 401).pivots)))
    tops, means = {}, {}
    for kind, bends in (("bezier", 1), ("polychain", 1), ("polychain", 4), ("polychain", 8)):
        curve = Curve(kind=kind, bends=bends, steps=2000)
        result = optimize(curve, mb, Path.straight(a, b, 9))
        assert result.status is Status.SCHEDULE_DONE and result.nit == 2000
        tops[kind, bends] = dense_max(mb, curve, result)
        means[kind, bends] = float(np.mean(mb.energy(curve.points(result.state.controls, DENSE))))
        assert tops[kind, bends] >= MB_MINIMAX
        assert result.upper_bound >= MB_MINIMAX and result.upper_bound < straight
    assert means["polychain", 8] < means["polychain", 4] < means["polychain", 1]
    assert tops["polychain", 4] <= tops["polychain", 1] + 1.0
    assert tops["polychain", 8] <= tops["polychain", 1] + 1.0


@given(gaussian_surfaces(3, 6))
@settings(max_examples=examples(6), deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_no_curve_reports_a_maximum_below_the_exact_minimax(surface):
    names = list(surface.minima)
    a, b = surface.minima[names[0]], surface.minima[names[1]]
    exact = grid_minimax(surface, a, b, grid=201)
    tol = max(exact.tolerance, 1e-3)
    for curve in (BezierCurve(steps=150), PolyChain(bends=3, steps=150)):
        result = optimize(curve, surface, Path.straight(a, b, 9))
        assert result.upper_bound >= exact.saddle_energy - tol
        assert dense_max(surface, curve, result) >= exact.saddle_energy - tol


def test_snapshot_restore_continues_exactly(mb):
    curve = PolyChain(bends=3, steps=40, stepper=Adam(lr=0.02), seed=7)
    state = curve.init(Path.straight(mb.minima["A"], mb.minima["B"], 7), mb)
    for _ in range(10):
        state = curve.step(state, mb)
    arrays, attrs = curve.snapshot(state)
    restored = curve.restore(arrays, json.loads(json.dumps(attrs)), mb)
    for _ in range(15):
        state, restored = curve.step(state, mb), curve.step(restored, mb)
    np.testing.assert_array_equal(restored.controls, state.controls)
    np.testing.assert_array_equal(restored.path.energies, state.path.energies)
    assert (
        (restored.nit, restored.nfev) == (state.nit, state.nfev) == (25, 7 + 25 * (8 + 5))
    )  # the first path in full, then samples and interior pivots
    with pytest.raises(LandscapeError, match="does not describe a curve state"):
        PolyChain(bends=4).restore(arrays, attrs, mb)


def test_a_stored_curve_resumes_where_it_was_interrupted_and_keeps_its_control_points(mb, tmp_path):
    from landscape import Store
    from landscape.runs.stored import connect_stored

    a, b = mb.minima["A"], mb.minima["B"]
    settings = dict(method="polychain", bends=2, steps=60, checkpoint_seconds=None)
    whole = connect(mb, a, b, method="polychain", bends=2, steps=60)
    out = str(tmp_path / "store")
    stop = connect_stored(out, mb, ("A", "B"), a, b, callbacks=[lambda s: s.nit == 25], **settings)
    assert stop.result.status is Status.INTERRUPTED
    with Store.open(out) as store:
        assert store.check() == [] and "controls" in store.read_checkpoint("A-B")[0]
    run = connect_stored(out, mb, ("A", "B"), a, b, **settings)
    assert run.resumed_from_step == 25 and run.result.status is Status.SCHEDULE_DONE
    np.testing.assert_array_equal(run.result.path.pivots, whole.path.pivots)
    assert run.result.nfev == whole.nfev
    with Store.open(out) as store:
        arrays, attrs = store.read_array_group("curve-controls-A-B")
    np.testing.assert_array_equal(arrays["controls"], whole.state.controls)
    assert attrs == {"kind": "polychain", "bends": 2} and arrays["t"].tolist() == [0, 1 / 3, 2 / 3, 1]


class TorchMuellerBrown(Potential):
    """Mueller-Brown answering on torch tensors, so the curve's maths runs on torch."""

    def __init__(self, torch):
        self.torch, self.inner, self.dim = torch, MuellerBrown(), 2

    def asarray(self, x):
        return self.torch.as_tensor(np.asarray(x), dtype=self.torch.float64)

    def energy_and_gradient(self, x):
        e, g = self.inner.energy_and_gradient(x.numpy())
        return self.torch.as_tensor(e), self.torch.as_tensor(g)


def test_numpy_and_torch_take_the_same_steps(mb):
    torch = pytest.importorskip("torch")
    tmb = TorchMuellerBrown(torch)
    for curve in (BezierCurve(steps=30), PolyChain(bends=3, steps=30, stepper=SGD(lr=1e-4, momentum=0.9))):
        a, b = mb.minima["A"], mb.minima["B"]
        on_numpy = optimize(curve, mb, Path.straight(a, b, 7))
        on_torch = optimize(curve, tmb, Path.straight(tmb.asarray(a), tmb.asarray(b), 7))
        assert isinstance(on_torch.state.controls, torch.Tensor)
        np.testing.assert_allclose(on_torch.state.controls.numpy(), on_numpy.state.controls, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(on_torch.history, on_numpy.history, rtol=1e-12)


def test_a_network_potential_trains_its_bend(tmp_path):
    """A tiny MLP through the torchnet plugin: nothing network-specific in the curve."""
    torch = pytest.importorskip("torch")
    from landscape_plugins.torchnet.potential import NetworkPotential

    torch.manual_seed(0)
    x = torch.randn(64, 2)
    data = (x, (x[:, 0] * x[:, 1] > 0).long())
    module = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    pot = NetworkPotential(module, data, batched="loop")
    a, b = (pot.asarray(torch.randn(pot.dim) * 0.5) for _ in range(2))
    result = connect(pot, a, b, method="bezier", steps=40, lr=0.05, pivots=5)
    curve = make_optimizer("bezier", steps=40, lr=0.05)
    mid = curve.points(result.state.controls, [0.5])
    assert result.success and result.state.controls.dtype == np.float32  # host views of the float32 tensors
    before = float(pot.energy(pot.asarray(0.5 * (np.asarray(a) + np.asarray(b)))[None])[0])
    after = float(pot.energy(pot.asarray(mid))[0])
    assert after < before
    assert result.nfev >= 40 * (8 + 3)


def test_bad_settings_are_one_line_errors(mb):
    with pytest.raises(LandscapeError, match="bends must be from 1 to 1000"):
        PolyChain(bends=0)
    with pytest.raises(LandscapeError, match="unknown optimizer 'lbfgs'"):
        make_optimizer("bezier", optimizer="lbfgs")
    with pytest.raises(LandscapeError, match="max_pivots does not apply to method polychain"):
        make_optimizer("polychain", max_pivots=9)
    with pytest.raises(LandscapeError, match="apply to bands, not to bezier"):
        make_optimizer("bezier", spring=1.0)


def test_a_step_into_nan_is_refused_and_the_run_ends_on_the_last_good_curve(mb):
    class Holed(Potential):
        """Mueller-Brown with NaN where x > 0.3 (B's side): the bends walk into it."""

        dim = 2

        def energy_and_gradient(self, x):
            e, g = mb.energy_and_gradient(x)
            bad = x[:, 0] > 0.3
            return np.where(bad, np.nan, e), np.where(bad[:, None], np.nan, g)

    a, b = np.array([-0.558, 1.442]), np.array([0.2, 0.3])
    result = optimize(PolyChain(bends=2, steps=50, stepper=SGD(lr=1.0)), Holed(), Path.straight(a, b, 5))
    assert result.status is Status.NUMERICAL_FAULT and "refused" in result.message
    assert np.all(np.isfinite(result.path.energies)) and np.all(result.state.controls[:, 0] <= 0.3)
