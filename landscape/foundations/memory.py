"""Memory estimates made before allocating: a size that cannot fit is refused in one
line with the estimate, instead of being discovered as the kernel killing the process.

Only host memory is judged: arrays on an accelerator are bounded by its own allocator,
which raises a clear out-of-memory error of its own.
"""

from __future__ import annotations

import os
import resource

from landscape.foundations.errors import LandscapeError

__all__ = ["available_bytes", "require_memory", "human"]

# Leave room for the interpreter, the libraries and everything else the run holds.
_USABLE = 0.8


def available_bytes() -> int | None:
    """Memory this process can still get, None when unknown: the least of what the kernel
    can give without swapping (MemAvailable), the room left under the address-space limit
    (`ulimit -v`, which turns an allocation past it into MemoryError) and the room left
    under the control group's limit (a container's, whose excess the OOM killer ends)."""
    figures = [f for f in (_kernel_available(), _address_space_left(), _cgroup_left()) if f is not None]
    return max(0, min(figures)) if figures else None


def _kernel_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def _address_space_left() -> int | None:
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    return soft - _status_kib("VmSize") * 1024


def _status_kib(key: str) -> int:
    """A figure of /proc/self/status in KiB (0 where there is none)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(f"{key}:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


# (limit, usage) files of a control group: version 2, then version 1.
_CGROUP_FILES = (
    ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
    ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
)
# Version 1 writes "no limit" as a huge number rather than "max".
_NO_LIMIT = 1 << 60


def _cgroup_left() -> int | None:
    for limit_file, usage_file in _CGROUP_FILES:
        try:
            with open(limit_file, encoding="ascii") as fh:
                limit = fh.read().strip()
            with open(usage_file, encoding="ascii") as fh:
                usage = int(fh.read().strip())
        except (OSError, ValueError):
            continue
        if limit == "max" or int(limit) >= _NO_LIMIT:
            return None
        return int(limit) - usage
    return None


def human(nbytes: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if nbytes < 1024 or unit == "TiB":
            return f"{nbytes:.0f} {unit}" if unit == "bytes" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.1f} TiB"  # pragma: no cover - the loop returns


def require_memory(what: str, nbytes: float, hint: str = "use fewer pivots or points") -> None:
    """Refuse `what` when its estimated `nbytes` exceed what this machine has free."""
    free = available_bytes()
    if free is not None and nbytes > _USABLE * free:
        raise LandscapeError(
            f"{what} needs about {human(nbytes)} of memory; this machine has {human(free)} available; {hint}"
        )
