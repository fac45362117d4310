"""Hessian analysis of a network potential with Hessian-vector products (torch.func).

The Hessian is that of the *data* loss (no L2 unless `include_l2`) at one point, on a
fixed batch: by default the whole training set (or a seeded subset of `samples`),
with BatchNorm in train mode (batch statistics), the function the optimiser sees.

- `hvp_function`: v -> H v by double backward (`vjp` of `grad`, graph kept for
  repeated products) or forward-over-reverse (`jvp` of `grad`); H is never formed.
- `network_products`: the same as numpy-in, numpy-out products for the core's
  Hessian analysis (`landscape.analysis.hessian`: `dense_hessian`, `lowest_modes`,
  `certify`, ...); `NetworkPotential.hessian_products` hands the core these products
  on the whole training set, so the core's functions are exact on networks.
- `extreme_eigenvalues`: largest and smallest eigenvalues by Lanczos (ARPACK's
  `eigsh` on a `LinearOperator`).
- `lanczos`: our own Lanczos with full reorthogonalisation, for spectral densities.
- `count_near_zero`: eigenvalues with |lambda| <= rtol * max|lambda|.  Exact from the
  full spectrum up to `dense_limit` parameters; above, a stochastic Lanczos
  quadrature estimate (dim * average Ritz weight inside the band), which resolves
  the band only to about the Ritz-value spacing: treat it as an estimate.
- `curvature_along`: u^T H u / |u|^2 (e.g. along the path tangent at a minimum).
- `climbing_image_analysis`: the negative eigenvalue at a climbing image and the
  curvature along the path there (both negative at a true first-order saddle).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch.func import grad, jvp, vjp, vmap

from landscape import dense_hessian
from landscape.analysis.hessian import Products, hessian_operator
from landscape.analysis.verdicts import saddle_warnings
from landscape.foundations.arrays import to_numpy
from landscape.foundations.errors import LandscapeError
from landscape.paths import geometry

from .invariances import invariance_directions
from .potential import NetworkPotential

__all__ = [
    "hvp_function",
    "network_products",
    "lanczos",
    "extreme_eigenvalues",
    "count_near_zero",
    "curvature_along",
    "path_end_tangents",
    "HessianReport",
    "analyse_point",
    "climbing_image_analysis",
    "analyse_path",
]


def _fixed_batch(potential: NetworkPotential, samples: int | None, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    data = potential.train_data
    n = len(data)
    if samples is None or samples >= n:
        idx = torch.arange(n, device=data.index_device)
    else:
        idx = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:samples].to(data.index_device)
    return data.get(idx)


def _loss_fn(
    potential: NetworkPotential,
    batch: tuple[torch.Tensor, torch.Tensor] | None,
    samples: int | None,
    data_seed: int,
    include_l2: bool,
) -> Callable[[torch.Tensor], torch.Tensor]:
    inputs, targets = batch if batch is not None else _fixed_batch(potential, samples, data_seed)

    def f(flat: torch.Tensor) -> torch.Tensor:
        loss = potential._objective(flat, inputs, targets)
        return loss + 0.5 * potential.l2 * (flat * flat).sum() if include_l2 and potential.l2 else loss

    return f


def hvp_function(
    potential: NetworkPotential,
    point: Any,
    *,
    batch: tuple[torch.Tensor, torch.Tensor] | None = None,
    samples: int | None = None,
    data_seed: int = 0,
    include_l2: bool = False,
    mode: str = "rev",
    chunk: int | None = None,
) -> Callable[[torch.Tensor], torch.Tensor]:
    """v (dim,) or (k, dim) -> H v at `point`.

    mode "rev" (double backward): the gradient's graph is built once and every
    product is one backward pass through it, the cheapest for the many products of
    Lanczos; "fwd": forward-over-reverse (`jvp` of `grad`), no graph kept between
    products (less memory for big networks).  The loss is taken on `batch`, else on
    the training set (a seeded subset of `samples` when given, drawn with `data_seed`).

    With `chunk`, a batch larger than `chunk` samples is never differentiated twice in
    one piece: H v is the size-weighted mean of the products on consecutive chunks,
    each by forward-over-reverse, so memory stays that of one chunk.  (With BatchNorm
    in train mode each chunk uses its own batch statistics, as training mini-batches do.)
    """
    if mode not in ("rev", "fwd"):
        raise LandscapeError(f"hvp mode must be rev or fwd, got {mode!r}")
    if chunk is not None and chunk < 1:
        raise LandscapeError(f"chunk must be >= 1, got {chunk}")
    x = potential._points(potential.asarray(point).reshape(1, -1))[0]
    inputs, targets = batch if batch is not None else _fixed_batch(potential, samples, data_seed)
    if chunk is not None and inputs.shape[0] > chunk:
        return _chunked_hvp(potential, x, inputs, targets, chunk, include_l2)
    g = grad(_loss_fn(potential, (inputs, targets), samples, data_seed, include_l2))
    if mode == "rev":
        _, pullback = vjp(g, x)  # H is symmetric: the vector-Jacobian product of grad is H v
        potential.count("gradient", 1, inputs.shape[0])  # the gradient's graph, built once

        def hvp(v: torch.Tensor) -> torch.Tensor:
            return pullback(v.to(x))[0]
    else:

        def hvp(v: torch.Tensor) -> torch.Tensor:
            return jvp(g, (x,), (v.to(x),))[1]

    def apply(v: torch.Tensor) -> torch.Tensor:
        _count_products(potential, v, inputs.shape[0])
        return vmap(hvp)(v) if v.dim() == 2 else hvp(v)

    return apply


def _count_products(potential: NetworkPotential, v: torch.Tensor, images: int) -> None:
    """A Hessian-vector product on `images` samples differentiates each of them again:
    it counts as `images` sample-gradient evaluations per vector."""
    potential.count("gradient", v.shape[0] if v.dim() == 2 else 1, images)


def _chunks(inputs: torch.Tensor, targets: torch.Tensor, chunk: int | None) -> list[tuple[Any, float]]:
    """Consecutive (batch, weight) pieces of at most `chunk` samples; weights sum to 1."""
    n = inputs.shape[0]
    step = chunk or n
    return [((inputs[i : i + step], targets[i : i + step]), min(step, n - i) / n) for i in range(0, n, step)]


def _chunked_hvp(
    potential: NetworkPotential,
    x: torch.Tensor,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    chunk: int,
    include_l2: bool,
) -> Callable[[torch.Tensor], torch.Tensor]:
    parts = [(grad(_loss_fn(potential, piece, None, 0, False)), w) for piece, w in _chunks(inputs, targets, chunk)]
    l2 = potential.l2 if include_l2 else 0.0

    def hvp(v: torch.Tensor) -> torch.Tensor:
        v = v.to(x)
        out = sum(w * jvp(g, (x,), (v,))[1] for g, w in parts)
        return out + l2 * v if l2 else out

    def apply(v: torch.Tensor) -> torch.Tensor:
        _count_products(potential, v, inputs.shape[0])
        return torch.stack([hvp(row) for row in v]) if v.dim() == 2 else hvp(v)

    return apply


def network_products(potential: NetworkPotential, point: Any, **kw: Any) -> Products:
    """`hvp_function` (same options) as the core's `Products`: directions (k, dim) as
    numpy -> H @ directions (k, dim) as float64 numpy.  One direction goes through the
    product unbatched, as Lanczos's matrix-vector products always did."""
    hvp = hvp_function(potential, point, **kw)

    def products(directions: np.ndarray) -> np.ndarray:
        d = torch.as_tensor(np.ascontiguousarray(directions), dtype=potential.dtype, device=potential.device)
        out = hvp(d[0])[None] if d.dim() == 2 and d.shape[0] == 1 else hvp(d)
        return to_numpy(out.detach()).astype(np.float64)  # BatchNorm's batch statistics leave autograd links behind

    return products


