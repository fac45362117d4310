"""Conformance checks every potential and path optimizer must pass, for plugin authors.

    from landscape.testing import check_potential, check_optimizer
    check_potential(MyPotential())              # raises AssertionError with a reason
    check_optimizer(NEB(climb=True, fmax=0.1), MuellerBrown(), a, b)  # against the grid truth

The core knows no plugin: hypothesis strategies of random analytic surfaces with
known exact saddles live with those surfaces (`landscape_plugins.analytic.strategies`).
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from landscape.foundations.arrays import to_numpy
from landscape.foundations.values import seeded
from landscape.optimizers.base import PathOptimizer
from landscape.optimizers.driver import optimize
from landscape.paths.budget import Budget
from landscape.paths.path import Path
from landscape.paths.result import Result, Status
from landscape.potentials.potential import Potential, PotentialWrapper, gradient_error

__all__ = ["check_potential", "check_optimizer", "sample_points", "exact_saddle", "examples", "SeededNoise"]

#: Environment variable that multiplies the example counts of `examples` (and of the
#: test suite's hypothesis profiles), for long exploratory property runs.
EXAMPLES_SCALE = "LANDSCAPE_HYPOTHESIS_SCALE"


def examples(n: int) -> int:
    """`n` hypothesis examples, times $LANDSCAPE_HYPOTHESIS_SCALE (default 1).

    Use it in `@settings(max_examples=examples(8))`: the suite stays quick and
    deterministic, and `bench/property_tests.py --scale 50` runs the same tests with
    fifty times as many fresh examples.
    """
    return max(1, int(n * float(os.environ.get(EXAMPLES_SCALE, "1"))))


def sample_points(potential: Potential, n: int = 8, seed: int = 0, scale: float = 0.3) -> np.ndarray:
    """Seeded test points where paths go: around the known minima, around the known
    saddles, and along the straight lines between minima (where a band starts, and
    where a gradient bug confined to the barrier region shows); without minima, inside
    `bounds`, else N(0, scale)."""
    rng = seeded(seed)
    minima = [np.asarray(to_numpy(m), dtype=float) for m in potential.minima.values()]
    saddles = [np.asarray(to_numpy(s), dtype=float) for s in getattr(potential, "saddles", {}).values()]
    if minima:
        centres = [minima[i % len(minima)] for i in range(n)]
        centres += [saddles[i % len(saddles)] for i in range(n // 2)] if saddles else []
        pairs = [(a, b) for i, a in enumerate(minima) for b in minima[i + 1 :]]
        centres += [a + t * (b - a) for a, b in pairs[:n] for t in (0.25, 0.5, 0.75)]
        jitter = scale * rng.standard_normal((len(centres), potential.dim))
        jitter[n:] *= 0.1  # near the saddles and on the lines, stay close
        return np.stack(centres) + jitter
    if potential.bounds is not None and len(potential.bounds) == potential.dim:
        lo, hi = np.array(potential.bounds, dtype=float).T
        return lo + (hi - lo) * rng.random((n, potential.dim))
    return scale * rng.standard_normal((n, potential.dim))


def _host(x: Any) -> np.ndarray:
    return np.asarray(to_numpy(x), dtype=np.float64)


def check_potential(
    potential: Potential,
    points: Any = None,
    *,
    rtol: float = 1e-6,
    fd_tolerance: float | None = 1e-5,
    fd_eps: float = 1e-6,
    minima_gradient: float | None = 1e-3,
) -> None:
    """Assert that `potential` honours the interface contract.

    Shapes and finiteness of batched results; `energy` agrees with
    `energy_and_gradient`; a batch equals its rows evaluated one by one; repeated
    calls agree; gradients match central finite differences (`fd_tolerance`, None
    to skip for float32 or stochastic potentials); listed minima are stationary
    (`minima_gradient` relative to the typical gradient scale, None to skip);
    `describe()` is JSON-able and names the dimension.
    """
    dim = potential.dim
    assert isinstance(dim, (int, np.integer)) and dim > 0, f"dim must be a positive int, got {dim!r}"
    host = sample_points(potential) if points is None else _host(points)
    x = potential.asarray(host)
    e, g = potential.energy_and_gradient(x)
    e, g = _host(e), _host(g)
    n = host.shape[0]
    assert e.shape == (n,), f"energies have shape {e.shape}, expected ({n},)"
    assert g.shape == (n, dim), f"gradients have shape {g.shape}, expected ({n}, {dim})"
    assert np.all(np.isfinite(e)) and np.all(np.isfinite(g)), "non-finite energy or gradient at test points"
    scale = max(1.0, float(np.abs(e).max()))
    e_only = _host(potential.energy(x))
    np.testing.assert_allclose(
        e_only, e, rtol=rtol, atol=rtol * scale, err_msg="energy() disagrees with energy_and_gradient()"
    )
    rows = [potential.energy_and_gradient(potential.asarray(host[i : i + 1])) for i in range(n)]
    np.testing.assert_allclose(
        np.concatenate([_host(r[0]) for r in rows]),
        e,
        rtol=rtol,
        atol=rtol * scale,
        err_msg="a batch differs from its rows evaluated one by one",
    )
    np.testing.assert_allclose(
        np.concatenate([_host(r[1]) for r in rows]),
        g,
        rtol=rtol,
        atol=rtol * max(1.0, np.abs(g).max()),
        err_msg="batched gradients differ from row-by-row gradients",
    )
    e2, g2 = potential.energy_and_gradient(x)
    np.testing.assert_array_equal(_host(e2), e, err_msg="repeated evaluation is not deterministic")
    if fd_tolerance is not None:
        err = gradient_error(_HostView(potential), host, eps=fd_eps)
        assert err <= fd_tolerance, f"gradient differs from finite differences by {err:.3g} (relative)"
    if minima_gradient is not None and potential.minima:
        m = np.stack([_host(v) for v in potential.minima.values()])
        gm = _host(potential.energy_and_gradient(potential.asarray(m))[1])
        worst = float(np.linalg.norm(gm, axis=1).max())
        typical = max(1.0, float(np.linalg.norm(g, axis=1).mean()))
        assert worst <= minima_gradient * typical, f"a listed minimum is not stationary: |grad| = {worst:.3g}"
    desc = potential.describe()
    json.dumps(desc)
    assert desc.get("dim") == dim, f"describe() must give dim={dim}, got {desc.get('dim')!r}"


class _HostView(Potential):
    """Numpy float64 view of any potential, for finite differences."""

    def __init__(self, inner: Potential):
        self.inner, self.dim = inner, inner.dim

    def energy_and_gradient(self, x: Any) -> tuple[Any, Any]:
        e, g = self.inner.energy_and_gradient(self.inner.asarray(x))
        return _host(e), _host(g)

    def energy(self, x: Any) -> Any:
        return _host(self.inner.energy(self.inner.asarray(x)))


def exact_saddle(potential: Potential, start: Any, end: Any, grid: int = 401) -> tuple[float, float]:
    """Grid-exact minimax energy between two points of a 2D potential, and its tolerance."""
    from landscape.paths.exact import grid_minimax

    ex = grid_minimax(potential, start, end, grid=grid)
    return float(ex.saddle_energy), float(ex.tolerance)


def check_optimizer(
    optimizer: PathOptimizer,
    potential: Potential,
    start: Any,
    end: Any,
    *,
    pivots: int = 9,
    budget: Budget = Budget(max_steps=2000),
    grid: int = 401,
) -> Result:
    """Assert that `optimizer` behaves as a path optimizer must, and return its result.

    On `potential` from `start` to `end`: ends never move; every
    stored energy is the potential's energy at its pivot; the result is finite and
    has a valid status and counts; the reported saddle is never below the grid-exact
    minimax energy (minus grid tolerance) of a 2D surface; running the reversed
    problem finds the same saddle energy.
    """
    a, b = potential.asarray(_host(start)), potential.asarray(_host(end))
    result = optimize(optimizer, potential, Path.straight(a, b, pivots), budget=budget)
    p = result.path
    assert isinstance(result.status, Status) and result.status is not Status.RUNNING, f"bad status {result.status!r}"
    assert result.nit >= 0 and result.nfev > 0, f"bad counts nit={result.nit}, nfev={result.nfev}"
    np.testing.assert_array_equal(p.pivots[0], _host(start), err_msg="the start moved")
    np.testing.assert_array_equal(p.pivots[-1], _host(end), err_msg="the end moved")
    assert np.all(np.isfinite(p.pivots)) and np.all(np.isfinite(p.energies)), "non-finite path"
    fresh = _host(potential.energy(potential.asarray(p.pivots)))
    np.testing.assert_allclose(p.energies, fresh, rtol=1e-6, atol=1e-9, err_msg="stored energies are stale")
    if potential.dim == 2 and potential.bounds is not None:
        truth, tol = exact_saddle(potential, start, end, grid)
        assert result.upper_bound >= truth - tol, (
            f"path maximum {result.upper_bound} below the exact minimax {truth} - {tol}"
        )
    back = optimize(optimizer, potential, Path.straight(b, a, pivots), budget=budget)
    spread = max(1e-6, 1e-3 * abs(result.saddle_energy))
    assert abs(back.saddle_energy - result.saddle_energy) <= max(spread, 1e-2 * np.ptp(p.energies)), (
        f"reversed run found {back.saddle_energy}, forward {result.saddle_energy}"
    )
    return result


class SeededNoise(PotentialWrapper):
    """`inner` plus seeded noise of size `scale` on every energy, drawn anew at every
    call, as a mini-batch loss draws a batch; the draws so far are its checkpoint state.
    A run stored mid-way then resumes to the uninterrupted run exactly only when the
    sampler's position is checkpointed at the right moment and restored.
    `stochastic`: whether it says so, as a mini-batch loss does."""

    def __init__(self, inner: Potential, scale: float = 1e-3, stochastic: bool = False):
        super().__init__(inner)
        self.scale, self._stochastic, self.draws = float(scale), bool(stochastic), 0

    @property
    def stochastic(self) -> bool:
        return self._stochastic

    def _noise(self, n: int) -> np.ndarray:
        self.draws += 1
        return np.random.default_rng(self.draws).normal(0, self.scale, n)

    def energy_and_gradient(self, x: Any) -> tuple[Any, Any]:
        noise = self._noise(len(x))
        e, g = self.inner.energy_and_gradient(x)
        return e + noise, g

    def energy(self, x: Any) -> Any:
        return self.inner.energy(x) + self._noise(len(x))

    def checkpoint_state(self) -> dict[str, int]:
        return {"draws": self.draws}

    def restore_checkpoint_state(self, state: dict[str, Any]) -> None:
        self.draws = int(state["draws"])
