"""The paper's trend at reduced scale: how the saddle changes with network width (CPU, < 60 min).

    python examples/width_sweep.py --out width-sweep [--widths 4,8,16] [--threads 2]

Draxler et al. 2018 find lower saddles for wider and deeper networks.  This runs the
same reduced experiment as examples/cifar_reduced.py (ResNet-8 on a balanced seeded
subset of 500 CIFAR-10 training images, no augmentation, 100 epochs of SGD to train
loss near zero; AutoNEB with the paper's 14 cycles at `--fraction` of their steps) for
several base widths, two minima and one path each, on the same subset, and prints per
width: Sadd./Min. of the training loss, the straight line's factor, the test-error
rise at the saddle, where the maximum lies and whether AutoNEB levelled off
(`landscape_plugins.cifar.claim`).  Writes one store per width, width-sweep.json and
the figure width-sweep.png into --out.  Running it again continues every store.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="width-sweep", help="output folder (stores, JSON, figure)")
    p.add_argument("--data", default="", help="cifar10_jpeg.npz-format file (default: the shared offline copy)")
    p.add_argument("--widths", default="4,8,16", help="comma-separated base widths of ResNet-8")
    p.add_argument("--n-train", type=int, default=500)
    p.add_argument("--n-test", type=int, default=1000)
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--fraction", type=float, default=0.05, help="AutoNEB: fraction of the paper's 16,000 steps")
    p.add_argument("--neb-batch", type=int, default=100)
    p.add_argument(
        "--max-pivots",
        type=int,
        default=15,
        help="cap on a path's pivots: near-flat paths make the paper's relative insertion rule add many",
    )
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    return p.parse_args(argv)


def run_width(width: int, args: argparse.Namespace) -> dict[str, Any]:
    from landscape import Store
    from landscape_plugins.cifar.claim import criteria, cycle_curves, gradient_norms
    from landscape_plugins.cifar.experiment import Experiment, run_experiment
    from landscape_plugins.cifar.recipes import scaled_schedule

    store = os.path.join(args.out, f"width-{width}")
    exp = Experiment(
        potential=dict(
            model=f"resnet8-w{width}",
            data=args.data,
            n_train=args.n_train,
            n_test=args.n_test,
            balanced=True,
            augment=False,
            device="cpu",
            batched="loop",
            calibration_size=args.n_train,
            batch_size=args.neb_batch,
        ),
        minima=2,
        epochs=args.epochs,
        train_batch=32,
        lr=0.05,
        milestones=(0.6, 0.85),
        preset=scaled_schedule(args.fraction, name=f"paper-x{args.fraction:g}"),
        max_pivots=args.max_pivots,
        per_segment=3,
        line_points=9,
    )
    began = time.perf_counter()
    result = run_experiment(store, exp)
    table = result.table
    with Store.open(store) as s:
        coords, _, _ = s.read_minima()
    curves = cycle_curves(store, [p.name for p in table.paths], result.potential)
    row = table.row()
    path = table.mst[0]
    return {
        "width": width,
        "parameters": result.potential.dim,
        "row": row,
        "criteria": criteria(table, curves),
        "line_factor": row["line_factor"],
        "max_t": path.barriers["saddle_t"],
        "curve": curves[path.name]["curve"],
        "gradient_norms": gradient_norms(result.potential, coords),
        "seconds": time.perf_counter() - began,
    }


def plot(rows: list[dict[str, Any]], file: str) -> None:
    from matplotlib.figure import Figure

    widths = [r["width"] for r in rows]
    fig = Figure(figsize=(8, 3.2), layout="constrained")
    ax_f, ax_e = fig.subplots(1, 2)
    ax_f.plot(widths, [r["row"]["factor"] for r in rows], "o-", label="AutoNEB path")
    ax_f.plot(widths, [r["line_factor"] for r in rows], "s--", label="straight line")
    ax_f.set(
        xscale="log",
        yscale="log",
        xlabel="base width of ResNet-8",
        ylabel="Sadd./Min. (train loss)",
        title="highest train loss on the path",
    )
    ax_e.plot(widths, [r["row"]["test_error_delta_pct"] for r in rows], "o-")
    ax_e.set(
        xscale="log",
        xlabel="base width of ResNet-8",
        ylabel="test error at saddle - minima (points)",
        title="test-error rise along the path",
    )
    for ax in (ax_f, ax_e):
        ax.minorticks_off()
        ax.set_xticks(widths, [str(w) for w in widths])
    ax_f.legend(frameon=False, fontsize=8)
    fig.savefig(file, dpi=120)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    import torch

    args = parse(argv)
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    rows = [run_width(int(w), args) for w in args.widths.split(",")]
    print(
        f"{'width':>6}{'params':>9}{'Min.':>9}{'Sadd.':>9}{'factor':>8}{'line':>8}{'err min':>9}{'Δ err':>7}"
        f"{'max t':>7}  levelled  minutes"
    )
    for r in rows:
        row = r["row"]
        print(
            f"{r['width']:>6}{r['parameters']:>9}{row['train_loss_min']:>9.4f}{row['train_loss_sadd']:>9.4f}"
            f"{row['factor']:>8.2f}{r['line_factor']:>8.0f}{row['test_error_min_pct']:>9.2f}"
            f"{row['test_error_delta_pct']:>7.2f}{r['max_t']:>7.2f}  {str(r['criteria']['autoneb_levelled_off']):8s}"
            f"{r['seconds'] / 60:>8.1f}"
        )
    plot(rows, os.path.join(args.out, "width-sweep.png"))
    with open(os.path.join(args.out, "width-sweep.json"), "w") as fh:
        json.dump(json.loads(json.dumps(rows, default=float), parse_constant=lambda _: None), fh, indent=2)
    return rows


if __name__ == "__main__":
    main()
