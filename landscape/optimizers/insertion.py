"""Pivot insertion at evaluated points between pivots (AutoNEB's rule and the
climbing-image repair share it)."""

from __future__ import annotations

from typing import Any

import numpy as np

from landscape.foundations.arrays import namespace as array_namespace
from landscape.foundations.arrays import to_numpy
from landscape.paths.path import Path

__all__ = ["insert_pivots", "insert_at_segment"]


def insert_pivots(
    path: Path, dense: Any, dense_energies: Any, residuals: np.ndarray, per_segment: int, threshold: float, limit: int
) -> tuple[Path, np.ndarray]:
    """The path with up to `limit` pivots inserted, and the segment indices chosen.

    A segment qualifies when its residual exceeds `threshold`; the largest residuals
    win.  The new pivot is the dense point of highest energy in its segment, and it
    keeps that (already evaluated) energy.
    """
    xp = array_namespace(path.pivots)
    chosen = np.flatnonzero(residuals > threshold)
    chosen = np.sort(chosen[np.argsort(-residuals[chosen], kind="stable")][: max(limit, 0)])
    if chosen.size == 0:
        return path, chosen
    known = to_numpy(dense_energies).reshape(-1, per_segment)[chosen]
    best = np.argmax(np.where(np.isnan(known), -np.inf, known), axis=1)  # NaN: a point not evaluated
    rows, energies = [path.pivots[:1]], [path.energies[:1]]
    picks = dict(zip(chosen.tolist(), (chosen * per_segment + best).tolist()))
    for seg in range(path.n_pivots - 1):
        if seg in picks:
            j = picks[seg]
            rows.append(dense[j : j + 1])
            energies.append(dense_energies[j : j + 1])
        rows.append(path.pivots[seg + 1 : seg + 2])
        energies.append(path.energies[seg + 1 : seg + 2])
    return Path(xp.concat(rows), xp.concat(energies)), chosen


def insert_at_segment(path: Path, dense: Any, dense_energies: Any, segment: int, per_segment: int) -> Path:
    """The path with one pivot added at the highest dense point of `segment`."""
    one_hot = np.zeros(path.n_pivots - 1)
    one_hot[segment] = 1.0
    return insert_pivots(path, dense, dense_energies, one_hot, per_segment, 0.5, 1)[0]
