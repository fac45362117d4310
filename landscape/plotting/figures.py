"""Pictures of paths: the energy profile along a path, and a 2D surface with paths on it.

matplotlib is imported inside the functions (Agg backend), so `import landscape`
stays light and plotting works on machines without a display.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from landscape.foundations.arrays import to_numpy
from landscape.foundations.errors import LandscapeError
from landscape.paths.path import Path, Profile
from landscape.potentials.potential import Potential

__all__ = ["plot_profile", "plot_plane", "save_figure"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_profile(
    profile: Profile,
    *,
    straight: Profile | None = None,
    reference: float | None = None,
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """Energy against arc-length fraction: the path (pivots marked), the straight line
    between the endpoints if given, and a reference saddle energy as a dashed line."""
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    ax.plot(profile.t, profile.energies, "-", color="C0", label="path")
    ax.plot(profile.t[profile.is_pivot], profile.energies[profile.is_pivot], "o", color="C0", ms=4, label="pivots")
    if straight is not None:
        ax.plot(straight.t, straight.energies, "--", color="C1", label="straight line")
    if reference is not None:
        ax.axhline(reference, color="k", ls=":", lw=1, label=f"reference saddle {reference:.6g}")
    k = profile.saddle_index
    ax.plot([profile.t[k]], [profile.energies[k]], "*", color="C3", ms=12, label=f"saddle {profile.energies[k]:.6g}")
    ax.set_xlabel("arc length (fraction of path)")
    ax.set_ylabel("energy")
    ax.legend(fontsize="small")
    if title:
        ax.set_title(title, fontsize="medium")
    return ax


def _around(paths: Sequence[Path], margin: float = 0.25) -> tuple[tuple[float, float], tuple[float, float]]:
    """A box around every pivot of `paths`, as wide in both directions as the paths'
    larger extent, widened by `margin` of it on each side (for potentials that declare
    no bounds of their own)."""
    points = np.concatenate([np.asarray(to_numpy(p.pivots), dtype=float) for p in paths])
    lo, hi = points.min(axis=0), points.max(axis=0)
    size = max(float(np.max(hi - lo)), 1e-6)  # a straight path along one axis still gets a square box
    mid, half = (lo + hi) / 2, np.maximum(hi - lo, size) / 2 + margin * size
    return (float(mid[0] - half[0]), float(mid[0] + half[0])), (float(mid[1] - half[1]), float(mid[1] + half[1]))


#: Paths named in a plane plot's legend (the highest ones); the rest are drawn unnamed.
LEGEND_PATHS = 8


def plot_plane(
    potential: Potential,
    paths: Sequence[Path] = (),
    *,
    labels: Sequence[str] = (),
    bounds: Any = None,
    grid: int = 201,
    levels: int = 40,
    clip: float | None = None,
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """Contour plot of a 2D potential with paths drawn on it, each path's highest pivot
    (its saddle estimate) starred.

    `clip` caps energies shown (Mueller-Brown rises to thousands at the box edges,
    which would flatten every contour of interest); default: the 90th percentile.
    `bounds` default to the potential's, or to a box around the paths.  With more than
    `LEGEND_PATHS` paths, only the highest ones get a legend entry, so it stays readable.
    """
    plt = _pyplot()
    from landscape.paths.exact import evaluate_grid

    if bounds is None and getattr(potential, "bounds", None) is None and paths:
        bounds = _around(paths)
    g = evaluate_grid(potential, grid=grid, bounds=bounds)
    e = g.energies
    top = float(np.percentile(e, 90)) if clip is None else clip
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5))
    cs = ax.contourf(g.x, g.y, np.minimum(e, top).T, levels=levels, cmap="viridis")
    plt.colorbar(cs, ax=ax, label="energy")
    tops = [float(np.max(to_numpy(p.energies))) if p.energies is not None else -np.inf for p in paths]
    named = set(np.argsort(tops)[::-1][:LEGEND_PATHS].tolist())
    for k, path in enumerate(paths):
        p = np.asarray(to_numpy(path.pivots))
        label = (labels[k] if k < len(labels) else f"path {k}") if k in named else None
        color = f"C{(k + 1) % 10}"
        ax.plot(p[:, 0], p[:, 1], "o-", ms=3, lw=1.5, color=color, label=label)
        if path.energies is not None and p.shape[0] > 2:
            top = 1 + int(np.argmax(to_numpy(path.energies)[1:-1]))
            ax.plot(p[top, 0], p[top, 1], "*", color=color, mec="k", mew=0.6, ms=12)
    for name, m in potential.minima.items():
        m = np.asarray(m)
        ax.plot(m[0], m[1], "w^", ms=7)
        ax.annotate(name, (m[0], m[1]), color="w", xytext=(4, 4), textcoords="offset points")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    if paths:
        more = len(paths) - len(named)
        ax.legend(
            fontsize="small", loc="lower left", title=f"highest {len(named)} of {len(paths)}" if more > 0 else None
        )
    if title:
        ax.set_title(title)
    return ax


#: Picture formats by file extension (matplotlib writes each without extra packages).
FORMATS = (".png", ".pdf", ".svg")


def figure_name(filename: str) -> str:
    """`filename` checked before any work: its folder must exist and its extension be a
    known format (none: .png is added, and the name returned is the one written)."""
    folder = os.path.dirname(os.path.abspath(filename))
    if not os.path.isdir(folder):
        raise LandscapeError(f"cannot write picture {filename}: folder {folder} does not exist")
    ext = os.path.splitext(filename)[1].lower()
    if not ext:
        return filename + ".png"
    if ext not in FORMATS:
        raise LandscapeError(f"cannot write picture {filename}: unknown format {ext!r}; use {', '.join(FORMATS)}")
    return filename


def save_figure(ax: Any, filename: str, dpi: int = 150) -> str:
    """Write the figure of `ax` to `filename` (see `figure_name`) and close it (figures
    pile up otherwise); returns the name written."""
    filename = figure_name(filename)
    plt = _pyplot()
    fig = ax.figure
    try:
        fig.tight_layout()
        fig.savefig(filename, dpi=dpi)
    except OSError as exc:
        raise LandscapeError(f"cannot write picture {filename}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)
    return filename
