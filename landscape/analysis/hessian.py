"""The Hessian of any potential, from its gradients alone: saddle certificates.

A climbing image that stopped moving is a stationary point of the band's forces, not
yet a certified saddle.  What certifies a first-order saddle is the Hessian there:
exactly one negative eigenvalue, and a vanishing gradient.  Every potential has
gradients, so the Hessian is built from them by central differences,

    H v ~ (g(x + h v) - g(x - h v)) / (2 h),

each product one batched evaluation of two points.  A potential with exact products
gives them through its hook `Potential.hessian_products` (network potentials: autograd
on a fixed batch, `landscape_plugins.torchnet.hessian`), and every function here then
uses those instead (`hessian_products`; `landscape.analysis.curvature` and
`landscape.analysis.reports` build the reports of points and paths on them).  Up to `DENSE_MAX` dimensions the whole
matrix is formed (dim products, in chunks) and diagonalised; above it, the lowest
eigenpairs come from Lanczos iterations (scipy's `eigsh`) on the same products, so
memory stays at a few vectors.

`refine_saddle` moves a point that is close to a saddle onto it: Newton steps in the
Hessian's eigenbasis, uphill along the lowest mode and downhill along the others
(eigenvector following), inside a trust radius, until the gradient vanishes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from landscape.foundations.arrays import to_numpy
from landscape.foundations.errors import LandscapeError
from landscape.potentials.potential import Potential, PotentialWrapper
from landscape.potentials.symmetry import symmetry_of

__all__ = [
    "DENSE_MAX",
    "CERTIFY_MAX",
    "Products",
    "SaddleCertificate",
    "hessian_products",
    "exact_products",
    "accepted_options",
    "gradient_norm",
    "hessian_vector_products",
    "hessian_operator",
    "dense_hessian",
    "lowest_modes",
    "split_spectrum",
    "certify",
    "minimum_problems",
    "refine_saddle",
]

#: Largest dimension whose Hessian is formed whole; above it, Lanczos.
DENSE_MAX = 400
#: Largest dimension `connect` certifies its saddle in by default (Lanczos costs some
#: tens of Hessian-vector products, two gradient evaluations each).
CERTIFY_MAX = 10_000
#: Eigenvalues with |lambda| below this fraction of the largest |lambda| count as zero.
ZERO_RTOL = 1e-6


def _step(x: np.ndarray) -> float:
    """Central-difference step: truncation error ~h^2, round-off ~1e-16/h, balanced near 1e-5."""
    return 1e-5 * max(1.0, float(np.max(np.abs(x))))


def _gradients(potential: Potential, points: np.ndarray) -> np.ndarray:
    _, g = potential.energy_and_gradient(potential.asarray(points))
    g = np.asarray(to_numpy(g), dtype=np.float64).reshape(len(points), -1)
    if not np.all(np.isfinite(g)):
        raise LandscapeError("the gradient is NaN or infinite near the point whose Hessian is asked for")
    return g


#: Hessian-vector products at one point: directions (k, dim) -> H @ directions (k, dim), float64.
Products = Callable[[np.ndarray], np.ndarray]


def _differences(potential: Potential, x: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """H @ d for each row d of `directions`, by central differences of gradients."""
    d = np.atleast_2d(np.asarray(directions, dtype=np.float64))
    norms = np.linalg.norm(d, axis=1, keepdims=True)
    unit = d / np.where(norms > 0, norms, 1.0)
    h = _step(x)
    g = _gradients(potential, np.concatenate([x + h * unit, x - h * unit]))
    k = len(unit)
    return (g[:k] - g[k:]) / (2 * h) * norms


def _hook(potential: Potential, x: np.ndarray, options: dict[str, Any]) -> Any:
    """The potential's own products at `x` (`Potential.hessian_products`, given `options`)
    or None; options its hook does not take are a one-line error."""
    hook = getattr(potential, "hessian_products", None)
    if hook is None:
        return None
    if not options:
        return hook(x)
    try:
        return hook(x, **options)
    except TypeError as exc:  # a hook that takes no options (a user's `hessian_products(self, x)`)
        raise LandscapeError(
            f"potential {potential.name}: hessian_products takes no {', '.join(options)}: {exc}"
        ) from None


def accepted_options(potential: Potential, options: dict[str, Any]) -> dict[str, Any]:
    """Those of `options` that the potential's `hessian_products` hook takes by name (a
    network's `samples`, `chunk`, `include_l2`): a command's settings for a potential
    with data, which a potential without them has nothing to apply to.  A wrapper that
    passes the hook through is looked through, to the hook that takes them."""
    import inspect

    target = potential
    while getattr(type(target), "hessian_products", None) is PotentialWrapper.hessian_products:
        target = target.inner
    hook = getattr(target, "hessian_products", None)
    if hook is None or getattr(type(target), "hessian_products", None) is Potential.hessian_products:
        return {}  # no exact products (the base class's hook gives none): nothing to apply them to
    params = inspect.signature(hook).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return dict(options)
    names = {p.name for p in params}
    return {key: value for key, value in options.items() if key in names}


class _Exact:
    """A potential's exact products, checked for shape; `gradient` (no arguments: the
    gradient at the point of the function these products differentiate, a network's data
    loss on its fixed batch) when the hook's function carries one, else None."""

    def __init__(self, potential: Potential, exact: Any):
        self.potential, self.exact = potential, exact
        self.gradient = getattr(exact, "gradient", None)

    def __call__(self, directions: np.ndarray) -> np.ndarray:
        d = np.atleast_2d(np.asarray(directions, dtype=np.float64))
        out = np.asarray(to_numpy(self.exact(d)), dtype=np.float64)
        if out.shape != d.shape:
            name = self.potential.name
            raise LandscapeError(
                f"potential {name}: hessian_products gave shape {out.shape} for directions of shape {d.shape}"
            )
        return out


