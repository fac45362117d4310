"""The paper's Table 1 and Figures 5-7 for an explored store of network minima.

Definitions (Draxler et al. 2018, section 4 and Table 1):

- Every stored path between two minima is evaluated on the full training and test
  sets (`evaluate_path`: pivots and `per_segment` points per segment, BatchNorm
  statistics recomputed per point); the minima are evaluated the same way.
- The paths are reduced to the minimum spanning tree (MST) with each path's highest
  *training loss* as its weight ("we reduce the saddle points to the minimum spanning
  tree with the corresponding training loss as weight").
- "Min." is the mean over the minima; "Sadd." the mean over the MST's paths of the
  maximum of each metric along the path (each metric's own maximum); "factor" is
  Sadd./Min. of the training loss; Delta the rise of the test error.
- "Epoch": the first epoch (1-based) at which a minimum's learning curve (training
  loss, measured after each epoch) falls below the mean saddle training loss, as in
  Figure 7; per minimum also against its own join level (its lowest MST saddle).
- Beside it, the straight line between the same MST pairs, evaluated the same way:
  its maxima and barriers, the baseline that AutoNEB's paths are compared with.  When
  the potential declares its channel-permutation symmetry (`-o align=true`), also the
  straight line to the second minimum's weight-matched image (`landscape.potentials.symmetry`):
  how much of the plain line's barrier is the relabelling of channels.
- "Samples per path": the mean over the stored paths of the data samples each run
  evaluated (`Result.samples`: sample-gradients and forward-only sample-evaluations),
  the device-independent cost of the row; absent for paths stored before the counters.

Evaluations are stored (groups `evaluation-<path>`, `evaluation-line-<a>-<b>` and
`minima_metrics`, named in `landscape.store.layout`, each with a digest of the points it
belongs to, written by `torchnet.evaluate.save_evaluation`) and reused; missing
or stale ones are computed when a potential is given (one commit each, under the
store's writer lock), so an interrupted report loses at most one evaluation.  A
caller's `on_batch` hook (`torchnet.evaluate`), run between the batches of every
evaluation, may stop one in the middle by raising: that evaluation is then not stored
at all, and the next report computes it whole.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from landscape.analysis.graphs import minimum_spanning_edges
from landscape.foundations.arrays import to_numpy
from landscape.foundations.errors import LandscapeError
from landscape.foundations.files import store_path
from landscape.foundations.lock import WriterLock
from landscape.paths.result import Status
from landscape.store import Store
from landscape.store.layout import CURVES_GROUP, MINIMA_METRICS_GROUP, evaluation_digest, evaluation_group

__all__ = [
    "METRICS",
    "PathMetrics",
    "Table1",
    "table1",
    "ensure_evaluations",
    "evaluation_digest",
    "plot_cycles",
    "plot_minima_vs_saddles",
    "plot_learning_curves",
    "write_figures",
]

METRICS = ("train_loss", "train_error", "test_loss", "test_error")
CSV_COLUMNS = (
    "architecture",
    "dataset",
    "minima",
    "paths",
    "mst_edges",
    "train_loss_min",
    "train_loss_sadd",
    "factor",
    "epoch",
    "epochs_trained",
    "test_loss_min",
    "test_loss_sadd",
    "test_error_min_pct",
    "test_error_sadd_pct",
    "test_error_delta_pct",
    "minima_never_crossing",
    "line_train_loss",
    "line_factor",
    "line_test_loss",
    "line_test_error_pct",
    "autoneb_train_barrier",
    "line_train_barrier",
    "paths_max_inside",
    "autoneb_saddle_minus_higher_end",
    "line_saddle_minus_higher_end",
    "aligned_line_train_loss",
    "aligned_line_factor",
    "aligned_line_train_barrier",
    "samples_gradient_per_path",
    "samples_forward_per_path",
)


# --------------------------------------------------------------------------- evaluations


def _read_eval(store: Store, group: str) -> tuple[dict[str, np.ndarray], str | None] | None:
    try:
        arrays, attrs = store.read_array_group(group)
    except LandscapeError:
        return None
    return arrays, attrs.get("digest")


@dataclass(frozen=True)
class _Job:
    """One evaluation the table needs: a stored path, a straight line, or the minima."""

    kind: str  # "path", "line", "aligned" (the line to the matched image) or "minima"
    name: str
    points: np.ndarray  # pivots (path, line) or minima coordinates

    @property
    def group(self) -> str:
        return MINIMA_METRICS_GROUP if self.kind == "minima" else evaluation_group(self.name, self.kind)

    def points_per_segment(self, per_segment: int, line_points: int) -> int | None:
        return {"path": per_segment, "line": line_points, "aligned": line_points}.get(self.kind)

    def digest(self, per_segment: int, line_points: int) -> str:
        return evaluation_digest(self.points, self.points_per_segment(per_segment, line_points))


def _run_job(
    potential: Any, job: _Job, per_segment: int, line_points: int, batch_size: int, on_batch: Any = None
) -> tuple[Any, str]:
    """Evaluate one job; returns (arrays-or-evaluation, digest)."""
    from landscape_plugins.torchnet.evaluate import evaluate_path, evaluate_splits

    digest = job.digest(per_segment, line_points)
    if job.kind == "aligned":  # the plain ends identify it; the end moves onto its matched image here
        from landscape.potentials.symmetry import align

        job = _Job("aligned", job.name, np.stack([job.points[0], align(potential, job.points[0], job.points[1])]))
    if job.kind == "minima":
        arrays: dict[str, np.ndarray] = {}
        evaluated = evaluate_splits(potential, job.points, batch_size=batch_size, on_batch=on_batch)  # BN stats once
        for split, m in evaluated.items():
            arrays[f"{split}_loss"], arrays[f"{split}_error"] = m.loss, m.error
        return arrays, digest
    k = job.points_per_segment(per_segment, line_points)
    return evaluate_path(potential, job.points, k, batch_size=batch_size, on_batch=on_batch), digest


def _missing(filename: str, jobs: Sequence[_Job], per_segment: int, line_points: int) -> list[_Job]:
    """The jobs whose stored evaluation is absent or belongs to other points or settings."""
    out = []
    with Store.open(filename) as store:
        for job in jobs:
            have = _read_eval(store, job.group)
            if have is None or have[1] != job.digest(per_segment, line_points):
                out.append(job)
    return out


def ensure_evaluations(
    filename: str,
    potential: Any,
    jobs: Sequence[_Job],
    *,
    per_segment: int = 9,
    line_points: int = 19,
    batch_size: int = 1024,
    progress: Any = None,
    on_batch: Any = None,
) -> int:
    """Compute and store the evaluations among `jobs` that are missing or stale;
    returns how many were computed.  Each is committed on its own, under the store's
    writer lock (not taken when nothing is missing, so reading never waits for a
    writer).  `potential` may be a zero-argument factory, called only when needed.
    `on_batch` runs between the batches of each evaluation; what it raises stops the
    evaluation before anything of it is written."""
    todo = _missing(filename, jobs, per_segment, line_points)
    if not todo:
        return 0
    if potential is None:
        job = todo[0]
        raise LandscapeError(
            f"{filename} lacks the evaluation of {job.kind} {job.name!r}; run without --no-evaluate to compute it"
        )
    from landscape_plugins.torchnet.evaluate import save_evaluation

    with WriterLock(filename):
        pot = potential() if callable(potential) and not hasattr(potential, "dim") else potential
        for job in _missing(filename, todo, per_segment, line_points):  # another writer may have done some
            if progress is not None:
                progress(f"evaluating {job.kind} {job.name}")
            value, digest = _run_job(pot, job, per_segment, line_points, batch_size, on_batch)
            with Store.write(filename) as store:
                if job.kind == "minima":
                    store.write_array_group(MINIMA_METRICS_GROUP, value, {"digest": digest, "bn_mode": pot.bn_mode})
                else:
                    save_evaluation(store, job.name, value, kind=job.kind, digest=digest)
    return len(todo)


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class PathMetrics:
    """One evaluated path: its minima, the maximum of each metric along it, the three
    barriers of its training loss, and the same for the straight line (MST pairs)."""

    name: str
    i: int
    j: int
    maxima: Mapping[str, float]
    barriers: Mapping[str, float]
    in_mst: bool
    pivots: int
    cycles: int
    line_maxima: Mapping[str, float] | None = None
    line_barriers: Mapping[str, float] | None = None
    interior_max_train_loss: float = float("nan")  # highest training loss away from the two minima
    end_train_losses: tuple[float, float] = (float("nan"), float("nan"))  # at t = 0 and t = 1
    aligned_maxima: Mapping[str, float] | None = None  # the straight line to the matched image
    aligned_barriers: Mapping[str, float] | None = None
    samples: Mapping[str, int] | None = None  # what the run evaluated (None: not counted)

    @property
    def max_inside(self) -> bool:
        """The path's highest training loss lies strictly between its ends."""
        return 0.0 < self.barriers["saddle_t"] < 1.0

    @property
    def factor(self) -> float:
        """Highest training loss on the path over the mean of its ends (Sadd./Min.)."""
        mean_ends = 0.5 * sum(self.end_train_losses)
        return self.maxima["train_loss"] / mean_ends if mean_ends > 0 else float("nan")


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


