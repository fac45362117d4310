"""Every way of connecting two stored minima, evaluated under one protocol (`landscape compare`).

A *row* is one way of going from minimum i to minimum j: the straight line, the line to
j's weight-matched image (`matching`), that line with REPAIR, a Bezier curve, a
polygonal chain, AutoNEB.  Rows are a small registry (`ROWS`, `register_row`): each
builder returns its curve as points at arc fractions t; rows whose code is not in this
installation say so ("not available") and are never faked.

The protocol is the same for every row: the `points` equally spaced t in [0, 1] (along
the arc of a path, or the parameter of a line) plus the row's own pivots, the whole
training set and test set of the stored potential, and BatchNorm statistics recomputed
per point from the potential's calibration set (`evaluate.recalibrated_buffers`).
Samples are the potential's own counters (`Potential.cost`): what building the curve
spent (sample-gradients and sample-evaluations) and what evaluating it spent.

Each row lands in the store as the group `compare-p<points>.<i>-<j>.<row>` as soon as
it is done (`row_group`), with its settings: running the comparison again reads a
done row back instead of redoing it; a row whose settings changed is redone.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from landscape.foundations.arrays import to_numpy
from landscape.foundations.errors import LandscapeError
from landscape.paths import geometry
from landscape.paths.result import Status
from landscape.potentials.identity import points_digest
from landscape.potentials.potential import samples_since
from landscape.store.layout import split_pair

from .evaluate import barriers, evaluate_splits

__all__ = [
    "CompareSettings",
    "Curve",
    "PairJob",
    "RowKind",
    "RowResult",
    "ROWS",
    "register_row",
    "row_group",
    "grid",
    "curve_on_path",
    "evaluate_curve",
    "compare_pair",
    "parse_pairs",
]

_METRICS = ("train_loss", "train_error", "test_loss", "test_error")


@dataclass(frozen=True)
class CompareSettings:
    """The shared protocol (`points`, `batch_size`) and the rows' own settings."""

    points: int = 33
    batch_size: int = 1024
    schedule: str = "quick"  # AutoNEB's schedule when the store holds no path for the pair
    run: bool = True  # False: a row that needs an optimisation not already stored is "not run"
    bends: int = 1  # PolyChain's bends
    curve_steps: int = 1000  # training steps of the Bezier and PolyChain curves
    match_seed: int = 0  # weight matching's seed


@dataclass(frozen=True)
class Curve:
    """A row's curve: points (n, dim) at arc fractions `t` (sorted, the grid included),
    which of them are its pivots, what building it spent, and what to keep of it."""

    points: Any
    t: np.ndarray
    is_pivot: np.ndarray
    samples: dict[str, int] | None
    seconds: float | None  # None: built before this run (a stored path), time unknown
    note: str = ""
    keep: Mapping[str, np.ndarray] = field(default_factory=dict)


@dataclass
class PairJob:
    """One pair of stored minima: what every row builder gets."""

    filename: str
    potential: Any
    names: tuple[str, str]
    a: Any
    b: Any
    settings: CompareSettings
    _aligned: Any = None
    match_seconds: float = 0.0  # what weight matching took (once per pair, in both aligned rows)
    _warm: bool = False

    @property
    def pair(self) -> str:
        return f"{self.names[0]}-{self.names[1]}"

    def warm_up(self) -> None:
        """One evaluation of the start before the first row computed here, so that no
        row's seconds hold torch's first-call set-up (its samples are in no row)."""
        if not self._warm:
            evaluate_curve(
                self.potential, Curve(self.a[None], np.zeros(1), np.ones(1, bool), None, None), self.settings.batch_size
            )
            self._warm = True

    def aligned_end(self) -> Any:
        """b moved onto its weight-matched image closest to a (computed once per pair)."""
        if self._aligned is None:
            from .matching import network_symmetry

            began = time.perf_counter()
            sym = network_symmetry(self.potential, seed=self.settings.match_seed)
            self._aligned = self.potential.asarray(sym.align(to_numpy(self.a), to_numpy(self.b)))
            self.match_seconds = time.perf_counter() - began
        return self._aligned


