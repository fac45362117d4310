"""GPU device check of the CIFAR pipeline (issue 5): train, explore, Table 1, NEB step vs training step.

    python bench/gpu_cifar.py --out gpu-cifar [--bf16] [--channels-last]     # one H100/H200, < 8 minutes
    python bench/gpu_cifar.py --smoke --out smoke                            # tiny CPU run, seconds

Full run: 3 ResNet-20 minima on the real CIFAR-10 copy (all 50,000 / 10,000 images
kept decoded on the GPU), He et al.'s recipe shortened to `--epochs` (batch 128,
lr 0.1 / 10 at 50% and 75%, crop and flip on the GPU); explored by AutoNEB with the
paper's four phases shortened to 4 cycles of `--cycle-steps` (lr 0.1, 0.1, 0.01, 0.001,
SGD momentum 0.9, L2 1e-4) on the paper's batch of 512; Table 1 with the straight
line.  Then the throughput check: one NEB step (string method, every pivot of the
longest stored path, the ends included as for any mini-batch loss, batch 512 each)
against one training step of a single ResNet-20 on as many samples (pivots x 512),
both timed over `--time-steps` steps between two device synchronisations (goal: NEB
step <= 1.2x the training step), and the host synchronisations per NEB step counted
with `torch.cuda.set_sync_debug_mode`.  Prints everything and writes summary.json.

`--smoke` runs the same code on a CPU with a tiny ResNet on a few hundred images.
The data file must travel with the working tree: copy ../shared/data/cifar10_jpeg.npz
into an ignored folder (e.g. data/) and pass `--data data/cifar10_jpeg.npz`.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from typing import Any

FULL = dict(
    model="resnet20",
    n_train=0,
    n_test=0,
    epochs=5,
    train_batch=128,
    cycle_steps=60,
    per_segment=3,
    line_points=9,
    calibration=2048,
    batch=512,
    explore_seconds=240.0,
)
SMOKE = dict(
    model="resnet8-w4",
    n_train=512,
    n_test=256,
    epochs=1,
    train_batch=64,
    cycle_steps=3,
    per_segment=1,
    line_points=3,
    calibration=128,
    batch=64,
    explore_seconds=None,
)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="gpu-cifar", help="output folder (store, summary.json, figures)")
    p.add_argument("--data", default="", help="cifar10_jpeg.npz-format file (default: the shared offline copy)")
    p.add_argument("--smoke", action="store_true", help="tiny CPU run that exercises the whole script")
    p.add_argument("--bf16", action="store_true", help="bfloat16 autocast")
    p.add_argument("--channels-last", action="store_true", help="NHWC images and weights")
    p.add_argument("--epochs", type=int, default=None, help="training epochs per minimum")
    p.add_argument("--cycle-steps", type=int, default=None, help="steps of each of the 4 AutoNEB cycles")
    p.add_argument("--minima", type=int, default=3)
    p.add_argument("--time-steps", type=int, default=20, help="steps timed for the throughput check")
    p.add_argument("--batched", default="auto", help="auto, vmap or loop")
    p.add_argument("--force", action="store_true", help="start over (replace the store)")
    return p.parse_args(argv)


def _sync(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn: Any, steps: int, device: Any) -> float:
    """Seconds per call of `fn` over `steps` calls, synchronising only before and after."""
    fn()  # warm-up (also lets `batched="auto"` measure)
    fn()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    _sync(device)
    return (time.perf_counter() - t0) / steps


def _count_syncs(fn: Any, device: Any) -> int | None:
    """Host synchronisations in one call of `fn` (CUDA only), via the sync debug mode."""
    import torch

    if device.type != "cuda":
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            fn()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message).lower() for w in caught)


def throughput(potential: Any, pivots: Any, steps: int) -> dict[str, Any]:
    """One NEB step with all `pivots` against one training step on as many samples."""
    import copy

    import torch

    from landscape import SGD, ElasticBand, Path

    device = potential.device
    # Fault checks read flags on the host: every 50 steps, the steps between them never sync.
    band = ElasticBand(method="string", stepper=SGD(lr=0.001, momentum=0.9, weight_decay=1e-4), fault_check_every=50)
    state = {"s": band.init(Path(potential.asarray(pivots)), potential)}

    def neb_step() -> None:
        state["s"] = band.step(state["s"], potential)

    evaluated = int(pivots.shape[0])  # a mini-batch loss evaluates the ends too
    batch = potential.sampler.batch_size
    samples = evaluated * batch
    net = copy.deepcopy(potential.module).train()
    opt = torch.optim.SGD(net.parameters(), lr=0.001, momentum=0.9, weight_decay=1e-4)
    gen = torch.Generator(device=potential.train_data.index_device).manual_seed(0)
    n = len(potential.train_data)

    def train_step() -> None:
        idx = torch.randint(0, n, (samples,), generator=gen, device=potential.train_data.index_device)
        x, y = potential.train_data.get(idx)
        opt.zero_grad(set_to_none=True)
        potential.loss(net(x), y).backward()
        opt.step()

    neb = _timed(neb_step, steps, device)
    train = _timed(train_step, steps, device)
    return {
        "pivots": evaluated,
        "batch_per_pivot": batch,
        "samples": samples,
        "neb_step_s": neb,
        "train_step_s": train,
        "ratio": neb / train,
        "goal_ratio": 1.2,
        "choices": potential.choices,
        "host_syncs_per_neb_step": _count_syncs(neb_step, device),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    import torch

    from landscape import Store
    from landscape_plugins.cifar.claim import criteria, cycle_curves
    from landscape_plugins.cifar.experiment import Experiment, run_experiment
    from landscape_plugins.cifar.potential import device_name
    from landscape_plugins.cifar.report import write_figures

    args = parse(argv)
    cfg = dict(SMOKE if args.smoke else FULL)
    if args.smoke:
        torch.set_num_threads(1)
    device = "cpu" if args.smoke else "auto"
    os.makedirs(args.out, exist_ok=True)
    store = os.path.join(args.out, "gpu-cifar")
    if args.force and os.path.exists(store):
        os.remove(store)
    exp = Experiment(
        potential=dict(
            model=cfg["model"],
            data=args.data,
            n_train=cfg["n_train"],
            n_test=cfg["n_test"],
            device=device,
            bf16=args.bf16,
            channels_last=args.channels_last,
            batched=args.batched,
            calibration_size=cfg["calibration"],
            batch_size=cfg["batch"],
        ),
        minima=args.minima,
        epochs=args.epochs or cfg["epochs"],
        train_batch=cfg["train_batch"],
        preset="cpu",
        cycle_steps=args.cycle_steps or cfg["cycle_steps"],
        per_segment=cfg["per_segment"],
        line_points=cfg["line_points"],
        explore_seconds=cfg["explore_seconds"],
        eval_batch=2048,
    )
    began = time.perf_counter()
    result = run_experiment(store, exp)
    table = result.table
    print(table.to_text())
    with Store.open(store) as s:
        results = {p.name: s.read_result(p.name) for p in table.paths}
    longest = max((r.path for r in results.values()), key=lambda path: path.n_pivots)
    curves = cycle_curves(store, list(results))  # mini-batch figures: no extra device time
    for name, c in curves.items():  # has the path's highest loss levelled off?
        print(
            f"path {name}: highest mini-batch train loss inside the path after each AutoNEB cycle: "
            f"{[round(v, 5) for v in c['curve']]}"
        )
    checks = criteria(table, curves)
    print("claim criteria: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in checks.items()))
    speed = throughput(result.potential, longest.pivots, args.time_steps)
    wall = time.perf_counter() - began
    name = device_name(result.potential.device)
    print(
        f"throughput on {name}: one NEB step ({speed['pivots']} pivots x {speed['batch_per_pivot']} samples) "
        f"{1000 * speed['neb_step_s']:.1f} ms, one training step of a single network on {speed['samples']} samples "
        f"{1000 * speed['train_step_s']:.1f} ms: ratio {speed['ratio']:.2f} (goal <= 1.2); strategy "
        f"{speed['choices']}; host syncs per NEB step: {speed['host_syncs_per_neb_step']}"
    )
    summary = {
        "device": name,
        "torch": torch.__version__,
        "smoke": args.smoke,
        "bf16": args.bf16,
        "channels_last": args.channels_last,
        "table": table.to_json(),
        "throughput": speed,
        "cycle_maxima": curves,
        "criteria": checks,
        "seconds": {**result.seconds, "wall": wall},
        "exploration": result.exploration.status.value,
        "figures": write_figures(table, args.out),
    }
    with open(os.path.join(args.out, "summary.json"), "w") as fh:
        json.dump(summary, fh, indent=2, default=str)
    stages = ", ".join(f"{k} {v:.0f} s" for k, v in result.seconds.items())
    print(f"wall time {wall:.0f} s ({stages}); wrote {args.out}/summary.json")
    return summary


if __name__ == "__main__":
    main()
