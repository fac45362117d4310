"""Pictures of Hessian spectra (`landscape.analysis.spectrum`): the SLQ density, the
parameter blocks side by side, and the curvature along a path.

Each function draws on `ax` (a new figure when None) and returns it; `save_figure`
(`landscape.plotting.figures`) writes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from landscape.plotting.figures import _pyplot

if TYPE_CHECKING:
    from landscape.analysis.density import Density
    from landscape.analysis.spectrum import SpectraAlong, Spectrum

__all__ = ["plot_density", "plot_blocks", "plot_along", "spectrum_figure"]


def _axes(ax: Any, size: tuple[float, float] = (6, 4)) -> Any:
    return _pyplot().subplots(figsize=size)[1] if ax is None else ax


def plot_density(density: Density, *, ax: Any = None, title: str | None = None) -> Any:
    """The broadened density on a log scale (a network's spectrum spans decades of
    density: a bulk near zero and a few outliers), its nodes marked along the bottom."""
    ax = _axes(ax)
    floor = max(float(density.density.max()) * 1e-8, 1e-300)
    ax.semilogy(density.grid, np.maximum(density.density, floor), color="C0")
    shown = density.weights > 0
    ax.plot(density.nodes[shown], np.full(int(shown.sum()), floor), "|", color="C3", ms=8, label="Lanczos nodes")
    ax.set_xlabel("eigenvalue")
    ax.set_ylabel("density")
    ax.legend(fontsize="small", title=f"{density.starts} starts x {density.steps} steps, sigma {density.sigma:.2g}")
    ax.set_title(title or "spectral density (stochastic Lanczos quadrature)", fontsize="medium")
    return ax


def plot_blocks(spectrum: Spectrum, *, ax: Any = None, title: str | None = None) -> Any:
    """Per parameter block: its trace (with three standard errors) and its largest and
    smallest eigenvalue, as bars on a symmetric log scale (blocks differ by decades)."""
    names = list(spectrum.blocks)
    ax = _axes(ax, (max(6.0, 0.6 * len(names) + 2), 4))
    pos = np.arange(len(names))
    series = [
        ("trace", [b.trace.trace if b.trace else np.nan for b in spectrum.blocks.values()]),
        ("largest eigenvalue", [b.top.values[-1] if b.top else np.nan for b in spectrum.blocks.values()]),
        ("smallest eigenvalue", [b.bottom.values[0] if b.bottom else np.nan for b in spectrum.blocks.values()]),
    ]
    series = [(label, np.asarray(v, dtype=float)) for label, v in series if not np.all(np.isnan(v))]
    width = 0.8 / max(len(series), 1)
    errors = [3 * b.trace.standard_error if b.trace else 0.0 for b in spectrum.blocks.values()]
    for k, (label, values) in enumerate(series):
        ax.bar(
            pos + (k - (len(series) - 1) / 2) * width,
            values,
            width,
            label=label,
            color=f"C{k}",
            yerr=errors if label == "trace" else None,
            capsize=2,
        )
    ax.set_yscale("symlog", linthresh=_linthresh([v for _, v in series]))
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xticks(pos, names, rotation=45 if len(names) > 4 else 0, ha="right" if len(names) > 4 else "center")
    ax.set_ylabel("curvature of the block's own Hessian")
    ax.legend(fontsize="small")
    ax.set_title(title or "per parameter block", fontsize="medium")
    return ax


def plot_along(along: SpectraAlong, *, ax: Any = None, title: str | None = None) -> Any:
    """The largest and smallest eigenvalues, and the trace over the dimension (the mean
    eigenvalue, with three standard errors), against the arc-length fraction."""
    ax = _axes(ax)
    t = along.t

    def pick(get: Any) -> np.ndarray:
        return np.array([get(s) for s in along.spectra], dtype=float)

    if along.spectra[0].top is not None:
        ax.plot(t, pick(lambda s: s.top.values[-1]), "o-", color="C0", ms=3, label="largest eigenvalue")
    if along.spectra[0].bottom is not None:
        ax.plot(t, pick(lambda s: s.bottom.values[0]), "o-", color="C3", ms=3, label="smallest eigenvalue")
    if along.spectra[0].trace is not None:
        mean = pick(lambda s: s.trace.trace / s.dim)
        err = pick(lambda s: 3 * s.trace.standard_error / s.dim)
        ax.errorbar(t, mean, yerr=err, fmt="s-", color="C2", ms=3, capsize=2, label="trace / dim")
    ax.axhline(0, color="k", lw=0.6)
    parts = [p.values for s in along.spectra for p in (s.top, s.bottom) if p is not None]
    ax.set_yscale("symlog", linthresh=_linthresh(parts))
    ax.set_xlabel("arc length (fraction of path)")
    ax.set_ylabel("curvature")
    ax.legend(fontsize="small")
    ax.set_title(title or "Hessian along the path", fontsize="medium")
    return ax


def _linthresh(values: Sequence[np.ndarray]) -> float:
    """Linear within a thousandth of the largest magnitude, logarithmic beyond: three
    decades, not the dozens down to a flat direction's round-off."""
    flat = np.abs(np.concatenate([np.ravel(v) for v in values])) if len(values) else np.ones(1)
    largest = float(np.max(flat[np.isfinite(flat)], initial=0.0))
    return 1e-3 * largest if largest > 0 else 1.0


def spectrum_figure(
    spectrum: Spectrum | None = None, along: SpectraAlong | None = None, *, title: str | None = None
) -> Any:
    """One figure with a panel for each part there is: the density, the blocks, the
    path; returns an axes of it (for `save_figure`), or None when there is nothing to draw."""
    panels = []
    if spectrum is not None and spectrum.density is not None:
        panels.append(lambda ax: plot_density(spectrum.density, ax=ax))
    if spectrum is not None and spectrum.blocks:
        panels.append(lambda ax: plot_blocks(spectrum, ax=ax))
    if along is not None:
        panels.append(lambda ax: plot_along(along, ax=ax))
    if not panels:
        return None
    fig, axes = _pyplot().subplots(1, len(panels), figsize=(6 * len(panels), 4.5), squeeze=False)
    for draw, ax in zip(panels, axes[0]):
        draw(ax)
    if title:
        fig.suptitle(title, fontsize="medium")
    return axes[0][0]