def _crossing(curve: np.ndarray | None, level: float) -> int | None:
    """First epoch (1-based) whose training loss is at or below `level`."""
    if curve is None or not math.isfinite(level):
        return None
    below = np.flatnonzero(np.asarray(curve) <= level)
    return int(below[0]) + 1 if below.size else None


@dataclass(frozen=True)
class Table1:
    """The paper's Table 1 for one store (see the module docstring)."""

    store: str
    architecture: str
    dataset: str
    names: tuple[str, ...]
    minima: Mapping[str, np.ndarray]  # metric -> (m,) values at the minima
    paths: tuple[PathMetrics, ...]
    connected: bool
    curves: Mapping[str, np.ndarray] = field(default_factory=dict)  # name -> training-loss curve

    @property
    def mst(self) -> tuple[PathMetrics, ...]:
        return tuple(p for p in self.paths if p.in_mst)

    def saddle(self, metric: str) -> float:
        """Mean over the MST's paths of the metric's maximum along each path."""
        return _mean([p.maxima[metric] for p in self.mst])

    def line(self, metric: str) -> float:
        """The same mean for the straight lines between the MST's pairs."""
        return _mean([p.line_maxima[metric] for p in self.mst if p.line_maxima])

    def aligned_line(self, metric: str) -> float:
        """The same mean for the straight lines to the matched images (NaN without a symmetry)."""
        return _mean([p.aligned_maxima[metric] for p in self.mst if p.aligned_maxima])

    def minimum(self, metric: str) -> float:
        return _mean(list(self.minima[metric]))

    def epochs(self) -> dict[str, int | None]:
        """Per minimum: the epoch its training loss first falls below the mean saddle loss."""
        level = self.saddle("train_loss")
        return {n: _crossing(self.curves.get(n), level) for n in self.names}

    def own_epochs(self) -> dict[str, int | None]:
        """Per minimum: the epoch it first falls below its own lowest MST saddle."""
        out = {}
        for k, n in enumerate(self.names):
            joins = [p.maxima["train_loss"] for p in self.mst if k in (p.i, p.j)]
            out[n] = _crossing(self.curves.get(n), min(joins)) if joins else None
        return out

    @property
    def epochs_trained(self) -> int | None:
        lengths = {len(c) for c in self.curves.values()}
        return lengths.pop() if len(lengths) == 1 else None

    def row(self) -> dict[str, Any]:
        """The table row (errors in percent), straight-line columns and barriers included."""
        epochs = self.epochs()
        crossings = [e for e in epochs.values() if e is not None]
        train_min, train_sadd = self.minimum("train_loss"), self.saddle("train_loss")
        mst = self.mst
        return {
            "architecture": self.architecture,
            "dataset": self.dataset,
            "minima": len(self.names),
            "paths": len(self.paths),
            "mst_edges": len(mst),
            "train_loss_min": train_min,
            "train_loss_sadd": train_sadd,
            "factor": train_sadd / train_min if train_min > 0 else float("nan"),
            "epoch": _mean(crossings) if crossings else None,
            "epochs_trained": self.epochs_trained,
            # minima with a learning curve that never falls below the mean saddle loss
            "minima_never_crossing": sum(1 for n, e in epochs.items() if e is None and n in self.curves),
            "test_loss_min": self.minimum("test_loss"),
            "test_loss_sadd": self.saddle("test_loss"),
            "test_error_min_pct": 100 * self.minimum("test_error"),
            "test_error_sadd_pct": 100 * self.saddle("test_error"),
            "test_error_delta_pct": 100 * (self.saddle("test_error") - self.minimum("test_error")),
            "line_train_loss": self.line("train_loss"),
            "line_test_loss": self.line("test_loss"),
            "line_factor": self.line("train_loss") / train_min if train_min > 0 else float("nan"),
            "line_test_error_pct": 100 * self.line("test_error"),
            "autoneb_train_barrier": _mean([p.barriers["max_minus_mean_ends"] for p in mst]),
            "line_train_barrier": _mean([p.line_barriers["max_minus_mean_ends"] for p in mst if p.line_barriers]),
            # A maximum at t = 0 or 1 is the spread between the ends, not a bump on the path.
            "paths_max_inside": sum(1 for p in mst if p.max_inside),
            "autoneb_saddle_minus_higher_end": _mean([p.barriers["saddle_minus_higher_end"] for p in mst]),
            "line_saddle_minus_higher_end": _mean(
                [p.line_barriers["saddle_minus_higher_end"] for p in mst if p.line_barriers]
            ),
            "aligned_line_train_loss": self.aligned_line("train_loss"),
            "aligned_line_factor": self.aligned_line("train_loss") / train_min if train_min > 0 else float("nan"),
            "aligned_line_train_barrier": _mean(
                [p.aligned_barriers["max_minus_mean_ends"] for p in mst if p.aligned_barriers]
            ),
            **{f"samples_{kind}_per_path": self.samples_per_path(kind) for kind in ("gradient", "forward")},
        }

    def samples_per_path(self, kind: str) -> float | None:
        """Mean samples of `kind` ("gradient", "forward") over the paths that counted them."""
        counted = [p.samples[kind] for p in self.paths if p.samples is not None]
        return _mean(counted) if counted else None

    def to_json(self) -> dict[str, Any]:
        """JSON-able: the row, per minimum and per path details (NaN as null)."""
        per_min = [
            {
                "name": n,
                **{k: float(self.minima[k][i]) for k in METRICS},
                "epoch_below_mean_saddle": self.epochs()[n],
                "epoch_below_own_saddle": self.own_epochs()[n],
            }
            for i, n in enumerate(self.names)
        ]
        per_path = [
            {
                "name": p.name,
                "a": self.names[p.i],
                "b": self.names[p.j],
                "in_mst": p.in_mst,
                "pivots": p.pivots,
                "cycles": p.cycles,
                "maxima": dict(p.maxima),
                "train_loss_barriers": dict(p.barriers),
                "interior_max_train_loss": p.interior_max_train_loss,
                "max_inside": p.max_inside,
                "end_train_losses": list(p.end_train_losses),
                "factor": p.factor,
                "samples": None if p.samples is None else dict(p.samples),
                "line_maxima": None if p.line_maxima is None else dict(p.line_maxima),
                "line_train_loss_barriers": None if p.line_barriers is None else dict(p.line_barriers),
                "aligned_line_maxima": None if p.aligned_maxima is None else dict(p.aligned_maxima),
                "aligned_line_train_loss_barriers": None if p.aligned_barriers is None else dict(p.aligned_barriers),
            }
            for p in self.paths
        ]
        out = {
            "store": self.store,
            "row": self.row(),
            "connected": self.connected,
            "minima": per_min,
            "paths": per_path,
        }
        return json.loads(json.dumps(out, default=float), parse_constant=lambda _: None)

    def to_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerow({k: _csv_value(v) for k, v in self.row().items()})
        return buf.getvalue()

    def to_text(self) -> str:
        r = self.row()
        epoch = "-" if r["epoch"] is None else f"{r['epoch']:.0f}"
        if r["epoch"] is not None and r["epochs_trained"]:
            epoch += f" of {r['epochs_trained']}"
        if r["minima_never_crossing"]:
            epoch += f" ({r['minima_never_crossing']} never)"
        lines = [
            f"Table 1 for {self.store}: {r['architecture']} on {r['dataset']}, {r['minima']} minima, "
            f"{r['paths']} paths, {r['mst_edges']} in the MST" + ("" if self.connected else " (NOT all connected)"),
            f"{'':<14}{'Min.':>10}{'Sadd.':>10}{'factor':>8}{'epoch':>12}{'line':>10}",
            f"{'train loss':<14}{_f(r['train_loss_min'])}{_f(r['train_loss_sadd'])}{_f(r['factor'], 8, 2)}"
            f"{epoch:>12}{_f(r['line_train_loss'])}",
            f"{'test loss':<14}{_f(r['test_loss_min'])}{_f(r['test_loss_sadd'])}{'':>20}{_f(r['line_test_loss'])}",
            f"{'test error %':<14}{_f(r['test_error_min_pct'], 10, 2)}{_f(r['test_error_sadd_pct'], 10, 2)}"
            f"{'Δ ' + format(r['test_error_delta_pct'], '.2f'):>20}{_f(r['line_test_error_pct'], 10, 2)}",
            f"train-loss barriers, mean over the MST (paths / straight line): max minus mean of ends "
            f"{r['autoneb_train_barrier']:.4g} / {r['line_train_barrier']:.4g}; saddle minus higher end "
            f"{r['autoneb_saddle_minus_higher_end']:.4g} / {r['line_saddle_minus_higher_end']:.4g}",
            f"MST paths whose maximum lies strictly inside: {r['paths_max_inside']} of {r['mst_edges']}",
        ]
        if r["samples_gradient_per_path"] is not None:
            lines.insert(
                -1,
                f"samples per path (mean): {r['samples_gradient_per_path']:,.0f} sample-gradients, "
                f"{r['samples_forward_per_path']:,.0f} sample-evaluations",
            )
        if math.isfinite(r["aligned_line_train_loss"]):
            lines.insert(
                -1,
                f"straight line to the weight-matched image: train loss {r['aligned_line_train_loss']:.4g} "
                f"({r['aligned_line_factor']:.3g}x Min.), barrier {r['aligned_line_train_barrier']:.4g}",
            )
        for p in self.paths:
            line = f"; straight line {p.line_maxima['train_loss']:.4g}" if p.line_maxima else ""
            where = (
                f"at t={p.barriers['saddle_t']:.2f}"
                if p.max_inside
                else f"at an end (t={p.barriers['saddle_t']:.0f}: the spread between the ends, no barrier)"
            )
            lines.append(
                f"  path {p.name}: max train loss {p.maxima['train_loss']:.4g} {where}, ends "
                f"{p.end_train_losses[0]:.4g} / {p.end_train_losses[1]:.4g}, Sadd./Min. {p.factor:.3g}, "
                f"saddle minus higher end {p.barriers['saddle_minus_higher_end']:.4g}, interior max "
                f"{p.interior_max_train_loss:.4g}{line}; max test error "
                f"{100 * p.maxima['test_error']:.2f}%; {p.pivots} pivots"
                + ("; in MST" if p.in_mst else "")
                + (f"; {p.samples['gradient']:,} sample-gradients" if p.samples else "")
            )
        return "\n".join(lines)


