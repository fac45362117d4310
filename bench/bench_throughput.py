"""Throughput of each speed option on and off, side by side: images per second and ratios.

    python bench/bench_throughput.py --threads 1                     # CPU: ResNet-8 (width 8), seconds
    python bench/bench_throughput.py --model resnet20 --batch 128 --pivots 8 --band-batch 512   # a GPU
    python bench/bench_throughput.py --compile --threads 1           # adds torch.compile (minutes on a CPU)
    python bench/bench_throughput.py --only plain,compile --batched vmap --stacked 1 --threads 1   # vmap + compile

Two workloads on synthetic 32x32x3 images held on the device:

- training: one SGD step (momentum 0.9, weight decay 1e-4) of one network on `--batch`
  images, as `train_minimum` runs it; the options are `speed.Speed` fields (bf16
  autocast, channels-last, torch.compile), and "stacked x N": N networks in one
  vmapped step (`stacked.StackedNetworks`, as `train_stacked` runs it), counted as
  N x batch images, against N plain steps one after the other;
- band: one `energy_and_gradient` of `--pivots` points on a batch of `--band-batch`
  (sample-gradients per second = pivots x batch / time), with each potential's own
  choice of vmap or loop (`--batched auto`, printed beside it) or the one forced,
  under the same options.

Each configuration runs `--steps` steps between two device synchronisations; rounds
alternate between the configurations (so machine load hits them alike) and the
median is kept.  Ratios are to the plain configuration of the same workload, measured
in the same run on the same device.  The first call of each configuration is timed
apart (`first_call_seconds`: for a compiled one, tracing and code generation; the
"compile s" column is that less one timed step), and a configuration whose compilation
failed and ran eagerly instead (`speed.CompileFallbackWarning`) is marked "fell back".
`--only NAMES` measures the named configurations (plain always, as the reference);
`--compile-backend` picks torch.compile's backend.  `--out FILE` writes the rows as JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch

from landscape_plugins.cifar.models import build_model
from landscape_plugins.torchnet.params import flatten_parameters
from landscape_plugins.torchnet.potential import NetworkPotential
from landscape_plugins.torchnet.speed import CompileFallbackWarning, Speed
from landscape_plugins.torchnet.stacked import StackedNetworks
from landscape_plugins.torchnet.train import (
    TrainConfig,
    _optimizer,
    _step_loss,
    init_parameters,
)

__all__ = ["OPTIONS", "main"]

#: name -> speed options measured (the compiled ones only with --compile)
OPTIONS: dict[str, Speed] = {
    "plain": Speed(),
    "bf16": Speed(autocast="bfloat16"),
    "channels-last": Speed(channels_last=True),
    "bf16 + channels-last": Speed(autocast="bfloat16", channels_last=True),
}
COMPILED = {
    "compile": Speed(compile="default"),
    "compile + bf16 + channels-last": Speed(autocast="bfloat16", channels_last=True, compile="default"),
}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _data(n: int, device: torch.device, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 32, 32, generator=g).to(device), torch.randint(0, 10, (n,), generator=g).to(device)


def training_steps(
    model: str, batch: int, speeds: dict[str, Speed], stacked: int, device: torch.device
) -> dict[str, tuple[Callable[[], None], int]]:
    """name -> (one training step, images it trains on)."""
    x, y = _data(batch * max(1, stacked), device, 0)
    pot = NetworkPotential(build_model(model).to(device), (x[:batch], y[:batch]), batched="loop")
    config = TrainConfig(lr=0.01, momentum=0.9, weight_decay=1e-4, batch_size=batch)
    steps: dict[str, tuple[Callable[[], None], int]] = {}
    for name, speed in speeds.items():
        module = speed.prepare(init_parameters(pot.module, 0)).train()
        opt = _optimizer(module.parameters(), config)
        loss = _step_loss(module, pot, speed)
        inputs = speed.layout(x[:batch])

        def step(module=module, opt=opt, loss=loss, inputs=inputs) -> None:
            opt.zero_grad(set_to_none=True)
            loss(inputs, y[:batch]).backward()
            opt.step()

        steps[name] = (step, batch)
    if stacked > 1:
        plain = steps["plain"][0]
        steps[f"{stacked} plain, one after another"] = (lambda: [plain() for _ in range(stacked)], stacked * batch)
        nets = StackedNetworks([init_parameters(pot.module, s) for s in range(stacked)], pot.loss).train()
        opt = _optimizer(nets.params.values(), config)
        xs, ys = x.view(stacked, batch, *x.shape[1:]), y.view(stacked, batch)

        def stacked_step() -> None:
            opt.zero_grad(set_to_none=True)
            nets.loss(nets.params, nets.buffers, xs, ys).sum().backward()
            opt.step()

        steps[f"stacked x {stacked}"] = (stacked_step, stacked * batch)
    return steps


def band_steps(
    model: str, pivots: int, batch: int, speeds: dict[str, Speed], device: torch.device, batched: str = "auto"
) -> tuple[dict[str, tuple[Callable[[], None], int]], dict[str, NetworkPotential]]:
    """name -> (one energy_and_gradient of all pivots, sample-gradients it evaluates), and
    name -> its potential (whose `choices` say whether vmap or the loop ran)."""
    x, y = _data(batch, device, 1)
    module = build_model(model).to(device)
    x0 = flatten_parameters(module)
    points = x0 + 0.01 * torch.randn(pivots, x0.numel(), generator=torch.Generator().manual_seed(2)).to(device)
    steps, pots = {}, {}
    for name, speed in speeds.items():
        pots[name] = pot = NetworkPotential(module, (x, y), batch_size=None, speed=speed, batched=batched)
        steps[name] = ((lambda pot=pot: pot.energy_and_gradient(points)), pivots * batch)
    return steps, pots


def measure(
    steps: dict[str, tuple[Callable[[], None], int]], device: torch.device, per_round: int, rounds: int
) -> dict[str, dict[str, float]]:
    """Images per second of each step (median over interleaved rounds) and the ratio to the
    first; the first call of each (compilation, `auto`'s choice) timed apart."""
    first: dict[str, float] = {}
    fell_back: dict[str, bool] = {}
    for name, (fn, _) in steps.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CompileFallbackWarning)
            _sync(device)
            t0 = time.perf_counter()
            fn()
            _sync(device)
            first[name] = time.perf_counter() - t0
            fn()  # warm-up: a second shape (the last batch), the allocator
        fell_back[name] = any(issubclass(w.category, CompileFallbackWarning) for w in caught)
    times: dict[str, list[float]] = {k: [] for k in steps}
    for _ in range(rounds):
        for name, (fn, _) in steps.items():
            _sync(device)
            t0 = time.perf_counter()
            for _ in range(per_round):
                fn()
            _sync(device)
            times[name].append((time.perf_counter() - t0) / per_round)
    out = {
        name: {
            "seconds_per_step": statistics.median(t),
            "images_per_second": steps[name][1] / statistics.median(t),
            "first_call_seconds": first[name],
            "fell_back": fell_back[name],
        }
        for name, t in times.items()
    }
    base = next(iter(out.values()))["images_per_second"]
    for row in out.values():
        row["ratio"] = row["images_per_second"] / base
    return out


