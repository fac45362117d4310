"""Driving the `landscape` command from tests, as the installed script runs it.

    from landscape_cli.testing import invoke, run, error_line
    run(["connect", "mueller-brown", "--start", "A", "--end", "B"])      # asserts exit 0
    error_line(invoke(["inspect", "missing.h5"]))                          # the one error line

`main()` (what the console script, `landscape_cli.entry`, runs once its signal handlers
are in place) turns every failure into one line, so the tests drive it rather than the
bare click group.
"""

from __future__ import annotations

import ctypes
import os
import sqlite3
import sys
from collections.abc import Callable, Sequence
from typing import Any

from click.testing import CliRunner, Result

from .main import main

__all__ = ["invoke", "run", "error_line", "snapshot", "unprivileged", "read_terminal"]


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


# Capabilities that let root ignore file permissions: DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER.
_FILE_OVERRIDES = (1 << 1) | (1 << 2) | (1 << 3)
_CAPABILITY_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _drop_file_overrides() -> None:
    """Make file permissions apply to this process as they do to a user, while it keeps
    its own user id.  Dropping to another user (nobody) instead would also lock it out
    of a checkout and a virtual environment inside a private (mode 0700) folder."""
    libc = ctypes.CDLL(None, use_errno=True)
    header, data = _CapHeader(_CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget failed")
    for field in ("effective", "permitted", "inheritable"):
        setattr(data[0], field, getattr(data[0], field) & ~_FILE_OVERRIDES)
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def unprivileged(fn: Callable[[], int]) -> tuple[int, str]:
    """(exit code, stderr) of `fn()` run in a forked child for which file permissions
    apply even when the tests run as root (chmod alone stops nothing for root).  The
    child's stderr is a pipe the parent reads; the child never returns into the caller."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 99
        try:
            os.close(read_fd)
            os.dup2(write_fd, 2)
            sys.stderr = os.fdopen(2, "w", closefd=False)  # pytest replaced sys.stderr
            _drop_file_overrides()
            code = fn()
            sys.stderr.flush()
        except BaseException as exc:  # noqa: BLE001 - reported through the pipe
            os.write(2, f"child failed: {type(exc).__name__}: {exc}\n".encode())
        os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, errors="replace") as fh:
        err = fh.read()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), err


def read_terminal(master: int) -> bytes:
    """Everything written to a pseudo-terminal until the process on its other side closes
    it (reading then fails with EIO on Linux, or returns nothing); `master` is closed."""
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return b"".join(chunks)
