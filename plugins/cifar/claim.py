"""The paper's claim, tested at reduced scale: are the minima trained out, has AutoNEB
levelled off, and is the path flat where the straight line is not?

Draxler et al. 2018 claim that minima of these networks are joined by paths along which
the training loss stays within a small factor of the minima's while the test error
barely rises.  A number supports that only when the minima fit their training set (else
the path's "saddle" is the spread between under-trained ends), when the band has
stopped improving (else its maximum is an upper bound still falling), and when the
maximum lies strictly inside the path.  `criteria` checks each on a Table 1
(`report.table1`) and says which hold.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["gradient_norms", "cycle_curves", "criteria"]


def gradient_norms(potential: Any, coords: Any) -> list[float]:
    """Full-batch gradient norm of the training loss at each point (all training images
    in one batch: meant for the small subsets of reduced runs)."""
    import torch

    inputs, targets = potential.train_data.get(torch.arange(len(potential.train_data)))
    _, g = potential.data_loss_and_gradient(potential.asarray(coords), inputs, targets)
    return [float(v) for v in torch.linalg.vector_norm(g, dim=1)]


def cycle_curves(
    store: str, names: Sequence[str], potential: Any = None, *, per_segment: int = 1, level: float = 0.1
) -> dict[str, dict[str, Any]]:
    """Per path: the highest training loss inside it (the two minima left out) after each
    AutoNEB cycle, and whether the last cycle changed it by less than `level`.

    Without `potential` the figures are the mini-batch energies AutoNEB saw (pivots and
    its dense points); their batch noise alone can move the maximum by tens of percent.
    With it, every stored cycle's path is evaluated on the whole training set (pivots and
    `per_segment` points between them, BatchNorm recalibrated per point, as Table 1
    does), and `curve` is that; `minibatch_curve` keeps the other.  `samples` holds,
    per cycle, the samples the run had evaluated by then (`CycleRecord.samples`: the
    x axis of a cost curve; None for cycles stored before the counters)."""
    from landscape.store import Store

    with Store.open(store) as s:
        cycles = {name: s.read_result(name).cycles for name in names}
    out = {}
    for name, records in cycles.items():
        noisy = [float(max(np.max(c.path.energies[1:-1]), np.max(c.dense_energies))) for c in records]
        curve = noisy if potential is None else [_interior_max(potential, c.path.pivots, per_segment) for c in records]
        change = abs(curve[-1] - curve[-2]) / abs(curve[-2]) if len(curve) > 1 and curve[-2] else math.nan
        out[name] = {
            "curve": curve,
            "minibatch_curve": noisy,
            "full_batch": potential is not None,
            "last_change": change,
            "levelled": bool(change < level),
            "samples": [None if c.samples is None else dict(c.samples) for c in records],
        }
    return out


def _interior_max(potential: Any, pivots: Any, per_segment: int) -> float:
    from landscape_plugins.torchnet.evaluate import evaluate_path

    ev = evaluate_path(potential, pivots, per_segment, splits=("train",))
    inside = (ev.t > 0) & (ev.t < 1)
    return float(np.max(ev["train_loss"][inside]))


def criteria(
    table: Any,
    curves: dict[str, dict[str, Any]] | None = None,
    *,
    fit_loss: float = 0.002,
    factor: float = 10.0,
    line_factor: float = 100.0,
    error_points: float = 3.0,
    fit_error: float | None = 0.0,
    test_error: float | None = None,
) -> dict[str, bool]:
    """Each criterion of the claim at this scale, True when it holds: minima at train
    loss <= `fit_loss` with training error <= `fit_error` (None: not checked); every MST
    path's maximum strictly inside; Sadd./Min. of the train loss <= `factor` while the
    straight line's is >= `line_factor`; test error at the saddles within `error_points`
    points of the minima; with `test_error` (a fraction), every minimum's test error at
    most that (the paper's ResNet-20: 0.085); and, with `curves`, every MST path levelled off."""
    row = table.row()
    fit_errors = fit_error is None or max(table.minima["train_error"]) <= fit_error
    out = {
        "minima_fit_training_set": bool(max(table.minima["train_loss"]) <= fit_loss and fit_errors),
        "every_maximum_inside": all(p.max_inside for p in table.mst),
        "saddle_within_factor": bool(row["factor"] <= factor),
        "straight_line_above_factor": bool(row["line_factor"] >= line_factor),
        "test_error_within_points": bool(row["test_error_delta_pct"] <= error_points),
    }
    if test_error is not None:
        out["minima_test_error_within"] = bool(max(table.minima["test_error"]) <= test_error)
    if curves is not None:
        out["autoneb_levelled_off"] = all(curves[p.name]["levelled"] for p in table.mst if p.name in curves)
    return out
