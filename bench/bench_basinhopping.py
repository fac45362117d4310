"""Basin-hopping on LJ38: quenches until its global minimum (-173.928427), per seed.

    python bench/bench_basinhopping.py [--seeds 0 1 2] [--steps 5000] [--atoms 38] [--seed-seconds S]

LJ38's global minimum (the fcc truncated octahedron) lies in a funnel apart from the
icosahedral minima where most walks stay, the standard hard case for basin-hopping.
Each seed starts uniformly at random in the cluster's box and walks at most `--steps`
steps (temperature 0.8, initial step 0.4, adapted by scipy) or `--seed-seconds` of wall
time, whichever ends first; the row records the quench that first reached the target (or
that none did, and how many quenches it ran), gradient evaluations, wall and CPU
seconds, so runs compare in units that travel (quenches) as well as in time.
"""

from __future__ import annotations

import argparse
import json
import time

from landscape import basin_hopping, load_potential

TARGETS = {13: -44.326801, 38: -173.928427}  # Cambridge Cluster Database global minima


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--atoms", type=int, default=38, choices=sorted(TARGETS))
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--stepsize", type=float, default=0.4)
    parser.add_argument("--seed-seconds", type=float, default=None, help="wall-clock limit per seed")
    args = parser.parse_args()
    pot, target = load_potential("lj", {"atoms": args.atoms}), TARGETS[args.atoms]
    for seed in args.seeds:
        t0, c0 = time.perf_counter(), time.process_time()
        run = basin_hopping(
            pot,
            args.steps,
            seed=seed,
            temperature=args.temperature,
            stepsize=args.stepsize,
            target=target,
            time_limit=args.seed_seconds,
            check_hessian=False,
        )
        row = {
            "atoms": args.atoms,
            "seed": seed,
            "steps_cap": args.steps,
            "reached": run.stopped_at_target,
            "stopped_at_time_limit": run.stopped_at_time_limit,
            "quenches": run.quenches,
            "first_hit_quench": int(run.first_hit[0]) if run.stopped_at_target else None,
            "lowest": float(run.minima.energies[0]),
            "distinct_minima": len(run.hits),
            "gradient_evaluations": run.evaluations,
            "failed_quenches": run.failed,
            "seconds": round(time.perf_counter() - t0, 1),
            "cpu_seconds": round(time.process_time() - c0, 1),
        }
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
