"""Analytic 2D energy surfaces with known minima and saddles (numpy, float64, batched).

Conventions shared by every surface here:

- `minima` maps a name to a point (2,); `saddles` maps a name to a point (2,);
  `reference_energies` maps every minimum and saddle name to its energy.  A saddle
  is named after the two minima it joins ("AC" joins "A" and "C"); a suffix tells
  apart saddles joining the same pair.  Points and energies are the stationary
  points refined to ~1e-10 with the analytic gradient (literature values agree to
  their printed digits; see tests/plugins/test_analytic.py).
- `bounds` is the ((xmin, xmax), (ymin, ymax)) box used for grids and plots.
- `energy` is overridden with an energy-only evaluation (dense path profiles).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from landscape.foundations.errors import LandscapeError
from landscape.foundations.values import check_seed
from landscape.potentials.potential import Potential, as_batch

__all__ = [
    "AnalyticSurface",
    "MuellerBrown",
    "ThreeHole",
    "Ring",
    "LepsHO",
    "GaussianMixture",
    "random_pair",
]

Point = np.ndarray


def _points(x: Any) -> np.ndarray:
    """A float64 (n, 2) numpy view of `x`."""
    return as_batch(np.asarray(x, dtype=np.float64), 2)


def _table(values: Mapping[str, tuple[float, float]]) -> dict[str, Point]:
    return {k: np.array(v, dtype=np.float64) for k, v in values.items()}


class AnalyticSurface(Potential):
    """Base class: subclasses implement `_energy(x, y)` and `_energy_gradient(x, y)`.

    Both receive 1-D coordinate arrays; `_energy_gradient` returns (e, dE/dx, dE/dy).
    """

    dim = 2
    name = "analytic"
    minima: dict[str, Point] = {}
    saddles: dict[str, Point] = {}
    reference_energies: dict[str, float] = {}
    bounds: tuple[tuple[float, float], tuple[float, float]] = ((-1.0, 1.0), (-1.0, 1.0))

    def _energy(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return self._energy_gradient(x, y)[0]

    def _energy_gradient(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise NotImplementedError

    # Far from the box an exponential overflows (Mueller-Brown at x = 50): the energy is
    # then the inf or NaN it is, which every caller refuses or handles as a non-finite
    # energy (endpoint checks, band faults), so numpy's warning would only be noise.
    def energy(self, x: Any) -> np.ndarray:
        p = _points(x)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._energy(p[:, 0], p[:, 1])

    def energy_and_gradient(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        p = _points(x)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            e, gx, gy = self._energy_gradient(p[:, 0], p[:, 1])
        return e, np.stack([gx, gy], axis=1)

    def options(self) -> dict[str, Any]:
        """The constructor options (JSON-able) that rebuild this surface."""
        return {}

    def plugin_options(self) -> dict[str, Any]:
        """The options of the registered plugin that rebuild this surface, so that
        ``load_potential(d["name"], d["options"])`` works for ``d = describe()``."""
        return self.options()

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "options": self.plugin_options(),
            "bounds": [list(b) for b in self.bounds],
            "minima": {k: v.tolist() for k, v in self.minima.items()},
            "saddles": {k: v.tolist() for k, v in self.saddles.items()},
            "reference_energies": dict(self.reference_energies),
        }

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}({opts})"


# Mueller-Brown ------------------------------------------------------------------
class MuellerBrown(AnalyticSurface):
    """Mueller & Brown (1979): four anisotropic Gaussians; minima A, B, C; saddles AC, CB.

    The MEP from A to B passes C; its highest point is the AC saddle.
    """

    name = "mueller-brown"
    _A = np.array([-200.0, -100.0, -170.0, 15.0])
    _a = np.array([-1.0, -1.0, -6.5, 0.7])
    _b = np.array([0.0, 0.0, 11.0, 0.6])
    _c = np.array([-10.0, -10.0, -6.5, 0.7])
    _x0 = np.array([1.0, 0.0, -0.5, -1.0])
    _y0 = np.array([0.0, 0.5, 1.5, 1.0])

    minima = _table(
        {
            "A": (-0.5582236346, 1.4417258418),
            "B": (0.6234994049, 0.0280377585),
            "C": (-0.0500108230, 0.4666941049),
        }
    )
    saddles = _table(
        {
            "AC": (-0.8220015587, 0.6243128028),
            "CB": (0.2124865820, 0.2929883251),
        }
    )
    reference_energies = {
        "A": -146.6995172100,
        "B": -108.1667241169,
        "C": -80.7678181297,
        "AC": -40.6648435087,
        "CB": -72.2489401123,
    }
    bounds = ((-1.5, 1.2), (-0.2, 2.0))

    def _terms(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        dx = x[:, None] - self._x0
        dy = y[:, None] - self._y0
        t = self._A * np.exp(self._a * dx * dx + self._b * dx * dy + self._c * dy * dy)
        return t, dx, dy

    def _energy(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return self._terms(x, y)[0].sum(axis=1)

    def _energy_gradient(self, x, y):
        t, dx, dy = self._terms(x, y)
        gx = (t * (2 * self._a * dx + self._b * dy)).sum(axis=1)
        gy = (t * (self._b * dx + 2 * self._c * dy)).sum(axis=1)
        return t.sum(axis=1), gx, gy


# Three-hole -------------------------------------------------------------------------
class ThreeHole(AnalyticSurface):
    """The three-hole potential (Metzner, Schuette & Vanden-Eijnden 2006).

    V = 3 g(x, y-1/3) - 3 g(x, y-5/3) - 5 g(x-1, y) - 5 g(x+1, y) + 0.2 x^4 + 0.2 (y-1/3)^4
    with g(u, v) = exp(-u^2 - v^2).  Deep minima A (left) and B (right), shallow C (top).
    The upper saddles AC, CB lie below the direct saddle AB, so the MEP from A to B
    goes through C.
    """

    name = "three-hole"
    minima = _table(
        {
            "A": (-1.0480549928, -0.0420936663),
            "B": (1.0480549928, -0.0420936663),
            "C": (0.0, 1.5370820044),
        }
    )
    saddles = _table(
        {
            "AC": (-0.6172723079, 1.1027345175),
            "CB": (0.6172723079, 1.1027345175),
            "AB": (0.0, -0.3158265505),
        }
    )
    reference_energies = {
        "A": -3.9948606019,
        "B": -3.9948606019,
        "C": -2.1721536230,
        "AC": -1.6466874535,
        "CB": -1.6466874535,
        "AB": -1.3845866404,
    }
    bounds = ((-2.0, 2.0), (-1.0, 2.5))

    # (weight, x centre, y centre) of the Gaussian terms
    _G = ((3.0, 0.0, 1.0 / 3.0), (-3.0, 0.0, 5.0 / 3.0), (-5.0, 1.0, 0.0), (-5.0, -1.0, 0.0))

    def _energy_gradient(self, x, y):
        e = 0.2 * x**4 + 0.2 * (y - 1.0 / 3.0) ** 4
        gx = 0.8 * x**3
        gy = 0.8 * (y - 1.0 / 3.0) ** 3
        for w, cx, cy in self._G:
            u, v = x - cx, y - cy
            t = w * np.exp(-u * u - v * v)
            e = e + t
            gx = gx - 2 * u * t
            gy = gy - 2 * v * t
        return e, gx, gy


# Ring -------------------------------------------------------------------------------
class Ring(AnalyticSurface):
    """V = (1 - r^2)^2 + y^2 / r^2 (E, Ren & Vanden-Eijnden 2007).

    Minima A = (-1, 0) and B = (1, 0) at 0; saddles (0, +-1) at 1; the exact MEP is
    the unit circle.  y^2/r^2 has no limit at the origin; there it takes its upper
    limit 1 (V = 2, gradient 0) so that no path, on a grid either, slips through the
    singularity below the saddles.
    """

    name = "ring"
    minima = _table({"A": (-1.0, 0.0), "B": (1.0, 0.0)})
    saddles = _table({"AB_upper": (0.0, 1.0), "AB_lower": (0.0, -1.0)})
    reference_energies = {"A": 0.0, "B": 0.0, "AB_upper": 1.0, "AB_lower": 1.0}
    bounds = ((-1.5, 1.5), (-1.5, 1.5))

    def _energy(self, x, y):
        r2 = x * x + y * y
        origin = r2 == 0.0
        safe = np.where(origin, 1.0, r2)
        return (1 - r2) ** 2 + np.where(origin, 1.0, y * y / safe)

    def _energy_gradient(self, x, y):
        r2 = x * x + y * y
        origin = r2 == 0.0
        safe = np.where(origin, 1.0, r2)
        ratio = np.where(origin, 1.0, y * y / safe)
        e = (1 - r2) ** 2 + ratio
        # d(y^2/r^2)/dx = -2 x y^2 / r^4 ; d/dy = 2 y x^2 / r^4 (zero at the origin)
        inv4 = np.where(origin, 0.0, 1.0 / (safe * safe))
        gx = -4 * x * (1 - r2) - 2 * x * y * y * inv4
        gy = -4 * y * (1 - r2) + 2 * y * x * x * inv4
        return e, gx, gy


# LEPS + harmonic oscillator -------------------------------------------------------
class LepsHO(AnalyticSurface):
    """LEPS plus harmonic oscillator (Henkelman, Johannesson & Jonsson 2000).

    Coordinates (r_AB, x): atom B between A and C with r_AC fixed at 3.742, coupled
    to a harmonic oscillator coordinate x:
    V = V_LEPS(r_AB, r_AC - r_AB) + 2 k_c (r_AB - (r_AC/2 - x/c))^2.
    LEPS parameters a=0.05, b=0.80, c=0.05 (b=0.80 is the LEPS+HO variant; the plain
    LEPS model uses b=0.30), d_AB=d_BC=4.746, d_AC=3.445, r0=0.742, alpha=1.942,
    k_c=0.2025, c=1.154.  Minima A (reactant, r_AB ~ r0) and B (product); saddle AB
    at (2.020828, -0.172901), V = -0.875225.
    """

    name = "leps"
    _abc = np.array([0.05, 0.80, 0.05])
    _d = np.array([4.746, 4.746, 3.445])
    _r0 = 0.742
    _alpha = 1.942
    _rac = 3.742
    _kc = 0.2025
    _c = 1.154

    minima = _table(
        {
            "A": (0.7415206601, 1.3034191582),
            "B": (3.0012758054, -1.3043382794),
        }
    )
    saddles = _table({"AB": (2.0208277344, -0.1729012055)})
    reference_energies = {"A": -4.5091759957, "B": -2.6202871068, "AB": -0.8752246791}
    bounds = ((0.5, 3.5), (-3.0, 3.0))

    def _qj(self, r: np.ndarray, d: float) -> tuple[np.ndarray, ...]:
        """Coulomb Q, exchange J and their derivatives for one pair distance."""
        e1 = np.exp(-self._alpha * (r - self._r0))
        e2 = e1 * e1
        q = 0.5 * d * (1.5 * e2 - e1)
        j = 0.25 * d * (e2 - 6 * e1)
        dq = 0.5 * d * self._alpha * (-3 * e2 + e1)
        dj = 0.25 * d * self._alpha * (-2 * e2 + 6 * e1)
        return q, j, dq, dj

    def _energy_gradient(self, r, x):
        s = 1.0 + self._abc
        qa, ja, dqa, dja = self._qj(r, self._d[0])
        qb, jb, dqb, djb = self._qj(self._rac - r, self._d[1])
        qc, jc, _, _ = self._qj(np.full_like(r, self._rac), self._d[2])
        ja, jb, jc, dja, djb = ja / s[0], jb / s[1], jc / s[2], dja / s[0], djb / s[1]
        # the radicand is half a sum of squares; the floor only guards exact equality
        rad = np.maximum(ja * ja + jb * jb + jc * jc - ja * jb - jb * jc - ja * jc, 1e-300)
        root = np.sqrt(rad)
        leps = qa / s[0] + qb / s[1] + qc / s[2] - root
        # r_BC = r_AC - r_AB, so d/dr_AB picks up minus the r_BC derivative
        drad = (2 * ja - jb - jc) * dja - (2 * jb - ja - jc) * djb
        dleps = dqa / s[0] - dqb / s[1] - drad / (2 * root)
        u = r - (0.5 * self._rac - x / self._c)
        e = leps + 2 * self._kc * u * u
        return e, dleps + 4 * self._kc * u, 4 * self._kc * u / self._c


# Seeded random Gaussian mixture ----------------------------------------------------------
_MAX_WELLS = 10_000


class GaussianMixture(AnalyticSurface):
    """A seeded random surface: negative Gaussian wells plus a weak quartic confinement.

    V = -sum_k d_k exp(-|p - c_k|^2 / (2 s_k^2)) + confinement * (|p| / box)^4,
    centres c_k uniform in [-box, box]^2, depths d_k in [1, 3], widths s_k in
    [0.25, 0.6] * box / 2.  The confinement keeps V bounded below and the minima
    inside `bounds` (1.5 * box).  `minima` ("m0" the lowest, then by energy) come from
    local minimisation started at every centre, de-duplicated; `saddles` is empty
    (landscape.paths.exact.pairwise_minimax gives the exact joins on a grid).
    """

    name = "gaussian-mixture"

    def __init__(self, n_wells: int = 8, seed: int = 0, box: float = 2.0, confinement: float = 0.5):
        if int(n_wells) < 1:
            raise LandscapeError(f"a gaussian mixture needs at least one well, got n_wells={n_wells}")
        if int(n_wells) > _MAX_WELLS:  # minima are searched from every well: the cost grows as wells^2
            raise LandscapeError(
                f"a gaussian mixture takes at most {_MAX_WELLS:,} wells (building 5,000 takes "
                f"about a minute), got {n_wells}"
            )
        if not box > 0 or confinement < 0:
            raise LandscapeError(f"gaussian mixture needs box > 0 and confinement >= 0, got {box}, {confinement}")
        self.n_wells, self.seed = int(n_wells), check_seed(seed)
        self.box, self.confinement = float(box), float(confinement)
        rng = np.random.default_rng(self.seed)
        self.centres = rng.uniform(-self.box, self.box, size=(self.n_wells, 2))
        self.depths = rng.uniform(1.0, 3.0, size=self.n_wells)
        self.widths = rng.uniform(0.25, 0.6, size=self.n_wells) * self.box / 2
        half = 1.5 * self.box
        self.bounds = ((-half, half), (-half, half))
        self.minima = self._find_minima()
        self.saddles = {}
        self.reference_energies = {k: float(self.energy(v[None])[0]) for k, v in self.minima.items()}

    def options(self) -> dict[str, Any]:
        return {"n_wells": self.n_wells, "seed": self.seed, "box": self.box, "confinement": self.confinement}

    def plugin_options(self) -> dict[str, Any]:
        # the plugin calls the well count `wells`
        return {"wells": self.n_wells, "seed": self.seed, "box": self.box, "confinement": self.confinement}

    def _energy_gradient(self, x, y):
        dx = x[:, None] - self.centres[:, 0]
        dy = y[:, None] - self.centres[:, 1]
        inv = 1.0 / (2 * self.widths**2)
        t = -self.depths * np.exp(-(dx * dx + dy * dy) * inv)
        k = self.confinement / self.box**4
        r2 = x * x + y * y
        e = t.sum(axis=1) + k * r2 * r2
        gx = (-2 * inv * dx * t).sum(axis=1) + 4 * k * r2 * x
        gy = (-2 * inv * dy * t).sum(axis=1) + 4 * k * r2 * y
        return e, gx, gy

    def _find_minima(self) -> dict[str, Point]:
        from scipy.optimize import minimize  # only needed at construction

        def fun(p: np.ndarray) -> tuple[float, np.ndarray]:
            e, g = self.energy_and_gradient(p[None])
            return float(e[0]), g[0]

        found: list[np.ndarray] = []
        for c in self.centres:
            res = minimize(fun, c, jac=True, method="BFGS", options={"gtol": 1e-11, "maxiter": 1000})
            p = _newton_polish(self, res.x)
            if _is_minimum(self, p) and not any(np.linalg.norm(p - q) < 1e-5 for q in found):
                found.append(p)
        found.sort(key=lambda p: float(self.energy(p[None])[0]))
        return {f"m{i}": p for i, p in enumerate(found)}


def random_pair(seed: int) -> tuple[GaussianMixture, Point, Point] | None:
    """Case `seed` of the random-surface benchmark (bench/bench_random_surfaces.py) and of
    the tests that pick its cases: a mixture of 3-8 wells and a seeded ordered pair of
    its minima; None where the surface has fewer than two."""
    surface = GaussianMixture(n_wells=3 + seed % 6, seed=seed)
    names = list(surface.minima)
    if len(names) < 2:
        return None
    i, j = np.random.default_rng(seed).choice(len(names), size=2, replace=False)
    return surface, surface.minima[names[i]], surface.minima[names[j]]


def _fd_hessian(potential: Potential, p: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central-difference Hessian of a 2D potential from its analytic gradient."""
    steps = np.vstack([p + h * np.eye(2), p - h * np.eye(2)])
    g = potential.energy_and_gradient(steps)[1]
    hess = (g[:2] - g[2:]).T / (2 * h)
    return 0.5 * (hess + hess.T)


def _newton_polish(potential: Potential, p: np.ndarray, steps: int = 3) -> np.ndarray:
    """A few Newton steps on the gradient: drives |grad| to round-off near a minimum."""
    for _ in range(steps):
        g = potential.energy_and_gradient(p[None])[1][0]
        try:
            p = p - np.linalg.solve(_fd_hessian(potential, p), g)
        except np.linalg.LinAlgError:
            break
    return p


def _is_minimum(potential: Potential, p: np.ndarray) -> bool:
    g = potential.energy_and_gradient(p[None])[1][0]
    return bool(np.linalg.norm(g) < 1e-7 and np.linalg.eigvalsh(_fd_hessian(potential, p)).min() > 0)
