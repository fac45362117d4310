"""Hessian spectra as network researchers compute them (PyHessian's three), for any potential.

All of it runs on Hessian-vector products (`landscape.analysis.hessian.hessian_products`:
a potential's exact ones, autograd for networks, else central differences of gradients),
so memory stays at a few vectors per direction, never the matrix:

- `eigenpairs`: the top-k or bottom-k eigenpairs, by Lanczos (ARPACK's implicitly
  restarted `eigsh`, to machine precision); for a k as large as the dimension, the
  k x n matrix of products, which is what the k eigenvectors cost anyway.
- `hutchinson`: the trace, the mean of z^T H z over seeded Rademacher probes z, with its
  standard error (the probes' standard deviation over sqrt(samples)).
- `landscape.analysis.density.slq_density`: the spectral density (stochastic Lanczos quadrature).
- per parameter block: a potential may name slices of its coordinates
  (`Potential.parameter_blocks`: a network's parameter tensors, "0.weight", "0.bias",
  ...).  Block b's own Hessian H_bb is P_b H P_b restricted to the slice: products of
  directions that vanish outside it, read on it (`block_products`).  Its eigenpairs
  and density are those of H_bb; its trace comes from the whole Hessian's probes,
  z_b^T (H z)_b, whose mean is tr(H_bb) since the other blocks' signs are independent
  of z_b: every block's trace for the price of the whole one.
- `spectrum` gathers them at one point; `spectra_along` at points along a path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from landscape.analysis.density import Density, rademacher, slq_density
from landscape.analysis.hessian import Products, accepted_options, exact_products, hessian_products
from landscape.foundations.arrays import to_numpy
from landscape.foundations.errors import LandscapeError
from landscape.foundations.values import check_number, seeded
from landscape.potentials.potential import Potential

__all__ = [
    "Eigenpairs",
    "TraceEstimate",
    "Spectrum",
    "SpectraAlong",
    "parameter_blocks",
    "block_products",
    "eigenpairs",
    "hutchinson",
    "spectrum",
    "spectra_along",
]

WHICH = ("top", "bottom")


class _Counted:
    """Products that count the directions they were asked for (the cost that travels)."""

    def __init__(self, products: Products):
        self.inner, self.count = products, 0

    def __call__(self, directions: np.ndarray) -> np.ndarray:
        d = np.atleast_2d(directions)
        self.count += len(d)
        return self.inner(d)


def parameter_blocks(potential: Potential) -> dict[str, slice]:
    """The potential's named blocks of coordinates (`Potential.parameter_blocks`),
    checked to be non-empty slices inside its dimension; a one-line error when it has none."""
    hook = getattr(potential, "parameter_blocks", None)
    blocks = hook() if hook is not None else None
    if not blocks:
        raise LandscapeError(
            f"potential {potential.name} names no parameter blocks (Potential.parameter_blocks); "
            "per-layer spectra need them"
        )
    if not isinstance(blocks, Mapping) or not all(isinstance(s, slice) for s in blocks.values()):
        raise LandscapeError(f"potential {potential.name}: parameter_blocks() must map names to slices")
    for name, s in blocks.items():
        start, stop, step = s.indices(potential.dim)
        if step != 1 or stop <= start or (s.stop is not None and s.stop > potential.dim):
            raise LandscapeError(
                f"potential {potential.name}: block {name!r} is {s}, not a slice of 0..{potential.dim}"
            )
    return dict(blocks)


def block_products(products: Products, dim: int, block: slice) -> Products:
    """Products of the block's own Hessian H_bb: directions (k, size) -> (k, size), each
    embedded as zeros outside `block`, multiplied by H, and read on `block`."""

    def apply(directions: np.ndarray) -> np.ndarray:
        d = np.atleast_2d(directions)
        full = np.zeros((len(d), dim))
        full[:, block] = d
        return products(full)[:, block]

    return apply


@dataclass(frozen=True)
class Eigenpairs:
    """The `which` ("top" or "bottom") k eigenvalues, ascending, and eigenvectors (n, k)."""

    which: str
    values: np.ndarray
    vectors: np.ndarray
    method: str
    products: int

    def to_json(self) -> dict[str, Any]:
        return {"which": self.which, "values": self.values.tolist(), "method": self.method, "products": self.products}


@dataclass(frozen=True)
class TraceEstimate:
    """Hutchinson's trace: the mean of z^T H z over `samples` Rademacher probes, and its
    standard error (their standard deviation over sqrt(samples); 0 when exact)."""

    trace: float
    standard_error: float
    samples: int

    def to_json(self) -> dict[str, Any]:
        return {"trace": self.trace, "standard_error": self.standard_error, "samples": self.samples}


def _operator(
    potential: Potential,
    x: Any,
    products: Products | None,
    block: str | None,
    options: Mapping[str, Any] | None = None,
) -> tuple[Products, int]:
    if products is None:
        products = exact_products(potential, x, **accepted_options(potential, dict(options or {})))
    if products is None and potential.stochastic:  # gradient differences would each draw another batch
        raise LandscapeError(
            f"potential {potential.name} is a mini-batch loss without exact Hessian products: its gradients "
            "draw a new batch each call; use the full-batch potential"
        )
    if products is None:  # no exact products, so nothing for `options` to bound: central differences
        products = hessian_products(potential, x)
    hv = products
    if block is None:
        return hv, potential.dim
    blocks = parameter_blocks(potential)
    if block not in blocks:
        raise LandscapeError(f"potential {potential.name} has no block {block!r} (blocks: {', '.join(blocks)})")
    start, stop, _ = blocks[block].indices(potential.dim)
    return block_products(hv, potential.dim, blocks[block]), stop - start


def _eigenpairs(products: Products, n: int, k: int, which: str, seed: int, tol: float) -> Eigenpairs:
    if which not in WHICH:
        raise LandscapeError(f"which must be top or bottom, got {which!r}")
    check_number("k", k, lambda v: v >= 1, ">= 1", integer=True)
    k = min(k, n)
    hv = _Counted(products)
    if 2 * k + 1 >= n:  # ARPACK needs k < n and room to restart; k eigenvectors cost k x n anyway
        values, vectors = np.linalg.eigh(_symmetric(hv(np.eye(n))))
        method = "products of every coordinate"
    else:
        values, vectors = _arpack(hv, n, k, which, seed, tol)
        method = "lanczos"
    order = np.argsort(values)
    values, vectors = values[order], vectors[:, order]
    keep = slice(len(values) - k, None) if which == "top" else slice(0, k)
    return Eigenpairs(which, values[keep], vectors[:, keep], method, hv.count)


def _arpack(hv: Products, n: int, k: int, which: str, seed: int, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """The largest k of sign * H + shift, shifted back: ARPACK judges a Ritz value
    converged by a residual relative to the value itself, which near-zero eigenvalues
    (a network's flat directions) never reach; shifted by twice the spectral radius
    (a short Lanczos run's estimate), every wanted value is at least that radius."""
    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

    from landscape.analysis.density import lanczos, quadrature

    rng = seeded(seed)
    start = rng.standard_normal((1, n))
    alphas, betas, lengths = lanczos(hv, start, 12)
    radius = float(np.max(np.abs(quadrature(alphas, betas, lengths)[0])))
    sign, shift = (1.0 if which == "top" else -1.0), 2.0 * radius
    op = LinearOperator(
        (n, n), matvec=lambda v: sign * hv(np.reshape(v, (1, -1)))[0] + shift * np.ravel(v), dtype=np.float64
    )
    try:
        values, vectors = eigsh(op, k=k, which="LA", tol=tol, v0=start[0], ncv=min(n, max(2 * k + 1, 40)))
    except ArpackNoConvergence as exc:
        raise LandscapeError(
            f"Lanczos found {len(exc.eigenvalues)} of the {which} {k} eigenvalues before its iteration limit"
        ) from None
    return sign * (values - shift), vectors


def _symmetric(columns: np.ndarray) -> np.ndarray:
    return (columns + columns.T) / 2


def eigenpairs(
    potential: Potential,
    x: Any,
    k: int = 3,
    *,
    which: str = "top",
    block: str | None = None,
    products: Products | None = None,
    seed: int = 0,
    tol: float = 0.0,
    hessian_options: Mapping[str, Any] | None = None,
) -> Eigenpairs:
    """The top-k or bottom-k eigenpairs of the Hessian at `x` (of block `block`'s own
    Hessian when given), by Lanczos on `products` (default `hessian_products`, or the
    potential's own products given `hessian_options`, e.g. a network's `samples` and
    `chunk`) from a seeded start; `tol` 0 is machine precision."""
    hv, n = _operator(potential, x, products, block, hessian_options)
    return _eigenpairs(hv, n, k, which, seed, tol)


def _hutchinson(
    products: Products, n: int, samples: int, seed: int, blocks: dict[str, slice], batch: int
) -> tuple[TraceEstimate, dict[str, TraceEstimate]]:
    check_number("samples", samples, lambda v: v >= 1, ">= 1", integer=True)
    check_number("batch", batch, lambda v: v >= 1, ">= 1", integer=True)
    rng = seeded(seed)
    whole, parts = [], {name: [] for name in blocks}
    for first in range(0, samples, batch):
        z = rademacher(rng, min(batch, samples - first), n)
        hz = z * products(z)
        whole.append(hz.sum(axis=1))
        for name, s in blocks.items():
            parts[name].append(hz[:, s].sum(axis=1))

    def estimate(values: list[np.ndarray]) -> TraceEstimate:
        v = np.concatenate(values)
        se = float(np.std(v, ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("nan")
        return TraceEstimate(float(np.mean(v)), se, len(v))

    return estimate(whole), {name: estimate(v) for name, v in parts.items()}


def hutchinson(
    potential: Potential,
    x: Any,
    samples: int = 100,
    *,
    per_block: bool = False,
    products: Products | None = None,
    seed: int = 0,
    batch: int = 16,
    hessian_options: Mapping[str, Any] | None = None,
) -> tuple[TraceEstimate, dict[str, TraceEstimate]]:
    """(the Hessian's trace, each parameter block's trace when `per_block`) at `x` by
    Hutchinson's estimator with `samples` seeded Rademacher probes, `batch` per call of
    `products` (as for `eigenpairs`); the blocks' traces come from the same probes."""
    hv, n = _operator(potential, x, products, None, hessian_options)
    return _hutchinson(hv, n, samples, seed, parameter_blocks(potential) if per_block else {}, batch)


@dataclass(frozen=True)
class Spectrum:
    """What `spectrum` found at one point (or for one block: `blocks` empty there).

    products: Hessian-vector products spent, its blocks' included."""

    dim: int
    top: Eigenpairs | None
    bottom: Eigenpairs | None
    trace: TraceEstimate | None
    density: Density | None
    products: int
    blocks: dict[str, Spectrum] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"dim": self.dim, "products": self.products}
        for key in ("top", "bottom", "trace", "density"):
            part = getattr(self, key)
            out[key] = None if part is None else part.to_json()
        out["blocks"] = {name: b.to_json() for name, b in self.blocks.items()}
        return out


def _parts(
    hv: Products, n: int, top: int, bottom: int, density: bool, steps: int, starts: int, seed: int, tol: float
) -> tuple[Eigenpairs | None, Eigenpairs | None, Density | None]:
    return (
        _eigenpairs(hv, n, top, "top", seed, tol) if top else None,
        _eigenpairs(hv, n, bottom, "bottom", seed, tol) if bottom else None,
        slq_density(hv, n, steps=steps, starts=starts, seed=seed) if density else None,
    )


def _spent(*parts: Any) -> int:
    return sum(p.products for p in parts if p is not None and hasattr(p, "products"))


def spectrum(
    potential: Potential,
    x: Any,
    *,
    top: int = 3,
    bottom: int = 3,
    trace_samples: int = 100,
    density: bool = False,
    steps: int = 30,
    starts: int = 8,
    per_block: bool = False,
    seed: int = 0,
    tol: float = 0.0,
    products: Products | None = None,
    hessian_options: Mapping[str, Any] | None = None,
) -> Spectrum:
    """The Hessian's spectrum at `x`: top and bottom eigenpairs (0: none), the trace
    (`trace_samples` probes; 0: none), the SLQ density when `density` (`steps` Lanczos
    steps from each of `starts` starts), and the same for every parameter block when
    `per_block`; on `products`, else as `eigenpairs` takes them (`hessian_options`);
    `tol`: Lanczos's relative tolerance for the eigenpairs (0: machine precision)."""
    for name, value in (("top", top), ("bottom", bottom), ("trace_samples", trace_samples)):
        check_number(name, value, lambda v: v >= 0, ">= 0", integer=True)
    check_number("tol", tol, lambda v: v >= 0, ">= 0")
    x = np.asarray(to_numpy(x), dtype=np.float64)
    hv, n = _operator(potential, x, products, None, hessian_options)
    blocks = parameter_blocks(potential) if per_block else {}
    traces = _hutchinson(hv, n, trace_samples, seed, blocks, 16) if trace_samples else (None, {})
    found = {}
    for name, s in blocks.items():
        size = len(range(*s.indices(n)))
        parts = _parts(block_products(hv, n, s), size, top, bottom, density, steps, starts, seed, tol)
        found[name] = Spectrum(size, *parts[:2], traces[1].get(name), parts[2], _spent(*parts))
    parts = _parts(hv, n, top, bottom, density, steps, starts, seed, tol)
    spent = _spent(*parts) + trace_samples + sum(b.products for b in found.values())
    return Spectrum(n, *parts[:2], traces[0], parts[2], spent, found)


@dataclass(frozen=True)
class SpectraAlong:
    """Spectra at arc-length fractions `t` along a path."""

    t: np.ndarray
    spectra: tuple[Spectrum, ...]

    def to_json(self) -> dict[str, Any]:
        return {"t": self.t.tolist(), "spectra": [s.to_json() for s in self.spectra]}


def spectra_along(potential: Potential, pivots: Any, t: Any, **options: Any) -> SpectraAlong:
    """`spectrum` (same options) at the points at arc-length fractions `t` along the
    polyline `pivots` (m, dim), one point after another (each point's products are the
    potential's own: a network builds one gradient graph per point)."""
    from landscape.paths.geometry import interpolate

    t = np.asarray(t, dtype=np.float64)
    if t.ndim != 1 or t.size == 0 or not np.all((t >= 0) & (t <= 1)):
        raise LandscapeError("the points along a path are arc-length fractions in [0, 1]")
    points = interpolate(np.asarray(to_numpy(pivots), dtype=np.float64), t)
    return SpectraAlong(t, tuple(spectrum(potential, p, **options) for p in points))
