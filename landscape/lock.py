"""One writer per store: an advisory lock on a sibling `.lock` file.

Writers hold `WriterLock(store_path)` for their whole run; a second writer fails at
once with a one-line error instead of racing.  Readers never lock: every write is an
atomic replace, so `landscape inspect` can read a store while a run writes it.  The
lock is released by the kernel when the process dies (even on kill -9).
"""
from __future__ import annotations

import fcntl
import os
from types import TracebackType

from .errors import LandscapeError

__all__ = ["WriterLock"]


class WriterLock:
    """Exclusive, non-blocking lock for writing the store at `path`."""

    def __init__(self, path: str | os.PathLike[str]):
        target = os.path.abspath(os.fspath(path))
        self.path = os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.lock")
        self._fd: int | None = None

    def acquire(self) -> WriterLock:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise LandscapeError(f"cannot create lock file {self.path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            owner = self._owner()
            raise LandscapeError(f"another process{owner} is writing {self.path[:-5].replace('/.', '/', 1)}; "
                                 "wait for it to finish") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def _owner(self) -> str:
        try:
            with open(self.path) as fh:
                pid = fh.read().strip()
        except OSError:
            return ""
        return f" (pid {pid})" if pid else ""

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> WriterLock:
        return self.acquire()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
