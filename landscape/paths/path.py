"""The path type: pivots with fixed ends, their energies, and what follows from them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from landscape.foundations.arrays import device as _device
from landscape.foundations.arrays import namespace as array_namespace
from landscape.foundations.arrays import to_numpy
from landscape.foundations.errors import LandscapeError
from landscape.paths import geometry
from landscape.potentials.potential import Potential

__all__ = ["Path", "Profile", "dense_fractions", "merge_profile"]


@dataclass(frozen=True)
class Profile:
    """Energies along a path at arc-length fractions `t`, pivots and dense points merged."""

    t: np.ndarray
    energies: np.ndarray
    is_pivot: np.ndarray

    @property
    def saddle_index(self) -> int:
        return int(np.argmax(self.energies))

    @property
    def saddle_energy(self) -> float:
        return float(np.max(self.energies))


def dense_fractions(s: np.ndarray, per_segment: int) -> np.ndarray:
    """Arc fractions of `geometry.dense_points`, given the pivots' fractions `s`."""
    w = np.arange(1, per_segment + 1) / (per_segment + 1)
    return (s[:-1, None] + w[None, :] * np.diff(s)[:, None]).ravel()


def merge_profile(s: np.ndarray, pivot_energies: Any, dense_t: np.ndarray, dense_energies: Any) -> Profile:
    """Pivots (at fractions `s`) and dense points in one profile, ordered by fraction."""
    t = np.concatenate([np.asarray(s, dtype=float), dense_t])
    e = np.concatenate([to_numpy(pivot_energies), to_numpy(dense_energies)])
    order = np.argsort(t, kind="stable")
    return Profile(t[order], e[order], (np.arange(t.size) < len(s))[order])


@dataclass(frozen=True, eq=False)
class Path:
    """A discretised path: pivots (N+2, dim) including both fixed ends.

    `energies` (N+2,) is None until evaluated.  Instances are immutable; operations
    return new paths.  Arrays stay in their own namespace (numpy or torch).
    """

    pivots: Any
    energies: Any = None

    def __post_init__(self) -> None:
        shape = tuple(self.pivots.shape)
        if len(shape) != 2 or shape[0] < 2:
            raise LandscapeError(f"a path needs pivots of shape (n >= 2, dim), got {shape}")
        if self.energies is not None and tuple(self.energies.shape) != (shape[0],):
            raise LandscapeError(f"energies of shape {tuple(self.energies.shape)} do not match {shape[0]} pivots")

    # construction -------------------------------------------------------------
    @classmethod
    def straight(cls, start: Any, end: Any, n_pivots: int) -> Path:
        """`n_pivots` points (ends included) evenly spaced on the segment start-end."""
        if n_pivots < 2:
            raise LandscapeError(f"a path needs at least 2 pivots, got {n_pivots}")
        xp = array_namespace(start)
        if tuple(start.shape) != tuple(end.shape) or len(start.shape) != 1:
            raise LandscapeError(f"start {tuple(start.shape)} and end {tuple(end.shape)} must be vectors of one size")
        w = xp.linspace(0.0, 1.0, n_pivots, dtype=start.dtype, device=_device(start))[:, None]
        return cls(start[None, :] * (1 - w) + end[None, :] * w)

    # basic properties -----------------------------------------------------------
    @property
    def n_pivots(self) -> int:
        return int(self.pivots.shape[0])

    @property
    def dim(self) -> int:
        return int(self.pivots.shape[1])

    @property
    def start(self) -> Any:
        return self.pivots[0]

    @property
    def end(self) -> Any:
        return self.pivots[-1]

    def length(self) -> float:
        return float(to_numpy(geometry.segment_lengths(self.pivots)).sum())

    def arc_fractions(self) -> Any:
        return geometry.arc_fractions(self.pivots)

    def interpolate(self, t: Any) -> Any:
        """Points at arc-length fractions t in [0, 1]."""
        return geometry.interpolate(self.pivots, t)

    # energies -------------------------------------------------------------------
    def evaluate(self, potential: Potential) -> Path:
        """This path with the energies of its pivots computed (one batched call)."""
        return replace(self, energies=potential.energy(self.pivots))

    @property
    def saddle_index(self) -> int:
        """Index of the highest pivot."""
        return int(np.argmax(self._host_energies()))

    @property
    def saddle_energy(self) -> float:
        """Energy of the highest pivot: an upper bound on the minimax energy."""
        return float(np.max(self._host_energies()))

    @property
    def saddle(self) -> Any:
        return self.pivots[self.saddle_index]

    def _host_energies(self) -> np.ndarray:
        if self.energies is None:
            raise LandscapeError("the path has not been evaluated; call path.evaluate(potential)")
        return to_numpy(self.energies)

    def profile(self, potential: Potential, per_segment: int = 9) -> Profile:
        """Energies at the pivots and `per_segment` points inside each segment."""
        path = self if self.energies is not None else self.evaluate(potential)
        dense = geometry.dense_points(path.pivots, per_segment) if per_segment > 0 else None
        s = to_numpy(path.arc_fractions())
        e_piv = to_numpy(path.energies)
        if dense is None:
            return Profile(s, e_piv, np.ones_like(s, dtype=bool))
        return merge_profile(s, e_piv, dense_fractions(s, per_segment), potential.energy(dense))

    # composition ----------------------------------------------------------------
    def reversed(self) -> Path:
        xp = array_namespace(self.pivots)
        e = None if self.energies is None else xp.flip(self.energies, axis=0)
        return Path(xp.flip(self.pivots, axis=0), e)

    def concat(self, other: Path) -> Path:
        """This path followed by `other`, which must start where this one ends."""
        a, b = to_numpy(self.end), to_numpy(other.start)
        if a.shape != b.shape or not np.allclose(a, b):
            raise LandscapeError("cannot concatenate paths: the second does not start where the first ends")
        xp = array_namespace(self.pivots)
        e = None
        if self.energies is not None and other.energies is not None:
            e = xp.concat([self.energies, other.energies[1:]])
        return Path(xp.concat([self.pivots, other.pivots[1:]]), e)

    def numpy(self) -> Path:
        """A host copy with numpy arrays."""
        return Path(to_numpy(self.pivots), None if self.energies is None else to_numpy(self.energies))
