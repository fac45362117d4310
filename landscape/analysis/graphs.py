"""Graphs of minima: minimum spanning tree, ultrametric saddle matrix, linkage, disconnectivity tree.

Computed paths between minima are edges ``(i, j, saddle_energy)``.  Saddle energies obey
the ultrametric inequality ``L_ik <= max(L_ij, L_jk)`` (paper section 3), so the minimum
spanning tree (MST) of the computed paths bounds every pair by the highest edge on its
tree path, and this bound is the best any chain of computed paths gives.  The resulting
matrix is an ultrametric whose single-linkage dendrogram is the disconnectivity graph.

Conventions:

* ``values[i, i]`` is minimum ``i``'s energy when given, else ``-inf`` (not ``nan``: a
  minimum joins itself below every saddle, and ``-inf`` keeps elementwise comparisons
  and the ultrametric inequality valid).
* ``+inf`` marks pairs that no chain of computed paths connects.
* Energies are never shifted or rounded; heights may be negative (Mueller-Brown).

Pure numpy.  Single linkage and clusters: `landscape.analysis.linkage`; the
disconnectivity tree: `landscape.analysis.disconnectivity`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from landscape.foundations.errors import LandscapeError

if TYPE_CHECKING:  # networkx is imported lazily, only when a tree is built
    pass

__all__ = [
    "Edge",
    "SaddleMatrix",
    "minimum_spanning_edges",
    "saddle_matrix",
    "is_ultrametric",
    "MatrixLike",
    "UnionFind",
    "as_values",
    "energies_of",
    "prim_forest",
    "check_saddles_above_minima",
]

Edge = tuple[int, int, float]
EdgesLike = Mapping[tuple[int, int], float] | Iterable[Sequence[Any]]


@dataclass(frozen=True, eq=False)
class SaddleMatrix:
    """Ultrametric upper bounds on the saddle energy between every pair of minima.

    Attributes:
        values: (n, n) float array; ``values[i, j]`` is the highest saddle on the MST path
            from ``i`` to ``j`` (``+inf`` if unconnected); the diagonal holds the minima
            energies, or ``-inf`` when they were not given.
        via: (n, n, 2) int array; ``via[i, j]`` is the MST edge ``(a, b)``, ``a < b``, that
            sets ``values[i, j]`` (the highest edge on the tree path; among equal highest
            edges, the last one Kruskal's order adds).  ``(-1, -1)`` on the diagonal and for
            unconnected pairs.
        mst: the MST (a forest if unconnected) as ``(i, j, w)`` edges, ``i < j``, in
            Kruskal order (ascending ``w``, then ``i``, then ``j``).
        minima_energies: (n,) array, or ``None``.
    """

    values: np.ndarray
    via: np.ndarray
    mst: tuple[Edge, ...]
    minima_energies: np.ndarray | None = None

    @property
    def n(self) -> int:
        """Number of minima."""
        return int(self.values.shape[0])

    @property
    def connected(self) -> bool:
        """Whether the computed paths connect every pair of minima."""
        return len(self.mst) == self.n - 1


MatrixLike = SaddleMatrix | np.ndarray | Sequence[Sequence[float]]


class UnionFind:
    """Disjoint sets with path halving and union by size."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.size = [1] * n

    def find(self, a: int) -> int:
        parent = self.parent
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def union(self, a: int, b: int) -> int:
        """Join the sets of roots ``a`` and ``b``; return the new root."""
        if self.size[a] < self.size[b]:
            a, b = b, a
        self.parent[b] = a
        self.size[a] += self.size[b]
        return a


# --------------------------------------------------------------------------- validation


def _check_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise LandscapeError(f"number of minima must be a positive integer, got {n!r}")
    return int(n)


def _iter_edges(edges: EdgesLike) -> Iterable[Sequence[Any]]:
    if isinstance(edges, Mapping):
        return ((i, j, w) for (i, j), w in edges.items())
    return edges


def _index(k: Any) -> int:
    if isinstance(k, bool) or int(k) != k:
        raise ValueError(k)
    return int(k)


def _normalise_edges(n: int, edges: EdgesLike) -> list[Edge]:
    """Validated edges ``(i, j, w)`` with ``i < j``; of repeated pairs the lowest is kept."""
    best: dict[tuple[int, int], float] = {}
    for edge in _iter_edges(edges):
        try:
            i, j, w = edge
            i, j, w = _index(i), _index(j), float(w)
        except (TypeError, ValueError):
            raise LandscapeError(f"an edge must be (i, j, saddle_energy) with integer i, j, got {edge!r}") from None
        if not (0 <= i < n and 0 <= j < n):
            raise LandscapeError(f"edge ({i}, {j}) names a minimum outside 0..{n - 1}")
        if i == j:
            raise LandscapeError(f"edge ({i}, {j}) joins a minimum to itself")
        if np.isnan(w) or w == -np.inf:
            raise LandscapeError(f"edge ({i}, {j}) has saddle energy {w}; it must be a real number")
        if w == np.inf:  # a failed path bounds nothing
            continue
        key = (min(i, j), max(i, j))
        best[key] = min(w, best.get(key, np.inf))
    return [(i, j, w) for (i, j), w in best.items()]


def _check_energies(n: int, minima_energies: Any) -> np.ndarray | None:
    if minima_energies is None:
        return None
    e = np.asarray(minima_energies, dtype=float)
    if e.shape != (n,):
        raise LandscapeError(f"minima_energies must have shape ({n},), got {e.shape}")
    if not np.all(np.isfinite(e)):
        raise LandscapeError("minima_energies must be finite")
    e = e.copy()
    e.flags.writeable = False
    return e


def check_saddles_above_minima(edges: Iterable[Edge], energies: np.ndarray | None) -> None:
    """A path's maximum includes its ends, so a saddle below an end is inconsistent input."""
    if energies is None:
        return
    for i, j, w in edges:
        k = i if energies[i] >= energies[j] else j
        if w < energies[k]:
            raise LandscapeError(
                f"saddle energy {w} between minima {i} and {j} lies below minimum {k}'s energy {energies[k]}"
            )


def as_values(matrix: MatrixLike) -> np.ndarray:
    """Validated square float matrix with a symmetric off-diagonal (diagonal untouched)."""
    v = matrix.values if isinstance(matrix, SaddleMatrix) else np.asarray(matrix, dtype=float)
    if v.ndim != 2 or v.shape[0] != v.shape[1] or v.shape[0] < 1:
        raise LandscapeError(f"saddle matrix must be square (n, n) with n >= 1, got shape {v.shape}")
    off = ~np.eye(v.shape[0], dtype=bool)
    if np.any(np.isnan(v[off])) or np.any(v[off] == -np.inf):
        raise LandscapeError("saddle matrix off-diagonal entries must be real numbers or +inf")
    if not np.allclose(v[off], v.T[off], rtol=1e-12, atol=0.0):
        raise LandscapeError("saddle matrix is not symmetric")
    return np.minimum(v, v.T)  # exact symmetry; the lower bound of near-equal pairs


def energies_of(matrix: MatrixLike, minima_energies: Any, n: int) -> np.ndarray | None:
    if minima_energies is not None:
        return _check_energies(n, minima_energies)
    if isinstance(matrix, SaddleMatrix):
        return matrix.minima_energies
    return None


# --------------------------------------------------------------------------- MST and matrix


def minimum_spanning_edges(n: int, edges: EdgesLike) -> list[Edge]:
    """Minimum spanning tree (a forest if unconnected) of computed paths between ``n`` minima.

    Args:
        n: number of minima, indexed ``0..n-1``.
        edges: ``{(i, j): saddle_energy}`` or an iterable of ``(i, j, saddle_energy)``.
            Repeated pairs keep their lowest energy; ``+inf`` edges (failed paths) are ignored.

    Returns:
        Kruskal's edges ``(i, j, w)`` with ``i < j``, in the order they were accepted;
        ties are broken by ``(w, i, j)`` so the result does not depend on input order.
    """
    n = _check_n(n)
    uf = UnionFind(n)
    tree: list[Edge] = []
    for i, j, w in sorted(_normalise_edges(n, edges), key=lambda e: (e[2], e[0], e[1])):
        ri, rj = uf.find(i), uf.find(j)
        if ri != rj:
            uf.union(ri, rj)
            tree.append((i, j, w))
            if len(tree) == n - 1:
                break
    return tree


def prim_forest(v: np.ndarray) -> list[Edge]:
    """MST edges of a dense symmetric matrix (off-diagonal ``+inf`` = no edge), O(n^2)."""
    n = v.shape[0]
    in_tree = np.zeros(n, dtype=bool)
    best = np.full(n, np.inf)
    parent = np.full(n, -1)
    edges: list[Edge] = []
    for _ in range(n):
        cand = np.where(in_tree, np.inf, best)
        k = int(np.argmin(cand))
        if cand[k] == np.inf:  # new component: restart at the lowest unvisited index
            k = int(np.argmin(in_tree))
        else:
            edges.append((min(k, int(parent[k])), max(k, int(parent[k])), float(best[k])))
        in_tree[k] = True
        closer = ~in_tree & (v[k] < best)
        best[closer] = v[k][closer]
        parent[closer] = k
    return edges


def _tree_minimax(n: int, tree: Iterable[Edge]) -> tuple[np.ndarray, np.ndarray]:
    """Highest edge on every tree path, and that edge, by replaying Kruskal, O(n^2).

    When an edge joins two components it is the highest edge between every pair across
    them (later edges are no lower).  Unconnected pairs stay ``+inf`` / ``(-1, -1)``.
    """
    values = np.full((n, n), np.inf)
    via = np.full((n, n, 2), -1, dtype=np.intp)
    uf = UnionFind(n)
    members = {k: [k] for k in range(n)}
    for i, j, w in sorted(tree, key=lambda e: (e[2], e[0], e[1])):
        ri, rj = uf.find(i), uf.find(j)
        a, b = members.pop(ri), members.pop(rj)
        for rows, cols in ((a, b), (b, a)):
            values[np.ix_(rows, cols)] = w
            via[np.ix_(rows, cols)] = (i, j)
        members[uf.union(ri, rj)] = a + b
    return values, via


def saddle_matrix(n: int, edges: EdgesLike, minima_energies: Any = None) -> SaddleMatrix:
    """Ultrametric saddle bounds between all pairs of ``n`` minima from computed paths.

    ``values[i, j]`` is the minimax edge over the MST path between ``i`` and ``j``, which
    equals the minimax over all chains of computed paths.  Built by replaying Kruskal:
    when an edge joins two components, it bounds every pair across them.

    Raises:
        LandscapeError: bad indices or energies, or a saddle below one of its minima.
    """
    n = _check_n(n)
    energies = _check_energies(n, minima_energies)
    edges = _normalise_edges(n, edges)  # once: `edges` may be a one-shot iterator
    check_saddles_above_minima(edges, energies)
    tree = minimum_spanning_edges(n, edges)
    values, via = _tree_minimax(n, tree)
    np.fill_diagonal(values, -np.inf if energies is None else energies)
    values.flags.writeable = False
    via.flags.writeable = False
    return SaddleMatrix(values=values, via=via, mst=tuple(tree), minima_energies=energies)


def is_ultrametric(values: MatrixLike, rtol: float = 0.0, atol: float = 0.0) -> bool:
    """Whether ``values`` is symmetric and ``values[i, k] <= max(values[i, j], values[j, k])``.

    Includes ``i == k``, so the diagonal must not exceed its row.  ``+inf`` is allowed
    (unconnected pairs); a ``nan`` anywhere makes the answer ``False``.
    """
    v = values.values if isinstance(values, SaddleMatrix) else np.asarray(values, dtype=float)
    if v.ndim != 2 or v.shape[0] != v.shape[1]:
        raise LandscapeError(f"saddle matrix must be square (n, n), got shape {v.shape}")
    if np.any(np.isnan(v)) or not np.array_equal(v, v.T):
        return False
    if v.shape[0] < 2:
        return True
    finite = v[np.isfinite(v)]
    slack = atol + rtol * (float(np.max(np.abs(finite))) if finite.size else 0.0)
    off = v.copy()
    np.fill_diagonal(off, np.inf)
    if np.any(np.diag(v) > off.min(axis=1) + slack):  # the i == k case
        return False
    # ultrametric <=> every entry is at most the minimax over paths (the MST bound),
    # which checks all triples in O(n^2) instead of O(n^3)
    closure, _ = _tree_minimax(v.shape[0], prim_forest(off))
    np.fill_diagonal(closure, np.inf)
    return not np.any(off > closure + slack)
