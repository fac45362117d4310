"""Metrics of a network along a path: losses, errors, BatchNorm recalibration, barriers.

Everything here runs in inference mode on the full train and test sets (never on the
optimiser's mini-batches), batched over points with `torch.func.vmap` (a per-point
loop is the fallback for modules vmap cannot handle).

`on_batch`, where a function takes it, is a caller's hook run on the host before each
batch of images (under vmap: every point's batch; in the loop: each point): a
wall-clock guard that raises there stops an evaluation in the middle, before anything
was returned or stored.  It adds no device synchronisation; None runs nothing.

BatchNorm (docs/torch.md, BatchNorm): for every evaluated point the running statistics are
recomputed from the potential's fixed seeded calibration set: reset, then a
cumulative average over the calibration batches, exactly what
`torch.optim.swa_utils.update_bn` does for one module.  Then the network runs in eval
mode with those statistics.

Barriers (docs/torch.md, the three barriers) are three different numbers and are reported by name:
`max_minus_mean_ends` (max along the path minus the mean of the endpoint values),
`max_gap_to_line` (largest excess over the straight line between the endpoint values)
and `saddle_minus_higher_end` (chemistry's: the saddle minus the higher minimum).
"""

from __future__ import annotations

import copy
import json
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap

from landscape.foundations.arrays import to_numpy
from landscape.foundations.errors import LandscapeError
from landscape.paths import geometry
from landscape.store.layout import evaluation_group

from .params import load_parameters
from .potential import NetworkPotential

__all__ = [
    "Barriers",
    "PointMetrics",
    "PathEvaluation",
    "barriers",
    "recalibrated_buffers",
    "recalibrate_module",
    "point_buffers",
    "outputs_at",
    "evaluate_points",
    "evaluate_splits",
    "evaluate_path",
    "module_metrics",
    "plot_profile",
    "save_evaluation",
    "load_evaluation",
]

_METRICS = ("train_loss", "train_error", "test_loss", "test_error")

#: A caller's hook between batches (see the module docstring).
OnBatch = Callable[[], None] | None


class _Hook:
    """The caller's `on_batch`, remembering whether it raised: its exception passes
    through the vmap-to-loop fallback, which is there for vmap's own failures only."""

    def __init__(self, on_batch: OnBatch):
        self.on_batch, self.raised = on_batch, False

    def __call__(self) -> None:
        if self.on_batch is None:
            return
        try:
            self.on_batch()
        except BaseException:
            self.raised = True
            raise


_T = TypeVar("_T")


def _vmap_or_loop(
    potential: NetworkPotential, batched: str | None, hook: _Hook, vmapped: Callable[[], _T], looped: Callable[[], _T]
) -> _T:
    """`vmapped()`, or `looped()` when `batched` (else the potential) says "loop" or, in
    the automatic mode, when vmap cannot run the module; the hook's exception passes."""
    how = batched or ("loop" if potential.batched == "loop" else "auto")
    if how != "loop":
        try:
            return vmapped()
        except Exception:  # noqa: BLE001 - vmap cannot run every module; the loop can
            if how == "vmap" or hook.raised:
                raise
    return looped()


# barriers ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Barriers:
    """The three barrier definitions in use, for one metric along one path."""

    max_minus_mean_ends: float
    max_gap_to_line: float
    saddle_minus_higher_end: float
    saddle: float
    saddle_t: float


def barriers(t: Any, values: Any) -> Barriers:
    """Barriers of a profile `values` at arc fractions `t` (ends at t = 0 and 1)."""
    t, v = np.asarray(t, dtype=float), np.asarray(values, dtype=float)
    order = np.argsort(t, kind="stable")
    t, v = t[order], v[order]
    start, end = v[0], v[-1]
    k = int(np.argmax(v))
    line = start + (t - t[0]) / max(t[-1] - t[0], 1e-300) * (end - start)
    return Barriers(
        max_minus_mean_ends=float(v[k] - 0.5 * (start + end)),
        max_gap_to_line=float(np.max(v - line)),
        saddle_minus_higher_end=float(v[k] - max(start, end)),
        saddle=float(v[k]),
        saddle_t=float(t[k]),
    )


# BatchNorm recalibration --------------------------------------------------------------------
def _bn_layers(module: nn.Module) -> list[tuple[str, nn.Module]]:
    return [
        (n, m)
        for n, m in module.named_modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats
    ]


#: The BatchNorm buffers recomputed per point (eval mode reads only these two).
_STATS = ("running_mean", "running_var")
_TWINS: weakref.WeakKeyDictionary[NetworkPotential, dict[str, nn.Module]] = weakref.WeakKeyDictionary()


