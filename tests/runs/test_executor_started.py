"""An executor asked to run before `start` (or after `close`) says so in one line."""

from __future__ import annotations

import pytest

from landscape.foundations.errors import LandscapeError
from landscape.runs.executors import LocalExecutor
from landscape_plugins.analytic.surfaces import MuellerBrown


def test_the_local_executor_refuses_to_run_before_start_and_after_close():
    ex = LocalExecutor()
    with pytest.raises(LandscapeError, match=r"^executor has no potential: call start\(potential\) first$"):
        ex.submit([])
    ex.start(MuellerBrown())
    assert ex.submit([]) == []
    ex.close()
    with pytest.raises(LandscapeError, match="call start"):
        ex.submit([])
    ex.start(MuellerBrown())  # started again: runs again
    assert ex.submit([]) == []
