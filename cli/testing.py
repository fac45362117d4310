"""Driving the `landscape` command from tests, as the installed script runs it.

    from landscape_cli.testing import invoke, run, error_line
    run(["connect", "mueller-brown", "--start", "A", "--end", "B"])      # asserts exit 0
    error_line(invoke(["inspect", "missing.h5"]))                          # the one error line

`main()` (the script's entry point) is what turns every failure into one line, so the
tests drive it rather than the bare click group.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from click.testing import CliRunner, Result

from .main import main

__all__ = ["invoke", "run", "error_line"]


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
