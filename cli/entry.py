"""The `landscape` console script: signal handling first, the command line after.

Ctrl-C (SIGINT) and SIGTERM (`timeout`, a container stop, a batch system's time limit)
both raise KeyboardInterrupt, so one path handles them: a run keeps what it computed
(`landscape.optimizers.driver.run`, `landscape.exploration.loop.explore`; a SIGTERM is passed on to worker
processes as the Ctrl-C a terminal would have sent them), its store commits it, and
`landscape_cli.main.main` ends the command in one line with exit 130 (SIGINT) or 143
(SIGTERM).  This module imports nothing heavy and installs the handlers before it imports
the command line (click, numpy, the plugins' registry), so a signal during start-up is
the same one line, not a traceback.

A repeated signal within `GRACE` seconds of the first (a double press) is ignored, so the
first one's commit finishes; one after that ends the process at once, still in one line
(stores are written to survive a kill).  Once the outcome is decided (`settle`), a signal
no longer interrupts the report of it.  A first signal whose KeyboardInterrupt Python
swallowed (raised in a weakref callback or a `__del__`) is delivered again
(`_on_unraisable`).
"""

from __future__ import annotations

import _thread
import atexit
import os
import signal
import sys
import time
from types import FrameType
from typing import Any

__all__ = ["EXIT_STATUS", "GRACE", "INTERRUPTED", "install", "main", "received", "say", "settle", "status", "who"]

#: The shell's exit status for a command ended by each signal (128 + its number).
EXIT_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143}
#: Seconds after the first signal during which a repeat is ignored.
GRACE = 1.0
#: The line (after "error: ") of a command interrupted before it could say more.
INTERRUPTED = "interrupted by {}; a store keeps what was committed, and the same command continues it"
_first: list[tuple[int, float]] = []  # the first signal and when it came (monotonic seconds)
_settled: list[int] = []  # the exit status, once the command's outcome is decided
_lost: list[bool] = []  # the first signal's KeyboardInterrupt was swallowed: deliver it again


def received() -> int | None:
    """The first signal this process was sent (SIGINT or SIGTERM), or None."""
    return _first[0][0] if _first else None


def status() -> int:
    """The exit status of an interrupted command: 143 after SIGTERM, else 130 (Ctrl-C, or a
    KeyboardInterrupt raised by a user's code)."""
    return EXIT_STATUS.get(received() or signal.SIGINT, 130)


def who() -> str:
    """Who interrupted, for messages: "the user" (Ctrl-C) or "SIGTERM"."""
    return "SIGTERM" if received() == signal.SIGTERM else "the user"


def say(text: str) -> None:
    """`text` as the one `error:` line on stderr.  On a terminal it starts with a carriage
    return, so it replaces the "^C" the terminal echoed instead of following it (no blank
    line either way)."""
    start = "\r" if _isatty(sys.stderr) else ""
    try:
        sys.stderr.write(f"{start}error: {text}\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):  # no usable stderr: the exit status still tells
        pass


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (OSError, ValueError, AttributeError):
        return False


def settle(code: int) -> None:
    """The command's outcome is decided (exit status `code`): a signal from now on waits for
    its report and the exit, and a repeat after `GRACE` exits with `code` at once."""
    _settled[:] = [code]


def _forward(signum: int) -> None:
    """Pass a SIGTERM on to this process's worker processes as the Ctrl-C they handle.

    A terminal's Ctrl-C reaches every process of the command, but a SIGTERM (`kill`,
    a container stop) only this one: without it a process pool's workers would finish
    their runs, for minutes, before the exploration could stop and commit."""
    multiprocessing = sys.modules.get("multiprocessing")
    if signum != signal.SIGTERM or multiprocessing is None:
        return
    for child in multiprocessing.active_children():
        try:
            os.kill(child.pid, signal.SIGINT)
        except (OSError, TypeError):  # gone already, or not started (no pid)
            pass


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if _lost:  # the first signal again (`_on_unraisable`), now outside the place that ignored it
        _lost.clear()
        raise KeyboardInterrupt
    now = time.monotonic()
    if not _first:
        _first.append((signum, now))
        if _settled:
            return  # only the report and the exit are left: let them happen
        _forward(signum)
        raise KeyboardInterrupt
    if now - _first[0][1] < GRACE:
        return  # a double press: let the first one's commit finish
    if not _settled:
        say(f"{INTERRUPTED.format(who())} (ended at once by a repeated signal)")
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    os._exit(_settled[0] if _settled else status())


def _on_unraisable(unraisable: Any) -> None:
    """Where Python ignores exceptions (a weakref callback such as an import's module
    lock, a `__del__`), the first signal's KeyboardInterrupt is printed as "Exception
    ignored" and lost, and the command would run on to exit 0.  Deliver it again instead,
    from a thread, so that it reaches the main thread's next instruction outside that
    place (should that one ignore it too, this hook runs again), and say nothing."""
    if issubclass(unraisable.exc_type, KeyboardInterrupt) and _first and not _settled:
        _lost[:] = [True]
        _thread.start_new_thread(_thread.interrupt_main, (_first[0][0],))
        return
    sys.__unraisablehook__(unraisable)


def install() -> None:
    """Route SIGINT and SIGTERM to KeyboardInterrupt (the first) and to an immediate exit
    (a repeat after `GRACE`); a signal the parent ignored (`nohup`, a background job
    without job control) stays ignored."""
    _first.clear()
    _settled.clear()
    _lost.clear()
    sys.unraisablehook = _on_unraisable
    atexit.register(_ignore)  # registered first, so called last; and before a handler can fire
    for signum in EXIT_STATUS:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, _on_signal)


def _ignore() -> None:
    """Ignore both signals once every atexit callback ran: the interpreter's teardown then
    resets Python-handled signals to their default, and a late one (a double press, after
    the one line) would kill the process instead of letting it exit with its status."""
    for signum in EXIT_STATUS:
        signal.signal(signum, signal.SIG_IGN)


def main() -> int:
    """The console script: handlers, then the command line (see `landscape_cli.main.main`)."""
    try:
        install()  # inside: a signal may arrive between installing one handler and the next
        from .main import main as run

        return run()
    except KeyboardInterrupt:  # before the command line could report it (start-up)
        settle(status())
        say(INTERRUPTED.format(who()))
        return status()


if __name__ == "__main__":  # python -m landscape_cli.entry
    sys.exit(main())
