"""The eigenvalue spectral density of a Hessian by stochastic Lanczos quadrature.

Ghorbani, Krishnan and Xiao (2019), as PyHessian computes it: from each of `starts`
random unit vectors v, `steps` Lanczos steps (full reorthogonalisation) give a
tridiagonal T whose eigenvalues theta_j (the nodes) and squared first eigenvector
components tau_j (the weights, summing to 1) are the Gauss quadrature of the spectral
measure seen from v: sum_j tau_j f(theta_j) = v^T f(H) v exactly for every polynomial f
of degree below 2 steps.  With Rademacher v, E[v^T f(H) v] = tr f(H) / n, so the
average over starts of these quadratures is the spectrum's distribution; the density
puts a Gaussian of width `sigma` on every node,

    phi(t) = (1 / starts) sum_l sum_j tau_lj exp(-(t - theta_lj)^2 / (2 sigma^2)) / (sigma sqrt(2 pi)),

which integrates to 1; broadening adds sigma^2 to its second moment and nothing to its
first.  The starts run side by side: each Lanczos step is one call of the products with
one direction per start (a network's products vmap over them).  Memory is the Lanczos
bases, starts x steps x dim floats (in groups of `batch` starts), never the matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from landscape.foundations.errors import LandscapeError
from landscape.foundations.memory import require_memory
from landscape.foundations.values import check_number, seeded

__all__ = ["Density", "lanczos", "quadrature", "slq_density", "rademacher"]

#: Default broadening: this fraction of the spread of the nodes.
WIDTH = 0.01


def rademacher(rng: np.random.Generator, k: int, n: int) -> np.ndarray:
    """(k, n) independent signs, +-1 with equal probability, float64."""
    return rng.integers(0, 2, size=(k, n)).astype(np.float64) * 2.0 - 1.0


def lanczos(products: Any, starts: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(alphas (b, m), betas (b, m), lengths (b,)): `steps` Lanczos steps from each row of
    `starts` (b, n) at once, with full reorthogonalisation (twice, which is enough).

    Row l's tridiagonal matrix has diagonal alphas[l, :lengths[l]] and off-diagonal
    betas[l, :lengths[l] - 1]; a start stops early when its Krylov space is invariant
    (beta below 1e-10 of the largest entry of its T so far), so then T is exact."""
    b, n = starts.shape
    m = max(1, min(int(steps), n))
    require_memory(f"Lanczos bases of {b} starts x {m} steps x {n}", 8.0 * b * m * n, "use fewer starts or steps")
    norms = np.linalg.norm(starts, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise LandscapeError("a Lanczos start is the zero vector")
    basis = np.zeros((b, m, n))
    basis[:, 0] = starts / norms
    alphas, betas = np.zeros((b, m)), np.zeros((b, m))
    lengths = np.zeros(b, dtype=int)
    scale = np.zeros(b)
    alive = np.arange(b)
    for j in range(m):
        q = basis[alive, j]
        w = np.asarray(products(q), dtype=np.float64)
        alpha = np.einsum("an,an->a", w, q)
        alphas[alive, j] = alpha
        lengths[alive] = j + 1
        if j == m - 1:
            break
        w = w - alpha[:, None] * q - (betas[alive, j - 1][:, None] * basis[alive, j - 1] if j else 0.0)
        seen = basis[alive, : j + 1]
        for _ in range(2):
            w = w - np.einsum("akn,ak->an", seen, np.einsum("akn,an->ak", seen, w))
        beta = np.linalg.norm(w, axis=1)
        scale[alive] = np.maximum(scale[alive], np.maximum(np.abs(alpha), beta))
        go = beta > 1e-10 * scale[alive]
        betas[alive[go], j] = beta[go]
        basis[alive[go], j + 1] = w[go] / beta[go][:, None]
        alive = alive[go]
        if alive.size == 0:
            break
    return alphas, betas, lengths


def quadrature(alphas: np.ndarray, betas: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(nodes (b, m), weights (b, m)) of the tridiagonal matrices `lanczos` gave: their
    eigenvalues and the squared first components of their eigenvectors (each row's
    weights sum to 1).  A start that stopped at length L is padded with copies of its
    last alpha, a block cut off from the rest (beta 0 there): nodes inside its own
    range with weight 0, so the nodes' spread is the spectrum's."""
    alphas, betas = np.atleast_2d(alphas).astype(np.float64), np.atleast_2d(betas)
    b, m = alphas.shape
    lengths = np.broadcast_to(np.asarray(lengths, dtype=int), (b,))
    past = np.arange(m)[None, :] >= lengths[:, None]
    diag = np.where(past, alphas[np.arange(b), lengths - 1][:, None], alphas)
    off = np.where(past[:, 1:], 0.0, betas[:, : m - 1])
    t = np.zeros((b, m, m))
    t[:, np.arange(m), np.arange(m)] = diag
    t[:, np.arange(m - 1), np.arange(1, m)] = off
    t[:, np.arange(1, m), np.arange(m - 1)] = off
    nodes, vectors = np.linalg.eigh(t)  # batched: steps^2 floats per start
    return nodes, vectors[:, 0, :] ** 2


@dataclass(frozen=True)
class Density:
    """A spectral density by stochastic Lanczos quadrature.

    nodes, weights: (starts, steps) quadrature of each start (a start that stopped
        early has zero weights past its length); `density` on `grid` is their Gaussian
        broadening of width `sigma`, averaged over starts.
    products: Hessian-vector products spent (starts x steps at most).
    """

    nodes: np.ndarray
    weights: np.ndarray
    grid: np.ndarray
    density: np.ndarray
    sigma: float
    steps: int
    starts: int
    products: int
    dim: int

    def moment(self, p: int) -> float:
        """sum_j tau_j theta_j^p averaged over starts: an estimate of tr(H^p) / dim (exact
        in expectation for p < 2 steps)."""
        return float(np.mean(self._moments(p)))

    def moment_error(self, p: int) -> float:
        """The standard error of `moment(p)`: the starts' standard deviation over sqrt(starts)."""
        return float(np.std(self._moments(p), ddof=1) / np.sqrt(self.starts)) if self.starts > 1 else float("nan")

    def _moments(self, p: int) -> np.ndarray:
        return np.sum(self.weights * self.nodes**p, axis=1)

    def to_json(self) -> dict[str, Any]:
        return {
            "grid": self.grid.tolist(),
            "density": self.density.tolist(),
            "nodes": self.nodes.tolist(),
            "weights": self.weights.tolist(),
            "sigma": self.sigma,
            "steps": self.steps,
            "starts": self.starts,
            "products": self.products,
            "dim": self.dim,
            "mean": self.moment(1),
            "mean_standard_error": self.moment_error(1),
            "second_moment": self.moment(2),
            "second_moment_standard_error": self.moment_error(2),
        }


def _broaden(nodes: np.ndarray, weights: np.ndarray, grid: np.ndarray, sigma: float) -> np.ndarray:
    theta, tau = nodes.ravel(), weights.ravel()
    out = np.zeros_like(grid)
    for i in range(0, theta.size, 4096):  # grid x 4096 floats at a time
        z = (grid[:, None] - theta[None, i : i + 4096]) / sigma
        out += np.exp(-0.5 * z * z) @ tau[i : i + 4096]
    return out / (len(nodes) * sigma * np.sqrt(2 * np.pi))


def slq_density(
    products: Any,
    dim: int,
    *,
    steps: int = 30,
    starts: int = 8,
    points: int = 400,
    sigma: float | None = None,
    seed: int = 0,
    batch: int = 16,
) -> Density:
    """The spectral density of the symmetric operator `products` (directions (k, dim) ->
    H @ directions) by stochastic Lanczos quadrature (module docstring): `starts`
    seeded Rademacher starts of `steps` steps each, `batch` of them at a time, broadened
    by `sigma` (default WIDTH of the nodes' spread) on `points` grid points spanning the
    nodes and 5 sigma beyond them."""
    for name, value in (("steps", steps), ("starts", starts), ("points", points), ("batch", batch)):
        check_number(name, value, lambda v: v >= 1, ">= 1", integer=True)
    if sigma is not None:
        check_number("sigma", sigma, lambda v: v > 0, "positive")
    rng = seeded(seed)
    m = min(steps, dim)
    nodes, weights = np.zeros((starts, m)), np.zeros((starts, m))
    used = 0
    for first in range(0, starts, batch):
        group = rademacher(rng, min(batch, starts - first), dim)
        alphas, betas, lengths = lanczos(products, group, m)
        used += int(lengths.sum())
        rows = slice(first, first + len(group))
        nodes[rows], weights[rows] = quadrature(alphas, betas, lengths)
    spread = float(nodes.max() - nodes.min())
    width = sigma if sigma is not None else WIDTH * max(spread, float(np.abs(nodes).max()), 1e-300)
    grid = np.linspace(nodes.min() - 5 * width, nodes.max() + 5 * width, points)
    return Density(nodes, weights, grid, _broaden(nodes, weights, grid, width), float(width), m, starts, used, dim)
