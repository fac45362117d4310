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

Pure numpy; networkx is imported only by :func:`disconnectivity_tree`.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from landscape.foundations.errors import LandscapeError

if TYPE_CHECKING:  # networkx is imported lazily, only when a tree is built
    import networkx as nx

__all__ = [
    "Edge",
    "SaddleMatrix",
    "minimum_spanning_edges",
    "saddle_matrix",
    "is_ultrametric",
    "linkage_sentinel",
    "single_linkage",
    "clusters",
    "disconnectivity_tree",
]

Edge = tuple[int, int, float]
EdgesLike = Union[Mapping[tuple[int, int], float], Iterable[Sequence[Any]]]


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


MatrixLike = Union[SaddleMatrix, np.ndarray, Sequence[Sequence[float]]]


class _UnionFind:
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


def _check_saddles_above_minima(edges: Iterable[Edge], energies: np.ndarray | None) -> None:
    """A path's maximum includes its ends, so a saddle below an end is inconsistent input."""
    if energies is None:
        return
    for i, j, w in edges:
        k = i if energies[i] >= energies[j] else j
        if w < energies[k]:
            raise LandscapeError(
                f"saddle energy {w} between minima {i} and {j} lies below minimum {k}'s energy {energies[k]}"
            )


def _as_values(matrix: MatrixLike) -> np.ndarray:
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


def _energies_of(matrix: MatrixLike, minima_energies: Any, n: int) -> np.ndarray | None:
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
    uf = _UnionFind(n)
    tree: list[Edge] = []
    for i, j, w in sorted(_normalise_edges(n, edges), key=lambda e: (e[2], e[0], e[1])):
        ri, rj = uf.find(i), uf.find(j)
        if ri != rj:
            uf.union(ri, rj)
            tree.append((i, j, w))
            if len(tree) == n - 1:
                break
    return tree


def _prim_forest(v: np.ndarray) -> list[Edge]:
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
    uf = _UnionFind(n)
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
    _check_saddles_above_minima(edges, energies)
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
    closure, _ = _tree_minimax(v.shape[0], _prim_forest(off))
    np.fill_diagonal(closure, np.inf)
    return not np.any(off > closure + slack)


# --------------------------------------------------------------------------- linkage


def linkage_sentinel(matrix: MatrixLike, minima_energies: Any = None) -> float:
    """The finite height :func:`single_linkage` gives merges of unconnected components.

    It is ``top + max(top - bottom, |top|, 1)`` over the finite saddles and minimum energies
    (``minima_energies``, a SaddleMatrix's energies, and any finite diagonal entries), so
    it lies clearly above every real saddle.  Rows of the linkage with
    ``Z[:, 2] == linkage_sentinel(matrix)`` are the sentinel merges.
    """
    v = _as_values(matrix)
    e = _energies_of(matrix, minima_energies, v.shape[0])
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
    v = _as_values(matrix)
    n = v.shape[0]
    sentinel = linkage_sentinel(matrix, minima_energies)
    off = v.copy()
    np.fill_diagonal(off, np.inf)
    tree = sorted(_prim_forest(off), key=lambda e: (e[2], e[0], e[1]))
    uf = _UnionFind(n)
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
    v = _as_values(matrix)
    n = v.shape[0]
    if np.isnan(level):
        raise LandscapeError("cluster level must be a number, got nan")
    off = v.copy()
    np.fill_diagonal(off, np.inf)
    uf = _UnionFind(n)
    for i, j, w in _prim_forest(off):  # MST edges below a level connect what all pairs do
        if w <= level:
            uf.union(uf.find(i), uf.find(j))
    roots = [uf.find(k) for k in range(n)]
    first: dict[int, int] = {}
    return np.array([first.setdefault(r, len(first)) for r in roots], dtype=np.intp)


# --------------------------------------------------------------------------- tree


def disconnectivity_tree(
    matrix: MatrixLike, minima_energies: Any = None, names: Sequence[str] | None = None
) -> nx.DiGraph:
    """Rooted disconnectivity tree (Wales et al. 1998) of the minima.

    Nodes ``0..n-1`` are the minima (attributes ``kind="minimum"``, ``index``, ``name``,
    ``energy``).  Nodes ``n, n+1, ...`` are joins (``kind="join"``, ``energy`` = the exact
    saddle energy, ``children`` and ``leaves`` as sorted tuples); edges point from a join
    to its children.  Joins at exactly equal energy that are nested merge into one node, so
    a join may have more than two children.  If the minima are not all connected, the root
    is a join at ``energy=inf``.  For any two minima, the energy of their lowest common
    ancestor equals ``values[i, j]``.  ``graph.graph["root"]`` names the root.

    Every minimum appears, whatever its energy or join height.  ``minima_energies`` defaults
    to those of a :class:`SaddleMatrix`.
    """
    import networkx as nx

    v = _as_values(matrix)
    n = v.shape[0]
    energies = _energies_of(matrix, minima_energies, n)
    if energies is None:
        raise LandscapeError("disconnectivity_tree needs minima_energies")
    if names is not None and len(names) != n:
        raise LandscapeError(f"names must have {n} entries, got {len(names)}")
    off = v.copy()
    np.fill_diagonal(off, np.inf)
    _check_saddles_above_minima(_prim_forest(off), energies)

    g = nx.DiGraph()
    for k in range(n):
        name = str(k) if names is None else str(names[k])
        g.add_node(k, kind="minimum", index=k, name=name, energy=float(energies[k]))
    z = single_linkage(v, energies)
    sentinel = linkage_sentinel(v, energies)
    node_of = list(range(n))  # linkage cluster id -> tree node
    next_node = n
    for a, b, height, _ in z:
        energy = np.inf if height == sentinel else float(height)
        children: list[int] = []
        for c in (node_of[int(a)], node_of[int(b)]):
            if g.nodes[c]["kind"] == "join" and g.nodes[c]["energy"] == energy:
                children.extend(g.successors(c))  # nested join at the same energy: absorb it
                g.remove_node(c)
            else:
                children.append(c)
        g.add_node(next_node, kind="join", energy=energy)
        g.add_edges_from((next_node, c) for c in children)
        node_of.append(next_node)
        next_node += 1
    # number the joins n, n+1, ... in order of creation despite absorbed ones
    joins = sorted(node for node in g if node >= n)
    g = nx.relabel_nodes(g, {old: n + k for k, old in enumerate(joins)})
    _annotate_joins(g)
    g.graph["root"] = n + len(joins) - 1 if joins else 0
    return g


def _annotate_joins(g: nx.DiGraph) -> None:
    """Store each join's sorted children and leaves (as attributes, for plotting and I/O)."""
    import networkx as nx

    for node in reversed(list(nx.topological_sort(g))):
        if g.nodes[node]["kind"] != "join":
            continue
        children = tuple(sorted(g.successors(node)))
        leaves: list[int] = []
        for c in children:
            leaves.extend(g.nodes[c]["leaves"] if g.nodes[c]["kind"] == "join" else (c,))
        g.nodes[node]["children"] = children
        g.nodes[node]["leaves"] = tuple(sorted(leaves))
