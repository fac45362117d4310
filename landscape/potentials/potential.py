"""The `Potential` interface and composable wrappers around it.

A potential evaluates many points at once: `energy(x)` maps (n, dim) -> (n,) and
`energy_and_gradient(x)` maps (n, dim) -> ((n,), (n, dim)).  Arrays may be numpy
arrays or torch tensors; a potential returns arrays of the kind it was given (or of
its own device for network potentials), so path maths on an accelerator never leaves
it (on CPU tensors `connect` steps on numpy views instead: landscape.paths.host).
Counting, caching, chunking and gradient checks are wrappers, not built-ins.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from landscape.foundations.arrays import to_numpy
from landscape.foundations.errors import LandscapeError

if TYPE_CHECKING:
    from landscape.potentials.symmetry import Symmetry

__all__ = [
    "check_point",
    "particle_dim_of",
    "force_measure",
    "Potential",
    "PotentialWrapper",
    "CountingPotential",
    "CachedPotential",
    "ChunkedPotential",
    "gradient_error",
    "as_batch",
    "SAMPLE_KINDS",
    "add_samples",
    "samples_since",
]

#: The counters of `Potential.cost`: data samples pushed through forward and backward
#: ("gradient") and through forward only ("forward": energies, BatchNorm calibration,
#: whole-set evaluations).  Results carry them as `samples`, the device-independent cost.
SAMPLE_KINDS = ("gradient", "forward")


def as_batch(x: Any, dim: int) -> Any:
    """Check that `x` is a (n, dim) batch; raise a one-line error otherwise."""
    shape = tuple(getattr(x, "shape", ()))
    if len(shape) != 2 or shape[1] != dim:
        raise LandscapeError(f"expected points of shape (n, {dim}), got {shape}")
    return x


class Potential(ABC):
    """An energy surface over R^dim, evaluated in batches.

    Subclasses set `dim` and implement `energy_and_gradient`; overriding `energy`
    is worthwhile when energies are cheaper than gradients (dense path profiles).
    `minima` and `saddles` map names to known points (empty when unknown);
    `describe()` returns a JSON-able dict stored with every result.
    """

    dim: int
    name: str = "potential"
    minima: Mapping[str, Any] = {}
    saddles: Mapping[str, Any] = {}
    #: Axis-aligned box ((xmin, xmax), (ymin, ymax)) for 2D grids and plots, or None;
    #: a band whose highest point ends more than one box width outside it (and outside
    #: its starting path) is no success (`landscape.paths.sanity`).
    bounds: tuple[tuple[float, float], ...] | None = None
    #: True when energies change from call to call (mini-batch losses): bands then
    #: evaluate their fixed ends together with the moving pivots, on the same batch.
    stochastic: bool = False
    #: True when `energy` evaluates on the samples the last `energy_and_gradient` call
    #: drew (NetworkPotential's mini-batch): a stochastic band's fixed ends then cost a
    #: forward pass on the step's batch, not a gradient it would throw away.
    same_batch_energy: bool = False
    #: How to rebuild this potential, {"name": spec, "options": {...}}, set by
    #: `landscape.potentials.registry.load_potential`; stores record it (`landscape.potentials.identity`).
    origin: dict[str, Any] | None = None
    #: Transformations that leave the energy unchanged (`landscape.potentials.symmetry`): permuted
    #: hidden units, rotated and relabelled atoms.  None: every point is its own state.
    symmetry: Symmetry | None = None
    #: Coordinates per particle (3 for atoms in space), 0 for none: force tolerances
    #: (`fmax`) then bound the largest force on one particle, as ASE's fmax does per
    #: atom, not the norm of a whole pivot's force (`particle_dim_of`).
    particle_dim: int = 0

    @abstractmethod
    def energy_and_gradient(self, x: Any) -> tuple[Any, Any]:
        """Energies (n,) and gradients (n, dim) at the points x (n, dim)."""

    def energy(self, x: Any) -> Any:
        """Energies (n,) at the points x (n, dim)."""
        return self.energy_and_gradient(x)[0]

    def describe(self) -> dict[str, Any]:
        """A JSON-able description of this potential (name, dim, options)."""
        return {"name": self.name, "dim": int(self.dim), "class": type(self).__qualname__}

    def asarray(self, x: Any) -> Any:
        """`x` as an array of the kind this potential computes on (numpy float64 here;
        network potentials return tensors on their device), so paths start there."""
        return np.asarray(x, dtype=np.float64)

    def result_attrs(self) -> dict[str, Any]:
        """JSON-able facts recorded with every path computed on this potential, besides
        its description: what a reader needs to interpret the energies (a network's
        BatchNorm mode, say).  None by default."""
        return {}

    def cost(self) -> dict[str, int] | None:
        """Samples evaluated so far, {"gradient": n, "forward": m} (`SAMPLE_KINDS`), for
        potentials over data (networks); None for analytic ones, whose cost is the
        evaluated points that results already count (`nfev`)."""
        return None

    def checkpoint_state(self) -> dict[str, Any] | None:
        """JSON-able state a resumed run must restore to continue identically (e.g. a
        mini-batch sampler's position); None for deterministic potentials."""
        return None

    def restore_checkpoint_state(self, state: dict[str, Any]) -> None:
        """Restore what `checkpoint_state` returned."""
        raise LandscapeError(f"{self.name} keeps no checkpoint state, but the store holds some")

    def hessian_products(self, x: Any, **options: Any) -> Any:
        """Exact Hessian-vector products at the point `x` (dim,): a function from
        directions (k, dim) to H @ directions (k, dim), or None, the default, for "use
        central differences of the gradients" (`landscape.analysis.hessian`, whose every
        function calls this hook).  Network potentials give autograd products; their
        `options` (`samples`, `chunk`, `data_seed`) bound the memory of those products,
        and the spectra pass them only when a user asks (`landscape spectrum --samples`)."""
        return None

    def parameter_blocks(self) -> dict[str, slice] | None:
        """Named slices of the coordinates whose own Hessian blocks per-layer spectra
        analyse (`landscape.analysis.spectrum`): a network's parameter tensors, say; None,
        the default, for a potential whose coordinates form no such groups."""
        return None

    def restart_stream(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Restart a stochastic potential's seeded sample stream.  Every pair an
        exploration runs starts here, so a path depends on nothing that ran before it in
        the same process: not on the executor, the worker, nor a restart in between.
        Deterministic potentials have nothing to restart."""

    def minimum(self, key: str) -> Any:
        """The named minimum `key` as a (dim,) array; a clear error when unknown."""
        if key not in self.minima:
            known = ", ".join(sorted(self.minima)) or "none"
            raise LandscapeError(f"{self.name} has no minimum named {key!r} (known: {known})")
        return self.minima[key]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dim={self.dim})"


class PotentialWrapper(Potential):
    """Delegates everything to `inner`; subclasses intercept what they need."""

    def __init__(self, inner: Potential):
        self.inner = inner
        self.dim = inner.dim

    def __getattr__(self, item: str) -> Any:
        # Only reached for attributes not found normally: plugin extras pass through.
        if item == "inner":
            raise AttributeError(item)
        return getattr(self.inner, item)

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.inner.name

    @property
    def minima(self) -> Mapping[str, Any]:  # type: ignore[override]
        return self.inner.minima

    @property
    def saddles(self) -> Mapping[str, Any]:  # type: ignore[override]
        return self.inner.saddles

    @property
    def bounds(self):  # type: ignore[override]
        return self.inner.bounds

    @property
    def stochastic(self) -> bool:  # type: ignore[override]
        return self.inner.stochastic

    @property
    def same_batch_energy(self) -> bool:  # type: ignore[override]
        return bool(getattr(self.inner, "same_batch_energy", False))

    @property
    def symmetry(self) -> Symmetry | None:  # type: ignore[override]
        return self.inner.symmetry

    @property
    def particle_dim(self) -> int:  # type: ignore[override]
        return getattr(self.inner, "particle_dim", 0)  # a user's class need not derive from Potential

    def energy_and_gradient(self, x: Any) -> tuple[Any, Any]:
        return self.inner.energy_and_gradient(x)

    def energy(self, x: Any) -> Any:
        return self.inner.energy(x)

    def asarray(self, x: Any) -> Any:
        return self.inner.asarray(x)

    def result_attrs(self) -> dict[str, Any]:
        return self.inner.result_attrs()

    def cost(self) -> dict[str, int] | None:
        return self.inner.cost()

    def checkpoint_state(self) -> dict[str, Any] | None:
        return self.inner.checkpoint_state()

    def restore_checkpoint_state(self, state: dict[str, Any]) -> None:
        self.inner.restore_checkpoint_state(state)

    def restart_stream(self) -> None:
        self.inner.restart_stream()

    def hessian_products(self, x: Any, **options: Any) -> Any:
        # The inner potential's exact products: a wrapper that changes the energy overrides this.
        hook = getattr(self.inner, "hessian_products", None)  # a user's class need not derive from Potential
        return None if hook is None else hook(x, **options) if options else hook(x)

    def parameter_blocks(self) -> dict[str, slice] | None:
        hook = getattr(self.inner, "parameter_blocks", None)
        return None if hook is None else hook()

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()

    @property
    def origin(self) -> dict[str, Any] | None:  # type: ignore[override]
        return self.inner.origin


class CountingPotential(PotentialWrapper):
    """Counts evaluated points and calls, split by energy-only and with gradient."""

    def __init__(self, inner: Potential):
        super().__init__(inner)
        self.reset()

    def reset(self) -> None:
        self.gradient_points = 0
        self.energy_points = 0
        self.calls = 0

    @property
    def points(self) -> int:
        """All evaluated points, with or without gradient."""
        return self.gradient_points + self.energy_points

    def energy_and_gradient(self, x: Any) -> tuple[Any, Any]:
        self.calls += 1
        self.gradient_points += int(x.shape[0])
        return self.inner.energy_and_gradient(x)

    def energy(self, x: Any) -> Any:
        self.calls += 1
        self.energy_points += int(x.shape[0])
        return self.inner.energy(x)


class CachedPotential(PotentialWrapper):
    """Remembers results per point (numpy inputs), so repeated points cost nothing.

    Useful where a driver re-evaluates pivots it has already seen (AutoNEB's dense
    evaluation after a cycle).  Keys are the raw bytes of each row.
    """

    def __init__(self, inner: Potential, maxsize: int = 100_000):
        super().__init__(inner)
        self.maxsize = maxsize
        self._cache: dict[bytes, tuple[float, np.ndarray]] = {}
        self.hits = 0

    def energy_and_gradient(self, x: Any) -> tuple[Any, Any]:
        x = np.asarray(x)
        keys = [row.tobytes() for row in x]
        missing = [i for i, k in enumerate(keys) if k not in self._cache]
        self.hits += len(keys) - len(missing)
        if missing:
            e, g = self.inner.energy_and_gradient(x[missing])
            if len(self._cache) + len(missing) > self.maxsize:
                self._cache.clear()
            for j, i in enumerate(missing):
                self._cache[keys[i]] = (float(e[j]), np.asarray(g[j]))
        energies = np.array([self._cache[k][0] for k in keys], dtype=x.dtype)
        grads = np.stack([self._cache[k][1] for k in keys]) if keys else np.zeros_like(x)
        return energies, grads


class ChunkedPotential(PotentialWrapper):
    """Splits large batches into chunks of at most `chunk` points to bound memory."""

    def __init__(self, inner: Potential, chunk: int):
        if chunk < 1:
            raise LandscapeError(f"chunk size must be positive, got {chunk}")
        super().__init__(inner)
        self.chunk = chunk

    def _split(self, x: Any) -> list[Any]:
        return [x[i : i + self.chunk] for i in range(0, int(x.shape[0]), self.chunk)]

    def energy_and_gradient(self, x: Any) -> tuple[Any, Any]:
        from landscape.foundations.arrays import namespace as array_namespace

        xp = array_namespace(x)
        parts = [self.inner.energy_and_gradient(c) for c in self._split(x)]
        return xp.concat([p[0] for p in parts]), xp.concat([p[1] for p in parts])

    def energy(self, x: Any) -> Any:
        from landscape.foundations.arrays import namespace as array_namespace

        xp = array_namespace(x)
        return xp.concat([self.inner.energy(c) for c in self._split(x)])


def add_samples(a: Mapping[str, int] | None, b: Mapping[str, int] | None, sign: int = 1) -> dict[str, int] | None:
    """`a + sign * b` per counter; None when `a` is None (a potential that counts nothing).

    >>> add_samples({"gradient": 5, "forward": 1}, {"gradient": 2}, -1)
    {'gradient': 3, 'forward': 1}
    """
    if a is None:
        return None
    b = b or {}
    return {k: int(a.get(k, 0)) + sign * int(b.get(k, 0)) for k in SAMPLE_KINDS}


def samples_since(potential: Potential, mark: Mapping[str, int] | None) -> dict[str, int] | None:
    """Samples `potential` evaluated since its `cost()` read `mark`; None when it counts none."""
    return add_samples(potential.cost(), mark, -1)


def gradient_error(potential: Potential, x: Any, eps: float = 1e-6) -> float:
    """Largest relative difference between analytic and central-difference gradients.

    Works in float64 numpy on a copy of `x` (n, dim); the scale is the larger of the
    gradient norm and 1 so flat regions do not divide by zero.
    """
    x = np.asarray(x, dtype=np.float64)
    _, g = potential.energy_and_gradient(x)
    g = np.asarray(g, dtype=np.float64)
    fd = np.empty_like(x)
    for j in range(x.shape[1]):
        step = np.zeros_like(x)
        step[:, j] = eps
        fd[:, j] = (np.asarray(potential.energy(x + step)) - np.asarray(potential.energy(x - step))) / (2 * eps)
    scale = np.maximum(np.linalg.norm(g, axis=1), 1.0)
    return float(np.max(np.linalg.norm(g - fd, axis=1) / scale))


def check_point(potential: Potential, point: Any, label: str) -> np.ndarray:
    """A point as a host float64 vector of the potential's dimension, finite; one-line errors."""
    host = np.asarray(to_numpy(point), dtype=np.float64)
    if host.shape != (potential.dim,):
        raise LandscapeError(f"{label} point has shape {host.shape}, the potential needs ({potential.dim},)")
    if not np.all(np.isfinite(host)):
        raise LandscapeError(f"{label} point contains NaN or infinite coordinates")
    return host


def particle_dim_of(potential: Any) -> int:
    """The potential's `particle_dim`, checked: 0 (or absent) or a whole number that
    divides `dim`; a one-line error otherwise."""
    d = getattr(potential, "particle_dim", 0)
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 0 or (d and potential.dim % d):
        name = getattr(potential, "name", "the potential")
        raise LandscapeError(f"{name}.particle_dim must be 0 or a whole number dividing dim={potential.dim}, got {d!r}")
    return int(d)


def force_measure(potential: Any) -> dict[str, int]:
    """What a force tolerance bounds, as stored with a path's settings: {} for the whole
    image's force, {"particle_dim": d} for the largest force on one particle.  Stores
    from before it was recorded measured the whole image: a run of a potential with
    particles is not continued from them under the other test."""
    d = particle_dim_of(potential)
    return {"particle_dim": d} if d else {}
