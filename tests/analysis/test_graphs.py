"""Graph layer: MST, ultrametric saddle matrix, single linkage (scipy as oracle), tree."""

from __future__ import annotations

import itertools
import subprocess
import sys

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.cluster.hierarchy import cophenet, fcluster, linkage
from scipy.spatial.distance import squareform

from landscape.analysis.disconnectivity import disconnectivity_tree
from landscape.analysis.graphs import SaddleMatrix, is_ultrametric, minimum_spanning_edges, saddle_matrix
from landscape.analysis.linkage import clusters, linkage_sentinel, single_linkage
from landscape.foundations.errors import LandscapeError
from landscape.testing import examples

SETTINGS = settings(max_examples=examples(80), deadline=None, suppress_health_check=[HealthCheck.too_slow])

# integer weights make ties (and equal-energy joins) common; floats make them rare.  Floats
# are rounded so that shifting them for scipy (which refuses negative heights) keeps them apart.
WEIGHTS = st.one_of(st.integers(-20, 20).map(float), st.floats(-200.0, 50.0).map(lambda w: round(w, 6)))


@st.composite
def landscapes(draw: st.DrawFn, connected: bool | None = None) -> tuple[int, list, np.ndarray]:
    """(n, edges, minima energies) with every saddle at or above both of its minima."""
    n = draw(st.integers(2, 12))
    pairs = list(itertools.combinations(range(n), 2))
    keep = draw(st.lists(st.booleans(), min_size=len(pairs), max_size=len(pairs)))
    chosen = {p for p, k in zip(pairs, keep) if k}
    if connected is None:
        connected = draw(st.booleans())
    if connected:  # a random spanning tree on top of the random edges
        perm = draw(st.permutations(range(n)))
        for k in range(1, n):
            a, b = perm[k], perm[draw(st.integers(0, k - 1))]
            chosen.add((min(a, b), max(a, b)))
    elif len(chosen) == len(pairs):
        chosen.discard(pairs[0])
    edges = [(i, j, draw(WEIGHTS)) for i, j in sorted(chosen)]
    lowest = np.full(n, np.inf)
    for i, j, w in edges:
        lowest[[i, j]] = np.minimum(lowest[[i, j]], w)
    drops = draw(st.lists(st.floats(0.0, 30.0).map(lambda x: round(x, 6)), min_size=n, max_size=n))
    free = draw(st.lists(st.floats(-200.0, 50.0).map(lambda x: round(x, 6)), min_size=n, max_size=n))
    energies = np.where(np.isfinite(lowest), lowest - np.array(drops), np.array(free))
    return n, edges, energies


def brute_minimax(n: int, edges: list) -> np.ndarray:
    """Bottleneck over all paths of the original edge graph (minimax Floyd-Warshall)."""
    b = np.full((n, n), np.inf)
    for i, j, w in edges:
        b[i, j] = b[j, i] = min(b[i, j], w)
    for k in range(n):
        b = np.minimum(b, np.maximum(b[:, k, None], b[None, k, :]))
    return b


def offset_matrix(values: np.ndarray) -> tuple[np.ndarray, float]:
    """Off-diagonal values shifted to >= 1 with inf replaced by a finite sentinel, for scipy."""
    off = ~np.eye(len(values), dtype=bool)
    finite = values[off & np.isfinite(values)]
    shift = (float(finite.min()) if finite.size else 0.0) - 1.0
    d = values - shift  # the same operation as `level - shift` later, so ties stay ties
    d[~np.isfinite(d)] = linkage_sentinel(values) - shift
    np.fill_diagonal(d, 0.0)
    return d, shift


def partition(labels: np.ndarray) -> set[frozenset[int]]:
    return {frozenset(np.flatnonzero(labels == lab).tolist()) for lab in np.unique(labels)}


# --------------------------------------------------------------------------- matrix


@SETTINGS
@given(landscapes(), st.booleans())
def test_saddle_matrix_is_ultrametric_minimax(case: tuple, with_energies: bool) -> None:
    n, edges, energies = case
    m = saddle_matrix(n, edges, energies if with_energies else None)
    v = m.values
    off = ~np.eye(n, dtype=bool)
    assert np.array_equal(v, v.T)
    assert is_ultrametric(m)
    assert np.array_equal(v[off], brute_minimax(n, edges)[off])  # MST keeps every minimax
    assert np.array_equal(np.diag(v), energies if with_energies else np.full(n, -np.inf))
    assert m.connected == bool(np.all(np.isfinite(v[off])))