def hessian_products(potential: Potential, x: Any, **options: Any) -> Products:
    """The Hessian-vector products at `x`: the potential's exact ones when its hook
    `hessian_products(x, **options)` gives a function (built once per point, so a network
    keeps one gradient graph for all of Lanczos's products; `options` such as a network's
    `samples` and `chunk` go to the hook), else central differences of gradients (which
    have no data for `options` to bound: they are ignored)."""
    x = np.asarray(to_numpy(x), dtype=np.float64)
    exact = exact_products(potential, x, **options)
    if exact is None:
        return lambda directions: _differences(potential, x, directions)
    return exact


def exact_products(potential: Potential, x: Any, **options: Any) -> Products | None:
    """The potential's own products at `x`, checked for shape, or None when it has none
    (`options` as for `hessian_products`; pass them through `accepted_options` first
    where a hook that takes fewer should get what it takes)."""
    exact = _hook(potential, np.asarray(to_numpy(x), dtype=np.float64), dict(options))
    return None if exact is None else _Exact(potential, exact)


def gradient_norm(potential: Potential, x: Any, products: Products | None = None) -> float:
    """|g| at `x` of the function `products` differentiate: their own gradient when they
    carry one (a network's data loss on the Hessian's batch), else the potential's."""
    own = getattr(products, "gradient", None)
    if own is not None:
        return float(np.linalg.norm(np.asarray(to_numpy(own()), dtype=np.float64)))
    return float(np.linalg.norm(_gradients(potential, np.asarray(to_numpy(x), dtype=np.float64)[None])[0]))


def hessian_vector_products(potential: Potential, x: Any, directions: np.ndarray) -> np.ndarray:
    """H @ d for each row d of `directions` (k, dim): exact when the potential has
    products (`hessian_products`), else by central differences of gradients."""
    return hessian_products(potential, x)(directions)


def hessian_operator(potential: Potential, x: Any, products: Products | None = None) -> Any:
    """The Hessian at `x` as a scipy `LinearOperator` (for `eigsh`, `minres`), on
    `products` (default: `hessian_products(potential, x)`)."""
    from scipy.sparse.linalg import LinearOperator

    hv = products if products is not None else hessian_products(potential, x)
    dim = potential.dim
    return LinearOperator((dim, dim), matvec=lambda v: hv(np.reshape(v, (1, -1)))[0], dtype=np.float64)


def dense_hessian(potential: Potential, x: Any, *, chunk: int = 128, products: Products | None = None) -> np.ndarray:
    """The whole (dim, dim) Hessian at `x`, symmetrised, float64; `chunk` directions per
    call of `products` (default: `hessian_products(potential, x)`)."""
    hv = products if products is not None else hessian_products(potential, x)
    dim = potential.dim
    eye = np.eye(dim)
    h = np.concatenate([hv(eye[i : i + chunk]) for i in range(0, dim, chunk)])
    return (h + h.T) / 2


