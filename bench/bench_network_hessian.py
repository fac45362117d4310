"""The core's Hessian analysis on a network: its exact autograd products (the potential's
`hessian_products` hook) beside central differences of its gradients, side by side.

    python bench/bench_network_hessian.py [--hidden 16,16] [--samples 256] [--dtype float64]
    python bench/bench_network_hessian.py --chunk 256 [--directions 53]

For an MLP on spirals at a trained point, `certify` (the whole spectrum up to the dense
limit, Lanczos above it with `--lanczos`) runs once through the hook and once with the
hook hidden (a wrapper that answers None, so the core falls back to differences).  Each
row: samples through forward and backward (the unit that travels), median wall time of
three runs after a warm-up, and the
largest error of the lowest eigenvalues against the dense autograd Hessian of the
energy, relative to its largest |eigenvalue|.  The last line gives the ratios.  Lanczos's
iteration count, and so its samples, varies by a few percent from run to run.

With `--chunk K` it compares Hessian-vector products instead: a block of `--directions`
seeded directions at the trained point, H V on the whole batch in one piece (vmapped),
in chunks of K samples with the block vmapped through each chunk (what `hvp_function`
does), and in chunks one direction at a time (what it did before), each row with its
samples and median wall time, and the largest difference from the unchunked block.
"""

from __future__ import annotations

import argparse
import copy
import time
from typing import Any

import numpy as np
import torch

from landscape import PotentialWrapper, certify

__all__ = ["Differences", "measure", "measure_chunked"]


class Differences(PotentialWrapper):
    """The inner potential with its exact Hessian products hidden: central differences."""

    def hessian_products(self, x: Any) -> Any:
        return None


def measure(potential: Any, x: torch.Tensor, truth: np.ndarray, k: int, repeats: int = 3) -> dict[str, Any]:
    """Samples and the relative error of the `k` lowest eigenvalues of one `certify`, and
    its median seconds over `repeats` runs after one untimed (torch's first calls warm up)."""
    certify(potential, x, k=k)
    times = []
    for _ in range(repeats):
        before = potential.cost()["gradient"]
        t0 = time.perf_counter()
        cert = certify(potential, x, k=k)
        times.append(time.perf_counter() - t0)
    seconds = float(np.median(times))
    error = float(np.max(np.abs(cert.eigenvalues - truth[: len(cert.eigenvalues)])) / np.abs(truth).max())
    return {"samples": potential.cost()["gradient"] - before, "seconds": seconds, "error": error, "method": cert.method}


def _median_seconds(potential: Any, run: Any, repeats: int) -> tuple[int, float, torch.Tensor]:
    run()  # warm-up: torch's first calls
    times = []
    for _ in range(repeats):
        before = potential.cost()["gradient"]
        t0 = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - t0)
    return potential.cost()["gradient"] - before, float(np.median(times)), out


def measure_chunked(potential: Any, x: torch.Tensor, chunk: int, k: int, repeats: int = 3) -> dict[str, Any]:
    """Samples, median seconds and deviation from the unchunked block of H V for `k`
    seeded directions: unchunked, chunked as a block, chunked one direction at a time."""
    from landscape_plugins.torchnet.hessian import hvp_function

    v = torch.randn(k, potential.dim, generator=torch.Generator().manual_seed(0)).to(x)
    whole, chunked = hvp_function(potential, x), hvp_function(potential, x, chunk=chunk)
    runs = {
        "unchunked block": lambda: whole(v),
        "chunked block": lambda: chunked(v),
        "chunked rows": lambda: torch.stack([chunked(row) for row in v]),
    }
    rows = {name: _median_seconds(potential, run, repeats) for name, run in runs.items()}
    ref = rows["unchunked block"][2]
    scale = float(ref.abs().max())
    return {
        name: {"samples": s, "seconds": t, "error": float((out - ref).abs().max()) / scale}
        for name, (s, t, out) in rows.items()
    }


def main() -> None:
    from landscape_plugins.torchnet.mlp import make_dataset
    from landscape_plugins.torchnet.models import make_mlp
    from landscape_plugins.torchnet.potential import NetworkPotential
    from landscape_plugins.torchnet.train import TrainConfig, train_minimum

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hidden", default="16,16")
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float64")
    parser.add_argument("--lanczos", action="store_true", help="Lanczos (3 lowest) instead of the dense spectrum.")
    parser.add_argument("--chunk", type=int, default=0, help="Compare chunked Hessian-vector products instead.")
    parser.add_argument("--directions", type=int, default=53, help="Directions in the block (with --chunk).")
    args = parser.parse_args()
    torch.manual_seed(0)
    train, _ = make_dataset("spirals", args.samples, 0, seed=4)
    net = make_mlp(2, tuple(int(h) for h in args.hidden.split(",")), 2, "tanh").to(getattr(torch, args.dtype))
    pot = NetworkPotential(net, train)
    x = train_minimum(pot, 0, TrainConfig(epochs=100, lr=0.03, optimizer="adam", batch_size=None)).params
    if args.chunk:
        rows = measure_chunked(pot, x, args.chunk, args.directions)
        print(
            f"MLP 2-{args.hidden}-2 tanh, {pot.dim} parameters, {args.samples} samples, {args.dtype}, "
            f"{args.directions} directions, chunks of {args.chunk}"
        )
        for name, r in rows.items():
            print(f"  {name:16s} samples {r['samples']:>9d}  {r['seconds']:7.3f} s  vs unchunked {r['error']:.1e}")
        a, b, c = (rows[n]["seconds"] for n in ("chunked block", "unchunked block", "chunked rows"))
        print(f"chunked block / unchunked block: time {a / b:.2f}; chunked rows / chunked block: time {c / a:.1f}")
        return
    if args.lanczos:
        from landscape.analysis import hessian as core

        core.DENSE_MAX = 0
    exact = NetworkPotential(copy.deepcopy(net).double(), train)  # the truth in float64 whatever --dtype
    inputs, targets = exact.train_data.all()
    h = torch.autograd.functional.hessian(lambda z: exact._objective(z, inputs, targets), x.double())
    truth = np.linalg.eigvalsh(h.numpy())
    print(f"MLP 2-{args.hidden}-2 tanh, {pot.dim} parameters, {args.samples} samples, {args.dtype}")
    rows = {"exact (hook)": measure(pot, x, truth, 3), "differences": measure(Differences(pot), x, truth, 3)}
    for name, r in rows.items():
        print(
            f"  {name:14s} {r['method']:8s} samples {r['samples']:>9d}  {r['seconds']:7.3f} s  "
            f"eigenvalue error {r['error']:.2e} of max|lambda|"
        )
    a, b = rows["exact (hook)"], rows["differences"]
    print(f"exact / differences: samples {a['samples'] / b['samples']:.3f}, time {a['seconds'] / b['seconds']:.3f}")


if __name__ == "__main__":
    main()