def _f(v: Any, width: int = 10, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return f"{'-':>{width}}"
    return f"{v:>{width}.{digits}g}" if digits > 2 else f"{v:>{width}.{digits}f}"


def _csv_value(v: Any) -> Any:
    if isinstance(v, float):
        return "" if not math.isfinite(v) else f"{v:.6g}"
    return "" if v is None else v


# --------------------------------------------------------------------------- building it


def _curves(store: Store) -> dict[str, np.ndarray]:
    try:
        arrays, _ = store.read_array_group(CURVES_GROUP)
    except LandscapeError:
        return {}
    return {k.rpartition(".")[0]: np.asarray(v) for k, v in arrays.items() if k.endswith(".train_loss")}


def _stored_paths(store: Store, names: list[str]) -> list[tuple[str, int, int, int]]:
    """(name, i, j, cycles) of the finished paths between stored minima."""
    out = []
    for name in store.path_names():
        info = store.path_info(name)
        a, b = info.get("start"), info.get("end")
        if a in names and b in names and a != b and info.get("status") != Status.RUNNING.value:
            out.append((name, names.index(a), names.index(b), int(info.get("cycles", 0))))
    return out


def _stored_samples(filename: str, names: Sequence[str]) -> dict[str, dict[str, int] | None]:
    """The samples each stored path's run evaluated (None where not counted)."""
    from landscape.store.layout import read_samples

    with Store.open(filename) as store:
        return {name: read_samples(store.path_info(name)) for name in names}


def _labels(desc: Mapping[str, Any]) -> tuple[str, str]:
    arch = str(desc.get("model") or desc.get("module") or desc.get("name") or "?")
    data = desc.get("data")
    if isinstance(data, Mapping):
        return arch, str(data.get("train", "?")).replace(":train", "")
    return arch, str(desc.get("name", "?"))


def _path_jobs(store: Store, paths: list[tuple[str, int, int, int]]) -> list[_Job]:
    return [
        _Job("path", name, np.asarray(store.read_result(name).path.pivots, dtype=np.float64)) for name, _, _, _ in paths
    ]


def _mst(paths: Sequence[tuple[str, int, int, int]], weights: Sequence[float], n: int) -> set[str]:
    """Names of the MST's paths (the lowest path of each pair by training-loss maximum)."""
    best: dict[tuple[int, int], tuple[float, str]] = {}
    for (name, i, j, _), w in zip(paths, weights):
        key = (min(i, j), max(i, j))
        if key not in best or w < best[key][0]:
            best[key] = (w, name)
    tree = minimum_spanning_edges(n, [(i, j, w) for (i, j), (w, _) in best.items()])
    return {best[(min(i, j), max(i, j))][1] for i, j, _ in tree}


def table1(
    filename: str | os.PathLike[str],
    potential: Any = None,
    *,
    per_segment: int = 9,
    line_points: int = 19,
    straight_line: bool = True,
    batch_size: int = 1024,
    progress: Any = None,
    on_batch: Any = None,
) -> Table1:
    """Table 1 of store `filename`, evaluating what is missing with `potential` (a network
    potential, a zero-argument factory of one, or None to use stored evaluations only).
    `progress(message)` is told about each evaluation before it runs; `on_batch()`
    between the batches inside one (`ensure_evaluations`)."""
    filename = store_path(filename)
    potential = _once(potential)
    if per_segment < 0 or line_points < 1:
        raise LandscapeError(f"per_segment must be >= 0 and line_points >= 1, got {per_segment} and {line_points}")
    with Store.open(filename) as store:
        desc = store.potential_description
        coords, _, names = store.read_minima()
        paths = _stored_paths(store, names)
        jobs = [_Job("minima", "minima", np.asarray(coords, dtype=np.float64))] + _path_jobs(store, paths)
        curves = _curves(store)
    if not paths:
        raise LandscapeError(f"{filename} holds no finished paths between its minima; run `landscape explore` first")
    ensure_evaluations(
        filename,
        potential,
        jobs,
        per_segment=per_segment,
        line_points=line_points,
        batch_size=batch_size,
        progress=progress,
        on_batch=on_batch,
    )
    evals = _load_evals(filename, [j.group for j in jobs])
    weights = [float(np.max(evals[j.group]["train_loss"])) for j in jobs[1:]]
    in_mst = _mst(paths, weights, len(names))
    line_jobs = (
        [
            _Job("line", f"{names[i]}-{names[j]}", np.stack([coords[i], coords[j]]).astype(np.float64))
            for name, i, j, _ in paths
            if name in in_mst
        ]
        if straight_line
        else []
    )
    if line_jobs:
        ensure_evaluations(
            filename,
            potential,
            line_jobs,
            per_segment=per_segment,
            line_points=line_points,
            batch_size=batch_size,
            progress=progress,
            on_batch=on_batch,
        )
        evals.update(_load_evals(filename, [j.group for j in line_jobs]))
        evals.update(
            _aligned_lines(
                filename,
                desc,
                potential,
                line_jobs,
                per_segment=per_segment,
                line_points=line_points,
                batch_size=batch_size,
                progress=progress,
                on_batch=on_batch,
            )
        )
    rows = []
    samples = _stored_samples(filename, [p[0] for p in paths])
    for (name, i, j, cycles), job in zip(paths, jobs[1:]):
        ev = evals[job.group]
        line = evals.get(evaluation_group(f"{names[i]}-{names[j]}", "line")) if name in in_mst else None
        matched = evals.get(evaluation_group(f"{names[i]}-{names[j]}", "aligned")) if name in in_mst else None
        (maxima, barrier), (line_maxima, line_barriers), (aligned_maxima, aligned_barriers) = (
            _summary(e) for e in (ev, line, matched)
        )
        rows.append(
            PathMetrics(
                name,
                i,
                j,
                maxima,
                barrier,
                name in in_mst,
                int(np.sum(ev["is_pivot"])),
                cycles,
                line_maxima,
                line_barriers,
                _interior_max(ev["t"], ev["train_loss"]),
                _end_values(ev["t"], ev["train_loss"]),
                aligned_maxima=aligned_maxima,
                aligned_barriers=aligned_barriers,
                samples=samples[name],
            )
        )
    arch, dataset = _labels(desc)
    minima = {k: np.asarray(evals[MINIMA_METRICS_GROUP][k], dtype=float) for k in METRICS}
    return Table1(filename, arch, dataset, tuple(names), minima, tuple(rows), len(in_mst) == len(names) - 1, curves)


def _aligned_lines(
    filename: str, desc: Mapping[str, Any], potential: Any, line_jobs: Sequence[_Job], **settings: Any
) -> dict[str, dict[str, np.ndarray]]:
    """Evaluations of the straight lines to the matched images, when the stored
    potential declares a symmetry (its description names one): jobs on the plain ends,
    whose far end `_run_job` aligns, so a store evaluated before is read as it is."""
    if "symmetry" not in desc:
        return {}
    jobs = [_Job("aligned", j.name, j.points) for j in line_jobs]
    ensure_evaluations(filename, potential, jobs, **settings)
    return _load_evals(filename, [j.group for j in jobs])


def _summary(ev: Mapping[str, np.ndarray] | None) -> tuple[dict[str, float] | None, dict[str, float] | None]:
    """(the maximum of each metric, the training loss's barriers) along an evaluated
    path or line; (None, None) for one not evaluated."""
    from landscape_plugins.torchnet.evaluate import barriers

    if ev is None:
        return None, None
    return {k: float(np.max(ev[k])) for k in METRICS}, _barrier_dict(barriers(ev["t"], ev["train_loss"]))


def _end_values(t: Any, values: Any) -> tuple[float, float]:
    """The values at t = 0 and t = 1."""
    t, v = np.asarray(t, dtype=float), np.asarray(values, dtype=float)
    return float(v[np.argmin(t)]), float(v[np.argmax(t)])


def _once(potential: Any) -> Any:
    """A factory that builds at most once (tables evaluate in two rounds)."""
    if not callable(potential) or hasattr(potential, "dim"):
        return potential
    cache: list[Any] = []

    def build() -> Any:
        if not cache:
            cache.append(potential())
        return cache[0]

    return build


def _interior_max(t: np.ndarray, values: np.ndarray) -> float:
    inside = (np.asarray(t) > 0) & (np.asarray(t) < 1)
    return float(np.max(np.asarray(values)[inside])) if inside.any() else float("nan")


def _barrier_dict(b: Any) -> dict[str, float]:
    return {
        "max_minus_mean_ends": b.max_minus_mean_ends,
        "max_gap_to_line": b.max_gap_to_line,
        "saddle_minus_higher_end": b.saddle_minus_higher_end,
        "saddle_t": b.saddle_t,
    }


def _load_evals(filename: str, groups: Sequence[str]) -> dict[str, dict[str, np.ndarray]]:
    with Store.open(filename) as store:
        return {g: store.read_array_group(g)[0] for g in groups}


# --------------------------------------------------------------------------- figures


def plot_cycles(filename: str, path_name: str, file: str, snapshots: int = 4) -> str:
    """Figure 5: the loss (mini-batch energy) along one path after selected AutoNEB cycles."""
    from matplotlib.figure import Figure

    with Store.open(filename) as store:
        cycles = store.read_result(path_name).cycles
    if not cycles:
        raise LandscapeError(f"path {path_name!r} has no stored AutoNEB cycles")
    picks = sorted({round(k * (len(cycles) - 1) / max(1, snapshots - 1)) for k in range(snapshots)})
    fig = Figure(figsize=(3.2 * len(picks), 3.0), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(picks), sharey=True))
    # one scale for all panels; log when the first cycle's bump dwarfs the levelled path
    _scale(
        axes[0], [float(v) for k in picks for v in np.concatenate([cycles[k].path.energies, cycles[k].dense_energies])]
    )
    for ax, k in zip(axes, picks):
        c = cycles[k]
        s = np.asarray(to_numpy(c.path.arc_fractions()), dtype=np.float64)
        t = np.concatenate([s, c.dense_t])
        e = np.concatenate([c.path.energies, c.dense_energies])
        order = np.argsort(t, kind="stable")
        ax.plot(t[order], e[order], color="tab:blue", lw=1)
        ax.plot(s, c.path.energies, "o", color="tab:blue", ms=3)
        spent = f", {c.samples['gradient']:.3g} sample-grads" if c.samples else ""  # since the run began
        ax.set_title(f"after cycle {c.index + 1} (lr {c.lr:g}{spent})", fontsize=9)
        ax.set_xlabel("arc-length fraction")
    axes[0].set_ylabel("loss (mini-batch energy)")
    fig.suptitle(f"{path_name}: loss along the path after AutoNEB cycles", fontsize=10)
    fig.savefig(file, dpi=120)
    return file


