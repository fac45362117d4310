"""What the Hessian says at stored minima and at the tops of stored paths, for every
potential: the reports `landscape hessian` prints.

One spectrum per point, on one set of products (`landscape.analysis.hessian.
hessian_products`, given the potential's `options`: a network's data loss on a seeded
subset, in chunks).  At a point: the extreme eigenvalues, how many are near zero
(`count_near_zero`), how many of those the potential's invariances explain, the curvature
along a path's tangent, and (for `minimum_report`) the saddle certificate's verdict.  At a
path's top: the lowest eigenvalues, the largest, the curvature along the path, the
gradient norm, and `warnings` when it is not a converged first-order saddle.

Invariances: directions along which the energy cannot change, whatever the point; a
potential that knows them at `x` gives them from its optional hook
`invariant_directions(x)` -> (orthonormal directions (m, dim), labels) (a network's
BatchNorm and softmax invariances); otherwise its continuous symmetry's zero modes
(`Symmetry.zero_modes`) count, their curvature unmeasured.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from landscape.analysis.curvature import (
    count_near_zero,
    dense_count,
    extreme_eigenvalues,
    path_end_tangents,
    path_top,
    whole_batch,
)
from landscape.analysis.hessian import (
    Products,
    certify,
    dense_hessian,
    hessian_products,
    lowest_modes,
    minimum_problems,
    split_spectrum,
)
from landscape.analysis.verdicts import top_fields
from landscape.foundations.arrays import to_numpy
from landscape.potentials.potential import Potential
from landscape.potentials.symmetry import symmetry_of

__all__ = ["HessianReport", "analyse_point", "minimum_report", "climbing_image_analysis", "analyse_path"]


@dataclass(frozen=True)
class HessianReport:
    """Curvature summary at one point."""

    largest: float
    smallest: float
    near_zero: int
    near_zero_method: str
    threshold: float
    tangent_curvature: float | None = None
    invariances: int = 0  # trivial zero directions (a network's BatchNorm scale and shift, softmax shift)
    invariance_curvature: float | None = 0.0  # largest |u^T H u| along (up to 32 of) them; None: not measured
    near_zero_beyond_invariances: int = 0  # near-zero eigenvalues the invariances do not explain

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _zero_modes(potential: Potential) -> int:
    sym = symmetry_of(potential)
    return 0 if sym is None else sym.zero_modes


def _invariances(potential: Potential, x: np.ndarray, products: Products, threshold: float) -> tuple[int, Any, int]:
    """(how many invariant directions, the largest |curvature| along up to 32 of them,
    how many near-zero eigenvalues they explain: all when they are flat here, else none)."""
    hook = getattr(potential, "invariant_directions", None)
    found = hook(x) if hook is not None else None
    if found is None:  # a continuous symmetry's zero modes vanish at stationary points
        z = _zero_modes(potential)
        return z, None if z else 0.0, z
    directions = np.asarray(to_numpy(found[0]), dtype=np.float64).reshape(-1, potential.dim)
    sample = directions[np.random.default_rng(0).permutation(len(directions))[:32]]
    flat = float(np.max(np.abs(np.einsum("ki,ki->k", sample, products(sample))))) if len(sample) else 0.0
    return len(directions), flat, len(directions) if flat <= threshold else 0


def _point(
    potential: Potential,
    x: Any,
    tangent: Any,
    rtol: float,
    dense_limit: int,
    options: dict[str, Any],
    k: int | None,
) -> tuple[HessianReport, Any]:
    """(the report at `x`, its saddle certificate on the same spectrum when `k` is given)."""
    x = np.asarray(to_numpy(x), dtype=np.float64)
    hv = hessian_products(potential, x, **options)
    cert = None
    if potential.dim <= dense_limit:
        h = dense_hessian(potential, x, products=whole_batch(potential, x, None, options))
        if k is None:
            nz = dense_count(np.linalg.eigvalsh(h), rtol)
        else:
            values, vectors = np.linalg.eigh(h)
            nz = dense_count(values, rtol)
            low = min(k + _zero_modes(potential), len(values))
            cert = certify(potential, x, k=k, products=hv, modes=(values[:low], vectors[:, :low], "dense", values))
        largest, smallest = nz["largest"], nz["smallest"]
    else:
        nz = count_near_zero(potential, x, rtol=rtol, dense_limit=dense_limit, products=hv)
        ext = extreme_eigenvalues(potential, x, products=hv)
        largest, smallest = float(ext["largest"][-1]), float(ext["smallest"][0])
        cert = None if k is None else certify(potential, x, k=k, products=hv)
    curv = None
    if tangent is not None:
        u = np.asarray(to_numpy(tangent), dtype=np.float64).reshape(-1)
        curv = float(u @ hv(u[None])[0]) / float(u @ u)
    count, flat, explained = _invariances(potential, x, hv, nz["threshold"])
    report = HessianReport(
        largest,
        smallest,
        nz["count"],
        nz["method"],
        nz["threshold"],
        curv,
        count,
        flat,
        max(0, nz["count"] - explained),
    )
    return report, cert


def analyse_point(
    potential: Potential, x: Any, tangent: Any = None, *, rtol: float = 1e-3, dense_limit: int = 3000, **options: Any
) -> HessianReport:
    """Extremes, near-zero count and (given a tangent) the curvature along it, on the
    products the potential's hook gives with `options`."""
    return _point(potential, x, tangent, rtol, dense_limit, options, None)[0]


