"""Disconnectivity graph drawing: inspect the drawn segments, limits and the saved image."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from landscape.analysis.disconnectivity import disconnectivity_tree
from landscape.analysis.graphs import saddle_matrix  # noqa: E402
from landscape.foundations.errors import LandscapeError  # noqa: E402
from landscape.plotting.dgraph import leaf_order, plot_disconnectivity  # noqa: E402

MB_ENERGIES = [-146.699517, -108.166724, -80.767818]  # Mueller-Brown A, B, C
MB_EDGES = {(0, 2): -40.664844, (2, 1): -72.248940}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def random_landscape(n: int, seed: int, p: float = 0.4, connect: bool = True):
    rng = np.random.default_rng(seed)
    energies = rng.uniform(-10.0, 0.0, n)
    edges = [
        (i, j, max(energies[i], energies[j]) + rng.uniform(0.1, 8.0))
        for i in range(n)
        for j in range(i + 1, n)
        if rng.random() < p or (connect and j == i + 1)
    ]
    return saddle_matrix(n, edges, energies)


def collection(ax, gid: str):
    found = [c for c in ax.collections if c.get_gid() == gid]
    assert len(found) == 1, gid
    return found[0]


def leaf_join_energy(m, k: int) -> float:
    """The saddle where minimum k's basin first joins another: its lowest saddle."""
    return float(np.min(np.delete(m.values[k], k)))


@pytest.mark.parametrize("order", ["energy", "index", "basin"])
def test_one_vertical_segment_per_minimum_ending_at_its_join(order: str) -> None:
    m = random_landscape(12, seed=1)
    ax = plot_disconnectivity(m, order=order)
    segs = collection(ax, "dgraph-minima").get_segments()
    assert len(segs) == m.n
    xs = []
    for k, seg in enumerate(segs):
        (x0, y0), (x1, y1) = seg
        assert x0 == x1
        assert y0 == m.minima_energies[k] and y1 == leaf_join_energy(m, k)
        xs.append(x0)
    assert sorted(xs) == list(range(m.n))
    connectors = collection(ax, "dgraph-connectors").get_segments()
    assert {seg[0][1] for seg in connectors} <= set(np.unique(m.values))  # exact saddles only


def test_limits_cover_minima_and_top_saddle() -> None:
    m = random_landscape(9, seed=2)
    ax = plot_disconnectivity(m)
    lo, hi = ax.get_ylim()
    assert lo < np.min(m.minima_energies) and hi > np.max(m.values)


def test_energy_range_and_levels() -> None:
    m = random_landscape(9, seed=3)
    ax = plot_disconnectivity(m, energy_range=(-6.0, 2.0), levels=[-4.0, -2.0, 0.0])
    assert ax.get_ylim() == (-6.0, 2.0)
    guides = [line for line in ax.lines if line.get_gid() == "dgraph-levels"]
    assert sorted(line.get_ydata()[0] for line in guides) == [-4.0, -2.0, 0.0]
    assert len(collection(ax, "dgraph-minima").get_segments()) == m.n  # clipped, never dropped
    ax = plot_disconnectivity(m, levels=5)
    assert len([line for line in ax.lines if line.get_gid() == "dgraph-levels"]) == 5
    with pytest.raises(LandscapeError, match="energy_range"):
        plot_disconnectivity(m, energy_range=(1.0, 1.0))


def test_mueller_brown_global_minimum_is_drawn_up_to_its_saddle() -> None:
    m = saddle_matrix(3, MB_EDGES, MB_ENERGIES)
    ax = plot_disconnectivity(m, names=["A", "B", "C"])
    segs = collection(ax, "dgraph-minima").get_segments()
    assert [tuple(s[:, 1]) for s in segs] == [
        (-146.699517, -40.664844),
        (-108.166724, -72.248940),
        (-80.767818, -72.248940),
    ]
    root_stub = collection(ax, "dgraph-joins").get_segments()[-1]
    assert root_stub[0, 1] == -40.664844 and root_stub[1, 1] > -40.664844
    assert [t.get_text() for t in ax.get_xticklabels()] == ["A", "B", "C"]


