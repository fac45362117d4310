"""Pictures of loss surfaces on slices (`landscape.analysis.planes`): a contour plot of a
2D slice, or the curve of a 1D one, with named points and paths projected onto it.

matplotlib is imported inside the functions (Agg backend), as in `figures`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from landscape.analysis.planes import Surface
from landscape.plotting.figures import _pyplot

__all__ = ["plot_surface", "ProjectedPath"]

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
) -> Any:
    """Contours (2D) or the curve (1D) of `surface`, its named points marked, `paths`
    drawn through their projected pivots (each path's highest pivot starred).

    `clip` caps the energies the colours spread over (default: the 90th percentile of
    the evaluated ones, so a steep rim does not flatten the basin); points not yet
    evaluated are left blank.
    """
    plt = _pyplot()
    e = np.asarray(surface.energies, dtype=float)
    axes = surface.slice.axes
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 5) if len(axes) == 2 else (6.4, 4))
    finite = e[np.isfinite(e)]
    top = clip if clip is not None else (float(np.percentile(finite, 90)) if finite.size else 1.0)
    if len(axes) == 2:
        shown = np.ma.masked_invalid(np.minimum(e, top))
        cs = ax.contourf(axes[0], axes[1], shown.T, levels=levels, cmap="viridis")
        ax.contour(axes[0], axes[1], shown.T, levels=cs.levels[::3], colors="k", linewidths=0.4, alpha=0.5)
        plt.colorbar(cs, ax=ax, label=f"energy (capped at {top:.4g})")
        ax.set_ylabel(axis_labels[1])
    else:
        ax.plot(axes[0], e, "-", color="C0", label="surface")
        ax.set_ylabel("energy")
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
