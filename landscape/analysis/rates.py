"""Rate constants over the stored network of minima and saddles, and passage from A to B.

Each certified first-order saddle s joins two minima; the rate from minimum i over s is,
with k_B = 1 (the temperature T in the potential's energy units), unit masses, and
lambda the Hessian's eigenvalues with the symmetry's zero modes set aside:

- harmonic transition state theory (Vineyard 1957), "htst":
  ``k = (o_i / o_s) (1 / 2 pi) sqrt(prod lambda_i / prod_{lambda_s > 0} lambda_s) exp(-(E_s - E_i) / T)``
- the overdamped Langevin rate (Kramers 1940, Langer 1969), "kramers-langer", for
  ``friction dx = -grad E dt + sqrt(2 friction T) dW``:
  ``k = (o_i / o_s) (|lambda_s^-| / (2 pi friction)) sqrt(prod lambda_i / |prod lambda_s|) exp(-(E_s - E_i) / T)``

o are point-group orders (how many relabellings map a point onto itself): taken from
the potential's symmetry where it declares them (a ``point_group_order(x)`` method),
else 1, and the output says which.  Both rates obey detailed balance with the harmonic
equilibrium weights ``p_i ~ exp(-E_i / T) / (o_i sqrt(prod lambda_i))``, which weight
the minima of A (`landscape.analysis.kinetics`).  For a network loss the numbers are
escape rates of Langevin dynamics at temperature T on the loss.

`saddle_network` finds the saddles in a store: every interior local maximum of every
stored path's energies is refined (`landscape.analysis.hessian.refine_saddle`), kept
when its Hessian certifies index 1, and joined to the two minima that steepest descent
from either side of its negative mode reaches, identified with stored minima modulo
the symmetry; saddles found twice count once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from landscape.analysis.hessian import ZERO_RTOL, dense_hessian, refine_saddle
from landscape.analysis.kinetics import Passage, committor, graph_transformation, master_equation
from landscape.foundations.arrays import to_numpy
from landscape.foundations.errors import LandscapeError
from landscape.foundations.memory import require_memory
from landscape.optimizers.quench import local_minimum
from landscape.potentials.potential import Potential
from landscape.potentials.symmetry import distance, symmetry_of

__all__ = [
    "THEORIES",
    "SaddleNetwork",
    "StationaryPoint",
    "Transition",
    "log_rate",
    "log_weight",
    "saddle_network",
    "stationary_point",
]

THEORIES = ("htst", "kramers-langer")
#: Largest dimension whose whole Hessian spectrum a rate is computed from (2 dim gradients, dim^2 floats).
RATES_MAX_DIM = 4000


@dataclass(frozen=True)
class StationaryPoint:
    """A minimum or saddle: energy, the Hessian's eigenvalues beyond the symmetry's
    `zero_modes` (ascending), and its point-group `order` (`declared` by the symmetry, or 1)."""

    point: np.ndarray
    energy: float
    eigenvalues: np.ndarray
    zero_modes: int
    order: int = 1
    declared: bool = False

    @property
    def index(self) -> int:
        return int(np.sum(self.eigenvalues < 0))


def stationary_point(potential: Potential, x: Any, energy: float | None = None) -> StationaryPoint:
    """The Hessian's account of the stationary point `x` (whole spectrum, from gradients).

    Raises:
        LandscapeError: dimension too large, or a flat direction beyond the symmetry's
            zero modes (no harmonic rate exists there).
    """
    if potential.dim > RATES_MAX_DIM:
        raise LandscapeError(f"rates need every Hessian eigenvalue; dim {potential.dim} > {RATES_MAX_DIM}")
    require_memory(
        f"the Hessian of a {potential.dim}-dimensional potential", 3.0 * 8 * potential.dim**2, "use a smaller potential"
    )
    x = np.asarray(to_numpy(x), dtype=np.float64)
    values = np.linalg.eigvalsh(dense_hessian(potential, x))
    sym = symmetry_of(potential)
    z = 0 if sym is None else sym.zero_modes
    rest = np.sort(values[np.argsort(np.abs(values), kind="stable")[z:]])
    if np.any(np.abs(rest) <= ZERO_RTOL * float(np.max(np.abs(values)))):
        raise LandscapeError("the Hessian has a flat direction beyond the symmetry's zero modes: no harmonic rate")
    order_of = getattr(sym, "point_group_order", None)
    order = int(order_of(x)) if callable(order_of) else 1
    if energy is None:
        energy = float(np.asarray(to_numpy(potential.energy(potential.asarray(x[None]))))[0])
    return StationaryPoint(x, float(energy), rest, z, order, callable(order_of))


def _check_theory(temperature: float, theory: str, friction: float) -> None:
    if theory not in THEORIES:
        raise LandscapeError(f"unknown rate theory {theory!r}; known: {', '.join(THEORIES)}")
    if not (np.isfinite(temperature) and temperature > 0 and np.isfinite(friction) and friction > 0):
        raise LandscapeError(f"temperature and friction must be positive and finite, got {temperature}, {friction}")


def log_rate(
    minimum: StationaryPoint,
    saddle: StationaryPoint,
    temperature: float,
    *,
    theory: str = "htst",
    friction: float = 1.0,
) -> float:
    """ln k from `minimum` over `saddle` (module docstring); both must be certified."""
    _check_theory(temperature, theory, friction)
    if minimum.index != 0 or saddle.index != 1:
        raise LandscapeError(
            f"a rate needs a minimum (index 0) and a first-order saddle (index 1), got indices "
            f"{minimum.index} and {saddle.index}"
        )
    log_min = 0.5 * float(np.sum(np.log(minimum.eigenvalues)))
    log_sad = 0.5 * float(np.sum(np.log(np.abs(saddle.eigenvalues))))
    out = np.log(minimum.order / saddle.order) - np.log(2 * np.pi) - (saddle.energy - minimum.energy) / temperature
    if theory == "htst":  # the unstable mode carries no frequency
        return float(out + log_min - (log_sad - 0.5 * np.log(abs(saddle.eigenvalues[0]))))
    return float(out + np.log(abs(saddle.eigenvalues[0]) / friction) + log_min - log_sad)


def log_weight(minimum: StationaryPoint, temperature: float) -> float:
    """ln of the harmonic equilibrium weight of `minimum`, up to a constant shared by all."""
    return float(-minimum.energy / temperature - np.log(minimum.order) - 0.5 * np.sum(np.log(minimum.eigenvalues)))


@dataclass(frozen=True)
class Transition:
    """A certified saddle joining minima `i` and `j`, found from the stored path `source`."""

    saddle: StationaryPoint
    i: int
    j: int
    source: str


@dataclass(frozen=True)
class SaddleNetwork:
    """Minima and the certified saddles between them; `skipped`: (source, why) for each
    candidate that did not give a transition between two distinct stored minima."""

    names: list[str]
    minima: list[StationaryPoint]
    transitions: list[Transition]
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def log_rates(self, temperature: float, theory: str = "htst", friction: float = 1.0) -> np.ndarray:
        """(n, n) ln K, ``K[j, i]`` the rate from i to j summed over saddles; -inf where none."""
        out = np.full((len(self.names), len(self.names)), -np.inf)
        for t in self.transitions:
            for a, b in ((t.i, t.j), (t.j, t.i)):
                out[b, a] = np.logaddexp(
                    out[b, a], log_rate(self.minima[a], t.saddle, temperature, theory=theory, friction=friction)
                )
        return out

    def passage(
        self,
        A: Sequence[str],
        B: Sequence[str],
        temperature: float,
        *,
        theory: str = "htst",
        friction: float = 1.0,
        method: str = "graph transformation",
    ) -> Passage:
        """First passage from the minima named in A to those in B (`landscape.analysis.kinetics`),
        by the graph transformation or, with ``method="master equation"``, a linear solve."""
        a, b = self._indices(A, "A"), self._indices(B, "B")
        logk = self.log_rates(temperature, theory, friction)
        if not np.isfinite(logk).any():
            raise LandscapeError("no certified saddle joins two stored minima: no rates")
        shift = float(np.max(logk[np.isfinite(logk)]))  # rates relative to the fastest: no overflow
        logw = np.array([log_weight(self.minima[i], temperature) for i in a])
        solve = {"graph transformation": graph_transformation, "master equation": master_equation}[method]
        p = solve(np.exp(logk - shift), a, b, np.exp(logw - logw.max()))
        scale = np.exp(-shift)  # times in the scaled rates' units -> the potential's
        return Passage(p.times * scale, p.weights, p.mfpt * scale, p.rate / scale, p.method)

    def committor(
        self, A: Sequence[str], B: Sequence[str], temperature: float, *, theory: str = "htst", friction: float = 1.0
    ) -> np.ndarray:
        """Each minimum's probability of reaching those named in B before those in A, in
        `names` order (`landscape.analysis.kinetics.committor`; NaN where neither is reachable)."""
        a, b = self._indices(A, "A"), self._indices(B, "B")
        logk = self.log_rates(temperature, theory, friction)
        # q depends only on each minimum's branching ratios: scale each one's rates out by the
        # fastest of them, so that no minimum's exits all underflow at low temperature
        top = logk.max(axis=0)
        return committor(np.exp(logk - np.where(np.isfinite(top), top, 0.0)), a, b)

    def _indices(self, names: Sequence[str], label: str) -> list[int]:
        unknown = [n for n in names if n not in self.names]
        if unknown:
            raise LandscapeError(f"{label}: unknown minima {', '.join(unknown)}; known: {', '.join(self.names)}")
        return [self.names.index(n) for n in names]


def _local_maxima(energies: np.ndarray) -> list[int]:
    """Interior pivots higher than both neighbours (a plateau's first pivot)."""
    e = np.asarray(energies, dtype=np.float64)
    return [k for k in range(1, len(e) - 1) if e[k] > e[k - 1] and e[k] >= e[k + 1]]


def _identify(
    potential: Potential, x: np.ndarray, e: float, coords: np.ndarray, energies: np.ndarray, xtol: float, etol: float
) -> int | None:
    for k in np.flatnonzero(np.abs(energies - e) <= etol * max(1.0, abs(e))):
        if distance(potential, coords[k], x) <= xtol:
            return int(k)
    return None


def _descend(
    potential: Potential,
    saddle: np.ndarray,
    mode: np.ndarray,
    curvature: float,
    coords: np.ndarray,
    energies: np.ndarray,
    xtol: float,
    etol: float,
) -> tuple[int | None, int | None]:
    """The stored minima steepest descent reaches from either side of the negative mode.

    Gradient steps of 1/`curvature` (the largest |eigenvalue|: stable along every mode),
    each at most `step` long, follow the valley until the gradient has fallen to 1% of
    the largest it reached; only then L-BFGS-B polishes (from near the saddle its long
    first steps could jump into another basin, as on Mueller-Brown)."""
    from landscape.analysis.hessian import _gradients

    step = 1e-2 * max(1.0, float(np.sqrt(np.mean(saddle**2))))
    ends = []
    for sign in (1.0, -1.0):
        x, peak = saddle + sign * step * mode, 0.0
        for _ in range(20_000):
            g = _gradients(potential, x[None])[0]
            norm = float(np.linalg.norm(g))
            peak = max(peak, norm)
            if norm <= 1e-2 * peak:
                break
            x = x - g * min(1.0 / curvature, step / max(norm, 1e-300))
        x, e, _, _ = local_minimum(potential, x, 1e-8, 5000)
        ends.append(_identify(potential, x, e, coords, energies, xtol, etol))
    return ends[0], ends[1]


def saddle_network(
    potential: Potential,
    coords: Any,
    energies: Any,
    names: Sequence[str],
    paths: dict[str, Any],
    *,
    xtol: float = 1e-2,
    etol: float = 1e-6,
) -> SaddleNetwork:
    """Certified saddles between the minima (coords, energies, names) from the stored
    paths ``{name: (pivots, energies)}`` (module docstring).  `xtol`, `etol`: a point is
    a stored minimum (or two saddles one) within `xtol` modulo the symmetry and
    relative energy `etol`."""
    coords, energies = np.asarray(coords, dtype=np.float64), np.asarray(energies, dtype=np.float64)
    minima = [stationary_point(potential, x, e) for x, e in zip(coords, energies)]
    bad = [n for n, m in zip(names, minima) if m.index]
    if bad:
        raise LandscapeError(f"stored minima {', '.join(bad)} have a negative Hessian eigenvalue: not minima")
    transitions: list[Transition] = []
    skipped: list[tuple[str, str]] = []
    for source, (pivots, profile) in paths.items():
        pivots = np.asarray(pivots, dtype=np.float64)
        for k in _local_maxima(profile):
            where = f"{source} pivot {k}"
            try:
                x, cert, _ = refine_saddle(potential, pivots[k])
            except LandscapeError as exc:
                skipped.append((where, str(exc)))
                continue
            if not cert.first_order:
                skipped.append((where, f"refined to a point of index {cert.index}, not a first-order saddle"))
                continue
            e = float(np.asarray(to_numpy(potential.energy(potential.asarray(x[None]))))[0])
            if any(
                abs(t.saddle.energy - e) <= etol * max(1.0, abs(e)) and distance(potential, t.saddle.point, x) <= xtol
                for t in transitions
            ):
                continue  # found before, from another pivot or path
            i, j = _descend(potential, x, cert.mode, cert.scale, coords, energies, xtol, etol)
            if i is None or j is None:
                skipped.append((where, "steepest descent from it reaches a minimum that is not stored"))
            elif i == j:
                skipped.append((where, f"joins {names[i]} with an image of itself"))
            else:
                transitions.append(Transition(stationary_point(potential, x, e), min(i, j), max(i, j), source))
    return SaddleNetwork(list(names), minima, transitions, skipped)
