"""An exploration's state and its store: the graph group, the settings a continuation keeps, atomic commits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from landscape.analysis.linkage import single_linkage
from landscape.exploration.planning import ExplorePlan, Pair, ordered_pair
from landscape.exploration.results import path_name
from landscape.foundations.arrays import to_numpy
from landscape.foundations.errors import LandscapeError
from landscape.paths.result import Result, Status
from landscape.potentials.identity import record, require_same, same_points
from landscape.potentials.potential import Potential
from landscape.potentials.symmetry import distance_matrix, images, symmetry_of
from landscape.store.layout import CONTROLS_GROUP

if TYPE_CHECKING:
    from landscape.exploration.settings import RoundSettings
    from landscape.store import Store

__all__ = [
    "GRAPH_GROUP",
    "PATH_SETTINGS",
    "ExploreState",
    "open_or_create",
    "fresh_state",
    "commit_batch",
    "stored_edges",
    "read_graph",
]

#: The store group holding the exploration graph (see `_graph_arrays`).
GRAPH_GROUP = "graph"
#: Keys of the stored config that decide how each path is computed, and so its answer:
#: a continued exploration keeps them, or its paths would mix two computations.  The
#: others (pairs per round, rule, order, executor, seed, tags) choose which pair runs
#: next, where and how: every stored path stays valid under any of them.
PATH_SETTINGS = ("optimizer", "pivots", "run_budget", "edge_energy", "aligned_ends", "force_measure")


@dataclass
class ExploreState:
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
    running: dict[str, Any] = field(default_factory=dict)  # paths an earlier call left in flight: their optimizer
    recorded: dict[str, Any] = field(default_factory=dict)  # /graph attributes an earlier call committed
    aligned_distances: np.ndarray | None = None  # between the minima modulo a symmetry, stored in /graph

    def add(self, pair: Pair, energy: float, batch: int) -> None:
        if pair not in self.edges or energy < self.edges[pair]:
            self.edges[pair] = energy
        self.batch_of.setdefault(pair, batch)


def _graph_arrays(state: ExploreState, p: ExplorePlan) -> dict[str, np.ndarray]:
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


def stored_edges(store: Store, state: ExploreState) -> None:
    """Edges from a store: its finished paths between stored minima, and the failed
    pairs (+inf) that an earlier exploration recorded in /graph."""
    for name in store.path_names():
        info = store.path_info(name)
        i, j = _index_of(info.get("start"), state.names), _index_of(info.get("end"), state.names)
        if i is None or j is None or i == j:
            continue
        if info.get("status") == Status.RUNNING.value:  # in flight when an earlier call stopped
            state.running[name] = (info.get("config") or {}).get("optimizer")
            continue
        bound = info.get("upper_bound", info.get("saddle_energy", float("inf")))
        energy = max(float(bound), state.energies[i], state.energies[j]) if np.isfinite(bound) else float("inf")
        pair = ordered_pair(i, j)
        state.add(pair, energy, -1)
        state.paths.setdefault(pair, name)
    arrays, attrs = read_graph(store)
    stored = arrays.get("distances")  # aligned distances an earlier call computed
    if stored is not None and stored.shape == (len(state.names),) * 2:
        state.aligned_distances = np.asarray(stored, dtype=np.float64)
    state.recorded = dict(attrs)
    state.evaluations_before = int(attrs.get("evaluations_total", 0))
    state.batches_before = int(attrs.get("batches_total", 0))
    for (i, j), w, b in zip(arrays.get("pairs", []), arrays.get("energies", []), arrays.get("batch", [])):
        if 0 <= i < len(state.names) and 0 <= j < len(state.names) and i != j:
            pair = ordered_pair(i, j)
            state.add(pair, float(w), -1)  # keeps the lower of path and record
            state.batch_of[pair] = int(b)


def read_graph(store: Store) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
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
        raise LandscapeError(
            f"minima {label(i)} and {label(j)} are images of one state under {potential.name}'s "
            f"symmetry ({len(same)} such pair(s)); keep one of each (landscape minima does)"
        )
    return d


def open_or_create(
    filename: str,
    potential: Potential,
    coords: np.ndarray | None,
    names: Sequence[str] | None,
    description: Mapping[str, Any] | None,
) -> ExploreState:
    """The exploration state of a store; a new store is created (with the minima) first."""
    from landscape.store import Store, vacant

    if vacant(filename):  # a damaged store is refused by Store.open below, never replaced
        if coords is None:
            raise LandscapeError(f"store {filename} does not exist; give the minima to create it")
        state = fresh_state(potential, coords, names)
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
        state = ExploreState(
            list(stored_names), _check_minima(stored, potential.dim), np.asarray(energies, dtype=np.float64)
        )
        stored_edges(store, state)
    return state


def fresh_state(potential: Potential, coords: Any, names: Sequence[str] | None) -> ExploreState:
    c = _check_minima(coords, potential.dim)
    aligned = _check_images(potential, c, names)
    names = [f"m{i}" for i in range(len(c))] if names is None else [str(n) for n in names]
    if len(names) != len(c) or len(set(names)) != len(names):
        raise LandscapeError(
            f"need {len(c)} distinct names for the minima, got {len(names)} ({len(set(names))} distinct)"
        )
    energies = np.asarray(to_numpy(potential.energy(potential.asarray(c))), dtype=np.float64)
    if not np.all(np.isfinite(energies)):
        raise LandscapeError("a minimum has a NaN or infinite energy")
    return ExploreState(names, c, energies, aligned_distances=aligned)


def commit_batch(
    filename: str,
    state: ExploreState,
    batch: Sequence[tuple[Pair, Result | None]],
    p: ExplorePlan,
    attrs: Mapping[str, Any],
    run: RoundSettings,
) -> None:
    """One transaction: the batch's paths (finite ones) and the whole /graph group."""
    from landscape.store import Store

    with Store.write(filename) as store:
        for (i, j), result in batch:
            if result is not None and np.isfinite(state.edges[(i, j)]):
                name = path_name(state.names, i, j)
                store.write_result(
                    name,
                    result,
                    start=state.names[i],
                    end=state.names[j],
                    seed=run.seed,
                    extra_attrs={"edge_energy": state.edges[(i, j)], **run.path_attrs},
                )
                if result.arrays is not None:  # a curve's control points (the run dropped its state)
                    store.write_array_group(CONTROLS_GROUP.format(name), *result.arrays)
                state.paths[(i, j)] = name
        store.write_array_group(GRAPH_GROUP, _graph_arrays(state, p), attrs)
