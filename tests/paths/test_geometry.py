"""Path geometry against independent computations and invariants (numpy and torch)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from landscape.paths import geometry
from landscape.testing import examples

coords = st.floats(-10, 10, allow_nan=False, width=64)


def polylines(min_n: int = 3, max_n: int = 12, dim: int = 3):
    """Random polylines whose first coordinate strictly increases, so no segment
    overlaps another and a point's arc position along them is unambiguous."""

    def build(steps: np.ndarray) -> np.ndarray:
        steps[:, 0] = np.abs(steps[:, 0]) + 0.01
        return np.cumsum(steps, axis=0)

    return st.integers(min_n, max_n).flatmap(lambda n: arrays(np.float64, (n, dim), elements=coords)).map(build)


def _arc_position(poly: np.ndarray, point: np.ndarray) -> float:
    """Arc length fraction of `point` along `poly`, found independently by projection."""
    seg = np.diff(poly, axis=0)
    lengths = np.linalg.norm(seg, axis=1)
    best, where = np.inf, 0.0
    for k in range(len(seg)):
        w = np.clip(np.dot(point - poly[k], seg[k]) / lengths[k] ** 2, 0, 1)
        d = np.linalg.norm(poly[k] + w * seg[k] - point)
        if d < best - 1e-12:
            best, where = d, lengths[:k].sum() + w * lengths[k]
    return where / lengths.sum()


@given(polylines(), arrays(np.float64, 12, elements=st.floats(-5, 5)))
def test_improved_tangents_are_unit_vectors(pivots, energies):
    tau = geometry.improved_tangents(pivots, energies[: len(pivots)])
    assert tau.shape == (len(pivots) - 2, pivots.shape[1])
    np.testing.assert_allclose(np.linalg.norm(tau, axis=1), 1.0, rtol=1e-12)


@given(polylines(3, 3, 2), st.floats(-3, 3), st.floats(-3, 3))
def test_tangent_is_continuous_when_a_pivot_becomes_a_maximum(pivots, e0, e2):
    """Raise the middle energy through max(e0, e2): the tangent must not jump (the
    original AutoNEB code swapped to the other segment, a ~90 degree jump)."""
    top = max(e0, e2)
    # The tangent turns over an energy window as wide as |e2 - e0|: step well inside it.
    eps = 1e-7 * abs(e2 - e0) if e2 != e0 else 1e-7
    below = geometry.improved_tangents(pivots, np.array([e0, top - eps, e2]))
    above = geometry.improved_tangents(pivots, np.array([e0, top + eps, e2]))
    assert np.linalg.norm(below - above) < 1e-2  # a jump to the other segment would be ~1


def test_tangent_follows_higher_neighbour_and_mixes_at_extremum():
    p = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    # rising: points to the upper segment (plus side)
    np.testing.assert_allclose(geometry.improved_tangents(p, np.array([0.0, 1.0, 2.0])), [[0.0, 1.0]])
    # maximum with e2 > e0: weights max(|dE|) on the plus side, min on the minus side
    t = geometry.improved_tangents(p, np.array([0.0, 3.0, 1.0]))
    expect = 3.0 * np.array([0.0, 1.0]) + 2.0 * np.array([1.0, 0.0])
    np.testing.assert_allclose(t[0], expect / np.linalg.norm(expect))


@given(polylines(), arrays(np.float64, (10, 3), elements=coords))
def test_projected_forces_are_orthogonal_to_tangents(pivots, grads):
    n = len(pivots) - 2
    tau = geometry.improved_tangents(pivots, np.arange(len(pivots), dtype=float) % 3)
    g = grads[:n] if n <= 10 else np.resize(grads, (n, 3))
    perp = geometry.project_perpendicular(g, tau)
    np.testing.assert_allclose(np.sum(perp * tau, axis=1), 0.0, atol=1e-9 * (1 + np.abs(g).max()))


@given(polylines(), st.integers(3, 15))
@settings(max_examples=examples(60))
def test_redistribution_gives_equal_arc_lengths_on_the_same_polyline(pivots, n):
    new = geometry.redistribute(pivots, n)
    assert new.shape == (n, pivots.shape[1])
    np.testing.assert_array_equal(new[0], pivots[0])
    np.testing.assert_array_equal(new[-1], pivots[-1])
    positions = [_arc_position(pivots, p) for p in new[1:-1]]
    np.testing.assert_allclose(positions, np.arange(1, n - 1) / (n - 1), atol=1e-6)


@given(polylines(5, 12, 2), st.data())
@settings(max_examples=examples(60))
def test_redistribution_keeps_a_climbing_pivot_and_spaces_each_side(pivots, data):
    c = data.draw(st.integers(1, len(pivots) - 2))
    new = geometry.redistribute(pivots, fixed=c)
    np.testing.assert_array_equal(new[c], pivots[c])
    np.testing.assert_array_equal(new[[0, -1]], pivots[[0, -1]])
    s_c = geometry.arc_fractions(pivots)[c]
    pos = np.array([_arc_position(pivots, p) for p in new])
    np.testing.assert_allclose(pos[: c + 1], s_c * np.arange(c + 1) / c, atol=1e-6)
    right = len(pivots) - 1 - c
    np.testing.assert_allclose(pos[c:], s_c + (1 - s_c) * np.arange(right + 1) / right, atol=1e-6)


def test_interpolate_and_dense_points_lie_on_segments():
    p = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 2.0]])
    np.testing.assert_allclose(
        geometry.interpolate(p, np.array([0.0, 1 / 3, 0.5, 1.0])), [[0, 0], [1, 0], [1, 0.5], [1, 2]]
    )
    d = geometry.dense_points(p, 3)
    np.testing.assert_allclose(d[:3], [[0.25, 0], [0.5, 0], [0.75, 0]])
    np.testing.assert_allclose(d[3:], [[1, 0.5], [1, 1], [1, 1.5]])


def test_insertion_residuals_measure_excess_over_the_line():
    e_piv = np.array([0.0, 1.0, 0.0])
    # segment 0: a bump of 2.5 over the line at w=1/2; segment 1: line .75,.5,.25, excess .25
    dense = np.array([0.5, 3.0, 0.5, 0.5, 0.5, 0.5])
    r = geometry.insertion_residuals(e_piv, dense, 3)
    np.testing.assert_allclose(r, [2.5 / 3.0, 0.25 / 3.0])


def test_geometry_runs_on_torch_tensors_without_leaving_them():
    torch = pytest.importorskip("torch")
    p = torch.tensor([[0.0, 0.0], [0.3, 0.9], [1.0, 1.0], [2.0, 0.5]], dtype=torch.float64)
    e = torch.tensor([0.0, 2.0, 1.0, 0.5], dtype=torch.float64)
    tau = geometry.improved_tangents(p, e)
    new = geometry.redistribute(p, fixed=torch.argmax(e[1:-1]) + 1)
    assert isinstance(tau, torch.Tensor) and isinstance(new, torch.Tensor)
    np.testing.assert_allclose(tau.numpy(), geometry.improved_tangents(p.numpy(), e.numpy()))
    np.testing.assert_allclose(new.numpy(), geometry.redistribute(p.numpy(), fixed=1))
