"""One call from two minima to a minimum energy path: `connect`.

Builds the optimizer from plain settings (what the CLI and the exploration layer
need), checks the endpoints, and runs the driver.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from landscape.foundations.arrays import device, namespace, to_numpy
from landscape.foundations.errors import LandscapeError
from landscape.foundations.memory import require_memory
from landscape.optimizers.autoneb import AutoNEB
from landscape.optimizers.band import ElasticBand
from landscape.optimizers.base import PathOptimizer
from landscape.optimizers.curves import CURVE_KINDS, Curve
from landscape.optimizers.driver import CycleCallback, StepCallback, optimize
from landscape.optimizers.hybrid import guarded_start
from landscape.optimizers.schedules import Schedule, get_schedule, with_climbing
from landscape.optimizers.steppers import SGD, Adam, Stepper
from landscape.paths.budget import Budget
from landscape.paths.host import host_job
from landscape.paths.path import Path
from landscape.paths.result import Result
from landscape.potentials.identity import points_digest
from landscape.potentials.potential import Potential, check_point
from landscape.runs.split import check_split, settle_basins

__all__ = ["METHODS", "make_optimizer", "with_protocol", "connect", "check_endpoints", "plan", "Plan"]

METHODS = ("neb", "string", "autoneb", *CURVE_KINDS)


#: Default stop of neb and string without fmax: the largest pivot force down to this
#: fraction of the starting path's.
DEFAULT_FRTOL = 1e-4


def make_optimizer(
    method: str = "autoneb",
    *,
    climb: bool = True,
    schedule: str | Schedule = "analytic",
    band: str = "string",
    spring: float | str = "auto",
    spring_min: float | None = None,
    stepper: Stepper | None = None,
    fmax: float | None = None,
    climb_after: int = 0,
    fault_check_every: int = 1,
    check_per_segment: int = 9,
    check_all: bool = False,
    freeze: float | None = None,
    kinks: bool = False,
    unfold: bool = True,
    deterministic: bool = False,
    **autoneb: Any,
) -> PathOptimizer:
    """An optimizer from plain settings.

    For `neb` and `string`, `stepper` runs until the largest pivot force is at most
    `fmax` (default: `DEFAULT_FRTOL` times the starting path's) or the driver's budget is
    spent.  Its default is FIRE 2.0 (over the analytic surfaces of bench/bench_defaults.py
    it never failed where FIRE succeeded and needed 0.75x (NEB) and 0.38x (string) of
    FIRE's evaluations, geometric mean), except for NEB on a `deterministic` potential
    (`with_protocol` says which: no loss over data), where it is L-BFGS from the first
    step guarded by FIRE 2.0 (`hybrid.guarded_start`) with converged pivots held
    (`freeze` 1, `ElasticBand`): no failure on the analytic surfaces at 5, 9 and 17
    pivots and fewer force calls (docs/benchmarks.md).
    `freeze` (default: 1 for that fast NEB, else 0) sets per-image convergence, and
    `kinks` (NEB, default off) the springs' pull across a bent band (`ElasticBand.kinks`;
    measured in docs/benchmarks.md: fewer runs without success on random surfaces, more
    evaluations on smooth paths, so it is not the default); `unfold=False` (NEB) switches
    off the spreading of a band that folds back on itself (`ElasticBand.unfold`).  For `autoneb` the
    schedule sets the stepper of each cycle and `band` picks the inner method
    (`fmax` then ends a cycle early); `climb` switches the climbing image on in the
    final cycle unless the schedule marks cycles itself, and `climb=False` removes it.
    `fault_check_every` > 1 keeps a GPU step loop free of host syncs (see ElasticBand, Curve).
    `check_per_segment` sets the grid of points per segment of the check that a converged
    climber is the top of its path (ElasticBand), of which it evaluates the middles and
    then only the points that can reach the climber; `check_all` evaluates the whole grid.  `bezier` and `polychain`
    take `bends`, `steps`, `lr`, `samples_per_step`, `optimizer` ("adam" or "sgd"),
    `seed`, `objective`, `q`, `temperature` and `spread` (`_curve`); `climb` does not
    apply to them and is ignored.
    """
    if method not in METHODS:
        raise LandscapeError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if spring_min is not None and method != "neb":
        raise LandscapeError("spring_min (energy-weighted springs) applies to method neb only")
    if kinks and method != "neb":
        raise LandscapeError("kinks (the springs' pull across a bent band) applies to method neb only")
    if unfold is not True and method != "neb":
        raise LandscapeError("unfold (spreading a band that folds back) is a switch of method neb only")
    if check_all and method not in ("neb", "string"):
        raise LandscapeError(f"check_all (the climber check's whole grid) applies to neb and string, not {method}")
    if method in CURVE_KINDS:
        if stepper is not None or fmax is not None or freeze or spring != "auto":
            raise LandscapeError(f"stepper, fmax, freeze and spring apply to bands, not to {method}")
        unknown = sorted(set(autoneb) - _CURVE_SETTINGS)
        if unknown:
            raise LandscapeError(f"{', '.join(unknown)} does not apply to method {method}")
        checks = {"check_per_segment": check_per_segment, "fault_check_every": fault_check_every}
        return _curve(method, deterministic=deterministic, **checks, **autoneb)
    if method in ("neb", "string"):
        if autoneb:
            raise LandscapeError(f"{', '.join(sorted(autoneb))} applies to method autoneb only, not {method}")
        # Without a tolerance a band would spend its whole budget: stop it, scale-free.
        frtol = DEFAULT_FRTOL if fmax is None else None
        fast = deterministic and method == "neb"  # the measured fast default (see the docstring)
        if stepper is None and fast:
            stepper = guarded_start()
        band_stepper = {} if stepper is None else {"stepper": stepper}
        held = {"freeze": (1.0 if fast else 0.0) if freeze is None else freeze}
        return ElasticBand(
            method=method,
            spring=spring,
            spring_min=spring_min,
            **band_stepper,
            climb=climb,
            climb_after=climb_after,
            fmax=fmax,
            frtol=frtol,
            fault_check_every=fault_check_every,
            check_per_segment=check_per_segment,
            check_all=check_all,
            **held,
            kinks=bool(kinks),
            unfold=unfold,
        )
    sched = with_climbing(get_schedule(schedule) if isinstance(schedule, str) else schedule, climb)
    inner = ElasticBand(
        method=band, spring=spring, fmax=fmax, fault_check_every=fault_check_every, check_per_segment=check_per_segment
    )
    return AutoNEB(schedule=sched, band=inner, **autoneb)


_CURVE_SETTINGS = {"bends", "steps", "lr", "samples_per_step", "optimizer", "seed"}
_CURVE_SETTINGS |= {"objective", "q", "temperature", "spread"}  # what the curve is trained on


def _curve(
    method: str,
    *,
    bends: int = 1,
    steps: int = 1000,
    lr: float | None = None,
    samples_per_step: int = 8,
    optimizer: str = "adam",
    seed: int = 0,
    check_per_segment: int = 9,
    fault_check_every: int = 1,
    deterministic: bool = False,
    objective: str | None = None,
    spread: bool | None = None,
    **targeting: float,
) -> Curve:
    """A Bezier curve or polygonal chain (`landscape.optimizers.curves`) trained by
    `optimizer` ("adam", lr 0.01 by default, or "sgd", lr 0.01 with momentum 0.9) on
    `objective` (`q`, `temperature` in `targeting`): Garipov's mean energy by default; on a
    `deterministic` potential the softmax objective, with `spread` bends for a polychain
    of 2 or more, which approached Mueller-Brown's minimax as bends were added (docs/curves.md)."""
    rules = {"adam": lambda lr: Adam(lr=lr), "sgd": lambda lr: SGD(lr=lr, momentum=0.9)}
    if optimizer not in rules:
        raise LandscapeError(f"unknown optimizer {optimizer!r} for a curve; choose adam or sgd")
    return Curve(
        kind=method,
        bends=bends,
        steps=steps,
        samples_per_step=samples_per_step,
        stepper=rules[optimizer](0.01 if lr is None else lr),
        seed=seed,
        check_per_segment=check_per_segment,
        fault_check_every=fault_check_every,
        objective=objective or ("softmax" if deterministic else "mean"),
        spread=(deterministic and method == "polychain" and bends >= 2) if spread is None else spread,
        **targeting,
    )


def check_endpoints(potential: Potential, start: Any, end: Any) -> tuple[Any, Any]:
    """Endpoints as the potential's arrays, with one-line errors for bad ones."""
    ends = [check_point(potential, start, "start"), check_point(potential, end, "end")]
    if np.array_equal(ends[0], ends[1]):
        raise LandscapeError("start and end are the same point; there is no path to find")
    return potential.asarray(ends[0]), potential.asarray(ends[1])


def connect(
    potential: Potential,
    start: Any,
    end: Any,
    *,
    method: str = "autoneb",
    pivots: int | None = None,
    budget: Budget | None = None,
    progress: bool = False,
    on_cycle: Sequence[CycleCallback] = (),
    callbacks: Sequence[StepCallback] = (),
    check_every: int = 1,
    optimizer: PathOptimizer | None = None,
    split: int = 0,
    **settings: Any,
) -> Result:
    """The minimum energy path from `start` to `end` (points of the potential),
    from the straight line between them; see `plan` for the defaults.  `callbacks`
    see the state after every step (a log, say), as `optimize`'s do.

    `split` > 0 (a band: neb or string, on a deterministic potential): when the band
    spends its budget on a path through a basin, relax the basin to its minimum and run
    a band of as many pivots, with the same budget, on each side, adding at most `split`
    minima in all (`landscape.runs.split.settle_basins`)."""
    job = plan(potential, start, end, method=method, pivots=pivots, budget=budget, optimizer=optimizer, **settings)
    if split:
        check_split(potential, job.optimizer, split)
    stepped_on, start_path = host_job(potential, job.start_path)

    def run(path: Path) -> Result:
        return optimize(
            job.optimizer,
            stepped_on,
            path,
            budget=job.budget,
            progress=progress,
            on_cycle=on_cycle,
            callbacks=callbacks,
            check_every=check_every,
        )

    result = run(start_path)
    if not split:
        return result
    n = start_path.n_pivots

    def leg(a: Any, b: Any) -> Result:  # on the arrays the band steps on, whatever it returned
        return run(Path.straight(stepped_on.asarray(to_numpy(a)), stepped_on.asarray(to_numpy(b)), n))

    return settle_basins(stepped_on, result, leg, splits=split)


@dataclass(frozen=True, eq=False)
class Plan:
    """A checked connection job: the optimizer, the straight starting path, the budget."""

    optimizer: PathOptimizer
    start_path: Path
    budget: Budget
    via: tuple[Any, ...] = ()  # the points the starting path was drawn through, if any
    given: str | None = None  # digest of the caller's starting pivots (`initial`), used as they are

    @property
    def n_pivots(self) -> int:
        return self.start_path.n_pivots


#: More pivots than this is a typo, not a path: each is a full copy of the parameters.
MAX_PIVOTS = 10_000


def with_protocol(potential: Potential, method: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """`settings` with the default `connect` and `explore` share: a band or a curve on a
    deterministic potential runs as `make_optimizer(deterministic=True)` says (a curve's
    softmax objective; NEB's guarded L-BFGS with held pivots, except on a loss over data,
    where it fell behind FIRE 2.0: after 5,000 steps on the built-in `mlp` its path's top
    was 0.306 against 0.125, docs/cli.md)."""
    out = dict(settings)
    if method in ("neb", "string", *CURVE_KINDS):
        over_data = method == "neb" and potential.cost() is not None
        out.setdefault("deterministic", not potential.stochastic and not over_data)
    return out


def plan(
    potential: Potential,
    start: Any,
    end: Any,
    *,
    method: str = "autoneb",
    pivots: int | None = None,
    budget: Budget | None = None,
    optimizer: PathOptimizer | None = None,
    via: Sequence[Any] = (),
    initial: Any = None,
    **settings: Any,
) -> Plan:
    """Check the endpoints and settings and build the job `connect` runs.

    The starting path has `pivots` points (ends included; default 5 for AutoNEB,
    which inserts more, and 9 otherwise), evenly spaced along the straight line, or
    along the broken line through the points `via` (to start in another valley, as an
    initial path does in ASE), or `initial` itself: (k, dim) pivots from `start` to
    `end`, ends included, used as they are (an interpolation made elsewhere, an earlier
    run's path); a band without a schedule gets 5000 steps unless a budget says otherwise.
    """
    if isinstance(optimizer, str):  # a curve's update rule by name (make_optimizer's `optimizer`)
        settings["optimizer"], optimizer = optimizer, None
    a, b = check_endpoints(potential, start, end)
    if initial is not None:
        return _given_path(potential, a, b, initial, via, pivots, budget, optimizer, method, settings)
    through = [potential.asarray(check_point(potential, p, f"via {k + 1}")) for k, p in enumerate(via)]
    if optimizer is not None and settings:
        raise LandscapeError(f"give an optimizer or its settings ({', '.join(sorted(settings))}), not both")
    if optimizer is None:
        settings = with_protocol(potential, method, settings)
    opt = optimizer or make_optimizer(method, **settings)
    n = pivots if pivots is not None else (5 if isinstance(opt, AutoNEB) else 9)
    if not 3 <= n <= MAX_PIVOTS:
        raise LandscapeError(f"need 3 to {MAX_PIVOTS} pivots (ends included), got {n}")
    cap = getattr(opt, "max_pivots", None)
    if cap is not None and n > cap:
        raise LandscapeError(f"{n} starting pivots exceed the cap of {cap} (max_pivots)")
    if budget is None:  # a method of known length (a schedule, a curve's steps) stops by itself
        budget = Budget() if getattr(opt, "total_steps", None) is not None else Budget(max_steps=5000)
    _check_memory(potential, a, n, opt)
    _check_length([a, *through, b])
    if not through:
        return Plan(opt, Path.straight(a, b, n), budget)
    xp = namespace(a)
    corners = Path(xp.stack([a, *through, b]))
    t = np.linspace(0.0, 1.0, n)
    pivots = xp.concat([a[None], potential.asarray(corners.interpolate(t[1:-1])), b[None]])  # ends exactly
    return Plan(opt, Path(pivots), budget, tuple(through))


def _given_path(
    potential: Potential,
    a: Any,
    b: Any,
    initial: Any,
    via: Sequence[Any],
    pivots: int | None,
    budget: Budget | None,
    optimizer: PathOptimizer | None,
    method: str,
    settings: dict[str, Any],
) -> Plan:
    """The plan for a starting path given pivot by pivot (see `plan`)."""
    rows = np.asarray(to_numpy(initial), dtype=np.float64)
    if rows.ndim != 2 or rows.shape[1] != potential.dim or not 3 <= len(rows) <= MAX_PIVOTS:
        raise LandscapeError(
            f"an initial path needs 3 to {MAX_PIVOTS} pivots of {potential.dim} coordinates, got shape {rows.shape}"
        )
    if not np.all(np.isfinite(rows)):
        raise LandscapeError("the initial path holds NaN or infinite coordinates")
    _check_length(rows)
    if via or pivots is not None:
        raise LandscapeError("an initial path sets the pivots itself: give it without via or pivots")
    scale = max(1.0, float(np.max(np.abs(rows))))
    for label, row, end in (("first", rows[0], a), ("last", rows[-1], b)):
        if np.max(np.abs(row - np.asarray(to_numpy(end), dtype=np.float64))) > 1e-9 * scale:
            raise LandscapeError(
                f"the initial path's {label} pivot is not the {'start' if label == 'first' else 'end'}"
            )
    job = plan(potential, a, b, method=method, pivots=len(rows), budget=budget, optimizer=optimizer, **settings)
    interior = potential.asarray(rows[1:-1])
    xp = namespace(a)
    path = Path(xp.concat([a[None], interior, b[None]]))  # the ends exactly as checked
    return Plan(job.optimizer, path, job.budget, given=points_digest(rows))


def _check_length(corners: Sequence[Any]) -> None:
    """Refuse a starting path whose length overflows float64 (a `via` point at 1e300):
    its arc fractions would be NaN, and every step after them."""
    points = np.asarray([to_numpy(c) for c in corners], dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        length = float(np.sum(np.linalg.norm(np.diff(points, axis=0), axis=1)))
    if not np.isfinite(length):
        raise LandscapeError(
            "the starting path is too long to measure in float64 (a point too far out: "
            f"largest coordinate {float(np.max(np.abs(points))):.3g})"
        )


# Arrays a band keeps per pivot: pivots, gradients, forces, the stepper's velocity, and
# the previous state kept for fault rollback.
_COPIES = 6


def _check_memory(potential: Potential, a: Any, n: int, optimizer: PathOptimizer) -> None:
    """Refuse a band that cannot fit in host memory (AutoNEB: at its pivot cap, with
    the points it evaluates between pivots), before anything is allocated."""
    if device(a) != "cpu":
        return
    itemsize = int(getattr(a, "itemsize", 0) or a.element_size())
    cap = getattr(optimizer, "max_pivots", None) or n
    per_segment = int(getattr(optimizer, "per_segment", 0) or 0)
    points = max(n, cap) * _COPIES + (max(n, cap) - 1) * per_segment
    require_memory(
        f"a band of {max(n, cap)} pivots in {potential.dim} dimensions", float(points) * potential.dim * itemsize
    )
