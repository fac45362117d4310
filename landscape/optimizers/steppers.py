"""Update rules on arrays: SGD with momentum, Adam, FIRE and FIRE 2.0, each as init / update.

A stepper is an immutable configuration; its state is explicit data.  `update`
takes the current coordinates and the *force* (the descent direction, minus the
gradient of whatever is minimised) and returns new coordinates and state.  All maths
stays in the arrays' own namespace, branch-free, so a GPU path never syncs.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from landscape.foundations.arrays import namespace as array_namespace
from landscape.foundations.errors import LandscapeError
from landscape.foundations.values import check_flag, check_number

__all__ = ["Stepper", "SGD", "Adam", "FIRE", "FIRE2", "LBFGS", "register_stepper", "stepper_from_config"]

# The allowed range of each numeric setting: a test and its words.
_RANGES: dict[str, tuple[Any, str]] = {
    "lr": (lambda v: v > 0, "> 0"),
    "momentum": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "weight_decay": (lambda v: v >= 0, ">= 0"),
    "beta1": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "beta2": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "eps": (lambda v: v > 0, "> 0"),
    "dt_max": (lambda v: v > 0, "> 0"),
    "max_step": (lambda v: v > 0, "> 0"),
    "n_min": (lambda v: v >= 0, ">= 0"),
    "f_inc": (lambda v: v >= 1, ">= 1"),
    "f_dec": (lambda v: 0 < v < 1, "in (0, 1)"),
    "a_start": (lambda v: 0 <= v <= 1, "in [0, 1]"),
    "f_a": (lambda v: 0 < v <= 1, "in (0, 1]"),
    "dt_min": (lambda v: v >= 0, ">= 0"),
    "memory": (lambda v: v >= 1, ">= 1"),
    "n_delay": (lambda v: v >= 0, ">= 0"),
    "force_growth": (lambda v: v >= 1, ">= 1"),
}


def _scalar(xp: Any, x: Any) -> Any:
    """A 0-d zero of x's dtype on x's device (a stepper's counters stay on the device)."""
    return xp.zeros((), dtype=x.dtype, device=getattr(x, "device", None))


def _norm(xp: Any, a: Any) -> Any:
    return xp.sqrt(xp.sum(a * a))


def _cap(xp: Any, norm: Any, largest: float) -> Any:
    """The factor that shrinks a step of `norm` to at most `largest` (1 when it is shorter)."""
    return xp.where(norm > largest, largest / xp.where(norm > 0, norm, xp.ones_like(norm)), xp.ones_like(norm))


def _at_rest(state: Any, moving: Any) -> Any:
    """A velocity stepper's state with the held rows' velocity zeroed: they start from rest."""
    return {**state, "v": array_namespace(state["v"]).where(moving, state["v"], 0 * state["v"])}


def _mix(xp: Any, v: Any, force: Any, a: Any) -> Any:
    """FIRE's velocity mixing: (1 - a) v + a |v| F / |F|."""
    f_norm = _norm(xp, force)
    return (1 - a) * v + a * force / xp.where(f_norm > 0, f_norm, xp.ones_like(f_norm)) * _norm(xp, v)


class Stepper(ABC):
    """Configuration of an update rule; states are tuples/dicts of arrays.

    Every setting is checked when a stepper is made (from Python or a schedule file):
    its type (a bool is no number, a number no bool), finiteness and its range
    (`_RANGES`), so "lr": Infinity or "dt_max": -1 is one clear error, not a run
    that diverges or stands still.
    """

    kind: str = "stepper"

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            value, what = getattr(self, f.name), f"{self.kind} {f.name}"
            if str(f.type) == "bool":
                check_flag(what, value)
            elif str(f.type) in ("int", "float"):
                check_number(what, value, *_RANGES.get(f.name, (None, "")), integer=str(f.type) == "int")

    @abstractmethod
    def init(self, x: Any) -> Any:
        """Fresh state for coordinates shaped like x."""

    @abstractmethod
    def update(self, x: Any, force: Any, state: Any) -> tuple[Any, Any]:
        """New coordinates and state after one step along `force`."""

    def hold(self, state: Any, moving: Any) -> Any:
        """The state after a step that moved only the rows where `moving` ((rows, 1) bools;
        `ElasticBand.freeze`); unchanged by default: the rule saw no force elsewhere."""
        return state

    def with_lr(self, lr: float) -> Stepper:
        """The same rule with another step size (AutoNEB schedules change it per cycle)."""
        return replace(self, lr=lr)  # type: ignore[type-var]

    @property
    def step_size(self) -> float:
        return float(self.lr)

    def to_config(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}  # type: ignore[call-overload]


@dataclass(frozen=True)
class SGD(Stepper):
    """Gradient descent with (optionally Nesterov) momentum, PyTorch's convention.

    `weight_decay` adds L2 regularisation lambda*x to the gradient explicitly, as the
    paper does (lambda = 1e-4); it is off by default so energies are the potential's.
    """

    lr: float = 0.01
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    kind: str = "sgd"

    def init(self, x: Any) -> Any:
        xp = array_namespace(x)
        return {"v": xp.zeros_like(x)}

    def update(self, x: Any, force: Any, state: Any) -> tuple[Any, Any]:
        g = -force + self.weight_decay * x if self.weight_decay else -force
        v = self.momentum * state["v"] + g
        d = g + self.momentum * v if self.nesterov else v
        return x - self.lr * d, {"v": v}


@dataclass(frozen=True)
class Adam(Stepper):
    """Adam (Kingma & Ba) with bias correction; L2 as explicit `weight_decay`."""

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    kind: str = "adam"

    def init(self, x: Any) -> Any:
        xp = array_namespace(x)
        return {"m": xp.zeros_like(x), "v": xp.zeros_like(x), "t": 0}

    def update(self, x: Any, force: Any, state: Any) -> tuple[Any, Any]:
        xp = array_namespace(x)
        g = -force + self.weight_decay * x if self.weight_decay else -force
        t = state["t"] + 1
        m = self.beta1 * state["m"] + (1 - self.beta1) * g
        v = self.beta2 * state["v"] + (1 - self.beta2) * g * g
        m_hat = m / (1 - self.beta1**t)
        v_hat = v / (1 - self.beta2**t)
        return x - self.lr * m_hat / (xp.sqrt(v_hat) + self.eps), {"m": m, "v": v, "t": t}


@dataclass(frozen=True)
class FIRE(Stepper):
    """Fast Inertial Relaxation Engine (Bitzek et al. 2006), ASE's parametrisation.

    The whole band is one system: power, mixing and the step cap use global norms.
    `lr` is the initial time step dt; `max_step` caps the norm of one update.
    Branches are written with `where` on 0-d arrays so nothing leaves the device.
    """

    lr: float = 0.1
    dt_max: float = 1.0
    max_step: float = 0.2
    n_min: int = 5
    f_inc: float = 1.1
    f_dec: float = 0.5
    a_start: float = 0.1
    f_a: float = 0.99
    kind: str = "fire"

    def init(self, x: Any) -> Any:
        xp = array_namespace(x)
        scalar = _scalar(xp, x)
        return {"v": xp.zeros_like(x), "dt": scalar + self.lr, "a": scalar + self.a_start, "n": scalar}

    def update(self, x: Any, force: Any, state: Any) -> tuple[Any, Any]:
        xp = array_namespace(x)
        v, dt, a, n = state["v"], state["dt"], state["a"], state["n"]
        mixed = _mix(xp, v, force, a)
        uphill = xp.sum(force * v) <= 0
        grow = (~uphill) & (n > self.n_min)
        v = xp.where(uphill, xp.zeros_like(v), mixed)
        dt = xp.where(
            uphill, dt * self.f_dec, xp.where(grow, xp.minimum(dt * self.f_inc, xp.ones_like(dt) * self.dt_max), dt)
        )
        a = xp.where(uphill, xp.ones_like(a) * self.a_start, xp.where(grow, a * self.f_a, a))
        n = xp.where(uphill, xp.zeros_like(n), n + 1)
        v = v + dt * force
        dx = dt * v
        return x + _cap(xp, _norm(xp, dx), self.max_step) * dx, {"v": v, "dt": dt, "a": a, "n": n}

    def hold(self, state: Any, moving: Any) -> Any:
        return _at_rest(state, moving)


@dataclass(frozen=True)
class FIRE2(Stepper):
    """FIRE 2.0 (Guenole, Noehring, Vaid, Houlle, Xie, Prakash and Bitzek 2020).

    What it corrects in FIRE: the velocity is updated before it is mixed with the force
    (semi-implicit Euler), so the mixing sees the new velocity; on an uphill step the
    coordinates go back by half a (reduced) time step times the velocity, undoing part
    of the overshoot, before the velocity is zeroed (the paper's Algorithm 2); the
    time step grows only after `n_delay` downhill steps, never shrinks below `dt_min`,
    and does not shrink during the first `n_delay` steps (an uphill start is common).
    `max_step` caps the norm of one update, as for FIRE; a capped step caps the
    velocity with it, so the step back stays in proportion to the step taken (an
    uncapped velocity sent Mueller-Brown's band to E = 1.4e5).  Branch-free, like FIRE.
    """

    lr: float = 0.1
    dt_max: float = 1.0
    dt_min: float = 0.002
    max_step: float = 0.2
    n_delay: int = 5
    f_inc: float = 1.1
    f_dec: float = 0.5
    a_start: float = 0.25
    f_a: float = 0.99
    kind: str = "fire2"

    def init(self, x: Any) -> Any:
        xp = array_namespace(x)
        scalar = _scalar(xp, x)
        return {"v": xp.zeros_like(x), "dt": scalar + self.lr, "a": scalar + self.a_start, "n": scalar, "i": scalar}

    def update(self, x: Any, force: Any, state: Any) -> tuple[Any, Any]:
        xp = array_namespace(x)
        v, dt, a, n, i = state["v"], state["dt"], state["a"], state["n"], state["i"] + 1
        one = xp.ones_like(dt)
        uphill = xp.sum(force * v) <= 0
        grow = (~uphill) & (n + 1 > self.n_delay)
        shrink = uphill & (i >= self.n_delay)  # no shrinking in the first steps
        dt = xp.where(
            grow,
            xp.minimum(dt * self.f_inc, one * self.dt_max),
            xp.where(shrink, xp.maximum(dt * self.f_dec, one * self.dt_min), dt),
        )
        a = xp.where(grow, a * self.f_a, xp.where(uphill, one * self.a_start, a))
        n = xp.where(uphill, xp.zeros_like(n), n + 1)
        x = xp.where(uphill, x - 0.5 * dt * v, x)  # back over part of the overshoot
        v = xp.where(uphill, xp.zeros_like(v), v)
        v = _mix(xp, v + dt * force, force, a)  # semi-implicit Euler: the velocity first, then the mixing
        v = _cap(xp, dt * _norm(xp, v), self.max_step) * v  # the velocity of the step taken
        return x + dt * v, {"v": v, "dt": dt, "a": a, "n": n, "i": i}

    def hold(self, state: Any, moving: Any) -> Any:
        return _at_rest(state, moving)


@dataclass(frozen=True)
class LBFGS(Stepper):
    """Limited-memory BFGS on the whole band at once, with a largest step: the global
    L-BFGS of Sheppard, Terrell and Henkelman (2008), who found it the NEB optimizer
    with the fewest force calls.

    The band's force is not the gradient of one function, so the curvature pairs are
    (step, minus the change of force); `lr` is the inverse curvature of the first step
    and after a reset; `memory` pairs are kept.  A direction that points against the
    force (uphill) resets the memory and steps along the force.  Pairs with no positive
    curvature are not stored.

    With no energy to line-search (NEB's forces have none), the force norm is the
    merit: when it grows by more than `force_growth` in one step the memory is reset
    and the trust radius (the largest step norm, at most `max_step`) halves; every
    other step it grows by 1.2.  Without this, NEB with soft springs on Mueller-Brown
    ran off to E = 8e4 (bench/bench_defaults.py has the side-by-side figures).

    `curvature` (None: off) sets the first step's inverse curvature to `curvature` over
    the stiffness a band measures on its starting path (`measured`, called by the band),
    in place of `lr`: a fixed `lr` is in the potential's units (eV/Å^2 or none), the
    stiffness is measured in them (docs/benchmarks.md, issue 26).
    """

    lr: float = 0.01
    memory: int = 20
    max_step: float = 0.2
    force_growth: float = 1.5
    curvature: float | None = None
    kind: str = "lbfgs"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.curvature is not None:
            check_number(f"{self.kind} curvature", self.curvature, lambda v: v > 0, "> 0")

    def measured(self, state: Any, stiffness: float) -> Any:
        """The state with its first inverse curvature `curvature` / `stiffness` (a band's
        measured secant stiffness); unchanged when `curvature` is None or nothing was measured."""
        if self.curvature is None or not (math.isfinite(stiffness) and stiffness > 0):
            return state
        return {**state, "h0": state["k"] + self.curvature / stiffness}

    def restart(self, x: Any, state: Any) -> Any:
        """Fresh state for x that keeps the measured first inverse curvature of `state`."""
        fresh = self.init(x)
        return {**fresh, "h0": state["h0"]} if "h0" in state else fresh

    def to_config(self) -> dict[str, Any]:
        config = super().to_config()
        if self.curvature is None:  # stored configs from before the field keep their identity
            del config["curvature"]
        return config

    def init(self, x: Any) -> Any:
        xp = array_namespace(x)
        zeros = xp.zeros((self.memory,) + tuple(x.shape), dtype=x.dtype, device=getattr(x, "device", None))
        scalar = _scalar(xp, x)
        return {
            "s": zeros,
            "y": xp.zeros_like(zeros),
            "rho": xp.zeros((self.memory,), dtype=x.dtype, device=getattr(x, "device", None)),
            "x": xp.zeros_like(x),
            "f": xp.zeros_like(x),
            "k": scalar,
            "r": scalar + self.max_step,
            "h0": scalar + self.lr,  # the first inverse curvature (`measured` may set it)
        }

    def update(self, x: Any, force: Any, state: Any) -> tuple[Any, Any]:
        xp = array_namespace(x)
        started = state["k"] > 0
        s_new, y_new = x - state["x"], state["f"] - force  # y: change of the gradient, minus that of the force
        sy = xp.sum(s_new * y_new)
        grew = started & (_norm(xp, force) > self.force_growth * _norm(xp, state["f"]))
        # Snapshots from before the trust radius hold none (the default is built only then).
        radius = state["r"] if "r" in state else _scalar(xp, x) + self.max_step
        radius = xp.where(grew, 0.5 * radius, xp.minimum(1.2 * radius, xp.ones_like(radius) * self.max_step))
        keep = started & (sy > 0) & ~grew
        s_hist = xp.where(keep, xp.concat([state["s"][1:], s_new[None]]), state["s"])
        y_hist = xp.where(keep, xp.concat([state["y"][1:], y_new[None]]), state["y"])
        rho_new = xp.where(keep, 1.0 / xp.where(sy > 0, sy, xp.ones_like(sy)), xp.zeros_like(sy))
        rho = xp.where(keep, xp.concat([state["rho"][1:], rho_new[None]]), state["rho"])
        rho = xp.where(grew, xp.zeros_like(rho), rho)  # the model misled: forget every pair
        h0 = state["h0"] if "h0" in state else _scalar(xp, x) + self.lr  # older snapshots hold none
        d = self._direction(xp, force, s_hist, y_hist, rho, h0)
        uphill = xp.sum(d * force) <= 0
        d = xp.where(uphill, h0 * force, d)
        rho = xp.where(uphill, xp.zeros_like(rho), rho)  # reset: forget every pair
        d = d * _cap(xp, _norm(xp, d), radius)
        moved = {"s": s_hist, "y": y_hist, "rho": rho, "x": x, "f": force, "k": state["k"] + 1, "r": radius}
        return x + d, {**moved, "h0": h0}

    def _direction(self, xp: Any, force: Any, s: Any, y: Any, rho: Any, h0: Any) -> Any:
        """H times the force by the two-loop recursion over the stored pairs (rho 0: empty)."""
        q = force
        alphas = []
        for j in range(self.memory - 1, -1, -1):
            alpha = rho[j] * xp.sum(s[j] * q)
            q = q - alpha * y[j]
            alphas.append(alpha)
        last = self.memory - 1
        yy = xp.sum(y[last] * y[last])
        gamma = xp.where(
            rho[last] > 0, 1.0 / xp.where(rho[last] > 0, rho[last] * yy, xp.ones_like(yy)), xp.ones_like(yy) * h0
        )
        r = gamma * q
        for j, alpha in zip(range(self.memory), reversed(alphas)):
            beta = rho[j] * xp.sum(y[j] * r)
            r = r + s[j] * (alpha - beta)
        return r


_KINDS: dict[str, type[Stepper]] = {"sgd": SGD, "adam": Adam, "fire": FIRE, "fire2": FIRE2, "lbfgs": LBFGS}


def register_stepper(cls: type[Stepper]) -> type[Stepper]:
    """Make `stepper_from_config` build `cls` for its `kind` (composed steppers live in
    modules of their own, `landscape.optimizers.hybrid`); a class decorator."""
    _KINDS[cls.kind] = cls
    return cls


def stepper_from_config(config: dict[str, Any]) -> Stepper:
    """Rebuild a stepper from `to_config()` output (schedules in JSON files use this)."""
    if not isinstance(config, dict):
        raise LandscapeError(f"a stepper is a JSON object with a 'kind', got {config!r}")
    config = dict(config)
    kind = config.pop("kind", None)
    if kind not in _KINDS:
        raise LandscapeError(f"unknown stepper {kind!r}; choose one of {', '.join(_KINDS)}")
    cls = _KINDS[kind]
    try:
        return cls(**config)
    except TypeError as exc:
        raise LandscapeError(f"bad settings for stepper {kind!r}: {exc}") from None
