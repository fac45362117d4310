"""Landscape exploration (Draxler et al. 2018, Algorithm 3): saddle bounds between many minima.

Saddle energies obey the ultrametric inequality ``L_ik <= max(L_ij, L_jk)``, so any
spanning tree of computed paths bounds every pair, and the minimum spanning tree (MST)
of the computed paths gives the best bounds (`landscape.graphs`).  Exploration:

1. Start from a star, minimum 0 (the lowest) to every other minimum, or from given
   paths; while the computed paths leave minima unconnected, connect each component to
   the rest (lowest indices first, so a plain start is the star).
2. Repeatedly take the highest MST edge that is not final, remove it (the tree falls into
   sides A and B), and run a path between a pair (a in A, b in B) with no path yet.  The
   pair is chosen by `rule`: ``"closest"`` (default) takes the pair whose minima are
   nearest in coordinates: neighbouring basins are the likeliest to share a low direct
   saddle; ``"lowest"`` takes the pair whose higher minimum is lowest.  The new edge
   enters the graph and the MST is recomputed (it changes only if the edge is lower).
   `order="nearest"` takes the non-final edge with the closest open pair instead of the
   highest: it tends to reach the final bounds in fewer runs, while the paper's
   ``"highest"`` lowers the worst bound first (docs/exploration.md).
3. An MST edge of energy w is *final* when every pair across its cut has a path, or
   cannot go below w because one of its minima already lies at or above w (a path
   includes its ends).  Then, by the cut property, no uncomputed path could change the
   tree across that cut.  Exploration is complete when every MST edge is final; its tree
   is then the MST of all pairs, as if every path had been computed.

Batches: each round proposes `batch` pairs, one under each of the first non-final
edges in that order, then further pairs under the same edges, so `batch` paths run at
once (while minima are unconnected: one pair per component).
Results merge in proposal order, never in completion order, so the same settings give
the same exploration on every executor; a batch of 1 is the paper's sequential
algorithm.

Edge energies are each path's `upper_bound` (the highest energy seen on the final
path, pivots and dense points), never below either minimum's energy: a certified bound
on the minimax energy, whereas a climbing image's energy can lie below the true
barrier when the band jumps a ridge between pivots.  A path with non-finite energies is
an edge at +inf (it bounds nothing) and is not retried.

With a store, every merged batch is one atomic transaction (its paths and the /graph
group), so a crash loses at most the runs in flight; `explore` on that store continues
from its paths and reaches the same final tree as an uninterrupted run.  A continuation
must compute its paths as the stored ones were (`PATH_SETTINGS`, refused otherwise,
naming them); what only chooses the next pair, where it runs or how it is shown may
change.  A complete exploration that runs nothing is left as it was stored.
"""
from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

import numpy as np

from landscape.optimizers.driver import Budget
from landscape.foundations.errors import LandscapeError
from landscape.foundations.files import store_path
from landscape.potentials.identity import differences, record, require_same, same_points, shown
from landscape.graphs import Edge, SaddleMatrix, _UnionFind, clusters, disconnectivity_tree, saddle_matrix, single_linkage
from landscape.foundations.lock import WriterLock
from landscape.paths.path import to_numpy
from landscape.potentials.potential import Potential
from landscape.paths.result import Result, Status
from landscape.potentials.symmetry import align, distance_matrix, images, symmetry_of

if TYPE_CHECKING:
    import networkx as nx
    from matplotlib.axes import Axes

    from landscape.runs.executors import Executor, PairTask, PotentialSource
    from landscape.optimizers.base import PathOptimizer
    from landscape.store import Store

__all__ = [
    "RULES",
    "ORDERS",
    "GRAPH_GROUP",
    "PATH_SETTINGS",
    "ExploreBudget",
    "ExploreStatus",
    "ExplorePlan",
    "Exploration",
    "propose",
    "edge_energy",
    "path_name",
    "explore",
    "load_exploration",
]

Pair = tuple[int, int]
RULES = ("closest", "lowest")
ORDERS = ("highest", "nearest")
#: The store group holding the exploration graph (see `_graph_arrays`).
GRAPH_GROUP = "graph"
#: Keys of the stored config that decide how each path is computed, and so its answer:
#: a continued exploration keeps them, or its paths would mix two computations.  The
#: others (pairs per round, rule, order, executor, seed, tags) choose which pair runs
#: next, where and how: every stored path stays valid under any of them.
PATH_SETTINGS = ("optimizer", "pivots", "run_budget", "edge_energy", "aligned_ends")


