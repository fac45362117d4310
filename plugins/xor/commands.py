"""`landscape xor`: the XOR argument of the paper (section 5.2), registered under the
entry-point group `landscape.commands` (pyproject.toml); the experiment (and torch)
loads only when the command runs."""

from __future__ import annotations

import os

import click

from landscape.foundations.errors import LandscapeError
from landscape_cli.common import emit, named, seed_option, set_threads, threads_option

__all__ = ["xor_cmd"]


@click.command("xor")
@click.option(
    "--seed",
    "seeds",
    type=int,
    multiple=True,
    help="Seed of the trained minimum (repeatable) [default: 0].",
    callback=seed_option,
)
@click.option(
    "--out-dir",
    "out_dir",
    default="xor-experiment",
    callback=named,
    show_default=True,
    help="Folder for xor-seed<k>.json and xor-seed<k>.png.",
)
@click.option("--activation", type=click.Choice(["tanh", "sigmoid"]), default="tanh", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@threads_option
def xor_cmd(seeds: tuple[int, ...], out_dir: str, activation: str, as_json: bool, threads: int | None) -> None:
    """The XOR argument of the paper (section 5.2): no path between the swapped 2-2-1
    minima keeps all four points correct; with a helper neuron one does.

    \b
    Example: landscape xor --seed 0 --seed 1 --out-dir xor-experiment
    """
    from .experiment import run_xor_experiment

    seeds = seeds or (0,)
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as exc:
        raise LandscapeError(f"cannot create output folder {out_dir}: {exc.strerror}") from None
    if not os.access(out_dir, os.W_OK):
        raise LandscapeError(f"output folder {out_dir} is not writable")
    set_threads(threads)
    runs = {s: run_xor_experiment(s, out_dir, activation=activation) for s in seeds}
    lines = []
    for s, r in runs.items():
        sw, hp = r["two_hidden_swap"], r["three_hidden_autoneb"]
        lines.append(
            f"seed {s}: the claim {'HOLDS' if r['holds'] else 'does NOT hold'}: 2-2-1 swap path "
            f"{sw['min_correct']}/4 correct at worst, loss barrier {sw['loss_barrier']:.4g}; "
            f"2-3-1 helper path {hp['min_correct']}/4 correct at worst, loss barrier "
            f"{hp['loss_barrier']:.4g}; picture {r['files']['figure']}"
        )
    emit(
        as_json, {"holds": all(r["holds"] for r in runs.values()), "seeds": {str(s): r for s, r in runs.items()}}, lines
    )
