"""Memory estimates made before allocating: a size that cannot fit is refused in one
line with the estimate, instead of being discovered as the kernel killing the process.

Only host memory is judged: arrays on an accelerator are bounded by its own allocator,
which raises a clear out-of-memory error of its own.
"""
from __future__ import annotations

import os

from .errors import LandscapeError

__all__ = ["available_bytes", "require_memory", "human"]

# Leave room for the interpreter, the libraries and everything else the run holds.
_USABLE = 0.8


def available_bytes() -> int | None:
    """Memory the kernel can give without swapping (MemAvailable), None when unknown."""
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
        raise LandscapeError(f"{what} needs about {human(nbytes)} of memory; this machine has {human(free)} "
                             f"available; {hint}")
