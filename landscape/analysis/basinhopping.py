"""Minima by basin-hopping: random steps between quenched minima, Metropolis on their energies.

Basin-hopping (Li and Scheraga 1987; Wales and Doye 1997) walks on the transformed
surface whose value at a point is the energy of the minimum a local minimisation
(a quench) reaches from it: the barriers between neighbouring basins vanish, so the
walk moves between low minima where random starts rarely land (LJ38's global minimum
is the standard hard case).  The walk is scipy's (`scipy.optimize.basinhopping`: a
random displacement of every coordinate, step size adapted to accept half the moves,
Metropolis at `temperature`); each quench is the toolkit's own L-BFGS-B
(`landscape.analysis.minima`), and every quench that converged is tallied: minima are
one when their energies agree within `etol` and they lie within `xtol` of each other
modulo the potential's symmetry (`landscape.potentials.symmetry.distance`), so the
rotated, reflected and relabelled copies of a cluster's minimum count as one, with
the number of quenches that hit it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from landscape.analysis.minima import Minima, is_minimum, local_minimum, quench_converged, random_starts
from landscape.foundations.arrays import to_numpy
from landscape.foundations.errors import LandscapeError
from landscape.potentials.potential import CountingPotential, Potential, check_point
from landscape.potentials.symmetry import distance

__all__ = ["BasinHopping", "basin_hopping"]

_HESSIAN_MAX_DIM = 120  # as in `find_minima`: a finite-difference Hessian costs 2 dim gradients


@dataclass(frozen=True)
class BasinHopping:
    """What a basin-hopping run found.

    minima: the distinct minima, sorted by energy ("m0" the lowest).
    hits: quenches that reached each of them (modulo the symmetry).
    first_hit: the quench (0 = the quench of the start) that first reached each.
    quenches: quenches run, the start's included; `failed` of them did not converge
        (never accepted, never tallied).  evaluations: energy-and-gradient calls.
    rejected_by_hessian: distinct points dropped because their Hessian says they are
        no strict minimum (a negative or an unexplained zero eigenvalue).
    stopped_at_target: the run stopped early because it reached `target`.
    stopped_at_time_limit: the run stopped early because `time_limit` passed.
    """

    minima: Minima
    hits: np.ndarray
    first_hit: np.ndarray
    quenches: int
    failed: int
    evaluations: int
    rejected_by_hessian: int
    stopped_at_target: bool
    settings: dict[str, Any] = field(default_factory=dict)
    stopped_at_time_limit: bool = False

    def summary(self) -> dict[str, Any]:
        """A JSON-able account (what the store's minima metadata records)."""
        return {
            "method": "basinhopping",
            **self.settings,
            "quenches": self.quenches,
            "failed_quenches": self.failed,
            "evaluations": self.evaluations,
            "hits": [int(h) for h in self.hits],
            "first_hit": [int(q) for q in self.first_hit],
            "rejected_by_hessian": self.rejected_by_hessian,
            "stopped_at_target": self.stopped_at_target,
            "stopped_at_time_limit": self.stopped_at_time_limit,
        }


class _Tally:
    """Distinct quenched minima, with hits; a new point is compared only with kept ones
    whose energy is within `etol` (the symmetry's alignment is the costly part, and the
    energies sit in an array grown by doubling: LJ38 walks keep thousands of minima)."""

    def __init__(self, potential: Potential, xtol: float, etol: float):
        self.potential, self.xtol, self.etol = potential, xtol, etol
        self.points: list[np.ndarray] = []
        self._energies = np.empty(64)
        self.hits: list[int] = []
        self.first: list[int] = []

    @property
    def energies(self) -> np.ndarray:
        return self._energies[: len(self.points)]

    def add(self, x: np.ndarray, e: float, quench: int) -> None:
        for k in np.flatnonzero(np.abs(self.energies - e) <= self.etol):
            if distance(self.potential, self.points[k], x) <= self.xtol:
                self.hits[k] += 1
                if e < self._energies[k]:  # keep the better-converged copy
                    self.points[k], self._energies[k] = x, e
                return
        if len(self.points) == len(self._energies):
            self._energies = np.concatenate([self._energies, np.empty(len(self._energies))])
        self._energies[len(self.points)] = e
        self.points.append(x)
        self.hits.append(1)
        self.first.append(quench)


def basin_hopping(
    potential: Potential,
    steps: int = 100,
    *,
    seed: int = 0,
    start: Any = None,
    bounds: Any = None,
    temperature: float = 1.0,
    stepsize: float = 0.5,
    gtol: float = 1e-8,
    maxiter: int = 2000,
    xtol: float = 1e-2,
    etol: float = 1e-5,
    target: float | None = None,
    time_limit: float | None = None,
    check_hessian: bool | None = None,
    progress: bool = False,
) -> BasinHopping:
    """Distinct minima visited by `steps` basin-hopping steps from one seeded start.

    Args:
        steps: Monte Carlo steps (one quench each, plus the start's quench).
        seed: seeds the random start and the walk.
        start: the starting point (dim,); default uniform in `bounds` (default: the
            potential's box), as `landscape.analysis.minima.random_starts` draws it.
        temperature, stepsize: Metropolis temperature (the potential's energy units)
            and the initial largest displacement per coordinate (scipy adapts it).
        gtol, maxiter: the quench's L-BFGS-B settings; a quench counts as converged by
            `find_minima`'s rule, scaled to the energy
            (`landscape.analysis.minima.quench_converged`).
        xtol, etol: two quenched points are one minimum when their energies agree
            within `etol` and they lie within `xtol` modulo the symmetry.
        target: stop once a quench reaches an energy at or below ``target + etol``.
        time_limit: stop after the step that ends past this many wall-clock seconds
            (long walks, such as LJ38's, report what they found so far).
        check_hessian: drop distinct points whose Hessian is not positive definite
            beyond the symmetry's zero modes; default on for dim <= 120.
        progress: a progress bar over the steps on stderr.

    Raises:
        LandscapeError: bad arguments, or no quench converged to a minimum.
    """
    from scipy.optimize import OptimizeResult, basinhopping

    if isinstance(steps, bool) or int(steps) != steps or not 0 <= steps <= 10_000_000:
        raise LandscapeError(f"basin-hopping steps must be an integer from 0 to 10000000, got {steps!r}")
    for name, value in (
        ("temperature", temperature),
        ("stepsize", stepsize),
        ("gtol", gtol),
        ("xtol", xtol),
        ("etol", etol),
    ):
        if not (np.isfinite(value) and value > 0):
            raise LandscapeError(f"basin-hopping {name} must be positive and finite, got {value}")
    if target is not None and not np.isfinite(target):
        raise LandscapeError(f"the target energy must be finite, got {target}")
    if time_limit is not None and not (np.isfinite(time_limit) and time_limit > 0):
        raise LandscapeError(f"the time limit must be positive and finite, got {time_limit}")
    deadline = None if time_limit is None else time.monotonic() + time_limit
    x0 = (
        random_starts(potential, 1, seed=seed, bounds=bounds)[0]
        if start is None
        else np.asarray(check_point(potential, to_numpy(start), "start"), dtype=np.float64)
    )
    counting = CountingPotential(potential)
    tally = _Tally(potential, xtol, etol)
    count = {"quenches": 0, "failed": 0, "evaluations": 0, "timed_out": 0}
    bar = _bar(steps, progress)

    def quench(fun: Any, x: np.ndarray, args: Any = (), **_: Any) -> Any:
        """scipy's minimizer slot: the toolkit's quench, tallied (its `fun` is unused)."""
        before = counting.gradient_points
        point, e, gnorm = local_minimum(counting, x, gtol, maxiter)[:3]
        nfev = counting.gradient_points - before
        ok = bool(np.all(np.isfinite(point)) and quench_converged(gnorm, e, gtol))
        q = count["quenches"]
        count["quenches"] += 1
        count["evaluations"] += nfev
        if ok:
            tally.add(point, e, q)
        else:
            count["failed"] += 1
        return OptimizeResult(x=point, fun=e if ok else np.inf, success=ok, nfev=nfev)

    def converged(**kw: Any) -> bool:  # a quench that did not converge is never accepted
        return bool(np.isfinite(kw["f_new"]))

    def reached(x: np.ndarray, e: float, accepted: bool) -> bool:
        if bar is not None:
            bar.update(1)
        if target is not None and e <= target + etol:
            return True
        if deadline is not None and time.monotonic() > deadline:
            count["timed_out"] = 1
            return True
        return False

    rng = np.random.default_rng(seed)
    try:
        with np.errstate(all="ignore"):
            res = basinhopping(
                lambda x: 0.0,
                x0,
                niter=int(steps),
                T=temperature,
                stepsize=stepsize,
                minimizer_kwargs={"method": quench},
                accept_test=converged,
                callback=reached,
                rng=rng,
            )
    finally:
        if bar is not None:
            bar.close()
    del res  # its lowest minimum is the tally's m0; its other fields are the counts kept here
    stopped = target is not None and len(tally.energies) > 0 and float(tally.energies.min()) <= target + etol
    return _result(
        potential,
        tally,
        count,
        stopped,
        check_hessian,
        {
            "steps": int(steps),
            "seed": seed,
            "temperature": temperature,
            "stepsize": stepsize,
            "gtol": gtol,
            "xtol": xtol,
            "etol": etol,
            "target": target,
            "time_limit": time_limit,
        },
    )


def _bar(steps: int, progress: bool) -> Any:
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=steps, unit="step", desc="basin-hopping", leave=False, dynamic_ncols=True)


def _result(
    potential: Potential,
    tally: _Tally,
    count: dict[str, int],
    stopped: bool,
    check_hessian: bool | None,
    settings: dict[str, Any],
) -> BasinHopping:
    """The tally sorted by energy, after the Hessian check of each distinct point."""
    check = potential.dim <= _HESSIAN_MAX_DIM if check_hessian is None else check_hessian
    keep = [k for k in np.argsort(tally.energies, kind="stable") if not check or is_minimum(potential, tally.points[k])]
    if not keep:
        raise LandscapeError(
            f"none of the {count['quenches']} basin-hopping quenches of {potential.name} converged to a minimum"
        )
    minima = Minima(
        np.stack([tally.points[k] for k in keep]),
        np.asarray([tally.energies[k] for k in keep]),
        [f"m{i}" for i in range(len(keep))],
    )
    return BasinHopping(
        minima,
        np.asarray([tally.hits[k] for k in keep]),
        np.asarray([tally.first[k] for k in keep]),
        count["quenches"],
        count["failed"],
        count["evaluations"],
        len(tally.energies) - len(keep),
        stopped,
        settings,
        bool(count["timed_out"]),
    )
