"""What every round of an exploration needs besides its state: the path settings, the
task of each pair, the distances its rule reads, and the check that a continuation
computes its paths as the stored ones were."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from landscape.exploration.planning import (
    ExplorePlan,
    propose,
)
from landscape.exploration.results import (
    path_name,
)
from landscape.exploration.state import (
    PATH_SETTINGS,
    ExploreState,
)
from landscape.foundations.errors import LandscapeError
from landscape.paths.budget import Budget
from landscape.potentials.identity import differences, shown
from landscape.potentials.potential import Potential
from landscape.potentials.symmetry import align, distance_matrix

if TYPE_CHECKING:
    from landscape.optimizers.base import PathOptimizer
    from landscape.runs.executors import Executor
    from landscape.runs.tasks import PairTask

__all__ = ["RoundSettings", "path_settings", "recorded_optimizer", "resumes", "check_continuation", "pair_distances"]


@dataclass(frozen=True)
class RoundSettings:
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
    measure: Mapping[str, int] = field(default_factory=dict)  # `force_measure` of the potential

    def task(self, state: ExploreState, i: int, j: int, store: str | None) -> PairTask:
        """The run between minima i < j, from i to the image of j closest to i (under the
        potential's symmetry, if any); with `store`, it commits its progress there as it goes."""
        from landscape.runs.tasks import InFlight, PairTask

        in_flight = (
            None
            if store is None
            else InFlight(
                store, path_name(state.names, i, j), (state.names[i], state.names[j]), self.checkpoint_seconds
            )
        )
        end = state.coords[j] if self.aligner is None else align(self.aligner, state.coords[i], state.coords[j])
        return PairTask(state.coords[i], end, self.optimizer, self.pivots, self.run_budget, in_flight)

    def distances(self, state: ExploreState) -> np.ndarray | None:
        """Distances between the minima (modulo the symmetry), when the rule or order
        needs them; aligned ones computed once per store (kept in the state and /graph,
        where the image check reads them too)."""
        if self.aligner is not None and state.aligned_distances is None:
            state.aligned_distances = distance_matrix(self.aligner, state.coords)
        return pair_distances(state, self.rule, self.order)

    def propose(self, state: ExploreState, distances: np.ndarray | None) -> ExplorePlan:
        return propose(
            len(state.names),
            state.energies,
            state.edges,
            batch=self.batch,
            rule=self.rule,
            order=self.order,
            distances=distances,
        )

    def config(self, ex: Executor) -> dict[str, Any]:
        return {
            **path_settings(self.optimizer, self.pivots, self.run_budget, self.aligner is not None, self.measure),
            "batch": self.batch,
            "rule": self.rule,
            "order": self.order,
            "seed": self.seed,
            "executor": ex.describe(),
            "tags": dict(self.tags),
        }


def path_settings(
    optimizer: PathOptimizer,
    pivots: int | None,
    run_budget: Budget | None,
    aligned: bool,
    measure: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """The `PATH_SETTINGS` of a config, as the store gives them back (JSON); `measure`:
    what force tolerances bound (`landscape.potentials.potential.force_measure`)."""
    rb = run_budget or Budget()
    return json.loads(
        json.dumps(
            {
                "optimizer": optimizer.to_config(),
                "pivots": pivots,
                "run_budget": {
                    "max_steps": rb.max_steps,
                    "max_evaluations": rb.max_evaluations,
                    "max_seconds": rb.max_seconds,
                },
                "edge_energy": "upper_bound",
                "aligned_ends": aligned,
                "force_measure": dict(measure or {}),
            }
        )
    )


def recorded_optimizer(state: ExploreState, ours: PathOptimizer, earlier: Callable[[], PathOptimizer]) -> PathOptimizer:
    """`ours`, unless the stored exploration computed its paths with `earlier` instead:
    explorations stored before `explore` took `connect`'s default protocol (a band or
    curve on a deterministic potential) continue with the optimizer they began with;
    one stopped before it merged a batch records none yet: its runs in flight say which."""
    stored = (state.recorded.get("config") or {}).get("optimizer")
    if stored is None:
        stored = next((o for o in state.running.values() if o is not None), None)
    if stored is None or stored == _as_stored(ours):
        return ours
    old = earlier()
    return old if stored == _as_stored(old) else ours


def resumes(state: ExploreState, name: str, optimizer: PathOptimizer) -> bool:
    """Whether the run of path `name` continues one an earlier call left in flight: one
    with the same optimizer (`run_in_store` starts a path with other settings afresh; the
    others a continuation checks, but a store stopped in its first batch recorded none)."""
    return name in state.running and state.running[name] == _as_stored(optimizer)


def _as_stored(optimizer: PathOptimizer) -> Any:
    return json.loads(json.dumps(optimizer.to_config()))


#: Settings a store holds implicitly when it predates them (others it lacks are not
#: compared): forces were measured over the whole image.
_BEFORE_RECORDED: dict[str, Any] = {"force_measure": {}}


def check_continuation(filename: str, state: ExploreState, ours: Mapping[str, Any]) -> None:
    """Refuse, in one line naming them, to continue a stored exploration whose paths were
    computed with other `PATH_SETTINGS` (a key an older store lacks is not compared)."""
    stored = state.recorded.get("config") or {}
    if stored:  # what a store written before a setting was recorded did
        stored = {**_BEFORE_RECORDED, **stored}
    keys = [k for k in PATH_SETTINGS if k in stored]
    diff = differences({k: stored[k] for k in keys}, {k: ours[k] for k in keys})
    if "force_measure" in keys and stored["force_measure"] != ours["force_measure"]:
        raise LandscapeError(  # no option brings the other measure back
            f"{filename} holds an exploration whose force tolerances bound {_measured(stored['force_measure'])}, "
            f"not {_measured(ours['force_measure'])} as now; explore a new store"
        )
    if diff:
        raise LandscapeError(
            f"{filename} holds an exploration whose paths were computed with other settings "
            f"(differs in {shown(diff)}); continue it with its own, or explore a new store"
        )


def _measured(measure: Mapping[str, int]) -> str:
    d = measure.get("particle_dim", 0)
    return f"the largest force on one particle ({d} coordinates)" if d else "the whole image's force"


def pair_distances(state: ExploreState, rule: str, order: str) -> np.ndarray | None:
    """The distances `rule` or `order` needs, None when neither does: the aligned ones
    an exploration modulo a symmetry keeps (and stores), else Euclidean."""
    if rule != "closest" and order != "nearest":
        return None
    return state.aligned_distances if state.aligned_distances is not None else distance_matrix(None, state.coords)
