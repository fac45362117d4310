"""Bezier and PolyChain curves on Mueller-Brown A -> B against the grid-exact minimax, by
objective, and on a tiny MLP pair.

    python bench/bench_curves.py [--steps 2000] [--pivots 9] [--seeds 3] [--tables sweep,default,mlp]

sweep: the highest energy of the dense curve (401 equally spaced t) after `--steps` steps,
median and range over `--seeds` seeds, for every objective (mean: Garipov's mean energy
at the sampled t; cvar: the mean of the top quarter; softmax: log-sum-exp at a quarter of
their spread) with and without `spread` (polychain bends at equal arc length after every
update), Bezier (1 bend) and PolyChain with K = 1, 2, 4, 8 bends.

default: what `connect` trains on Mueller-Brown without curve settings (a deterministic
potential): the dense curve's and the stored path's highest energy, the mean energy over
t, force calls (every evaluated point: training samples, the path after each step, the
final profile) and wall time; AutoNEB with a climbing image is the reference row.

mlp: the `mlp` plugin's two minima (spirals, 16 hidden units, full-batch loss), the loss
at the highest point of the dense curve (101 t) and its mean over t for each objective,
against the straight line's highest loss.  Prints Markdown tables (docs/curves.md quotes them).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from landscape import connect, grid_minimax, load_potential, make_optimizer, to_numpy

DENSE = np.linspace(0.0, 1.0, 401)
OBJECTIVES = ("mean", "cvar", "softmax")


def _cell(values: list[float], fmt: str) -> str:
    v = np.asarray(values)
    if len(v) == 1 or np.ptp(v) == 0:
        return format(float(np.median(v)), fmt)
    return f"{format(float(np.median(v)), fmt)} ({format(float(v.min()), fmt)} .. {format(float(v.max()), fmt)})"


def _dense(pot: Any, kind: str, bends: int, result: Any, t: np.ndarray = DENSE) -> np.ndarray:
    curve = make_optimizer(kind, bends=bends)
    return np.asarray(to_numpy(pot.energy(pot.asarray(curve.points(result.state.controls, t)))), dtype=np.float64)


def sweep(pot: Any, a: Any, b: Any, exact: float, args: argparse.Namespace) -> None:
    print(f"Highest energy of the dense curve (401 t), median (range) over seeds 0..{args.seeds - 1}:")
    print()
    print("| objective | spread | bezier, 1 bend | polychain, 1 bend | 2 bends | 4 bends | 8 bends |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for objective in OBJECTIVES:
        for spread in (False, True):
            cells = []
            for kind, bends in [("bezier", 1), ("polychain", 1), ("polychain", 2), ("polychain", 4), ("polychain", 8)]:
                if spread and kind == "bezier":
                    cells.append("-")
                    continue
                tops = []
                for seed in range(args.seeds):
                    result = connect(
                        pot, a, b, method=kind, bends=bends, steps=args.steps, seed=seed, pivots=args.pivots,
                        objective=objective, spread=spread,
                    )  # fmt: skip
                    tops.append(float(_dense(pot, kind, bends, result).max()))
                cells.append(_cell(tops, ".2f"))
            print(f"| {objective} | {'yes' if spread else 'no'} | {' | '.join(cells)} |", flush=True)
    print(f"\n(the grid-exact minimax: {exact:.3f})\n")


def default(pot: Any, a: Any, b: Any, exact: float, args: argparse.Namespace) -> None:
    print("connect's default on a deterministic potential (softmax; spread with 2 or more bends):")
    print()
    print(
        "| method | highest energy, dense curve (401 t) | highest energy, stored path | above exact | "
        "mean energy over t | force calls | seconds |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for kind, bends in [("bezier", 1), ("polychain", 1), ("polychain", 2), ("polychain", 4), ("polychain", 8)]:
        values: dict[str, list[float]] = {k: [] for k in ("dense", "path", "mean", "nfev", "seconds")}
        for seed in range(args.seeds):
            began = time.perf_counter()
            result = connect(pot, a, b, method=kind, bends=bends, steps=args.steps, seed=seed, pivots=args.pivots)
            values["seconds"].append(time.perf_counter() - began)
            energies = _dense(pot, kind, bends, result)
            values["dense"].append(float(energies.max()))
            values["mean"].append(float(energies.mean()))
            values["path"].append(result.upper_bound)
            values["nfev"].append(result.nfev)
        name = f"{kind}, {bends} bend{'s' if bends > 1 else ''}"
        print(
            f"| {name} | {_cell(values['dense'], '.3f')} | {_cell(values['path'], '.3f')} | "
            f"{np.median(values['dense']) - exact:+.3f} | {_cell(values['mean'], '.2f')} | "
            f"{_cell(values['nfev'], '.0f')} | {_cell(values['seconds'], '.2f')} |",
            flush=True,
        )
    began = time.perf_counter()
    ref = connect(pot, a, b, method="autoneb", climb=True)
    seconds = time.perf_counter() - began
    print(
        f"| AutoNEB, climbing image | - | {ref.saddle_energy:.3f} | {ref.saddle_energy - exact:+.3f} | - | "
        f"{ref.nfev} | {seconds:.2f} |\n"
    )


def mlp(args: argparse.Namespace) -> None:
    pot = load_potential("mlp", {"hidden": "16", "minima": 2})
    a, b = pot.minimum("0"), pot.minimum("1")
    t = np.linspace(0.0, 1.0, 101)
    ends = to_numpy(pot.energy(pot.asarray(np.stack([to_numpy(a), to_numpy(b)]))))
    line = np.outer(1 - t, to_numpy(a)) + np.outer(t, to_numpy(b))
    straight = float(np.max(to_numpy(pot.energy(pot.asarray(line)))))
    steps = min(args.steps, 500)
    print(
        f"mlp plugin, 16 hidden units, minima 0 and 1 (losses {ends[0]:.4f}, {ends[1]:.4f}); straight line's "
        f"highest loss {straight:.4f} (101 t); {steps} steps, seeds 0..{args.seeds - 1}:"
    )
    print()
    print("| curve | objective | highest loss on the curve (101 t) | mean loss over t | force calls | seconds |")
    print("| --- | --- | --- | --- | --- | --- |")
    for kind, bends, spread in [("bezier", 1, False), ("polychain", 4, False), ("polychain", 4, True)]:
        for objective in OBJECTIVES:
            values: dict[str, list[float]] = {k: [] for k in ("top", "mean", "nfev", "seconds")}
            for seed in range(args.seeds):
                began = time.perf_counter()
                result = connect(
                    pot, a, b, method=kind, bends=bends, steps=steps, seed=seed, objective=objective, spread=spread
                )
                values["seconds"].append(time.perf_counter() - began)
                losses = _dense(pot, kind, bends, result, t)
                values["top"].append(float(losses.max()))
                values["mean"].append(float(losses.mean()))
                values["nfev"].append(result.nfev)
            name = f"{kind}, {bends} bend{'s' if bends > 1 else ''}{', spread' if spread else ''}"
            print(
                f"| {name} | {objective} | {_cell(values['top'], '.4f')} | "
                f"{_cell(values['mean'], '.4f')} | {_cell(values['nfev'], '.0f')} | "
                f"{_cell(values['seconds'], '.2f')} |",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--pivots", type=int, default=9)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--tables", default="sweep,default,mlp")
    args = parser.parse_args()
    tables = args.tables.split(",")
    pot = load_potential("mueller-brown")
    a, b = pot.minima["A"], pot.minima["B"]
    exact = grid_minimax(pot, a, b, grid=801).saddle_energy
    straight = float(np.max(pot.energy(np.outer(1 - DENSE, a) + np.outer(DENSE, b))))
    print(f"Mueller-Brown A -> B: grid-exact minimax {exact:.6f} (801 x 801 grid); straight line {straight:.3f}")
    print(f"curves: {args.steps} steps of Adam (lr 0.01), 8 t per step, {args.pivots} pivots\n")
    if "sweep" in tables:
        sweep(pot, a, b, exact, args)
    if "default" in tables:
        default(pot, a, b, exact, args)
    if "mlp" in tables:
        mlp(args)


if __name__ == "__main__":
    main()
