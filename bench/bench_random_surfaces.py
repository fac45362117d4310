"""Climbing images against grid-exact truth on many random surfaces.

For each case (a seeded Gaussian-mixture surface and an ordered pair of its minima)
the grid-exact minimax energy is computed on a 301 x 301 grid, then NEB and the
string method, both with a climbing image, run from the straight line and from the
grid-exact path, each beside the same run without repairs (the baseline: what the
check catches).  A run that reports success must have its saddle within twice the
grid tolerance of the truth when it started on the exact path; from the straight line
a local method may legitimately climb a higher pass (a real saddle of another
channel), which is counted apart, but never a saddle below the truth.

    python bench/bench_random_surfaces.py                  # 1000 cases, both cores
    python bench/bench_random_surfaces.py --cases 100 --first-seed 5000
    python bench/bench_random_surfaces.py --cases 200 --stepper lbfgs   # another band stepper
    python bench/bench_random_surfaces.py --stepper default --methods neb --split 3   # connect --split

`--stepper small-fire` (the default) is FIRE with small steps (lr 0.01, dt_max 0.05,
max_step 0.02), the setting these figures were first measured with; `fire`, `fire2`
and `lbfgs` are the steppers with their own defaults, as `connect --stepper` runs them;
`default` is what `connect` runs with no stepper option (NEB: L-BFGS guarded by FIRE 2.0,
converged pivots held; string: FIRE 2.0); `default-kinks` is that with the springs' pull
across bends (`connect --kinks`, `ElasticBand.kinks`).

The last line is `wrong converged saddles: N of M` (goal: 0).  Figures are recorded
in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time
from collections import Counter
from dataclasses import replace
from functools import partial

import numpy as np

from landscape import (
    FIRE,
    NEB,
    Budget,
    Path,
    Result,
    Status,
    Stepper,
    StringMethod,
    grid_minimax,
    make_optimizer,
    optimize,
    redistribute,
    stepper_from_config,
)
from landscape.paths.sanity import basin
from landscape.runs.split import settle_basins
from landscape_plugins.analytic.surfaces import GaussianMixture, random_pair

PIVOTS = 15
GRID = 301


def case(seed: int) -> tuple[GaussianMixture, np.ndarray, np.ndarray] | None:
    """Surface `seed` (3-8 wells) and a seeded ordered pair of its minima, or None."""
    return random_pair(seed)


def _stepper(name: str) -> Stepper:
    if name == "small-fire":
        return FIRE(lr=0.01, dt_max=0.05, max_step=0.02)
    return stepper_from_config({"kind": name})


def _band_settings(name: str, method: str) -> dict:
    """The band's stepper (and pivots held) for --stepper `name`; `default` is what
    `connect` runs on a deterministic potential (`landscape.runs.pair.make_optimizer`)."""
    if name not in ("default", "default-kinks"):
        return {"stepper": _stepper(name)}
    band = make_optimizer(method, deterministic=True, kinks=name == "default-kinks" and method == "neb")
    return {"stepper": band.stepper, "freeze": band.freeze, "kinks": band.kinks}


def _leg(band: NEB | StringMethod, surface: GaussianMixture, a: np.ndarray, b: np.ndarray) -> Result:
    """One leg of a split band: the same band from the straight line, the same budget."""
    return optimize(band, surface, Path.straight(a, b, PIVOTS), budget=Budget(max_steps=3000))


def run_case(
    seed: int,
    stepper: str = "small-fire",
    methods: tuple[str, ...] = ("neb", "string"),
    baseline: bool = True,
    split: int = 0,
) -> list[dict]:
    found = case(seed)
    if found is None:
        return []
    surface, a, b = found
    exact = grid_minimax(surface, a, b, grid=GRID)
    tol = max(exact.tolerance, 1e-3)
    on_exact = redistribute(exact.points.astype(float), PIVOTS)
    starts = {
        "straight": Path.straight(a, b, PIVOTS),
        "exact": Path(np.concatenate([a[None], on_exact[1:-1], b[None]])),
    }
    rows = []
    for method, cls in (("neb", NEB), ("string", StringMethod)):
        if method not in methods:
            continue
        band = cls(climb=True, fmax=1e-3, **_band_settings(stepper, method))
        for start_name, start in starts.items():
            r = optimize(band, surface, start, budget=Budget(max_steps=3000))
            if split:  # a band spent through a basin: one on each side of its minimum
                r = settle_basins(surface, r, partial(_leg, band, surface), splits=split)
            # Baseline, side by side: no repair, so a climber below its path's top ends
            # with status saddle_not_at_top; before the check it said converged.
            base = (
                optimize(replace(band, max_repairs=0), surface, start, budget=Budget(max_steps=3000)) if baseline else r
            )
            rows.append(
                {
                    "seed": seed,
                    "method": method,
                    "start": start_name,
                    "status": r.status.value,
                    "success": r.success,
                    "saddle": r.saddle_energy,
                    "upper": r.upper_bound,
                    "truth": exact.saddle_energy,
                    "tol": tol,
                    "repairs": getattr(r.state, "repairs", 0),
                    "nfev": r.nfev,
                    "caught": baseline and base.status is Status.SADDLE_NOT_AT_TOP,
                    "caught_climber": float(np.max(base.path.energies[1:-1])),
                    "basin": basin(r.path.energies) is not None,
                    "split": len(r.config.get("split", {}).get("energies", [])),
                }
            )
    return rows


def classify(row: dict) -> str:
    """wrong: reported success with a saddle the truth rules out; other_pass: success on
    a higher real pass from the straight line; ok: success at the truth; failed: no success."""
    if not row["success"]:
        return "not_success"
    off = row["saddle"] - row["truth"]
    if off < -2 * row["tol"] or (row["start"] == "exact" and abs(off) > 2 * row["tol"]):
        return "wrong"
    return "other_pass" if off > 2 * row["tol"] else "ok"


def caught_wrong(row: dict) -> bool:
    """Without the check, this run would have said converged with this climber: wrong?"""
    if not row["caught"]:
        return False
    return classify({**row, "success": True, "saddle": row["caught_climber"]}) == "wrong"


def _print_spent(rows: list[dict]) -> None:
    """Where the evaluations went: per final status, the runs, their evaluations and
    the share of all (runs without success spend their whole budget), and each run
    without success."""
    total = sum(r["nfev"] for r in rows)
    for status in sorted({r["status"] for r in rows}):
        spent = [r["nfev"] for r in rows if r["status"] == status]
        print(f"evaluations of {status} runs: {len(spent)} runs, {sum(spent)} ({sum(spent) / total:.1%} of {total})")
    for status in sorted({r["status"] for r in rows}):
        crossing = sum(1 for r in rows if r["status"] == status and r["basin"])
        print(f"{status} runs whose final path crosses a basin between two barriers (sanity.basin): {crossing}")
    for r in rows:
        if not r["success"]:
            through = ", through a basin" if r["basin"] else ""
            print(
                f"  {r['status']}: seed {r['seed']} {r['method']} from {r['start']}, {r['nfev']} evaluations{through}"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=1000, help="number of surfaces with >= 2 minima (default 1000)")
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--stepper",
        choices=("small-fire", "fire", "fire2", "lbfgs", "fire2-lbfgs", "default", "default-kinks"),
        default="small-fire",
        help="band stepper of every run (default: small-fire, FIRE with small "
        "steps; default: connect's own choice, with converged pivots held; default-kinks: the "
        "same with the springs' pull across bends, --kinks)",
    )
    ap.add_argument("--methods", default="neb,string", help="comma-separated band methods (default neb,string)")
    ap.add_argument(
        "--split",
        type=int,
        default=0,
        help="a band that spends its steps through a basin is split at the basin's minimum, at most this "
        "many times a run (connect --split; default 0: not split)",
    )
    ap.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the runs without repairs (the caught columns then read 0): half the time",
    )
    args = ap.parse_args()
    methods = tuple(m for m in args.methods.split(",") if m)
    if not methods or set(methods) - {"neb", "string"}:
        ap.error(f"--methods: neb and/or string, got {args.methods!r}")
    t0 = time.perf_counter()
    rows: list[dict] = []
    seed = args.first_seed
    with mp.Pool(args.workers) as pool:
        while len({r["seed"] for r in rows}) < args.cases:
            need = args.cases - len({r["seed"] for r in rows})
            for found in pool.map(
                partial(
                    run_case, stepper=args.stepper, methods=methods, baseline=not args.no_baseline, split=args.split
                ),
                range(seed, seed + need),
                chunksize=4,
            ):
                rows.extend(found)
            seed += need
    seeds = sorted({r["seed"] for r in rows})[: args.cases]
    rows = [r for r in rows if r["seed"] in set(seeds)]
    kinds = Counter((r["method"], r["start"], classify(r)) for r in rows)
    print(f"{len(seeds)} cases (seeds {seeds[0]}..{seeds[-1]}), {len(rows)} runs, {time.perf_counter() - t0:.0f} s")
    print(
        f"{'method':8s} {'start':9s} {'ok':>6s} {'other_pass':>10s} {'not_success':>11s} {'wrong':>6s} {'repaired':>8s}"
        f" | {'caught':>6s} {'caught_wrong':>12s} | {'mean evaluations':>16s}"
    )
    for method in methods:
        for start in ("straight", "exact"):
            sel = [r for r in rows if r["method"] == method and r["start"] == start]
            counts = [kinds[(method, start, k)] for k in ("ok", "other_pass", "not_success", "wrong")]
            repaired = sum(1 for r in sel if r["repairs"])
            caught = sum(1 for r in sel if r["caught"])
            print(
                f"{method:8s} {start:9s} {counts[0]:6d} {counts[1]:10d} {counts[2]:11d} {counts[3]:6d} {repaired:8d}"
                f" | {caught:6d} {sum(1 for r in sel if caught_wrong(r)):12d} | "
                f"{np.mean([r['nfev'] for r in sel]):16.0f}"
            )
    print(
        "caught: runs that end saddle_not_at_top without repairs (max_repairs=0), i.e. that said converged\n"
        "before the check; caught_wrong: of those, the ones whose climber the grid truth rules out"
    )
    if args.split:
        split = [r for r in rows if r["split"]]
        print(
            f"split at a basin minimum: {len(split)} runs ({sum(r['success'] for r in split)} succeeded), "
            f"{sum(r['split'] for r in split)} minima added; by outcome: {dict(Counter(classify(r) for r in split))}"
        )
    statuses = Counter(r["status"] for r in rows if not r["success"])
    print("statuses of runs without success:", dict(statuses) or "none")
    _print_spent(rows)
    for r in rows:
        if classify(r) == "wrong":
            print(
                f"  WRONG seed {r['seed']} {r['method']} from {r['start']}: saddle {r['saddle']:.6f}, "
                f"truth {r['truth']:.6f}, tol {r['tol']:.2g}"
            )
    wrong = sum(1 for r in rows if classify(r) == "wrong")
    print(f"wrong converged saddles: {wrong} of {sum(1 for r in rows if r['success'])}")


if __name__ == "__main__":
    main()
