"""A curve's fault check every `fault_check_every` steps: the steps are the same to the bit
whatever the cadence, a NaN at step k ends the run by step k + every on the curve of the
last check, and between checks the step loop reads nothing back from the arrays."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from landscape import Path
from landscape.foundations.errors import LandscapeError
from landscape.optimizers.curves import BezierCurve, PolyChain
from landscape.optimizers.driver import optimize
from landscape.optimizers.steppers import SGD, Adam
from landscape.paths.result import Status
from landscape.potentials.potential import Potential
from landscape.runs.pair import make_optimizer
from landscape_plugins.analytic.surfaces import MuellerBrown

MB = MuellerBrown()
A, B = MB.minima["A"], MB.minima["B"]


class Tilted(Potential):
    """Mueller-Brown plus a seeded random tilt per gradient call (a mini-batch loss
    whose `energy` evaluates on the last batch drawn, its stream position checkpointed)."""

    stochastic = True
    dim = 2

    def __init__(self) -> None:
        self.drawn, self.tilt = 0, np.zeros(2)

    def energy_and_gradient(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        self.drawn += 1
        self.tilt = np.random.default_rng((5, self.drawn)).normal(scale=20.0, size=2)
        e, g = MB.energy_and_gradient(x)
        return e + x @ self.tilt, g + self.tilt

    def energy(self, x: Any) -> np.ndarray:
        return MB.energy(x) + x @ self.tilt

    def checkpoint_state(self) -> dict[str, Any]:  # a resumed run draws on where it stopped
        return {"drawn": self.drawn, "tilt": self.tilt.tolist()}

    def restore_checkpoint_state(self, state: dict[str, Any]) -> None:
        self.drawn, self.tilt = int(state["drawn"]), np.array(state["tilt"])


class Poisoned(Potential):
    """`inner` with NaN energies and gradients at its `bad`-th gradient call (1-based: step
    `bad` of a curve, whose steps make one call each)."""

    def __init__(self, inner: Potential, bad: int) -> None:
        self.inner, self.bad, self.calls, self.dim = inner, bad, 0, 2
        self.stochastic = inner.stochastic

    def energy_and_gradient(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        self.calls += 1
        e, g = self.inner.energy_and_gradient(x)
        return (e * np.nan, g * np.nan) if self.calls == self.bad else (e, g)

    def energy(self, x: Any) -> np.ndarray:
        return self.inner.energy(x)


def curve(every: int, steps: int = 40, **settings: Any) -> PolyChain:
    return PolyChain(
        bends=3, steps=steps, samples_per_step=3, stepper=Adam(lr=0.02), fault_check_every=every, **settings
    )


@pytest.mark.parametrize("stochastic", [False, True])
def test_the_steps_are_the_same_to_the_bit_whatever_the_check_cadence(stochastic):
    runs = {}
    for every in (1, 7, 10):
        pot = Tilted() if stochastic else MB
        runs[every] = optimize(curve(every, objective="cvar"), pot, Path.straight(A, B, 7), per_segment=0)
    for run in runs.values():
        assert run.status is Status.SCHEDULE_DONE and run.state.finite is None and run.state.verified is None
        np.testing.assert_array_equal(run.state.controls, runs[1].state.controls)
        np.testing.assert_array_equal(run.path.pivots, runs[1].path.pivots)
        np.testing.assert_array_equal(run.path.energies, runs[1].path.energies)
        np.testing.assert_array_equal(run.history, runs[1].history)
        assert run.nfev == runs[1].nfev and run.state.loss == runs[1].state.loss


@pytest.mark.parametrize("stochastic", [False, True])
@pytest.mark.parametrize("every, bad, steps", [(1, 23, 60), (10, 23, 60), (10, 30, 60), (10, 23, 25), (4, 1, 60)])
def test_a_nan_at_step_k_ends_the_run_by_step_k_plus_every_on_the_last_checked_curve(stochastic, every, bad, steps):
    make = Tilted if stochastic else (lambda: MB)
    settings = dict(objective="cvar", sample_every=5 if stochastic else 0)
    clean, pot = curve(every, steps, **settings), make()
    states = [clean.init(Path.straight(A, B, 7), pot)]
    for _ in range(steps):
        states.append(clean.step(states[-1], pot))
    result = optimize(curve(every, steps, **settings), Poisoned(make(), bad), Path.straight(A, B, 7), per_segment=0)
    caught = min(math.ceil(bad / every) * every, steps)  # the first check after the NaN, or the end
    good = states[(bad - 1) // every * every]  # the last check before it
    assert result.status is Status.NUMERICAL_FAULT and result.nit == caught <= bad + every
    assert f"step {caught} refused" in result.message and "the curve is the last good one" in result.message
    np.testing.assert_array_equal(result.state.controls, good.controls)
    np.testing.assert_array_equal(result.path.pivots, good.path.pivots)
    assert np.all(np.isfinite(result.path.energies)) and result.state.sampled_at == good.sampled_at


def test_a_step_into_nan_on_the_pivots_is_refused_at_the_next_check():
    """The bends walk into NaN (only the pivots' energies see it, as in test_curves' hole):
    checked every 6 steps, the run ends on a curve 6 steps back, finite and checked."""

    class Holed(Potential):
        dim = 2

        def energy_and_gradient(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
            e, g = MB.energy_and_gradient(x)
            bad = x[:, 0] > 0.3
            return np.where(bad, np.nan, e), np.where(bad[:, None], np.nan, g)

    a, b = np.array([-0.558, 1.442]), np.array([0.2, 0.3])
    runs = {
        k: optimize(
            PolyChain(bends=2, steps=50, stepper=SGD(lr=1.0), fault_check_every=k), Holed(), Path.straight(a, b, 5)
        )
        for k in (1, 6)
    }
    assert all(r.status is Status.NUMERICAL_FAULT for r in runs.values())
    assert runs[6].nit % 6 == 0 and runs[1].nit <= runs[6].nit < runs[1].nit + 6
    assert np.all(np.isfinite(runs[6].path.energies)) and np.all(runs[6].state.controls[:, 0] <= 0.3)


def test_fault_check_every_is_one_line_checked_and_configured_only_when_set():
    with pytest.raises(LandscapeError, match="fault_check_every must be >= 1"):
        BezierCurve(fault_check_every=0)
    assert "fault_check_every" not in BezierCurve().to_config()
    assert BezierCurve(fault_check_every=50).to_config()["fault_check_every"] == 50


class TorchTilted(Potential):
    """`Tilted` in torch operations only (no host reads), on a torch generator: the
    curve's whole step runs on tensors.  Stochastic or not."""

    dim = 2

    def __init__(self, torch: Any, stochastic: bool) -> None:
        self.torch, self.stochastic, self.same_batch_energy = torch, stochastic, True
        self.gen = torch.Generator().manual_seed(3)
        self.tilt = torch.zeros(2, dtype=torch.float64)
        self.centre = torch.tensor([[-0.5, 1.5], [0.6, 0.0], [-0.05, 0.47]], dtype=torch.float64)
        self.depth = torch.tensor([-200.0, -100.0, -80.0], dtype=torch.float64)

    def asarray(self, x: Any) -> Any:
        return self.torch.as_tensor(np.asarray(x), dtype=self.torch.float64)

    def energy_and_gradient(self, x: Any) -> tuple[Any, Any]:
        if self.stochastic:
            self.tilt = self.torch.randn(2, generator=self.gen, dtype=self.torch.float64) * 20.0
        return self._at(x)

    def energy(self, x: Any) -> Any:
        return self._at(x)[0]

    def _at(self, x: Any) -> tuple[Any, Any]:
        d = x[:, None, :] - self.centre[None]  # (n, wells, 2)
        w = self.depth * self.torch.exp(-(d**2).sum(-1) / 0.1)
        return w.sum(1) + x @ self.tilt, (w[:, :, None] * (-2.0 * d / 0.1)).sum(1) + self.tilt