def _twin(potential: NetworkPotential, mode: str) -> nn.Module:
    """An eval-mode ("eval") or calibration ("calib", train-mode) copy of the module."""
    twins = _TWINS.setdefault(potential, {})
    if mode not in twins:
        twin = copy.deepcopy(potential.module)
        for p in twin.parameters():
            p.requires_grad_(False)
        twins[mode] = twin.train() if mode == "calib" else twin.eval()
    return twins[mode]


def _fresh_stats(layers: Sequence[tuple[str, nn.Module]], n: int, like: torch.Tensor) -> dict[str, torch.Tensor]:
    out = {}
    for name, m in layers:
        prefix = f"{name}." if name else ""
        shape = (n,) + tuple(m.running_mean.shape)
        out[prefix + "running_mean"] = torch.zeros(shape, dtype=m.running_mean.dtype, device=like.device)
        out[prefix + "running_var"] = torch.ones(shape, dtype=m.running_var.dtype, device=like.device)
    return out


def recalibrated_buffers(
    potential: NetworkPotential, points: Any, *, on_batch: OnBatch = None
) -> dict[str, torch.Tensor]:
    """BatchNorm running statistics (n, C) per point, from the calibration set.

    Reset, then the cumulative average of the batch statistics over the calibration
    batches (momentum 1/k for batch k, as `update_bn`'s momentum=None does), all
    points at once under vmap: each point's buffers are updated in place.
    """
    x = potential._points(points)
    twin = _twin(potential, "calib")
    layers = _bn_layers(twin)
    if not layers:
        return {}
    stats = _fresh_stats(layers, int(x.shape[0]), x)

    def run(flat: torch.Tensor, bufs: dict[str, torch.Tensor], inputs: torch.Tensor) -> torch.Tensor:
        return functional_call(twin, {**potential.spec.unflatten(flat), **bufs}, (inputs,))

    fn = vmap(run, in_dims=(0, 0, None), randomness="same")
    step = potential.chunk or int(x.shape[0])
    with torch.no_grad():
        for k, inputs in enumerate(potential.calibration_inputs(), start=1):
            if on_batch is not None:
                on_batch()
            for _, m in layers:
                m.momentum = 1.0 / k
            for i in range(0, int(x.shape[0]), step):
                fn(x[i : i + step], {key: v[i : i + step] for key, v in stats.items()}, inputs)
            potential.count("forward", x.shape[0], inputs.shape[0])
    return stats


def recalibrate_module(potential: NetworkPotential, module: nn.Module, inputs: Sequence[torch.Tensor]) -> None:
    """The loop variant for one module already holding a point's parameters."""
    layers = _bn_layers(module)
    for _, m in layers:
        m.reset_running_stats()
    module.train()
    with torch.no_grad():
        for k, batch in enumerate(inputs, start=1):
            for _, m in layers:
                m.momentum = 1.0 / k
            module(batch)
            potential.count("forward", 1, batch.shape[0])
    module.eval()


# per-point metrics ------------------------------------------------------------------------------
@dataclass(frozen=True)
class PointMetrics:
    """Data loss and error (n,) of n points on one data set, plus the L2 penalty."""

    loss: np.ndarray
    error: np.ndarray
    l2: np.ndarray


def _source(potential: NetworkPotential, data: Any) -> Any:
    if data == "train":
        return potential.train_data
    if data == "test":
        if potential.test_data is None:
            raise LandscapeError("this network potential has no test data")
        return potential.test_data
    if isinstance(data, str):
        raise LandscapeError(f"unknown data split {data!r}; use 'train' or 'test'")
    from .data import as_data

    return as_data(data, potential.device, potential.dtype)


