"""The paper's CIFAR pipeline in one call: train minima, explore them, Table 1.

`run_experiment(store, Experiment(...))` builds the `cifar` potential, trains the
minima into `store` (crash-safe, `torchnet.trainrun`), explores them with AutoNEB
(`landscape.exploration`, paper Algorithm 3), evaluates every path and the straight lines
and returns Table 1 (`report.table1`) with the time of each stage.  Each stage
continues what the store already holds, so running it again after a crash resumes.
The stages are functions of their own (`prepare`, `train`, `explore_paths`,
`tabulate`), for callers that check a clock between them (bench/gpu_paper.py).
`landscape train cifar` / `landscape explore` / `landscape report-table` are the same
steps on the command line.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from landscape.foundations.errors import LandscapeError

__all__ = [
    "Experiment",
    "ExperimentResult",
    "Setup",
    "prepare",
    "train",
    "explore_paths",
    "tabulate",
    "run_experiment",
    "schedule_for",
]


@dataclass(frozen=True)
class Experiment:
    """Settings of one run; `potential` holds `cifar` plugin options (model, data,
    subsets, device, ...), the rest the training recipe and the AutoNEB schedule.

    epochs, train_batch, lr, milestones: None keeps the paper's recipe for the model
        (milestones: fractions of the epochs at which the learning rate drops x0.1).
    preset: an AutoNEB preset of `recipes.AUTONEB_PRESETS` ("paper", "short", "tiny",
        "cpu") or a `Schedule`; `cycle_steps` rescales a preset's cycles to that many
        steps each (CPU runs).  Or a curve preset (`curve_presets.CURVE_PRESETS`,
        "bezier", or a `CurvePreset`): each pair is connected by that trained curve,
        stored at its `pivots` (`pivots` here, when given, instead).  `climb`: a
        climbing image in the last cycle (the paper has none).  `explore_seconds`: start
        no path run after this long (device checks with a time limit; a later call
        continues).
    """

    potential: dict[str, Any] = field(default_factory=dict)
    minima: int = 3
    seed: int = 0
    epochs: int | None = None
    train_batch: int | None = None
    lr: float | None = None
    milestones: tuple[float, ...] | None = None
    preset: Any = "paper"
    cycle_steps: int | None = None
    pivots: int | None = None
    climb: bool = False
    max_pivots: int | None = None
    per_segment: int = 9
    line_points: int = 19
    eval_batch: int = 1024
    explore_seconds: float | None = None


@dataclass(frozen=True)
class ExperimentResult:
    """Table 1 plus what each stage cost (seconds), the exploration and training
    outcomes, and the potential (for further measurements)."""

    table: Any
    seconds: dict[str, float]
    exploration: Any
    training: Any
    potential: Any = None


def schedule_for(model: str, preset: Any, cycle_steps: int | None = None) -> tuple[Any, int | None]:
    """(schedule, loss batch size or None) for a preset name or a ready `Schedule`; for a
    curve preset (`curve_presets`) the `CurvePreset` in place of the schedule."""
    from landscape.optimizers.schedules import Cycle, Schedule

    from .curve_presets import CurvePreset, curve_preset, is_curve
    from .recipes import autoneb_preset

    if is_curve(preset):
        if cycle_steps is not None:
            raise LandscapeError("cycle_steps applies to AutoNEB presets, not to a curve preset")
        return (preset, None) if isinstance(preset, CurvePreset) else curve_preset(model, str(preset))
    if isinstance(preset, Schedule):
        schedule, batch = preset, None
    else:
        schedule, batch = autoneb_preset(model, str(preset))
    if cycle_steps is not None:
        if cycle_steps < 1:
            raise LandscapeError(f"cycle_steps must be >= 1, got {cycle_steps}")
        cycles = tuple(Cycle(cycle_steps, c.stepper, c.climb) for c in schedule.cycles)
        schedule = replace(schedule, name=f"{schedule.name}-{cycle_steps}", cycles=cycles)
    return schedule, batch


def _training_config(potential: Any, exp: Experiment) -> Any:
    config = potential.training_config()
    changes = {
        k: v
        for k, v in (
            ("epochs", exp.epochs),
            ("batch_size", exp.train_batch),
            ("lr", exp.lr),
            ("milestones", exp.milestones),
        )
        if v is not None
    }
    return replace(config, **changes)


@dataclass(frozen=True, eq=False)
class Setup:
    """What the stages of one experiment share: the built potential, its plugin options,
    the AutoNEB schedule (or curve preset) and the training recipe."""

    potential: Any
    options: dict[str, Any]
    schedule: Any
    config: Any


def prepare(exp: Experiment) -> Setup:
    """Build the `cifar` potential of `exp` (its images decoded once, onto its device),
    with the schedule's loss batch unless the options name one."""
    from .potential import build_cifar

    options = dict(exp.potential)
    schedule, batch = schedule_for(str(options.get("model", "resnet20")), exp.preset, exp.cycle_steps)
    if batch is not None and not options.get("batch_size"):
        options["batch_size"] = batch
    potential = build_cifar(**options)
    return Setup(potential, options, schedule, _training_config(potential, exp))


