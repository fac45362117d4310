"""The default NEB settings by measurement: every band stepper and spring constant on
the analytic surfaces, side by side in one run.

    python bench/bench_defaults.py              # about two minutes on one core
    python bench/bench_defaults.py --pivots 17  # the same sweep with more pivots

For each surface (Mueller-Brown, LEPS + harmonic oscillator, three-hole, ring, four
seeded Gaussian mixtures, Mueller-Brown embedded in 50 dimensions), one pair of minima,
9 pivots (--pivots), climbing image, `connect`'s default tolerance (1e-4 of the starting path's
largest force): NEB with FIRE, FIRE 2.0 and L-BFGS at the automatic spring
(`landscape.optimizers.band.auto_spring`) and at springs 1, 0.3, 0.1 and 0.03,
the string method with each stepper, and `neb default`: what `connect --method neb` runs
with no stepper or spring option (on these deterministic surfaces FIRE 2.0 handed to
L-BFGS, `landscape.optimizers.hybrid.Hybrid`, with converged pivots held,
`ElasticBand.freeze`; the other NEB settings hold none; `neb kinks` is the default with
the springs' pull across bends, `connect --kinks`; --only picks settings by name).  A run counts when
its climbing image is a
saddle to 1e-3 of the barrier: Newton on the Hessian (`landscape.analysis.hessian.refine_saddle`)
from it reaches a first-order saddle whose energy differs by at most that (which saddle
a band finds depends on where it starts; any first-order saddle on a path is an
answer); evaluations are single-point energy+gradient evaluations
(`CountingPotential`), the final dense profile left out.  Prints one table per surface
and a summary per setting: runs that failed, and total evaluations over the surfaces.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from landscape import (
    Budget,
    CountingPotential,
    LandscapeError,
    connect,
    find_minima,
    load_potential,
    stepper_from_config,
)
from landscape.foundations.errors import collapse

SPRINGS: tuple[float | str, ...] = ("auto", 1.0, 0.3, 0.1, 0.03)
STEPPERS = ("fire", "fire2", "lbfgs")


def surfaces() -> list[tuple[str, Any, Any, Any, tuple[Any, ...]]]:
    """(label, potential, start, end, via) for every surface of the sweep.  The ring's
    straight line runs through its index-2 hilltop, where every band stays by symmetry:
    it starts through a point of the upper half instead."""
    out = []
    for name, a, b in (("mueller-brown", "A", "B"), ("leps", "A", "B"), ("three-hole", "A", "B")):
        pot = load_potential(name)
        out.append((name, pot, pot.minimum(a), pot.minimum(b), ()))
    ring = load_potential("ring")
    out.append(("ring (via 0, 0.8)", ring, ring.minimum("A"), ring.minimum("B"), (np.array([0.0, 0.8]),)))
    for seed in range(4):
        pot = load_potential("gaussian-mixture", {"wells": 6, "seed": seed})
        m = find_minima(pot, 60, seed=0)
        out.append((f"gaussian-mixture seed {seed}", pot, m.coords[0], m.coords[1], ()))
    pot = load_potential("mueller-brown", {"dim": 50})
    out.append(("mueller-brown 50-D", pot, pot.minimum("A"), pot.minimum("B"), ()))
    return out


def run(
    pot: Any, a: Any, b: Any, method: str, stepper: str, spring: float | str, via: tuple[Any, ...] = (), pivots: int = 9
) -> dict[str, Any]:
    """One band from the straight line: evaluations, its saddle, and whether it is one."""
    from landscape import refine_saddle

    counted = CountingPotential(pot)
    settings: dict[str, Any] = {
        "method": method,
        "pivots": pivots,
        "climb": True,
        "budget": Budget(max_steps=5000),
        "via": via,
    }
    if stepper == "kinks":  # the default with the springs' pull across bends (--kinks)
        settings["kinks"] = True
    elif stepper != "default":  # default: connect's own stepper, spring and held pivots
        settings["stepper"] = stepper_from_config({"kind": stepper})
        if method == "neb":  # the stepper and spring alone, as measured before pivots were held
            settings.update(spring=spring, freeze=0.0)
    try:
        r = connect(counted, a, b, **settings)
    except LandscapeError as exc:
        return {"evaluations": counted.gradient_points, "ok": False, "note": collapse(exc)[:50]}
    evaluations = counted.gradient_points
    top = int(np.argmax(np.asarray(r.path.energies)[1:-1])) + 1
    try:
        point, cert, _ = refine_saddle(pot, np.asarray(r.path.pivots)[top])
    except LandscapeError:
        return {"evaluations": evaluations, "ok": False, "note": "no saddle near the climbing image"}
    energy = float(np.asarray(pot.energy(pot.asarray(point[None])))[0])
    low = float(max(np.asarray(pot.energy(pot.asarray(np.stack([np.asarray(a), np.asarray(b)]))))))
    ok = cert.first_order and abs(float(r.saddle_energy) - energy) <= 1e-3 * max(energy - low, 1e-12)
    note = "" if ok else f"saddle {float(r.saddle_energy):.6g}, nearest {energy:.6g} (index {cert.index})"
    return {"evaluations": evaluations, "ok": ok, "note": note if r.success else f"{r.status.value} {note}"}


def main(argv: list[str] | None = None) -> dict[str, dict[str, int]]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pivots", type=int, default=9, help="pivots of every band, ends included (default 9)")
    p.add_argument(
        "--only",
        default=None,
        metavar="KEYS",
        help="comma-separated settings as the summary names them (e.g. 'neb default,neb fire2 k=auto')",
    )
    args = p.parse_args(argv)
    settings = [("neb", "default", "auto"), ("neb", "kinks", "auto")] + [
        ("neb", s, k) for s in STEPPERS for k in SPRINGS
    ]
    settings += [("string", s, 1.0) for s in STEPPERS]
    if args.only:
        wanted = [w.strip() for w in args.only.split(",")]
        settings = [t for t in settings if _key(*t) in wanted]
        if len(settings) != len(wanted):
            p.error(f"--only: unknown setting among {wanted}")
    totals = {_key(m, s, k): {"failed": 0, "evaluations": 0} for m, s, k in settings}
    per_surface: dict[str, list[int | None]] = {key: [] for key in totals}  # evaluations, None: failed
    for label, pot, a, b, via in surfaces():
        print(f"\n{label}")
        for method, stepper, k in settings:
            r = run(pot, a, b, method, stepper, k, via, args.pivots)
            totals[_key(method, stepper, k)]["evaluations"] += r["evaluations"]
            totals[_key(method, stepper, k)]["failed"] += 0 if r["ok"] else 1
            per_surface[_key(method, stepper, k)].append(r["evaluations"] if r["ok"] else None)
            print(
                f"  {_key(method, stepper, k):<22}{r['evaluations']:>8}  {'ok' if r['ok'] else 'FAILED'} {r['note']}",
                flush=True,
            )
    print(
        "\nsummary over the surfaces: failed runs, total evaluations, geometric mean of evaluations "
        "against NEB + FIRE at k=1 (the surfaces where both succeeded)"
    )
    base = per_surface.get(_key("neb", "fire", 1.0)) or [None] * len(per_surface[_key(*settings[0])])
    for key, t in totals.items():
        ratios = [r / b for r, b in zip(per_surface[key], base) if r and b]
        gm = float(np.exp(np.mean(np.log(ratios)))) if ratios else float("nan")
        print(f"  {key:<22}{t['failed']:>4}{t['evaluations']:>10}{gm:>8.2f}")
    return totals


def _key(method: str, stepper: str, spring: float | str) -> str:
    if stepper in ("default", "kinks"):
        return f"{method} {stepper}"
    return f"{method} {stepper}" + (f" k={spring}" if method == "neb" else "")


if __name__ == "__main__":
    main()
