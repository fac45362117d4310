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


def cvar(energies, q):
    return float(np.mean(np.sort(energies)[::-1][: int(np.ceil(q * len(energies)))]))


def softmax(energies, scale):
    return float(scale * np.log(np.sum(np.exp(energies / scale))))


@pytest.mark.parametrize("kind, objective", [("polychain", "cvar"), ("bezier", "cvar"), ("polychain", "softmax")])
def test_the_targeting_objectives_step_along_minus_their_finite_difference_gradient(mb, kind, objective):
    """cvar: the mean of the highest ceil(q S) sampled energies; softmax: T log sum exp(E / T),
    T = temperature x the step's sampled energies' standard deviation (held fixed).  Written
    here with numpy from their definitions, differentiated by central differences."""
    lr = 1e-6
    curve = Curve(kind=kind, bends=2, samples_per_step=7, stepper=SGD(lr=lr), seed=4, objective=objective, q=0.4)
    a, b = mb.minima["A"], mb.minima["B"]
    state = curve.init(Path(np.stack([a, [-0.9, 0.9], [0.2, 0.4], b])), mb)
    after = curve.step(state, mb)
    force = (after.controls[1:-1] - state.controls[1:-1]) / lr
    t = curve.draws(0)

    def energies(bends):
        return mb.energy(curve.points(np.concatenate([a[None], bends, b[None]]), t))

    scale = curve.temperature * float(np.std(energies(state.controls[1:-1])))

    def value(bends):
        return cvar(energies(bends), curve.q) if objective == "cvar" else softmax(energies(bends), scale)

    h, grad = 1e-6, np.zeros_like(force)
    for idx in np.ndindex(*force.shape):
        step = np.zeros_like(force)
        step[idx] = h
        grad[idx] = (value(state.controls[1:-1] + step) - value(state.controls[1:-1] - step)) / (2 * h)
    np.testing.assert_allclose(force, -grad, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(after.loss, value(state.controls[1:-1]))
    mean = Curve(kind=kind, bends=2, samples_per_step=7, stepper=SGD(lr=lr), seed=4).step(state, mb)
    assert after.loss > mean.loss  # both target the top: above the mean of the same samples


def test_objective_weights_limits():
    """cvar with q = 1 is the mean; softmax at a small temperature tends to the maximum and
    at a large one to the mean plus T log S; equal energies weigh equally."""
    e = np.random.default_rng(0).normal(size=9)
    loss, v = Curve(objective="cvar", q=1.0).objective_weights(e)
    np.testing.assert_allclose((loss, *v), (np.mean(e), *np.full(9, 1 / 9)))
    loss, v = Curve(objective="cvar", q=0.2).objective_weights(e)  # ceil(1.8) = 2 highest
    assert loss == pytest.approx(np.mean(np.sort(e)[-2:])) and np.count_nonzero(v) == 2
    loss, v = Curve(objective="softmax", temperature=1e-3).objective_weights(e)
    assert loss == pytest.approx(e.max(), abs=1e-2) and v.argmax() == e.argmax() and v.sum() == pytest.approx(1)
    loss, v = Curve(objective="softmax", temperature=1e4).objective_weights(e)
    np.testing.assert_allclose(v, 1 / 9, rtol=1e-3)
    loss, v = Curve(objective="softmax").objective_weights(np.full(4, 2.5))
    np.testing.assert_allclose(v, 0.25)


def test_spread_keeps_the_ends_and_spaces_the_bends_equally(mb):
    """A spread step takes the unspread step's polygon and puts its corners at equal arc
    length along it (the string method's reparametrisation), the ends exactly; written here
    with numpy's interp on the cumulative length.  The update alone leaves them uneven."""
    a, b = mb.minima["A"], mb.minima["B"]
    start = Path(np.stack([a, [-0.9, 1.2], [-0.8, 1.0], [-0.5, 0.7], [0.4, 0.2], b]))
    plain, spread = (PolyChain(bends=4, stepper=SGD(lr=1e-3), objective="softmax", spread=s) for s in (False, True))
    state = plain.init(start, mb)
    moved, even = plain.step(state, mb).controls, spread.step(state, mb).controls
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(moved, axis=0), axis=1))])
    fractions = np.arange(6) / 5 * arc[-1]
    expected = np.stack([np.interp(fractions, arc, moved[:, k]) for k in range(2)], 1)
    np.testing.assert_allclose(even, expected, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(even[[0, -1]], np.stack([a, b]))
    assert np.ptp(np.diff(arc)) > 0.01 * arc[-1]  # the update alone spaced them unevenly


def test_mueller_brown_default_curve_approaches_the_exact_minimax_with_bends(mb):
    """What connect trains on Mueller-Brown (deterministic: softmax, spread bends from 2):
    seed 0, 1000 steps, measured (bench/bench_curves.py's method): 1 bend -39.711, 8 bends
    -40.362 on the dense curve, the minimax -40.665; the margins below leave 0.15 and 0.1."""
    a, b = mb.minima["A"], mb.minima["B"]
    tops = {}
    for bends in (1, 8):
        result = connect(mb, a, b, method="polychain", bends=bends, steps=1000)
        tops[bends] = dense_max(mb, make_optimizer("polychain", bends=bends), result)
        assert tops[bends] >= MB_MINIMAX and result.upper_bound >= MB_MINIMAX
    assert tops[8] < tops[1] - 0.5
    assert tops[8] < MB_MINIMAX + 0.4


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
    targeted = PolyChain(bends=3, steps=150, objective="softmax", spread=True)
    for curve in (BezierCurve(steps=150), PolyChain(bends=3, steps=150), targeted):
        result = optimize(curve, surface, Path.straight(a, b, 9))
        assert result.upper_bound >= exact.saddle_energy - tol
        assert dense_max(surface, curve, result) >= exact.saddle_energy - tol


@pytest.mark.parametrize("targeting", [{}, {"objective": "cvar", "q": 0.5, "spread": True}])
def test_snapshot_restore_continues_exactly(mb, targeting):
    curve = PolyChain(bends=3, steps=40, stepper=Adam(lr=0.02), seed=7, **targeting)
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
    for curve in (
        BezierCurve(steps=30, objective="cvar"),
        PolyChain(bends=3, steps=30, stepper=SGD(lr=1e-4, momentum=0.9)),
        PolyChain(bends=3, steps=10, objective="softmax", spread=True),
    ):
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
    with pytest.raises(LandscapeError, match="unknown curve objective 'max'; choose one of mean, cvar, softmax"):
        PolyChain(objective="max")
    with pytest.raises(LandscapeError, match=r"q must be in \(0, 1\], got 0"):
        PolyChain(objective="cvar", q=0)
    with pytest.raises(LandscapeError, match="temperature must be > 0"):
        make_optimizer("polychain", temperature=-1.0)
    with pytest.raises(LandscapeError, match="spread .* applies to a polychain"):
        make_optimizer("bezier", spread=True)
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


def test_garipov_lr_decay_scales_each_step_by_its_factor(mb):
    """Garipov et al.'s schedule: lr held for half the steps, then linear to 1% by 90%;
    a step under it is the undecayed step times the factor at its fraction of the steps."""
    from landscape.optimizers.curves import LR_DECAYS

    factor = LR_DECAYS["garipov"]
    assert [factor(f) for f in (0.0, 0.5, 0.7, 0.9, 1.0)] == pytest.approx([1.0, 1.0, 0.505, 0.01, 0.01])
    plain = PolyChain(bends=2, steps=20, samples_per_step=3, stepper=SGD(lr=1e-5), seed=1)
    decayed = PolyChain(bends=2, steps=20, samples_per_step=3, stepper=SGD(lr=1e-5), seed=1, lr_decay="garipov")
    state = plain.init(Path.straight(mb.minima["A"], mb.minima["B"], 5), mb)
    for k in range(20):
        moved, moved_decayed = plain.step(state, mb), decayed.step(state, mb)
        np.testing.assert_allclose(
            moved_decayed.controls - state.controls,
            factor(k / 20) * (moved.controls - state.controls),
            rtol=1e-9,
            atol=1e-15,
        )
        state = moved
    with pytest.raises(LandscapeError, match="unknown lr_decay 'cosine'"):
        PolyChain(lr_decay="cosine")


def test_a_deleted_curve_path_takes_its_control_points_with_it(mb, tmp_path):
    """A path computed again (by another method, say) must not find the old curve's
    control points beside it."""
    from landscape import Store
    from landscape.runs.stored import connect_stored

    a, b = mb.minima["A"], mb.minima["B"]
    out = str(tmp_path / "store")
    connect_stored(out, mb, ("A", "B"), a, b, method="bezier", bends=2, steps=20, checkpoint_seconds=None)
    with Store.open(out) as store:
        assert "curve-controls-A-B" in store.describe()["groups"]
    with Store.write(out) as store:
        store.delete_path("A-B")
    with Store.open(out) as store:
        assert "curve-controls-A-B" not in store.describe()["groups"] and store.check() == []
