"""A band that spent its budget through a basin, split there: `settle_basins`.

A path whose profile dips into a basin between two barriers (`landscape.paths.sanity.basin`)
asks one band to settle two barriers and the minimum between with the pivots it has;
on random surfaces most of the bands that spend their budget do so there
(docs/benchmarks.md, "Bands that do not settle").  Relaxing that pivot to its minimum
and running a band on each side turns one hard path into two easy ones, each with one
barrier, as a double-ended search does when it finds an intermediate minimum.  The
joined path is the minimum energy path through that minimum; its highest pivot is the
higher of the two legs' climbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from landscape.foundations.arrays import to_numpy
from landscape.foundations.errors import LandscapeError
from landscape.optimizers.band import ElasticBand
from landscape.optimizers.base import PathOptimizer
from landscape.optimizers.quench import Quench, local_minimum, quench_converged
from landscape.paths.path import Profile
from landscape.paths.result import Result, Status
from landscape.paths.sanity import basin
from landscape.potentials.potential import Potential, add_samples, samples_since

__all__ = ["Leg", "settle_basins", "check_split", "SPLIT_STATUSES", "END_FRACTION"]

#: A band from one point to another, run as the band being split was.
Leg = Callable[[Any, Any], Result]

#: The statuses split: a budget of steps or evaluations spent.  A time budget is the
#: caller's limit on the whole run, and a band that broke (`Status.failed`) has no
#: profile to trust.
SPLIT_STATUSES = (Status.MAX_STEPS, Status.MAX_EVALUATIONS)

#: A relaxed basin closer to an end than this fraction of the end-to-end distance is
#: that end's minimum: splitting there would only repeat the band.
END_FRACTION = 1e-3


@dataclass
class _Splits:
    """The splits still allowed, shared by every leg of one call."""

    left: int


def settle_basins(potential: Potential, result: Result, leg: Leg, *, splits: int) -> Result:
    """`result`, or, when its band spent its budget (`SPLIT_STATUSES`) on a path through
    a basin, the path through that basin's minimum: the basin pivot relaxed by
    L-BFGS-B (`local_minimum`), `leg` run from the start to it and from it to the end,
    each split again while `splits` (the most basin minima added in all) allow.

    The joined result counts every step, evaluation and sample of the first band, the
    relaxations and the legs; its `config["split"]` lists the minima added (`energies`)
    and where they sit on the joined path (`pivots`).  A leg that broke (`Status.failed`)
    leaves `result` as it was, its message saying so; a leg that ended otherwise without
    success (its budget spent, interrupted, a climber below its path's top) gives the
    joined path with that leg's status.  Interrupted in the first leg, the second is not
    run."""
    _check_count(splits)
    return _settle(potential, result, leg, _Splits(int(splits)))


def check_split(potential: Potential, optimizer: PathOptimizer, splits: int) -> None:
    """Refuse a split that cannot run, before the first band does: only a band stops at
    a budget with a basin to relax, and L-BFGS-B needs an energy that does not change
    between calls."""
    _check_count(splits)
    if not isinstance(optimizer, ElasticBand):
        raise LandscapeError("split applies to the bands (method neb or string), which stop at their budget")
    if potential.stochastic:
        raise LandscapeError("split relaxes a basin with L-BFGS-B, which needs a deterministic potential")


def _check_count(splits: Any) -> None:
    if isinstance(splits, bool) or not isinstance(splits, (int, np.integer)) or splits < 0:
        raise LandscapeError(f"splits must be an integer >= 0, got {splits!r}")


def _settle(potential: Potential, result: Result, leg: Leg, splits: _Splits) -> Result:
    if splits.left <= 0 or result.status not in SPLIT_STATUSES or result.path.energies is None:
        return result
    found = basin(result.path.energies)
    if found is None:
        return result
    k = found[0]
    mark = potential.cost()
    quench = local_minimum(potential, to_numpy(result.path.pivots[k]))
    cost = (quench.nfev, samples_since(potential, mark))
    why = _unusable(quench, result)
    if why is not None:
        return _noted(result, f"; its basin at pivot {k} was not split: {why}", *cost)
    splits.left -= 1
    c = potential.asarray(quench.point)
    first = _settle(potential, leg(result.path.start, c), leg, splits)
    if first.status is Status.INTERRUPTED:  # the user stopped it: no second leg
        why = f"; interrupted in the first leg of its split at a basin minimum (E={quench.energy:.6g})"
        return replace(_noted(result, why, *_total(cost, first)), status=Status.INTERRUPTED)
    second = _settle(potential, leg(c, result.path.end), leg, splits)
    broke = next((r for r in (first, second) if r.status.failed), None)
    if broke is not None:
        total = _total(cost, first, second)
        why = f"; split at its basin minimum (E={quench.energy:.6g}), a leg {broke.status.value} ({broke.message})"
        return _noted(result, why, *total)
    return _joined(result, first, second, quench, cost)


def _unusable(quench: Quench, result: Result) -> str | None:
    """Why the relaxed basin is no minimum to split at, or None."""
    if not (np.all(np.isfinite(quench.point)) and quench_converged(quench.gradient_norm, quench.energy)):
        return f"L-BFGS-B from it did not converge (gradient norm {quench.gradient_norm:.3g})"
    a, b = (np.asarray(to_numpy(p), dtype=np.float64) for p in (result.path.start, result.path.end))
    near = END_FRACTION * float(np.linalg.norm(b - a))
    for label, end in (("start", a), ("end", b)):
        if float(np.linalg.norm(quench.point - end)) <= near:
            return f"it relaxed to the {label}"
    return None


def _noted(result: Result, words: str, nfev: int, samples: dict[str, int] | None) -> Result:
    """`result` with `words` added to its message and the work spent after it counted."""
    return replace(
        result,
        message=result.message + words,
        nfev=result.nfev + nfev,
        samples=add_samples(result.samples, samples),
    )


def _total(cost: tuple[int, dict[str, int] | None], *legs: Result) -> tuple[int, dict[str, int] | None]:
    """The evaluations and samples of a relaxation and the legs after it."""
    nfev, samples = cost
    for r in legs:
        nfev += r.nfev
        samples = add_samples(samples, r.samples)
    return nfev, samples


def _joined(
    result: Result, first: Result, second: Result, quench: Quench, cost: tuple[int, dict[str, int] | None]
) -> Result:
    """One result for the path from the start through the basin minimum to the end."""
    nfev, samples = _total(cost, first, second)
    unsettled = next((r.status for r in (first, second) if not r.success), None)
    status = unsettled or Status.CONVERGED
    junction = first.path.n_pivots - 1
    inner = [_split_record(first), _split_record(second)]
    record = {
        "energies": [*inner[0]["energies"], quench.energy, *inner[1]["energies"]],
        "pivots": [*inner[0]["pivots"], junction, *(p + junction for p in inner[1]["pivots"])],
    }
    words = "every leg converged" if unsettled is None else f"a leg ended {status.value}"
    n = len(record["energies"])
    lowest = min(record["energies"])
    message = (
        f"split at {n} basin minim{'um' if n == 1 else 'a'} (lowest E={lowest:.6g}) after the band spent its "
        f"budget ({result.status.value}): {words}"
    )
    return Result(
        path=first.path.concat(second.path),
        status=status,
        message=message,
        nit=result.nit + first.nit + second.nit,
        nfev=result.nfev + nfev,
        history=np.concatenate([to_numpy(r.history) for r in (result, first, second)]),
        profile=_joined_profile(first, second),
        climbing=first.climbing and second.climbing,
        config={**result.config, "split": record},
        samples=add_samples(result.samples, samples),
    )


def _split_record(result: Result) -> dict[str, list[Any]]:
    return result.config.get("split", {"energies": [], "pivots": []})


def _joined_profile(first: Result, second: Result) -> Profile | None:
    """The legs' profiles on the joined path's arc fractions (the junction once)."""
    if first.profile is None or second.profile is None:
        return None
    l1, l2 = first.path.length(), second.path.length()
    total = l1 + l2
    if not total > 0:
        return None
    p, q = first.profile, second.profile
    keep = q.t > 0  # the junction is the first leg's last point already
    return Profile(
        np.concatenate([p.t * l1 / total, (l1 + q.t[keep] * l2) / total]),
        np.concatenate([p.energies, q.energies[keep]]),
        np.concatenate([p.is_pivot, q.is_pivot[keep]]),
    )
