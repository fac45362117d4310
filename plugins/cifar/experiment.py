"""The paper's CIFAR pipeline in one call: train minima, explore them, Table 1.

`run_experiment(store, Experiment(...))` builds the `cifar` potential, trains the
minima into `store` (crash-safe, `torchnet.trainrun`), explores them with AutoNEB
(`landscape.explore`, paper Algorithm 3), evaluates every path and the straight lines
and returns Table 1 (`report.table1`) with the time of each stage.  Each stage
continues what the store already holds, so running it again after a crash resumes.
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

__all__ = ["Experiment", "ExperimentResult", "run_experiment", "schedule_for"]


@dataclass(frozen=True)
class Experiment:
    """Settings of one run; `potential` holds `cifar` plugin options (model, data,
    subsets, device, ...), the rest the training recipe and the AutoNEB schedule.

    epochs, train_batch, lr, milestones: None keeps the paper's recipe for the model
        (milestones: fractions of the epochs at which the learning rate drops x0.1).
    preset: an AutoNEB preset of `recipes.AUTONEB_PRESETS` ("paper", "short", "tiny",
        "cpu") or a `Schedule`; `cycle_steps` rescales a preset's cycles to that many
        steps each (CPU runs).  `climb`: a climbing image in the last cycle (the paper
        has none).  `explore_seconds`: start no AutoNEB run after this long (device
        checks with a time limit; a later call continues).
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
    """(schedule, loss batch size or None) for a preset name or a ready `Schedule`."""
    from landscape.schedules import Cycle, Schedule

    from .recipes import autoneb_preset

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
    changes = {k: v for k, v in (("epochs", exp.epochs), ("batch_size", exp.train_batch), ("lr", exp.lr),
                                 ("milestones", exp.milestones)) if v is not None}
    return replace(config, **changes)


def run_experiment(store: str | os.PathLike[str], exp: Experiment, *, progress: bool = False,
                   log: Callable[[str], None] = print) -> ExperimentResult:
    """Train, explore and tabulate (see the module docstring)."""
    from landscape.connect import make_optimizer
    from landscape.explore import ExploreBudget, explore
    from landscape_plugins.torchnet.trainrun import store_description, train_stored

    from .potential import build_cifar
    from .report import table1

    options = dict(exp.potential)
    model = str(options.get("model", "resnet20"))
    schedule, batch = schedule_for(model, exp.preset, exp.cycle_steps)
    if batch is not None and not options.get("batch_size"):
        options["batch_size"] = batch
    seconds: dict[str, float] = {}
    began = time.perf_counter()
    potential = build_cifar(**options)
    seconds["build"] = time.perf_counter() - began
    config = _training_config(potential, exp)
    log(f"{model}: dim {potential.dim}, {len(potential.train_data)} train / {len(potential.test_data)} test images, "
        f"{exp.minima} minima x {config.epochs} epochs; AutoNEB '{schedule.name}' ({len(schedule.cycles)} cycles, "
        f"{schedule.total_steps} steps, batch {potential.sampler.batch_size})")
    t = time.perf_counter()
    training = train_stored(store, potential, exp.minima, config, seed=exp.seed, progress=progress,
                            description=store_description(potential, "cifar", options),
                            train_source=potential.training_source)
    seconds["train"] = time.perf_counter() - t
    log(f"trained {len(training.trained)} minima in {seconds['train']:.0f} s: "
        + ", ".join(f"{n}: train loss {v.get('train_loss', float('nan')):.4f}, test error "
                    f"{100 * v.get('test_error', float('nan')):.1f}%" for n, v in training.final.items()))
    t = time.perf_counter()
    settings: dict[str, Any] = {} if exp.max_pivots is None else {"max_pivots": exp.max_pivots}
    if str(potential.device).startswith("cuda"):
        settings["fault_check_every"] = 50  # no host sync between fault checks on a GPU
    optimizer = make_optimizer("autoneb", schedule=schedule, climb=exp.climb, **settings)
    exploration = explore(potential, None, store=store, optimizer=optimizer, pivots=exp.pivots, progress=progress,
                          budget=ExploreBudget(max_seconds=exp.explore_seconds),
                          tags={"experiment": asdict(replace(exp, preset=schedule.name))})
    seconds["explore"] = time.perf_counter() - t
    log(f"explored: {exploration.status.value}, {exploration.runs} AutoNEB runs, {len(exploration.edges)} pairs "
        f"in {seconds['explore']:.0f} s")
    t = time.perf_counter()
    table = table1(store, potential, per_segment=exp.per_segment, line_points=exp.line_points,
                   batch_size=exp.eval_batch, progress=log if progress else None)
    seconds["evaluate"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - began
    return ExperimentResult(table, seconds, exploration, training, potential)
