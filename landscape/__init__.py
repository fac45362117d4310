"""landscape: minimum energy paths between minima of any energy surface.

The core imports numpy and scipy only; torch lives in the plugins that need it.
"""
from __future__ import annotations

from .errors import LandscapeError
from .path import Path, Profile
from .potential import CachedPotential, ChunkedPotential, CountingPotential, Potential, PotentialWrapper

__version__ = "0.1.0"

__all__ = [
    "LandscapeError",
    "Path",
    "Profile",
    "Potential",
    "PotentialWrapper",
    "CountingPotential",
    "CachedPotential",
    "ChunkedPotential",
    "__version__",
]
