"""The process a command runs in: where its results go, and the environment it needs.

`results` points RESULTS (cli/common.py) at the real standard output, guarded so that a
full disk, a closed pipe (`| head -0`) or a reader gone away is one line, exit 1; with
--json it also points file descriptor 1 at stderr, so what a potential's compiled code
writes there cannot spoil the JSON.  `check_environment` refuses, before any work, what
no command can work in: a closed standard output, a deleted current folder, a
MPLBACKEND that matplotlib rejects.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from landscape.foundations.errors import LandscapeError

from .common import RESULTS

__all__ = ["check_environment", "results"]


@contextlib.contextmanager
def results(as_json: bool) -> Iterator[None]:
    """RESULTS set to the real stdout, guarded, for the block (and sys.stdout pointed at
    stderr with `as_json`); a failure to write it is a one-line error."""
    with _descriptor_1_to_stderr() if as_json else contextlib.nullcontext(sys.stdout) as real:
        out = _Output(real)
        RESULTS.append(out)
        try:
            with contextlib.redirect_stdout(sys.stderr if as_json else out):
                yield
            out.flush()
        finally:
            RESULTS.pop()


@contextlib.contextmanager
def _descriptor_1_to_stderr() -> Iterator[TextIO]:
    """File descriptor 1 pointed at stderr for the block; yields a stream to the real
    stdout (a duplicate of descriptor 1, or sys.stdout itself when it is not that
    descriptor: an in-memory stream under a test runner)."""
    stdout = sys.stdout
    if _descriptor(stdout) != 1 or _descriptor(sys.stderr) is None:
        yield stdout
        return
    stdout.flush()
    saved = os.dup(1)
    real = open(saved, "w", encoding=stdout.encoding, errors=stdout.errors, closefd=False)
    os.dup2(sys.stderr.fileno(), 1)
    try:
        yield real
    finally:
        with contextlib.suppress(OSError, ValueError):
            stdout.flush()  # what was printed through sys.stdout meanwhile belongs on stderr
        os.dup2(saved, 1)
        with contextlib.suppress(OSError):
            real.close()
        os.close(saved)


def _descriptor(stream: Any) -> int | None:
    try:
        return int(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return None


class _Output(io.TextIOBase):
    """`inner` (the real stdout), whose write failures (a full disk, a reader that went
    away, `| head -0`) end the command in one line, exit 1.  After one, descriptor 1 is
    pointed at /dev/null, so the interpreter's last flush cannot fail a second time."""

    def __init__(self, inner: TextIO) -> None:
        self._inner = inner
        self._error: LandscapeError | None = None  # once failed, always: a caller may swallow one (click does)

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._inner.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self._inner.errors

    @property
    def buffer(self) -> Any:
        """The binary stream below (click writes bytes there: shell completion's script)."""
        return self._inner.buffer

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self._inner.isatty()

    def fileno(self) -> int:
        return self._inner.fileno()

    def write(self, text: str) -> int:
        try:
            if self._error is None:
                return self._inner.write(text)
        except OSError as exc:
            self._failed(exc)
        raise self._error  # type: ignore[misc]

    def flush(self) -> None:
        try:
            if self._error is None:
                return self._inner.flush()
        except OSError as exc:
            self._failed(exc)
        raise self._error  # type: ignore[misc]

    def _failed(self, exc: OSError) -> None:
        fd = _descriptor(self._inner)
        if fd is not None:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, fd)
            os.close(null)
        self._error = LandscapeError(f"cannot write the result to standard output: {exc.strerror or exc}")


def check_environment() -> None:
    """One line, before any work, for an environment no command can work in."""
    if sys.stdout is None:  # started with descriptor 1 closed: the next file opened would take it
        raise LandscapeError(
            "standard output is closed; a command writes its result there (send it to /dev/null to discard it)"
        )
    try:
        os.getcwd()
    except OSError as exc:
        raise LandscapeError(
            f"the current folder cannot be used ({exc.strerror}: deleted while in it?); cd to an existing folder"
        ) from None
    _check_backend()


def _check_backend() -> None:
    """A MPLBACKEND that matplotlib rejects makes every `import matplotlib` fail: say so
    at once (read only when set, so other commands pay no matplotlib import)."""
    name = os.environ.get("MPLBACKEND")
    if not name or "matplotlib" in sys.modules:
        return
    del os.environ["MPLBACKEND"]
    try:
        import matplotlib
        from matplotlib.rcsetup import validate_backend

        validate_backend(name)
    except ValueError:
        raise LandscapeError(
            f"MPLBACKEND={name!r} in the environment is not a backend matplotlib knows; "
            "unset it (landscape draws its pictures with agg) or name one, e.g. agg"
        ) from None
    finally:
        os.environ["MPLBACKEND"] = name
    matplotlib.rcParams["backend"] = name  # as if matplotlib had read it
