"""Disconnectivity graph drawing (Wales, Miller and Walsh 1998; pele's style).

Energy runs up the vertical axis.  Each minimum is a vertical line from its own energy up
to the saddle where its basin joins another; a join draws a horizontal connector over its
children and a vertical line up to its parent join; the root continues a little above.
Joins sit at their exact saddle energies: optional ``levels`` are dotted guide lines only,
never a grid joins are rounded to, and no minimum is ever dropped (pele drops those that
join only through its top level).

matplotlib is imported inside the functions, so ``import landscape.plotting.dgraph`` stays light.

The drawn artists carry gids, for inspection and styling:
``"dgraph-minima"`` (LineCollection, one vertical segment per minimum in index order,
from its energy to its join), ``"dgraph-joins"`` (verticals above joins, the root's last),
``"dgraph-connectors"`` (horizontal connectors at finite saddles), ``"dgraph-unconnected"``
(dashed connector of components no path connects, drawn above the top saddle) and
``"dgraph-levels"`` (the guide lines).  With ``values`` (one number per minimum, such
as a committor probability) each minimum's line and dot take the colour of its value,
with a colourbar (``"dgraph-colourbar"``); a NaN value is drawn grey.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from landscape.analysis.disconnectivity import disconnectivity_tree
from landscape.analysis.graphs import SaddleMatrix
from landscape.foundations.errors import LandscapeError

if TYPE_CHECKING:
    import networkx as nx
    from matplotlib.axes import Axes

__all__ = ["plot_disconnectivity", "leaf_order"]

Order = Literal["energy", "index", "basin"]
_STUB = 0.06  # root stub and the "unconnected" level, as a fraction of the energy span


def _has_display() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _new_axes(n_leaves: int) -> Axes:
    """A fresh pyplot Axes; on a headless machine select Agg before pyplot picks a backend."""
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules and not os.environ.get("MPLBACKEND") and not _has_display():
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=(min(max(4.0, 0.35 * n_leaves), 20.0), 4.5))
    return ax


def _as_tree(tree_or_matrix: Any, minima_energies: Any, names: Sequence[str] | None) -> nx.DiGraph:
    if isinstance(tree_or_matrix, (SaddleMatrix, np.ndarray, list, tuple)):
        return disconnectivity_tree(tree_or_matrix, minima_energies, names)
    if not hasattr(tree_or_matrix, "graph") or "root" not in tree_or_matrix.graph:
        raise LandscapeError("plot_disconnectivity needs a disconnectivity_tree or a saddle matrix")
    if minima_energies is not None or names is not None:
        raise LandscapeError("minima_energies and names come from the tree; pass them to disconnectivity_tree")
    return tree_or_matrix


def _subtree_keys(tree: nx.DiGraph) -> dict[int, tuple[float, int, int]]:
    """(lowest energy, lowest index, number of minima) of every subtree, without recursion."""
    import networkx as nx

    keys: dict[int, tuple[float, int, int]] = {}
    for node in reversed(list(nx.topological_sort(tree))):
        data = tree.nodes[node]
        if data["kind"] == "minimum":
            keys[node] = (data["energy"], data["index"], 1)
        else:
            kids = [keys[c] for c in tree.successors(node)]
            keys[node] = (min(k[0] for k in kids), min(k[1] for k in kids), sum(k[2] for k in kids))
    return keys


def leaf_order(tree: nx.DiGraph, order: Order = "energy") -> list[int]:
    """Minima from left to right; each basin's minima stay contiguous so no lines cross.

    At every join the children are sorted: ``"energy"`` by their lowest minimum's energy,
    ``"index"`` by their lowest minimum index, ``"basin"`` by size (largest basin first),
    then energy.  Ties fall back to the lowest index.
    """
    keys = _subtree_keys(tree)
    sort_key = {
        "energy": lambda c: (keys[c][0], keys[c][1]),
        "index": lambda c: keys[c][1],
        "basin": lambda c: (-keys[c][2], keys[c][0], keys[c][1]),
    }.get(order)
    if sort_key is None:
        raise LandscapeError(f"order must be 'energy', 'index' or 'basin', got {order!r}")
    leaves: list[int] = []
    stack = [tree.graph["root"]]
    while stack:
        node = stack.pop()
        if tree.nodes[node]["kind"] == "minimum":
            leaves.append(node)
        else:
            stack.extend(sorted(tree.successors(node), key=sort_key, reverse=True))
    return leaves


def _layout(tree: nx.DiGraph, order: Order) -> tuple[dict[int, float], dict[int, float], float]:
    """x of every node, drawn y of every node (unconnected joins just above the top saddle), root stub top."""
    import networkx as nx

    x = {leaf: float(pos) for pos, leaf in enumerate(leaf_order(tree, order))}
    energies = np.array([d["energy"] for _, d in tree.nodes(data=True)])
    finite = energies[np.isfinite(energies)]
    top, bottom = float(finite.max()), float(finite.min())
    span = top - bottom if top > bottom else max(abs(top), 1.0)
    y = {node: tree.nodes[node]["energy"] for node in tree}
    unconnected_y = top + _STUB * span
    for node in reversed(list(nx.topological_sort(tree))):
        if tree.nodes[node]["kind"] == "join":
            xs = [x[c] for c in tree.successors(node)]
            x[node] = 0.5 * (min(xs) + max(xs))
        if not np.isfinite(y[node]):
            y[node] = unconnected_y
    return x, y, y[tree.graph["root"]] + _STUB * span


def _segments(tree: nx.DiGraph, x: dict[int, float], y: dict[int, float], root_top: float) -> dict[str, list]:
    root = tree.graph["root"]
    parent = {c: p for p, c in tree.edges}
    up = lambda node: y[parent[node]] if node in parent else root_top  # noqa: E731
    minima = sorted((n for n in tree if tree.nodes[n]["kind"] == "minimum"), key=lambda n: tree.nodes[n]["index"])
    joins = [n for n in tree if tree.nodes[n]["kind"] == "join"]
    segs: dict[str, list] = {"minima": [], "joins": [], "connectors": [], "unconnected": []}
    segs["minima"] = [[(x[m], y[m]), (x[m], up(m))] for m in minima]
    stub = [] if not np.isfinite(tree.nodes[root]["energy"]) else [root]  # no line above "never joined"
    segs["joins"] = [[(x[j], y[j]), (x[j], up(j))] for j in joins if j != root] + [
        [(x[j], y[j]), (x[j], root_top)] for j in stub if tree.nodes[j]["kind"] == "join"
    ]
    for j in joins:
        xs = [x[c] for c in tree.successors(j)]
        kind = "connectors" if np.isfinite(tree.nodes[j]["energy"]) else "unconnected"
        segs[kind].append([(min(xs), y[j]), (max(xs), y[j])])
    return segs


def plot_disconnectivity(
    tree_or_matrix: Any,
    minima_energies: Any = None,
    ax: Axes | None = None,
    names: Sequence[str] | None = None,
    energy_range: tuple[float, float] | None = None,
    levels: int | Sequence[float] | None = None,
    order: Order = "energy",
    label_minima: bool = True,
    color: Any = "k",
    linewidth: float = 1.2,
    ylabel: str | None = "energy",
    values: Sequence[float] | None = None,
    values_label: str = "",
    values_range: tuple[float, float] | None = None,
    cmap: str = "coolwarm",
) -> Axes:
    """Draw the disconnectivity graph of minima and return the Axes.

    Args:
        tree_or_matrix: a :func:`~landscape.analysis.disconnectivity.disconnectivity_tree`, or a saddle matrix
            (:class:`~landscape.analysis.graphs.SaddleMatrix` or (n, n) array) to build one from.
        minima_energies, names: for a matrix only (a tree carries them).
        ax: Axes to draw into; a new figure if ``None`` (Agg backend when headless).
        energy_range: ``(low, high)`` y-limits; the default covers every minimum and the top
            saddle.  Lines beyond it are clipped, never removed.
        levels: dotted horizontal guide lines: a count spread over the visible range, or the
            energies themselves.  Joins are never moved onto them.
        order: left-to-right order of sibling basins, see :func:`leaf_order`.
        label_minima: label the minima (their names) on the x axis.
        color, linewidth: line style; ylabel: the y-axis label.
        values: one number per minimum, in index order, colouring its line and dot by
            `cmap` over `values_range` (default: the finite values' range), with a colourbar
            labelled `values_label`; NaN draws grey.
    """
    from matplotlib.collections import LineCollection

    tree = _as_tree(tree_or_matrix, minima_energies, names)
    x, y, root_top = _layout(tree, order)
    ends = [n for n in tree if tree.nodes[n]["kind"] == "minimum"]
    ax = _new_axes(len(ends)) if ax is None else ax
    style = {"colors": color, "linewidths": linewidth}
    ends.sort(key=lambda n: tree.nodes[n]["index"])  # index order, as the "dgraph-minima" segments
    leaf = _leaf_colours(ax, values, len(ends), values_label, values_range, cmap)
    for name, segs in _segments(tree, x, y, root_top).items():
        if segs:
            dashes = {"linestyles": "dashed"} if name == "unconnected" else {}
            colours = {"colors": leaf} if name == "minima" and leaf is not None else {}
            ax.add_collection(LineCollection(segs, gid=f"dgraph-{name}", **{**style, **colours}, **dashes))
    # a dot at every minimum: a basin barely below its join (a leg shorter than the line
    # is wide) stays visible without drawing any energy where it is not
    if leaf is None:
        ax.plot(
            [x[n] for n in ends], [y[n] for n in ends], "o", color=color, ms=2.5 * linewidth, gid="dgraph-minima-ends"
        )
    else:
        ax.scatter(
            [x[n] for n in ends], [y[n] for n in ends], c=leaf, s=(2.5 * linewidth) ** 2, gid="dgraph-minima-ends"
        )
    _set_limits(ax, tree, x, root_top, energy_range)
    _draw_levels(ax, levels)
    _decorate(ax, tree, x, label_minima, ylabel)
    return ax


def _leaf_colours(
    ax: Axes, values: Any, n: int, label: str, value_range: tuple[float, float] | None, cmap: str
) -> list | None:
    """RGBA colours of the minima by their `values` (grey for NaN), and the colourbar."""
    if values is None:
        return None
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    v = np.asarray(values, dtype=np.float64)
    if v.shape != (n,) or np.isinf(v).any():
        raise LandscapeError(f"values must be {n} numbers, one per minimum (finite or NaN), got shape {v.shape}")
    finite = v[np.isfinite(v)]
    lo, hi = value_range if value_range is not None else (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi):
        raise LandscapeError(f"values_range must be finite (low, high) with low <= high, got {value_range!r}")
    norm, colours = Normalize(lo, hi if hi > lo else lo + 1.0), colormaps[cmap]
    bar = ax.figure.colorbar(ScalarMappable(norm=norm, cmap=colours), ax=ax, label=label, fraction=0.05, pad=0.02)
    bar.ax.set_gid("dgraph-colourbar")
    return [colours(norm(e)) if np.isfinite(e) else (0.6, 0.6, 0.6, 1.0) for e in v]


def _set_limits(ax: Axes, tree: nx.DiGraph, x: dict[int, float], root_top: float, energy_range: Any) -> None:
    xs = list(x.values())
    ax.set_xlim(min(xs) - 0.7, max(xs) + 0.7)
    if energy_range is not None:
        lo, hi = (float(v) for v in energy_range)
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise LandscapeError(f"energy_range must be finite (low, high) with low < high, got {energy_range!r}")
    else:
        low = min(tree.nodes[n]["energy"] for n in tree if tree.nodes[n]["kind"] == "minimum")
        pad = 0.04 * (root_top - low)
        lo, hi = low - pad, root_top + pad
    ax.set_ylim(lo, hi)


def _draw_levels(ax: Axes, levels: Any) -> None:
    if levels is None:
        return
    if isinstance(levels, (int, np.integer)) and not isinstance(levels, bool):
        lo, hi = ax.get_ylim()
        values = np.linspace(lo, hi, int(levels) + 2)[1:-1]  # inside the view, not on its edges
    else:
        values = np.asarray(levels, dtype=float).ravel()
    for level in values:
        ax.axhline(level, color="0.6", linestyle=":", linewidth=0.8, zorder=0, gid="dgraph-levels")


def _decorate(ax: Axes, tree: nx.DiGraph, x: dict[int, float], label_minima: bool, ylabel: str | None) -> None:
    minima = sorted((n for n in tree if tree.nodes[n]["kind"] == "minimum"), key=x.__getitem__)  # left to right
    if label_minima:
        ax.set_xticks([x[m] for m in minima])
        ax.set_xticklabels([tree.nodes[m]["name"] for m in minima], rotation=90 if len(minima) > 12 else 0)
        ax.tick_params(axis="x", length=0)
    else:
        ax.set_xticks([])
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    if ylabel:
        ax.set_ylabel(ylabel)
