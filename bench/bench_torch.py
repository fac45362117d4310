"""PyTorch backend benchmark: batched (vmap) vs looped pivot evaluation, and NEB step overhead.

    python bench/bench_torch.py                 # XOR, MLP, ResNet-20; 16 pivots
    python bench/bench_torch.py --threads 1 --nets xor,mlp --repeats 30

For every network, 16 pivots (random perturbations of one initialisation) are
evaluated with energy and gradient on one mini-batch, once with `batched="vmap"`
(torch.func.vmap over stacked parameters) and once with `batched="loop"` (one
forward per pivot, one backward).  Then a string-method band step with those 16
interior pivots (SGD stepper, what AutoNEB runs) is timed against the bare
`energy_and_gradient` call on the same pivots and samples, both with
`batched="auto"` (which measures both strategies once and keeps the faster; the
"chosen" column): the difference is what the path maths costs on top of forward +
backward.  Timings are medians over `--repeats` rounds after a warm-up; within a
round the four measurements alternate, so that machine load affects them alike.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from landscape.optimizers.band import StringMethod
from landscape.path import Path
from landscape.steppers import SGD
from landscape_plugins.torchnet.models import make_mlp, resnet20
from landscape_plugins.torchnet.params import flatten_parameters
from landscape_plugins.torchnet.potential import NetworkPotential
from landscape_plugins.xor.network import XOR_INPUTS, XOR_TARGETS, make_xor_net, xor_loss

__all__ = ["NETS", "main"]


def _xor(device: torch.device) -> tuple[nn.Module, Any, Any]:
    return make_xor_net(2), (XOR_INPUTS, XOR_TARGETS), xor_loss


def _mlp(device: torch.device, batch: int = 256) -> tuple[nn.Module, Any, Any]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 2, generator=g)
    return make_mlp(2, (32, 32), 2, "tanh"), (x, (x[:, 0] * x[:, 1] > 0).long()), None


def _resnet(device: torch.device) -> tuple[nn.Module, Any, Any]:
    g = torch.Generator().manual_seed(0)
    return resnet20(), (torch.randn(64, 3, 32, 32, generator=g), torch.randint(0, 10, (64,), generator=g)), None


#: name -> (description, factory)
NETS: dict[str, tuple[str, Callable[[torch.device], tuple[nn.Module, Any, Any]]]] = {
    "xor": ("XOR 2-2-1 tanh, 4 samples", _xor),
    "mlp": ("MLP 2-32-32-2 tanh, batch 256", _mlp),
    "mlp-b32": ("the same MLP, batch 32", lambda device: _mlp(device, 32)),
    "resnet20": ("ResNet-20 (BatchNorm), batch 64 of 32x32x3", _resnet),
}


def _medians(fns: dict[str, Callable[[], Any]], device: torch.device, repeats: int | None) -> dict[str, float]:
    """Median time of each function, run interleaved so that machine load hits all alike.

    Without `repeats`, as many rounds as fit in about 3 seconds (3 to 30).
    """
    t0 = time.perf_counter()
    for fn in fns.values():
        fn()  # warm-up
    if repeats is None:
        repeats = max(3, min(30, int(3.0 / (time.perf_counter() - t0))))
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            t0 = time.perf_counter()
            fn()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            times[key].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def _pivots(module: nn.Module, n: int, device: torch.device) -> torch.Tensor:
    x0 = flatten_parameters(module)
    g = torch.Generator().manual_seed(1)
    return x0 + 0.01 * torch.randn(n, x0.numel(), generator=g).to(device)


def bench_net(name: str, device: torch.device, pivots: int, repeats: int | None) -> dict[str, Any]:
    """Times (seconds) of vmap, loop, the auto-chosen bare call and a band step."""
    module, data, loss = NETS[name][1](device)
    module = module.to(device)
    x = _pivots(module, pivots, device)
    pots = {how: NetworkPotential(module, data, loss, batched=how) for how in ("vmap", "loop", "auto")}
    auto = pots["auto"]
    band = StringMethod(stepper=SGD(lr=1e-4, momentum=0.9))
    state = band.init(Path(torch.cat([x[:1] - 0.01, x, x[-1:] + 0.01])), auto)  # 16 interior pivots
    interior = state.path.pivots[1:-1]
    times = _medians({
        "vmap": lambda: pots["vmap"].energy_and_gradient(x),
        "loop": lambda: pots["loop"].energy_and_gradient(x),
        "bare": lambda: auto.energy_and_gradient(interior),
        "step": lambda: band.step(state, auto),  # states are immutable: the same step each time
    }, device, repeats)
    chosen = auto.choices.get(f"grad<={2 ** pivots.bit_length() - 1}", "?")
    return {"net": name, "params": int(x.shape[1]), "chosen": chosen, **times}


def _report(rows: list[dict[str, Any]], pivots: int) -> None:
    print(f"\n{pivots} pivots; times are medians in ms")
    print(f"{'network':<10}{'params':>9}{'vmap':>10}{'loop':>10}{'loop/vmap':>11}{'chosen':>8}"
          f"{'fwd+bwd':>10}{'band step':>11}{'overhead':>10}")
    for r in rows:
        over = (r["step"] - r["bare"]) / r["bare"]
        print(f"{r['net']:<10}{r['params']:>9}{1e3 * r['vmap']:>10.2f}{1e3 * r['loop']:>10.2f}"
              f"{r['loop'] / r['vmap']:>10.2f}x{r['chosen']:>8}{1e3 * r['bare']:>10.2f}{1e3 * r['step']:>11.2f}"
              f"{100 * over:>9.1f}%")


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", default=",".join(NETS), help="comma-separated: " + ", ".join(NETS))
    parser.add_argument("--pivots", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=None, help="rounds per network (default: 3 to 30 by speed)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, device {device}, "
          f"{torch.get_num_threads()} threads")
    rows = []
    for name in args.nets.split(","):
        print(f"  {name}: {NETS[name][0]}", flush=True)
        rows.append(bench_net(name, device, args.pivots, args.repeats))
    _report(rows, args.pivots)
    return rows


if __name__ == "__main__":
    main()