def minimum_report(
    potential: Potential,
    x: Any,
    tangent: Any = None,
    *,
    k: int = 3,
    rtol: float = 1e-3,
    dense_limit: int = 3000,
    **options: Any,
) -> dict[str, Any]:
    """`analyse_point` and the saddle certificate's summary at a minimum (its `k` lowest
    eigenvalues, index, gradient norm), from one spectrum, with `warnings` when it is no
    strict minimum modulo the symmetry (`minimum_problems`)."""
    report, cert = _point(potential, x, tangent, rtol, dense_limit, options, k)
    return {**report.to_dict(), **cert.summary(), "warnings": minimum_problems(cert)}


def climbing_image_analysis(potential: Potential, result: Any, *, k: int = 3, **options: Any) -> dict[str, Any]:
    """`analyse_top`'s fields at the highest pivot of `result` (the climbing image), on
    the products `options` ask for, and the spectrum beside them: the `k` lowest
    eigenvalues with the symmetry's zero modes (`smallest_eigenvalues`), the largest, and
    `negative_eigenvalues`, the negative ones the warnings count (the symmetry's zero
    modes and near-zero ones set aside, `split_spectrum`: the saddle's index among those
    computed, not the raw count of values below zero)."""
    path = result.path if hasattr(result, "path") else result
    i, x, tau = path_top(path)
    hv = hessian_products(potential, x, **options)  # one set: spectrum, tangent and gradient
    z = _zero_modes(potential)
    values, vectors, method, known = lowest_modes(potential, x, k + z, products=hv)
    if method == "dense":
        largest = float(known[-1])
    else:
        largest = float(extreme_eigenvalues(potential, x, products=hv)["largest"][-1])
    cert = certify(potential, x, k=k, products=hv, modes=(values, vectors, method, known))
    scale = max(abs(largest), cert.scale)
    return {
        "index": i,  # the pivot, as "pivot" says; kept for scripts that read it
        **top_fields(result, i, tau, cert, hv, scale),
        "smallest_eigenvalue": float(values[0]),
        "largest_eigenvalue": largest,
        "smallest_eigenvalues": [float(v) for v in values],
        "negative_eigenvalues": split_spectrum(values, z, scale)[0],
        "gradient_norm": cert.gradient_norm,
    }


def analyse_path(
    potential: Potential,
    result: Any,
    *,
    climbing: bool | None = None,
    rtol: float = 1e-3,
    dense_limit: int = 3000,
    **options: Any,
) -> dict[str, Any]:
    """Hessian summary of a found path: at both ends the extremes, near-zero count and
    the curvature along the path's tangent there; at the climbing image (when `climbing`,
    default: the result's own flag) `climbing_image_analysis`."""
    path = result.path if hasattr(result, "path") else result
    pivots = np.asarray(to_numpy(path.pivots), dtype=np.float64)
    t0, t1 = path_end_tangents(pivots)
    out: dict[str, Any] = {
        "start": analyse_point(potential, pivots[0], t0, rtol=rtol, dense_limit=dense_limit, **options).to_dict(),
        "end": analyse_point(potential, pivots[-1], t1, rtol=rtol, dense_limit=dense_limit, **options).to_dict(),
    }
    if climbing if climbing is not None else bool(getattr(result, "climbing", False)):
        out["climbing_image"] = climbing_image_analysis(potential, result, **options)
    return out