def train(
    store: str | os.PathLike[str],
    setup: Setup,
    exp: Experiment,
    *,
    minima: int | None = None,
    progress: bool = False,
    after_commit: Callable[[str, int], None] | None = None,
    **options: Any,
) -> Any:
    """Train minima "0".."minima-1" (default `exp.minima`) into `store`, continuing what it
    holds (`torchnet.trainrun.train_stored`; `after_commit(name, epoch)` after every commit;
    further `options` go to `train_stored` as they are)."""
    from landscape_plugins.torchnet.trainrun import store_description, train_stored

    pot = setup.potential
    return train_stored(
        store,
        pot,
        exp.minima if minima is None else minima,
        setup.config,
        seed=exp.seed,
        progress=progress,
        description=store_description(pot, "cifar", setup.options),
        train_source=pot.training_source,
        after_commit=after_commit,
        **options,
    )


def explore_paths(
    store: str | os.PathLike[str],
    setup: Setup,
    exp: Experiment,
    *,
    budget: Any = None,
    executor: Any = None,
    progress: bool = False,
) -> Any:
    """AutoNEB between the stored minima (`landscape.exploration`, Algorithm 3), continuing
    what the store holds; `budget` an `ExploreBudget` (default: `exp.explore_seconds`)."""
    from landscape import ExploreBudget, explore, make_optimizer

    from .curve_presets import is_curve

    pivots = exp.pivots
    # no host sync between fault checks on a GPU
    checks = {"fault_check_every": 50} if str(setup.potential.device).startswith("cuda") else {}
    if is_curve(setup.schedule):  # a trained curve per pair, stored at its pivots
        optimizer = replace(setup.schedule.optimizer(seed=exp.seed), **checks)
        pivots = pivots or setup.schedule.pivots
    else:
        settings: dict[str, Any] = {} if exp.max_pivots is None else {"max_pivots": exp.max_pivots}
        optimizer = make_optimizer("autoneb", schedule=setup.schedule, climb=exp.climb, **settings, **checks)
    return explore(
        setup.potential,
        None,
        store=store,
        optimizer=optimizer,
        pivots=pivots,
        progress=progress,
        budget=budget or ExploreBudget(max_seconds=exp.explore_seconds),
        executor=executor,
        tags={"experiment": asdict(replace(exp, preset=setup.schedule.name))},
    )


def tabulate(
    store: str | os.PathLike[str],
    setup: Setup,
    exp: Experiment,
    *,
    progress: Callable[[str], None] | None = None,
    on_batch: Callable[[], None] | None = None,
) -> Any:
    """Table 1 of the store (`report.table1`), evaluating what it lacks;
    `progress(message)` hears of each evaluation before it runs, `on_batch()` is run
    between the batches inside one (raising there stops it, nothing of it stored)."""
    from .report import table1

    return table1(
        store,
        setup.potential,
        per_segment=exp.per_segment,
        line_points=exp.line_points,
        batch_size=exp.eval_batch,
        progress=progress,
        on_batch=on_batch,
    )


def run_experiment(
    store: str | os.PathLike[str], exp: Experiment, *, progress: bool = False, log: Callable[[str], None] = print
) -> ExperimentResult:
    """Train, explore and tabulate (see the module docstring)."""
    seconds: dict[str, float] = {}
    began = time.perf_counter()
    setup = prepare(exp)
    potential, schedule, config = setup.potential, setup.schedule, setup.config
    seconds["build"] = time.perf_counter() - began
    from .curve_presets import is_curve

    batch = potential.sampler.batch_size
    paths = (
        schedule.describe(batch)
        if is_curve(schedule)
        else f"AutoNEB '{schedule.name}' ({len(schedule.cycles)} cycles, {schedule.total_steps} steps, batch {batch})"
    )
    log(
        f"{potential.model}: dim {potential.dim}, {len(potential.train_data)} train / {len(potential.test_data)} "
        f"test images, {exp.minima} minima x {config.epochs} epochs; {paths}"
    )
    t = time.perf_counter()
    training = train(store, setup, exp, progress=progress)
    seconds["train"] = time.perf_counter() - t
    log(
        f"trained {len(training.trained)} minima in {seconds['train']:.0f} s: "
        + ", ".join(
            f"{n}: train loss {v.get('train_loss', float('nan')):.4f}, test error "
            f"{100 * v.get('test_error', float('nan')):.1f}%"
            for n, v in training.final.items()
        )
    )
    t = time.perf_counter()
    exploration = explore_paths(store, setup, exp, progress=progress)
    seconds["explore"] = time.perf_counter() - t
    log(
        f"explored: {exploration.status.value}, {exploration.runs} path runs, {len(exploration.edges)} pairs "
        f"in {seconds['explore']:.0f} s"
    )
    t = time.perf_counter()
    table = tabulate(store, setup, exp, progress=log if progress else None)
    seconds["evaluate"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - began
    return ExperimentResult(table, seconds, exploration, training, potential)