def lowest_modes(
    potential: Potential, x: Any, k: int = 3, *, tol: float = 1e-8, products: Products | None = None
) -> tuple[np.ndarray, np.ndarray, str, np.ndarray]:
    """(eigenvalues (k,), eigenvectors (dim, k), "dense" or "lanczos", every eigenvalue
    known): the `k` lowest, ascending; the last is the whole spectrum for a dense
    Hessian and the `k` found by Lanczos otherwise."""
    dim = potential.dim
    k = max(1, min(k, dim - 1 if dim > DENSE_MAX else dim))
    hv = products if products is not None else hessian_products(potential, x)
    if dim <= DENSE_MAX:
        values, vectors = np.linalg.eigh(dense_hessian(potential, x, products=hv))
        return values[:k], vectors[:, :k], "dense", values
    from scipy.sparse.linalg import ArpackNoConvergence, eigsh

    try:
        values, vectors = eigsh(
            hessian_operator(potential, x, hv), k=k, which="SA", tol=tol, v0=np.ones(dim) / np.sqrt(dim)
        )
    except ArpackNoConvergence as exc:
        raise LandscapeError(
            f"Lanczos found {len(exc.eigenvalues)} of the {k} lowest Hessian eigenvalues before "
            "its iteration limit; the Hessian is too ill-conditioned here to certify"
        ) from None
    order = np.argsort(values)
    return values[order], vectors[:, order], "lanczos", values[order]


def split_spectrum(values: Any, symmetry_zero_modes: int = 0, scale: float | None = None) -> tuple[int, int, float]:
    """(negative, flat, lowest non-zero) among the eigenvalues `values`.

    The `symmetry_zero_modes` of smallest magnitude are the continuous symmetry's and
    set aside: they vanish exactly only where the gradient does, so at a band converged
    to a loose tolerance a rotation's eigenvalue can lie outside any relative zero
    band (1e-3 against 1e-4 on LJ7).  Of the rest, those within ZERO_RTOL of `scale`
    (default: the largest |lambda| given) are flat directions, those below negative."""
    v = np.asarray(values, dtype=np.float64)
    tol = ZERO_RTOL * max(float(np.max(np.abs(v))) if scale is None else abs(scale), 1e-300)
    rest = np.sort(v[np.argsort(np.abs(v), kind="stable")[symmetry_zero_modes:]])
    nonzero = rest[np.abs(rest) > tol]
    return (
        int(np.sum(rest < -tol)),
        int(np.sum(np.abs(rest) <= tol)),
        float(nonzero.min()) if nonzero.size else float("nan"),
    )


@dataclass(frozen=True)
class SaddleCertificate:
    """What the Hessian says about a point.

    index: negative eigenvalues (of the whole spectrum for a dense Hessian; with
        Lanczos, among the lowest computed, so `complete` is False when all of those
        are negative); the symmetry's zero modes and near-zero ones (below ZERO_RTOL
        of `scale`) do not count (`split_spectrum`).
    eigenvalues: the lowest ones, ascending; `mode`: the eigenvector of the lowest.
    gradient_norm: |g| at the point; a saddle needs it small against `scale`, the
        largest |lambda| known (`saddle_warnings` judges it).
    zero_modes: near-zero eigenvalues among those known (a continuous symmetry's
        modes, six for a cluster in space: `landscape.potentials.symmetry`).
    """

    index: int
    eigenvalues: np.ndarray
    mode: np.ndarray
    gradient_norm: float
    method: str
    complete: bool
    scale: float  # the largest |lambda| known (the whole spectrum's when dense)
    zero_modes: int = 0
    lowest_nonzero: float = float("nan")  # the lowest known eigenvalue outside the zero band
    symmetry_zero_modes: int = 0  # what the potential's continuous symmetry explains

    @property
    def first_order(self) -> bool:
        return self.index == 1 and self.complete

    def summary(self) -> dict[str, Any]:
        return {
            "saddle_index_of_hessian": self.index,
            "hessian_eigenvalues": [float(v) for v in self.eigenvalues],
            "saddle_gradient_norm": self.gradient_norm,
            "hessian_method": self.method,
            "index_complete": self.complete,
            "hessian_zero_modes": self.zero_modes,
            "symmetry_zero_modes": self.symmetry_zero_modes,
            "lowest_nonzero_eigenvalue": self.lowest_nonzero,
        }


