"""REPAIR on straight lines between two network minima: the straight line, the weight-matched
line and the weight-matched line with REPAIR (Jordan et al. 2022), on the whole train and
test sets, BatchNorm recalibrated per point (CPU, one thread).

    python examples/repair_lines.py mlp [--hidden 32,32 --hidden 128,128] [--activation relu] [--points 21]
    python examples/repair_lines.py STORE [--pairs 0-1,0-2] [--points 21]

`mlp` trains the two spiral minima of examples/aligned_mlp.py (the `mlp` plugin with
`align=True`, seeds 0 and 1); STORE is a network store with trained minima (e.g. the
reduced CIFAR run's `out/reduced-paper/cifar-reduced`, docs/cifar.md), whose minima are
weight-matched here (`landscape_plugins.torchnet.matching.network_symmetry`).  Each line
is `--points` evenly spaced points, ends included, evaluated by
`landscape_plugins.torchnet.evaluate.evaluate_path`; REPAIR uses the potential's
calibration set (`repair.repair_points`).  One row per line: the highest train loss,
the barrier (highest minus the higher end) and where it lies, the highest test error,
the forward samples REPAIR spent, and the wall time of the row.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

ROWS = ("straight line", "weight-matched line", "weight-matched line + REPAIR")


def lines(pot: Any, a: Any, b: Any, matched: Any, points: int) -> list[dict[str, Any]]:
    """The three rows for one pair (see the module docstring)."""
    import numpy as np
    import torch

    from landscape_plugins.torchnet.evaluate import evaluate_path

    out, plain = [], 0
    for label, end, repair in zip(ROWS, (b, matched, matched), (False, False, True)):
        began, before = time.perf_counter(), pot.cost()["forward"]
        ev = evaluate_path(pot, torch.stack([pot.asarray(a), pot.asarray(end)]), points - 2, repair=repair)
        spent = pot.cost()["forward"] - before  # REPAIR's samples: beyond what a plain row evaluates
        plain = plain if repair else spent
        loss, k = ev["train_loss"], int(np.argmax(ev["train_loss"]))
        out.append(
            {
                "line": label,
                "max_train_loss": float(loss[k]),
                "barrier": float(loss[k] - max(loss[0], loss[-1])),
                "at_t": float(ev.t[k]),
                "max_test_error": float(ev["test_error"].max()) if "test_error" in ev.metrics else float("nan"),
                "ends_test_error": [float(ev["test_error"][0]), float(ev["test_error"][-1])]
                if "test_error" in ev.metrics
                else None,
                "repair_samples": spent - plain,
                "seconds": time.perf_counter() - began,
            }
        )
    return out


def table(title: str, ends: tuple[float, float], rows: list[dict[str, Any]]) -> str:
    errors = rows[0]["ends_test_error"]
    text = [
        f"{title}: ends at train loss {ends[0]:.4g} and {ends[1]:.4g}"
        + (f", test error {100 * errors[0]:.2f}% and {100 * errors[1]:.2f}%" if errors else ""),
        f"  {'line':30s} {'max train loss':>14s} {'barrier':>9s} {'at t':>5s} {'max test err':>12s}"
        f" {'REPAIR samples':>14s} {'s':>6s}",
    ]
    text += [
        f"  {r['line']:30s} {r['max_train_loss']:14.4g} {r['barrier']:9.4g} {r['at_t']:5.2f}"
        f" {100 * r['max_test_error']:11.2f}% {r['repair_samples']:14,d} {r['seconds']:6.1f}"
        for r in rows
    ]
    return "\n".join(text)


def mlp_pairs(hidden: str, activation: str, epochs: int) -> tuple[Any, list[tuple[str, Any, Any, Any]]]:
    from landscape import align, load_potential

    options = {"hidden": hidden, "activation": activation, "epochs": epochs, "minima": 2, "align": True}
    pot = load_potential("mlp", options)
    a, b = pot.minimum("0"), pot.minimum("1")
    return pot, [(f"mlp {activation} hidden {hidden}, minima 0-1", a, b, pot.asarray(align(pot, a, b)))]


def store_pairs(store: str, pairs: str | None) -> tuple[Any, list[tuple[str, Any, Any, Any]]]:
    from landscape import Store
    from landscape_plugins.torchnet.commands import stored_network
    from landscape_plugins.torchnet.matching import network_symmetry

    pot = stored_network(store, "repair_lines")
    with Store.open(store) as s:
        coords, _, names = s.read_minima()
    wanted = (
        [p.split("-") for p in pairs.split(",")]
        if pairs
        else [(names[i], names[j]) for i in range(len(names)) for j in range(i + 1, len(names))]
    )
    sym = network_symmetry(pot)
    out = []
    for i, j in wanted:
        a, b = coords[names.index(i)], coords[names.index(j)]
        out.append((f"{store}, minima {i}-{j}", pot.asarray(a), pot.asarray(b), pot.asarray(sym.align(a, b))))
    return pot, out


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    import torch

    from landscape_plugins.torchnet.evaluate import evaluate_points

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("source", help="mlp, or a network store with trained minima")
    p.add_argument("--hidden", action="append", help="mlp widths, e.g. 32,32; repeatable (default 32,32 and 128,128)")
    p.add_argument("--activation", default="tanh", help="mlp activation (tanh, as examples/aligned_mlp.py, or relu)")
    p.add_argument("--epochs", type=int, default=400, help="mlp training epochs (400: the plugin's default)")
    p.add_argument("--pairs", default=None, help="store: pairs of minima, e.g. 0-1,0-2 (default: every pair)")
    p.add_argument("--points", type=int, default=21, help="points per line, ends included")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    if args.source == "mlp":
        sources = [mlp_pairs(h, args.activation, args.epochs) for h in args.hidden or ["32,32", "128,128"]]
    else:
        sources = [store_pairs(args.source, args.pairs)]
    results = []
    for pot, pairs in sources:
        for title, a, b, matched in pairs:
            began = time.perf_counter()
            ends = evaluate_points(pot, torch.stack([a, b])).loss
            rows = lines(pot, a, b, matched, args.points)
            print(table(title, (float(ends[0]), float(ends[1])), rows) + f"\n  ({time.perf_counter() - began:.0f} s)")
            results.append({"pair": title, "rows": rows})
    return results


if __name__ == "__main__":
    main()
