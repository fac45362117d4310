"""Committor probabilities against independent truth: a three-minimum chain's closed form
(Mueller-Brown's A - C - B), the absorption probabilities of the embedded jump chain by its
fundamental matrix on seeded random networks, q_A + q_B = 1, and states that commit to
neither."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from landscape import LandscapeError
from landscape.analysis.hessian import refine_saddle
from landscape.analysis.kinetics import committor
from landscape.analysis.rates import SaddleNetwork, Transition, stationary_point
from landscape_plugins.analytic.surfaces import MuellerBrown


def _absorption(K: np.ndarray, A: list[int], B: list[int]) -> np.ndarray:
    """P(B before A) from each state outside A and B: the embedded jump chain's fundamental
    matrix N = (I - Q)^-1 times its one-step probabilities into B (Kemeny and Snell)."""
    out = K.sum(axis=0)
    M = (K / out).T  # row-stochastic: M[i, j] from i to j
    rest = [i for i in range(len(K)) if i not in A + B]
    N = np.linalg.inv(np.eye(len(rest)) - M[np.ix_(rest, rest)])
    return N @ M[np.ix_(rest, B)].sum(axis=1)


@pytest.mark.parametrize("theory", ["htst", "kramers-langer"])
def test_three_minimum_chain_against_its_closed_form(theory):
    mb = MuellerBrown()
    minima = [stationary_point(mb, mb.minima[k]) for k in "ACB"]
    saddles = [stationary_point(mb, refine_saddle(mb, x)[0]) for x in ([-0.822, 0.624], [0.212, 0.293])]
    chain = [Transition(saddles[0], 0, 1, "ac"), Transition(saddles[1], 1, 2, "cb")]
    net = SaddleNetwork(["A", "C", "B"], minima, chain)
    k = np.exp(net.log_rates(8.0, theory))
    b, c = k[0, 1], k[2, 1]  # C -> A, C -> B
    np.testing.assert_allclose(net.committor(["A"], ["B"], 8.0, theory=theory), [0.0, c / (b + c), 1.0], rtol=1e-12)
    q = net.committor(["B"], ["A"], 8.0, theory=theory)  # the other way round: q_A = 1 - q_B
    np.testing.assert_allclose(q, [1.0, b / (b + c), 0.0], rtol=1e-12)
    # at T = 0.1, A's only exit (barrier 106) is exp(-975) below the fastest rate: still A reaches C first, never NaN
    np.testing.assert_array_equal(net.committor(["B"], ["C"], 0.1, theory=theory), [1.0, 1.0, 0.0])


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(3, 25), density=st.floats(0.15, 0.9))
def test_random_networks_against_the_fundamental_matrix(seed, n, density):
    rng = np.random.default_rng(seed)
    K = np.exp(rng.normal(0.0, 3.0, (n, n))) * (rng.random((n, n)) < density)
    ring = np.roll(np.arange(n), 1)  # i -> i+1 and back: every state reaches every other
    K[ring, np.arange(n)] += rng.uniform(0.1, 1.0, n)
    K[np.arange(n), ring] += rng.uniform(0.1, 1.0, n)
    np.fill_diagonal(K, 0.0)
    states = rng.permutation(n)
    cut = int(rng.integers(1, n - 1))
    A, B = sorted(states[:cut][: max(1, cut // 2)].tolist()), sorted(states[cut:][:2].tolist())
    q = committor(K, A, B)
    assert np.all(q[A] == 0) and np.all(q[B] == 1)
    rest = [i for i in range(n) if i not in A + B]
    np.testing.assert_allclose(q[rest], _absorption(K, A, B), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(committor(K, B, A), 1 - q, rtol=1e-9, atol=1e-12)  # each state commits to one


def test_states_that_commit_to_neither():
    # 0 - 1 - 2 and a separate pair 3 - 4; 1 also leaks into 3, which never returns
    K = np.zeros((5, 5))
    for i, j, r in ((0, 1, 1.0), (1, 0, 2.0), (1, 2, 3.0), (2, 1, 1.0), (3, 4, 1.0), (4, 3, 1.0), (1, 3, 5.0)):
        K[j, i] = r
    q = committor(K, [0], [2])
    np.testing.assert_allclose(q[:3], [0.0, 3.0 / 10.0, 1.0])  # 1 leaves to 0, 2, 3 at 2, 3, 5
    assert np.isnan(q[3:]).all()


def test_bad_input():
    K = np.ones((3, 3))
    with pytest.raises(LandscapeError, match="disjoint"):
        committor(K, [0], [0])
    with pytest.raises(LandscapeError, match="non-empty"):
        committor(K, [], [1])
    with pytest.raises(LandscapeError, match="non-negative"):
        committor(-K, [0], [1])