@dataclass(frozen=True)
class RowKind:
    """A way of connecting two minima: `build` makes its curve on the grid t; `settings`
    names what its result depends on (a stored row with other settings is redone);
    `missing` says why it cannot run in this installation (None: it can)."""

    name: str
    label: str
    build: Callable[[PairJob, np.ndarray], Curve]
    settings: Callable[[CompareSettings], dict[str, Any]] = lambda s: {}
    missing: Callable[[], str | None] = lambda: None


ROWS: dict[str, RowKind] = {}


def register_row(kind: RowKind) -> RowKind:
    """Add (or replace) a row kind; the table lists rows in registration order."""
    ROWS[kind.name] = kind
    return kind


def row_group(points: int, pair: str, row: str) -> str:
    """The store group of one row of a comparison at `points` grid points."""
    return f"compare-p{points}.{pair}.{row}"


def grid(points: int) -> np.ndarray:
    """The protocol's t: `points` equally spaced in [0, 1], ends included."""
    if not 2 <= points <= 10_000:  # each point is a whole-set evaluation per row
        raise LandscapeError(f"--points must be from 2 to 10000, got {points}")
    return np.linspace(0.0, 1.0, points)


def parse_pairs(text: str, names: Sequence[str]) -> list[tuple[str, str]]:
    """'0-1,0-2' as pairs of stored minimum names (`split_pair`: names may hold '-'; one
    line naming a bad one)."""
    pairs = []
    for item in (p.strip() for p in text.split(",")):
        try:
            a, b = split_pair(item, names)
        except LandscapeError as e:
            raise LandscapeError(f"bad pair {item!r}: write pairs as I-J, e.g. 0-1,0-2; {e}") from None
        if a == b:
            raise LandscapeError(f"pair {item!r} joins a minimum to itself")
        pairs.append((a, b))
    return pairs


# curves -------------------------------------------------------------------------------------
def _line(job: PairJob, t: np.ndarray, end: Any, samples: dict[str, int] | None, seconds: float) -> Curve:
    a = job.a
    w = job.potential.asarray(t[:, None])
    pivot = (t == 0.0) | (t == 1.0)
    return Curve(a[None] + w * (end - a)[None], t, pivot, samples, seconds)


def curve_on_path(pivots: Any, t: np.ndarray, **info: Any) -> Curve:
    """A path's curve under the protocol: the grid `t` along its arc, plus its pivots at
    their own arc fractions (a grid point on a pivot is the pivot)."""
    s = np.asarray(to_numpy(geometry.arc_fractions(pivots)), dtype=float)
    on_pivot = np.isclose(t[:, None], s[None, :], rtol=0.0, atol=1e-12).any(axis=1)
    between = t[~on_pivot]
    dense = geometry.interpolate(pivots, between, geometry.arc_fractions(pivots))
    xp_points = np.concatenate([s, between])
    order = np.argsort(xp_points, kind="stable")
    stacked = _concat(pivots, dense)[order]
    is_pivot = np.concatenate([np.ones(s.size, bool), np.zeros(between.size, bool)])[order]
    tt = xp_points[order]
    for k in np.flatnonzero(is_pivot):  # a pivot on the grid takes the grid's exact t
        near = np.isclose(t, tt[k], rtol=0.0, atol=1e-12)
        if near.any():
            tt[k] = t[near][0]
    return Curve(stacked, tt, is_pivot, **info)


def _concat(a: Any, b: Any) -> Any:
    import torch

    return torch.cat([a, b]) if isinstance(a, torch.Tensor) else np.concatenate([a, b])


