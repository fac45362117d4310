"""Single linkage of an ultrametric saddle matrix (scipy's `linkage` format) and flat clusters at a level."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from landscape.analysis.graphs import MatrixLike, UnionFind, as_values, energies_of, prim_forest
from landscape.foundations.errors import LandscapeError

if TYPE_CHECKING:  # networkx is imported lazily, only when a tree is built
    pass

__all__ = ["linkage_sentinel", "single_linkage", "clusters"]


def linkage_sentinel(matrix: MatrixLike, minima_energies: Any = None) -> float:
    """The finite height :func:`single_linkage` gives merges of unconnected components.

    It is ``top + max(top - bottom, |top|, 1)`` over the finite saddles and minimum energies
    (``minima_energies``, a SaddleMatrix's energies, and any finite diagonal entries), so
    it lies clearly above every real saddle.  Rows of the linkage with
    ``Z[:, 2] == linkage_sentinel(matrix)`` are the sentinel merges.
    """
    v = as_values(matrix)
    e = energies_of(matrix, minima_energies, v.shape[0])
    finite = v[np.isfinite(v)]
    if e is not None:
        finite = np.concatenate([finite, e])
    if finite.size == 0:
        return 1.0
    top, bottom = float(finite.max()), float(finite.min())
    return top + max(top - bottom, abs(top), 1.0)


def single_linkage(matrix: MatrixLike, minima_energies: Any = None) -> np.ndarray:
    """Single-linkage dendrogram of the minima in scipy's linkage format.

    Row ``r`` of the ``(n-1, 4)`` result merges clusters ``Z[r, 0] < Z[r, 1]`` into cluster
    ``n + r`` at height ``Z[r, 2]`` with ``Z[r, 3]`` members, as
    ``scipy.cluster.hierarchy.linkage(squareform(matrix), method="single")`` does (same
    rows when merge heights are distinct; equal heights are ordered by ``(height, i, j)``
    of the merging MST edge).  Only the off-diagonal of ``matrix`` is merged.

    Heights are in energy units and may be negative; scipy's ``linkage`` accepts that, but
    ``fcluster``/``dendrogram``/``cophenet`` reject negative heights, so shift column 2 by a
    constant before calling them (clusterings are invariant to the shift).  Unconnected
    components merge last, at :func:`linkage_sentinel` (scipy refuses ``inf``), in order of
    their lowest minimum index; ``minima_energies`` only lifts that sentinel above them.
    """
    v = as_values(matrix)
    n = v.shape[0]
    sentinel = linkage_sentinel(matrix, minima_energies)
    off = v.copy()
    np.fill_diagonal(off, np.inf)
    tree = sorted(prim_forest(off), key=lambda e: (e[2], e[0], e[1]))
    uf = UnionFind(n)
    label = list(range(n))  # cluster id of each union-find root
    rows: list[list[float]] = []

    def merge(i: int, j: int, height: float) -> None:
        ri, rj = uf.find(i), uf.find(j)
        a, b = sorted((label[ri], label[rj]))
        root = uf.union(ri, rj)
        rows.append([a, b, height, uf.size[root]])
        label[root] = n + len(rows) - 1

    for i, j, w in tree:
        merge(i, j, w)
    firsts = list({uf.find(k): k for k in reversed(range(n))}.values())  # lowest index per component
    for k in sorted(firsts)[1:]:
        merge(0, k, sentinel)  # minimum 0 is always in the first component
    return np.asarray(rows, dtype=float).reshape(n - 1, 4)


def clusters(matrix: MatrixLike, level: float) -> np.ndarray:
    """Cluster labels of the minima: minima joined at or below the saddle energy ``level``.

    Labels are ``0..k-1`` numbered by each cluster's lowest minimum index (minimum 0 is in
    cluster 0).  The partition equals scipy's ``fcluster(Z, level, criterion="distance")``
    on the single linkage (whose labels are 1-based in dendrogram order).  Unconnected
    minima never share a cluster, whatever ``level``.
    """
    v = as_values(matrix)
    n = v.shape[0]
    if np.isnan(level):
        raise LandscapeError("cluster level must be a number, got nan")
    off = v.copy()
    np.fill_diagonal(off, np.inf)
    uf = UnionFind(n)
    for i, j, w in prim_forest(off):  # MST edges below a level connect what all pairs do
        if w <= level:
            uf.union(uf.find(i), uf.find(j))
    roots = [uf.find(k) for k in range(n)]
    first: dict[int, int] = {}
    return np.array([first.setdefault(r, len(first)) for r in roots], dtype=np.intp)