@dataclass(frozen=True)
class ExploreBudget:
    """Limits on one `explore` call; None means unlimited.

    `max_runs` counts path runs and `max_evaluations` the points they evaluated, both in
    this call; `max_seconds` is wall time.  Checked between batches: a batch in flight
    always finishes, and a batch never starts more runs than `max_runs` leaves.
    """

    max_runs: int | None = None
    max_evaluations: int | None = None
    max_seconds: float | None = None

    def __post_init__(self) -> None:
        for name in ("max_runs", "max_evaluations"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or int(value) != value or value < 0):
                raise LandscapeError(f"{name} must be a non-negative integer, got {value!r}")
        if self.max_seconds is not None and not self.max_seconds >= 0:
            raise LandscapeError(f"max_seconds must be >= 0, got {self.max_seconds!r}")

    def exceeded(self, runs: int, evaluations: int, seconds: float) -> tuple[ExploreStatus, str] | None:
        if self.max_runs is not None and runs >= self.max_runs:
            return ExploreStatus.MAX_RUNS, f"run budget of {self.max_runs} spent"
        if self.max_evaluations is not None and evaluations >= self.max_evaluations:
            return ExploreStatus.MAX_EVALUATIONS, f"evaluation budget of {self.max_evaluations} spent"
        if self.max_seconds is not None and seconds >= self.max_seconds:
            return ExploreStatus.MAX_SECONDS, f"time budget of {self.max_seconds:g} s spent"
        return None

    def runs_left(self, runs: int) -> int | None:
        return None if self.max_runs is None else self.max_runs - runs


class ExploreStatus(str, Enum):
    """Why an exploration stopped; `complete` means every MST edge is final."""

    COMPLETE = "complete"
    MAX_RUNS = "max_runs"
    MAX_EVALUATIONS = "max_evaluations"
    MAX_SECONDS = "max_seconds"
    INTERRUPTED = "interrupted"


# --------------------------------------------------------------------------- planning


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


def _pair(i: int, j: int) -> Pair:
    return (int(i), int(j)) if i < j else (int(j), int(i))


def _components(n: int, tree: Sequence[Edge]) -> np.ndarray:
    """Component label of every minimum, labels numbered by lowest member (0's is 0)."""
    uf = _UnionFind(n)
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
            groups.append([_pair(a[first], b[first])])
    return groups


