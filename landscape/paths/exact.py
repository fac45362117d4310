"""Exact minimum-energy paths on a 2D grid: the ground truth for every analytic test.

The minimax (bottleneck) energy between two cells is the lowest level at which they
lie in one connected component of the sublevel set {E <= level}.  It is exact up to
the grid: no method that moves on the same grid can find a lower path.

- The level is found by bisection over the sorted distinct grid energies, labelling
  each candidate sublevel set with `scipy.ndimage.label` (C speed; about 20 labels
  for an 801 x 801 grid).
- The path is the start-to-end path in a minimum spanning tree of the start's
  component (edge weight = higher cell energy, ties broken towards lower cells).
  Every piece of such a path is itself a minimax path, so it follows the valley
  floors like a minimum energy path rather than hugging the sublevel boundary.
- `pairwise_minimax` refines the same bisection recursively for many points at once:
  it labels only around the levels where the partition of the points changes
  (about merges x 20 labels), which replaces a union-find sweep over all cells with
  work done in C.

Connectivity: with 8 neighbours a path may step diagonally between cells; 4 allows
only axis steps and gives a slightly higher value.  Mueller-Brown A -> B on 801 x 801
over [-1.5, 1.2] x [-0.2, 2.0] gives -40.665389 with 8 (the reference -40.6654) and
-40.664709 with 4; the true saddle is -40.664844.
Grid convention: `energies[i, j]` is the energy at (x[i], y[j]) (``indexing="ij"``).
Non-finite energies are walls: such cells never join a sublevel set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from landscape.foundations.errors import LandscapeError
from landscape.foundations.memory import human, require_memory
from landscape.potentials.potential import Potential

__all__ = ["Grid", "ExactPath", "evaluate_grid", "grid_minimax", "pairwise_minimax"]

Bounds = Sequence[Sequence[float]]
GridShape = int | Sequence[int]

_BATCH = 65536  # points per potential call: bounds memory, keeps calls vectorised


@dataclass(frozen=True, eq=False)
class Grid:
    """Energies on a regular grid: `energies[i, j]` at (x[i], y[j])."""

    x: np.ndarray
    y: np.ndarray
    energies: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.x), len(self.y))

    @property
    def spacing(self) -> tuple[float, float]:
        return (float(self.x[1] - self.x[0]), float(self.y[1] - self.y[0]))

    @property
    def bounds(self) -> tuple[tuple[float, float], tuple[float, float]]:
        return ((float(self.x[0]), float(self.x[-1])), (float(self.y[0]), float(self.y[-1])))

    def point(self, cell: tuple[int, int]) -> np.ndarray:
        return np.array([self.x[cell[0]], self.y[cell[1]]])

    def cell(self, point: Any, what: str = "point") -> tuple[int, int]:
        """The index of the grid point nearest to `point`; an error when outside the grid."""
        p = np.asarray(point, dtype=np.float64).reshape(-1)
        if p.shape != (2,):
            raise LandscapeError(f"{what} must be a 2D point, got shape {np.shape(point)}")
        idx = []
        for value, axis, step in zip(p, (self.x, self.y), self.spacing):
            i = int(np.rint((value - axis[0]) / step))
            if not 0 <= i < len(axis):
                (lo, hi), name = (axis[0], axis[-1]), "x" if axis is self.x else "y"
                raise LandscapeError(f"{what} {p.tolist()} lies outside the grid ({name} in [{lo:g}, {hi:g}])")
            idx.append(i)
        return (idx[0], idx[1])


@dataclass(frozen=True, eq=False)
class ExactPath:
    """A minimax path on a grid, from the start cell to the end cell.

    `saddle_energy` is the exact grid minimax energy and `saddle_point` the cell
    where the path reaches it; `points` (m, 2) and `energies` (m,) follow grid cells
    (`cells` (m, 2) their indices).  `tolerance` estimates the grid error: the
    largest energy difference between the saddle cell and its neighbours.
    """

    saddle_energy: float
    saddle_point: np.ndarray
    points: np.ndarray
    energies: np.ndarray
    cells: np.ndarray
    tolerance: float
    spacing: tuple[float, float]
    connectivity: int

    @property
    def saddle_index(self) -> int:
        return int(np.argmax(self.energies))


# grid evaluation ------------------------------------------------------------------------
#: Grid points above which the arrays of the bottleneck search need gigabytes.
MAX_CELLS = 25_000_000
#: Peak memory per grid point (measured: `landscape exact mueller-brown` peaked at
#: 213 MB with a 1001 x 1001 grid and 640 MB with 2001 x 2001).
BYTES_PER_CELL = 142


def _check_2d(potential: Any) -> None:
    dim = getattr(potential, "dim", None)
    if dim != 2:
        raise LandscapeError(f"exact paths need a 2D potential, got dim={dim}")


def _shape(grid: GridShape) -> tuple[int, int]:
    shape = (int(grid), int(grid)) if np.ndim(grid) == 0 else tuple(int(n) for n in grid)  # type: ignore[arg-type]
    if len(shape) != 2 or min(shape) < 2:
        raise LandscapeError(f"grid must be an int or (nx, ny) with at least 2 points each, got {grid!r}")
    cells = shape[0] * shape[1]
    if cells > MAX_CELLS:
        raise LandscapeError(
            f"a {shape[0]} x {shape[1]} grid has more than {MAX_CELLS:,} points (about "
            f"{human(cells * BYTES_PER_CELL)} of memory); 801 already resolves 2D saddles to 1e-3"
        )
    require_memory(f"a {shape[0]} x {shape[1]} grid", cells * BYTES_PER_CELL, "use a smaller --grid")
    return shape  # type: ignore[return-value]


def _bounds(potential: Potential, bounds: Bounds | None) -> tuple[tuple[float, float], tuple[float, float]]:
    b = bounds if bounds is not None else getattr(potential, "bounds", None)
    if b is None:
        raise LandscapeError(f"{potential.name} has no bounds; pass bounds=((xmin, xmax), (ymin, ymax))")
    try:
        (x0, x1), (y0, y1) = ((float(lo), float(hi)) for lo, hi in b)
    except (TypeError, ValueError) as exc:
        raise LandscapeError(f"bounds must be ((xmin, xmax), (ymin, ymax)), got {b!r}") from exc
    if not (x0 < x1 and y0 < y1):
        raise LandscapeError(f"bounds must be increasing ((xmin, xmax), (ymin, ymax)), got {b!r}")
    return (x0, x1), (y0, y1)


def evaluate_grid(potential: Potential, grid: GridShape = 401, bounds: Bounds | None = None) -> Grid:
    """Energies of a 2D `potential` on an (nx, ny) grid over `bounds` (default: its own)."""
    _check_2d(potential)
    nx, ny = _shape(grid)
    (x0, x1), (y0, y1) = _bounds(potential, bounds)
    x, y = np.linspace(x0, x1, nx), np.linspace(y0, y1, ny)
    pts = np.stack(np.meshgrid(x, y, indexing="ij"), axis=-1).reshape(-1, 2)
    parts = [np.asarray(potential.energy(pts[i : i + _BATCH]), dtype=np.float64) for i in range(0, len(pts), _BATCH)]
    return Grid(x, y, np.concatenate(parts).reshape(nx, ny))


def _as_grid(potential: Potential | Grid, grid: GridShape, bounds: Bounds | None) -> Grid:
    return potential if isinstance(potential, Grid) else evaluate_grid(potential, grid, bounds)


# sublevel sets -------------------------------------------------------------------------------
def _offsets(connectivity: int) -> list[tuple[int, int]]:
    """Forward neighbour offsets (each undirected edge once)."""
    if connectivity == 4:
        return [(1, 0), (0, 1)]
    if connectivity == 8:
        return [(1, 0), (0, 1), (1, 1), (1, -1)]
    raise LandscapeError(f"connectivity must be 4 or 8, got {connectivity}")


class _Sublevel:
    """Component labels of the sublevel sets {E <= levels[k]} of one grid."""

    def __init__(self, energies: np.ndarray, connectivity: int):
        from scipy import ndimage  # scipy.ndimage is not needed at import time

        _offsets(connectivity)  # validates
        self._label = ndimage.label
        self.structure = ndimage.generate_binary_structure(2, 1 if connectivity == 4 else 2)
        self.energies = energies
        finite = energies[np.isfinite(energies)]
        if finite.size == 0:
            raise LandscapeError("the grid has no finite energies")
        self.levels = np.unique(finite)

    def labels(self, k: int) -> np.ndarray:
        """Component labels of {E <= levels[k]} (0 outside); k = -1 gives the empty set."""
        if k < 0:
            return np.zeros(self.energies.shape, dtype=np.int32)
        return self._label(self.energies <= self.levels[k], self.structure)[0]

    def index_of(self, energy: float) -> int:
        return int(np.searchsorted(self.levels, energy))


def _partition(labels: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Canonical partition ids of the cells: same id = same component; inactive cells alone."""
    ids = labels[cells[:, 0], cells[:, 1]].astype(np.int64)
    ids = np.where(ids > 0, ids, -1 - np.arange(len(ids)))  # not yet in the sublevel set
    _, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    return rank[inverse.reshape(-1)]


