"""Which store a name means: symlinks followed, anything but a folder or a file refused.

Every writer and reader of a store goes through `store_path`, and the writer lock is
taken on the same resolved name, so a store reached through a symlink is one store with
one lock, written in its target, never through the link.  A fifo, a device or a socket
given as a store is refused at once: opening a fifo would block forever, and writing a
device node would destroy what it names.
"""

from __future__ import annotations

import os
import re
import stat

from landscape.foundations.errors import LandscapeError

__all__ = ["store_path", "readable_file", "stale_temporaries", "bytes_under", "fsync_path"]

_KINDS = {
    stat.S_IFIFO: "a fifo",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def store_path(path: str | os.PathLike[str]) -> str:
    """The absolute, symlink-free name of the store at `path` (a folder, or a single
    file for version-1 stores and exports); a one-line error when it exists and is
    neither (a dangling link names its future target)."""
    if not os.fspath(path).strip():  # abspath would make it the current folder
        raise LandscapeError("an empty name is no store; give a folder name")
    resolved = os.path.realpath(os.path.abspath(os.path.expanduser(os.fspath(path))))
    try:
        mode = os.stat(resolved).st_mode
    except (FileNotFoundError, NotADirectoryError):  # not there (yet): the writer reports why
        return resolved
    except OSError as exc:
        raise LandscapeError(f"cannot use {os.fspath(path)} as a store: {exc.strerror}") from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file or folder")
        raise LandscapeError(f"{os.fspath(path)} is {kind}, not a store; give a folder or file name")
    return resolved


def readable_file(path: str | os.PathLike[str], what: str) -> str:
    """`path` when it is a regular file (symlinks followed) that can be opened for
    reading; a one-line error naming `what` otherwise.  A fifo would block the reader
    forever and a folder or device is no input file, so they are refused before opening."""
    name = os.fspath(path)
    try:
        mode = os.stat(name).st_mode
    except OSError as exc:
        raise LandscapeError(f"{what} {name}: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else _KINDS.get(stat.S_IFMT(mode), "not a regular file")
        raise LandscapeError(f"{what} {name} is {kind}, not a file")
    if not os.access(name, os.R_OK):
        raise LandscapeError(f"{what} {name}: permission denied")
    return name


def stale_temporaries(folder: str, prefix: str) -> list[str]:
    """Paths in `folder` named PREFIX<pid> whose process is gone: what a writer killed
    before it could clean up left behind (a live process's own temporaries are kept)."""
    pattern = re.compile(re.escape(prefix) + r"(\d+)")
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return [
        os.path.join(folder, name)
        for name in sorted(names)
        if (m := pattern.fullmatch(name)) and not _alive(int(m.group(1)))
    ]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


def bytes_under(path: str) -> int:
    """The bytes of a file, or of every file below a folder (symlinks not followed)."""
    if not os.path.isdir(path):
        return os.path.getsize(path)
    return sum(os.lstat(os.path.join(here, name)).st_size for here, _, names in os.walk(path) for name in names)


def fsync_path(name: str) -> None:
    """Flush a file or folder to disk (a folder: so a rename in it survives a power cut)."""
    fd = os.open(name, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
