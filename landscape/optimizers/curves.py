"""Parametric curves trained on the loss at random points (Garipov et al. 2018).

A curve from A to B is C(t) = sum_j w_j(t) P_j over control points P_0 = A, P_1..P_K
(the trainable bends) and P_{K+1} = B.  `BezierCurve` takes Bernstein weights (one bend:
the quadratic Bezier curve); `PolyChain` takes piecewise-linear hat weights with the
bends at t = j/(K+1).  Each step draws `samples_per_step` t ~ U(0, 1), evaluates the
curve's points there as one batch, and moves the bends along minus the mean loss's
gradient, chained through the weights (the curve is linear in its control points:
grad P = W^T grad E / S).  The state's path is the curve at its pivots' equally
spaced t with their energies: on a deterministic potential evaluated after every step,
so the highest energy the driver records is real; on a mini-batch loss only at the
start, every `sample_every` steps and at the end (`settle`), since there n pivots cost
n forward passes of a batch per step, 15x a one-draw step's own samples at 15 pivots.
Between samplings the state's path is the last one sampled (`CurveState.sampled_at`).
No step reads the device: the loss stays a 0-d array and the finiteness of every step's
energies, gradients and pivots is accumulated there and read every `fault_check_every`
steps and at the end (`settle`); a fault ends the run on the last checked curve.

The t are drawn from a numpy generator seeded with (seed, step), so a run resumed from
its snapshot draws what the uninterrupted run drew, and a state is never mutated.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from math import ceil, comb
from typing import Any

import numpy as np

from landscape.foundations.arrays import device, to_numpy
from landscape.foundations.arrays import namespace as array_namespace
from landscape.foundations.errors import LandscapeError
from landscape.foundations.values import check_flag, check_number
from landscape.optimizers.base import PathOptimizer
from landscape.optimizers.curve_state import (
    CURVE_SNAPSHOT_ARRAYS,
    CURVE_SNAPSHOT_NUMBERS,
    CurveState,
    curve_restore,
    curve_snapshot,
)
from landscape.optimizers.steppers import Adam, Stepper
from landscape.paths.geometry import redistribute
from landscape.paths.path import Path
from landscape.paths.result import Status
from landscape.potentials.potential import Potential

__all__ = [
    "Curve",
    "BezierCurve",
    "PolyChain",
    "CurveState",
    "curve_weights",
    "CURVE_KINDS",
    "CURVE_OBJECTIVES",
    "LR_DECAYS",
    "CURVE_SNAPSHOT_ARRAYS",
    "CURVE_SNAPSHOT_NUMBERS",
]

CURVE_KINDS = ("bezier", "polychain")
CURVE_OBJECTIVES = ("mean", "cvar", "softmax")
#: The learning rate's factor at the fraction f of the steps done: "garipov" holds it for
#: half the steps, then falls linearly to 1% by 90% (Garipov et al. 2018's schedule).
LR_DECAYS = {
    "none": lambda f: 1.0,
    "garipov": lambda f: 1.0 if f <= 0.5 else max(0.01, 1.0 - 0.99 * (f - 0.5) / 0.4),
}


def curve_weights(kind: str, bends: int, t: Any) -> np.ndarray:
    """The weights (len(t), bends + 2) of the control points at the parameters `t` in
    [0, 1]: Bernstein polynomials of degree bends + 1, or the hat functions of the
    polygon whose corners sit at t = j / (bends + 1).  Rows sum to 1; t = 0 and t = 1
    give exactly the ends."""
    t = np.asarray(t, dtype=np.float64)
    n = bends + 1
    if kind == "bezier":
        j = np.arange(n + 1)
        coefficients = np.array([comb(n, k) for k in j], dtype=np.float64)
        return coefficients * t[:, None] ** j * (1.0 - t[:, None]) ** (n - j)
    if kind == "polychain":
        return np.maximum(0.0, 1.0 - np.abs(n * t[:, None] - np.arange(n + 1)))
    raise LandscapeError(f"unknown curve {kind!r}; choose one of {', '.join(CURVE_KINDS)}")


@dataclass(frozen=True)
class Curve(PathOptimizer):
    """A Bezier curve or polygonal chain with `bends` trainable control points.

    steps: training steps; the run ends after them (status schedule_done).
    samples_per_step: t per step (`draws`), evaluated as one batch of points.
    stepper: the update rule over the bends (Adam or SGD, `landscape.optimizers.steppers`);
        its force is minus the gradient of the objective at the step's samples.
    objective: "mean" (Garipov et al.), "cvar" (the mean of the highest ceil(q S) of the
        S sampled energies) or "softmax" (T log sum exp(E / T), T = `temperature` times the
        sampled energies' standard deviation, held constant within the step).
    spread: polychain only: after each update move the bends to equal arc length along
        the polygon (`landscape.paths.geometry.redistribute`).
    seed: the t of step k are drawn by numpy's generator seeded with (seed, k).
    lr_decay: the stepper's learning rate over the steps (`LR_DECAYS`: "none" or "garipov").
    sample_every: on a stochastic potential, evaluate the curve at its pivots every this
        many steps (0: only at the start and at the end), for progress to watch; the
        training does not depend on it.  A deterministic potential's every step.
    check_per_segment: points per pivot segment of the final profile (the driver's).
    fault_check_every: read whether the steps' energies, gradients and pivots were finite
        every this many steps (and at the end), as `ElasticBand`'s: in between nothing is
        read back from the device; a fault returns the curve of the last check.

    The curve starts with its control points on the starting path at arc fractions
    j / (bends + 1): on the straight line, the straight line itself, traversed at
    constant speed, for both kinds.  Energies are the potential's, so a network's
    BatchNorm is treated at a point of the curve as at any pivot of a band.
    """

    kind: str = "bezier"
    bends: int = 1
    steps: int = 1000
    samples_per_step: int = 8
    stepper: Stepper = field(default_factory=lambda: Adam(lr=0.01))
    seed: int = 0
    check_per_segment: int = 9
    objective: str = "mean"
    q: float = 0.25
    temperature: float = 0.25
    spread: bool = False
    sample_every: int = 0
    lr_decay: str = "none"
    fault_check_every: int = 1

    def __post_init__(self) -> None:
        if self.kind not in CURVE_KINDS:
            raise LandscapeError(f"unknown curve {self.kind!r}; choose one of {', '.join(CURVE_KINDS)}")
        check_number("bends", self.bends, lambda v: 1 <= v <= 1000, "from 1 to 1000", integer=True)
        check_number("steps", self.steps, lambda v: v >= 0, ">= 0", integer=True)
        check_number("samples_per_step", self.samples_per_step, lambda v: v >= 1, ">= 1", integer=True)
        check_number("seed", self.seed, lambda v: v >= 0, ">= 0", integer=True)
        check_number("sample_every", self.sample_every, lambda v: v >= 0, ">= 0", integer=True)
        check_number("fault_check_every", self.fault_check_every, lambda v: v >= 1, ">= 1", integer=True)
        check_number(
            "check_per_segment", self.check_per_segment, lambda v: 0 <= v <= 1000, "from 0 to 1000", integer=True
        )
        if self.objective not in CURVE_OBJECTIVES:
            raise LandscapeError(
                f"unknown curve objective {self.objective!r}; choose one of {', '.join(CURVE_OBJECTIVES)}"
            )
        check_number("q", self.q, lambda v: 0 < v <= 1, "in (0, 1]")
        check_number("temperature", self.temperature, lambda v: v > 0, "> 0")
        if check_flag("spread", self.spread) and self.kind != "polychain":
            raise LandscapeError("spread (bends at equal arc length) applies to a polychain, whose bends lie on it")
        if self.lr_decay not in LR_DECAYS:
            raise LandscapeError(f"unknown lr_decay {self.lr_decay!r}; choose one of {', '.join(LR_DECAYS)}")
        if not isinstance(self.stepper, Stepper):
            raise LandscapeError(f"stepper must be a Stepper, got {self.stepper!r}")

    @property
    def total_steps(self) -> int:
        """The run's length (the driver's progress bar; no other budget is needed)."""
        return self.steps

    # the curve ------------------------------------------------------------------
    def weights(self, t: Any) -> np.ndarray:
        """`curve_weights` of this curve."""
        return curve_weights(self.kind, self.bends, t)

    def points(self, controls: Any, t: Any) -> Any:
        """The curve's points (len(t), dim) at the parameters `t`, on the arrays of `controls`."""
        xp = array_namespace(controls)
        w = xp.asarray(self.weights(t), dtype=controls.dtype, device=device(controls))
        return w @ controls

    def start_controls(self, path: Path) -> Any:
        """Control points on `path` at arc fractions j / (bends + 1), its ends exactly."""
        xp = array_namespace(path.pivots)
        bends = path.interpolate(np.arange(1, self.bends + 1) / (self.bends + 1))
        return xp.concat([path.pivots[:1], bends, path.pivots[-1:]])

    def draws(self, nit: int) -> np.ndarray:
        """The t of step `nit` (0-based): u ~ U(0, 1) and 1 - u in pairs (antithetic), so
        the curve from B to A takes the mirror image of every step from A to B (with an
        even `samples_per_step`) and the mean over t has less variance."""
        u = np.random.default_rng((self.seed, nit)).random((self.samples_per_step + 1) // 2)
        return np.concatenate([u, 1.0 - u])[: self.samples_per_step]

    def objective_weights(self, energies: Any) -> tuple[Any, Any]:
        """The objective at the sampled `energies` (S,), 0-d on their device, and its gradient
        with respect to them (S,) (weights >= 0 summing to 1; softmax's temperature held constant)."""
        xp = array_namespace(energies)
        e = xp.astype(energies, xp.float64) if self.objective == "softmax" else energies
        s = e.shape[0]
        if self.objective == "mean":
            v = xp.ones_like(e) / s
        elif self.objective == "cvar":
            top = max(1, ceil(round(self.q * s, 9)))  # the highest ceil(q S), at least one
            ranks = xp.argsort(xp.argsort(-e, stable=True), stable=True)  # 0 for the highest
            v = xp.astype(ranks < top, e.dtype) / top
        else:
            spread = xp.std(e)
            scale = xp.where(spread > 0, self.temperature * spread, xp.ones_like(spread))
            z = xp.exp((e - xp.max(e)) / scale)
            v = z / xp.sum(z)
            return xp.max(e) + scale * xp.log(xp.sum(z)), xp.astype(v, energies.dtype)
        return xp.sum(v * e), v

    # PathOptimizer ----------------------------------------------------------------
    def init(self, path: Path, potential: Potential) -> CurveState:
        if path.n_pivots < 3:
            raise LandscapeError(f"a curve is sampled at 3 or more pivots (ends included), got {path.n_pivots}")
        controls = self.start_controls(path)
        known = None if potential.stochastic else path.energies
        sampled, nfev = self._sample(controls, path.n_pivots, potential, known)
        if not np.all(np.isfinite(to_numpy(sampled.energies))):
            raise LandscapeError("the starting curve has NaN or infinite energies")
        return CurveState(path=sampled, controls=controls, stepper_state=self.stepper.init(controls[1:-1]), nfev=nfev)

    def step(self, state: CurveState, potential: Potential) -> CurveState:
        w = self.step_weights(state)
        return self.advance(state, potential, w, *potential.energy_and_gradient(w @ state.controls))

    def step_weights(self, state: CurveState) -> Any:
        """The weights (S, bends + 2) of the step after `state`, on the controls' arrays:
        the step evaluates the points `step_weights(state) @ state.controls`."""
        controls = state.controls
        xp = array_namespace(controls)
        return xp.asarray(self.weights(self.draws(state.nit)), dtype=controls.dtype, device=device(controls))

    def advance(self, state: CurveState, potential: Potential, w: Any, energies: Any, gradients: Any) -> CurveState:
        """The step after `state` from the `energies` and `gradients` at its points
        `w @ state.controls` (`step_weights`), however they were evaluated (several
        curves at once: `landscape_plugins.torchnet.lockstep`); `potential` samples the pivots."""
        xp = array_namespace(state.controls)
        controls = state.controls
        nit, nfev = state.nit + 1, state.nfev + self.samples_per_step
        finite = xp.all(xp.isfinite(energies)) & xp.all(xp.isfinite(gradients))
        if state.finite is not None:  # steps since the last check: a non-finite value anywhere is a fault
            finite = state.finite & finite
        loss, v = self.objective_weights(energies)
        force = -(w[:, 1:-1].T @ (v[:, None] * gradients))  # minus the objective's gradient
        stepper = self.stepper
        if self.lr_decay != "none":
            stepper = stepper.with_lr(stepper.step_size * LR_DECAYS[self.lr_decay](state.nit / max(1, self.steps)))
        bends, stepper_state = stepper.update(controls[1:-1], force, state.stepper_state)
        controls = xp.concat([controls[:1], bends, controls[-1:]])
        if self.spread:  # the string method's step: corners back to equal arc length, ends kept
            controls = redistribute(controls)
        verified = state if state.finite is None else state.verified  # the last checked state
        moved = replace(state, controls=controls, stepper_state=stepper_state, nit=nit, nfev=nfev, loss=loss)
        # the pivots wait for `settle` (or the next sampling step) on a mini-batch loss
        if not potential.stochastic or (self.sample_every and nit % self.sample_every == 0):
            moved, pivots_finite = self._sampled(moved, potential)  # the path left behind must be sound too
            finite = finite & pivots_finite
        moved = replace(moved, finite=finite, verified=verified)
        return self._checked(moved) if nit % self.fault_check_every == 0 else moved

    def _checked(self, state: CurveState) -> CurveState:
        """`state` checked (one host read): itself, or its last checked state, refused."""
        if state.finite is None or bool(state.finite):
            return replace(state, finite=None, verified=None)
        good = state.verified
        if good is None:  # `advance` keeps the last checked state beside every unchecked one
            raise LandscapeError("internal error: an unchecked curve state has no last checked state to fall back to")
        since = f"step {good.nit + 1}" + ("" if good.nit + 1 == state.nit else f" to {state.nit}")
        fault = f"NaN or infinite energy or gradient at the samples or pivots of {since}"
        return replace(good, nit=state.nit, nfev=state.nfev, fault=fault)

    def settle(self, state: CurveState, potential: Potential) -> tuple[CurveState, tuple[Status, str] | None]:
        """The steps since the last fault check checked, and the curve of the last step at
        the pivots, where the steps left them unsampled."""
        if state.fault is None and state.finite is not None:
            state = self._checked(state)
        if state.fault is not None:
            return state, self.terminate(state)
        if state.sampled_at == state.nit:
            return state, None
        sampled, finite = self._sampled(state, potential)
        if not bool(finite):
            why = f"the curve after step {state.nit} has NaN or infinite energy at its pivots"
            where = f"the path is the curve after step {state.sampled_at}"
            return replace(state, nfev=sampled.nfev, fault=why), (Status.NUMERICAL_FAULT, f"{why}; {where}")
        return sampled, None

    def terminate(self, state: CurveState) -> tuple[Status, str] | None:
        if state.fault is not None:
            return Status.NUMERICAL_FAULT, f"step {state.nit} refused ({state.fault}); the curve is the last good one"
        if state.nit >= self.steps:
            return Status.SCHEDULE_DONE, f"{self.kind} curve with {self.bends} bend(s) trained {self.steps} steps"
        return None

    def snapshot(self, state: CurveState) -> tuple[dict[str, Any], dict[str, Any]] | None:
        return curve_snapshot(state)

    def restore(self, arrays: dict[str, Any], attrs: dict[str, Any], potential: Potential) -> CurveState:
        return curve_restore(arrays, attrs, potential, (self.bends + 2, potential.dim))

    def result_arrays(self, state: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The control points, kept beside the stored path (`PathOptimizer.result_arrays`)."""
        if not isinstance(state, CurveState):
            return None
        tau = np.arange(self.bends + 2) / (self.bends + 1)
        return {"controls": to_numpy(state.controls), "t": tau}, {"kind": self.kind, "bends": self.bends}

    def to_config(self) -> dict[str, Any]:
        config = {
            "method": self.kind,
            "bends": self.bends,
            "steps": self.steps,
            "samples_per_step": self.samples_per_step,
            "stepper": self.stepper.to_config(),
            "seed": self.seed,
            "check_per_segment": self.check_per_segment,
            "objective": self.objective,
            "q": self.q,
            "temperature": self.temperature,
            "spread": self.spread,
        }
        if self.sample_every:  # training does not depend on it (stores written before it match)
            config["sample_every"] = self.sample_every
        if self.lr_decay != "none":  # only when set: stores written before it match
            config["lr_decay"] = self.lr_decay
        if self.fault_check_every != 1:  # only when set: stores written before it match
            config["fault_check_every"] = self.fault_check_every
        return config

    # internals --------------------------------------------------------------------
    def _sampled(self, state: CurveState, potential: Potential) -> tuple[CurveState, Any]:
        """`state` with its path sampled from its control points, and whether the
        energies there are finite (0-d, on the device: not read here)."""
        known = None if potential.stochastic else state.path.energies
        sampled, spent = self._sample(state.controls, state.path.n_pivots, potential, known)
        xp = array_namespace(sampled.energies)
        finite = xp.all(xp.isfinite(sampled.energies))
        return replace(state, path=sampled, nfev=state.nfev + spent, sampled_at=state.nit), finite

    def _sample(self, controls: Any, n: int, potential: Potential, known: Any) -> tuple[Path, int]:
        """The curve at `n` equally spaced t with energies, and the points evaluated:
        the interior only when the ends' energies are `known` (a deterministic potential).
        A stochastic potential whose `energy` draws a batch of its own is put back where
        its stream stood, so that when the pivots are sampled changes no training step."""
        xp = array_namespace(controls)
        pivots = self.points(controls, np.linspace(0.0, 1.0, n))
        pivots = xp.concat([controls[:1], pivots[1:-1], controls[-1:]])  # the ends exactly
        if known is None:
            stream = potential.checkpoint_state() if not potential.same_batch_energy else None
            energies = potential.energy(pivots)
            if stream is not None:
                potential.restore_checkpoint_state(stream)
            return Path(pivots, energies), n
        inner = potential.energy(pivots[1:-1])
        return Path(pivots, xp.concat([known[:1], xp.astype(inner, known.dtype), known[-1:]])), n - 2


@dataclass(frozen=True)
class BezierCurve(Curve):
    """Bezier curve; with one bend (the default) the quadratic curve of Garipov et al."""

    kind: str = "bezier"


@dataclass(frozen=True)
class PolyChain(Curve):
    """Polygonal chain with `bends` corners equally spaced in t (Garipov et al.'s PolyChain)."""

    kind: str = "polychain"
