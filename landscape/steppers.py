"""Update rules on arrays: SGD with momentum, Adam and FIRE, each as init / update.

A stepper is an immutable configuration; its state is explicit data.  `update`
takes the current coordinates and the *force* (the descent direction, minus the
gradient of whatever is minimised) and returns new coordinates and state.  All maths
stays in the arrays' own namespace, branch-free, so a GPU path never syncs.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from .arrays import namespace as array_namespace
from .errors import LandscapeError
from .values import check_flag, check_number

__all__ = ["Stepper", "SGD", "Adam", "FIRE", "stepper_from_config"]

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
}


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

    def with_lr(self, lr: float) -> Stepper:
        """The same rule with another step size (AutoNEB schedules change it per cycle)."""
        return replace(self, lr=lr)  # type: ignore[type-var]

    @property
    def step_size(self) -> float:
        return float(getattr(self, "lr"))

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
        scalar = xp.zeros((), dtype=x.dtype, device=getattr(x, "device", None))
        return {"v": xp.zeros_like(x), "dt": scalar + self.lr, "a": scalar + self.a_start, "n": scalar}

    def update(self, x: Any, force: Any, state: Any) -> tuple[Any, Any]:
        xp = array_namespace(x)
        v, dt, a, n = state["v"], state["dt"], state["a"], state["n"]
        power = xp.sum(force * v)
        f_norm = xp.sqrt(xp.sum(force * force))
        v_norm = xp.sqrt(xp.sum(v * v))
        mixed = (1 - a) * v + a * force / xp.where(f_norm > 0, f_norm, xp.ones_like(f_norm)) * v_norm
        uphill = power <= 0
        grow = (~uphill) & (n > self.n_min)
        v = xp.where(uphill, xp.zeros_like(v), mixed)
        dt = xp.where(uphill, dt * self.f_dec, xp.where(grow, xp.minimum(dt * self.f_inc, xp.ones_like(dt) * self.dt_max), dt))
        a = xp.where(uphill, xp.ones_like(a) * self.a_start, xp.where(grow, a * self.f_a, a))
        n = xp.where(uphill, xp.zeros_like(n), n + 1)
        v = v + dt * force
        dx = dt * v
        dx_norm = xp.sqrt(xp.sum(dx * dx))
        scale = xp.where(dx_norm > self.max_step, self.max_step / xp.where(dx_norm > 0, dx_norm, xp.ones_like(dx_norm)), xp.ones_like(dx_norm))
        return x + scale * dx, {"v": v, "dt": dt, "a": a, "n": n}


_KINDS: dict[str, type[Stepper]] = {"sgd": SGD, "adam": Adam, "fire": FIRE}


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