def extreme_eigenvalues(
    potential: NetworkPotential,
    point: Any,
    k: int = 1,
    *,
    tol: float = 1e-6,
    maxiter: int | None = None,
    seed: int = 0,
    **kw: Any,
) -> dict[str, np.ndarray]:
    """The `k` largest and `k` smallest (algebraic) eigenvalues, ascending, by Lanczos."""
    from scipy.sparse.linalg import ArpackNoConvergence, eigsh

    if not 1 <= k < potential.dim - 1:
        raise LandscapeError(f"k must be between 1 and dim - 2 = {potential.dim - 2}, got {k}")
    op = hessian_operator(potential, point, network_products(potential, point, **kw))
    v0 = np.random.default_rng(seed).standard_normal(potential.dim)
    out = {}
    for which, key in (("LA", "largest"), ("SA", "smallest")):
        try:
            vals = eigsh(op, k=k, which=which, tol=tol, maxiter=maxiter, v0=v0, return_eigenvectors=False)
        except ArpackNoConvergence as exc:
            raise LandscapeError(f"Lanczos did not converge for the {key} eigenvalues; raise maxiter or tol") from exc
        out[key] = np.sort(vals)
    return out


def lanczos(
    matvec: Callable[[torch.Tensor], torch.Tensor], v0: torch.Tensor, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """Lanczos tridiagonalisation with full reorthogonalisation.

    Returns (Ritz values, weights): the eigenvalues of the m x m tridiagonal matrix and
    the squared first components of its eigenvectors, which sum to 1 (the spectral
    measure of H seen from v0).  Stops early at an invariant subspace.
    """
    q = v0 / torch.linalg.vector_norm(v0)
    basis = [q]
    alphas: list[float] = []
    betas: list[float] = []
    for j in range(steps):
        w = matvec(basis[-1])
        alpha = torch.dot(w, basis[-1])
        w = w - alpha * basis[-1] - (betas[-1] * basis[-2] if betas else 0)
        Q = torch.stack(basis)
        w = w - Q.T @ (Q @ w)  # full reorthogonalisation, twice is enough
        w = w - Q.T @ (Q @ w)
        alphas.append(float(alpha))
        beta = float(torch.linalg.vector_norm(w))
        if j == steps - 1 or beta <= 1e-10 * max(1.0, abs(alphas[-1])):
            break
        betas.append(beta)
        basis.append(w / beta)
    t = np.diag(alphas) + np.diag(betas[: len(alphas) - 1], 1) + np.diag(betas[: len(alphas) - 1], -1)
    vals, vecs = np.linalg.eigh(t)
    return vals, vecs[0] ** 2


def count_near_zero(
    potential: NetworkPotential,
    point: Any,
    *,
    rtol: float = 1e-3,
    dense_limit: int = 3000,
    probes: int = 4,
    steps: int = 100,
    seed: int = 0,
    **kw: Any,
) -> dict[str, Any]:
    """How many eigenvalues satisfy |lambda| <= rtol * max|lambda|.

    Exact (full spectrum of the dense Hessian) up to `dense_limit` parameters; above,
    stochastic Lanczos quadrature with `probes` Rademacher vectors of `steps` steps.
    Returns count, method, threshold, the extreme eigenvalues, and the spectrum when
    dense.
    """
    if potential.dim <= dense_limit:
        # The samples' `chunk` never reached the dense Hessian (taken as its directions per
        # call until the two Hessian modules became one): kept, so the results stay the same.
        whole = {key: value for key, value in kw.items() if key != "chunk"}
        vals = np.linalg.eigvalsh(dense_hessian(potential, point, products=network_products(potential, point, **whole)))
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
    hvp = hvp_function(potential, point, **kw)
    gen = torch.Generator().manual_seed(seed)
    ritz, weights = [], []
    for _ in range(probes):
        v0 = (torch.randint(0, 2, (potential.dim,), generator=gen) * 2 - 1).to(potential.device, potential.dtype)
        r, w = lanczos(hvp, v0, min(steps, potential.dim))
        ritz.append(r)
        weights.append(w)
    scale = max(float(np.abs(np.concatenate(ritz)).max()), 1e-300)
    thresh = rtol * scale
    frac = float(np.mean([w[np.abs(r) <= thresh].sum() for r, w in zip(ritz, weights)]))
    return {
        "count": int(round(frac * potential.dim)),
        "method": "slq",
        "threshold": thresh,
        "rtol": rtol,
        "largest": float(max(r.max() for r in ritz)),
        "smallest": float(min(r.min() for r in ritz)),
        "fraction": frac,
        "probes": probes,
        "steps": steps,
    }


def curvature_along(potential: NetworkPotential, point: Any, direction: Any, **kw: Any) -> float:
    """Second derivative of the loss along `direction`: u^T H u / |u|^2."""
    u = potential.asarray(direction).reshape(-1)
    norm2 = float((u * u).sum())
    if norm2 == 0:
        raise LandscapeError("the direction is the zero vector")
    return float((u * hvp_function(potential, point, **kw)(u)).sum().detach()) / norm2


def path_end_tangents(pivots: Any) -> tuple[Any, Any]:
    """Unit tangents of a path at its two ends (along the first and last segment)."""
    first = pivots[1] - pivots[0]
    last = pivots[-1] - pivots[-2]
    return first / (first * first).sum() ** 0.5, last / (last * last).sum() ** 0.5


@dataclass(frozen=True)
class HessianReport:
    """Curvature summary at one point."""

    largest: float
    smallest: float
    near_zero: int
    near_zero_method: str
    threshold: float
    tangent_curvature: float | None = None
    invariances: int = 0  # trivial zero directions (BatchNorm scale and shift, softmax shift)
    invariance_curvature: float = 0.0  # largest |u^T H u| along (up to 32 of) them
    near_zero_beyond_invariances: int = 0  # near-zero eigenvalues the invariances do not explain

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def analyse_point(
    potential: NetworkPotential,
    point: Any,
    tangent: Any = None,
    *,
    rtol: float = 1e-3,
    dense_limit: int = 3000,
    **kw: Any,
) -> HessianReport:
    """Extremes, near-zero count and (given a tangent) the curvature along it."""
    nz = count_near_zero(potential, point, rtol=rtol, dense_limit=dense_limit, **kw)
    if nz["method"] == "dense":
        largest, smallest = nz["largest"], nz["smallest"]
    else:
        ext = extreme_eigenvalues(potential, point, **kw)
        largest, smallest = float(ext["largest"][-1]), float(ext["smallest"][0])
    curv = None if tangent is None else curvature_along(potential, point, tangent, **kw)
    directions, _ = invariance_directions(potential, potential.asarray(point))
    sample = directions[np.random.default_rng(0).permutation(len(directions))[:32]]
    flat = max((abs(curvature_along(potential, point, d, **kw)) for d in sample), default=0.0)
    explained = len(directions) if flat <= nz["threshold"] else 0  # counted only when they are flat here
    return HessianReport(
        largest,
        smallest,
        nz["count"],
        nz["method"],
        nz["threshold"],
        curv,
        len(directions),
        flat,
        max(0, nz["count"] - explained),
    )


def climbing_image_analysis(potential: NetworkPotential, result: Any, *, k: int = 3, **kw: Any) -> dict[str, Any]:
    """At the highest pivot of `result` (the climbing image): the `k` smallest
    eigenvalues (how many are negative), the curvature along the improved tangent, the
    gradient norm, and `warnings` when it is not a converged first-order saddle."""
    path = result.path if hasattr(result, "path") else result
    pivots = potential.asarray(to_numpy(path.pivots))
    energies = potential.asarray(to_numpy(path.energies))
    i = int(np.argmax(to_numpy(path.energies)[1:-1])) + 1
    tau = geometry.improved_tangents(pivots, energies)[i - 1]
    if kw.get("batch") is None:  # draw the (seeded) batch once for all three measurements
        kw["batch"] = _fixed_batch(potential, kw.pop("samples", None), kw.pop("data_seed", 0))
    ext = extreme_eigenvalues(potential, pivots[i], k=min(k, potential.dim - 2), **kw)
    hvp = hvp_function(potential, pivots[i], **kw)
    curvature = float((tau * hvp(tau)).sum())
    gnorm = _gradient_norm(potential, pivots[i], **kw)
    climbing = bool(getattr(result, "climbing", False))
    smallest = ext["smallest"]
    return {
        "index": i,
        "smallest_eigenvalue": float(smallest[0]),
        "largest_eigenvalue": float(ext["largest"][-1]),
        "smallest_eigenvalues": [float(v) for v in smallest],
        "negative_eigenvalues": int((smallest < 0).sum()),
        "tangent_curvature": curvature,
        "gradient_norm": gnorm,
        "warnings": saddle_warnings(climbing, smallest, curvature, gnorm, float(ext["largest"][-1])),
    }


def _gradient_norm(
    potential: NetworkPotential,
    point: Any,
    *,
    batch: Any = None,
    samples: int | None = None,
    data_seed: int = 0,
    include_l2: bool = False,
    chunk: int | None = None,
    **_: Any,
) -> float:
    """Norm of the loss gradient on the Hessian's batch (chunk by chunk when given)."""
    x = potential._points(potential.asarray(point).reshape(1, -1))[0]
    inputs, targets = batch if batch is not None else _fixed_batch(potential, samples, data_seed)
    g = sum(
        w * grad(_loss_fn(potential, piece, None, 0, include_l2))(x) for piece, w in _chunks(inputs, targets, chunk)
    )
    potential.count("gradient", 1, inputs.shape[0])
    return float(torch.linalg.vector_norm(g))


def analyse_path(
    potential: NetworkPotential,
    result: Any,
    *,
    climbing: bool | None = None,
    rtol: float = 1e-3,
    dense_limit: int = 3000,
    **kw: Any,
) -> dict[str, Any]:
    """Hessian summary of a found path (what `landscape hessian FILE` reports).

    At both ends: extremes, near-zero count and the curvature along the path tangent
    there; at the climbing image (when `climbing`, default: the result's own flag) its
    negative eigenvalue and the curvature along the path.
    """
    path = result.path if hasattr(result, "path") else result
    pivots = potential.asarray(to_numpy(path.pivots))
    t0, t1 = path_end_tangents(pivots)
    out: dict[str, Any] = {
        "start": analyse_point(potential, pivots[0], t0, rtol=rtol, dense_limit=dense_limit, **kw).to_dict(),
        "end": analyse_point(potential, pivots[-1], t1, rtol=rtol, dense_limit=dense_limit, **kw).to_dict(),
    }
    if climbing if climbing is not None else bool(getattr(result, "climbing", False)):
        out["climbing_image"] = climbing_image_analysis(potential, result, **kw)
    return out
