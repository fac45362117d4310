"""Au adatom hop on Al(100) under EMT, climbing-image NEB: ASE and landscape side by side.

    pip install -e '.[bench]' && python bench/bench_ase_emt.py [--images 7] [--fmax 0.05]

The system of ASE's diffusion tutorial, kept small: a 2x2x3 Al(100) slab, the Au
adatom in a hollow site, the two bottom layers fixed, EMT; both ends relaxed with ASE's
BFGS to fmax 0.01, the final one in the neighbouring hollow site.  ASE runs its NEB
(improved tangent, k = 0.1, climbing image) with FIRE and with BFGS; landscape runs
`connect` through the `ase` plugin (NEB and the string method, climbing image, each
band stepper), same images, same straight-line start, same --fmax.

The tolerances read the same: both stop when the largest force on any one free atom
is below fmax (the plugin's `particle_dim` = 3; docs/ase.md).  Force calls are calculator evaluations
with forces, the two fixed ends included once each; landscape's `connect` also
evaluates energies only for its climber check, whose points are the final profile,
shown apart.  "error" is the barrier minus the converged one (ASE's NEB + FIRE at fmax
1e-4); wall times are one run each on whatever machine this is.  The last line is
`default / ASE best: R`: the calculator calls of `landscape connect` with no method,
stepper or spring option (same images, same fmax; end check, climber check and profile
counted) over the better of ASE's FIRE and BFGS (issue 26's goal: R <= 0.5, the barrier
within 1e-3 eV of the converged one).  Without --method, connect runs NEB on a
deterministic potential such as EMT (`landscape_cli.connect.default_method`); the line
before the last counts the same command with --method autoneb, for reference.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from landscape import CountingPotential, PrimedPotential, connect, stepper_from_config
from landscape.optimizers.endpoints import check_and_relax
from landscape.runs.pair import check_endpoints
from landscape_cli.connect import default_method
from landscape_plugins.atoms.calculator import AtomsPotential
from landscape_plugins.atoms.systems import adatom_hop, ase_neb_barrier


def run_ase(initial: Any, final: Any, images: int, fmax: float, optimizer: str) -> tuple[float, int, float, bool]:
    """ASE's climbing-image NEB: (barrier, force calls, seconds, converged)."""
    began = time.perf_counter()
    barrier, calls, converged = ase_neb_barrier(initial, final, images, fmax, optimizer)
    return barrier, calls, time.perf_counter() - began, converged


def run_landscape(
    pot: AtomsPotential, images: int, fmax: float, method: str, kind: str
) -> tuple[float, int, int, float, bool]:
    """landscape's band through the plugin: (barrier, force calls, profile energies,
    seconds, converged)."""
    counter = CountingPotential(pot)
    began = time.perf_counter()
    r = connect(
        counter,
        pot.minima["start"],
        pot.minima["end"],
        method=method,
        pivots=images,
        stepper=stepper_from_config({"kind": kind}),
        fmax=fmax,
    )
    seconds = time.perf_counter() - began
    return r.forward_barrier, counter.gradient_points, counter.energy_points, seconds, r.success


def run_default(pot: AtomsPotential, images: int, fmax: float, method: str | None = None) -> tuple[float, int, str]:
    """What `landscape connect` evaluates with `--pivots IMAGES --fmax F` and no method
    (or `--method METHOD`), stepper or spring option, every calculator call counted (its
    check of the ends, the band, the climber check, the profile, the sanity test):
    (barrier, calls, the method run)."""
    counter = CountingPotential(pot)
    method = method or default_method(counter)  # the CLI's choice without --method
    primed = PrimedPotential(counter)  # as the CLI: the band reuses the end check's points
    a, b, _ = check_and_relax(primed, *check_endpoints(counter, pot.minima["start"], pot.minima["end"]))
    r = connect(primed, a, b, method=method, pivots=images, fmax=fmax)
    return (r.forward_barrier if r.success else float("nan")), counter.points, method


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=7, help="images, the two ends included")
    parser.add_argument("--fmax", type=float, default=0.05, help="force tolerance of both, eV/Å (ASE's default)")
    args = parser.parse_args()
    initial, final = adatom_hop()
    from ase.calculators.emt import EMT

    pot = AtomsPotential(initial, EMT, minima={"start": initial, "end": final})
    rows: dict[str, tuple[float, int, int, float, bool]] = {}
    for optimizer in ("fire", "bfgs"):
        barrier, calls, seconds, ok = run_ase(initial, final, args.images, args.fmax, optimizer)
        rows[f"ASE NEB + {optimizer.upper()}"] = (barrier, calls, 0, seconds, ok)
    for method in ("neb", "string"):
        for kind in ("fire", "fire2", "lbfgs"):
            rows[f"landscape {method} + {kind}"] = run_landscape(pot, args.images, args.fmax, method, kind)
    reference = rows["ASE NEB + FIRE"][0]
    converged, _, _, done = run_ase(initial, final, args.images, 1e-4, "fire")
    if not done:
        raise SystemExit("ASE's reference band did not reach fmax 1e-4 in 5000 steps: no converged barrier to compare")
    print(
        f"Au on Al(100), EMT: {pot.dim} coordinates ({len(pot.free)} free atoms), {args.images} images, "
        f"climbing image, fmax {args.fmax} eV/Å"
    )
    print(
        f"{'method':24s} {'barrier eV':>10s} {'vs ASE FIRE':>11s} {'error':>8s} {'forces':>6s} {'profile':>7s} "
        f"{'wall s':>6s}"
    )
    for name, (barrier, calls, energies, seconds, ok) in rows.items():
        note = "" if ok else "  (not converged)"
        print(
            f"{name:24s} {barrier:10.5f} {barrier - reference:+11.1e} {barrier - converged:+8.1e} {calls:6d} "
            f"{energies:7d} {seconds:6.2f}{note}"
        )
    spread = np.ptp([r[0] for r in rows.values()])
    print(f"converged barrier {converged:.5f} eV; largest difference between rows {spread:.1e} eV")
    barrier, calls, _ = run_default(pot, args.images, args.fmax, method="autoneb")
    print(
        f"landscape connect --method autoneb --pivots {args.images} --fmax {args.fmax:g} (for reference): "
        f"barrier {barrier:.5f} eV ({barrier - converged:+.1e}), {calls} force calls, everything counted"
    )
    barrier, calls, method = run_default(pot, args.images, args.fmax)
    best_name, best = min(((n, r[1]) for n, r in rows.items() if n.startswith("ASE") and r[4]), key=lambda t: t[1])
    verdict = "" if abs(barrier - converged) <= 1e-3 else ", FAILED"
    print(
        f"landscape connect --pivots {args.images} --fmax {args.fmax:g} (no method, stepper or spring option: "
        f"{method}): "
        f"barrier {barrier:.5f} eV ({barrier - converged:+.1e}{verdict}), "
        f"{calls} force calls, everything counted (end check, band, climber check); {best_name}: {best}"
    )
    print(f"default / ASE best: {calls / best:.3f}")


if __name__ == "__main__":
    main()
