"""What an exploration returns: its budget and status, each path's edge energy, and the `Exploration`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from landscape.analysis.disconnectivity import disconnectivity_tree
from landscape.analysis.graphs import Edge, SaddleMatrix
from landscape.analysis.linkage import clusters
from landscape.exploration.planning import Pair
from landscape.foundations.arrays import to_numpy
from landscape.paths.budget import Budget
from landscape.paths.result import Result, Status

if TYPE_CHECKING:
    import networkx as nx
    from matplotlib.axes import Axes


__all__ = ["ExploreBudget", "ExploreStatus", "Exploration", "edge_energy", "path_name"]

#: The budget and status vocabulary of explorations are those of runs (one of each):
#: `Budget(max_runs=, max_evaluations=, max_seconds=)`; `Status.COMPLETE`, `MAX_RUNS`, ...
ExploreBudget = Budget
ExploreStatus = Status


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
        rows = [
            ("status", f"{self.status.value} ({self.message})"),
            ("minima", self.n),
            ("pairs computed", f"{len(self.edges)} of {self.pairs_total}"),
            ("tree", f"{len(self.tree)} edges, {final} final"),
            ("highest tree edge", f"{max((w for *_, w in self.tree), default=float('nan')):.10g}"),
            ("this call", f"{self.runs} runs, {self.evaluations} evaluations, {self.seconds:.2f} s"),
            ("store", self.store),
        ]
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
        """The disconnectivity graph (see `landscape.plotting.dgraph.plot_disconnectivity`)."""
        from landscape.plotting.dgraph import plot_disconnectivity

        return plot_disconnectivity(self.disconnectivity_tree(), **kwargs)