def _stored_path(job: PairJob) -> tuple[Any, Any] | None:
    """(pivots from i to j, the stored Result) of a finished AutoNEB path joining the pair
    (a path another method stored, `connect --method bezier` say, is not this row's)."""
    from landscape.store import Store

    with Store.open(job.filename) as store:
        for name in store.path_names():
            info = store.path_info(name)
            if info.get("status") == Status.RUNNING.value or info["config"].get("method", "autoneb") != "autoneb":
                continue
            ends = (str(info.get("start")), str(info.get("end")))
            if set(ends) == set(job.names):
                result = store.read_result(name)
                pivots = job.potential.asarray(to_numpy(result.path.pivots))
                return (pivots if ends == job.names else pivots.flip(0)), result
    return None


def _optimised(job: PairJob, optimizer: Any) -> Any:
    """Run `optimizer` from a to b now: (Result, samples spent, seconds)."""
    from landscape.runs.pair import connect

    pot = job.potential
    pot.restart_stream()  # the same batches whatever ran before (as every pair run does)
    mark, began = pot.cost(), time.perf_counter()
    result = connect(pot, job.a, job.b, optimizer=optimizer)
    if result.status is Status.INTERRUPTED:  # the driver kept the state; a row is all or nothing
        raise KeyboardInterrupt
    return result, samples_since(pot, mark), time.perf_counter() - began


def _straight(job: PairJob, t: np.ndarray) -> Curve:
    return _line(job, t, job.b, {"gradient": 0, "forward": 0}, 0.0)


def _aligned(job: PairJob, t: np.ndarray) -> Curve:
    end = job.aligned_end()  # weight matching reads weights only: no samples
    return _line(job, t, end, {"gradient": 0, "forward": 0}, job.match_seconds)


def _autoneb(job: PairJob, t: np.ndarray) -> Curve:
    stored = _stored_path(job)
    if stored is not None:
        pivots, result = stored
        note = f"stored path, {result.status.value}"
        return curve_on_path(pivots, t, samples=result.samples, seconds=None, note=note)
    if not job.settings.run:
        raise _NotRun("no stored path for this pair (--no-run)")
    from landscape.runs.pair import make_optimizer

    result, spent, seconds = _optimised(job, make_optimizer("autoneb", schedule=job.settings.schedule))
    pivots = job.potential.asarray(to_numpy(result.path.pivots))
    note = f"{result.status.value}, {result.nit} steps"
    return curve_on_path(pivots, t, samples=spent, seconds=seconds, note=note, keep={"pivots": to_numpy(pivots)})


def _curve_method(method: str) -> Callable[[], str | None]:
    def missing() -> str | None:
        from landscape.runs.pair import METHODS

        return None if method in METHODS else f"no {method} method in landscape.runs.pair (METHODS)"

    return missing


def _trained_curve(job: PairJob, t: np.ndarray, method: str, bends: int) -> Curve:
    """A curve trained now (Garipov et al.), evaluated on the curve itself at the grid's
    parameters t and at its pivots' (equally spaced in t), not along its sampled polyline."""
    from landscape.runs.pair import make_optimizer

    if not job.settings.run:
        raise _NotRun("needs an optimisation (--no-run)")
    opt = make_optimizer(method, bends=bends, steps=job.settings.curve_steps)
    result, spent, seconds = _optimised(job, opt)
    controls = result.state.controls
    s = np.linspace(0.0, 1.0, result.path.n_pivots)
    tt = np.union1d(t, s)  # sorted; a pivot on the grid is counted once
    is_pivot = np.isclose(tt[:, None], s[None, :], rtol=0.0, atol=1e-12).any(axis=1)
    note = f"{result.status.value}, {result.nit} steps, {bends} bend(s)"
    keep = {"controls": to_numpy(controls), "pivots": to_numpy(result.path.pivots)}
    return Curve(opt.points(controls, tt), tt, is_pivot, spent, seconds, note, keep)


def _bezier(job: PairJob, t: np.ndarray) -> Curve:
    return _trained_curve(job, t, "bezier", 1)


