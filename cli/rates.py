"""`landscape rates`: rate constants over a store's certified saddles, and passage from A to B."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import click
import numpy as np

from landscape.foundations.errors import LandscapeError

from .common import emit, json_clean

if TYPE_CHECKING:
    from landscape.analysis.rates import SaddleNetwork

__all__ = ["rates_cmd", "store_network", "minimum_names"]


def store_network(file: str, wanted: list[str]) -> SaddleNetwork:
    """The certified saddles between the minima of the store `file` (every stored path's
    local maxima refined, `landscape.analysis.rates.saddle_network`); `wanted`: minimum
    names that must exist."""
    from landscape.analysis.rates import saddle_network
    from landscape.store import Store

    from .explore import potential_from_description

    with Store.open(file) as store:
        coords, energies, names = store.read_minima()
        unknown = [n for n in wanted if n not in names]
        if unknown:
            raise LandscapeError(f"{file} has no minima {', '.join(unknown)}; it has {', '.join(names)}")
        paths = {}
        for name in store.path_names():
            result = store.read_result(name)
            if result.path.energies is not None:
                paths[name] = (np.asarray(result.path.pivots), np.asarray(result.path.energies))
        pot = potential_from_description(store.potential_description)[0]
    if not paths:
        raise LandscapeError(f"{file} holds no paths between its minima; run `landscape explore {file}` first")
    return saddle_network(pot, coords, energies, names, paths)


def minimum_names(text: str, option: str) -> list[str]:
    names = [n.strip() for n in text.split(",")]
    if not all(names):
        raise LandscapeError(f"{option} needs comma-separated minimum names, got {text!r}")
    return names


@click.command("rates")
@click.argument("file")
@click.option(
    "--from", "source", required=True, metavar="NAMES", help="Minima of A, comma-separated (e.g. m0 or m1,m2)."
)
@click.option("--to", "target", required=True, metavar="NAMES", help="Minima of B, comma-separated.")
@click.option("--temperature", type=float, required=True, help="k_B T in the potential's energy units.")
@click.option(
    "--friction", type=float, default=1.0, show_default=True, help="Friction of the overdamped (Kramers-Langer) rate."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def rates_cmd(file: str, source: str, target: str, temperature: float, friction: float, as_json: bool) -> None:
    """Rate constants of every certified saddle between the minima of FILE (harmonic
    transition state theory and overdamped Kramers-Langer), and the A -> B rate and mean
    first passage time over the whole network (graph transformation, checked by a linear solve).

    \b
    Example: landscape rates lj7 --from m0 --to m3 --temperature 0.1
    """
    from landscape.analysis.rates import THEORIES, log_rate

    if not (math.isfinite(temperature) and temperature > 0 and math.isfinite(friction) and friction > 0):
        raise LandscapeError(f"--temperature and --friction must be positive and finite, got {temperature}, {friction}")
    A, B = minimum_names(source, "--from"), minimum_names(target, "--to")
    net = store_network(file, A + B)
    names = net.names
    saddles = [
        {
            "a": names[t.i],
            "b": names[t.j],
            "energy": t.saddle.energy,
            "path": t.source,
            "negative_eigenvalue": float(t.saddle.eigenvalues[0]),
            **{
                f"{th}_{d}": math.exp(log_rate(net.minima[x], t.saddle, temperature, theory=th, friction=friction))
                for th in THEORIES
                for d, x in (("forward", t.i), ("backward", t.j))
            },
        }
        for t in net.transitions
    ]
    passage = {}
    for th in THEORIES:
        gt = net.passage(A, B, temperature, theory=th, friction=friction)
        me = net.passage(A, B, temperature, theory=th, friction=friction, method="master equation")
        passage[th] = {
            "rate": gt.rate,
            "mfpt": gt.mfpt,
            "times": dict(zip(A, gt.times.tolist())),
            "linear_solve_rate": me.rate,
            "linear_solve_mfpt": me.mfpt,
            "relative_difference": float(abs(gt.mfpt - me.mfpt) / me.mfpt),
        }
    declared = all(m.declared for m in net.minima)
    orders = (
        "declared by the symmetry" if declared else "not declared by the potential's symmetry: every order taken as 1"
    )
    zero = net.minima[0].zero_modes
    emit(
        as_json,
        json_clean(
            {
                "store": file,
                "from": A,
                "to": B,
                "temperature": temperature,
                "friction": friction,
                "units": "k_B = 1, unit masses",
                "theories": {
                    "htst": "harmonic transition state theory (Vineyard 1957)",
                    "kramers-langer": "overdamped Langevin, Kramers-Langer, with the given friction",
                },
                "zero_modes_set_aside": zero,
                "point_group_orders": orders,
                "saddles": saddles,
                "skipped": [{"where": w, "why": y} for w, y in net.skipped],
                "passage": passage,
            }
        ),
        [
            (
                f"{file}: {len(saddles)} certified saddles between {len(names)} minima at T = {temperature:g} "
                f"(k_B = 1, unit masses; {zero} zero modes of the symmetry set aside; point-group orders {orders})"
            ),
            *[
                f"  {s['a']} - {s['b']}: saddle {s['energy']:.6f} (path {s['path']}), rates htst "
                f"{s['htst_forward']:.4g} / "
                f"{s['htst_backward']:.4g}, kramers-langer {s['kramers-langer_forward']:.4g} / "
                f"{s['kramers-langer_backward']:.4g} (forward / backward)"
                for s in saddles
            ],
            *[f"  skipped {w}: {y}" for w, y in net.skipped],
            *[
                f"{','.join(A)} -> {','.join(B)} ({th}, graph transformation): rate {p['rate']:.6g}, mean first "
                f"passage time "
                f"{p['mfpt']:.6g}; linear solve {p['linear_solve_mfpt']:.6g} (relative difference "
                f"{p['relative_difference']:.1e})"
                for th, p in passage.items()
            ],
        ],
    )
