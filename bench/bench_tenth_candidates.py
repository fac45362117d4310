"""Three more ways to the paper schedule's path for a tenth of its samples, one reduced-run pair at a time.

    python bench/bench_tenth_candidates.py curve --pair 0,2 --out out/t22/curve-02.json
    python bench/bench_tenth_candidates.py adam --pair 0,2 --out out/t22/adam-02.json
    python bench/bench_tenth_candidates.py bezier --pair 0,2 --out out/t22/bezier-02.json
    python bench/bench_tenth_candidates.py judge --pair 0,2 --pivots out/t22/bezier-02-pivots.npy --per-segment 9

The reduced CIFAR run's potential (examples/cifar_reduced.py: ResNet-8 of width 8, 500 /
1,000 balanced CIFAR-10 images, BatchNorm recalibrated per evaluated point from 500
images) between two minima of its store (`--minima`, `--pair`), the batch stream
restarted before the path, as every pair of a run is:

- `curve`: a polygonal chain (`--bends`) trained on mini-batches of `--batch` images
  (Garipov et al. 2018: `--draws` points of the curve per step, one shared batch),
  Adam with its learning rate divided by 10 after 50% and again after 80% of
  `--curve-steps`; then the chain at `--handoff` equally spaced t (its corners among
  them) is the starting path of AutoNEB's last cycles (`--neb-plan`, SGD momentum 0.9,
  L2 1e-4, the paper's insertion rule, at most `--max-pivots`) on the same batches.
- `bezier`: a curve alone (`--kind` bezier or polychain, `--bends`), `--draws` t per step
  on one batch of `--curve-batch` images, `--curve-steps` steps of `--curve-stepper`
  (Adam, or SGD with momentum 0.9) at `--curve-lr` under `--lr-schedule` (`garipov`:
  constant for half the steps, then linear to 1% by 90%, Garipov et al. 2018; `steps`:
  /10 after 50% and 80%; `constant`), weight decay `--curve-wd` on the bends; no AutoNEB
  after: the judged path is the curve at `--handoff` equally spaced t.
- `adam`: AutoNEB with the paper's 14 cycles at `--fraction` of their steps on
  `--batch` images, each cycle's SGD replaced by Adam (L2 1e-4) at `--adam-lr`,
  `--adam-lr`/10 and `--adam-lr`/100 in the paper's three phases.
  `--snapshots 880,1320,1540` judges the curve after those steps too (`levelling`: the
  highest whole-set train loss inside after each, and at the end).
- `judge`: no training; the pivots a run saved (`--pivots OUT-pivots.npy`) judged again,
  e.g. at `--per-segment 9` to look between the points Table 1 evaluates.

Judged as Table 1 judges a path (plugins/cifar/report.py): the final path on the whole
training set at its pivots and `--per-segment` points between each two, BatchNorm
recalibrated per point; the highest train loss strictly inside, where it lies (t, and
whether at a pivot), and that loss over the mean train loss of all the store's minima
(Table 1's Min.).  Samples are the potential's counters, per stage.  `--out` writes it
all as JSON, the final pivots beside it as .npy.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from landscape import (
    SGD,
    Adam,
    Curve,
    Cycle,
    LandscapeError,
    Path,
    PolyChain,
    Schedule,
    Store,
    connect,
    make_optimizer,
)
from landscape.foundations.errors import collapse
from landscape.optimizers.curves import LR_DECAYS
from landscape_plugins.cifar.potential import build_cifar
from landscape_plugins.cifar.recipes import scaled_schedule
from landscape_plugins.torchnet.evaluate import evaluate_path

__all__ = ["main", "curve_then_autoneb", "curve_alone", "adam_autoneb", "judge", "LR_SCHEDULES"]


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("candidate", choices=("curve", "adam", "bezier", "judge"))
    p.add_argument("--minima", default="out/reduced-paper/cifar-reduced", help="a store of the reduced run's minima")
    p.add_argument("--pair", default="0,2", help="the two minima, by name")
    p.add_argument("--batch", type=int, default=10, help="images per loss evaluation (curve and band)")
    p.add_argument("--bends", type=int, default=3)
    p.add_argument("--draws", type=int, default=8, help="points of the curve per training step")
    p.add_argument("--curve-batch", type=int, default=0, help="images per curve step (0: --batch)")
    p.add_argument("--curve-steps", type=int, default=550)
    p.add_argument("--curve-lr", type=float, default=3e-3, help="Adam's, /10 after 50%% and 80%% of the steps")
    p.add_argument("--handoff", type=int, default=9, help="pivots of the chain handed to AutoNEB (bezier: judged)")
    p.add_argument("--kind", choices=("bezier", "polychain"), default="bezier", help="bezier candidate: the curve")
    p.add_argument("--curve-stepper", choices=("adam", "sgd"), default="adam", help="bezier candidate")
    p.add_argument("--curve-wd", type=float, default=1e-4, help="bezier candidate: weight decay on the bends")
    p.add_argument("--lr-schedule", choices=tuple(LR_SCHEDULES), default="garipov", help="bezier candidate")
    p.add_argument("--seed", type=int, default=0, help="bezier candidate: the curve's t draws and the batch stream")
    p.add_argument(
        "--neb-plan",
        default="100:0.01,100:0.01,100:0.001,100:0.0001",
        help="AutoNEB cycles after the curve, steps:lr (SGD momentum 0.9, L2 1e-4)",
    )
    p.add_argument("--fraction", type=float, default=0.05, help="adam: of the paper's 16,000 steps")
    p.add_argument("--adam-lr", type=float, default=3e-3)
    p.add_argument("--max-pivots", type=int, default=15)
    p.add_argument("--per-segment", type=int, default=3, help="evaluated points between pivots (Table 1's)")
    p.add_argument("--data", default="", help="cifar10_jpeg.npz-format file (default: the shared offline copy)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="", help="write the numbers as JSON here")
    p.add_argument("--pivots", default="", help="judge: a run's saved pivots (its --out with -pivots.npy)")
    p.add_argument(
        "--snapshots",
        default="",
        help="bezier: also judge the curve after these step counts (e.g. 880,1320,1540): has it levelled off?",
    )
    return p.parse_args(argv)


def saved_path(pot: Any, a: Any, b: Any, args: argparse.Namespace) -> dict[str, Any]:
    """judge: no training; the pivots a run saved, judged again (e.g. at another
    --per-segment), after checking that they join this pair's minima."""
    if not os.path.isfile(args.pivots):
        raise LandscapeError(f"judge needs --pivots FILE (a run's saved pivots); {args.pivots!r} is no file")
    pivots = pot.asarray(np.load(args.pivots))
    joins = pivots.ndim == 2 and pivots.shape[1] == a.shape[0] and torch.equal(pivots[0], a)
    if not (joins and torch.equal(pivots[-1], b)):
        raise LandscapeError(f"{args.pivots} is no path between minima {args.pair} of {args.minima}")
    return {"judged": {"samples": _spent(pot, pot.cost()), "seconds": 0.0}, "pivots": pivots}


