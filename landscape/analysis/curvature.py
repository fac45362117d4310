"""Curvature from Hessian-vector products, for every potential: the extreme eigenvalues,
how many eigenvalues are near zero, the curvature along a direction, a path's end
tangents and its top.

Each function works on the products at its point (`landscape.analysis.hessian.
hessian_products`: the potential's exact ones, a network's by autograd on a fixed batch,
else central differences of gradients), given as `products` or built from `options`,
which go to the potential's hook (a network's `samples`, `data_seed`, `chunk`,
`include_l2`).  H is never formed above `dense_limit` dimensions.

- `extreme_eigenvalues`: the largest and smallest by the spectra's Lanczos (`spectrum.eigenpairs`).
- `count_near_zero`: eigenvalues with |lambda| <= rtol * max|lambda|.  Exact from the
  whole spectrum up to `dense_limit` dimensions; above, a stochastic Lanczos quadrature
  estimate (dim * the mean Ritz weight inside the band, `landscape.analysis.density`),
  which resolves the band only to about the Ritz values' spacing: an estimate.
- `curvature_along`: u^T H u / |u|^2 (along a path's tangent, say).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from landscape.analysis.density import lanczos, quadrature, rademacher
from landscape.analysis.hessian import Products, dense_hessian, hessian_products
from landscape.foundations.arrays import to_numpy
from landscape.foundations.errors import LandscapeError
from landscape.foundations.values import seeded
from landscape.potentials.potential import Potential

__all__ = [
    "extreme_eigenvalues",
    "count_near_zero",
    "dense_count",
    "whole_batch",
    "curvature_along",
    "path_end_tangents",
    "path_top",
]


def _products(potential: Potential, x: Any, products: Products | None, options: dict[str, Any]) -> Products:
    return products if products is not None else hessian_products(potential, x, **options)


def extreme_eigenvalues(
    potential: Potential,
    x: Any,
    k: int = 1,
    *,
    tol: float = 1e-6,
    seed: int = 0,
    products: Products | None = None,
    **options: Any,
) -> dict[str, np.ndarray]:
    """The `k` largest and `k` smallest (algebraic) eigenvalues, ascending: the spectra's
    eigensolver (`landscape.analysis.spectrum.eigenpairs`, Lanczos from a seeded start)
    on one set of products."""
    from landscape.analysis.spectrum import eigenpairs

    if not 1 <= k < potential.dim - 1:
        raise LandscapeError(f"k must be between 1 and dim - 2 = {potential.dim - 2}, got {k}")
    hv = _products(potential, x, products, options)
    return {
        key: eigenpairs(potential, x, k, which=which, products=hv, seed=seed, tol=tol).values
        for which, key in (("top", "largest"), ("bottom", "smallest"))
    }


def dense_count(values: Any, rtol: float) -> dict[str, Any]:
    """`count_near_zero`'s answer from the whole spectrum `values` (ascending)."""
    vals = np.asarray(values, dtype=np.float64)
    thresh = rtol * float(np.abs(vals).max())
    return {
        "count": int(np.sum(np.abs(vals) <= thresh)),
        "method": "dense",
        "threshold": thresh,
        "rtol": rtol,
        "largest": float(vals[-1]),
        "smallest": float(vals[0]),
        "spectrum": vals,
    }


def whole_batch(potential: Potential, x: Any, products: Products | None, options: dict[str, Any]) -> Products:
    """The products a dense Hessian is formed from: `products` when given, else the hook's
    with every option but `chunk` (the dense Hessian of a network always took its samples
    in one piece; with BatchNorm, chunks would each bring their own batch statistics)."""
    if products is not None:
        return products
    return hessian_products(potential, x, **{key: value for key, value in options.items() if key != "chunk"})


def count_near_zero(
    potential: Potential,
    x: Any,
    *,
    rtol: float = 1e-3,
    dense_limit: int = 3000,
    probes: int = 4,
    steps: int = 100,
    seed: int = 0,
    products: Products | None = None,
    **options: Any,
) -> dict[str, Any]:
    """How many eigenvalues satisfy |lambda| <= rtol * max|lambda|.

    Exact (the dense Hessian's whole spectrum) up to `dense_limit` dimensions; above,
    stochastic Lanczos quadrature from `probes` seeded Rademacher vectors of `steps`
    steps, all probes in each call of the products.  Returns count, method, threshold,
    the extreme eigenvalues (Ritz values above), and the spectrum when dense."""
    dim = potential.dim
    if dim <= dense_limit:
        whole = whole_batch(potential, x, products, options)
        return dense_count(np.linalg.eigvalsh(dense_hessian(potential, x, products=whole)), rtol)
    hv = _products(potential, x, products, options)
    alphas, betas, lengths = lanczos(hv, rademacher(seeded(seed), probes, dim), min(steps, dim))
    ritz, weights = quadrature(alphas, betas, lengths)  # a start that stopped early: weight 0 past it
    thresh = rtol * max(float(np.abs(ritz).max()), 1e-300)
    frac = float(np.mean(np.sum(np.where(np.abs(ritz) <= thresh, weights, 0.0), axis=1)))
    return {
        "count": int(round(frac * dim)),
        "method": "slq",
        "threshold": thresh,
        "rtol": rtol,
        "largest": float(ritz.max()),
        "smallest": float(ritz.min()),
        "fraction": frac,
        "probes": probes,
        "steps": steps,
    }


def curvature_along(
    potential: Potential, x: Any, direction: Any, *, products: Products | None = None, **options: Any
) -> float:
    """Second derivative of the energy along `direction`: u^T H u / |u|^2."""
    u = np.asarray(to_numpy(direction), dtype=np.float64).reshape(-1)
    norm2 = float(u @ u)
    if norm2 == 0:
        raise LandscapeError("the direction is the zero vector")
    return float(u @ _products(potential, x, products, options)(u[None])[0]) / norm2


def path_end_tangents(pivots: Any) -> tuple[Any, Any]:
    """Unit tangents of a path at its two ends (along the first and last segment), in
    the pivots' own array type."""
    first = pivots[1] - pivots[0]
    last = pivots[-1] - pivots[-2]
    return first / (first * first).sum() ** 0.5, last / (last * last).sum() ** 0.5


def path_top(path: Any) -> tuple[int, np.ndarray, np.ndarray]:
    """(index, point, unit tangent) of the highest interior pivot (the climbing image),
    the tangent the improved one (Henkelman and Jonsson 2000)."""
    from landscape.paths import geometry

    pivots = np.asarray(to_numpy(path.pivots), dtype=np.float64)
    energies = np.asarray(to_numpy(path.energies), dtype=np.float64)
    i = int(np.argmax(energies[1:-1])) + 1
    tau = np.asarray(geometry.improved_tangents(pivots, energies)[i - 1], dtype=np.float64)
    return i, pivots[i], tau / max(float(np.linalg.norm(tau)), 1e-300)
