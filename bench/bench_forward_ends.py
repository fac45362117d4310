"""What forward-only ends save on the reduced CIFAR run: one AutoNEB path, twice, side by side.

    python bench/bench_forward_ends.py --minima out/reduced-paper/cifar-reduced --fraction 0.00625 --threads 1

A band on a mini-batch loss evaluates its two fixed ends again on every step's batch
(their energies belong to the step's profile: tangents, the climber, the insertion
test).  Before `Potential.same_batch_energy` they went through the gradient call with
the moving pivots; now the network evaluates them forward-only on the batch that call
drew (`landscape.optimizers.forces.evaluate_pivots`).  This runs the same path both
ways: the reduced run's potential (examples/cifar_reduced.py: ResNet-8 of width 8, 500
/ 1,000 balanced CIFAR-10 images, 100 images per step, at most 15 pivots) between two
minima of its store (`--minima`, `--pair`), the paper's 14 AutoNEB cycles at
`--fraction` of their steps, the batch stream restarted before each run.  It prints
each run's sample-gradients and sample-evaluations, their difference against the hand
count (2 ends x images per step x evaluations of the band), the saved fraction of
sample-gradients, the largest difference between the two final paths' pivots, and the
wall time of each (one machine, the same call, interleaved: a ratio, not a speed).
`--out FILE` writes the numbers as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import numpy as np
import torch

from landscape import LandscapeError, PotentialWrapper, Store, connect, make_optimizer
from landscape.foundations.errors import collapse
from landscape_plugins.cifar.potential import build_cifar
from landscape_plugins.cifar.recipes import scaled_schedule

__all__ = ["WithEndGradients", "main"]


class WithEndGradients(PotentialWrapper):
    """The potential as bands saw it before: the ends evaluated with gradients, in the
    gradient call of the moving pivots."""

    same_batch_energy = False


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minima", default="out/reduced-paper/cifar-reduced", help="a store of the reduced run's minima")
    p.add_argument("--pair", default="0,1", help="the two minima, by name")
    p.add_argument("--fraction", type=float, default=0.00625, help="of the paper's 16,000 AutoNEB steps")
    p.add_argument("--batch", type=int, default=100, help="images per AutoNEB step")
    p.add_argument("--max-pivots", type=int, default=15)
    p.add_argument("--data", default="", help="cifar10_jpeg.npz-format file (default: the shared offline copy)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="", help="write the numbers as JSON here")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse(argv)
    torch.set_num_threads(args.threads)
    options = dict(
        model="resnet8-w8",
        data=args.data,
        n_train=500,
        n_test=1000,
        balanced=True,
        augment=False,
        device="cpu",
        batched="loop",
        calibration_size=500,
        batch_size=args.batch,
    )
    pot = build_cifar(**options)
    with Store.open(args.minima) as store:
        coords, _, names = store.read_minima()
    pair = [n.strip() for n in args.pair.split(",")]
    if len(pair) != 2 or not set(pair) <= set(names):
        raise LandscapeError(f"--pair must name two minima of {args.minima} ({', '.join(names)}), got {args.pair!r}")
    i, j = (names.index(n) for n in pair)
    schedule = scaled_schedule(args.fraction)
    runs: dict[str, Any] = {}
    for label, view in (("ends with gradients", WithEndGradients(pot)), ("forward-only ends", pot)):
        pot.restart_stream()
        optimizer = make_optimizer("autoneb", schedule=schedule, climb=False, max_pivots=args.max_pivots)
        began = time.perf_counter()
        result = connect(view, pot.asarray(coords[i]), pot.asarray(coords[j]), optimizer=optimizer)
        seconds = time.perf_counter() - began
        evaluations = sum(c.steps + 1 for c in result.cycles)  # the band at each cycle's start and each step
        runs[label] = {"result": result, "seconds": seconds, "evaluations": evaluations}
        print(
            f"{label}: {result.samples['gradient']:,} sample-gradients, {result.samples['forward']:,} "
            f"sample-evaluations, {result.path.n_pivots} pivots, {result.nit} steps, {seconds:.1f} s"
        )
    old, new = runs["ends with gradients"], runs["forward-only ends"]
    saved = old["result"].samples["gradient"] - new["result"].samples["gradient"]
    hand = 2 * args.batch * new["evaluations"]
    apart = float(
        np.max(np.abs(np.asarray(old["result"].path.pivots) - np.asarray(new["result"].path.pivots)))
        if old["result"].path.n_pivots == new["result"].path.n_pivots
        else np.inf
    )
    out = {
        "pair": args.pair,
        "fraction": args.fraction,
        "schedule_steps": schedule.total_steps,
        "batch": args.batch,
        "threads": args.threads,
        "samples": {k: v["result"].samples for k, v in runs.items()},
        "seconds": {k: v["seconds"] for k, v in runs.items()},
        "band_evaluations": new["evaluations"],
        "saved_sample_gradients": saved,
        "hand_count": hand,
        "saved_fraction": saved / old["result"].samples["gradient"],
        "largest_pivot_difference": apart,
        "time_ratio": new["seconds"] / old["seconds"],
    }
    print(
        f"saved {saved:,} sample-gradients ({100 * out['saved_fraction']:.1f}% of the path's; hand count "
        f"2 x {args.batch} x {new['evaluations']} evaluations = {hand:,}); moved to sample-evaluations: "
        f"{new['result'].samples['forward'] - old['result'].samples['forward']:,}; final pivots differ by at "
        f"most {apart:.2g}; wall time ratio {out['time_ratio']:.3f}"
    )
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(out, fh, indent=2)
    return out


def cli() -> int:
    """Bad input (no store, an unknown minimum) is one line on stderr and exit status 1."""
    try:
        main()
    except LandscapeError as exc:
        print(f"bench_forward_ends: error: {collapse(exc)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(cli())