@SETTINGS
@given(landscapes())
def test_via_edge_is_highest_on_tree_path(case: tuple) -> None:
    n, edges, energies = case
    m = saddle_matrix(n, edges, energies)
    tree = nx.Graph()
    tree.add_nodes_from(range(n))
    tree.add_weighted_edges_from(m.mst)
    for i, j in itertools.combinations(range(n), 2):
        a, b = m.via[i, j]
        assert (m.via[j, i] == (a, b)).all()
        if not np.isfinite(m.values[i, j]):
            assert (a, b) == (-1, -1) and not nx.has_path(tree, i, j)
            continue
        path = nx.shortest_path(tree, i, j)
        on_path = {frozenset(e) for e in zip(path, path[1:])}
        assert frozenset((a, b)) in on_path and a < b
        assert tree.edges[a, b]["weight"] == m.values[i, j] == max(tree.edges[e]["weight"] for e in zip(path, path[1:]))


@SETTINGS
@given(landscapes(), st.randoms(use_true_random=False))
def test_mst_is_minimal_and_deterministic(case: tuple, rnd) -> None:
    n, edges, _ = case
    mst = minimum_spanning_edges(n, edges)
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_weighted_edges_from(edges)
    oracle = nx.minimum_spanning_tree(g)
    assert len(mst) == oracle.number_of_edges() == n - nx.number_connected_components(g)
    assert sum(w for *_, w in mst) == pytest.approx(oracle.size(weight="weight"))
    assert all(i < j for i, j, _ in mst)
    shuffled = [(j, i, w) if rnd.random() < 0.5 else (i, j, w) for i, j, w in edges]
    rnd.shuffle(shuffled)
    assert minimum_spanning_edges(n, shuffled) == mst


def test_edge_forms_duplicates_and_failed_paths() -> None:
    as_list = [(0, 1, 3.0), (1, 2, 5.0)]
    expected = minimum_spanning_edges(3, as_list)
    assert minimum_spanning_edges(3, {(0, 1): 3.0, (2, 1): 5.0}) == expected
    assert minimum_spanning_edges(3, (e for e in as_list)) == expected
    m = saddle_matrix(3, (e for e in as_list + [(1, 0, 9.0), (0, 2, np.inf)]))  # generator read once
    assert m.values[0, 1] == 3.0 and m.values[0, 2] == 5.0 and m.mst == tuple(expected)
    assert not saddle_matrix(3, [(0, 1, np.inf)]).connected


def test_single_minimum() -> None:
    m = saddle_matrix(1, [], [2.5])
    assert m.values.shape == (1, 1) and m.values[0, 0] == 2.5 and m.connected
    assert single_linkage(m).shape == (0, 4)
    assert clusters(m, 0.0).tolist() == [0]
    tree = disconnectivity_tree(m)
    assert list(tree.nodes) == [0] and tree.graph["root"] == 0


def test_results_are_read_only() -> None:
    m = saddle_matrix(2, [(0, 1, 1.0)])
    with pytest.raises(ValueError):
        m.values[0, 1] = 0.0
    with pytest.raises(AttributeError):
        m.mst = ()  # type: ignore[misc]


def brute_is_ultrametric(v: np.ndarray) -> bool:
    return bool(np.array_equal(v, v.T) and np.all(v[:, None, :] <= np.maximum(v[:, :, None], v[None, :, :])))


def square_entries(n: int) -> st.SearchStrategy[list]:
    return st.lists(st.sampled_from([0.0, 1.0, 2.0, 3.0, np.inf]), min_size=n * n, max_size=n * n)


@SETTINGS
@given(st.integers(1, 7).flatmap(square_entries))
def test_is_ultrametric_agrees_with_all_triples(entries: list) -> None:
    n = int(round(len(entries) ** 0.5))
    v = np.array(entries).reshape(n, n)
    v = np.minimum(v, v.T)
    np.fill_diagonal(v, np.minimum(np.diag(v), 1.5))  # a diagonal sometimes above its row
    assert is_ultrametric(v) == brute_is_ultrametric(v)
    closed = saddle_matrix(n, [(i, j, v[i, j]) for i, j in itertools.combinations(range(n), 2)], None).values
    assert is_ultrametric(closed) and brute_is_ultrametric(closed)


