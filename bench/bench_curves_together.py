"""Curves of K pairs trained together (one vmapped call per step) against one pair after another.

    python bench/bench_curves_together.py --threads 1                  # CPU: ResNet-8 (width 8), about a minute
    python bench/bench_curves_together.py --pairs 1,3,6 --threads 1    # how the ratio grows with K
    python bench/bench_curves_together.py --dtype float64 --threads 1  # the curves equal to rounding
    python bench/bench_curves_together.py --model resnet20 --batch 256 --steps 50   # a GPU

The workload is the bezier preset's step (`cifar.curve_presets`: 3 bends, one t per
step, Adam with Garipov's decay) on synthetic 32x32x3 images held on the device, batch
`--batch` (the reduced run's is 50), between `--pairs` pairs of seeded random networks
(their minima do not matter to the cost).  "one by one" runs each pair as a pair's run
does: `restart_stream`, `Curve.init`, `--steps` x `Curve.step`, `Curve.settle`, with the
potential's own choice of vmap or loop; "together" is `lockstep.train_curves_together`
of all pairs with the joint call forced (`batched="vmap"`); "auto" is its default,
which times both ways at the first step and keeps the faster (the choice is printed).
All sample each curve at `--pivots` pivots at the start and the end (forward only, the
same count every way).  Rounds alternate between the ways (machine load hits them
alike) and the median is kept; the ratio is sample-gradients per second over one by
one's, on the same device in the same run, with the sample counts read from
`potential.cost()`, and the largest difference of the trained controls between one by
one and together (in float32 Adam turns the rounding of near-zero gradient components,
which differs between a looped and a vmapped convolution, into differences of up to its
learning rate; the tests compare in float64, and in float32 against a vmapped potential).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from dataclasses import replace
from typing import Any

import torch

from landscape import Path
from landscape_plugins.cifar.curve_presets import CURVE_PRESETS
from landscape_plugins.cifar.models import build_model
from landscape_plugins.torchnet.lockstep import train_curves_together
from landscape_plugins.torchnet.params import flatten_parameters
from landscape_plugins.torchnet.potential import NetworkPotential
from landscape_plugins.torchnet.train import init_parameters

__all__ = ["main"]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _one_by_one(pot: NetworkPotential, pairs: list[Any], curve: Any, pivots: int) -> list[torch.Tensor]:
    out = []
    for a, b in pairs:
        pot.restart_stream()
        state = curve.init(Path.straight(a, b, pivots), pot)
        while curve.terminate(state) is None:
            state = curve.step(state, pot)
        out.append(curve.settle(state, pot)[0].controls)
    return out


def _auto(pot: NetworkPotential, pairs: list[Any], curve: Any, pivots: int, chosen: list[str]) -> list[torch.Tensor]:
    out = train_curves_together(pot, pairs, curve, pivots=pivots)
    chosen.append(out[0].how)
    return [p.controls for p in out]


def measure(pot: NetworkPotential, k: int, steps: int, pivots: int, rounds: int) -> dict[str, Any]:
    """Seconds, samples and sample-gradients per second of K pairs both ways."""
    curve = replace(CURVE_PRESETS["bezier"].optimizer(seed=0), steps=steps)
    minima = [flatten_parameters(init_parameters(pot.module, s), pot.spec) for s in range(max(2, k))]
    pairs = [(minima[i], minima[(i + 1) % len(minima)]) for i in range(k)]
    runs = {
        "one by one": lambda: _one_by_one(pot, pairs, curve, pivots),
        "together": lambda: [
            p.controls for p in train_curves_together(pot, pairs, curve, pivots=pivots, batched="vmap")
        ],
        "auto": lambda: _auto(pot, pairs, curve, pivots, chosen),
    }
    chosen: list[str] = []
    times: dict[str, list[float]] = {name: [] for name in runs}
    samples: dict[str, dict[str, int]] = {}
    controls: dict[str, list[torch.Tensor]] = {}
    for run in runs.values():  # warm-up: the potential's vmap-or-loop timing, the allocator
        run()
    for _ in range(rounds):
        for name, run in runs.items():
            before = pot.cost()
            _sync(pot.device)
            t0 = time.perf_counter()
            controls[name] = run()
            _sync(pot.device)
            times[name].append(time.perf_counter() - t0)
            samples[name] = {kind: n - before[kind] for kind, n in pot.cost().items()}
    rows: dict[str, Any] = {}
    for name, t in times.items():
        seconds = statistics.median(t)
        rows[name] = {"seconds": seconds, **samples[name], "gradient_per_second": samples[name]["gradient"] / seconds}
    diff = max(float((a - b).abs().max()) for a, b in zip(controls["one by one"], controls["together"]))
    return {
        "pairs": k,
        "rows": rows,
        "ratio": {
            name: r["gradient_per_second"] / rows["one by one"]["gradient_per_second"] for name, r in rows.items()
        },
        "auto_chose": sorted(set(chosen)),
        "max_controls_difference": diff,
        "choices": pot.choices,
    }


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="resnet8-w8", help="a CIFAR model name (cifar.models)")
    p.add_argument("--pairs", default="3", help="comma-separated numbers of pairs trained together")
    p.add_argument("--batch", type=int, default=50, help="images per curve step")
    p.add_argument("--images", type=int, default=500, help="synthetic training images")
    p.add_argument("--steps", type=int, default=20, help="curve steps per pair")
    p.add_argument("--pivots", type=int, default=3, help="pivots sampled at the start and the end")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--dtype", default="float32", choices=("float32", "float64"), help="the networks' and images'")
    p.add_argument("--out", default=None, help="write the rows as JSON here")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(args.images, 3, 32, 32, generator=g), torch.randint(0, 10, (args.images,), generator=g)
    dtype = getattr(torch, args.dtype)
    pot = NetworkPotential(build_model(args.model).to(device, dtype), (x.to(dtype), y), batch_size=args.batch)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    print(f"{args.model} (dim {pot.dim}, {args.dtype}) on {name}, {torch.get_num_threads()} threads; ", end="")
    print(f"batch {args.batch}, {args.steps} steps of one t per pair, {args.pivots} pivots; {args.rounds} rounds")
    print(f"{'pairs':>5}  {'way':<11}{'seconds':>9}{'sample-grads':>14}{'forward':>9}{'grads/s':>10}{'ratio':>8}")
    out = []
    for k in (int(v) for v in args.pairs.split(",")):
        res = measure(pot, k, args.steps, args.pivots, args.rounds)
        for way, r in res["rows"].items():
            note = f"  (chose {', '.join(res['auto_chose'])})" if way == "auto" else ""
            print(
                f"{k:>5}  {way:<11}{r['seconds']:>9.2f}{r['gradient']:>14,}{r['forward']:>9,}"
                f"{r['gradient_per_second']:>10.0f}{res['ratio'][way]:>7.2f}x{note}"
            )
        how = ", ".join(f"{key}: {v}" for key, v in res["choices"].items())
        print(f"       largest difference of the trained controls: {res['max_controls_difference']:.2e} ({how})")
        out.append(res)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"device": name, "args": vars(args), "results": out}, f, indent=2)
    return out


if __name__ == "__main__":
    main()