def _scale(ax: Any, values: Sequence[float]) -> None:
    """Log scale only when the values span more than a decade (else plain numbers)."""
    v = [x for x in values if math.isfinite(x) and x > 0]
    if v and max(v) > 10 * min(v):
        ax.set_yscale("log")


def plot_minima_vs_saddles(table: Table1, file: str) -> str:
    """Figure 6: mean loss at the minima and mean saddle loss (the paths, AutoNEB or
    curves, and the straight line when evaluated), training and test set."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.6, 3.6), layout="constrained")
    ax = fig.subplots()
    seen: list[float] = []
    for split, color in (("train", "tab:orange"), ("test", "tab:blue")):
        key = f"{split}_loss"
        lo, hi, line = table.minimum(key), table.saddle(key), table.line(key)
        ax.plot([0, 1], [lo, hi], "o-", color=color, label=f"{split}: minima {lo:.3g}, path saddles {hi:.3g}")
        for p in table.mst:
            ends = 0.5 * (table.minima[key][p.i] + table.minima[key][p.j])
            ax.plot([0, 1], [ends, p.maxima[key]], "-", color=color, alpha=0.25, lw=0.8)
        if math.isfinite(line):
            ax.plot([2], [line], "s", color=color, label=f"{split}: straight line {line:.3g}")
        seen += [lo, hi, line]
    ax.set_xticks([0, 1, 2], ["minima", "path\nsaddles", "straight\nline"])
    _scale(ax, seen)
    ax.set_ylabel("cross-entropy loss")
    ax.set_title(f"{table.architecture}: minima vs saddles", fontsize=10)
    ax.legend(frameon=False, fontsize=8)
    fig.savefig(file, dpi=120)
    return file


def plot_learning_curves(table: Table1, file: str) -> str:
    """Figure 7: training-loss learning curves against the mean saddle loss."""
    from matplotlib.figure import Figure

    if not table.curves:
        raise LandscapeError(f"{table.store} holds no learning curves")
    fig = Figure(figsize=(5.0, 3.6), layout="constrained")
    ax = fig.subplots()
    level = table.saddle("train_loss")
    crossings = table.epochs()
    for name in table.names:
        curve = table.curves.get(name)
        if curve is None:
            continue
        (line,) = ax.plot(np.arange(1, len(curve) + 1), curve, lw=1, label=f"minimum {name}")
        if crossings[name] is not None:
            ax.plot([crossings[name]], [curve[crossings[name] - 1]], "o", color=line.get_color(), ms=4)
    ax.axhline(level, color="k", ls="--", lw=1, label=f"mean saddle loss {level:.3g}")
    _scale(ax, [float(v) for c in table.curves.values() for v in np.asarray(c)])
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.legend(frameon=False, fontsize=8)
    fig.savefig(file, dpi=120)
    return file


def write_figures(table: Table1, folder: str, stem: str | None = None) -> dict[str, str]:
    """Figures 5-7 as PNGs in `folder`; Figure 5 for the MST path of highest saddle."""
    os.makedirs(folder, exist_ok=True)
    stem = stem or os.path.splitext(os.path.basename(table.store))[0]
    fig6 = os.path.join(folder, f"{stem}-fig6-minima-vs-saddles.png")
    out = {"minima_vs_saddles": plot_minima_vs_saddles(table, fig6)}
    if table.curves:
        out["learning_curves"] = plot_learning_curves(table, os.path.join(folder, f"{stem}-fig7-learning-curves.png"))
    cycled = [p for p in table.mst if p.cycles]
    if cycled:
        top = max(cycled, key=lambda p: p.maxima["train_loss"])
        out["cycles"] = plot_cycles(table.store, top.name, os.path.join(folder, f"{stem}-fig5-cycles-{top.name}.png"))
    return out
