"""First passage between sets of minima of a kinetic network: graph transformation and master equation.

A network of n states with rate constants ``K[j, i]`` from state i to state j (zero
diagonal) is a continuous-time Markov chain.  For sets A and B of states, T_Ba is the
mean first passage time from a in A to any state of B; with equilibrium weights w_a
of the states of A (normalised over A), this module reports

- the mean first passage time A -> B, ``mfpt = sum_a w_a T_Ba``, and
- the rate ``rate = sum_a w_a / T_Ba``: the inverse mean first passage time averaged
  over A, the rate constant of the graph transformation (Wales 2009, the formula above
  its equation 19), which `mfpt` bounds from below (``1 / mfpt <= rate``, equal for one a).

Two independent ways compute them.  `graph_transformation` (Trygubenko and Wales 2006;
Wales 2009) removes states one by one, each removal renormalising the branching
probabilities and waiting times of its neighbours, so that the remaining states see
the same first-passage statistics; ``1 - P_xx`` is summed from the other branches,
never subtracted, so it stays accurate when escape is rare.  `master_equation`
solves the backward equation ``sum_j K[j, i] (T_j - T_i) = -1`` (T = 0 on B) directly.

`committor` gives each state's probability q_B of reaching B before A, from the same
backward operator: ``sum_j K[j, i] (q_j - q_i) = 0`` outside A and B, q = 0 on A and
1 on B (Wales 2009 calls these committor probabilities), one linear solve.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from landscape.foundations.errors import LandscapeError

__all__ = ["Passage", "committor", "graph_transformation", "master_equation"]


@dataclass(frozen=True)
class Passage:
    """First passage from A to B: `times` T_Ba per state of A (in A's order), `weights`
    w_a (normalised), `mfpt` = sum w_a T_Ba and `rate` = sum w_a / T_Ba; `method` says
    how they were computed."""

    times: np.ndarray
    weights: np.ndarray
    mfpt: float
    rate: float
    method: str


def _check(
    rates: np.ndarray, A: Sequence[int], B: Sequence[int], weights: Sequence[float] | None
) -> tuple[np.ndarray, list[int], list[int], np.ndarray]:
    K = np.array(rates, dtype=np.float64)
    if K.ndim != 2 or K.shape[0] != K.shape[1] or not np.all(np.isfinite(K)) or np.any(K < 0):
        raise LandscapeError("rate constants must be a square matrix of finite non-negative numbers")
    np.fill_diagonal(K, 0.0)
    a, b = [int(i) for i in A], [int(i) for i in B]
    n = len(K)
    if not a or not b or any(not 0 <= i < n for i in a + b):
        raise LandscapeError(f"A and B must be non-empty sets of states 0 to {n - 1}")
    if len(set(a)) != len(a) or len(set(b)) != len(b) or set(a) & set(b):
        raise LandscapeError("A and B must be sets without repeats, and disjoint")
    w = np.ones(len(a)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(a),) or not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise LandscapeError(f"the weights of A must be {len(a)} positive finite numbers")
    return K, a, b, w / w.sum()


def _reach(K: np.ndarray, start: list[int], *, forward: bool, stop: list[int] = ()) -> np.ndarray:
    """States reachable from `start` along positive rates (`forward`), or from which
    `start` can be reached; never expanding past the states in `stop`."""
    seen = np.zeros(len(K), dtype=bool)
    seen[start] = True
    frontier = [s for s in start if s not in set(stop)]
    while frontier:
        j = frontier.pop()
        for i in np.flatnonzero(((K[:, j] if forward else K[j]) > 0) & ~seen):
            seen[i] = True
            if i not in set(stop):
                frontier.append(int(i))
    return seen


def _relevant(K: np.ndarray, a: list[int], b: list[int]) -> np.ndarray:
    """The states a passage from A to B can visit, B included; an error when one of them
    cannot reach B (a walker caught there never arrives: the passage time is infinite)."""
    visited = _reach(K, a, forward=True, stop=b)
    lost = np.flatnonzero(visited & ~_reach(K, b, forward=False))
    if lost.size:
        raise LandscapeError(
            f"B cannot be reached from state(s) {lost[:10].tolist()}, which A leads to: "
            "the mean first passage time is infinite"
        )
    return np.flatnonzero(visited | np.isin(np.arange(len(K)), b))


def _passage(times: np.ndarray, w: np.ndarray, method: str) -> Passage:
    return Passage(times, w, float(w @ times), float(w @ (1.0 / times)), method)


def graph_transformation(
    rates: np.ndarray, A: Sequence[int], B: Sequence[int], weights: Sequence[float] | None = None
) -> Passage:
    """First passage A -> B by removing every other state (graph transformation).

    Args:
        rates: (n, n), ``rates[j, i]`` the rate constant from i to j.
        A, B: disjoint sets of state indices.
        weights: equilibrium weights of A's states (default: equal).

    Raises:
        LandscapeError: bad input, or a state that A leads to and from which B cannot be
            reached.
    """
    K, a, b, w = _check(rates, A, B, weights)
    keep = _relevant(K, a, b)  # the others never lie on a passage from A
    K = K[np.ix_(keep, keep)]
    index = {int(s): k for k, s in enumerate(keep)}
    a, b = [index[i] for i in a], [index[i] for i in b]
    out = K.sum(axis=0)  # total escape rate of each state
    P = K / np.where(out > 0, out, 1.0)  # branching probabilities, column = from
    tau = 1.0 / np.where(out > 0, out, np.inf)  # waiting times (0 for a trap, which only B can be here)
    alive = np.ones(len(K), dtype=bool)
    for x in [s for s in range(len(K)) if s not in set(a) | set(b)]:
        _remove(P, tau, alive, x)
    times = np.empty(len(a))
    for k, s in enumerate(a):  # each a: remove the rest of A, then T_Ba = tau_a / P_Ba
        Pk, tauk, alivek = P.copy(), tau.copy(), alive.copy()
        for x in a:
            if x != s:
                _remove(Pk, tauk, alivek, x)
        times[k] = tauk[s] / Pk[b, s].sum()
    return _passage(times, w, "graph transformation")


def _remove(P: np.ndarray, tau: np.ndarray, alive: np.ndarray, x: int) -> None:
    """Remove state x in place: P_gb += P_gx P_xb / (1 - P_xx), tau_b += P_xb tau_x / (1 - P_xx)."""
    alive[x] = False
    into = P[x].copy()  # P_xb: from b into x
    into[x] = 0.0
    leave = P[:, x].copy()  # P_gx: from x to g
    leave[x] = 0.0
    escape = leave.sum()  # 1 - P_xx, summed (Wales 2009)
    if escape <= 0:  # x only returns to itself: nothing flows through it
        P[x] = 0.0
        return
    P += np.outer(leave, into) / escape
    tau += into * tau[x] / escape
    P[x] = 0.0
    P[:, x] = 0.0


def master_equation(
    rates: np.ndarray, A: Sequence[int], B: Sequence[int], weights: Sequence[float] | None = None
) -> Passage:
    """First passage A -> B by one linear solve of the backward master equation (the
    check on `graph_transformation`; same arguments and errors)."""
    K, a, b, w = _check(rates, A, B, weights)
    free = [int(i) for i in _relevant(K, a, b) if i not in set(b)]
    # sum_j K[j, i] (T_j - T_i) = -1 for i outside B: (K^T - diag(out)) T = -1 on the free states
    G = K.T[np.ix_(free, free)] - np.diag(K[:, free].sum(axis=0))
    T = np.linalg.solve(G, -np.ones(len(free)))
    where = {s: k for k, s in enumerate(free)}
    return _passage(np.array([T[where[i]] for i in a]), w, "master equation")


def committor(rates: np.ndarray, A: Sequence[int], B: Sequence[int]) -> np.ndarray:
    """The probability q_B of each state to reach B before A (n,): 0 on A, 1 on B.

    One linear solve of ``sum_j K[j, i] (q_j - q_i) = 0`` for the states outside A and B
    that can reach either (a move into a state that reaches neither counts as never
    reaching B); a state that reaches neither (a component of the network without A
    and B) gets NaN: it commits to neither.

    Args:
        rates: (n, n), ``rates[j, i]`` the rate constant from i to j.
        A, B: disjoint sets of state indices.

    Raises:
        LandscapeError: bad input.
    """
    K, a, b, _ = _check(rates, A, B, None)
    q = np.full(len(K), np.nan)
    q[a], q[b] = 0.0, 1.0
    ends = set(a) | set(b)
    free = [int(i) for i in np.flatnonzero(_reach(K, a + b, forward=False)) if i not in ends]
    if free:
        G = K.T[np.ix_(free, free)] - np.diag(K[:, free].sum(axis=0))  # the generator among the free states
        q[free] = np.linalg.solve(G, -K.T[np.ix_(free, b)].sum(axis=1))  # flow into B on the right-hand side
    return q
