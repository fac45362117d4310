"""Path geometry as pure array functions (numpy or torch via the array-API standard).

Conventions: `pivots` is (N+2, dim) with both ends included; functions that act on
interior pivots return (N, dim).  Nothing here copies to the host, so a torch path
stays on its device.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from landscape.foundations.arrays import device as _device
from landscape.foundations.arrays import namespace as array_namespace

__all__ = [
    "segment_lengths",
    "arc_fractions",
    "improved_tangents",
    "project_perpendicular",
    "spring_forces",
    "kink_spring_forces",
    "bend_cosines",
    "energy_weighted_springs",
    "secant_stiffness",
    "climbing_forces",
    "interpolate",
    "redistribute",
    "dense_points",
    "insertion_residuals",
]


def _norm(xp: Any, v: Any) -> Any:
    return xp.sqrt(xp.sum(v * v, axis=-1))


def _is_numpy(xp: Any) -> bool:
    # numpy decides branches on the host for free; other namespaces stay branch-free.
    return xp is np


def _unit(xp: Any, v: Any) -> Any:
    n = _norm(xp, v)
    return v / xp.where(n > 0, n, xp.ones_like(n))[:, None]


def segment_lengths(pivots: Any) -> Any:
    """Euclidean lengths (N+1,) of the segments between consecutive pivots."""
    xp = array_namespace(pivots)
    return _norm(xp, pivots[1:] - pivots[:-1])


def arc_fractions(pivots: Any) -> Any:
    """Cumulative arc length of each pivot as a fraction of the total, in [0, 1]."""
    xp = array_namespace(pivots)
    seg = segment_lengths(pivots)
    cum = xp.concat([xp.zeros((1,), dtype=seg.dtype, device=_device(pivots)), xp.cumulative_sum(seg)])
    total = cum[-1]
    return cum / xp.where(total > 0, total, xp.ones_like(total))


def improved_tangents(pivots: Any, energies: Any) -> Any:
    """Henkelman-Jonsson (2000) improved tangents, unit norm, for interior pivots.

    Away from extrema the tangent points to the higher neighbour.  At a local
    extremum it is the energy-weighted mix (weight max(|dE+|, |dE-|) on the side of
    the higher neighbour, min on the other), so it turns continuously as a pivot
    becomes a maximum instead of jumping between the two segment directions.
    """
    xp = array_namespace(pivots)
    tau_plus = pivots[2:] - pivots[1:-1]
    tau_minus = pivots[1:-1] - pivots[:-2]
    e = energies
    d_plus = e[2:] - e[1:-1]
    d_minus = e[1:-1] - e[:-2]
    a_plus, a_minus = xp.abs(d_plus), xp.abs(d_minus)
    d_max, d_min = xp.maximum(a_plus, a_minus), xp.minimum(a_plus, a_minus)
    plus_higher = e[2:] > e[:-2]
    # At an extremum: max weight on the side of the higher neighbour, min on the other.
    w_plus = xp.where(plus_higher, d_max, d_min)
    w_minus = xp.where(plus_higher, d_min, d_max)
    # Monotone neighbourhoods follow the upper segment alone.
    up = (d_plus > 0) & (d_minus > 0)
    down = (d_plus < 0) & (d_minus < 0)
    w_plus = xp.where(up, d_max, xp.where(down, xp.zeros_like(d_max), w_plus))
    w_minus = xp.where(up, xp.zeros_like(d_max), xp.where(down, d_max, w_minus))
    tau = w_plus[:, None] * tau_plus + w_minus[:, None] * tau_minus
    norm = _norm(xp, tau)
    scale = _norm(xp, tau_plus) + _norm(xp, tau_minus)
    degenerate = norm <= 1e-12 * scale * (d_max + 1e-300)
    if _is_numpy(xp) and not degenerate.any():
        return tau / norm[:, None]  # the common case, without the fallbacks below
    # Degenerate cases (equal energies, or a path folding back on itself): fall back
    # to the bisector of the two segments, then to the forward segment.
    bis = _unit(xp, tau_plus) + _unit(xp, tau_minus)
    tau = xp.where(degenerate[:, None], bis, tau)
    tau = xp.where((_norm(xp, tau) <= 1e-12 * (_norm(xp, tau_plus) + 1))[:, None], tau_plus, tau)
    return _unit(xp, tau)


def project_perpendicular(vectors: Any, tangents: Any) -> Any:
    """Remove from each row of `vectors` its component along the unit `tangents`."""
    xp = array_namespace(vectors)
    return vectors - xp.sum(vectors * tangents, axis=-1)[:, None] * tangents


def spring_forces(pivots: Any, tangents: Any, k: Any) -> Any:
    """NEB spring force (k+ |R+ - R| - k- |R - R-|) tau, acting only along the tangent;
    `k` one constant, or one per segment (N+1,) (`energy_weighted_springs`)."""
    seg = segment_lengths(pivots)
    if isinstance(k, (int, float)):
        return (k * (seg[1:] - seg[:-1]))[:, None] * tangents
    pull = k * seg
    return (pull[1:] - pull[:-1])[:, None] * tangents


def kink_spring_forces(pivots: Any, tangents: Any, k: Any) -> Any:
    """The springs' pull across the path where the band bends: s(phi) times the part of
    the full spring force k+ (R+ - R) - k- (R - R-) perpendicular to the tangent, with
    s = ((1 + cos(pi cos phi)) / 2)^2 of the angle phi between the two segments up to a
    right angle and 1 beyond: 0 on a straight stretch, 1/4 at 60 degrees, 1 where the
    band turns back (phi >= 90 degrees).

    Why: a pivot whose neighbours sit on both sides of a narrow valley feels no force
    across it from the nudged springs, and the band zig-zags or folds back on itself.
    Jonsson, Mills and Jacobsen (1998) switch the pull on with the unsquared factor,
    which falls back to 0 where the band folds straight back; squared and held at 1
    there, it left the fewest random-surface bands without success of the switches
    measured (docs/benchmarks.md).  It does not vanish on a converged band, so the band
    settles without it at the end (`ElasticBand.kinks`).  `k` one constant, or one per
    segment (N+1,)."""
    xp = array_namespace(pivots)
    ahead, behind = pivots[2:] - pivots[1:-1], pivots[1:-1] - pivots[:-2]
    if getattr(k, "ndim", 0) == 0:  # a number, or a 0-d array: one constant
        full = k * (ahead - behind)
    else:
        full = k[1:, None] * ahead - k[:-1, None] * behind
    across = project_perpendicular(full, tangents)
    switch = 0.5 * (1.0 + xp.cos(np.pi * xp.clip(bend_cosines(pivots), 0.0, 1.0)))
    return (switch * switch)[:, None] * across


def bend_cosines(pivots: Any) -> Any:
    """cos phi of the angle between each interior pivot's two segments (N,): 1 on a
    straight stretch, -1 where the band turns straight back (0 at a coincident pivot)."""
    xp = array_namespace(pivots)
    ahead, behind = pivots[2:] - pivots[1:-1], pivots[1:-1] - pivots[:-2]
    lengths = _norm(xp, ahead) * _norm(xp, behind)
    return xp.sum(ahead * behind, axis=-1) / xp.where(lengths > 0, lengths, xp.ones_like(lengths))


def energy_weighted_springs(energies: Any, k_max: float, k_min: float) -> Any:
    """Per-segment spring constants that stiffen with energy (Henkelman, Uberuaga and
    Jonsson 2000): `k_max` where a segment reaches the highest pivot, falling linearly
    to `k_min` at the higher end's energy and below, so pivots gather near the saddle."""
    xp = array_namespace(energies)
    seg_e = xp.maximum(energies[1:], energies[:-1])
    e_ref = xp.maximum(energies[0], energies[-1])
    span = xp.max(energies) - e_ref
    frac = xp.where(span > 0, (seg_e - e_ref) / xp.where(span > 0, span, xp.ones_like(span)), xp.zeros_like(seg_e))
    return k_min + (k_max - k_min) * xp.clip(frac, 0.0, 1.0)


