"""The disconnectivity tree of a saddle matrix as a networkx graph (networkx loads only here)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from landscape.analysis.graphs import MatrixLike, as_values, check_saddles_above_minima, energies_of, prim_forest
from landscape.analysis.linkage import linkage_sentinel, single_linkage
from landscape.foundations.errors import LandscapeError

if TYPE_CHECKING:  # networkx is imported lazily, only when a tree is built
    import networkx as nx

__all__ = ["disconnectivity_tree"]


def disconnectivity_tree(
    matrix: MatrixLike, minima_energies: Any = None, names: Sequence[str] | None = None
) -> nx.DiGraph:
    """Rooted disconnectivity tree (Wales et al. 1998) of the minima.

    Nodes ``0..n-1`` are the minima (attributes ``kind="minimum"``, ``index``, ``name``,
    ``energy``).  Nodes ``n, n+1, ...`` are joins (``kind="join"``, ``energy`` = the exact
    saddle energy, ``children`` and ``leaves`` as sorted tuples); edges point from a join
    to its children.  Joins at exactly equal energy that are nested merge into one node, so
    a join may have more than two children.  If the minima are not all connected, the root
    is a join at ``energy=inf``.  For any two minima, the energy of their lowest common
    ancestor equals ``values[i, j]``.  ``graph.graph["root"]`` names the root.

    Every minimum appears, whatever its energy or join height.  ``minima_energies`` defaults
    to those of a :class:`SaddleMatrix`.
    """
    import networkx as nx

    v = as_values(matrix)
    n = v.shape[0]
    energies = energies_of(matrix, minima_energies, n)
    if energies is None:
        raise LandscapeError("disconnectivity_tree needs minima_energies")
    if names is not None and len(names) != n:
        raise LandscapeError(f"names must have {n} entries, got {len(names)}")
    off = v.copy()
    np.fill_diagonal(off, np.inf)
    check_saddles_above_minima(prim_forest(off), energies)

    g = nx.DiGraph()
    for k in range(n):
        name = str(k) if names is None else str(names[k])
        g.add_node(k, kind="minimum", index=k, name=name, energy=float(energies[k]))
    z = single_linkage(v, energies)
    sentinel = linkage_sentinel(v, energies)
    node_of = list(range(n))  # linkage cluster id -> tree node
    next_node = n
    for a, b, height, _ in z:
        energy = np.inf if height == sentinel else float(height)
        children: list[int] = []
        for c in (node_of[int(a)], node_of[int(b)]):
            if g.nodes[c]["kind"] == "join" and g.nodes[c]["energy"] == energy:
                children.extend(g.successors(c))  # nested join at the same energy: absorb it
                g.remove_node(c)
            else:
                children.append(c)
        g.add_node(next_node, kind="join", energy=energy)
        g.add_edges_from((next_node, c) for c in children)
        node_of.append(next_node)
        next_node += 1
    # number the joins n, n+1, ... in order of creation despite absorbed ones
    joins = sorted(node for node in g if node >= n)
    g = nx.relabel_nodes(g, {old: n + k for k, old in enumerate(joins)})
    _annotate_joins(g)
    g.graph["root"] = n + len(joins) - 1 if joins else 0
    return g


def _annotate_joins(g: nx.DiGraph) -> None:
    """Store each join's sorted children and leaves (as attributes, for plotting and I/O)."""
    import networkx as nx

    for node in reversed(list(nx.topological_sort(g))):
        if g.nodes[node]["kind"] != "join":
            continue
        children = tuple(sorted(g.successors(node)))
        leaves: list[int] = []
        for c in children:
            leaves.extend(g.nodes[c]["leaves"] if g.nodes[c]["kind"] == "join" else (c,))
        g.nodes[node]["children"] = children
        g.nodes[node]["leaves"] = tuple(sorted(leaves))
