"""Reduced test of Draxler et al. 2018's claim on real CIFAR-10, on a 2-core CPU (about 30 min).

    python examples/cifar_reduced.py --out cifar-reduced [--threads 1]

The claim is about minima that fit their training set, so this run makes the network
fit it: ResNet-8 with base width 8 (19,218 parameters) on a class-balanced seeded
subset of 500 training images (50 per class; 1,000 balanced test images), no
augmentation, SGD momentum 0.9, weight decay 1e-4, batch 32, lr 0.05 for 100 epochs,
x0.1 at 60% and 85%.  The minima (seeds 0, 1, 2) are checked for train loss <= 0.002
and 0% train error, with their full-batch gradient norm.  AutoNEB (paper Algorithm 3:
with three minima every pair) runs the paper's 14 cycles scaled to `--fraction` of
their steps (0.05: 800 steps per path; SGD momentum 0.9, L2 1e-4, lr 0.1 / 0.01 /
0.001 as in the paper, 100 images per step, no climbing image); the highest
training loss inside each path after every cycle, evaluated on the whole training
subset, shows whether it has levelled off.
Table 1 follows, with the straight line beside AutoNEB's path and the fields that
cannot hide the spread between the ends (where the maximum lies, Sadd./Min.).

At the end the paper's claim is tested, as far as this scale allows: every path's
maximum strictly inside, Sadd./Min. of the train loss within 10x while the straight
line is >= 100x, test error at the saddle within 3 points of the minima.

Running it again continues from the store (each finished minimum, epoch, path cycle
and evaluation is committed); --force starts over.  Measured numbers: docs/cifar.md.

Other AutoNEB schedules on the same minima, without training them again:

    python examples/cifar_reduced.py --out out/tenth --minima-from out/reduced-paper/cifar-reduced --schedule tenth

copies the minima of an earlier run's store bit for bit (checked at the end) into a
fresh store and runs AutoNEB with `--schedule` (`paper` scaled by `--fraction`, another
preset of `landscape_plugins.cifar.recipes.AUTONEB_PRESETS`, or a schedule JSON file);
`--align` starts every band from the weight-matched straight line.  `--schedule bezier`
connects every pair by a trained curve instead (`landscape_plugins.cifar.curve_presets`:
a 3-bend Bezier curve, 1,760 steps of one t on 50 images, stored at 15 pivots), with no
per-cycle curves (a curve has no cycles).
"""

from __future__ import annotations

import argparse
import json
import os
import time

