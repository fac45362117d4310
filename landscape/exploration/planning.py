"""Which pairs to run next (pure: no I/O), so every executor merges the same answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from landscape.analysis.graphs import Edge, SaddleMatrix, UnionFind, saddle_matrix
from landscape.foundations.errors import LandscapeError

if TYPE_CHECKING:
    pass

__all__ = ["RULES", "ORDERS", "Pair", "ExplorePlan", "ordered_pair", "check_choice", "propose"]

Pair = tuple[int, int]
RULES = ("closest", "lowest")
ORDERS = ("highest", "nearest")


@dataclass(frozen=True, eq=False)
class ExplorePlan:
    """The next proposals for a set of computed edges, and what follows from them.

    `proposals` are pairs ``(i, j)``, ``i < j``, in the order they merge; `tree` the MST
    (``(i, j, w)`` edges); `open` the number of pairs that could still lower each tree
    edge (0: final); `unconnected` the number of components beyond the first.
    """

    proposals: tuple[Pair, ...]
    tree: tuple[Edge, ...]
    open: Mapping[Pair, int]
    unconnected: int
    matrix: SaddleMatrix

    @property
    def final(self) -> frozenset[Pair]:
        return frozenset(p for p, k in self.open.items() if k == 0)

    @property
    def complete(self) -> bool:
        return not self.proposals


def ordered_pair(i: int, j: int) -> Pair:
    return (int(i), int(j)) if i < j else (int(j), int(i))


def _components(n: int, tree: Sequence[Edge]) -> np.ndarray:
    """Component label of every minimum, labels numbered by lowest member (0's is 0)."""
    uf = UnionFind(n)
    for i, j, _ in tree:
        uf.union(uf.find(i), uf.find(j))
    first: dict[int, int] = {}
    return np.array([first.setdefault(uf.find(k), len(first)) for k in range(n)], dtype=np.intp)


def _side(n: int, tree: Sequence[Edge], cut: Edge) -> np.ndarray:
    """Boolean mask of the minima on `cut[0]`'s side of the tree without edge `cut`."""
    adjacent: list[list[int]] = [[] for _ in range(n)]
    for i, j, _ in tree:
        if (i, j) != (cut[0], cut[1]):
            adjacent[i].append(j)
            adjacent[j].append(i)
    seen = np.zeros(n, dtype=bool)
    seen[cut[0]] = True
    stack = [cut[0]]
    while stack:
        for k in adjacent[stack.pop()]:
            if not seen[k]:
                seen[k] = True
                stack.append(k)
    return seen


def _ordered(candidates: np.ndarray, key: np.ndarray, tiebreak: np.ndarray | None = None) -> list[Pair]:
    """Pairs (rows of an (k, 2) index array) sorted by `key`, then `tiebreak`, then (i, j)."""
    if len(candidates) == 0:
        return []
    i, j = candidates[:, 0], candidates[:, 1]
    keys = [j, i] + ([tiebreak] if tiebreak is not None else []) + [key]
    order = np.lexsort(keys)
    return [(int(i[k]), int(j[k])) for k in order]


def _connect_groups(n: int, labels: np.ndarray, computed: np.ndarray) -> list[list[Pair]]:
    """Per component other than minimum 0's: the first uncomputed pair joining it to the
    rest, by (component of the other end, its index, this end's index); one per round,
    as a further pair is needed only when that one fails."""
    groups = []
    upper = np.triu(np.ones((n, n), dtype=bool), 1)
    for c in range(1, int(labels.max()) + 1):
        inside = labels == c
        across = (np.outer(~inside, inside) | np.outer(inside, ~inside)) & upper & ~computed
        cand = np.argwhere(across)
        if len(cand):
            a = np.where(inside[cand[:, 0]], cand[:, 1], cand[:, 0])  # the end outside c
            b = np.where(inside[cand[:, 0]], cand[:, 0], cand[:, 1])
            first = np.lexsort([b, a, labels[a]])[0]
            groups.append([ordered_pair(a[first], b[first])])
    return groups


@dataclass(frozen=True)
class _Ranking:
    """(n, n) matrices that rank the pairs: `key` by the rule, `tie` its tie-break (None
    for none), and the distances the "nearest" order needs (None for "highest")."""

    key: np.ndarray
    tie: np.ndarray | None
    nearest: np.ndarray | None


def _ranking(rule: str, order: str, energies: np.ndarray, distances: Any) -> _Ranking:
    """The pairs' ranking; the one-line error when the rule or order needs the
    distances between the minima and none were given."""
    if distances is None:
        if rule == "closest" or order == "nearest":
            raise LandscapeError(f"rule {rule!r} with order {order!r} needs the distances between minima")
        return _Ranking(np.maximum.outer(energies, energies), np.minimum.outer(energies, energies), None)
    d = np.asarray(distances, dtype=np.float64)
    nearest = d if order == "nearest" else None
    if rule == "closest":
        return _Ranking(d, None, nearest)
    return _Ranking(np.maximum.outer(energies, energies), np.minimum.outer(energies, energies), nearest)


def _tree_groups(
    n: int,
    tree: Sequence[Edge],
    labels: np.ndarray,
    energies: np.ndarray,
    ranking: _Ranking,
    computed: np.ndarray,
) -> tuple[list[list[Pair]], dict[Pair, int]]:
    """Per tree edge: the pairs across its cut (within its component) that could lower
    it, best first by the rule; the groups in the order ("highest" edge first, or the
    one with the "nearest" open pair), both as `ranking` holds them."""
    upper = np.triu(np.ones((n, n), dtype=bool), 1)
    high = np.maximum.outer(energies, energies)
    groups: list[tuple[float, int, list[Pair]]] = []
    open_: dict[Pair, int] = {}
    for rank, edge in enumerate(sorted(tree, key=lambda e: (-e[2], e[0], e[1]))):
        a = _side(n, tree, edge)
        b = (labels == labels[edge[0]]) & ~a
        cand = np.argwhere((np.outer(a, b) | np.outer(b, a)) & upper & ~computed & (high < edge[2]))
        i, j = cand[:, 0], cand[:, 1]
        group = _ordered(cand, ranking.key[i, j], None if ranking.tie is None else ranking.tie[i, j])
        open_[(edge[0], edge[1])] = len(group)
        if group:
            nearest = 0.0 if ranking.nearest is None else float(ranking.nearest[i, j].min())
            groups.append((nearest, rank, group))
    groups.sort(key=lambda g: (g[0], g[1]))  # stable: "highest" keeps the height order
    return [g[2] for g in groups], open_


def _round_robin(groups: Sequence[Sequence[Pair]], k: int) -> list[Pair]:
    """Up to `k` distinct pairs: the best of each group in turn, then the next best, ..."""
    chosen: list[Pair] = []
    seen: set[Pair] = set()
    cursors = [iter(g) for g in groups]
    while cursors and len(chosen) < k:
        alive = []
        for it in cursors:
            for pair in it:
                if pair not in seen:
                    seen.add(pair)
                    chosen.append(pair)
                    alive.append(it)
                    break
            if len(chosen) == k:
                break
        cursors = alive
    return chosen


def check_choice(rule: str, order: str) -> None:
    if rule not in RULES:
        raise LandscapeError(f"unknown pair rule {rule!r}; choose one of {', '.join(RULES)}")
    if order not in ORDERS:
        raise LandscapeError(f"unknown edge order {order!r}; choose one of {', '.join(ORDERS)}")


def propose(
    n: int,
    energies: Any,
    edges: Mapping[Pair, float],
    *,
    batch: int = 1,
    rule: str = "closest",
    order: str = "highest",
    distances: Any = None,
) -> ExplorePlan:
    """The next `batch` pairs to compute, given the computed `edges` (pair -> energy).

    Pure and deterministic: the same edges give the same proposals.  Edges at +inf
    count as computed (failed paths are not retried).  `distances` (n, n) between the
    minima are needed by the ``"closest"`` rule and the ``"nearest"`` order.
    """
    check_choice(rule, order)
    e = np.asarray(energies, dtype=np.float64)
    ranking = _ranking(rule, order, e, distances)
    if isinstance(batch, bool) or int(batch) != batch or batch < 1:
        raise LandscapeError(f"batch must be a positive integer, got {batch!r}")
    computed = np.eye(n, dtype=bool)
    for i, j in edges:
        computed[i, j] = computed[j, i] = True
    matrix = saddle_matrix(n, {p: w for p, w in edges.items() if np.isfinite(w)}, e)
    labels = _components(n, matrix.mst)
    tree_groups, open_ = _tree_groups(n, matrix.mst, labels, e, ranking, computed)
    groups = _connect_groups(n, labels, computed) + tree_groups
    return ExplorePlan(tuple(_round_robin(groups, int(batch))), matrix.mst, open_, int(labels.max()), matrix)
