"""Reduced reproduction of Draxler et al. 2018, Table 1, on a 2-core CPU (about 15-20 minutes).

    python examples/cifar_reduced.py --out cifar-reduced [--threads 1]

Three minima of a scaled-down CIFAR ResNet (ResNet-8 with base width 8, 19,218
parameters) trained from seeds 0, 1, 2 on a seeded subset of the real CIFAR-10 copy
(5,000 training / 2,000 test images, He et al.'s recipe shortened to 20 epochs:
SGD 0.1, momentum 0.9, weight decay 1e-4, batch 128, lr / 10 at 50% and 75%, padded
crop and flip); explored by AutoNEB (paper Algorithm 3; with three minima every pair)
with the paper's schedule shortened to 4 cycles of 75 steps (lr 0.1, 0.1, 0.01, 0.001,
SGD momentum 0.9, L2 1e-4, batch 128, no climbing image); every path and the straight
lines between the MST's pairs evaluated on the whole subset (BatchNorm recalibrated
per point).  Prints Table 1 with the straight-line barrier beside AutoNEB's and
writes the store, Table 1 as JSON and CSV, and Figures 5-7 into --out.

Running it again continues from the store (each finished minimum, epoch, path and
evaluation is committed); --force starts over.  Measured numbers: docs/cifar.md.
"""
from __future__ import annotations

import argparse
import json
import os
import time

DEFAULTS = dict(model="resnet8-w8", n_train=5000, n_test=2000, minima=3, epochs=20, cycle_steps=75)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="cifar-reduced", help="output folder (store, table, figures)")
    p.add_argument("--data", default="", help="cifar10_jpeg.npz-format file (default: the shared offline copy)")
    p.add_argument("--model", default=DEFAULTS["model"])
    p.add_argument("--n-train", type=int, default=DEFAULTS["n_train"])
    p.add_argument("--n-test", type=int, default=DEFAULTS["n_test"])
    p.add_argument("--minima", type=int, default=DEFAULTS["minima"])
    p.add_argument("--epochs", type=int, default=DEFAULTS["epochs"])
    p.add_argument("--cycle-steps", type=int, default=DEFAULTS["cycle_steps"], help="steps of each of the 4 cycles")
    p.add_argument("--per-segment", type=int, default=3, help="evaluated points between pivots")
    p.add_argument("--line-points", type=int, default=9, help="evaluated points on each straight line")
    p.add_argument("--calibration", type=int, default=512, help="BatchNorm calibration samples per point")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    p.add_argument("--force", action="store_true", help="start over (replace the store)")
    p.add_argument("--progress", action="store_true")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    import torch

    from landscape_plugins.cifar.experiment import Experiment, run_experiment
    from landscape_plugins.cifar.report import write_figures

    args = parse(argv)
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    store = os.path.join(args.out, "cifar-reduced.h5")
    if args.force and os.path.exists(store):
        os.remove(store)
    exp = Experiment(
        potential=dict(model=args.model, data=args.data, n_train=args.n_train, n_test=args.n_test, device="cpu",
                       batched="loop", calibration_size=args.calibration, batch_size=128),
        minima=args.minima, epochs=args.epochs, preset="cpu", cycle_steps=args.cycle_steps,
        per_segment=args.per_segment, line_points=args.line_points)
    began = time.perf_counter()
    result = run_experiment(store, exp, progress=args.progress)
    wall = time.perf_counter() - began
    table = result.table
    print(table.to_text())
    figures = write_figures(table, args.out)
    payload = {**table.to_json(), "seconds": {**result.seconds, "wall": wall}, "figures": figures,
               "command": "python examples/cifar_reduced.py " + " ".join(argv or []),
               "exploration": {"status": result.exploration.status.value, "runs": result.exploration.runs}}
    with open(os.path.join(args.out, "table1.json"), "w") as fh:
        json.dump(payload, fh, indent=2)
    with open(os.path.join(args.out, "table1.csv"), "w") as fh:
        fh.write(table.to_csv())
    stages = ", ".join(f"{k} {v:.0f} s" for k, v in result.seconds.items())
    print(f"wall time {wall:.0f} s ({stages}); wrote {store}, table1.json, table1.csv and "
          f"{len(figures)} figures in {args.out}")
    return payload


if __name__ == "__main__":
    main()