def secant_stiffness(pivots: Any, energies: Any, gradients: Any) -> Any:
    """The largest secant curvature (energy / length^2, a 0-d array) the band measures
    between neighbouring interior pivots: max |g_i+1 - g_i| / |p_i+1 - p_i| over the
    interior gradients (N, dim).  With one interior pivot, the energy's second divided
    difference along the path instead.  Zero where nothing varies."""
    xp = array_namespace(pivots)
    seg = segment_lengths(pivots)
    if gradients.shape[0] >= 2:
        dg = _norm(xp, gradients[1:] - gradients[:-1])
        gap = seg[1:-1]
        return xp.max(xp.where(gap > 0, dg / xp.where(gap > 0, gap, xp.ones_like(gap)), xp.zeros_like(gap)))
    slopes = (energies[1:] - energies[:-1]) / xp.where(seg > 0, seg, xp.ones_like(seg))
    span = seg[0] + seg[1]
    return xp.abs(2 * (slopes[1] - slopes[0]) / xp.where(span > 0, span, xp.ones_like(span)))


def climbing_forces(gradients: Any, tangents: Any) -> Any:
    """Climbing-image force -g + 2 (g . tau) tau: descend across, climb along the path."""
    xp = array_namespace(gradients)
    return -gradients + 2.0 * xp.sum(gradients * tangents, axis=-1)[:, None] * tangents