def test_unconnected_components_meet_on_a_dashed_line_above_everything() -> None:
    m = random_landscape(6, seed=4, p=0.0, connect=False)  # no edges at all
    m = saddle_matrix(6, list(m.mst) + [(0, 1, 1.0), (2, 3, 2.0)], m.minima_energies)
    ax = plot_disconnectivity(m, label_minima=False)
    segs = collection(ax, "dgraph-minima").get_segments()
    tops = {seg[1, 1] for seg in segs}
    dashed = collection(ax, "dgraph-unconnected").get_segments()
    assert len(dashed) == 1 and dashed[0][0, 1] > 2.0
    assert len(segs) == 6 and dashed[0][0, 1] in tops  # isolated minima reach the dashed line
    assert len(ax.get_xticks()) == 0


def test_accepts_a_tree_and_an_existing_axes() -> None:
    m = random_landscape(5, seed=5)
    tree = disconnectivity_tree(m, names=list("abcde"))
    _, ax = plt.subplots()
    assert plot_disconnectivity(tree, ax=ax) is ax
    assert [t.get_text() for t in ax.get_xticklabels()] == [tree.nodes[k]["name"] for k in leaf_order(tree)]
    with pytest.raises(LandscapeError, match="from the tree"):
        plot_disconnectivity(tree, m.minima_energies)
    with pytest.raises(LandscapeError, match="order"):
        plot_disconnectivity(m, order="size")


@pytest.mark.parametrize("order", ["energy", "index", "basin"])
def test_basins_are_contiguous(order: str) -> None:
    tree = disconnectivity_tree(random_landscape(12, seed=6))
    pos = {leaf: k for k, leaf in enumerate(leaf_order(tree, order))}
    for _node, data in tree.nodes(data=True):
        if data["kind"] == "join":
            xs = sorted(pos[leaf] for leaf in data["leaves"])
            assert xs == list(range(xs[0], xs[0] + len(xs)))
    assert nx.is_arborescence(tree)


def test_index_order_of_a_chain_is_the_index_order() -> None:
    m = saddle_matrix(4, [(0, 1, 1.0), (1, 2, 2.0), (2, 3, 3.0)], [0.5, 0.0, -1.0, -2.0])
    tree = disconnectivity_tree(m)
    assert leaf_order(tree, "index") == [0, 1, 2, 3]
    assert leaf_order(tree, "energy") == [3, 2, 1, 0]


def test_single_minimum_draws_one_line() -> None:
    ax = plot_disconnectivity(saddle_matrix(1, [], [3.0]))
    (seg,) = collection(ax, "dgraph-minima").get_segments()
    assert seg[0, 1] == 3.0 and seg[1, 1] > 3.0


def test_png_is_written(tmp_path) -> None:
    ax = plot_disconnectivity(random_landscape(15, seed=7), levels=4)
    out = tmp_path / "dgraph.png"
    ax.figure.savefig(out, dpi=80)
    assert out.exists() and out.stat().st_size > 5_000
    image = plt.imread(out)
    assert image.shape[0] > 100 and np.ptp(image[..., :3]) > 0.5  # dark lines on white


def test_a_basin_just_below_its_join_is_still_visible_as_a_dot() -> None:
    """A minimum 1e-6 below its saddle has a leg far thinner than a line: a dot marks it
    at its own energy (nothing drawn at an energy the landscape does not have)."""
    m = saddle_matrix(3, [(0, 1, -1.0), (1, 2, -0.5)], [-3.0, -1.000001, -2.0])
    ax = plot_disconnectivity(m)
    (dots,) = [line for line in ax.lines if line.get_gid() == "dgraph-minima-ends"]
    legs = collection(ax, "dgraph-minima").get_segments()
    assert sorted(zip(dots.get_xdata(), dots.get_ydata())) == sorted((seg[0][0], seg[0][1]) for seg in legs)
    assert -1.000001 in set(dots.get_ydata())
