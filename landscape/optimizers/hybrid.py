"""FIRE 2.0 handed to L-BFGS near the path, and its guarded L-BFGS start (`guarded_start`),
the default NEB stepper on deterministic potentials.

A composed stepper: both rules' states live side by side in one flat state (keys
"1.*" and "2.*", as a band's snapshot stores them), and a 0-d phase says which rule
moves the band, so the step stays branch-free and a GPU path never syncs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from landscape.foundations.arrays import namespace as array_namespace
from landscape.foundations.errors import LandscapeError
from landscape.foundations.values import check_number
from landscape.optimizers.steppers import (
    FIRE2,
    LBFGS,
    Stepper,
    _norm,
    _scalar,
    register_stepper,
    stepper_from_config,
)

__all__ = ["Hybrid", "guarded_start"]


@register_stepper
@dataclass(frozen=True)
class Hybrid(Stepper):
    """FIRE 2.0 (`first`) until the band's force norm is down to `near` x the first
    step's, then L-BFGS (`then`, fresh memory); back to FIRE 2.0 (from rest, for good)
    after `resets` cuts of L-BFGS's trust radius (each a step whose force grew by half),
    from the band L-BFGS was handed when the force is now above that band's.

    `start="lbfgs"` (NEB's default on a deterministic potential through `guarded_start`;
    measured in docs/benchmarks.md) runs L-BFGS from the first step, guarded: a cut of
    its radius before the force is down to `trust` x the first step's sends the band
    back to the band it started from (a held pivot stays where it is), with FIRE 2.0 from
    rest and the flow above; once the force is that low, the flow above goes on from L-BFGS.
    A rejected step (a fault: `recover`) goes on as FIRE 2.0 from rest, never as L-BFGS.

    Why: L-BFGS needs far fewer force calls once its model fits, near the path; far from
    it a 5-pivot band ran out of its valley to E = 3e3, where FIRE 2.0 never failed
    (docs/benchmarks.md); the guarded start saves FIRE 2.0's steps where L-BFGS behaves
    (the EMT hop: 58 calls against the FIRE 2.0 start's 73, both with L-BFGS's fixed first
    step) and goes back to FIRE 2.0's start where it does not.  Branch-free (both rules
    every step, the phase a 0-d array: -1 guarded L-BFGS, 0 FIRE 2.0, 1 L-BFGS, 2 FIRE 2.0
    for good).  Not for mini-batch losses: L-BFGS's pairs assume a deterministic force."""

    first: Any = field(default_factory=lambda: FIRE2())
    then: Any = field(default_factory=lambda: LBFGS())
    near: float = 0.3  # by measurement: bench/bench_defaults.py, docs/benchmarks.md
    resets: int = 4
    start: str = "fire2"
    trust: float = 0.1
    kind: str = "fire2-lbfgs"

    def __post_init__(self) -> None:
        for name, cls in (("first", FIRE2), ("then", LBFGS)):  # from a config: the inner steppers' own
            value = getattr(self, name)
            if isinstance(value, dict):
                value = stepper_from_config(value)
                object.__setattr__(self, name, value)
            if not isinstance(value, cls):
                raise LandscapeError(f"{self.kind} {name} must be a {cls.kind} stepper, got {value!r}")
        check_number(f"{self.kind} near", self.near, lambda v: 0 <= v < 1, "in [0, 1)")
        check_number(f"{self.kind} trust", self.trust, lambda v: 0 <= v < 1, "in [0, 1)")
        check_number(f"{self.kind} resets", self.resets, lambda v: v >= 1, ">= 1", integer=True)
        if self.start not in ("fire2", "lbfgs"):
            raise LandscapeError(f"{self.kind} start must be fire2 or lbfgs, got {self.start!r}")

    def init(self, x: Any) -> Any:
        xp = array_namespace(x)
        scalar = _scalar(xp, x)
        return {
            **_prefixed("1.", self.first.init(x)),
            **_prefixed("2.", self.then.init(x)),
            "phase": scalar - (1.0 if self.start == "lbfgs" else 0.0),
            "cuts": scalar,
            "f0": scalar - 1,
            "x0": xp.zeros_like(x),
            "fh": scalar - 1,
        }

    def update(self, x: Any, force: Any, state: Any) -> tuple[Any, Any]:
        xp = array_namespace(x)
        fire, lbfgs = _part(state, "1."), _part(state, "2.")
        phase, one, zero = state["phase"], xp.ones_like(state["phase"]), xp.zeros_like(state["phase"])
        f_norm = _norm(xp, force)
        first = state["f0"] < 0
        f0 = xp.where(first, f_norm, state["f0"])  # the first step's force
        x0 = xp.where(first, x, state["x0"] if "x0" in state else x)  # and its band (older snapshots hold none)
        x1, s1 = self.first.update(x, force, fire)
        x2, s2 = self.then.update(x, force, lbfgs)
        on = (phase == 1) | (phase == -1)  # L-BFGS moves the band
        cut = on & (s2["r"] < lbfgs["r"])
        cuts = state["cuts"] + xp.where(cut, one, zero)
        # A guarded L-BFGS start (-1) that cuts its radius before the force is down to
        # `trust` has left its valley: back to the first band, FIRE 2.0 from rest.
        back = (phase == -1) & cut
        rest = self.first.init(x)
        s1 = {k: xp.where(on | back, rest[k], v) for k, v in s1.items()}  # FIRE 2.0 waits at rest while L-BFGS runs
        fresh = self.then.restart(x, lbfgs)  # keeps the measured first curvature
        s2 = {k: xp.where(back, fresh[k], xp.where(on, v, lbfgs.get(k, v))) for k, v in s2.items()}
        # FIRE 2.0 hands over at `near`; the guarded start is trusted from `trust` on
        handed = ((phase == 0) & (f_norm <= self.near * f0)) | ((phase == -1) & (f_norm <= self.trust * f0))
        given_up = (phase == 1) & (cuts >= self.resets)
        # L-BFGS given up on a band with more force than the one it was handed goes back
        # to that band: its cut steps may have left the valley, and FIRE 2.0 with a
        # climber can run away from there (a Gaussian-mixture band to E = 1418).
        fh = state["fh"] if "fh" in state else -one  # -1: none yet (older snapshots hold none)
        worse = given_up & (fh >= 0) & (f_norm > fh)
        phase = xp.where(back, zero, xp.where(handed, one, xp.where(given_up, 2 * one, phase)))
        cuts = xp.where(back, zero, cuts)
        moved = xp.where(back | worse, x0, xp.where(on, x2, x1))
        taken = handed & ~back  # L-BFGS takes this band over: remember it and its force
        x0, fh = xp.where(taken, x, x0), xp.where(taken, f_norm, fh)
        return moved, {
            **_prefixed("1.", s1),
            **_prefixed("2.", s2),
            "phase": phase,
            "cuts": cuts,
            "f0": f0,
            "x0": x0,
            "fh": fh,
        }

    def hold(self, state: Any, moving: Any) -> Any:
        return {**state, **_prefixed("1.", self.first.hold(_part(state, "1."), moving))}

    def measured(self, state: Any, stiffness: float) -> Any:
        """L-BFGS's first inverse curvature from the band's stiffness (`LBFGS.measured`)."""
        return {**state, **_prefixed("2.", self.then.measured(_part(state, "2."), stiffness))}

    def restart(self, x: Any, state: Any) -> Any:
        """Fresh state for x that keeps L-BFGS's measured first inverse curvature."""
        return {**self.init(x), **_prefixed("2.", self.then.restart(x, _part(state, "2.")))}

    def recover(self, x: Any, state: Any) -> Any:
        """The restart after a rejected step: FIRE 2.0 from rest, never L-BFGS again at
        once (a guarded start goes on as FIRE 2.0's phase, L-BFGS handed a band is given
        up for good); the first step's force and band are kept.  Before, a rejected step
        restarted the guarded L-BFGS, even from FIRE 2.0 for good, whose next step was
        rejected again (two of 1,000 random surfaces ended so)."""
        xp = array_namespace(x)
        phase = state["phase"]
        fresh = self.restart(x, state)
        kept = {k: state[k] for k in ("f0", "x0", "fh", "cuts") if k in state}
        zero = xp.zeros_like(phase)
        recovered = xp.where(phase == -1, zero, xp.where(phase == 1, zero + 2, phase))
        return {**fresh, **kept, "phase": recovered}

    def with_lr(self, lr: float) -> Stepper:
        return replace(self, first=self.first.with_lr(lr))

    @property
    def step_size(self) -> float:
        return self.first.step_size

    def to_config(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "first": self.first.to_config(),
            "then": self.then.to_config(),
            "near": self.near,
            "resets": self.resets,
            # only for the guarded start: stored runs of the FIRE 2.0 start keep their identity
            **({"start": self.start, "trust": self.trust} if self.start != "fire2" else {}),
        }


def _prefixed(prefix: str, state: Any) -> dict[str, Any]:  # a part's state, flat (as snapshots store it)
    return {prefix + k: v for k, v in state.items()}


def _part(state: Any, prefix: str) -> dict[str, Any]:
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def guarded_start() -> Hybrid:
    """NEB's default stepper on a deterministic potential (`make_optimizer`, `connect
    --stepper lbfgs-guarded`): L-BFGS from the first step, sent back to the starting band
    with FIRE 2.0 when its radius is cut before the force is down to a tenth of the first
    step's.  Its first inverse curvature is 0.5 / the band's measured stiffness and its
    trust radius at most 0.4 (in place of lr 0.01 and 0.2).  Measured in
    docs/benchmarks.md: no failed run on the nine surfaces at 5, 9 and 17 pivots, 0 wrong
    saddles on 1,000 random surfaces, and fewer force calls on the EMT hop (51 against
    58), Mueller-Brown (178 against 212) and the nine surfaces."""
    return Hybrid(start="lbfgs", trust=0.1, then=LBFGS(max_step=0.4, curvature=0.5))