def interpolate(pivots: Any, t: Any, s: Any = None) -> Any:
    """Points at arc-length fractions `t` (m,) in [0, 1] along the polyline (m, dim);
    `s` are the pivots' own arc fractions when the caller has them already."""
    xp = array_namespace(pivots)
    s = arc_fractions(pivots) if s is None else s
    t = xp.clip(xp.asarray(t, dtype=pivots.dtype, device=_device(pivots)), 0.0, 1.0)
    idx = xp.searchsorted(s, t, side="right") - 1
    idx = xp.clip(idx, 0, pivots.shape[0] - 2)
    s0 = xp.take(s, idx)
    ds = xp.take(s, idx + 1) - s0
    w = xp.where(ds > 0, (t - s0) / xp.where(ds > 0, ds, xp.ones_like(ds)), xp.zeros_like(ds))
    a = xp.take(pivots, idx, axis=0)
    b = xp.take(pivots, idx + 1, axis=0)
    return a + w[:, None] * (b - a)


def redistribute(pivots: Any, n_pivots: int | None = None, fixed: Any = None) -> Any:
    """Pivots at equal arc length along the polyline (the string method's reparametrisation).

    Ends stay exactly where they are.  With `fixed` (a climbing image's index, an int
    or a 0-d integer array, so no host sync is needed) that pivot stays put and each
    side of it is spaced evenly on its own, as in the climbing string method;
    otherwise the redistribution would drag the climber off the saddle.
    """
    xp = array_namespace(pivots)
    n_old = pivots.shape[0]
    n = n_old if n_pivots is None else n_pivots
    i = xp.arange(n, dtype=pivots.dtype, device=_device(pivots))
    s = arc_fractions(pivots)
    if fixed is None:
        t = i / (n - 1)
    else:
        if n != n_old:
            raise ValueError("a fixed pivot needs the number of pivots to stay the same")
        c_idx = xp.asarray(fixed, device=_device(pivots))
        c = xp.astype(c_idx, pivots.dtype)
        s_c = xp.take(s, xp.reshape(c_idx, (1,)))[0]
        left = s_c * i / xp.maximum(c, xp.ones_like(c))
        right = s_c + (1 - s_c) * (i - c) / xp.maximum(n - 1 - c, xp.ones_like(c))
        t = xp.where(i <= c, left, right)
    out = interpolate(pivots, t, s)
    if fixed is not None:
        out = xp.where((i == c)[:, None], pivots, out)
    return xp.concat([pivots[:1], out[1:-1], pivots[-1:]])


def dense_points(pivots: Any, per_segment: int) -> Any:
    """`per_segment` equally spaced points strictly inside each segment, ((N+1)*k, dim)."""
    xp = array_namespace(pivots)
    w = xp.arange(1, per_segment + 1, dtype=pivots.dtype, device=_device(pivots)) / (per_segment + 1)
    a = pivots[:-1][:, None, :]
    b = pivots[1:][:, None, :]
    pts = a + w[None, :, None] * (b - a)
    return xp.reshape(pts, (-1, pivots.shape[1]))


def insertion_residuals(pivot_energies: Any, dense_energies: Any, per_segment: int) -> Any:
    """Per segment, the largest excess of the dense energies over the straight line
    between the two pivots' energies, divided by the energy range along the path.

    AutoNEB inserts a pivot where this exceeds its threshold (0.2 in the paper).
    """
    xp = array_namespace(pivot_energies)
    dense = xp.reshape(dense_energies, (-1, per_segment))
    w = xp.arange(1, per_segment + 1, dtype=dense.dtype, device=_device(dense)) / (per_segment + 1)
    line = pivot_energies[:-1][:, None] + w[None, :] * (pivot_energies[1:] - pivot_energies[:-1])[:, None]
    excess = xp.max(dense - line, axis=1)
    all_e = xp.concat([pivot_energies, dense_energies])
    span = xp.max(all_e) - xp.min(all_e)
    return excess / xp.where(span > 0, span, xp.ones_like(span))
