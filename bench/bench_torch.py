"""PyTorch backend benchmark: batched (vmap) vs looped pivot evaluation, and band step overhead.

    python bench/bench_torch.py                 # XOR, MLP, ResNet-20; 16 pivots
    python bench/bench_torch.py --threads 1 --nets xor,mlp --repeats 30
    python bench/bench_torch.py --threads 1 --nets mlp --profile   # where the batched call's time goes

For every network, 16 pivots (random perturbations of one initialisation) are
evaluated with energy and gradient on one mini-batch, once with `batched="vmap"`
(torch.func.vmap over stacked parameters) and once with `batched="loop"` (one
forward per pivot, one backward).  Then band steps with those 16 interior pivots are
timed against the bare `energy_and_gradient` call on the same pivots and samples, all
with `batched="auto"` (which measures both strategies once and keeps the faster; the
"chosen" column): a string-method step (SGD, what AutoNEB runs) and an NEB step (the
defaults: FIRE 2.0, automatic spring), each with the path maths on torch tensors (what
an accelerator runs) and on the host numpy views that `connect` uses for a CPU
network (`landscape.paths.host`).  The difference to the bare call is what the path maths
costs on top of forward + backward.  Timings are medians over `--repeats` rounds
after a warm-up; within a round the measurements alternate, so that machine load
affects them alike.

`--profile` runs torch's profiler over the vmap and the loop call and prints their
top operators and the bound that the arithmetic sets: the loop's whole time over the
batched call's time in arithmetic kernels (matrix products, activations, the loss),
which no batching can remove.
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

from landscape import NEB, SGD, Path, StringMethod, host_job
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
    """Times (seconds) of vmap, loop, the auto-chosen bare call and the band steps."""
    module, data, loss = NETS[name][1](device)
    module = module.to(device)
    x = _pivots(module, pivots, device)
    pots = {how: NetworkPotential(module, data, loss, batched=how) for how in ("vmap", "loop", "auto")}
    auto = pots["auto"]
    start = Path(torch.cat([x[:1] - 0.01, x, x[-1:] + 0.01]))  # 16 interior pivots
    host, host_start = host_job(auto, start)
    fns: dict[str, Callable[[], Any]] = {
        "vmap": lambda: pots["vmap"].energy_and_gradient(x),
        "loop": lambda: pots["loop"].energy_and_gradient(x),
    }
    interior = start.pivots[1:-1]
    fns["bare"] = lambda: auto.energy_and_gradient(interior)
    for method, band in (("string", StringMethod(stepper=SGD(lr=1e-4, momentum=0.9))), ("neb", NEB())):
        on_tensors, on_numpy = band.init(start, auto), band.init(host_start, host)
        # states are immutable: the same step each time
        fns[f"{method} torch"] = lambda band=band, state=on_tensors: band.step(state, auto)
        if host is not auto:
            fns[f"{method} host"] = lambda band=band, state=on_numpy: band.step(state, host)
    times = _medians(fns, device, repeats)
    chosen = auto.choices.get(f"grad<={2 ** pivots.bit_length() - 1}", "?")
    return {"net": name, "params": int(x.shape[1]), "chosen": chosen, **times}


#: Operators that do the arithmetic of a forward and backward pass (not views, copies,
#: reshapes or dispatch): batching can remove everything but these.
ARITHMETIC = frozenset(
    {
        "aten::mm",
        "aten::bmm",
        "aten::addmm",
        "aten::baddbmm",
        "aten::tanh",
        "aten::tanh_backward",
        "aten::relu",
        "aten::threshold_backward",
        "aten::sigmoid",
        "aten::sigmoid_backward",
        "aten::_log_softmax",
        "aten::_log_softmax_backward_data",
        "aten::nll_loss_forward",
        "aten::nll_loss_backward",
        "aten::mse_loss",
        "aten::mse_loss_backward",
        "aten::convolution",
        "aten::convolution_backward",
        "aten::native_batch_norm",
        "aten::native_batch_norm_backward",
    }
)


def profile_net(name: str, device: torch.device, pivots: int, rounds: int = 50) -> None:
    """torch's profiler over the vmap and the loop call: top operators, and the bound."""
    from torch.profiler import ProfilerActivity, profile

    module, data, loss = NETS[name][1](device)
    x = _pivots(module.to(device), pivots, device)
    totals: dict[str, tuple[float, float]] = {}
    for how in ("vmap", "loop"):
        pot = NetworkPotential(module, data, loss, batched=how)
        for _ in range(5):
            pot.energy_and_gradient(x)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(rounds):
                pot.energy_and_gradient(x)
        ops = prof.key_averages()
        whole = sum(op.self_cpu_time_total for op in ops) / rounds / 1e3
        arithmetic = sum(op.self_cpu_time_total for op in ops if op.key in ARITHMETIC) / rounds / 1e3
        totals[how] = (whole, arithmetic)
        print(f"\n{name}, {how}: {whole:.2f} ms per call in operators, {arithmetic:.2f} ms of it arithmetic")
        for op in sorted(ops, key=lambda o: -o.self_cpu_time_total)[:8]:
            print(f"  {op.key:<40}{op.self_cpu_time_total / rounds / 1e3:>8.3f} ms{op.count // rounds:>6} calls")
    bound = totals["loop"][0] / totals["vmap"][1]
    print(
        f"\n{name}: loop {totals['loop'][0]:.2f} ms / vmap's arithmetic {totals['vmap'][1]:.2f} ms = at most "
        f"{bound:.2f}x from batching, were vmap's dispatch free"
    )


def _report(rows: list[dict[str, Any]], pivots: int) -> None:
    print(f"\n{pivots} pivots; times are medians in ms; overhead: a band step over the bare call")
    print(
        f"{'network':<10}{'params':>9}{'vmap':>9}{'loop':>9}{'loop/vmap':>10}{'chosen':>7}{'fwd+bwd':>9}"
        f"{'string torch':>13}{'string host':>12}{'neb torch':>10}{'neb host':>9}"
    )
    for r in rows:
        over = {
            k: "" if k not in r else f"{100 * (r[k] - r['bare']) / r['bare']:.0f}%"
            for k in ("string torch", "string host", "neb torch", "neb host")
        }
        print(
            f"{r['net']:<10}{r['params']:>9}{1e3 * r['vmap']:>9.2f}{1e3 * r['loop']:>9.2f}"
            f"{r['loop'] / r['vmap']:>9.2f}x{r['chosen']:>7}{1e3 * r['bare']:>9.2f}"
            f"{over['string torch']:>13}{over['string host']:>12}{over['neb torch']:>10}{over['neb host']:>9}"
        )


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", default=",".join(NETS), help="comma-separated: " + ", ".join(NETS))
    parser.add_argument("--pivots", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=None, help="rounds per network (default: 3 to 30 by speed)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--profile", action="store_true", help="profile the batched and looped calls instead")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}, device {device}, "
        f"{torch.get_num_threads()} threads"
    )
    if args.profile:
        for name in args.nets.split(","):
            profile_net(name, device, args.pivots)
        return []
    rows = []
    for name in args.nets.split(","):
        print(f"  {name}: {NETS[name][0]}", flush=True)
        rows.append(bench_net(name, device, args.pivots, args.repeats))
    _report(rows, args.pivots)
    return rows


if __name__ == "__main__":
    main()
