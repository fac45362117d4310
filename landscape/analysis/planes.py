"""Loss surfaces on 1D and 2D affine slices, x = origin + a d1 + b d2, as Li et al. (2018)
draw them around a minimum and Garipov et al. (2018) through three points.

A `Slice` is the grid: an origin, one or two directions and the coordinates along each.
`plane_through(A, B, C)` makes Garipov's plane (origin A, an orthonormal basis of
span(B - A, C - A), the grid covering the three with a margin); `slice_along(origin,
directions)` takes directions from the caller (a network's filter-normalised ones,
seeded random ones: `random_directions`).  `evaluate_surface` evaluates the grid in
chunks of points, and with a store commits every chunk (one transaction each), so a
rerun with the same grid continues where the last stopped; `project_onto` places stored
paths on the slice with their distance from it.

What a grid point's value is: a potential that names a `surface_function`
("module:function", imported only then; network potentials do) gets its values from it,
`function(potential, points, metric)` with metric "loss" (a network: the data loss on
the whole training set, BatchNorm recalibrated per point, as every evaluation of a
network) or "error" (a network: the test error); any other potential's value is its
batched `energy`.  The grid group's attribute `values` says which ("energy",
"train_loss", "test_error"; a surface stored without it holds energies), and a surface
is continued only with values of the same kind.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from landscape.foundations.arrays import to_numpy
from landscape.foundations.errors import LandscapeError
from landscape.foundations.lock import WriterLock
from landscape.potentials.identity import points_digest
from landscape.potentials.potential import Potential
from landscape.potentials.registry import import_target
from landscape.store import Store
from landscape.store.layout import surface_group

__all__ = [
    "Slice",
    "Surface",
    "plane_through",
    "slice_along",
    "random_directions",
    "project_onto",
    "evaluate_surface",
    "read_surface",
    "DEFAULT_CHUNK",
    "METRICS",
]

#: Points per evaluation and per commit (a network evaluates them as one batch).
DEFAULT_CHUNK = 64
#: What a grid point holds, by `metric`, for a potential with a `surface_function`.
METRICS = {"loss": "train_loss", "error": "test_error"}
# Below this sine of the angle between them, two directions (or B - A and C - A) span no plane.
_PARALLEL = 1e-9


@dataclass(frozen=True, eq=False)
class Slice:
    """A grid on x = origin + sum_k t_k directions[k]: `axes[k]` holds the coordinates
    t_k; grid point (i, j) is at (axes[0][i], axes[1][j]), flattened row by row.
    `marks` names points by their coordinates (A, B, C; the centre)."""

    origin: np.ndarray
    directions: np.ndarray
    axes: tuple[np.ndarray, ...]
    marks: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    kind: str = "directions"

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(a.size) for a in self.axes)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def coordinates(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Slice coordinates (n, k) of the grid points start..stop in flat order."""
        mesh = np.meshgrid(*self.axes, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=1)[start:stop]

    def points(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """The grid points start..stop (n, dim), float64."""
        return self.origin + self.coordinates(start, stop) @ self.directions

    def at(self, coords: Any) -> np.ndarray:
        """The point (dim,) at slice coordinates `coords`."""
        return self.origin + np.asarray(coords, dtype=float) @ self.directions

    def digest(self) -> str:
        """What makes two grids the same: origin, directions and axes."""
        parts = [self.origin.ravel(), self.directions.ravel(), *self.axes]
        return points_digest(np.concatenate(parts)[None], self.shape)

    def extent(self) -> float:
        """The grid's diagonal in space: the scale 'near the slice' is measured against."""
        span = np.array([a.max() - a.min() for a in self.axes])
        return float(np.linalg.norm(span @ self.directions))

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            "origin": self.origin,
            "directions": self.directions,
            **{f"axis{k}": a for k, a in enumerate(self.axes)},
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], attrs: Mapping[str, Any]) -> Slice:
        k = int(np.asarray(arrays["directions"]).shape[0])
        marks = {n: tuple(v) for n, v in json.loads(attrs.get("marks", "{}")).items()}
        axes = tuple(np.asarray(arrays[f"axis{i}"], dtype=float) for i in range(k))
        return cls(
            np.asarray(arrays["origin"], float), np.asarray(arrays["directions"], float), axes, marks, attrs["kind"]
        )


def _check_directions(d: np.ndarray) -> None:
    norms = np.linalg.norm(d, axis=1)
    for k, n in enumerate(norms):
        if not np.isfinite(n) or n == 0:
            raise LandscapeError(f"direction {k + 1} has length {n:g}; a slice needs directions of nonzero length")
    if d.shape[0] == 2:
        cos = abs(float(d[0] @ d[1])) / float(norms[0] * norms[1])
        if np.sqrt(max(0.0, 1 - cos * cos)) < _PARALLEL:
            raise LandscapeError("the two directions are parallel; they span a line, not a plane")


