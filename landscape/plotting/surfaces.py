"""Pictures of loss surfaces on slices (`landscape.analysis.planes`): a contour plot of a
2D slice (or, `style="surface"`, its 3D surface), or the curve of a 1D one, with named
points and paths projected onto it.

matplotlib is imported inside the functions (Agg backend), as in `figures`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from landscape.analysis.planes import Surface
from landscape.plotting.figures import _pyplot

__all__ = ["plot_surface", "ProjectedPath", "STYLES"]

#: How a 2D slice is drawn: filled contours seen from above, or a 3D surface.
STYLES = ("contour", "surface")

#: (label, slice coordinates (n, k), energies (n,) or None) of a path drawn on a slice.
ProjectedPath = tuple[str, np.ndarray, Any]


def plot_surface(
    surface: Surface,
    paths: Sequence[ProjectedPath] = (),
    *,
    legend_title: str | None = None,
    levels: int = 30,
    clip: float | None = None,
    axis_labels: Sequence[str] = ("a (direction 1)", "b (direction 2)"),
    title: str | None = None,
    ax: Any = None,
    style: str = "contour",
    value_label: str = "energy",
) -> Any:
    """Contours (2D) or the curve (1D) of `surface`, its named points marked, `paths`
    drawn through their projected pivots (each path's highest pivot starred).

    `clip` caps the energies the colours spread over (default: the 90th percentile of
    the evaluated ones, so a steep rim does not flatten the basin); points not yet
    evaluated are left blank.  `style="surface"` draws a 2D slice as a 3D surface
    (heights capped the same way), the points and paths at the surface's height under
    them.  `value_label` names what the grid holds (axis and colour bar).
    """
    from landscape.foundations.errors import LandscapeError

    if style not in STYLES:
        raise LandscapeError(f"style must be one of {', '.join(STYLES)}, got {style!r}")
    plt = _pyplot()
    e = np.asarray(surface.energies, dtype=float)
    axes = surface.slice.axes
    finite = e[np.isfinite(e)]
    top = clip if clip is not None else (float(np.percentile(finite, 90)) if finite.size else 1.0)
    if style == "surface" and len(axes) == 2:
        return _plot_3d(surface, np.minimum(e, top), top, paths, axis_labels, value_label, title, legend_title, ax)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 5) if len(axes) == 2 else (6.4, 4))
    if len(axes) == 2:
        shown = np.ma.masked_invalid(np.minimum(e, top))
        cs = ax.contourf(axes[0], axes[1], shown.T, levels=levels, cmap="viridis")
        ax.contour(axes[0], axes[1], shown.T, levels=cs.levels[::3], colors="k", linewidths=0.4, alpha=0.5)
        plt.colorbar(cs, ax=ax, label=f"{value_label} (capped at {top:.4g})")
        ax.set_ylabel(axis_labels[1])
    else:
        ax.plot(axes[0], e, "-", color="C0", label="surface")
        ax.set_ylabel(value_label)
    for k, (label, coords, energies) in enumerate(paths):
        color = f"C{(k + 1) % 10}"
        c = np.asarray(coords, dtype=float)
        if len(axes) == 2:
            ax.plot(c[:, 0], c[:, 1], "o-", ms=2.5, lw=1.2, color=color, label=label)
        elif energies is not None:
            ax.plot(c[:, 0], energies, "o-", ms=2.5, lw=1.2, color=color, label=label)
        if energies is not None and c.shape[0] > 2:
            i = 1 + int(np.argmax(np.asarray(energies)[1:-1]))
            y = c[i, 1] if len(axes) == 2 else float(np.asarray(energies)[i])
            ax.plot(c[i, 0], y, "*", color=color, mec="k", mew=0.6, ms=11)
    for name, xy in surface.slice.marks.items():
        if len(axes) == 2:
            ax.plot(xy[0], xy[1], "w^", mec="k", ms=7)
            ax.annotate(name, (xy[0], xy[1]), color="w", xytext=(4, 4), textcoords="offset points")
        else:
            ax.axvline(xy[0], color="k", ls=":", lw=1)
            ax.annotate(
                name, (xy[0], 1), xycoords=("data", "axes fraction"), xytext=(3, -12), textcoords="offset points"
            )
    ax.set_xlabel(axis_labels[0])
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small", loc="best", title=legend_title, title_fontsize="small", framealpha=0.6)
    elif legend_title:  # no path near the slice: say so where the legend would be
        ax.text(0.02, 0.98, legend_title, transform=ax.transAxes, va="top", fontsize="small", color="w")
    if title:
        ax.set_title(title, fontsize="medium")
    return ax


def _plot_3d(
    surface: Surface,
    capped: np.ndarray,
    top: float,
    paths: Sequence[ProjectedPath],
    axis_labels: Sequence[str],
    value_label: str,
    title: str | None,
    legend_title: str | None,
    ax: Any,
) -> Any:
    """The 3D surface of a 2D slice; marks and paths at the (capped) height under them,
    read off the grid by linear interpolation (points outside the grid: at its edge)."""
    from scipy.interpolate import RegularGridInterpolator

    plt = _pyplot()
    if ax is None:
        ax = plt.figure(figsize=(7, 5.6)).add_subplot(projection="3d")
    ax.computed_zorder = False  # marks and paths over the surface, never hidden behind it
    a, b = surface.slice.axes
    shown = np.ma.masked_invalid(capped)
    ax.plot_surface(*np.meshgrid(a, b, indexing="ij"), shown, cmap="viridis", linewidth=0, alpha=0.85)
    height = RegularGridInterpolator((a, b), capped, bounds_error=False, fill_value=None)

    def at(c: np.ndarray) -> np.ndarray:
        return height(np.clip(c, [a[0], b[0]], [a[-1], b[-1]]))

    for k, (label, coords, _) in enumerate(paths):
        c = np.asarray(coords, dtype=float)
        ax.plot(c[:, 0], c[:, 1], at(c), "o-", ms=2.5, lw=1.2, color=f"C{(k + 1) % 10}", label=label, zorder=3)
    for name, xy in surface.slice.marks.items():
        z = float(at(np.asarray([xy], dtype=float))[0])
        ax.scatter([xy[0]], [xy[1]], [z], marker="^", color="w", edgecolor="k", s=40, depthshade=False, zorder=4)
        ax.text(xy[0], xy[1], z, f" {name}", color="k", zorder=4)
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    ax.set_zlabel(f"{value_label} (capped at {top:.4g})")
    if paths:
        ax.legend(fontsize="small", loc="upper left", title=legend_title, title_fontsize="small", framealpha=0.6)
    if title:
        ax.set_title(title, fontsize="medium")
    return ax