def _polychain(job: PairJob, t: np.ndarray) -> Curve:
    return _trained_curve(job, t, "polychain", job.settings.bends)


class _NotRun(Exception):
    """A row that would need an optimisation the settings do not allow."""


# evaluation and storage -----------------------------------------------------------------------
@dataclass(frozen=True)
class RowResult:
    """One row of the table: its status ("done", "not available", "not run", "failed"),
    its profile and the samples and seconds it spent."""

    pair: str
    row: str
    label: str
    status: str
    note: str = ""
    t: np.ndarray | None = None
    metrics: Mapping[str, np.ndarray] = field(default_factory=dict)
    is_pivot: np.ndarray | None = None
    build_samples: dict[str, int] | None = None
    eval_samples: dict[str, int] | None = None
    build_seconds: float | None = None
    eval_seconds: float | None = None
    reused: bool = False

    def summary(self) -> dict[str, Any]:
        """The table's columns (JSON-able; None where the row has no numbers)."""
        out: dict[str, Any] = {"pair": self.pair, "row": self.row, "label": self.label, "status": self.status}
        out["note"] = self.note
        if self.status == "done":
            loss, test_err = self.metrics["train_loss"], self.metrics.get("test_error")
            b = barriers(self.t, loss)
            k = int(np.argmax(loss))
            out.update(
                max_train_loss=b.saddle,
                rise_over_higher_end=b.saddle_minus_higher_end,
                t_at_max=b.saddle_t,
                test_error_at_max=None if test_err is None else float(test_err[k]),
                max_test_error=None if test_err is None else float(test_err.max()),
                points=int(self.t.size),
            )
        out.update(
            build_samples=self.build_samples,
            eval_samples=self.eval_samples,
            build_seconds=self.build_seconds,
            eval_seconds=self.eval_seconds,
            seconds=None
            if self.build_seconds is None or self.eval_seconds is None
            else self.build_seconds + self.eval_seconds,
            reused=self.reused,
        )
        return out


def evaluate_curve(potential: Any, curve: Curve, batch_size: int = 1024) -> dict[str, np.ndarray]:
    """Train and test loss and error at every point of the curve: the protocol.

    BatchNorm statistics are recomputed once per point and shared by both splits, as
    `evaluate.evaluate_path` does (`evaluate.evaluate_splits`), in vmap and loop mode."""
    out = {}
    for split, m in evaluate_splits(potential, curve.points, batch_size=batch_size).items():
        out[f"{split}_loss"], out[f"{split}_error"] = m.loss, m.error
    return out


def _identity(job: PairJob, kind: RowKind) -> dict[str, Any]:
    return {
        "row": kind.name,
        "settings": kind.settings(job.settings),
        "ends": points_digest(np.stack([to_numpy(job.a), to_numpy(job.b)])),
    }


def _read_row(job: PairJob, kind: RowKind) -> RowResult | None:
    from landscape.store import Store

    group = row_group(job.settings.points, job.pair, kind.name)
    with Store.open(job.filename) as store:
        try:
            arrays, attrs = store.read_array_group(group)
        except LandscapeError:
            return None
    if json.loads(attrs.get("identity", "null")) != json.loads(json.dumps(_identity(job, kind))):
        return None  # computed with other settings: redone
    costs = json.loads(attrs["costs"])
    return RowResult(
        job.pair,
        kind.name,
        kind.label,
        "done",
        str(attrs.get("note", "")),
        np.asarray(arrays["t"], dtype=float),
        {k: np.asarray(arrays[k], dtype=float) for k in _METRICS if k in arrays},
        np.asarray(arrays["is_pivot"], dtype=bool),
        reused=True,
        **costs,
    )