def _axis(lo: float, hi: float, grid: int) -> np.ndarray:
    if grid < 2:
        raise LandscapeError(f"a grid needs at least 2 points per direction, got {grid}")
    return np.linspace(lo, hi, int(grid))


def slice_along(
    origin: Any, directions: Any, *, span: float = 1.0, grid: int = 21, marks: Mapping[str, Any] | None = None
) -> Slice:
    """The grid t_k in [-span, span] along each of one or two `directions` (k, dim) from
    `origin` (Li et al.'s picture around a minimum when the origin is one)."""
    o = np.asarray(to_numpy(origin), dtype=float).ravel()
    d = np.atleast_2d(np.asarray(to_numpy(directions), dtype=float))
    if d.shape[0] not in (1, 2) or d.shape[1] != o.size:
        raise LandscapeError(f"a slice needs 1 or 2 directions of dim {o.size}, got shape {d.shape}")
    if not (np.isfinite(span) and span > 0):
        raise LandscapeError(f"the span must be a positive number, got {span}")
    _check_directions(d)
    axes = tuple(_axis(-span, span, grid) for _ in range(d.shape[0]))
    names = {k: tuple(float(c) for c in np.ravel(v)) for k, v in (marks or {"origin": (0.0,) * d.shape[0]}).items()}
    return Slice(o, d, axes, names, "directions")


def plane_through(
    a: Any, b: Any, c: Any, *, margin: float = 0.2, grid: int = 21, names: Sequence[str] = ("A", "B", "C")
) -> Slice:
    """Garipov et al.'s plane through three points: origin `a`, u = (b - a)/|b - a|, v the
    part of c - a orthogonal to u (Gram-Schmidt), the grid over the three points' box
    widened by `margin` of its size on each side."""
    pa, pb, pc = (np.asarray(to_numpy(p), dtype=float).ravel() for p in (a, b, c))
    if not (pa.size == pb.size == pc.size):
        raise LandscapeError(f"the three points have different dimensions: {pa.size}, {pb.size}, {pc.size}")
    if not (np.isfinite(margin) and margin >= 0):
        raise LandscapeError(f"the margin must be a number >= 0, got {margin}")
    ab, ac = pb - pa, pc - pa
    lab, lac = float(np.linalg.norm(ab)), float(np.linalg.norm(ac))
    if lab == 0 or lac == 0:
        raise LandscapeError(f"{names[1] if lab == 0 else names[2]} coincides with {names[0]}: no plane through them")
    u = ab / lab
    v = ac - (ac @ u) * u
    lv = float(np.linalg.norm(v))
    if lv < _PARALLEL * lac:
        raise LandscapeError(f"{', '.join(names)} are collinear: no single plane through them")
    v /= lv
    coords = np.array([[0.0, 0.0], [lab, 0.0], [float(ac @ u), lv]])
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    pad = margin * (hi - lo)
    axes = tuple(_axis(lo[k] - pad[k], hi[k] + pad[k], grid) for k in range(2))
    marks = {str(n): (float(x), float(y)) for n, (x, y) in zip(names, coords)}
    return Slice(pa, np.stack([u, v]), axes, marks, "plane")


def random_directions(dim: int, count: int, seed: int, scale: float = 1.0) -> np.ndarray:
    """`count` seeded Gaussian directions (count, dim), each of length `scale`."""
    if not (np.isfinite(scale) and scale > 0):
        raise LandscapeError(f"the scale must be a positive number, got {scale}")
    d = np.random.default_rng(seed).standard_normal((count, dim))
    return scale * d / np.linalg.norm(d, axis=1, keepdims=True)


def project_onto(sl: Slice, points: Any) -> tuple[np.ndarray, np.ndarray]:
    """(slice coordinates (n, k), distance (n,) from the slice) of `points` (n, dim):
    the least-squares coordinates over the (not necessarily orthogonal) directions."""
    x = np.asarray(to_numpy(points), dtype=float) - sl.origin
    d = sl.directions
    coords = np.linalg.solve(d @ d.T, d @ x.T).T
    return coords, np.linalg.norm(x - coords @ d, axis=1)


@dataclass(frozen=True, eq=False)
class Surface:
    """Energies on a slice's grid (shape `slice.shape`; NaN where not yet evaluated)."""

    slice: Slice
    energies: np.ndarray
    filled: int
    resumed_from: int = 0  # grid points a store already held when this run began
    info: Mapping[str, Any] = field(default_factory=dict)
    values: str = "energy"  # what the grid holds: "energy", or a `METRICS` value


def read_surface(store: Store, name: str) -> Surface | None:
    """The surface `name` of an open store, or None when it holds none by that name."""
    try:
        arrays, attrs = store.read_array_group(surface_group(name, "grid"))
    except LandscapeError:
        return None
    sl = Slice.from_arrays(arrays, attrs)
    values, done = store.read_array_group(surface_group(name, "energies"))
    info, what = json.loads(attrs.get("info", "{}")), str(attrs.get("values", "energy"))
    return Surface(sl, values["energies"].reshape(sl.shape), int(done["filled"]), info=info, values=what)


