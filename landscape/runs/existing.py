"""What a store that is already there means for a run asked of it: computed afresh,
resumed, reopened under a larger budget, restarted, or already done (`continuation`),
judged on the run's settings (`run_config`) and its budget.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import numpy as np

from landscape.foundations.arrays import to_numpy
from landscape.foundations.errors import LandscapeError
from landscape.paths.result import Result, Status
from landscape.potentials.identity import differences, record, require_same, same_points
from landscape.potentials.potential import Potential, force_measure
from landscape.runs.pair import Plan
from landscape.store import Store, vacant

__all__ = ["run_config", "continuation", "same_minima", "SPENT", "OtherMethod"]


class OtherMethod(LandscapeError):
    """A store holds the path asked for, made by another method (`stored`) than the
    run's (`asked`): neither continued nor replaced without --force."""

    def __init__(self, message: str, stored: str, asked: str) -> None:
        super().__init__(message)
        self.stored, self.asked = stored, asked


def run_config(job: Plan, names: tuple[str, str], potential: Potential) -> dict[str, Any]:
    """What must match for a stored run to be continued (JSON round-tripped); the
    budget is kept beside it and checked on its own (`_check_budget`)."""
    host = lambda p: np.asarray(to_numpy(p), dtype=float).tolist()  # noqa: E731
    config = {
        "optimizer": job.optimizer.to_config(),
        "pivots": job.n_pivots,
        "start_name": names[0],
        "end_name": names[1],
        "start": host(job.start_path.start),
        "end": host(job.start_path.end),
        "budget": asdict(job.budget),
    }
    measure = force_measure(potential)
    if measure:  # absent for a whole image's force: the stores written before it stay equal
        config["force_measure"] = measure
    if job.via:  # a starting path through other points is another run
        config["via"] = [host(p) for p in job.via]
    if job.given:  # ... and so is one given pivot by pivot (its digest: the pivots may be millions of numbers)
        config["initial_path"] = job.given
    return json.loads(json.dumps(config))


def continuation(filename: str, potential: Potential, name: str, config: dict[str, Any], force: bool) -> str:
    """How to treat an existing store: 'new' (replace it), 'resume', 'reopen' (a path
    that stopped at its budget, continued under a larger one), 'restart' (such a path
    that kept nothing to continue from, computed afresh) or 'done'."""
    if force or vacant(filename):
        return "new"  # anything else that does not open is refused below, never replaced
    with Store.open(filename) as store:
        require_same(store.potential_description, record(potential), filename)
        names = store.path_names()
        if not names and same_minima(store, config):
            return "new"  # killed between creating the store and the first commit
        if name not in names:
            held = f"the paths {', '.join(names)}" if names else f"{len(store.read_minima()[2])} minima and no path"
            raise LandscapeError(f"{filename} holds {held}, not path {name}; choose another --out or pass --force")
        info = store.read_result(name)
        stored = {k: v for k, v in info.config.items() if k != "budget"}
        ours = {k: v for k, v in config.items() if k != "budget"}
        theirs, mine = (c.get("optimizer", {}).get("method") for c in (stored, ours))
        if isinstance(theirs, str) and isinstance(mine, str) and theirs != mine:
            raise OtherMethod(
                f"{filename} holds path {name} computed with other settings (made by method {theirs}, not "
                f"{mine}); pass --method {theirs} to continue or reuse it, or --force to replace it",
                theirs,
                mine,
            )
        if stored != ours:
            diff = differences(stored, ours)
            # an on/off switch of the band: name the one that continues the path
            switch = _SWITCHES.get(tuple(diff), "pass ")
            raise LandscapeError(
                f"{filename} holds path {name} computed with other settings (differs in {', '.join(diff[:5])}); "
                f"{switch}--force to replace it"
            )
        if info.status in (Status.RUNNING, Status.INTERRUPTED):
            return "resume"  # continued under this run's budget
        return _check_budget(
            filename, name, info, info.config.get("budget"), config["budget"], store.read_checkpoint(name) is not None
        )


#: The band's on/off switches, by the one stored setting each changes.
_SWITCHES = {
    (f"optimizer.{name}",): f"pass --{name} or --no-{name} as it was computed, or " for name in ("kinks", "unfold")
}

#: Statuses of a run that stopped at its budget, not on its own criterion.
SPENT = tuple(s for s in Status if s.spent)


def _check_budget(filename: str, name: str, info: Result, stored: Any, asked: dict[str, Any], continuable: bool) -> str:
    """How a finished path answers a new budget: 'done' when the budget cannot change
    it (it stopped on its own criterion, or at this very budget); when it stopped at a
    smaller budget, 'reopen' (the run continues from the state it kept) or, with none
    kept (an AutoNEB run stopped in its first cycle, a store from before), 'restart':
    a fresh run under the new budget passes where it stopped and goes on.  Never a
    shorter answer than the one asked for: a budget below what it used is refused."""
    used = {"max_steps": info.nit, "max_evaluations": info.nfev}
    for key, value in asked.items():
        if key in used and value is not None and value < used[key]:
            raise LandscapeError(
                f"{filename}: path {name} used {used[key]} {key.split('_')[1]}, more than the "
                f"budget of {value} asked for; pass --force to compute it within that budget"
            )
    if info.status not in SPENT or stored == asked:
        return "done"
    return "reopen" if continuable else "restart"


def same_minima(store: Store, config: dict[str, Any]) -> bool:
    """Whether the store's minima are this run's two endpoints (`config` from `run_config`)."""
    return same_points(store.read_minima()[0], [config["start"], config["end"]])
