"""AutoNEB schedules: a sequence of cycles, each with its own steps, step size and stepper.

Named presets ship with the library (`paper` is Draxler et al.'s 14-cycle schedule);
a JSON file with the same fields defines a custom one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path as FilePath
from typing import Any

from landscape.foundations.errors import LandscapeError
from landscape.foundations.files import readable_file
from landscape.foundations.values import check_flag, check_number
from landscape.optimizers.steppers import FIRE, SGD, Stepper, stepper_from_config

__all__ = ["Cycle", "Schedule", "PRESETS", "get_schedule", "load_schedule", "with_climbing", "levelled"]


#: A cycle longer than this is a typo (the paper's longest has 2,000 steps).
MAX_CYCLE_STEPS = 10_000_000


@dataclass(frozen=True)
class Cycle:
    """One AutoNEB cycle: `steps` iterations of `stepper` (its lr set per cycle)."""

    steps: int
    stepper: Stepper
    climb: bool = False

    def __post_init__(self) -> None:
        check_number(
            "a cycle's steps", self.steps, lambda n: 1 <= n <= MAX_CYCLE_STEPS, f"1 to {MAX_CYCLE_STEPS}", integer=True
        )
        check_flag("a cycle's climb", self.climb)
        if not self.stepper.step_size > 0:
            raise LandscapeError(f"a cycle needs a positive learning rate, got {self.stepper.step_size}")

    def to_config(self) -> dict[str, Any]:
        return {"steps": self.steps, "climb": self.climb, "stepper": self.stepper.to_config()}


@dataclass(frozen=True)
class Schedule:
    """Cycles plus the insertion rule they were tuned with.

    After each cycle the energy is evaluated at `per_segment` points between
    neighbouring pivots and a pivot is inserted where it exceeds the straight line
    between them by more than `threshold` times the energy range along the path.

    With `level_window` > 0 a cycle also ends once the band has levelled off: at a
    multiple of `level_window` steps, when the mean over the last window of the highest
    pivot energy (the energies the band computes anyway, so it costs no evaluation)
    fell by less than `level_tol` (relative) from the window before (`levelled`).
    A cycle's `steps` is then its cap.
    """

    name: str
    cycles: tuple[Cycle, ...] = field(default_factory=tuple)
    threshold: float = 0.2
    per_segment: int = 9
    level_window: int = 0
    level_tol: float = 0.02

    def __post_init__(self) -> None:
        if not self.cycles:
            raise LandscapeError(f"schedule {self.name!r} has no cycles")
        check_number("per_segment", self.per_segment, lambda n: 1 <= n <= 1000, "from 1 to 1000", integer=True)
        check_number("threshold", self.threshold, lambda v: v >= 0, ">= 0")
        check_number(
            "level_window",
            self.level_window,
            lambda n: 0 <= n <= MAX_CYCLE_STEPS,
            f"0 (off) to {MAX_CYCLE_STEPS}",
            integer=True,
        )
        check_number("level_tol", self.level_tol, lambda v: 0 <= v < 1, "in [0, 1)")

    @property
    def total_steps(self) -> int:
        return sum(c.steps for c in self.cycles)

    def to_config(self) -> dict[str, Any]:
        # The levelling keys only when set: configs (and stored runs) without it stay as they were.
        level = {"level_window": self.level_window, "level_tol": self.level_tol} if self.level_window else {}
        return {
            "name": self.name,
            "threshold": self.threshold,
            "per_segment": self.per_segment,
            **level,
            "cycles": [c.to_config() for c in self.cycles],
        }

    @classmethod
    def from_config(cls, config: Any, name: str = "custom") -> Schedule:
        if not isinstance(config, dict) or not isinstance(config.get("cycles"), list):
            raise LandscapeError("a schedule is a JSON object with a list 'cycles'")
        cycles = []
        for k, c in enumerate(config["cycles"]):
            if not isinstance(c, dict) or "steps" not in c or "stepper" not in c:
                raise LandscapeError(f"schedule cycle {k} needs 'steps' and 'stepper'")
            cycles.append(Cycle(c["steps"], stepper_from_config(c["stepper"]), c.get("climb", False)))
        extra = {k: config[k] for k in ("threshold", "per_segment", "level_window", "level_tol") if k in config}
        try:
            return cls(str(config.get("name", name)), tuple(cycles), **extra)
        except TypeError as exc:
            raise LandscapeError(f"bad schedule settings: {exc}") from None


def levelled(trace: Any, window: int, tol: float) -> bool:
    """Whether a cycle's per-step highest energies `trace` have levelled off: the mean of
    the last `window` fell by less than `tol` (relative to its size) from the mean of the
    `window` before.  Window means, because a mini-batch energy is noisy step by step.

    >>> levelled([4.0, 4.0, 2.0, 2.0], 2, 0.1), levelled([4.0, 4.0, 3.9, 3.7], 2, 0.1)
    (False, True)
    """
    import numpy as np

    values = np.asarray(trace, dtype=float)
    if window < 1 or values.size < 2 * window:
        return False
    last, before = values[-window:].mean(), values[-2 * window : -window].mean()
    return bool(before - last < tol * abs(before))


def _paper(weight_decay: float = 1e-4) -> Schedule:
    """Draxler et al. 2018, section 4.1: SGD momentum 0.9, L2 1e-4, 14 cycles."""
    sgd = SGD(lr=0.1, momentum=0.9, weight_decay=weight_decay)
    plan = [(1000, 0.1)] * 4 + [(2000, 0.1)] * 2 + [(1000, 0.01)] * 4 + [(1000, 0.001)] * 4
    return Schedule("paper", tuple(Cycle(n, sgd.with_lr(lr)) for n, lr in plan))


def _analytic() -> Schedule:
    """For analytic surfaces: FIRE cycles that insert pivots finely (2% of the energy
    range), then a climbing cycle that puts the highest pivot on the saddle."""
    fire = FIRE(lr=0.002, dt_max=0.02, max_step=0.05)
    plan = [Cycle(100, fire), Cycle(100, fire), Cycle(150, fire), Cycle(150, fire), Cycle(400, fire, climb=True)]
    return Schedule("analytic", tuple(plan), threshold=0.02)


def _quick() -> Schedule:
    """A short schedule for smoke tests and CPU networks: 4 SGD cycles, lr decayed."""
    sgd = SGD(lr=0.05, momentum=0.9)
    plan = [(100, 0.05), (100, 0.05), (100, 0.01), (100, 0.001)]
    return Schedule("quick", tuple(Cycle(n, sgd.with_lr(lr)) for n, lr in plan))


def with_climbing(schedule: Schedule, climb: bool) -> Schedule:
    """`schedule` with a climbing image in its final cycle (`climb`), or in none."""
    if climb and any(c.climb for c in schedule.cycles):
        return schedule
    flags = [climb and k == len(schedule.cycles) - 1 for k in range(len(schedule.cycles))]
    cycles = tuple(replace(c, climb=f) for c, f in zip(schedule.cycles, flags))
    return replace(schedule, name=schedule.name + ("+climb" if climb else ""), cycles=cycles)


PRESETS = {"paper": _paper, "analytic": _analytic, "quick": _quick}


def load_schedule(path: str) -> Schedule:
    """Read a schedule from a JSON file (see `Schedule.to_config` for the format)."""
    try:
        text = FilePath(readable_file(path, "schedule file")).read_text(encoding="utf-8")
    except OSError as exc:
        raise LandscapeError(f"cannot read schedule file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise LandscapeError(f"schedule file {path} is not UTF-8 text (byte {exc.start}); write it as JSON") from None
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LandscapeError(f"schedule file {path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    return Schedule.from_config(config, name=FilePath(path).stem)


def get_schedule(name_or_file: str) -> Schedule:
    """A preset by name, or a schedule read from a JSON file."""
    if name_or_file in PRESETS:
        return PRESETS[name_or_file]()
    if name_or_file.endswith(".json") or FilePath(name_or_file).exists():
        return load_schedule(name_or_file)
    raise LandscapeError(f"unknown schedule {name_or_file!r}; presets: {', '.join(PRESETS)}, or a JSON file")
