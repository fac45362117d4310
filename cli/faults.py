"""Fault injection: kill a running command at a random moment, then resume it.

Used by tests/runs/test_resume.py (a few seeds) and bench/fault_injection.py (many); it
drives the command line, so it lives with it, not in the core.
`kill_and_resume` runs `argv` (a `landscape ...` command that writes `store`) in a
subprocess, sends SIGKILL after `delay` seconds, checks that whatever is on disk is a
readable store, then runs the same command again to completion.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Trial", "kill_and_resume", "landscape_command"]


@dataclass(frozen=True)
class Trial:
    delay: float
    killed: bool  # False when the command finished before the kill
    store_existed: bool
    readable: bool  # the store after the kill opened and passed `check`, or did not exist
    problems: tuple[str, ...]
    resumed_from_cycle: int | None
    result: dict[str, Any]

    @property
    def resumed(self) -> bool:
        """Whether the rerun continued committed work (a cycle, or a band's step)."""
        return (
            self.result.get("resumed_from_cycle") is not None
            or self.result.get("resumed_from_step") is not None
            or bool(self.result.get("runs_resumed"))
            or bool(self.result.get("resumed"))
        )


def landscape_command(*args: str) -> list[str]:
    """argv running the landscape CLI with this interpreter."""
    return [sys.executable, "-m", "landscape_cli.main", *args]


def _check_store(store: str) -> tuple[bool, bool, tuple[str, ...]]:
    from landscape.foundations.errors import LandscapeError
    from landscape.store import Store
    from landscape.store.opening import unfinished_folder

    if not os.path.exists(store) or unfinished_folder(store):  # killed before its first commit
        return False, True, ()
    try:
        with Store.open(store) as s:
            problems = tuple(s.check())
    except LandscapeError as exc:
        return True, False, (str(exc),)
    return True, not problems, problems


def kill_and_resume(
    argv: list[str],
    store: str,
    delay: float,
    timeout: float = 300.0,
    check: Callable[[str], None] | None = None,
    ready: Callable[[], bool] | None = None,
) -> Trial:
    """Start `argv`, SIGKILL it after `delay` s, check `store` (and call `check` on it,
    to look at what the kill left), rerun `argv` to the end.  With `ready`, the delay
    counts from when `ready()` first holds (polled every 10 ms while the command runs):
    a kill after a given commit whatever the machine's load."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    began = time.monotonic()
    while ready is not None and proc.poll() is None and time.monotonic() - began < timeout and not ready():
        time.sleep(0.01)
    time.sleep(delay)
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=timeout)
    if check is not None:
        check(store)
    existed, readable, problems = _check_store(store)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"resumed run failed ({done.returncode}): {done.stderr.strip()}")
    result = json.loads(done.stdout)
    return Trial(delay, killed, existed, readable, problems, result.get("resumed_from_cycle"), result)
