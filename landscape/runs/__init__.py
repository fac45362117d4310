"""Runs: one pair connected (`pair`: connect, the plan of a run, the checks of its ends),
runs backed by a store that resume after a crash (`stored`), executors that run many
pairs (local, process pool, Ray), and the verdicts on a finished band (`sanity`)."""
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
