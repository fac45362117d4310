"""One writing run per store: an advisory lock on a sibling `.NAME.lock` file.

A run commits many transactions (each serialised by the store's SQLite index), so it
holds `WriterLock(store)` for its whole length: a second writer fails at once with a
one-line error instead of interleaving its commits.  Readers never lock: they read the
last committed state, so `landscape inspect` can read a store while a run writes it.  The
lock is released by the kernel when the process dies (even on kill -9).  The store's
name is resolved first (`landscape.foundations.files.store_path`), so a store reached through a
symlink has one lock; a symlink or anything but a regular file in the lock's place is
refused, never followed or written through.

The lock file exists only while a writer runs: the holder unlinks it before unlocking,
and a writer that locked a file already unlinked (it opened the name just before the
holder released) sees that the name no longer leads to its file and tries again, so
two writers never hold two different files.  A killed writer leaves the file behind;
the next writer takes it over and removes it in turn.
"""

from __future__ import annotations

import fcntl
import os
import stat
from types import TracebackType

from landscape.foundations.errors import LandscapeError
from landscape.foundations.files import store_path

__all__ = ["WriterLock"]


class WriterLock:
    """Exclusive, non-blocking lock for writing the store at `path`."""

    def __init__(self, path: str | os.PathLike[str]):
        target = store_path(path)
        self.path = os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.lock")
        self._fd: int | None = None

    def acquire(self) -> WriterLock:
        while True:
            fd = self._locked()
            if self._still_named(fd):
                break
            os.close(fd)  # the holder released and removed it between our open and lock
        try:  # the owner's pid, for the message a second writer gets
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
        except OSError as exc:  # a full disk, say: the lock is ours, but say why nothing can be written
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            raise LandscapeError(f"cannot write lock file {self.path}: {exc.strerror or exc}") from None
        self._fd = fd
        return self

    def _locked(self) -> int:
        """The lock file opened and locked (a one-line error when another writer holds it)."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
        except OSError as exc:
            why = "it is a symbolic link; remove it" if os.path.islink(self.path) else exc.strerror
            raise LandscapeError(f"cannot create lock file {self.path}: {why}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise LandscapeError(f"lock file {self.path} is not a regular file; remove it")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            owner = self._owner()
            raise LandscapeError(
                f"another process{owner} is writing {self.path[:-5].replace('/.', '/', 1)}; wait for it to finish"
            ) from None
        return fd

    def _still_named(self, fd: int) -> bool:
        """Whether the lock's name still leads to the file `fd` holds."""
        try:
            here = os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            return False
        mine = os.fstat(fd)
        return (here.st_dev, here.st_ino) == (mine.st_dev, mine.st_ino)

    def _owner(self) -> str:
        try:
            with open(self.path) as fh:
                pid = fh.read().strip()
        except OSError:
            return ""
        return f" (pid {pid})" if pid else ""

    def release(self) -> None:
        if self._fd is not None:
            try:  # while still locked: nobody else can hold this file now
                if self._still_named(self._fd):
                    os.unlink(self.path)
            except OSError:
                pass  # a read-only folder, say: the file stays, harmless
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> WriterLock:
        return self.acquire()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
