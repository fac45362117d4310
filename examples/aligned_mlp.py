"""Weight matching between two trained MLP minima: how much of the straight line's barrier
is only the relabelling of hidden units (CPU, one thread, 24 s measured).

    python examples/aligned_mlp.py [--hidden 32,32 --hidden 128,128] [--schedule quick]

Trains two minima of the `mlp` plugin (spirals, full-batch cross entropy, seeds 0 and 1)
with `align=True`, then measures between the same two minima: the straight line's
barrier (the highest of 101 evenly spaced energies minus the higher end), the straight
line after weight matching moved the second minimum onto its closest relabelled image
(`landscape.potentials.symmetry.align`; same function, same energy), and AutoNEB's path from the
first minimum to the second, as found and after matching.  Prints one row per
measurement: barrier, evaluations (`Result.nfev`; 101 for a line) and the distance
between the ends.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

LINE_POINTS = 101


def autoneb_barrier(pot: Any, a: Any, b: Any, schedule: str) -> tuple[float, int]:
    """(AutoNEB path's highest energy minus the higher end, evaluations)."""
    from landscape import connect, to_numpy

    result = connect(pot, a, b, method="autoneb", schedule=schedule)
    e = to_numpy(result.path.energies)
    return float(result.upper_bound - max(e[0], e[-1])), int(result.nfev)


def measure(
    hidden: str, schedule: str = "quick", autoneb: bool = True
) -> tuple[list[float], list[tuple[str, float, int, float]]]:
    """(the minima's energies, rows (what, barrier, evaluations, end distance)) for one
    width; the two straight lines by `landscape.potentials.symmetry.compare_lines`."""
    from landscape import align, compare_lines, load_potential, to_numpy

    pot = load_potential("mlp", {"hidden": hidden, "minima": 2, "align": True})
    a, b = pot.minimum("0"), pot.minimum("1")
    energies = [float(e) for e in to_numpy(pot.energy(pot.asarray(np.stack([to_numpy(a), to_numpy(b)]))))]
    lines = compare_lines(pot, a, b, LINE_POINTS)
    rows = [
        ("straight line", lines["line_barrier"], LINE_POINTS, lines["distance"]),
        ("straight line, weight matched", lines["aligned_line_barrier"], LINE_POINTS, lines["aligned_distance"]),
    ]
    if autoneb:
        b_aligned = pot.asarray(align(pot, a, b))  # b's relabelled image closest to a
        for label, end, d in (
            ("AutoNEB", b, lines["distance"]),
            ("AutoNEB, weight matched", b_aligned, lines["aligned_distance"]),
        ):
            barrier, nfev = autoneb_barrier(pot, a, end, schedule)
            rows.append((label, barrier, nfev, d))
    return energies, rows


def table(hidden: str, energies: list[float], rows: list[tuple[str, float, int, float]]) -> str:
    lines = [
        f"hidden {hidden}: minima at train loss {energies[0]:.4f} and {energies[1]:.4f}",
        f"  {'path':31s} {'barrier':>9s} {'nfev':>7s} {'|a - b|':>8s}",
    ]
    lines += [f"  {what:31s} {barrier:9.4f} {nfev:7d} {dist:8.2f}" for what, barrier, nfev, dist in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    import torch

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--hidden", action="append", help="hidden widths, e.g. 32,32; repeat for several (default: 32,32 and 128,128)"
    )
    p.add_argument("--schedule", default="quick", help="AutoNEB schedule preset or file")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    for hidden in args.hidden or ["32,32", "128,128"]:
        began = time.perf_counter()
        energies, rows = measure(hidden, args.schedule)
        print(table(hidden, energies, rows) + f"\n  ({time.perf_counter() - began:.0f} s, training included)")


if __name__ == "__main__":
    main()