def _write_row(job: PairJob, kind: RowKind, row: RowResult, curve: Curve) -> None:
    from landscape.store import Store

    costs = {
        "build_samples": row.build_samples,
        "eval_samples": row.eval_samples,
        "build_seconds": row.build_seconds,
        "eval_seconds": row.eval_seconds,
    }
    arrays = {"t": row.t, "is_pivot": row.is_pivot, **row.metrics, **curve.keep}
    attrs = {
        "identity": json.dumps(_identity(job, kind)),
        "costs": json.dumps(costs),
        "note": row.note,
        "bn_mode": job.potential.bn_mode,
    }
    with Store.write(job.filename) as store:
        store.write_array_group(row_group(job.settings.points, job.pair, kind.name), arrays, attrs)


def run_row(job: PairJob, kind: RowKind) -> RowResult:
    """One row of one pair: read back when done before, else built, evaluated, stored."""
    missing = kind.missing()
    if missing is not None:
        return RowResult(job.pair, kind.name, kind.label, "not available", missing)
    done = _read_row(job, kind)
    if done is not None:
        return done
    t = grid(job.settings.points)
    job.warm_up()
    try:
        curve = kind.build(job, t)
    except _NotRun as why:
        return RowResult(job.pair, kind.name, kind.label, "not run", str(why))
    pot = job.potential
    mark, began = pot.cost(), time.perf_counter()
    metrics = evaluate_curve(pot, curve, job.settings.batch_size)
    row = RowResult(
        job.pair,
        kind.name,
        kind.label,
        "done",
        curve.note,
        curve.t,
        metrics,
        curve.is_pivot,
        curve.samples,
        samples_since(pot, mark),
        curve.seconds,
        time.perf_counter() - began,
    )
    _write_row(job, kind, row, curve)
    return row


def compare_pair(
    filename: str, potential: Any, names: tuple[str, str], rows: Sequence[str], settings: CompareSettings
) -> list[RowResult]:
    """Every row of `rows` for the stored minima `names` of the store `filename`, each
    stored as it is done; the caller holds the store's writer lock (the command does)."""
    from landscape.store import Store

    with Store.open(filename) as store:
        coords, _, stored = store.read_minima()
    index = {n: k for k, n in enumerate(stored)}
    a, b = (potential.asarray(coords[index[n]]) for n in names)
    job = PairJob(filename, potential, names, a, b, settings)
    return [run_row(job, ROWS[r]) for r in rows]


def _matching_settings(s: CompareSettings) -> dict[str, Any]:
    return {"match_seed": s.match_seed}


def _repair_missing() -> str | None:
    import importlib.util

    if importlib.util.find_spec("landscape_plugins.torchnet.repair") is None:
        return "no REPAIR in this installation (plugins/torchnet/repair.py)"
    return None


def _repair(job: PairJob, t: np.ndarray) -> Curve:
    """The aligned line with every grid point REPAIRed against the ends (Jordan et al.
    2022); its samples are the matching's (none) and REPAIR's calibration passes."""
    from .repair import repair_points

    pot = job.potential
    end = job.aligned_end()
    mark, began = pot.cost(), time.perf_counter()
    points = repair_points(pot, job.a, end, t)
    spent, seconds = samples_since(pot, mark), time.perf_counter() - began + job.match_seconds
    return Curve(points, t, (t == 0.0) | (t == 1.0), spent, seconds)


register_row(RowKind("straight", "straight line", _straight))
register_row(RowKind("aligned", "aligned line (weight matched)", _aligned, _matching_settings))
register_row(RowKind("repair", "aligned line + REPAIR", _repair, _matching_settings, missing=_repair_missing))
register_row(RowKind("bezier", "Bezier (1 bend)", _bezier, lambda s: {"steps": s.curve_steps}, _curve_method("bezier")))
register_row(
    RowKind(
        "polychain",
        "PolyChain",
        _polychain,
        lambda s: {"bends": s.bends, "steps": s.curve_steps},
        _curve_method("polychain"),
    )
)
register_row(RowKind("autoneb", "AutoNEB", _autoneb, lambda s: {"schedule": s.schedule}))