def test_is_ultrametric_rejects() -> None:
    assert not is_ultrametric(np.array([[0.0, 1.0, 3.0], [1.0, 0.0, 1.0], [3.0, 1.0, 0.0]]))
    assert not is_ultrametric(np.array([[0.0, 1.0], [2.0, 0.0]]))
    assert not is_ultrametric(np.array([[np.nan, 1.0], [1.0, 0.0]]))
    assert not is_ultrametric(np.array([[5.0, 1.0], [1.0, 0.0]]))  # diagonal above its row
    assert is_ultrametric(np.array([[0.0, 1.0, 3.0], [1.0, 0.0, 3.0], [3.0, 3.0, 0.0]]))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: saddle_matrix(0, []), "positive integer"),
        (lambda: saddle_matrix(2, [(0, 2, 1.0)]), "outside"),
        (lambda: saddle_matrix(2, [(1, 1, 1.0)]), "itself"),
        (lambda: saddle_matrix(2, [(0, 1, np.nan)]), "real number"),
        (lambda: saddle_matrix(2, [(0, 1)]), "must be"),
        (lambda: saddle_matrix(2, [(0, 1, 1.0)], [0.0]), "shape"),
        (lambda: saddle_matrix(2, [(0, 1, -1.0)], [0.0, -5.0]), "below minimum 0"),
        (lambda: single_linkage(np.zeros((2, 3))), "square"),
        (lambda: single_linkage(np.array([[0.0, 1.0], [2.0, 0.0]])), "symmetric"),
        (lambda: clusters(np.array([[0.0, np.nan], [np.nan, 0.0]]), 1.0), "real numbers"),
        (lambda: disconnectivity_tree(np.array([[0.0, 1.0], [1.0, 0.0]])), "needs minima_energies"),
        (lambda: disconnectivity_tree(np.array([[0.0, 1.0], [1.0, 0.0]]), [0.0, 2.0]), "below minimum 1"),
        (lambda: disconnectivity_tree(np.array([[0.0, 1.0], [1.0, 0.0]]), [0.0, 0.0], ["a"]), "names"),
    ],
)
def test_user_errors_are_one_line(call, match: str) -> None:
    with pytest.raises(LandscapeError, match=match) as info:
        call()
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------- linkage


@SETTINGS
@given(landscapes())
def test_single_linkage_matches_scipy(case: tuple) -> None:
    n, edges, energies = case
    m = saddle_matrix(n, edges, energies)
    z = single_linkage(m)
    d, shift = offset_matrix(m.values)
    ref = linkage(squareform(d, checks=False), method="single")
    assert z.shape == (n - 1, 4)
    np.testing.assert_allclose(np.sort(z[:, 2]) - shift, np.sort(ref[:, 2]), rtol=1e-12, atol=1e-9)
    zs = z.copy()
    zs[:, 2] = z[:, 2] - shift  # scipy's validators refuse negative heights
    np.testing.assert_allclose(squareform(cophenet(zs)), np.where(np.eye(n) > 0, 0.0, d), rtol=1e-12, atol=1e-9)
    if len(np.unique(ref[:, 2])) == n - 1:  # no ties: identical rows, scipy's conventions
        np.testing.assert_array_equal(z[:, [0, 1, 3]], ref[:, [0, 1, 3]])
    sentinel = linkage_sentinel(m)
    assert np.sum(z[:, 2] == sentinel) == n - 1 - len(m.mst)
    assert np.all(z[z[:, 2] != sentinel, 2] < sentinel)


@SETTINGS
@given(landscapes())
def test_clusters_match_fcluster_at_every_level(case: tuple) -> None:
    n, edges, energies = case
    m = saddle_matrix(n, edges, energies)
    d, shift = offset_matrix(m.values)
    ref = linkage(squareform(d, checks=False), method="single")
    ours = single_linkage(m)
    ours[:, 2] -= shift
    heights = np.unique(m.values[np.isfinite(m.values) & ~np.eye(n, dtype=bool)])
    levels = np.concatenate([heights, heights - 0.5, [-1e6]])
    for level in levels:
        expected = partition(fcluster(ref, level - shift, criterion="distance"))
        assert partition(clusters(m, level)) == expected
        assert partition(fcluster(ours, level - shift, criterion="distance")) == expected
    components = partition(clusters(m, np.inf))
    assert len(components) == n - len(m.mst)


def test_negative_saddles_keep_energy_units() -> None:
    m = saddle_matrix(3, {(0, 2): -40.66, (2, 1): -72.25}, [-146.7, -108.17, -80.77])
    z = single_linkage(m)
    np.testing.assert_array_equal(z, [[1, 2, -72.25, 2], [0, 3, -40.66, 3]])
    assert clusters(m, -72.25).tolist() == [0, 1, 1]
    assert clusters(m, -72.26).tolist() == [0, 1, 2]