def _print(title: str, rows: dict[str, dict[str, float]]) -> None:
    print(f"\n{title}")
    how = "vmap or loop" if any("how" in r for r in rows.values()) else ""
    print(f"{'configuration':<36}{'ms/step':>10}{'images/s':>12}{'ratio':>8}{'compile s':>11}  {how}")
    for name, r in rows.items():
        compile_s = r["first_call_seconds"] - r["seconds_per_step"]
        print(
            f"{name:<36}{1e3 * r['seconds_per_step']:>10.2f}{r['images_per_second']:>12.0f}{r['ratio']:>7.2f}x"
            f"{compile_s:>11.1f}  {r.get('how', '')}{'  fell back' if r['fell_back'] else ''}"
        )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="resnet8-w8", help="a CIFAR model name (cifar.models)")
    p.add_argument("--batch", type=int, default=64, help="training batch")
    p.add_argument("--stacked", type=int, default=3, help="networks trained at once (1: skip)")
    p.add_argument("--pivots", type=int, default=4, help="points of the band evaluation")
    p.add_argument("--band-batch", type=int, default=64, help="images per pivot in the band evaluation")
    p.add_argument("--steps", type=int, default=3, help="steps per round between two synchronisations")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--batched", default="auto", help="band evaluation: auto, vmap or loop")
    p.add_argument("--compile", action="store_true", help="also measure torch.compile (inductor)")
    p.add_argument("--compile-backend", default="inductor", help="torch.compile backend of the compiled rows")
    p.add_argument("--only", default="", help="comma-separated configurations to measure (plain is always kept)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--out", default="", help="write the rows as JSON here")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    print(f"torch {torch.__version__}, {name}, device {device}, {torch.get_num_threads()} threads, model {args.model}")
    speeds = {**OPTIONS, **(COMPILED if args.compile or args.only else {})}
    speeds = {k: replace(v, compile_backend=args.compile_backend) if v.compile else v for k, v in speeds.items()}
    if args.only:
        wanted = {name.strip() for name in args.only.split(",")} | {"plain"}
        unknown = wanted - set(speeds)
        if unknown:
            p.error(f"--only: unknown configuration(s) {', '.join(sorted(unknown))}; known: {', '.join(speeds)}")
        speeds = {k: v for k, v in speeds.items() if k in wanted}
    train = measure(
        training_steps(args.model, args.batch, speeds, args.stacked, device), device, args.steps, args.rounds
    )
    _print(f"training step, batch {args.batch}", train)
    steps, pots = band_steps(args.model, args.pivots, args.band_batch, speeds, device, args.batched)
    band = measure(steps, device, args.steps, args.rounds)
    for key, row in band.items():
        row["how"] = ",".join(sorted(set(pots[key].choices.values()))) or args.batched
    _print(f"band evaluation, {args.pivots} pivots x {args.band_batch} images (energy and gradient)", band)
    result = {"device": name, "torch": torch.__version__, "args": vars(args), "training": train, "band": band}
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(result, fh, indent=2)
    return result


if __name__ == "__main__":
    main()