def _batches(source: Any, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    n = len(source)
    for i in range(0, n, batch_size):
        idx = torch.arange(i, min(i + batch_size, n), device=source.index_device)
        yield source.get(idx)


def _vmap_eval(
    potential: NetworkPotential,
    x: torch.Tensor,
    source: Any,
    batch_size: int,
    bufs: dict[str, torch.Tensor] | None,
    on_batch: _Hook,
) -> tuple[torch.Tensor, torch.Tensor]:
    twin = _twin(potential, "eval")
    if bufs is None:
        bufs = recalibrated_buffers(potential, x, on_batch=on_batch) if potential.batchnorm else {}

    def run(
        flat: torch.Tensor, b: dict[str, torch.Tensor], inputs: torch.Tensor, targets: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        out = functional_call(twin, {**potential.spec.unflatten(flat), **b}, (inputs,))
        return potential.loss(out, targets), potential.error(out, targets)

    fn = vmap(run, in_dims=(0, 0, None, None), chunk_size=potential.chunk, randomness="same")
    loss = torch.zeros(x.shape[0], dtype=torch.float64, device=x.device)
    err = torch.zeros_like(loss)
    for inputs, targets in _batches(source, batch_size):
        on_batch()
        l, e = fn(x, bufs, inputs, targets)
        loss += l.double() * inputs.shape[0]
        err += e.double() * inputs.shape[0]
        potential.count("forward", x.shape[0], inputs.shape[0])
    return loss / len(source), err / len(source)


def _loop_buffers(potential: NetworkPotential, x: torch.Tensor, on_batch: OnBatch = None) -> dict[str, torch.Tensor]:
    """`recalibrated_buffers` point by point (`recalibrate_module`): the same (n, C) statistics."""
    module = copy.deepcopy(potential.module)
    layers = _bn_layers(module)
    if not layers or not x.shape[0]:
        return {}  # as `recalibrated_buffers`: nothing to recompute, nothing run
    calib = potential.calibration_inputs()
    rows: list[dict[str, torch.Tensor]] = []
    for row in x.unbind(0):
        if on_batch is not None:
            on_batch()
        load_parameters(module, row, potential.spec)
        recalibrate_module(potential, module, calib)
        rows.append({f"{n}.{k}" if n else k: getattr(m, k).clone() for n, m in layers for k in _STATS})
    return {key: torch.stack([r[key] for r in rows]) for key in rows[0]}


def point_buffers(
    potential: NetworkPotential, points: Any, batched: str | None = None, *, on_batch: OnBatch = None
) -> dict[str, torch.Tensor]:
    """BatchNorm statistics (n, C) of every point, computed once to serve every data set.

    batched as for `evaluate_points`: under vmap (`recalibrated_buffers`) unless the
    potential loops or vmap cannot run the module, else point by point; the
    calibration's forward samples are counted once either way.  Empty without BatchNorm.
    `on_batch`: the module docstring's hook.
    """
    if not potential.batchnorm:
        return {}
    x = potential._points(points)
    hook = _Hook(on_batch)
    with torch.inference_mode():
        return _vmap_or_loop(
            potential,
            batched,
            hook,
            lambda: recalibrated_buffers(potential, x, on_batch=hook),
            lambda: _loop_buffers(potential, x, hook),
        )


def _loop_eval(
    potential: NetworkPotential,
    x: torch.Tensor,
    source: Any,
    batch_size: int,
    bufs: dict[str, torch.Tensor] | None,
    on_batch: _Hook,
) -> tuple[torch.Tensor, torch.Tensor]:
    module = copy.deepcopy(potential.module).eval()
    if bufs is None:
        bufs = _loop_buffers(potential, x, on_batch) if potential.batchnorm else {}
    held = dict(module.named_buffers())
    loss = torch.zeros(x.shape[0], dtype=torch.float64, device=x.device)
    err = torch.zeros_like(loss)
    for i, row in enumerate(x.unbind(0)):
        on_batch()
        load_parameters(module, row, potential.spec)
        for key, value in bufs.items():  # this point's recalibrated statistics
            held[key].copy_(value[i])
        m = module_metrics(module, source, potential.loss, potential.error, batch_size)
        potential.count("forward", 1, len(source))
        loss[i], err[i] = m["loss"], m["error"]
    return loss, err


def evaluate_points(
    potential: NetworkPotential,
    points: Any,
    data: Any = "train",
    *,
    batch_size: int = 1024,
    batched: str | None = None,
    buffers: dict[str, torch.Tensor] | None = None,
    on_batch: OnBatch = None,
) -> PointMetrics:
    """Loss and error of every point on a whole data set ("train", "test" or data).

    batched: "vmap", "loop", or None to follow the potential (vmap unless it was told
    to loop; a vmap failure falls back to the loop).  `buffers`: BatchNorm statistics
    of the points from `point_buffers`, to reuse them across data sets (`evaluate_splits`).
    `on_batch`: the module docstring's hook.
    """
    x = potential._points(points)
    source = _source(potential, data)
    hook = _Hook(on_batch)
    with torch.inference_mode():
        loss, err = _vmap_or_loop(
            potential,
            batched,
            hook,
            lambda: _vmap_eval(potential, x, source, batch_size, buffers, hook),
            lambda: _loop_eval(potential, x, source, batch_size, buffers, hook),
        )
        l2 = 0.5 * potential.l2 * (x.double() ** 2).sum(-1)
    return PointMetrics(to_numpy(loss), to_numpy(err), to_numpy(l2))


def evaluate_splits(
    potential: NetworkPotential,
    points: Any,
    splits: Sequence[str] = ("train", "test"),
    *,
    batch_size: int = 1024,
    batched: str | None = None,
    on_batch: OnBatch = None,
) -> dict[str, PointMetrics]:
    """`evaluate_points` on each data set, the BatchNorm statistics of every point
    recomputed once for all of them (`point_buffers`), in vmap and loop mode alike.
    "test" is left out when the potential has no test data.  `on_batch`: the module
    docstring's hook."""
    splits = [sp for sp in splits if sp != "test" or potential.test_data is not None]
    buffers = point_buffers(potential, points, batched, on_batch=on_batch)
    return {
        sp: evaluate_points(
            potential, points, sp, batch_size=batch_size, batched=batched, buffers=buffers, on_batch=on_batch
        )
        for sp in splits
    }


def outputs_at(potential: NetworkPotential, points: Any, inputs: torch.Tensor) -> torch.Tensor:
    """Inference outputs (n, batch, ...) of the network at each point (BN recalibrated)."""
    x = potential._points(points)
    twin = _twin(potential, "eval")
    with torch.inference_mode():
        bufs = recalibrated_buffers(potential, x) if potential.batchnorm else {}
        fn = vmap(
            lambda flat, b, i: functional_call(twin, {**potential.spec.unflatten(flat), **b}, (i,)),
            in_dims=(0, 0, None),
            chunk_size=potential.chunk,
        )
        out = fn(x, bufs, inputs.to(potential.device))
    potential.count("forward", x.shape[0], inputs.shape[0])
    return out


def module_metrics(
    module: nn.Module,
    data: Any,
    loss: Callable[..., torch.Tensor],
    error: Callable[..., torch.Tensor],
    batch_size: int = 1024,
) -> dict[str, float]:
    """Loss and error of a module as it is (its own mode and statistics) on a data source.

    The sums stay on the device in float64 (the values the host sums had) and are read
    once at the end: no host synchronisation per batch.
    """
    totals = None
    with torch.inference_mode():
        for inputs, targets in _batches(data, batch_size):
            out = module(inputs)
            pair = torch.stack([loss(out, targets).to(torch.float64), error(out, targets).to(torch.float64)])
            totals = pair * inputs.shape[0] if totals is None else totals + pair * inputs.shape[0]
    total_l, total_e = totals.tolist()  # type: ignore[union-attr]
    return {"loss": total_l / len(data), "error": total_e / len(data)}


# along a path ------------------------------------------------------------------------------
@dataclass(frozen=True)
class PathEvaluation:
    """Metrics at the pivots and dense points of a path, sorted by arc fraction `t`."""

    t: np.ndarray
    is_pivot: np.ndarray
    metrics: dict[str, np.ndarray]
    l2: np.ndarray
    bn_mode: str
    per_segment: int
    barriers: dict[str, Barriers] = field(default_factory=dict)

    def __getitem__(self, key: str) -> np.ndarray:
        return self.metrics[key]

    def at_pivots(self, key: str) -> np.ndarray:
        return self.metrics[key][self.is_pivot]

    def summary(self) -> dict[str, Any]:
        """JSON-able: values at the ends, maxima and the three barriers per metric."""
        out: dict[str, Any] = {"bn_mode": self.bn_mode, "points": int(self.t.size)}
        for key, v in self.metrics.items():
            out[key] = {
                "start": float(v[0]),
                "end": float(v[-1]),
                "max": float(v.max()),
                "barriers": asdict(self.barriers[key]),
            }
        return out

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"t": self.t, "is_pivot": self.is_pivot, "l2": self.l2, **self.metrics}


def _path_pivots(path: Any) -> Any:
    if hasattr(path, "pivots"):
        return path.pivots
    if hasattr(path, "path"):  # a Result
        return path.path.pivots
    return path


def evaluate_path(
    potential: NetworkPotential,
    path: Any,
    per_segment: int = 9,
    *,
    splits: Sequence[str] = ("train", "test"),
    batch_size: int = 1024,
    repair: bool = False,
    on_batch: OnBatch = None,
) -> PathEvaluation:
    """Train/test loss and error at the pivots and `per_segment` points per segment.

    `path` is a `Path`, a `Result` or pivots (N+2, dim).  All points are evaluated in
    one batched pass per split, their BatchNorm statistics computed once for all
    splits.  With `repair`, each point is first REPAIRed towards the ends' channel
    statistics at its arc fraction (`repair.repair_points`).  `on_batch`: the module
    docstring's hook (a guard that stops the evaluation in the middle).
    """
    pivots = potential._points(_path_pivots(path))
    if pivots.shape[0] < 2:
        raise LandscapeError("a path needs at least two pivots")
    s = to_numpy(geometry.arc_fractions(pivots)).astype(float)
    points, t, is_pivot = pivots, s, np.ones(s.size, dtype=bool)
    if per_segment > 0:
        dense = geometry.dense_points(pivots, per_segment)
        w = np.arange(1, per_segment + 1) / (per_segment + 1)
        t_dense = (s[:-1, None] + w[None, :] * np.diff(s)[:, None]).ravel()
        points = torch.cat([pivots, dense])
        t = np.concatenate([s, t_dense])
        is_pivot = np.concatenate([is_pivot, np.zeros(t_dense.size, dtype=bool)])
    if repair:
        from .repair import repair_points

        points = repair_points(potential, pivots[0], pivots[-1], t, points=points)
    order = np.argsort(t, kind="stable")
    metrics: dict[str, np.ndarray] = {}
    l2 = np.zeros(t.size)
    for split, m in evaluate_splits(potential, points, splits, batch_size=batch_size, on_batch=on_batch).items():
        metrics[f"{split}_loss"], metrics[f"{split}_error"], l2 = m.loss[order], m.error[order], m.l2[order]
    t = t[order]
    mode = potential.bn_mode + ("; points REPAIRed towards the ends' channel statistics" if repair else "")
    return PathEvaluation(
        t, is_pivot[order], metrics, l2, mode, per_segment, {k: barriers(t, v) for k, v in metrics.items()}
    )


# pictures and storage ------------------------------------------------------------------------
def plot_profile(evaluation: PathEvaluation, file: str | None = None, title: str | None = None) -> Any:
    """Loss (left) and error (right) along the path, train and test; pivots marked.

    Returns the matplotlib Figure; with `file` it is also saved there (PNG, PDF, ...).
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.4), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, kind in zip(axes, ("loss", "error")):
        for split, color in (("train", "tab:orange"), ("test", "tab:blue")):
            key = f"{split}_{kind}"
            if key not in evaluation.metrics:
                continue
            v = evaluation.metrics[key] * (100 if kind == "error" else 1)
            ax.plot(evaluation.t, v, color=color, label=split)
            ax.plot(evaluation.t[evaluation.is_pivot], v[evaluation.is_pivot], "o", color=color, ms=3)
        ax.set_xlabel("arc-length fraction along the path")
        ax.set_ylabel("error [%]" if kind == "error" else "loss (data, no L2)")
        ax.legend(frameon=False)
    if title:
        fig.suptitle(title)
    if file:
        fig.savefig(file, dpi=120)
    return fig


def save_evaluation(
    store: Any, name: str, evaluation: PathEvaluation, *, kind: str = "path", digest: str | None = None
) -> None:
    """Write an evaluation to its group (`landscape.store.layout.evaluation_group`: for a
    stored path `name`, /evaluation-<name>), with the `digest` of the points it belongs to
    when given (`layout.evaluation_digest`; Table 1 redoes one whose digest differs)."""
    attrs = {
        "bn_mode": evaluation.bn_mode,
        "per_segment": evaluation.per_segment,
        "summary": json.dumps(evaluation.summary()),
    }
    if digest is not None:
        attrs["digest"] = digest
    store.write_array_group(evaluation_group(name, kind), evaluation.to_arrays(), attrs)


def load_evaluation(store: Any, name: str, *, kind: str = "path") -> PathEvaluation:
    """Read back what `save_evaluation` wrote (barriers recomputed from the profiles)."""
    arrays, attrs = store.read_array_group(evaluation_group(name, kind))
    t = np.asarray(arrays.pop("t"), dtype=float)
    is_pivot = np.asarray(arrays.pop("is_pivot"), dtype=bool)
    l2 = np.asarray(arrays.pop("l2"), dtype=float)
    metrics = {k: np.asarray(v, dtype=float) for k, v in arrays.items()}
    return PathEvaluation(
        t,
        is_pivot,
        metrics,
        l2,
        str(attrs.get("bn_mode", "")),
        int(attrs.get("per_segment", 0)),
        {k: barriers(t, v) for k, v in metrics.items()},
    )
