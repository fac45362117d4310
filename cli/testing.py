"""Driving the `landscape` command from tests, as the installed script runs it.

    from landscape_cli.testing import invoke, run, error_line
    run(["connect", "mueller-brown", "--start", "A", "--end", "B"])      # asserts exit 0
    error_line(invoke(["inspect", "missing.h5"]))                          # the one error line

`main()` (the script's entry point) is what turns every failure into one line, so the
tests drive it rather than the bare click group.
"""
from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from typing import Any

from click.testing import CliRunner, Result

from .main import main

__all__ = ["invoke", "run", "error_line", "snapshot"]


class _Script:
    """Lets CliRunner call `main()` like a click command."""

    name = "landscape"

    def main(self, args: Sequence[str] | None = None, **_: Any) -> None:
        raise SystemExit(main(list(args or [])))


def invoke(args: Sequence[Any]) -> Result:
    """Run `landscape ARGS` in-process; stdout and stderr are captured apart."""
    return CliRunner().invoke(_Script(), [str(a) for a in args])  # type: ignore[arg-type]


def error_line(result: Result) -> str:
    """The single `error: ...` line of a failed run (asserts there is exactly one)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output + result.stderr
    return lines[0]


def run(args: Sequence[Any], expect: int = 0) -> Result:
    """`invoke`, asserting the exit code; a failure must also be one error line."""
    result = invoke(args)
    assert result.exit_code == expect, result.output + result.stderr
    if expect:
        error_line(result)
    return result


def snapshot(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Everything under `path` (a file or a folder) as comparable values, to show that a
    command left it alone: files as bytes, a store's SQLite index as its SQL dump (so
    whether commits sit in its write-ahead log does not matter; the log and the
    shared-memory file themselves are skipped), lock files skipped."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        with open(path, "rb") as fh:
            return {path: fh.read()}
    out: dict[str, Any] = {}
    for folder, _, names in os.walk(path):
        for name in names:
            full = os.path.join(folder, name)
            if name.endswith((".lock", "-wal", "-shm")):
                continue
            if name.endswith(".sqlite"):
                db = sqlite3.connect(f"file:{full}?mode=ro", uri=True)
                try:
                    out[full] = list(db.iterdump())
                finally:
                    db.close()
            else:
                with open(full, "rb") as fh:
                    out[full] = fh.read()
    return out
