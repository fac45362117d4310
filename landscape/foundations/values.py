"""One check for a setting's value: its type (a bool is no number, a number no bool),
finiteness and range, with a one-line error that names it.  Steppers, schedules and
bands check their settings with it, so "lr": Infinity, "climb": "no" or fmax=-1 is
refused where it is given, not discovered as a run that diverges or never stops."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from landscape.foundations.errors import LandscapeError

__all__ = ["check_flag", "check_number", "seeded"]


def check_flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise LandscapeError(f"{name} must be true or false, got {value!r}")
    return value


def check_number(
    name: str, value: Any, test: Callable[[Any], bool] | None = None, words: str = "", *, integer: bool = False
) -> Any:
    """`value` when it is a finite number (an int with `integer`) passing `test`."""
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        raise LandscapeError(f"{name} must be {'an integer' if integer else 'a number'}, got {value!r}")
    if not math.isfinite(value):
        raise LandscapeError(f"{name} must be finite, got {value!r}")
    if test is not None and not test(value):
        raise LandscapeError(f"{name} must be {words}, got {value!r}")
    return value


def seeded(seed: Any, name: str = "seed") -> np.random.Generator:
    """numpy's generator for a user's seed, which must be an integer >= 0 (numpy's own
    refusal of -5 says only "expected non-negative integer", naming nothing)."""
    value = int(seed) if isinstance(seed, np.integer) else seed
    check_number(name, value, lambda s: s >= 0, ">= 0", integer=True)
    return np.random.default_rng(value)
