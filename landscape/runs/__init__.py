"""Runs: one pair connected (`pair`: connect, the plan of a run, the checks of its ends),
runs backed by a store that resume after a crash (`stored`, with their `checkpoints` and
what a store already there means for a run, `existing`), and executors that run many
pairs (`executors`: local, process pool, Ray; the `tasks` they run and the `workers`
side)."""

from __future__ import annotations

import importlib
import warnings
from typing import Any


def __getattr__(name: str) -> Any:
    """`landscape.runs` was the module now called `landscape.runs.stored`: its names still
    resolve here, with a warning that names their home."""
    stored = importlib.import_module("landscape.runs.stored")
    if name not in stored.__all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(f"landscape.runs.{name} moved to landscape.runs.stored.{name}", DeprecationWarning, stacklevel=2)
    return getattr(stored, name)
