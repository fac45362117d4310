"""Bezier and PolyChain curves on Mueller-Brown A -> B against the grid-exact minimax.

    python bench/bench_curves.py [--steps 2000] [--pivots 9] [--seeds 3]

For each curve (`connect(..., method="bezier" | "polychain", bends=K)`): the highest
energy on the dense curve (401 equally spaced t), the highest energy of the stored
path (the curve at its pivots, with the driver's profile between them), the mean
energy over t (the objective the curve is trained on), force calls (every evaluated
point: training samples, the path after each step, the final profile) and wall time,
over `--seeds` seeds (median and range).  AutoNEB with a climbing image is the
reference row.  Prints a Markdown table (docs/curves.md quotes it).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from landscape import connect, grid_minimax, load_potential, make_optimizer

DENSE = np.linspace(0.0, 1.0, 401)


def _row(name: str, values: dict[str, list[float]], exact: float) -> str:
    def cell(key: str, fmt: str) -> str:
        v = np.asarray(values[key])
        if len(v) == 1 or np.ptp(v) == 0:
            return format(float(np.median(v)), fmt)
        return f"{format(float(np.median(v)), fmt)} ({format(float(v.min()), fmt)} .. {format(float(v.max()), fmt)})"

    top = np.median(values["dense"]) if values["dense"] else np.median(values["path"])
    return (
        f"| {name} | {cell('dense', '.3f') if values['dense'] else '-'} | {cell('path', '.3f')} | "
        f"{top - exact:+.3f} | {cell('mean', '.2f') if values['mean'] else '-'} | {cell('nfev', '.0f')} | "
        f"{cell('seconds', '.2f')} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--pivots", type=int, default=9)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    pot = load_potential("mueller-brown")
    a, b = pot.minima["A"], pot.minima["B"]
    exact = grid_minimax(pot, a, b, grid=801)
    straight = float(np.max(pot.energy(np.outer(1 - DENSE, a) + np.outer(DENSE, b))))
    print(f"Mueller-Brown A -> B: grid-exact minimax {exact.saddle_energy:.6f} (801 x 801 grid)")
    print(f"straight line: highest energy {straight:.3f} (401 points)")
    print(
        f"curves: {args.steps} steps of Adam (lr 0.01), 8 t per step, {args.pivots} pivots, seeds 0..{args.seeds - 1}"
    )
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
            curve = make_optimizer(kind, bends=bends)
            energies = pot.energy(curve.points(result.state.controls, DENSE))
            values["dense"].append(float(energies.max()))
            values["mean"].append(float(energies.mean()))
            values["path"].append(result.upper_bound)
            values["nfev"].append(result.nfev)
        print(_row(f"{kind}, {bends} bend{'s' if bends > 1 else ''}", values, exact.saddle_energy))
    began = time.perf_counter()
    ref = connect(pot, a, b, method="autoneb", climb=True)
    seconds = time.perf_counter() - began
    print(
        _row(
            "AutoNEB, climbing image",
            {"dense": [], "path": [ref.saddle_energy], "mean": [], "nfev": [ref.nfev], "seconds": [seconds]},
            exact.saddle_energy,
        )
    )


if __name__ == "__main__":
    main()