def _values(potential: Potential, metric: str) -> tuple[str, Callable[[np.ndarray], Any]]:
    """(what the grid holds, points -> values) of `potential` for `metric`."""
    if metric not in METRICS:
        raise LandscapeError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    own = getattr(potential, "surface_function", None)
    if own is not None:
        fn = import_target(own)
        return METRICS[metric], lambda points: fn(potential, points, metric)
    if metric != "loss":
        raise LandscapeError(f"{potential.name} has only energies: metric {metric!r} needs a network potential")
    potential.restart_stream()  # a stochastic potential: every chunk sees the same first batch
    return "energy", lambda points: potential.energy(potential.asarray(points))


def _evaluate(potential: Potential, fn: Callable[[np.ndarray], Any], points: np.ndarray) -> np.ndarray:
    e = np.asarray(to_numpy(fn(points)), dtype=float)
    if e.shape != (points.shape[0],):
        raise LandscapeError(f"{potential.name}: {e.shape} values for {points.shape[0]} points")
    return e


def _write_energies(store: Store, name: str, energies: np.ndarray, filled: int, digest: str) -> None:
    store.write_array_group(
        surface_group(name, "energies"), {"energies": energies}, {"filled": filled, "digest": digest}
    )


def _start(
    filename: str, name: str, sl: Slice, info: Mapping[str, Any], what: str, replace: bool
) -> tuple[np.ndarray, int]:
    """The energies (flat) and points done a store holds for this grid and kind of value;
    a new surface is written with none done (another grid or kind of value under the same
    name: refused, or replaced)."""
    with Store.open(filename) as store:
        held = read_surface(store, name)
    digest = sl.digest()
    if held is not None and held.slice.digest() == digest and held.values == what:
        return held.energies.ravel().copy(), held.filled
    if held is not None and not replace:
        other = "another grid" if held.slice.digest() != digest else f"{held.values}, not {what}"
        raise LandscapeError(f"{filename} holds a surface {name!r} of {other}; choose another --name or pass --force")
    marks, energies = json.dumps(dict(sl.marks)), np.full(sl.size, np.nan)
    attrs = {"kind": sl.kind, "digest": digest, "marks": marks, "info": json.dumps(dict(info)), "values": what}
    with Store.write(filename) as store:  # the grid and its empty energies in one transaction
        store.write_array_group(surface_group(name, "grid"), sl.to_arrays(), attrs)
        _write_energies(store, name, energies, 0, digest)
    return energies, 0


def evaluate_surface(
    potential: Potential,
    sl: Slice,
    *,
    store: str | None = None,
    name: str = "surface",
    chunk: int = DEFAULT_CHUNK,
    info: Mapping[str, Any] | None = None,
    progress: bool = False,
    callback: Callable[[int, int], None] | None = None,
    replace: bool = False,
    metric: str = "loss",
) -> Surface:
    """Values of `potential` on the grid of `sl`, `chunk` points per batched call: its
    `surface_function` for `metric` where it names one (a network: "loss", the whole
    training set's loss; "error", the test error; BatchNorm recalibrated per point),
    else its `energy` (metric "loss" only).

    With `store` (a store's file name) each chunk is committed as it lands, in its own
    transaction, under the surface `name`; the same call again continues from the last
    commit (a grid other than the stored one is a one-line error, or with `replace`
    starts the surface anew).  `info` (JSON) is stored beside the grid.
    `callback(filled, total)` runs after every chunk.  A stochastic potential without a
    `surface_function` has its stream restarted first, so every chunk sees the same batch.
    """
    if chunk < 1:
        raise LandscapeError(f"chunk must be a positive number of points, got {chunk}")
    if sl.origin.size != potential.dim:
        raise LandscapeError(f"the slice has dim {sl.origin.size}, the potential {potential.dim}")
    from tqdm.auto import tqdm

    what, fn = _values(potential, metric)
    energies, filled = np.full(sl.size, np.nan), 0
    with WriterLock(store) if store is not None else contextlib.nullcontext():
        if store is not None:
            energies, filled = _start(store, name, sl, info or {}, what, replace)
        first = filled
        bar = tqdm(total=sl.size, initial=filled, unit="point", desc="surface", leave=False, disable=not progress)
        with bar:
            for start in range(filled, sl.size, chunk):
                stop = min(start + chunk, sl.size)
                energies[start:stop] = _evaluate(potential, fn, sl.points(start, stop))
                filled = stop
                if store is not None:
                    with Store.write(store) as writer:
                        _write_energies(writer, name, energies, filled, sl.digest())
                bar.update(stop - start)
                if callback is not None:
                    callback(filled, sl.size)
    return Surface(sl, energies.reshape(sl.shape), filled, first, dict(info or {}), what)
