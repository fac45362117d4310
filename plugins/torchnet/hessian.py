"""A network's Hessian-vector products (torch.func): what `landscape.analysis` needs
from a network to analyse its Hessian, and nothing else.

The Hessian is that of the *data* loss (no L2 unless `include_l2`) at one point, on a
fixed batch: by default the whole training set (or a seeded subset of `samples`),
with BatchNorm in train mode (batch statistics), the function the optimiser sees.

- `hvp_function`: v -> H v by double backward (`vjp` of `grad`, graph kept for
  repeated products) or forward-over-reverse (`jvp` of `grad`); H is never formed.
  Each product counts as one sample-gradient per sample of the batch.
- `network_products`: the same as numpy-in, numpy-out products, carrying the gradient on
  the same batch; `NetworkPotential.hessian_products` hands them to the core (with
  `samples`, `chunk`, `include_l2` as its options), so every analysis of
  `landscape.analysis` (`hessian`, `curvature`, `reports`, `spectrum`) is exact on networks.

The analysis itself is the core's, for every potential; its names are importable from
here as they were when this module held a second copy of it: `extreme_eigenvalues`,
`count_near_zero`, `curvature_along`, `path_end_tangents` (`landscape.analysis.curvature`),
`HessianReport`, `analyse_point`, `climbing_image_analysis`, `analyse_path`
(`landscape.analysis.reports`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch.func import grad, jvp, vjp, vmap

from landscape.analysis.curvature import count_near_zero, curvature_along, extreme_eigenvalues, path_end_tangents
from landscape.analysis.hessian import Products
from landscape.analysis.reports import HessianReport, analyse_path, analyse_point, climbing_image_analysis
from landscape.foundations.arrays import to_numpy
from landscape.foundations.errors import LandscapeError

from .potential import NetworkPotential

__all__ = [
    "hvp_function",
    "network_products",
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
    each by forward-over-reverse (a block of directions vmapped through each chunk at
    once), so memory stays that of one chunk.  (With BatchNorm in train mode each chunk
    uses its own batch statistics, as training mini-batches do.)
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
    """H v as the size-weighted sum of each chunk's forward-over-reverse product.

    A block of directions (k, dim) goes through each chunk at once (`vmap` of the
    chunk's `jvp`, as the unchunked path batches them), not one direction at a time:
    the same numbers at the unchunked path's speed.  No graph is kept between chunks,
    so memory is that of one chunk (times the k directions, as unchunked).  BatchNorm in
    train mode normalises each chunk by its own batch statistics, as before."""
    parts = [(grad(_loss_fn(potential, piece, None, 0, False)), w) for piece, w in _chunks(inputs, targets, chunk)]
    l2 = potential.l2 if include_l2 else 0.0

    def hvp(v: torch.Tensor) -> torch.Tensor:
        v = v.to(x)
        if v.dim() == 2:
            out = sum(w * vmap(lambda row, g=g: jvp(g, (x,), (row,))[1])(v) for g, w in parts)
        else:
            out = sum(w * jvp(g, (x,), (v,))[1] for g, w in parts)
        return out + l2 * v if l2 else out

    def apply(v: torch.Tensor) -> torch.Tensor:
        _count_products(potential, v, inputs.shape[0])
        return hvp(v)

    return apply


def network_products(potential: NetworkPotential, point: Any, **kw: Any) -> Products:
    """`hvp_function` (same options) as the core's `Products`: directions (k, dim) as
    numpy -> H @ directions (k, dim) as float64 numpy.  One direction goes through the
    product unbatched, as Lanczos's matrix-vector products always did.  The seeded batch
    is drawn once, so `products.gradient()` (the gradient at `point` of the same loss,
    on the same batch and chunks) is that of the function the products differentiate."""
    if kw.get("batch") is None:
        kw["batch"] = _fixed_batch(potential, kw.pop("samples", None), kw.pop("data_seed", 0))
    hvp = hvp_function(potential, point, **kw)

    def products(directions: np.ndarray) -> np.ndarray:
        d = torch.as_tensor(np.ascontiguousarray(directions), dtype=potential.dtype, device=potential.device)
        out = hvp(d[0])[None] if d.dim() == 2 and d.shape[0] == 1 else hvp(d)
        return to_numpy(out.detach()).astype(np.float64)  # BatchNorm's batch statistics leave autograd links behind

    products.gradient = lambda: _gradient(potential, point, **kw)  # type: ignore[attr-defined]
    return products


def _gradient(
    potential: NetworkPotential,
    point: Any,
    *,
    batch: Any = None,
    samples: int | None = None,
    data_seed: int = 0,
    include_l2: bool = False,
    chunk: int | None = None,
    **_: Any,
) -> np.ndarray:
    """The loss gradient on the Hessian's batch (chunk by chunk when given), float64 numpy."""
    x = potential._points(potential.asarray(point).reshape(1, -1))[0]
    inputs, targets = batch if batch is not None else _fixed_batch(potential, samples, data_seed)
    g = sum(
        w * grad(_loss_fn(potential, piece, None, 0, include_l2))(x) for piece, w in _chunks(inputs, targets, chunk)
    )
    potential.count("gradient", 1, inputs.shape[0])
    return to_numpy(g.detach()).astype(np.float64)
