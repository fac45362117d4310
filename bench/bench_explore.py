"""Benchmark of landscape exploration (paper Algorithm 3) and of the Ray executor.

(a) Runs: on a 10-minimum Gaussian-mixture surface, how many path runs Algorithm 3
    needs before its tree and bounds stop changing, and before every tree edge is
    certified final, against all 45 pairs; for the paper's edge order ("highest") and
    the "nearest" order.  With --sweep, the same on more seeded surfaces (NEB, faster).
(b) Speed-up: 8 independent pairs (AutoNEB on a 200-dimensional embedding of the same
    surface, a 4x longer analytic schedule so each pair takes about a second) run
    sequentially in-process and as Ray tasks on a local 2-CPU instance; results must be
    identical.  Ray's start and its workers' first imports are excluded (a warm-up
    batch runs first); the process pool is timed the same way for comparison.

    python bench/bench_explore.py                 # both parts
    python bench/bench_explore.py --part runs --sweep
    python bench/bench_explore.py --part ray --repeat 3
    python bench/bench_explore.py --part protocol

(c) Protocol: whole explorations with `--method neb` (fmax 1e-2, 500 steps a run) on
    two seeded 12-well Gaussian mixtures at 9 and 15 pivots, with the band of
    `connect`'s default protocol on a deterministic surface (guarded L-BFGS, pivots
    held) against FIRE 2.0 without holding (what `explore` ran before it shared the
    protocol): the runs' statuses and the evaluations of each exploration.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from dataclasses import replace
from typing import Any

import numpy as np

from landscape import (
    Budget,
    Executor,
    Exploration,
    LocalExecutor,
    PairTask,
    ProcessExecutor,
    RayExecutor,
    explore,
    get_schedule,
    load_potential,
    make_optimizer,
    pairwise_minimax,
    saddle_matrix,
)
from landscape_plugins.analytic.surfaces import GaussianMixture

SURFACE = (24, 76)  # GaussianMixture(wells, seed) with 10 minima
SWEEP = [(12, 7), (16, 43), (20, 53), (24, 11), (14, 3), (30, 72), (24, 90), (24, 128), (20, 107), (24, 76)]
TOL = 1e-3


def _replay(ex: Exploration) -> tuple[int, int]:
    """Runs after which the tree edges, and the bounds (within TOL), were final."""
    order = [pair for batch in ex.batches for pair in batch]
    tree_at = matrix_at = 0
    for t in range(len(order) + 1):
        sm = saddle_matrix(ex.n, {p: ex.edges[p] for p in order[:t] if np.isfinite(ex.edges[p])}, ex.energies)
        if {(i, j) for i, j, _ in sm.mst} != ex.in_tree:
            tree_at = t + 1
        if not np.allclose(sm.values, ex.matrix.values, rtol=0, atol=TOL):
            matrix_at = t + 1
    return tree_at, matrix_at


def _runs_row(surface: GaussianMixture, order: str, settings: dict[str, Any]) -> dict[str, Any]:
    x = np.array(list(surface.minima.values()))
    began = time.perf_counter()
    ex = explore(surface, x, order=order, batch=1, **settings)
    seconds = time.perf_counter() - began
    tree_at, matrix_at = _replay(ex)
    exact = pairwise_minimax(surface, x, grid=401)
    off = ~np.eye(ex.n, dtype=bool)
    return {
        "surface": [surface.n_wells, surface.seed],
        "minima": ex.n,
        "pairs": ex.pairs_total,
        "order": order,
        "runs_to_final_bounds": matrix_at,
        "runs_to_final_tree": tree_at,
        "runs_to_certified": ex.runs,
        "max_error_vs_exact": float(np.abs(ex.matrix.values - exact)[off].max()),
        "seconds": seconds,
    }


def part_runs(sweep: bool) -> list[dict[str, Any]]:
    print("(a) runs of Algorithm 3 (batch 1): bounds final within 1e-3 / tree final / all edges certified")
    rows = []
    surface = GaussianMixture(*SURFACE)
    for order in ("highest", "nearest"):
        row = _runs_row(surface, order, {"method": "autoneb"})
        rows.append(row)
        print(
            f"  10 minima, AutoNEB, order {order:8}: bounds final after {row['runs_to_final_bounds']:2d}, "
            f"tree after {row['runs_to_final_tree']:2d}, certified after {row['runs_to_certified']:2d} of "
            f"{row['pairs']} pairs; max |bound - exact| {row['max_error_vs_exact']:.1e}; {row['seconds']:.1f} s"
        )
    if sweep:
        fast = {"method": "neb", "fmax": 1e-2, "run_budget": Budget(max_steps=500)}
        for order in ("highest", "nearest"):
            fractions = []
            for wells, seed in SWEEP:
                row = _runs_row(GaussianMixture(wells, seed), order, fast)
                rows.append(row)
                fractions.append(row["runs_to_final_bounds"] / row["pairs"])
            print(
                f"  sweep of {len(SWEEP)} surfaces (8-10 minima, NEB), order {order:8}: bounds final after "
                f"{np.mean(fractions):.0%} of the pairs on average (worst {np.max(fractions):.0%})"
            )
    return rows


def _tasks(dim: int, scale: int) -> tuple[Any, list[tuple[int, int, PairTask]]]:
    potential = load_potential("gaussian-mixture", {"wells": SURFACE[0], "seed": SURFACE[1], "dim": dim})
    x = np.array([potential.minima[k] for k in potential.minima])
    base = get_schedule("analytic")
    long = replace(
        base, name=f"analytic-x{scale}", cycles=tuple(replace(c, steps=scale * c.steps) for c in base.cycles)
    )
    opt = make_optimizer("autoneb", schedule=long)
    pairs = [(0, j) for j in range(1, 9)]  # 8 independent pairs
    return potential, [(i, j, PairTask(x[i], x[j], opt)) for i, j in pairs]


def _time(executor: Executor, potential: Any, tasks: list, repeat: int) -> tuple[list[float], list[Any]]:
    executor.start(potential)
    executor.submit(tasks[:2])  # warm-up: workers started, modules imported
    times, results = [], []
    for _ in range(repeat):
        began = time.perf_counter()
        results = executor.submit(tasks)
        times.append(time.perf_counter() - began)
    return times, results


def part_ray(dim: int, scale: int, repeat: int, cpus: int) -> dict[str, Any]:
    import ray

    potential, tasks = _tasks(dim, scale)
    load = os.getloadavg()[0]
    print(
        f"(b) 8 independent pairs, AutoNEB x{scale} schedule, dim {dim}, {repeat} repeats "
        f"(load average before: {load:.2f} on {os.cpu_count()} cores)"
    )
    seq, reference = _time(LocalExecutor(), potential, tasks, repeat)
    print(f"  sequential: {', '.join(f'{t:.2f}' for t in seq)} s")
    with ProcessExecutor(cpus) as pool:
        proc, proc_results = _time(pool, potential, tasks, repeat)
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    try:
        with RayExecutor() as executor:
            par, ray_results = _time(executor, potential, tasks, repeat)
    finally:
        ray.shutdown()
    same = all(
        np.array_equal(a.path.pivots, b.path.pivots) and a.upper_bound == b.upper_bound
        for other in (proc_results, ray_results)
        for a, b in zip(reference, other)
    )
    speedup, proc_speedup = min(seq) / min(par), min(seq) / min(proc)
    print(f"  ray ({cpus} CPUs): {', '.join(f'{t:.2f}' for t in par)} s -> speed-up {speedup:.2f}x (best of each)")
    print(f"  process pool ({cpus}): {', '.join(f'{t:.2f}' for t in proc)} s -> speed-up {proc_speedup:.2f}x")
    print(f"  identical results on every executor: {same}")
    return {
        "dim": dim,
        "scale": scale,
        "load_average": load,
        "sequential_s": seq,
        "ray_s": par,
        "process_s": proc,
        "ray_speedup": speedup,
        "process_speedup": proc_speedup,
        "identical": same,
    }


def part_protocol() -> list[dict[str, Any]]:
    rows = []
    for seed in (7, 5129):
        pot = load_potential("gaussian-mixture", {"wells": 12, "seed": seed})
        minima = np.array(list(pot.minima.values()))
        for pivots in (9, 15):
            for fast in (False, True):
                ex = explore(
                    pot,
                    minima,
                    method="neb",
                    fmax=1e-2,
                    pivots=pivots,
                    run_budget=Budget(max_steps=500),
                    deterministic=fast,
                )
                statuses = dict(Counter(result.status.value for result in ex.results.values()))
                band = "connect's default" if fast else "FIRE 2.0"
                rows.append(
                    {
                        "seed": seed,
                        "pivots": pivots,
                        "band": band,
                        "runs": ex.runs,
                        "statuses": statuses,
                        "evaluations": ex.evaluations,
                        "complete": ex.complete,
                    }
                )
                print(f"seed {seed}, {pivots} pivots, {band}: {statuses}, {ex.evaluations} evaluations", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["runs", "ray", "protocol", "all"], default="all")
    parser.add_argument("--sweep", action="store_true", help="(a) on more surfaces too")
    parser.add_argument("--dim", type=int, default=200)
    parser.add_argument("--scale", type=int, default=4, help="schedule length factor for (b)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--json", dest="json_out", default=None, help="also write the figures to this file")
    args = parser.parse_args()
    out: dict[str, Any] = {}
    if args.part in ("runs", "all"):
        out["runs"] = part_runs(args.sweep)
    if args.part in ("ray", "all"):
        out["ray"] = part_ray(args.dim, args.scale, args.repeat, args.cpus)
    if args.part in ("protocol", "all"):
        out["protocol"] = part_protocol()
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