def test_sentinel_merges_join_components_last() -> None:
    m = saddle_matrix(5, [(0, 1, -3.0), (3, 4, 7.0)], [-5.0, -4.0, 9.0, 0.0, 1.0])
    z = single_linkage(m)
    sentinel = linkage_sentinel(m)
    assert sentinel > 9.0 and np.isfinite(sentinel)
    assert z[:, 2].tolist() == [-3.0, 7.0, sentinel, sentinel]
    assert z[:, 3].tolist() == [2, 2, 3, 5]


# --------------------------------------------------------------------------- tree


@SETTINGS
@given(landscapes())
def test_tree_joins_are_exact_saddles(case: tuple) -> None:
    n, edges, energies = case
    m = saddle_matrix(n, edges, energies)
    names = [f"min{k}" for k in range(n)]
    tree = disconnectivity_tree(m, names=names)
    root = tree.graph["root"]
    assert nx.is_arborescence(tree) and tree.in_degree(root) == 0
    leaves = sorted(node for node, d in tree.nodes(data=True) if d["kind"] == "minimum")
    assert leaves == list(range(n))  # every minimum present, node id = index
    for k in range(n):
        node = tree.nodes[k]
        assert (node["index"], node["name"], node["energy"]) == (k, names[k], energies[k])
        assert tree.out_degree(k) == 0
    for j, d in tree.nodes(data=True):
        if d["kind"] == "join":
            kids = list(tree.successors(j))
            assert len(kids) >= 2 and d["children"] == tuple(sorted(kids))
            assert all(tree.nodes[c]["energy"] < d["energy"] or tree.nodes[c]["kind"] == "minimum" for c in kids)
            assert all(tree.nodes[c]["energy"] <= d["energy"] for c in kids)
    assert tree.nodes[root]["energy"] == (np.max(m.values) if m.connected else np.inf)
    for i, j in itertools.combinations(range(n), 2):
        lca = nx.lowest_common_ancestor(tree, i, j)
        assert tree.nodes[lca]["energy"] == m.values[i, j]


def test_mueller_brown_global_minimum_joins_at_top_saddle() -> None:
    energies = [-146.699517, -108.166724, -80.767818]  # A, B, C
    m = saddle_matrix(3, {(0, 2): -40.664844, (2, 1): -72.248940}, energies)
    assert m.values[0, 1] == -40.664844 and tuple(m.via[0, 1]) == (0, 2)
    tree = disconnectivity_tree(m, names=["A", "B", "C"])
    root = tree.graph["root"]
    assert tree.nodes[root]["energy"] == -40.664844
    assert set(tree.successors(root)) == {0, next(p for p in tree.predecessors(1))}
    assert next(tree.predecessors(0)) == root  # A is present, joined exactly at -40.664844
    assert tree.nodes[next(tree.predecessors(1))]["energy"] == -72.248940


def test_equal_saddles_make_one_multiway_join() -> None:
    m = saddle_matrix(4, [(0, 1, 1.0), (1, 2, 1.0), (2, 3, 2.0)], [0.0, 0.0, 0.0, 0.0])
    tree = disconnectivity_tree(m)
    joins = {d["energy"]: d for _, d in tree.nodes(data=True) if d["kind"] == "join"}
    assert sorted(joins) == [1.0, 2.0]
    assert joins[1.0]["children"] == (0, 1, 2) and joins[2.0]["leaves"] == (0, 1, 2, 3)
    assert sorted(tree.nodes) == list(range(6))  # joins numbered contiguously after the minima


def test_unconnected_minima_join_at_infinity() -> None:
    m = saddle_matrix(4, [(0, 1, 1.0)], [0.0, 0.5, 3.0, -2.0])
    tree = disconnectivity_tree(m)
    root = tree.graph["root"]
    assert tree.nodes[root]["energy"] == np.inf
    assert tree.nodes[root]["leaves"] == (0, 1, 2, 3) and len(tree.nodes[root]["children"]) == 3


def test_plain_array_matrix_works() -> None:
    m = saddle_matrix(3, [(0, 1, 2.0), (1, 2, 4.0)], [0.0, 1.0, 2.0])
    values = np.array(m.values)
    np.fill_diagonal(values, 0.0)  # the diagonal of a plain matrix is ignored
    assert isinstance(m, SaddleMatrix)
    np.testing.assert_array_equal(single_linkage(values), single_linkage(m))
    tree = disconnectivity_tree(values.tolist(), [0.0, 1.0, 2.0])
    assert tree.nodes[tree.graph["root"]]["energy"] == 4.0


def test_import_is_light() -> None:
    code = (
        "import sys, landscape.analysis.graphs, landscape.plotting.dgraph; "
        "bad = [m for m in ('matplotlib', 'torch') if m in sys.modules]; assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
