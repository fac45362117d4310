"""Rates against simulation: the Kramers-Langer rate beside the inverse mean first passage
time of overdamped Langevin walkers on a 2D double well, at several temperatures.

    python bench/bench_rates.py [--walkers 2000] [--dt 0.01]

The well, E = (x^2 - 1)^2 + (2 + x^2) y^2 / 2, has minima (+-1, 0) with Hessian
diag(8, 3) and the saddle (0, 0) with diag(-4, 2), barrier 1; its y-stiffness differs
between minimum and saddle, so the multidimensional prefactor matters.  Walkers start
at (-1, 0) and stop at x >= 1 (Euler-Maruyama, friction dx = -grad E dt +
sqrt(2 friction T) dW); Kramers-Langer is exact only as T -> 0, so the ratio shows its
finite-barrier error shrinking with T.  tests/analysis/test_rates.py runs one small row.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from landscape import Potential

__all__ = ["DoubleWell", "first_passage_times"]


class DoubleWell(Potential):
    """The 2D double well of this module's docstring."""

    dim, name, stochastic = 2, "double-well-2d", False
    minima = {"A": np.array([-1.0, 0.0]), "B": np.array([1.0, 0.0])}  # noqa: RUF012 - the Potential interface

    def energy_and_gradient(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        a, b = x[:, 0], x[:, 1]
        energy = (a**2 - 1) ** 2 + 0.5 * (2 + a**2) * b**2
        return energy, np.stack([4 * a * (a**2 - 1) + a * b**2, (2 + a**2) * b], axis=1)


def first_passage_times(
    temperature: float, friction: float, walkers: int, dt: float, seed: int, chunk: int = 64
) -> np.ndarray:
    """First times at which overdamped walkers from (-1, 0) reach x >= 1 on `DoubleWell`;
    all walkers advance together, `chunk` steps between removing those that arrived."""
    rng = np.random.default_rng(seed)
    x = np.tile([-1.0, 0.0], (walkers, 1))
    times = np.full(walkers, np.inf)
    alive = np.arange(walkers)
    noise, now = np.sqrt(2 * temperature * dt / friction), 0.0
    while alive.size:
        a, b = x[alive, 0], x[alive, 1]
        arrived = np.full(alive.size, np.inf)
        for _ in range(chunk):
            xi = rng.standard_normal((2, alive.size))
            a, b = (
                a - (4 * a * (a * a - 1) + a * b * b) * dt / friction + noise * xi[0],
                b - (2 + a * a) * b * dt / friction + noise * xi[1],
            )
            now += dt
            arrived = np.where(np.isinf(arrived) & (a >= 1.0), now, arrived)
        x[alive, 0], x[alive, 1] = a, b
        done = np.isfinite(arrived)
        times[alive[done]] = arrived[done]
        alive = alive[~done]
    return times


def main() -> None:
    from landscape import log_rate, stationary_point

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--walkers", type=int, default=2000)
    parser.add_argument("--dt", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    well = DoubleWell()
    low, top = stationary_point(well, well.minima["A"]), stationary_point(well, [0.0, 0.0])
    print("T      friction  kramers-langer  1/MFPT      ratio   std.err  walker-steps  seconds")
    for temperature, friction in ((0.25, 1.0), (0.2, 1.0), (0.2, 3.0), (0.16, 1.0)):
        t0 = time.perf_counter()
        times = first_passage_times(temperature, friction, args.walkers, args.dt, args.seed)
        k = np.exp(log_rate(low, top, temperature, theory="kramers-langer", friction=friction))
        err = times.std() / times.mean() / np.sqrt(len(times))
        print(
            f"{temperature:<6} {friction:<9} {k:<15.5g} {1 / times.mean():<11.5g} {k * times.mean():<7.3f} "
            f"{err:<8.3f} {times.sum() / args.dt:<13.3g} {time.perf_counter() - t0:.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