#: Learning-rate factor at the fraction `f` of the steps done.
LR_SCHEDULES = {
    "garipov": LR_DECAYS["garipov"],  # the library's (landscape.optimizers.curves)
    "steps": lambda f: 1.0 if f < 0.5 else 0.1 if f < 0.8 else 0.01,
    "constant": lambda f: 1.0,
}


def _spent(pot: Any, mark: dict[str, int]) -> dict[str, int]:
    now = pot.cost()
    return {k: now[k] - mark[k] for k in now}


def curve_then_autoneb(pot: Any, a: Any, b: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The chain trained on mini-batches (of `--curve-batch` images: the same potential
    with another batch size, its own counters), then AutoNEB's last cycles from it."""
    network = pot if not args.curve_batch or args.curve_batch == args.batch else _build(args, args.curve_batch)
    network.restart_stream()
    chain = PolyChain(bends=args.bends, steps=args.curve_steps, samples_per_step=args.draws)
    phases = [(0.5, 1.0), (0.8, 0.1), (1.0, 0.01)]  # (end as a fraction of the steps, lr factor)
    mark, began = network.cost(), time.perf_counter()
    state = chain.init(Path.straight(a, b, 3), network)
    losses = []
    for k in range(args.curve_steps):
        factor = next(f for end, f in phases if k < end * args.curve_steps)
        opt = replace(chain, stepper=Adam(lr=args.curve_lr * factor, weight_decay=1e-4))
        state = opt.step(state, network)
        if state.fault is not None:
            raise LandscapeError(f"curve step {k}: {state.fault}")
        losses.append(float(state.loss))  # a 0-d array of the arrays (Curve keeps it on the device)
    curve = {"samples": _spent(network, mark), "seconds": time.perf_counter() - began}
    curve["mean_loss_per_50_steps"] = [float(np.mean(losses[i : i + 50])) for i in range(0, len(losses), 50)]
    t = np.linspace(0.0, 1.0, args.handoff)
    pivots = chain.points(state.controls, t)
    pivots = torch.cat([a[None], pivots[1:-1], b[None]])
    curve["pivots"] = pivots
    cycles = []
    for item in args.neb_plan.split(","):
        steps, lr = item.split(":")
        cycles.append(Cycle(int(steps), SGD(lr=float(lr), momentum=0.9, weight_decay=1e-4)))
    schedule = Schedule("after-curve", tuple(cycles))
    optimizer = make_optimizer("autoneb", schedule=schedule, climb=False, max_pivots=args.max_pivots)
    mark, began = pot.cost(), time.perf_counter()
    result = connect(pot, a, b, optimizer=optimizer, initial=pivots.detach().numpy())
    neb = {"samples": _spent(pot, mark), "seconds": time.perf_counter() - began, "counted": result.samples}
    return {"curve": curve, "autoneb": neb, "result": result}


def curve_alone(pot: Any, a: Any, b: Any, args: argparse.Namespace) -> dict[str, Any]:
    """A Bezier curve or polychain trained on mini-batches (`--curve-batch` images: the
    same potential with another batch size, its own counters), nothing after it; its
    pivots (evaluated only at the start and the end: `Curve.settle`) are not needed here,
    the curve is taken at `--handoff` equally spaced t for the judge."""
    batch = args.curve_batch or args.batch
    network = pot if batch == args.batch and args.seed == 0 else _build(args, batch, args.seed)
    network.restart_stream()
    curve = Curve(kind=args.kind, bends=args.bends, steps=args.curve_steps, samples_per_step=args.draws, seed=args.seed)
    rule = LR_SCHEDULES[args.lr_schedule]
    try:
        at = sorted({int(k) for k in args.snapshots.split(",") if k.strip()})
    except ValueError:
        at = [0]  # refused below, in one line
    if any(not 0 < k < args.curve_steps for k in at):
        raise LandscapeError(
            f"--snapshots must be step counts between 0 and {args.curve_steps}, got {args.snapshots!r}"
        )
    t, snapshots = np.linspace(0.0, 1.0, args.handoff), {}
    mark, began = network.cost(), time.perf_counter()
    state = curve.init(Path.straight(a, b, 3), network)
    losses = []
    for k in range(args.curve_steps):
        lr = args.curve_lr * rule(k / args.curve_steps)
        if args.curve_stepper == "adam":
            stepper: Any = Adam(lr=lr, weight_decay=args.curve_wd)
        else:
            stepper = SGD(lr=lr, momentum=0.9, weight_decay=args.curve_wd)
        state = replace(curve, stepper=stepper).step(state, network)
        if state.fault is not None:
            raise LandscapeError(f"curve step {k}: {state.fault}")
        losses.append(float(state.loss))  # a 0-d array of the arrays (Curve keeps it on the device)
        if k + 1 in at:  # the curve as it stands, judged like the final one (no extra samples here)
            snapshots[k + 1] = torch.cat([a[None], curve.points(state.controls, t)[1:-1], b[None]])
    out = {"samples": _spent(network, mark), "seconds": time.perf_counter() - began}
    out["mean_loss_per_50_steps"] = [float(np.mean(losses[i : i + 50])) for i in range(0, len(losses), 50)]
    pivots = curve.points(state.controls, t)
    return {"curve": out, "pivots": torch.cat([a[None], pivots[1:-1], b[None]]), "snapshots": snapshots}


def adam_autoneb(pot: Any, a: Any, b: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The paper's cycles at `fraction` of their steps with Adam in each (lr per phase)."""
    sgd = scaled_schedule(args.fraction)
    factors = {0.1: 1.0, 0.01: 0.1, 0.001: 0.01}  # the paper's three learning rates
    cycles = tuple(
        Cycle(c.steps, Adam(lr=args.adam_lr * factors[round(c.stepper.step_size, 12)], weight_decay=1e-4))
        for c in sgd.cycles
    )
    optimizer = make_optimizer("autoneb", schedule=Schedule("adam", cycles), climb=False, max_pivots=args.max_pivots)
    mark, began = pot.cost(), time.perf_counter()
    result = connect(pot, a, b, optimizer=optimizer)
    neb = {"samples": _spent(pot, mark), "seconds": time.perf_counter() - began, "counted": result.samples}
    return {"autoneb": neb, "result": result}


def judge(pot: Any, pivots: Any, per_segment: int, minimum: float) -> dict[str, Any]:
    """Table 1's view of one path: highest whole-set train loss strictly inside."""
    ev = evaluate_path(pot, pivots, per_segment, splits=("train",))
    loss, t = np.asarray(ev["train_loss"]), np.asarray(ev.t)
    inside = (t > 0) & (t < 1)
    k = int(np.argmax(np.where(inside, loss, -np.inf)))
    order = np.argsort(t)
    return {
        "max_inside": float(loss[k]),
        "t": float(t[k]),
        "at_pivot": bool(ev.is_pivot[k]),
        "sadd_over_min": float(loss[k] / minimum),
        "ends": [float(loss[t == 0][0]), float(loss[t == 1][0])],
        "pivots": int(ev.is_pivot.sum()),
        "profile": [round(float(v), 5) for v in loss[order]],
    }


def _build(args: argparse.Namespace, batch: int, seed: int = 0) -> Any:
    """The reduced run's potential (examples/cifar_reduced.py) with `batch` images a loss,
    its batch stream seeded with `seed`."""
    return build_cifar(
        model="resnet8-w8",
        data=args.data,
        n_train=500,
        n_test=1000,
        balanced=True,
        augment=False,
        device="cpu",
        batched="loop",
        calibration_size=500,
        batch_size=batch,
        seed=seed,
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse(argv)
    torch.set_num_threads(args.threads)
    pot = _build(args, args.batch)
    with Store.open(args.minima) as store:
        coords, _, names = store.read_minima()
    pair = [n.strip() for n in args.pair.split(",")]
    if len(pair) != 2 or not set(pair) <= set(names):
        raise LandscapeError(f"--pair must name two minima of {args.minima} ({', '.join(names)}), got {args.pair!r}")
    i, j = (names.index(n) for n in pair)
    a, b = pot.asarray(coords[i]), pot.asarray(coords[j])
    minima = evaluate_path(pot, pot.asarray(np.asarray(coords)), 0, splits=("train",))  # BatchNorm per point
    minimum = float(np.mean(minima["train_loss"]))
    pot.restart_stream()
    began = time.perf_counter()
    candidates = {"curve": curve_then_autoneb, "adam": adam_autoneb, "bezier": curve_alone, "judge": saved_path}
    run = candidates[args.candidate](pot, a, b, args)
    path_seconds = time.perf_counter() - began
    result = run.pop("result", None)
    final = run.pop("pivots") if result is None else result.path.pivots
    snapshots = run.pop("snapshots", {})
    out: dict[str, Any] = {"candidate": args.candidate, "pair": args.pair, "settings": vars(args)}
    out["minima_train_loss"] = [float(v) for v in minima["train_loss"]]
    out["min"] = minimum
    if "autoneb" in run:  # the chain handed to AutoNEB, judged alone too
        curve_pivots = run["curve"].pop("pivots")
        out["curve_alone"] = judge(pot, curve_pivots, args.per_segment, minimum)
    stages = [run[s]["samples"] for s in ("curve", "autoneb", "judged") if s in run]
    out["samples_per_path"] = {k: sum(s[k] for s in stages) for k in stages[0]}
    out["stages"] = run
    out["path_seconds"] = path_seconds
    out["final"] = judge(pot, final, args.per_segment, minimum)
    if snapshots:  # the whole-set maximum after each snapshot's steps, and at the end
        out["snapshots"] = {k: judge(pot, p, args.per_segment, minimum) for k, p in snapshots.items()}
        out["levelling"] = {
            **{k: v["max_inside"] for k, v in out["snapshots"].items()},
            args.curve_steps: out["final"]["max_inside"],
        }
    if result is not None:
        out["final"]["status"] = result.status.value
        out["cycle_maxima_minibatch"] = [float(np.max(np.asarray(c.path.energies)[1:-1])) for c in result.cycles]
    print(json.dumps({k: v for k, v in out.items() if k != "settings"}, indent=1, default=float))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(out, fh, indent=1, default=float)
        if args.candidate != "judge":
            np.save(args.out.removesuffix(".json") + "-pivots.npy", np.asarray(final))
    return out


def cli() -> int:
    """Bad input (no store, an unknown minimum) is one line on stderr and exit status 1."""
    try:
        main()
    except LandscapeError as exc:
        print(f"bench_tenth_candidates: error: {collapse(exc)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(cli())
