"""The comparison's outputs: the printed table, CSV, JSON and the profile figure.

Every output is made from `RowResult.summary()` (and the profiles for the figure), so
the table, the CSV and the JSON cannot disagree.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from typing import Any

from .compare import RowResult

__all__ = ["COLUMNS", "table_lines", "to_csv", "to_json", "plot_rows"]

#: The CSV columns in order (the table prints the same numbers).
COLUMNS = (
    "pair",
    "row",
    "status",
    "max_train_loss",
    "rise_over_higher_end",
    "t_at_max",
    "test_error_at_max",
    "max_test_error",
    "build_gradient_samples",
    "build_forward_samples",
    "eval_forward_samples",
    "build_seconds",
    "eval_seconds",
    "seconds",
    "points",
    "reused",
    "note",
)


def _flat(row: RowResult) -> dict[str, Any]:
    s = row.summary()
    build, ev = s.get("build_samples") or {}, s.get("eval_samples") or {}
    return {
        **{k: s.get(k) for k in COLUMNS},
        "build_gradient_samples": build.get("gradient"),
        "build_forward_samples": build.get("forward"),
        "eval_forward_samples": ev.get("forward"),
    }


def _num(v: Any, fmt: str, width: int) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return f"{'-':>{width}}"
    return f"{format(v, fmt):>{width}}"


def table_lines(rows: Sequence[RowResult]) -> list[str]:
    """One header and one line per row, rows grouped by pair."""
    head = (
        f"  {'row':<30}{'max loss':>10}{'rise':>10}{'t@max':>7}{'err@max':>9}{'max err':>9}"
        f"{'opt grad':>12}{'opt fwd':>11}{'eval fwd':>11}{'seconds':>9}  note"
    )
    lines: list[str] = []
    for pair in dict.fromkeys(r.pair for r in rows):
        lines += [f"pair {pair}", head]
        for r in (r for r in rows if r.pair == pair):
            f = _flat(r)
            if r.status != "done":
                lines.append(f"  {r.label:<30}{r.status}: {r.note}")
                continue
            note = "; ".join(n for n in ("read back" if r.reused else "", r.note) if n)
            lines.append(
                f"  {r.label:<30}{_num(f['max_train_loss'], '.4g', 10)}{_num(f['rise_over_higher_end'], '.4g', 10)}"
                f"{_num(f['t_at_max'], '.3f', 7)}{_pct(f['test_error_at_max'], 9)}{_pct(f['max_test_error'], 9)}"
                f"{_num(f['build_gradient_samples'], ',', 12)}{_num(f['build_forward_samples'], ',', 11)}"
                f"{_num(f['eval_forward_samples'], ',', 11)}{_num(f['seconds'], '.1f', 9)}  {note}".rstrip()
            )
    return lines


def _pct(v: Any, width: int) -> str:
    return _num(None if v is None else 100 * v, ".2f", width - 1) + ("%" if v is not None else " ")


def to_csv(rows: Sequence[RowResult]) -> str:
    """The table as CSV (one line per pair and row, `COLUMNS`; empty where no number)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: "" if v is None else v for k, v in _flat(r).items()})
    return out.getvalue()


def to_json(rows: Sequence[RowResult]) -> list[dict[str, Any]]:
    """The rows' summaries (the printed numbers, unrounded)."""
    return [r.summary() for r in rows]


def plot_rows(rows: Sequence[RowResult], file: str | None = None, title: str | None = None) -> Any:
    """Train loss against t for every row, one axis per pair (log scale where the rows
    span more than a factor of 100); pivots marked.

    Returns the matplotlib Figure; with `file` it is also saved there."""
    from matplotlib.figure import Figure

    pairs = list(dict.fromkeys(r.pair for r in rows))
    fig = Figure(figsize=(5.2 * len(pairs), 3.6), layout="constrained")
    axes = fig.subplots(1, len(pairs), squeeze=False)[0]
    for ax, pair in zip(axes, pairs):
        for r in (r for r in rows if r.pair == pair and r.status == "done"):
            (line,) = ax.plot(r.t, r.metrics["train_loss"], label=r.label, lw=1.4)
            ax.plot(r.t[r.is_pivot], r.metrics["train_loss"][r.is_pivot], "o", ms=3, color=line.get_color())
        done = [r.metrics["train_loss"] for r in rows if r.pair == pair and r.status == "done"]
        low, high = (min(v.min() for v in done), max(v.max() for v in done)) if done else (1.0, 1.0)
        if low > 0 and high > 100 * low:  # a line's barrier beside near-flat paths: log, or the paths are one line
            ax.set_yscale("log")
        ax.set_title(f"pair {pair}")
        ax.set_xlabel("t (arc fraction of a path; parameter of a line or curve)")
        ax.set_ylabel("train loss (data, no L2)")
        ax.legend(frameon=False, fontsize=8)
    if title:
        fig.suptitle(title)
    if file:
        fig.savefig(file, dpi=120)
    return fig