@pytest.mark.parametrize("stochastic", [False, True])
def test_the_step_loop_reads_the_arrays_once_per_fault_check(monkeypatch, stochastic):
    """Every way a torch tensor reaches the host is counted (bool, float, int, index,
    item, tolist, numpy, array): over 30 steps, one read per check and none in between."""
    torch = pytest.importorskip("torch")
    reads = []
    for name in ("__bool__", "__float__", "__int__", "__index__", "item", "tolist", "numpy", "__array__"):
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _original=original, _name=name, **kwargs):
            reads.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    pot = TorchTilted(torch, stochastic)
    for every in (1, 10, 30):
        c = BezierCurve(bends=2, steps=30, samples_per_step=4, stepper=Adam(lr=0.01), fault_check_every=every)
        state = c.init(Path.straight(pot.asarray(A), pot.asarray(B), 7), pot)
        reads.clear()
        for _ in range(30):
            state = c.step(state, pot)
        assert reads == ["__bool__"] * (30 // every), every
        assert state.fault is None and isinstance(state.loss, torch.Tensor) and state.loss.shape == ()


@pytest.mark.parametrize("stop", [30, 25])
def test_a_stored_curve_checked_every_10_steps_resumes_to_the_uninterrupted_result(tmp_path, stop):
    """Killed at a check (step 30) it resumes from there; killed between checks (step 25)
    it commits nothing unchecked and starts again; both end on the uninterrupted result."""
    from landscape.runs.stored import connect_stored

    settings = dict(method="polychain", bends=2, steps=60, samples_per_step=2, fault_check_every=10)
    settings["checkpoint_seconds"] = None
    whole = connect_stored(str(tmp_path / "whole"), Tilted(), ("A", "B"), A, B, **settings).result
    out = str(tmp_path / "store")
    halted = connect_stored(out, Tilted(), ("A", "B"), A, B, callbacks=[lambda s: s.nit == stop], **settings)
    assert halted.result.status is Status.INTERRUPTED
    run = connect_stored(out, Tilted(), ("A", "B"), A, B, **settings)
    assert run.resumed_from_step == (30 if stop == 30 else None) and run.result.status is Status.SCHEDULE_DONE
    np.testing.assert_array_equal(run.result.state.controls, whole.state.controls)
    np.testing.assert_array_equal(run.result.path.energies, whole.path.energies)
    assert run.result.nfev == whole.nfev
    assert make_optimizer("polychain", fault_check_every=10).fault_check_every == 10  # what the runs trained


def test_an_unchecked_state_without_a_checked_one_is_a_one_line_internal_error_not_an_assert():
    """The fallback invariant holds under `python -O` too (an `assert` would vanish there)."""
    c = curve(5)
    broken = replace(c.init(Path.straight(A, B, 7), MB), finite=np.bool_(False), verified=None)
    with pytest.raises(LandscapeError, match="^internal error: an unchecked curve state has no last checked state"):
        c._checked(broken)