DEFAULTS = dict(
    model="resnet8-w8",
    n_train=500,
    n_test=1000,
    minima=3,
    epochs=100,
    train_batch=32,
    lr=0.05,
    fraction=0.05,
    neb_batch=100,
    max_pivots=15,
    schedule="paper",
)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="cifar-reduced", help="output folder (store, table, figures)")
    p.add_argument("--data", default="", help="cifar10_jpeg.npz-format file (default: the shared offline copy)")
    p.add_argument("--model", default=DEFAULTS["model"])
    p.add_argument("--n-train", type=int, default=DEFAULTS["n_train"], help="balanced: a multiple of 10")
    p.add_argument("--n-test", type=int, default=DEFAULTS["n_test"], help="balanced: a multiple of 10")
    p.add_argument("--minima", type=int, default=DEFAULTS["minima"])
    p.add_argument("--epochs", type=int, default=DEFAULTS["epochs"])
    p.add_argument("--train-batch", type=int, default=DEFAULTS["train_batch"])
    p.add_argument("--lr", type=float, default=DEFAULTS["lr"], help="training learning rate")
    p.add_argument(
        "--fraction",
        type=float,
        default=DEFAULTS["fraction"],
        help="AutoNEB: the paper's 14 cycles with this fraction of their steps (0.05: 800 steps)",
    )
    p.add_argument(
        "--schedule",
        default=DEFAULTS["schedule"],
        help="AutoNEB schedule: paper (its 14 cycles times --fraction), tenth (the same at a "
        "tenth of the batch and learning rates), another preset of recipes.AUTONEB_PRESETS, "
        "a schedule JSON file, or a curve preset of curve_presets.CURVE_PRESETS (bezier)",
    )
    p.add_argument(
        "--neb-batch",
        type=int,
        default=None,
        help=f"images per AutoNEB loss evaluation (default: the preset's, else {DEFAULTS['neb_batch']})",
    )
    p.add_argument(
        "--minima-from",
        default="",
        metavar="STORE",
        help="copy the trained minima of this store (same data and recipe) instead of training",
    )
    p.add_argument(
        "--align",
        action="store_true",
        help="declare the channel-permutation symmetry: every band starts on the weight-matched line",
    )
    p.add_argument(
        "--max-pivots",
        type=int,
        default=DEFAULTS["max_pivots"],
        help="cap on a path's pivots: on a near-flat path the paper's relative insertion rule keeps "
        "inserting (0: no cap)",
    )
    p.add_argument("--per-segment", type=int, default=3, help="evaluated points between pivots")
    p.add_argument("--line-points", type=int, default=9, help="evaluated points on each straight line")
    p.add_argument("--calibration", type=int, default=500, help="BatchNorm calibration samples per point")
    p.add_argument(
        "--threads", type=int, default=2, help="torch intra-op threads (2 was faster on a quiet 2-core machine)"
    )
    p.add_argument("--force", action="store_true", help="start over (replace the store)")
    p.add_argument("--progress", action="store_true")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    import numpy as np
    import torch

    from landscape import Store, load_schedule, remove_store
    from landscape_plugins.cifar.claim import criteria, cycle_curves, gradient_norms
    from landscape_plugins.cifar.curve_presets import CURVE_PRESETS
    from landscape_plugins.cifar.experiment import Experiment, run_experiment
    from landscape_plugins.cifar.potential import build_cifar
    from landscape_plugins.cifar.recipes import AUTONEB_PRESETS, TENTH, scaled_schedule, tenth_schedule
    from landscape_plugins.cifar.report import write_figures
    from landscape_plugins.torchnet.trainrun import copy_minima, store_description

    args = parse(argv)
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    store = os.path.join(args.out, "cifar-reduced")
    if args.force:
        remove_store(store)
    if args.schedule == "paper":
        preset, batch = scaled_schedule(args.fraction, name=f"paper-x{args.fraction:g}"), None
    elif args.schedule == "tenth":  # scaled as paper is: a tenth of its samples per pivot
        preset, batch = tenth_schedule(args.fraction), int(DEFAULTS["neb_batch"] * TENTH)
    elif args.schedule in CURVE_PRESETS:  # the reduced run's batch times the preset's fraction
        preset = args.schedule
        batch = int(DEFAULTS["neb_batch"] * CURVE_PRESETS[args.schedule].batch_fraction)
    elif args.schedule in AUTONEB_PRESETS:
        preset, batch = args.schedule, AUTONEB_PRESETS[args.schedule][1]
    else:
        preset, batch = load_schedule(args.schedule), None
    options = dict(
        model=args.model,
        data=args.data,
        n_train=args.n_train,
        n_test=args.n_test,
        balanced=True,
        augment=False,
        device="cpu",
        batched="loop",
        calibration_size=args.calibration,
        batch_size=args.neb_batch or batch or DEFAULTS["neb_batch"],
        **({"align": True} if args.align else {}),
    )
    exp = Experiment(
        potential=options,
        minima=args.minima,
        epochs=args.epochs,
        train_batch=args.train_batch,
        lr=args.lr,
        milestones=(0.6, 0.85),
        preset=preset,
        max_pivots=args.max_pivots or None,
        per_segment=args.per_segment,
        line_points=args.line_points,
    )
    began = time.perf_counter()
    if args.minima_from and not os.path.lexists(store):  # a second call continues the copy's store
        copy_minima(args.minima_from, store, store_description(build_cifar(**options), "cifar", options))
    result = run_experiment(store, exp, progress=args.progress)
    table = result.table
    with Store.open(store) as s:
        coords, _, names = s.read_minima()
    norms = gradient_norms(result.potential, coords)
    curved = args.schedule in CURVE_PRESETS  # no cycles to follow
    curves = {} if curved else cycle_curves(store, [p.name for p in table.paths], result.potential)
    wall = time.perf_counter() - began
    row = table.row()
    line_factor = row["line_factor"]
    checks = criteria(table, None if curved else curves)
    identical = None
    if args.minima_from:  # the paths must connect the very minima of the other run
        with Store.open(args.minima_from) as s:
            source, source_e, source_names = s.read_minima()
        with Store.open(store) as s:
            copied, copied_e, _ = s.read_minima()
        identical = bool(
            source_names == names and np.array_equal(source, copied) and np.array_equal(source_e, copied_e)
        )
        print(f"minima bit-identical to {args.minima_from}: {'yes' if identical else 'NO'}")
    print(table.to_text())
    print(
        "minima (full training subset): "
        + ", ".join(
            f"{n}: train loss {table.minima['train_loss'][i]:.4g}, train error "
            f"{100 * table.minima['train_error'][i]:.1f}%, "
            f"gradient norm {norms[i]:.3g}"
            for i, n in enumerate(names)
        )
    )
    for name, c in curves.items():
        print(
            f"path {name}: highest training loss inside the path after each cycle (whole training set) "
            f"{[round(v, 4) for v in c['curve']]}; last cycle changed it {100 * c['last_change']:.1f}%"
            + (" (levelled off)" if c["levelled"] else " (still changing)")
        )
    print(
        f"straight line / minima: {line_factor:.0f}x; claim criteria: "
        + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in checks.items())
    )
    figures = write_figures(table, args.out)
    payload = {
        **table.to_json(),
        "seconds": {**result.seconds, "wall": wall},
        "figures": figures,
        "gradient_norms": dict(zip(names, norms)),
        "cycle_curves": curves,
        "line_factor": line_factor,
        "criteria": checks,
        "minima_from": args.minima_from or None,
        "minima_identical": identical,
        "command": "python examples/cifar_reduced.py " + " ".join(argv or []),
        "exploration": {"status": result.exploration.status.value, "runs": result.exploration.runs},
    }
    with open(os.path.join(args.out, "table1.json"), "w") as fh:
        json.dump(json.loads(json.dumps(payload, default=float), parse_constant=lambda _: None), fh, indent=2)
    with open(os.path.join(args.out, "table1.csv"), "w") as fh:
        fh.write(table.to_csv())
    stages = ", ".join(f"{k} {v:.0f} s" for k, v in result.seconds.items())
    print(
        f"wall time {wall:.0f} s ({stages}); wrote {store}, table1.json, table1.csv and "
        f"{len(figures)} figures in {args.out}"
    )
    return payload


if __name__ == "__main__":
    main()