def _bottleneck_level(sub: _Sublevel, a: tuple[int, int], b: tuple[int, int]) -> int:
    """The smallest level index at which cells a and b share a component."""
    e = sub.energies
    if not (np.isfinite(e[a]) and np.isfinite(e[b])):
        raise LandscapeError("start or end lies on a cell with a non-finite energy")
    lo, hi = sub.index_of(max(e[a], e[b])), len(sub.levels) - 1
    top = sub.labels(hi)
    if top[a] != top[b]:
        raise LandscapeError("start and end are not connected on the grid (non-finite energies separate them)")
    while lo < hi:
        mid = (lo + hi) // 2
        lab = sub.labels(mid)
        if lab[a] == lab[b]:
            hi = mid
        else:
            lo = mid + 1
    return lo


# paths ------------------------------------------------------------------------------------------
def _tree_path(
    energies: np.ndarray, mask: np.ndarray, a: tuple[int, int], b: tuple[int, int], connectivity: int
) -> np.ndarray:
    """Cells (m, 2) of the a -> b path in a minimum spanning tree of the cells in `mask`.

    Weights are lexicographic (higher cell energy, then lower cell energy), as ranks,
    so they are positive and exact; such a tree is also a minimum spanning tree for
    the higher energy alone, hence its paths are minimax paths.
    """
    from scipy import sparse
    from scipy.sparse import csgraph

    shape = energies.shape
    node = np.full(shape, -1, dtype=np.int64)
    node[mask] = np.arange(int(mask.sum()))
    rank = np.zeros(shape)
    _, inverse = np.unique(energies[mask], return_inverse=True)
    rank[mask] = inverse.reshape(-1) + 1.0
    scale = 1.0 / (rank.max() + 2.0)
    rows, cols, weights = [], [], []
    for di, dj in _offsets(connectivity):
        sa = (slice(0, shape[0] - di), slice(max(0, -dj), shape[1] - max(0, dj)))
        sb = (slice(di, shape[0]), slice(max(0, dj), shape[1] - max(0, -dj)))
        both = mask[sa] & mask[sb]
        ra, rb = rank[sa][both], rank[sb][both]
        rows.append(node[sa][both])
        cols.append(node[sb][both])
        weights.append(np.maximum(ra, rb) + scale * np.minimum(ra, rb))
    n = int(mask.sum())
    graph = sparse.coo_matrix((np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    tree = csgraph.minimum_spanning_tree(graph.tocsr())
    _, pred = csgraph.breadth_first_order(tree, node[a], directed=False, return_predecessors=True)
    cell_of = np.argwhere(mask)  # row k is the cell of node k (same C order as node numbering)
    chain = [int(node[b])]
    while chain[-1] != node[a]:
        if pred[chain[-1]] < 0:  # cannot happen for one labelled component; never loop forever
            raise LandscapeError("internal error: the end cell is not in the start's component")
        chain.append(int(pred[chain[-1]]))
    return cell_of[np.array(chain[::-1])]


def _tolerance(energies: np.ndarray, cell: tuple[int, int], connectivity: int) -> float:
    """Largest energy difference between `cell` and its (finite) neighbours."""
    i, j = cell
    diffs = [0.0]
    for di, dj in _offsets(connectivity):
        for s in (1, -1):
            p, q = i + s * di, j + s * dj
            if 0 <= p < energies.shape[0] and 0 <= q < energies.shape[1] and np.isfinite(energies[p, q]):
                diffs.append(abs(float(energies[p, q] - energies[i, j])))
    return max(diffs)


def grid_minimax(
    potential: Potential | Grid,
    start: Any,
    end: Any,
    grid: GridShape = 401,
    bounds: Bounds | None = None,
    connectivity: int = 8,
) -> ExactPath:
    """The exact minimax path between the grid cells nearest to `start` and `end`.

    `potential` is a 2D potential (evaluated on `grid` over `bounds`, default its
    own `bounds`) or a precomputed `Grid`.  See the module docstring for the method.
    """
    g = _as_grid(potential, grid, bounds)
    sub = _Sublevel(g.energies, connectivity)
    a, b = g.cell(start, "start"), g.cell(end, "end")
    k = _bottleneck_level(sub, a, b)
    labels = sub.labels(k)
    cells = _tree_path(g.energies, labels == labels[a], a, b, connectivity)
    energies = g.energies[cells[:, 0], cells[:, 1]]
    top = tuple(int(v) for v in cells[int(np.argmax(energies))])
    return ExactPath(
        saddle_energy=float(sub.levels[k]),
        saddle_point=g.point(top),  # type: ignore[arg-type]
        points=np.column_stack([g.x[cells[:, 0]], g.y[cells[:, 1]]]),
        energies=energies,
        cells=cells,
        tolerance=_tolerance(g.energies, top, connectivity),  # type: ignore[arg-type]
        spacing=g.spacing,
        connectivity=connectivity,
    )


def pairwise_minimax(
    potential: Potential | Grid,
    points: Any,
    grid: GridShape = 401,
    bounds: Bounds | None = None,
    connectivity: int = 8,
) -> np.ndarray:
    """The (m, m) matrix of grid minimax energies between `points` (m, 2).

    Symmetric and ultrametric; the diagonal holds each point's cell energy; pairs
    that no sublevel set joins (walls of non-finite energy) are inf.  Equal, pair
    by pair, to `grid_minimax(...).saddle_energy` on the same grid.
    """
    g = _as_grid(potential, grid, bounds)
    sub = _Sublevel(g.energies, connectivity)
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise LandscapeError(f"points must have shape (m, 2), got {pts.shape}")
    cells = np.array([g.cell(p, f"point {i}") for i, p in enumerate(pts)], dtype=np.int64).reshape(-1, 2)
    m = len(cells)
    out = np.full((m, m), np.inf)
    out[np.arange(m), np.arange(m)] = g.energies[cells[:, 0], cells[:, 1]]
    top = len(sub.levels) - 1
    stack = [(-1, _partition(sub.labels(-1), cells), top, _partition(sub.labels(top), cells))]
    while stack:
        lo, p_lo, hi, p_hi = stack.pop()
        if np.array_equal(p_lo, p_hi):
            continue  # no merge between these levels
        if hi == lo + 1:
            joined = (p_hi[:, None] == p_hi[None, :]) & (p_lo[:, None] != p_lo[None, :])
            out[joined] = sub.levels[hi]
            continue
        mid = (lo + hi) // 2
        p_mid = _partition(sub.labels(mid), cells)
        stack += [(lo, p_lo, mid, p_mid), (mid, p_mid, hi, p_hi)]
    return out
