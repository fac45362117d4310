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

__all__ = ["MAX_SEED", "check_flag", "check_number", "check_seed", "seeded"]

#: The largest seed: torch's generators take a signed 64-bit one (numpy any size), and
#: one seed for every library keeps a run reproducible on both.
MAX_SEED = 2**63 - 1


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
    """numpy's generator for a user's seed, an integer from 0 to `MAX_SEED` (numpy's own
    refusal of -5 says only "expected non-negative integer", naming nothing)."""
    return np.random.default_rng(check_seed(seed, name))


def check_seed(seed: Any, name: str = "seed") -> int:
    """`seed` as an int when it is one from 0 to `MAX_SEED` (a numpy integer too)."""
    value = int(seed) if isinstance(seed, np.integer) else seed
    return check_number(name, value, lambda s: 0 <= s <= MAX_SEED, ">= 0 and at most 2**63 - 1", integer=True)