def certify(
    potential: Potential,
    x: Any,
    *,
    k: int = 3,
    products: Products | None = None,
    modes: tuple[np.ndarray, np.ndarray, str, np.ndarray] | None = None,
) -> SaddleCertificate:
    """The Hessian's verdict at `x` (see `SaddleCertificate`), on `products` (default:
    `hessian_products`), or on `modes` when the caller has them (what `lowest_modes` gives
    for the k + the symmetry's zero modes lowest); not for mini-batch losses unless the
    products are exact (a network's, on a fixed batch)."""
    if potential.stochastic and not isinstance(products, _Exact):
        raise LandscapeError("a mini-batch loss has no Hessian to certify with; use the full-batch potential")
    x = np.asarray(to_numpy(x), dtype=np.float64)
    sym = symmetry_of(potential)
    z = 0 if sym is None else sym.zero_modes
    # Lanczos: the symmetry's modes and k more
    values, vectors, method, known = (
        modes if modes is not None else lowest_modes(potential, x, k + z, products=products)
    )
    scale = max(float(np.max(np.abs(known))), 1e-300)
    negative, flat, lowest = split_spectrum(known, z)
    set_aside = min(z, len(known))
    complete = method == "dense" or negative + set_aside < len(known)
    grad = gradient_norm(potential, x, products)
    return SaddleCertificate(
        negative, values, vectors[:, 0], grad, method, complete, scale, set_aside + flat, lowest, z
    )


def minimum_problems(cert: SaddleCertificate) -> list[str]:
    """Why the point `cert` describes is no strict minimum modulo the symmetry, or []:
    a negative eigenvalue, or (dense Hessian) more near-zero ones than it explains."""
    out = [] if cert.index == 0 else [f"{cert.index} negative eigenvalues: not a minimum"]
    if cert.method == "dense" and cert.zero_modes > cert.symmetry_zero_modes:
        out.append(
            f"{cert.zero_modes} near-zero eigenvalues where the symmetry explains "
            f"{cert.symmetry_zero_modes}: a flat direction, not a strict minimum"
        )
    return out


def refine_saddle(
    potential: Potential, x: Any, *, gtol: float | None = None, max_steps: int = 100, trust: float | None = None
) -> tuple[np.ndarray, SaddleCertificate, int]:
    """(point, certificate, steps): `x` moved onto the nearby first-order saddle, until
    |g| <= `gtol` (default 1e-8 times the curvature scale times the size of the point);
    a one-line error when it does not get there.

    Up to DENSE_MAX dimensions: eigenvector following on the whole Hessian (Newton in
    its eigenbasis, uphill along the lowest mode and downhill along the rest).  Above:
    Newton steps solved with MINRES on Hessian-vector products, which is where an
    index-1 Hessian leads when the point is close; steps stay inside a trust radius."""
    x = np.asarray(to_numpy(x), dtype=np.float64).copy()
    radius = trust if trust is not None else 0.1 * max(1.0, float(np.linalg.norm(x)) / np.sqrt(x.size))
    scale = 0.0
    for step in range(max_steps + 1):
        g = _gradients(potential, x[None])[0]
        if potential.dim <= DENSE_MAX:
            values, vectors = np.linalg.eigh(dense_hessian(potential, x))
            scale = max(float(np.max(np.abs(values))), 1e-300)
            delta = _eigenvector_following(g, values, vectors, scale)
        else:
            delta, scale = _newton(potential, x, g, scale)
        tol = gtol if gtol is not None else 1e-8 * scale * max(1.0, float(np.max(np.abs(x))))
        if np.linalg.norm(g) <= tol:
            return x, certify(potential, x), step
        size = float(np.linalg.norm(delta))
        x = x + delta * min(1.0, radius / size) if size > 0 else x
    cert = certify(potential, x)
    raise LandscapeError(
        f"refining the saddle did not converge in {max_steps} steps (gradient norm "
        f"{cert.gradient_norm:.3g}, {cert.index} negative eigenvalues): the point is not near a saddle"
    )


def _eigenvector_following(g: np.ndarray, values: np.ndarray, vectors: np.ndarray, scale: float) -> np.ndarray:
    """Newton in the eigenbasis, uphill along the lowest mode and downhill along the rest
    (for an index-1 Hessian exactly the Newton step)."""
    coeff = vectors.T @ g
    curv = np.maximum(np.abs(values), 1e-8 * scale)
    step = -coeff / curv
    step[0] = -step[0]  # uphill along the lowest mode
    return vectors @ step


def _newton(potential: Potential, x: np.ndarray, g: np.ndarray, scale: float) -> tuple[np.ndarray, float]:
    """The Newton step H d = -g by MINRES (H symmetric, indefinite), and a curvature scale."""
    from scipy.sparse.linalg import minres

    dim = potential.dim
    op = hessian_operator(potential, x)
    if scale == 0.0:  # once: the largest curvature, from a few power iterations' worth of Lanczos
        from scipy.sparse.linalg import eigsh

        scale = float(np.max(np.abs(eigsh(op, k=1, which="LM", tol=1e-2, v0=np.ones(dim))[0])))
    delta, _ = minres(op, -g, rtol=1e-10, maxiter=10 * dim)
    return delta, scale
