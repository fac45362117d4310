"""Cost of one band step on Mueller-Brown (9 pivots): total against the potential alone.

    python bench/bench_step.py

Shows how much of a step on a tiny analytic problem is path maths (tangents, forces,
redistribution, stepper, fault check) rather than the potential.
"""

from __future__ import annotations

import timeit

from landscape import NEB, Path, StringMethod
from landscape_plugins.analytic.surfaces import MuellerBrown


def main(repeat: int = 3000) -> None:
    pot = MuellerBrown()
    a, b = pot.minima["A"], pot.minima["B"]
    interior = Path.straight(a, b, 9).pivots[1:-1]
    energy = min(timeit.repeat(lambda: pot.energy_and_gradient(interior), number=repeat, repeat=3)) / repeat
    print(f"energy+gradient of 7 points: {energy * 1e6:7.1f} us")
    for opt in (NEB(climb=True), StringMethod(climb=True)):
        state = opt.init(Path.straight(a, b, 9), pot)
        for _ in range(20):
            state = opt.step(state, pot)
        step = min(timeit.repeat(lambda: opt.step(state, pot), number=repeat, repeat=3)) / repeat
        print(
            f"{type(opt).__name__:13s} step: {step * 1e6:7.1f} us, of which path maths {(step - energy) * 1e6:7.1f} us"
        )


if __name__ == "__main__":
    main()
