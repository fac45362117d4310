"""Algorithm 3's planning: which settings need the distances between the minima, and
that distances given but not asked for change nothing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from landscape.exploration.planning import propose
from landscape.foundations.errors import LandscapeError


@pytest.mark.parametrize("rule, order", [("closest", "highest"), ("lowest", "nearest"), ("closest", "nearest")])
def test_a_rule_or_order_that_needs_distances_without_them_is_one_line(rule, order):
    with pytest.raises(LandscapeError, match=f"rule '{rule}' with order '{order}' needs the distances") as info:
        propose(4, np.arange(4.0), {}, rule=rule, order=order)
    assert "\n" not in str(info.value)


@settings(max_examples=30, deadline=None)
@given(st.integers(3, 6), st.integers(0, 2**32 - 1), st.integers(1, 4))
def test_the_lowest_rule_in_height_order_ignores_distances(n, seed, batch):
    """Only "closest" and "nearest" read the distances: given to the "lowest" rule in
    "highest" order, they leave the plan as it is without them."""
    rng = np.random.default_rng(seed)
    energies = rng.normal(size=n)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    picked = rng.permutation(len(pairs))[: int(rng.integers(0, len(pairs) + 1))]
    edges = {pairs[k]: float(max(energies[pairs[k][0]], energies[pairs[k][1]]) + rng.exponential()) for k in picked}
    points = rng.normal(size=(n, 2))
    distances = np.linalg.norm(points[:, None] - points[None], axis=-1)
    plain = propose(n, energies, edges, batch=batch, rule="lowest")
    given_d = propose(n, energies, edges, batch=batch, rule="lowest", distances=distances)
    assert plain.proposals == given_d.proposals and plain.open == given_d.open