def _rule_key(rule: str, i: np.ndarray, j: np.ndarray, energies: np.ndarray,
              distances: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    if rule == "closest":
        assert distances is not None  # propose() checked
        return distances[i, j], None
    high = np.maximum(energies[i], energies[j])
    low = np.minimum(energies[i], energies[j])
    return high, low


def _tree_groups(n: int, tree: Sequence[Edge], labels: np.ndarray, energies: np.ndarray,
                 distances: np.ndarray | None, computed: np.ndarray, rule: str,
                 order: str) -> tuple[list[list[Pair]], dict[Pair, int]]:
    """Per tree edge: the pairs across its cut (within its component) that could lower
    it, best first by `rule`; the groups in `order` ("highest" edge first, or the one
    with the "nearest" open pair)."""
    upper = np.triu(np.ones((n, n), dtype=bool), 1)
    high = np.maximum.outer(energies, energies)
    groups: list[tuple[float, int, list[Pair]]] = []
    open_: dict[Pair, int] = {}
    for rank, edge in enumerate(sorted(tree, key=lambda e: (-e[2], e[0], e[1]))):
        a = _side(n, tree, edge)
        b = (labels == labels[edge[0]]) & ~a
        cand = np.argwhere((np.outer(a, b) | np.outer(b, a)) & upper & ~computed & (high < edge[2]))
        key, tie = _rule_key(rule, cand[:, 0], cand[:, 1], energies, distances)
        group = _ordered(cand, key, tie)
        open_[(edge[0], edge[1])] = len(group)
        if group:
            nearest = float(distances[cand[:, 0], cand[:, 1]].min()) if order == "nearest" else 0.0
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
    _check_choice(rule, order)
    if distances is None and (rule == "closest" or order == "nearest"):
        raise LandscapeError(f"rule {rule!r} with order {order!r} needs the distances between minima")
    if isinstance(batch, bool) or int(batch) != batch or batch < 1:
        raise LandscapeError(f"batch must be a positive integer, got {batch!r}")
    e = np.asarray(energies, dtype=np.float64)
    d = None if distances is None else np.asarray(distances, dtype=np.float64)
    computed = np.eye(n, dtype=bool)
    for i, j in edges:
        computed[i, j] = computed[j, i] = True
    matrix = saddle_matrix(n, {p: w for p, w in edges.items() if np.isfinite(w)}, e)
    labels = _components(n, matrix.mst)
    tree_groups, open_ = _tree_groups(n, matrix.mst, labels, e, d, computed, rule, order)
    groups = _connect_groups(n, labels, computed) + tree_groups
    return ExplorePlan(tuple(_round_robin(groups, int(batch))), matrix.mst, open_, int(labels.max()), matrix)


# --------------------------------------------------------------------------- results


def edge_energy(result: Result, e_start: float, e_end: float) -> float:
    """The energy of the edge a path certifies: its upper bound, never below its ends;
    +inf for a path with non-finite pivots or energies."""
    pivots, energies = to_numpy(result.path.pivots), result.path.energies
    if energies is None or not np.all(np.isfinite(pivots)) or not np.all(np.isfinite(to_numpy(energies))):
        return float("inf")
    bound = float(result.upper_bound)
    return max(bound, float(e_start), float(e_end)) if np.isfinite(bound) else float("inf")


def path_name(names: Sequence[str], i: int, j: int) -> str:
    """The store name of the path between minima i < j, e.g. "m0-m3"."""
    return f"{names[i]}-{names[j]}"


@dataclass(frozen=True, eq=False)
class Exploration:
    """A finished (or stopped) exploration: frozen.

    Attributes:
        names, coords, energies: the minima (coords on the host).
        edges: every computed pair ``(i, j)``, ``i < j`` -> edge energy (+inf: failed).
        results: the Result of every path run by this call (and given initial Results).
        paths: store path name of every stored edge.
        tree: the MST edges ``(i, j, w)``; `final`: those that cannot improve.
        matrix: the ultrametric saddle bounds; `linkage`: its single linkage (scipy format).
        runs, evaluations, seconds: work done by this call; `batches`: its proposals;
            `evaluations_total` counts every exploration call on the store too;
            `runs_resumed`: runs of this call that continued a run an earlier call left
            in flight (from its committed cycles or state).
        status, message: why it stopped; `config`: the settings (JSON-able).
    """

    names: tuple[str, ...]
    coords: np.ndarray
    energies: np.ndarray
    edges: Mapping[Pair, float]
    results: Mapping[Pair, Result]
    paths: Mapping[Pair, str]
    tree: tuple[Edge, ...]
    final: frozenset[Pair]
    open: Mapping[Pair, int]
    matrix: SaddleMatrix
    linkage: np.ndarray
    runs: int
    evaluations: int
    seconds: float
    batches: tuple[tuple[Pair, ...], ...]
    status: ExploreStatus
    message: str
    evaluations_total: int = 0
    config: Mapping[str, Any] = field(default_factory=dict)
    store: str | None = None
    runs_resumed: int = 0

    @property
    def n(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        """A short summary; the arrays and results stay attributes."""
        final = sum((i, j) in self.final for i, j, _ in self.tree)
        rows = [("status", f"{self.status.value} ({self.message})"), ("minima", self.n),
                ("pairs computed", f"{len(self.edges)} of {self.pairs_total}"),
                ("tree", f"{len(self.tree)} edges, {final} final"),
                ("highest tree edge", f"{max((w for *_, w in self.tree), default=float('nan')):.10g}"),
                ("this call", f"{self.runs} runs, {self.evaluations} evaluations, {self.seconds:.2f} s"),
                ("store", self.store)]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:>{width}}: {v}" for k, v in rows if v is not None)

    @property
    def complete(self) -> bool:
        return self.status is ExploreStatus.COMPLETE

    @property
    def in_tree(self) -> frozenset[Pair]:
        return frozenset((i, j) for i, j, _ in self.tree)

    @property
    def pairs_total(self) -> int:
        return self.n * (self.n - 1) // 2

    def bound(self, i: int, j: int) -> float:
        """Upper bound on the saddle energy between minima i and j."""
        return float(self.matrix.values[i, j])

    def clusters(self, level: float) -> np.ndarray:
        """Cluster labels of the minima joined at or below the saddle energy `level`."""
        return clusters(self.matrix, level)

    def disconnectivity_tree(self) -> nx.DiGraph:
        return disconnectivity_tree(self.matrix, self.energies, list(self.names))

    def plot(self, **kwargs: Any) -> Axes:
        """The disconnectivity graph (see `landscape.dgraph.plot_disconnectivity`)."""
        from landscape.dgraph import plot_disconnectivity

        return plot_disconnectivity(self.disconnectivity_tree(), **kwargs)


# --------------------------------------------------------------------------- state and store


@dataclass
class _State:
    """What an exploration knows: computed edges in the order they were merged."""

    names: list[str]
    coords: np.ndarray
    energies: np.ndarray
    edges: dict[Pair, float] = field(default_factory=dict)
    batch_of: dict[Pair, int] = field(default_factory=dict)  # -1: loaded or given
    paths: dict[Pair, str] = field(default_factory=dict)
    results: dict[Pair, Result] = field(default_factory=dict)
    evaluations_before: int = 0  # by earlier calls on the same store
    batches_before: int = 0
    running: set[str] = field(default_factory=set)  # paths an earlier call left in flight
    recorded: dict[str, Any] = field(default_factory=dict)  # /graph attributes an earlier call committed
    aligned_distances: np.ndarray | None = None  # between the minima modulo a symmetry, stored in /graph

    def add(self, pair: Pair, energy: float, batch: int) -> None:
        if pair not in self.edges or energy < self.edges[pair]:
            self.edges[pair] = energy
        self.batch_of.setdefault(pair, batch)


def _graph_arrays(state: _State, p: ExplorePlan) -> dict[str, np.ndarray]:
    """/graph: every computed pair (pairs, energies, batch), which are in the tree and
    final, the saddle matrix with the edge that sets each entry, and the linkage."""
    pairs = list(state.edges)
    tree = {(i, j) for i, j, _ in p.tree}
    final = p.final
    return {
        "pairs": np.array(pairs, dtype=np.int64).reshape(-1, 2),
        "energies": np.array([state.edges[q] for q in pairs], dtype=np.float64),
        "batch": np.array([state.batch_of.get(q, -1) for q in pairs], dtype=np.int64),
        "in_tree": np.array([q in tree for q in pairs], dtype=bool),
        "final": np.array([q in final for q in pairs], dtype=bool),
        "saddle_matrix": p.matrix.values,
        "via": p.matrix.via,
        "linkage": single_linkage(p.matrix),
        **({} if state.aligned_distances is None else {"distances": state.aligned_distances}),
    }


def _index_of(value: Any, names: Sequence[str]) -> int | None:
    if isinstance(value, str):
        return names.index(value) if value in names else None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and 0 <= value < len(names):
        return int(value)
    return None


def _stored_edges(store: Store, state: _State) -> None:
    """Edges from a store: its finished paths between stored minima, and the failed
    pairs (+inf) that an earlier exploration recorded in /graph."""
    for name in store.path_names():
        info = store.path_info(name)
        i, j = _index_of(info.get("start"), state.names), _index_of(info.get("end"), state.names)
        if i is None or j is None or i == j:
            continue
        if info.get("status") == Status.RUNNING.value:  # in flight when an earlier call stopped
            state.running.add(name)
            continue
        bound = info.get("upper_bound", info.get("saddle_energy", float("inf")))
        energy = max(float(bound), state.energies[i], state.energies[j]) if np.isfinite(bound) else float("inf")
        pair = _pair(i, j)
        state.add(pair, energy, -1)
        state.paths.setdefault(pair, name)
    arrays, attrs = _read_graph(store)
    stored = arrays.get("distances")  # aligned distances an earlier call computed
    if stored is not None and stored.shape == (len(state.names),) * 2:
        state.aligned_distances = np.asarray(stored, dtype=np.float64)
    state.recorded = dict(attrs)
    state.evaluations_before = int(attrs.get("evaluations_total", 0))
    state.batches_before = int(attrs.get("batches_total", 0))
    for (i, j), w, b in zip(arrays.get("pairs", []), arrays.get("energies", []), arrays.get("batch", [])):
        if 0 <= i < len(state.names) and 0 <= j < len(state.names) and i != j:
            pair = _pair(i, j)
            state.add(pair, float(w), -1)  # keeps the lower of path and record
            state.batch_of[pair] = int(b)


def _read_graph(store: Store) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The /graph group of an earlier exploration, or empty when there is none."""
    try:
        return store.read_array_group(GRAPH_GROUP)
    except LandscapeError:
        return {}, {}


def _check_minima(coords: np.ndarray, dim: int) -> np.ndarray:
    c = np.asarray(to_numpy(coords), dtype=np.float64)
    if c.ndim != 2 or c.shape[0] < 1 or c.shape[1] != dim:
        raise LandscapeError(f"minima must have shape (m >= 1, {dim}), got {c.shape}")
    if not np.all(np.isfinite(c)):
        raise LandscapeError("minima contain NaN or infinite coordinates")
    if len(np.unique(c, axis=0)) != len(c):
        raise LandscapeError("two minima have the same coordinates; remove the duplicate")
    return c


def _check_images(potential: Potential, coords: np.ndarray, names: Sequence[str] | None) -> np.ndarray | None:
    """No two minima may be images of one state under the potential's symmetry: a run
    between them would measure the symmetry, not the landscape.  Returns the aligned
    distances it computed (the exploration's proposals use them), None without a symmetry."""
    if symmetry_of(potential) is None:
        return None
    d = distance_matrix(potential, coords)
    tol = 1e-6 * max(1.0, float(np.max(np.abs(coords))))
    same = images(potential, coords, tol, d)
    if same:
        i, j = same[0]
        label = (lambda k: f"m{k}") if names is None else (lambda k: str(names[k]))
        raise LandscapeError(f"minima {label(i)} and {label(j)} are images of one state under {potential.name}'s "
                             f"symmetry ({len(same)} such pair(s)); keep one of each (landscape minima does)")
    return d


def _open_or_create(filename: str, potential: Potential, coords: np.ndarray | None, names: Sequence[str] | None,
                    description: Mapping[str, Any] | None) -> _State:
    """The exploration state of a store; a new store is created (with the minima) first."""
    from landscape.store import Store, vacant

    if vacant(filename):  # a damaged store is refused by Store.open below, never replaced
        if coords is None:
            raise LandscapeError(f"store {filename} does not exist; give the minima to create it")
        state = _fresh_state(potential, coords, names)
        with Store.create(filename, dict(description or record(potential))) as store:
            store.write_minima(state.coords, state.energies, state.names)
        return state
    with Store.open(filename) as store:
        require_same(store.potential_description, description or record(potential), filename)
        stored, energies, stored_names = store.read_minima()
        if coords is not None and not same_points(_check_minima(coords, potential.dim), stored):
            raise LandscapeError(f"store {filename} holds different minima than the ones given")
        if names is not None and list(names) != stored_names:
            raise LandscapeError(f"store {filename} names its minima {stored_names[:5]}..., not as given")
        state = _State(list(stored_names), _check_minima(stored, potential.dim), np.asarray(energies, dtype=np.float64))
        _stored_edges(store, state)
    return state


def _fresh_state(potential: Potential, coords: Any, names: Sequence[str] | None) -> _State:
    c = _check_minima(coords, potential.dim)
    aligned = _check_images(potential, c, names)
    names = [f"m{i}" for i in range(len(c))] if names is None else [str(n) for n in names]
    if len(names) != len(c) or len(set(names)) != len(names):
        raise LandscapeError(f"need {len(c)} distinct names for the minima, got {len(names)} ({len(set(names))} distinct)")
    energies = np.asarray(to_numpy(potential.energy(potential.asarray(c))), dtype=np.float64)
    if not np.all(np.isfinite(energies)):
        raise LandscapeError("a minimum has a NaN or infinite energy")
    return _State(names, c, energies, aligned_distances=aligned)


def _commit(filename: str, state: _State, batch: Sequence[tuple[Pair, Result | None]], p: ExplorePlan,
            attrs: Mapping[str, Any], run: _Settings) -> None:
    """One transaction: the batch's paths (finite ones) and the whole /graph group."""
    from landscape.store import Store

    with Store.write(filename) as store:
        for (i, j), result in batch:
            if result is not None and np.isfinite(state.edges[(i, j)]):
                name = path_name(state.names, i, j)
                store.write_result(name, result, start=state.names[i], end=state.names[j], seed=run.seed,
                                   extra_attrs={"edge_energy": state.edges[(i, j)], **run.path_attrs})
                state.paths[(i, j)] = name
        store.write_array_group(GRAPH_GROUP, _graph_arrays(state, p), attrs)


# --------------------------------------------------------------------------- the loop


@dataclass(frozen=True)
class _Settings:
    """What every round needs besides the state."""

    optimizer: PathOptimizer
    pivots: int | None
    run_budget: Budget | None
    batch: int
    rule: str
    order: str
    seed: int
    tags: Mapping[str, Any]
    checkpoint_seconds: float | None = None
    path_attrs: Mapping[str, Any] = field(default_factory=dict)  # Potential.result_attrs()
    aligner: Potential | None = None  # the potential, when it has a symmetry (`landscape.potentials.symmetry`)

    def task(self, state: _State, i: int, j: int, store: str | None) -> PairTask:
        """The run between minima i < j, from i to the image of j closest to i (under the
        potential's symmetry, if any); with `store`, it commits its progress there as it goes."""
        from landscape.runs.executors import InFlight, PairTask

        in_flight = None if store is None else InFlight(store, path_name(state.names, i, j),
                                                        (state.names[i], state.names[j]), self.checkpoint_seconds)
        end = state.coords[j] if self.aligner is None else align(self.aligner, state.coords[i], state.coords[j])
        return PairTask(state.coords[i], end, self.optimizer, self.pivots, self.run_budget, in_flight)

    def distances(self, state: _State) -> np.ndarray | None:
        """Distances between the minima (modulo the symmetry), when the rule or order
        needs them; aligned ones computed once per store (kept in the state and /graph,
        where the image check reads them too)."""
        if self.aligner is not None and state.aligned_distances is None:
            state.aligned_distances = distance_matrix(self.aligner, state.coords)
        return _distances(state, self.rule, self.order)

    def propose(self, state: _State, distances: np.ndarray | None) -> ExplorePlan:
        return propose(len(state.names), state.energies, state.edges, batch=self.batch, rule=self.rule,
                    order=self.order, distances=distances)

    def config(self, ex: Executor) -> dict[str, Any]:
        return {
            **_path_settings(self.optimizer, self.pivots, self.run_budget, self.aligner is not None),
            "batch": self.batch,
            "rule": self.rule,
            "order": self.order,
            "seed": self.seed,
            "executor": ex.describe(),
            "tags": dict(self.tags),
        }


def _path_settings(optimizer: PathOptimizer, pivots: int | None, run_budget: Budget | None,
                   aligned: bool) -> dict[str, Any]:
    """The `PATH_SETTINGS` of a config, as the store gives them back (JSON)."""
    rb = run_budget or Budget()
    return json.loads(json.dumps({
        "optimizer": optimizer.to_config(),
        "pivots": pivots,
        "run_budget": {"max_steps": rb.max_steps, "max_evaluations": rb.max_evaluations,
                       "max_seconds": rb.max_seconds},
        "edge_energy": "upper_bound",
        "aligned_ends": aligned,
    }))


def _check_continuation(filename: str, state: _State, ours: Mapping[str, Any]) -> None:
    """Refuse, in one line naming them, to continue a stored exploration whose paths were
    computed with other `PATH_SETTINGS` (a key an older store lacks is not compared)."""
    stored = state.recorded.get("config") or {}
    keys = [k for k in PATH_SETTINGS if k in stored]
    diff = differences({k: stored[k] for k in keys}, {k: ours[k] for k in keys})
    if diff:
        raise LandscapeError(f"{filename} holds an exploration whose paths were computed with other settings "
                             f"(differs in {shown(diff)}); continue it with its own, or explore a new store")


def _distances(state: _State, rule: str, order: str) -> np.ndarray | None:
    """The distances `rule` or `order` needs, None when neither does: the aligned ones
    an exploration modulo a symmetry keeps (and stores), else Euclidean."""
    if rule != "closest" and order != "nearest":
        return None
    return state.aligned_distances if state.aligned_distances is not None else distance_matrix(None, state.coords)


def _check_choice(rule: str, order: str) -> None:
    if rule not in RULES:
        raise LandscapeError(f"unknown pair rule {rule!r}; choose one of {', '.join(RULES)}")
    if order not in ORDERS:
        raise LandscapeError(f"unknown edge order {order!r}; choose one of {', '.join(ORDERS)}")


def _progress(enabled: bool, total: int) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="run", leave=False, dynamic_ncols=True, desc="explore")


def _show_steps(bar: Any, ex: Executor, names: Sequence[str]) -> Any:
    """Let the executor show the run in progress on the bar: its pair, step and highest
    energy (a bar that counts whole runs alone sits still for minutes).  Returns the
    executor's own `on_step`, to put back when the bar closes."""
    previous = ex.on_step
    if bar is None:
        return previous

    def on_step(i: int, j: int, step: int, top: float) -> None:
        bar.set_postfix_str(f"{names[i]}-{names[j]} step {step}, highest {top:.6g}", refresh=False)
        bar.update(0)  # redraws at tqdm's own pace

    ex.on_step = on_step
    return previous


def _tick(bar: Any, runs: int, p: ExplorePlan) -> None:
    if bar is not None:
        bar.update(runs)
        top = max((w for i, j, w in p.tree if p.open.get((i, j))), default=None)
        bar.set_postfix(open_edges=sum(1 for v in p.open.values() if v), top=f"{top:.6g}" if top is not None else "-",
                        refresh=False)


def _initial(state: _State, initial_edges: Mapping[Pair, Result | float] | None) -> list[tuple[Pair, Result | None]]:
    """Merge given paths (Results) or edge energies; returns the Results to store."""
    given: list[tuple[Pair, Result | None]] = []
    n = len(state.names)
    for key, value in (initial_edges or {}).items():
        i, j = (int(k) for k in key)
        if not (0 <= i < n and 0 <= j < n) or i == j:
            raise LandscapeError(f"initial edge {key!r} does not join two of the {n} minima")
        pair = _pair(i, j)
        if isinstance(value, Result):
            state.add(pair, edge_energy(value, state.energies[i], state.energies[j]), -1)
            state.results[pair] = value
            given.append((pair, value))
        else:
            energy = float(value)
            if np.isnan(energy) or energy < max(state.energies[i], state.energies[j]):
                raise LandscapeError(f"initial edge {pair} energy {energy} lies below one of its minima")
            state.add(pair, energy, -1)
    return given


def explore(
    potential: Potential,
    minima: Any = None,
    *,
    names: Sequence[str] | None = None,
    method: str = "autoneb",
    optimizer: PathOptimizer | None = None,
    pivots: int | None = None,
    run_budget: Budget | None = None,
    budget: ExploreBudget | None = None,
    batch: int | None = None,
    executor: Executor | str | None = None,
    source: PotentialSource | None = None,
    store: str | os.PathLike[str] | None = None,
    store_description: Mapping[str, Any] | None = None,
    initial_edges: Mapping[Pair, Result | float] | None = None,
    rule: str = "closest",
    order: str = "highest",
    seed: int = 0,
    progress: bool = False,
    tags: Mapping[str, Any] | None = None,
    checkpoint_seconds: float | None = 30.0,
    **settings: Any,
) -> Exploration:
    """Explore the saddles between `minima` (m, dim) of `potential` (Algorithm 3).

    Args:
        minima: coordinates (m, dim), index 0 the star's centre (sort by energy first);
            None to take them from `store`.  `names` default to "m0", "m1", ...
        method, settings: the path optimizer as in :func:`landscape.runs.pair.make_optimizer`
            (e.g. ``method="neb", fmax=1e-3``), or a ready `optimizer`; `pivots` and
            `run_budget` limit each run as in :func:`landscape.runs.pair.connect`.
        budget: limits on the whole call (:class:`ExploreBudget`).
        batch: pairs proposed per round (default: the executor's workers).
        executor: an :class:`~landscape.runs.executors.Executor`, or "local" (default),
            "process", "ray"; one made here is closed here.  `source`: how workers get the
            potential (default `potential` itself, pickled; a `PotentialSpec` rebuilds it).
        store: HDF5 file; created with the minima when missing (`store_description`
            defaults to ``potential.describe()``), else continued from its paths.
        initial_edges: ``{(i, j): Result or edge energy}`` to start from instead of a star.
        rule: the pair under an edge, ``"closest"`` or ``"lowest"``; order: which
            non-final edge next, ``"highest"`` (the paper) or ``"nearest"`` (the one with
            the closest open pair); see the module docstring.
        seed: recorded with every path (runs start from straight lines: deterministic).
        progress: a progress bar on stderr.
        tags: JSON-able extras recorded in the stored config (the CLI keeps its options
            there, to continue with the same ones).
        checkpoint_seconds: with a store and workers on this machine, every run in
            flight commits its progress as it goes (each AutoNEB cycle; a band's state
            this often), so an interruption loses at most that much of each run, and
            continuing resumes them.  It never changes a result.

    Raises:
        LandscapeError: bad settings or minima, or a store that does not match them.
    """
    from landscape.runs.pair import make_optimizer
    from landscape.runs.executors import Executor, LocalExecutor, make_executor
    from landscape.store import check_writable

    _check_choice(rule, order)
    if pivots is not None and pivots < 3:
        raise LandscapeError(f"need at least 3 pivots (ends included), got {pivots}")
    if batch is not None and (isinstance(batch, bool) or int(batch) != batch or batch < 1):
        raise LandscapeError(f"batch must be a positive integer, got {batch!r}")
    opt = optimizer or make_optimizer(method, **settings)
    filename = None if store is None else store_path(store)
    with contextlib.ExitStack() as stack:
        if filename is not None:  # one writer per store, for the whole exploration
            check_writable(filename)
            stack.enter_context(WriterLock(filename))
        state = _load_state(potential, minima, names, filename, store_description)
        aligner = potential if symmetry_of(potential) is not None else None
        if filename is not None:  # before any work: the stored paths and the new ones must agree
            _check_continuation(filename, state, _path_settings(opt, pivots, run_budget, aligner is not None))
        given = _initial(state, initial_edges)
        ex = executor if isinstance(executor, Executor) else stack.enter_context(make_executor(executor or "local"))
        ex.start(potential if source is None or isinstance(ex, LocalExecutor) else source)
        k = int(batch) if batch is not None else ex.workers
        run = _Settings(opt, pivots, run_budget, k, rule, order, int(seed), dict(tags or {}), checkpoint_seconds,
                        potential.result_attrs(), aligner)
        return _run(state, ex, run, budget or ExploreBudget(), progress, filename, given)


def _load_state(potential: Potential, minima: Any, names: Sequence[str] | None, filename: str | None,
                description: Mapping[str, Any] | None) -> _State:
    if filename is not None:
        return _open_or_create(filename, potential, minima, names, description)
    if minima is None:
        raise LandscapeError("give the minima, or a store that holds them")
    return _fresh_state(potential, minima, names)


def _run(state: _State, ex: Executor, run: _Settings, budget: ExploreBudget, progress: bool,
         filename: str | None, given: list[tuple[Pair, Result | None]]) -> Exploration:
    n = len(state.names)
    in_flight = filename if filename is not None and ex.shares_files else None
    distances = run.distances(state)
    config = run.config(ex)
    started = time.monotonic()
    runs = evaluations = resumed = 0
    batches: list[tuple[Pair, ...]] = []
    status, message = ExploreStatus.COMPLETE, "every edge of the minimum spanning tree is final"

    def attrs() -> dict[str, Any]:
        return {"config": config, "status": status.value, "message": message, "runs_total": len(state.edges),
                "evaluations_total": state.evaluations_before + evaluations,
                "batches_total": state.batches_before + len(batches)}

    p = run.propose(state, distances)
    # a complete exploration that this call leaves unchanged keeps its record as it is
    unchanged = p.complete and not given and state.recorded.get("status") == ExploreStatus.COMPLETE.value
    if filename is not None and given:
        _commit(filename, state, given, p, attrs(), run)
    bar = _progress(progress, n * (n - 1) // 2 - len(state.edges))
    callers_on_step = _show_steps(bar, ex, state.names)
    try:
        while not p.complete:
            stop = budget.exceeded(runs, evaluations, time.monotonic() - started)
            if stop is not None:
                status, message = stop
                break
            left = budget.runs_left(runs)
            pairs = p.proposals if left is None else p.proposals[:left]
            tasks = [(i, j, run.task(state, i, j, in_flight)) for i, j in pairs]
            resumed += sum(path_name(state.names, i, j) in state.running for i, j in pairs) if in_flight else 0
            results = ex.submit(tasks)
            if any(r.status is Status.INTERRUPTED for r in results):
                raise KeyboardInterrupt
            for (i, j), r in zip(pairs, results):  # proposal order, not completion order
                state.add((i, j), edge_energy(r, state.energies[i], state.energies[j]),
                          state.batches_before + len(batches))
                state.results[(i, j)] = r
            runs += len(pairs)
            evaluations += sum(int(r.nfev) for r in results)
            batches.append(tuple(pairs))
            p = run.propose(state, distances)
            if filename is not None:
                _commit(filename, state, list(zip(pairs, results)), p, attrs(), run)
            _tick(bar, len(pairs), p)
    except KeyboardInterrupt:  # everything merged is stored, and the runs in flight their progress
        status, message = ExploreStatus.INTERRUPTED, ("interrupted; the runs in flight keep their committed progress"
                                                      if in_flight else "interrupted; the runs in flight were discarded")
    finally:
        if bar is not None:
            bar.close()
            ex.on_step = callers_on_step  # a caller's executor outlives this bar
    if status is ExploreStatus.COMPLETE and p.unconnected:
        message = f"every edge is final, but {p.unconnected + 1} groups of minima stay apart: their paths failed"
    if filename is not None and not unchanged:
        _commit(filename, state, [], p, attrs(), run)  # the final status
    return _exploration(state, p, runs, evaluations, time.monotonic() - started, batches, status, message,
                        config, filename, resumed)


def _exploration(state: _State, p: ExplorePlan, runs: int, evaluations: int, seconds: float,
                 batches: list[tuple[Pair, ...]], status: ExploreStatus, message: str,
                 config: Mapping[str, Any], filename: str | None, resumed: int = 0) -> Exploration:
    return Exploration(
        names=tuple(state.names), coords=state.coords, energies=state.energies, edges=dict(state.edges),
        results=dict(state.results), paths=dict(state.paths), tree=p.tree, final=p.final, open=dict(p.open),
        matrix=p.matrix, linkage=single_linkage(p.matrix), runs=runs, evaluations=evaluations, seconds=seconds,
        batches=tuple(batches), status=status, message=message,
        evaluations_total=state.evaluations_before + evaluations, config=dict(config), store=filename,
        runs_resumed=resumed,
    )


def load_exploration(filename: str | os.PathLike[str]) -> Exploration:
    """The exploration state of a store, no potential needed: edges, tree, final edges,
    matrix (rule and order from the stored config).  `results` stay in the store: read
    them with ``Store.read_result(exploration.paths[pair])``."""
    from landscape.store import Store

    name = store_path(filename)
    with Store.open(name) as store:
        coords, energies, names = store.read_minima()
        state = _State(list(names), np.asarray(coords, dtype=np.float64), np.asarray(energies, dtype=np.float64))
        _stored_edges(store, state)
        attrs = _read_graph(store)[1]
    config = attrs.get("config", {})
    rule, order = config.get("rule", "closest"), config.get("order", "highest")
    _check_choice(rule, order)
    p = propose(len(names), state.energies, state.edges, rule=rule, order=order,
                distances=_distances(state, rule, order))
    if p.complete:
        status, message = ExploreStatus.COMPLETE, "every edge of the minimum spanning tree is final"
    else:
        status = ExploreStatus(attrs.get("status", ExploreStatus.INTERRUPTED.value))
        if status is ExploreStatus.COMPLETE:  # paths were removed since: not complete any more
            status = ExploreStatus.INTERRUPTED
        message = str(attrs.get("message", "no exploration recorded in this store yet"))
    return _exploration(state, p, 0, 0, 0.0, [], status, message, config, name)
