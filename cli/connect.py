"""Commands that compute paths: demo, connect, exact."""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from landscape.foundations.errors import Interrupted, LandscapeError, collapse
from landscape.paths.result import Status

from .common import (
    build_potential,
    emit,
    json_number,
    named,
    potential_options,
    progress_option,
    resolve_point,
    set_threads,
    threads_option,
    want_progress,
)

__all__ = ["demo_cmd", "connect_cmd", "exact_cmd", "fail_unless_success", "default_method"]

MB_REFERENCE = -40.664844  # docs/concepts.md, reference values: the A-C saddle, the A-B MEP's highest point


def default_method(potential: Any, *, schedule: str | None = None, max_pivots: int | None = None) -> str:
    """What `connect` runs without --method: AutoNEB, the paper's method, on a network's
    loss (a potential over data, whose `cost()` counts samples, full batch or mini-batch)
    or any stochastic potential, and whenever an option only AutoNEB takes (--schedule,
    --max-pivots) is given; else NEB with its fast defaults (L-BFGS guarded by FIRE 2.0,
    converged pivots held, `make_optimizer`), which spends a few percent of AutoNEB's
    force calls on analytic and atomistic surfaces (bench/bench_ase.py,
    bench/bench_ase_emt.py).  A full-batch network loss is deterministic too, but NEB
    from the straight line did not converge there: on the built-in `mlp` its 5,000 steps
    ended with the path's top at 0.125, AutoNEB's at 0.0692 (docs/cli.md)."""
    over_data = potential.cost() is not None
    if over_data or potential.stochastic or schedule is not None or max_pivots is not None:
        return "autoneb"
    return "neb"


def _stepper(name: str, pot: Any) -> Any:
    """The band stepper of --stepper NAME: a stepper kind, or lbfgs-guarded, the guarded
    L-BFGS start of `Hybrid` (L-BFGS's pairs assume a deterministic force)."""
    from landscape.optimizers.hybrid import guarded_start
    from landscape.optimizers.steppers import stepper_from_config

    if name != "lbfgs-guarded":
        return stepper_from_config({"kind": name})
    if pot.stochastic:
        raise LandscapeError("--stepper lbfgs-guarded needs a deterministic potential, not a mini-batch loss")
    return guarded_start()


def _result_payload(
    result: Any, store: str | None, resumed: tuple[int | None, int | None] | None = None
) -> dict[str, Any]:
    return {
        "saddle_energy": json_number(result.saddle_energy),
        "upper_bound": json_number(result.upper_bound),
        "saddle_index": result.saddle_index,
        "forward_barrier": json_number(result.forward_barrier),
        "backward_barrier": json_number(result.backward_barrier),
        "reaction_energy": json_number(result.reaction_energy),
        "saddle_point": [float(v) for v in result.saddle[:10]],
        "climbing": result.climbing,
        "climber_at_top": result.climber_at_top,
        "evaluations": result.nfev,
        "samples": result.samples,  # {"gradient", "forward"}: data samples a network evaluated, else None
        "iterations": result.nit,
        "pivots": result.path.n_pivots,
        "spring": json_number(getattr(result.state, "spring", 0.0)) or None,  # NEB's constant, measured when auto
        # energy+gradient evaluations of each pivot (ends included) and the climber checks' points: a band's
        "pivot_evaluations": _pivot_counts(result.state),
        "cycles": len(result.cycles),
        # --split: the basin minima the path was split at, their energies and pivots on the path
        "split": result.config.get("split"),
        "status": result.status.value,
        "success": result.success,
        "message": result.message,
        "store": store,
        "resumed_from_cycle": resumed[0] if resumed else None,
        "resumed_from_step": resumed[1] if resumed else None,
    }


def _pivot_counts(state: Any) -> dict[str, Any] | None:
    """A band's evaluations per pivot and its climber checks' points (None for AutoNEB,
    or a band resumed from a snapshot without them); the rest of `evaluations` is the
    final profile and the sanity test."""
    counts = getattr(state, "evaluations", None)
    if counts is None:
        return None
    return {"per_pivot": [int(c) for c in counts], "checks": int(state.checks)}


def _connect_settings(
    method: str, climb: bool, schedule: str | None, fmax: float | None, steps: int | None
) -> dict[str, Any]:
    from landscape.paths.budget import Budget

    settings: dict[str, Any] = {"method": method, "climb": climb, "fmax": fmax}
    if schedule is not None:
        if method != "autoneb":
            raise LandscapeError("--schedule applies to --method autoneb only")
        settings["schedule"] = schedule
    if steps is not None:
        if steps < 1:
            raise LandscapeError(f"--steps must be positive, got {steps}")
        if method in ("bezier", "polychain"):
            settings["steps"] = steps  # a curve's training length, not a budget cut short
        else:
            settings["budget"] = Budget(max_steps=steps)
    return settings


def _split_settings(method: str, split: int, out: str | None) -> dict[str, Any]:
    """--split, checked: a band's, in memory (a split run has no store layout yet)."""
    if method not in ("neb", "string"):
        raise LandscapeError("--split applies to --method neb or string (bands that stop at their budget)")
    if split < 0:
        raise LandscapeError(f"--split must be >= 0 (the most basin minima added), got {split}")
    if out and split:
        raise LandscapeError("--split runs in memory: a store cannot resume a split run yet; drop --out")
    return {"split": split} if split else {}


def _curve_settings(
    method: str, bends: int | None, lr: float | None, objective: str | None = None, spread: bool | None = None
) -> dict[str, Any]:
    """--bends, --lr, --curve-objective and --spread of a curve, checked here so a band
    never takes them silently."""
    named = (("bends", bends), ("lr", lr), ("curve-objective", objective), ("spread", spread))
    given = {k: v for k, v in named if v is not None}
    if given and method not in ("bezier", "polychain"):
        verb = "apply" if len(given) > 1 else "applies"
        raise LandscapeError(f"--{' and --'.join(given)} {verb} to --method bezier or polychain only")
    if spread and method != "polychain":
        raise LandscapeError("--spread applies to --method polychain only (a Bezier curve's bends lie off it)")
    if "curve-objective" in given:
        given["objective"] = given.pop("curve-objective")
    return given


def _spring_settings(method: str, spring: str, spring_min: float | None) -> dict[str, Any]:
    """The spring settings of --spring and --spring-min, checked; empty for the defaults."""
    settings: dict[str, Any] = {}
    if spring != "auto":
        try:
            settings["spring"] = float(spring)
        except ValueError:
            raise LandscapeError(f"--spring must be a number > 0 or auto, got {spring!r}") from None
        if not 0 < settings["spring"] < float("inf"):
            raise LandscapeError(f"--spring must be a finite number > 0, got {spring}")
        if method != "neb":  # the string method and AutoNEB's string bands have no springs to set
            raise LandscapeError("--spring applies to --method neb only")
    if spring_min is not None:
        if method != "neb":
            raise LandscapeError("--spring-min applies to --method neb only")
        if "spring" not in settings:
            raise LandscapeError("--spring-min needs a numeric --spring (the top constant), not auto")
        if not 0 < spring_min <= settings["spring"]:
            raise LandscapeError(f"--spring-min must be > 0 and at most --spring ({spring}), got {spring_min}")
        settings["spring_min"] = spring_min
    return settings


@click.command("connect")
@potential_options
@click.option(
    "--start", default=None, help="Named minimum or comma-separated coordinates [default: --init's first pivot]."
)
@click.option(
    "--end", default=None, help="Named minimum or comma-separated coordinates [default: --init's last pivot]."
)
@click.option(
    "--method",
    type=click.Choice(["neb", "string", "autoneb", "bezier", "polychain"]),
    default=None,
    help="Path optimizer: nudged elastic band, string method, AutoNEB (bands with pivots inserted), or a "
    "Bezier curve or polygonal chain trained on the energy at random points (Garipov et al. 2018; "
    "--pivots samples it, --steps its training steps, default 1000) [default: autoneb on a network's loss "
    "(full or mini-batch) or a stochastic potential, or when --schedule or --max-pivots is given; else neb].",
)
@click.option("--bends", type=int, default=None, help="bezier/polychain: trainable control points [default: 1].")
@click.option("--lr", type=float, default=None, help="bezier/polychain: Adam's step size [default: 0.01].")
@click.option(
    "--curve-objective",
    type=click.Choice(["mean", "cvar", "softmax"]),
    default=None,
    help="bezier/polychain: train on the mean energy at the sampled t (Garipov et al.), the mean of their "
    "top quarter (cvar) or their log-sum-exp (softmax) [default: softmax on a deterministic potential, "
    "else mean; docs/curves.md].",
)
@click.option(
    "--spread/--no-spread",
    default=None,
    help="polychain: move the bends back to equal arc length after every update [default: on a "
    "deterministic potential with 2 or more bends].",
)
@click.option("--climb/--no-climb", default=True, show_default=True, help="Climbing image (final AutoNEB cycle).")
@click.option(
    "--via",
    "via",
    multiple=True,
    metavar="POINT",
    help="Draw the starting path through this point (a named minimum or coordinates; repeatable, in order) "
    "instead of the straight line.",
)
@click.option(
    "--init",
    "init",
    default=None,
    metavar="FILE",
    help="Starting path, used as it is: one pivot per row, ends included (.npy, or text: .txt/.csv/.dat).",
)
@click.option(
    "--spring",
    default="auto",
    show_default=True,
    help="NEB spring constant, or auto: measured from the starting band's stiffness, in the potential's "
    "units (along the path only: every value > 0 gives the same converged path).",
)
@click.option(
    "--spring-min",
    "spring_min",
    type=float,
    default=None,
    help="NEB: energy-weighted springs, from this constant at the higher end's energy up to --spring at "
    "the top, so pivots gather near the saddle [default: one constant].",
)
@click.option(
    "--pivots",
    type=int,
    default=None,
    help="Pivots on the initial straight line, ends included [default: 5 for autoneb, 9 for neb/string].",
)
@click.option("--schedule", default=None, help="AutoNEB schedule preset (analytic, quick, paper) or JSON file.")
@click.option(
    "--fmax",
    type=float,
    default=None,
    help="Converged when the largest pivot force is below this, per atom where the potential has atoms "
    "(ASE's fmax) [default for neb/string: 1e-4 of the starting path's largest force; autoneb: its schedule].",
)
@click.option(
    "--steps",
    type=int,
    default=None,
    help="Step budget (default 5000 for neb/string); bezier/polychain: training steps.",
)
@click.option(
    "--stepper",
    type=click.Choice(["fire", "fire2", "lbfgs", "fire2-lbfgs", "lbfgs-guarded"]),
    default=None,
    help="neb/string: FIRE, FIRE 2.0, the band's global L-BFGS, FIRE 2.0 handed to L-BFGS near the path, or "
    "L-BFGS from the first step, sent back to the starting band with fire2-lbfgs when its trust radius is "
    "cut before the force is down to a tenth of the first step's (lbfgs-guarded) [default: lbfgs-guarded "
    "for neb on a deterministic potential, else fire2; measured in docs/benchmarks.md].",
)
@click.option(
    "--freeze",
    type=float,
    default=None,
    help="neb: hold pivots whose force is below this fraction of the tolerance (their neighbours' at most "
    "the tolerance): not moved, not evaluated until a neighbour moves them; 0 switches it off "
    "[default: 1 on a deterministic potential that is no loss over data, else 0].",
)
@click.option(
    "--kinks/--no-kinks",
    default=None,
    help="neb: the springs also pull across the path where the band bends, scaled by the angle "
    "between its segments (0 on a straight stretch), so it does not zig-zag across a narrow valley; "
    "once converged with the pull, the band settles without it [default: off; measured in "
    "docs/benchmarks.md].",
)
@click.option(
    "--unfold/--no-unfold",
    default=None,
    help="neb: spread a band that folds back on itself (two segments pointing straight back at a "
    "pivot) evenly along its own line and restart its stepper, at most 20 times [default: on; "
    "measured in docs/benchmarks.md].",
)
@click.option(
    "--split",
    type=int,
    default=None,
    help="neb/string: a band that spends its budget on a path through a basin between two barriers is "
    "split there: the basin relaxed to its minimum (L-BFGS-B), a band as the first on each side, at most "
    "this many minima added in all; the path through them is reported [default: 0, not split; "
    "docs/benchmarks.md].",
)
@click.option(
    "--out",
    "out",
    default=None,
    callback=named,
    help="Store (a folder): AutoNEB commits every cycle, neb/string their state every "
    "--checkpoint-every seconds; running the same command again continues it.",
)
@click.option(
    "--checkpoint-every",
    "checkpoint_every",
    type=float,
    default=None,
    help="neb/string with --out: seconds between commits of the band's state [default: 30].",
)
@click.option("--resume", is_flag=True, help="Require an unfinished run in --out and continue it.")
@click.option("--force", is_flag=True, help="Replace an --out store that holds other results.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@progress_option
@click.option("--max-pivots", type=int, default=None, help="AutoNEB: cap on the number of pivots, ends included.")
@click.option(
    "--check-per-segment",
    "check_per_segment",
    type=int,
    default=None,
    help="neb/string: the grid of points per segment on which a converged climbing image is checked to "
    "be the top of its path [default: 9]; the check evaluates the middle of every segment and then only "
    "the grid points that can reach the climber (those are the final profile's points).",
)
@click.option(
    "--check-all",
    "check_all",
    is_flag=True,
    help="neb/string: evaluate the climber check's whole grid, not only the points that can reach the "
    "climber (for a bump narrower than the bends the check measures).",
)
@click.option(
    "--log",
    "log",
    default=None,
    metavar="FILE",
    help="Append one tab-separated line per step (step, evaluations, highest energy, largest force, "
    "climbing, cycle) to FILE.",
)
@click.option(
    "--certify",
    is_flag=True,
    help="Move the climbing image onto the nearby first-order saddle (Newton on the Hessian) and report it.",
)
@threads_option
@click.option(
    "--relax-ends/--no-relax-ends",
    default=True,
    show_default=True,
    help="Relax an end that is not a minimum (gradient above 1e-2 of the one between the ends) first.",
)
@click.option(
    "--align",
    "align_end",
    is_flag=True,
    help="Move the end onto its image closest to the start under the potential's symmetry (permuted "
    "atoms or hidden units) before the band starts.",
)
def connect_cmd(
    potential: str,
    options: tuple[str, ...],
    start: str | None,
    end: str | None,
    method: str | None,
    bends: int | None,
    lr: float | None,
    curve_objective: str | None,
    spread: bool | None,
    climb: bool,
    via: tuple[str, ...],
    init: str | None,
    spring: str,
    spring_min: float | None,
    pivots: int | None,
    schedule: str | None,
    fmax: float | None,
    steps: int | None,
    stepper: str | None,
    freeze: float | None,
    kinks: bool | None,
    unfold: bool | None,
    split: int | None,
    out: str | None,
    checkpoint_every: float | None,
    resume: bool,
    force: bool,
    as_json: bool,
    progress: bool | None,
    max_pivots: int | None,
    check_per_segment: int | None,
    check_all: bool,
    log: str | None,
    certify: bool,
    threads: int | None,
    relax_ends: bool,
    align_end: bool,
) -> None:
    """Find the minimum energy path of POTENTIAL between two points.

    \b
    Example: landscape connect mueller-brown --start A --end B --method autoneb --out mb --json
    """
    if pivots is not None and pivots < 3:
        raise LandscapeError(f"--pivots must be at least 3, got {pivots}")
    set_threads(threads)
    if (resume or force or checkpoint_every is not None) and not out:
        raise LandscapeError("--resume, --force and --checkpoint-every need --out")
    if resume and force:
        raise LandscapeError("--resume and --force contradict each other")
    if init and align_end:
        raise LandscapeError("--align moves the end, an --init path fixes it: give one of them")
    rows = _initial_path(init) if init else None
    if rows is None and (start is None or end is None):
        raise LandscapeError("give --start and --end (or an --init path, whose ends they default to)")
    pot = build_potential(potential, options)
    (a_name, a), (b_name, b) = _ends(pot, start, end, rows)
    chosen, method = method, method or default_method(pot, schedule=schedule, max_pivots=max_pivots)
    settings = _connect_settings(method, climb, schedule, fmax, steps)
    settings.update(_spring_settings(method, spring, spring_min))
    settings.update(_curve_settings(method, bends, lr, curve_objective, spread))
    if via:
        settings["via"] = [resolve_point(pot, p, "via")[1] for p in via]
    if rows is not None:
        settings["initial"] = rows
    if stepper is not None:
        if method == "autoneb":
            raise LandscapeError("--stepper applies to --method neb or string; an AutoNEB schedule names its steppers")
        settings["stepper"] = _stepper(stepper, pot)
    if freeze is not None:
        if method != "neb":
            raise LandscapeError("--freeze applies to --method neb only (a string's redistribution moves every pivot)")
        if not 0 <= freeze <= 1:
            raise LandscapeError(f"--freeze must be in [0, 1] (0: off), got {freeze}")
        settings["freeze"] = freeze
    if kinks is not None:
        if method != "neb":
            raise LandscapeError("--kinks applies to --method neb only")
        settings["kinks"] = kinks
    if unfold is not None:
        if method != "neb":
            raise LandscapeError("--unfold/--no-unfold applies to --method neb only")
        settings["unfold"] = unfold
    if split is not None:
        settings.update(_split_settings(method, split, out))
    if max_pivots is not None:
        if method != "autoneb":
            raise LandscapeError("--max-pivots applies to --method autoneb only")
        settings["max_pivots"] = max_pivots
    if check_per_segment is not None:
        if method == "autoneb":
            raise LandscapeError(
                "--check-per-segment applies to --method neb or string; AutoNEB's points per "
                "segment are its schedule's (per_segment)"
            )
        settings["check_per_segment"] = check_per_segment
    if check_all:
        if method not in ("neb", "string"):
            raise LandscapeError("--check-all applies to --method neb or string")
        settings["check_all"] = True
    progress = want_progress(progress)
    from landscape.optimizers.endpoints import check_and_relax
    from landscape.potentials.primed import PrimedPotential
    from landscape.runs.pair import check_endpoints

    # An --init path is used as it is: its ends are checked and reported, never moved.
    # The points the check evaluates are not evaluated again by the band's first step.
    primed = PrimedPotential(pot)
    a, b, ends = check_and_relax(primed, *check_endpoints(pot, a, b), relax=relax_ends and rows is None)
    b, aligned = _aligned_end(pot, a, b) if align_end else (b, None)
    from contextlib import nullcontext

    from landscape.optimizers.steplog import StepLog

    with StepLog(log) if log else nullcontext() as steplog, _defaulted(chosen, method, pot):
        result, stored, resumed, reused = _connect_run(
            primed,
            a,
            b,
            a_name,
            b_name,
            out,
            pivots,
            progress,
            force,
            resume,
            checkpoint_every,
            settings,
            [steplog] if steplog else [],
        )
    if result.status is Status.INTERRUPTED:  # never a success-shaped answer
        where = f"; {stored} keeps what was committed and the same command continues it" if stored else ""
        raise Interrupted(f"interrupted by the user after {result.nit} steps{where}")
    hessian = _certificate(pot, result, certify)
    from landscape.analysis.verdicts import judge

    judged = judge(result, hessian.get("hessian", {}))
    if stored and judged.status is not result.status:
        _store_verdict(stored, f"{a_name}-{b_name}", judged)
    result = judged
    emit(
        as_json,
        {
            "method": method,  # the one run (or reused), given or chosen by default_method
            **_result_payload(result, stored, resumed),
            "ends": {e.label: e.as_dict() for e in ends},
            "reused": reused,
            **({"aligned": aligned} if aligned else {}),
            **hessian,
        },
        [
            *(
                [
                    f"{stored} already holds this path, finished with the same settings: reused it, nothing was "
                    f"computed "
                    "(--force computes it again)"
                ]
                if reused
                else []
            ),
            *[
                f"{e.label} point was not a minimum (gradient norm {e.gradient_norm:.3g}, tolerance "
                f"{e.tolerance:.3g}): "
                f"relaxed {e.steps} steps, moved {e.moved:.3g}, energy down {e.energy_drop:.3g}"
                for e in ends
                if e.relaxed
            ],
            *[
                f"warning: {e.label} point is not a minimum (gradient norm {e.gradient_norm:.3g}, tolerance "
                f"{e.tolerance:.3g}); kept as given ({'--init' if rows is not None else '--no-relax-ends'})"
                for e in ends
                if not e.is_minimum and not e.relaxed
            ],
            *(
                [
                    f"aligned the end onto the start: distance {aligned['distance_before']:.6g} -> "
                    f"{aligned['distance_after']:.6g}"
                ]
                if aligned
                else []
            ),
            f"{method} {a_name} -> {b_name}: {result.status.value} ({result.message})",
            *_energy_lines(result),
            f"{result.path.n_pivots} pivots, {result.nit} steps, {result.nfev} evaluations"
            + (
                f" ({result.samples['gradient']:,} sample-gradients, {result.samples['forward']:,} sample-evaluations)"
                if result.samples
                else ""
            )
            + (f", spring {result.state.spring:.4g}" if getattr(result.state, "spring", 0.0) else "")
            + (f", stored in {stored}" if stored else ""),
            *_certificate_lines(hessian),
        ],
    )
    fail_unless_success(result, f"{method} {a_name} -> {b_name}")
    _fail_uncertified(hessian, certify)


@contextmanager
def _defaulted(given: str | None, method: str, pot: Any) -> Iterator[None]:
    """Say, when a store's path was made by another method than the default chosen,
    that --method was left out (a store written by AutoNEB, connect's default on every
    potential before, is neither continued by NEB nor replaced without --force)."""
    from landscape.runs.existing import OtherMethod

    try:
        yield
    except OtherMethod as exc:
        if given is not None:
            raise
        why = (
            "given --schedule or --max-pivots"
            if method == "autoneb" and default_method(pot) == "neb"
            else "on a network's loss or a stochastic potential"
            if method == "autoneb"
            else "on a deterministic potential that is no loss over data"
        )
        raise LandscapeError(f"{exc} (without --method, connect runs {method} {why})") from None


def _store_verdict(filename: str, name: str, result: Any) -> None:
    """Record the Hessian's verdict in the store, so `inspect` and later readers see the
    status this command reports.  A store that cannot be written (read-only media, a
    writer at work) keeps the run's own status; the verdict is reported all the same."""
    from landscape.foundations.lock import WriterLock
    from landscape.store import Store

    try:
        with WriterLock(filename), Store.write(filename) as store:
            store.set_status(name, result.status, result.message)
    except LandscapeError:
        pass


def _energy_lines(result: Any) -> list[str]:
    """The saddle estimate and barriers of a success; of a failed run, only its highest
    point (what it reached is no saddle estimate)."""
    if not result.success:
        return [
            f"highest energy on the final path {result.upper_bound:.6f} (not a saddle estimate: the run did "
            "not succeed)"
        ]
    return [
        f"saddle energy {result.saddle_energy:.6f} "
        f"({'climbing image' if result.climber_at_top else 'upper bound along the path'})",
        f"barrier {result.forward_barrier:.6f} from the start, {result.backward_barrier:.6f} from the end; "
        f"reaction energy {result.reaction_energy:.6f}",
    ]


def fail_unless_success(result: Any, what: str) -> None:
    """Exit 1 with one line saying why, after the result was reported, when `result`
    is not a success (docs/cli.md: a failed run exits 1)."""
    if not result.success:
        raise LandscapeError(f"{what} did not succeed: {result.status.value} ({collapse(result.message)})")


def _fail_uncertified(hessian: dict[str, Any], certify: bool) -> None:
    """With --certify, exit 1 when the saddle could not be certified first-order."""
    if not certify:
        return
    h = hessian.get("hessian", {})
    refined = h.get("refined", {})
    why = h.get("unavailable") or refined.get("unavailable")
    if why:
        raise LandscapeError(f"--certify could not certify the saddle: {why}")
    if not (refined.get("saddle_index_of_hessian") == 1 and refined.get("index_complete")):
        raise LandscapeError(
            f"--certify could not certify the saddle: the refined point has "
            f"{refined.get('saddle_index_of_hessian')} negative eigenvalues, not one"
        )


def _initial_path(file: str) -> Any:
    """The pivots of --init FILE: a .npy array, or whitespace/comma-separated text."""
    import numpy as np

    from landscape.foundations.files import readable_file

    path = readable_file(file, "--init")
    try:
        if path.endswith(".npy"):
            rows = np.load(path, allow_pickle=False)
            if not isinstance(rows, np.ndarray):  # an .npz archive under an .npy name
                raise ValueError(f"an archive of {len(rows.files)} arrays, not one array")
        else:
            with open(path) as fh:
                text = fh.read().replace(",", " ")
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # an empty file is an error, not a warning and an empty table
                rows = np.loadtxt(text.splitlines(), ndmin=2)
        if np.iscomplexobj(rows):  # float64 would drop the imaginary parts, with only a warning
            raise ValueError("complex numbers; a path needs real coordinates")
        return np.asarray(rows, dtype=np.float64)
    except (OSError, ValueError, TypeError, UnicodeDecodeError, UserWarning) as exc:
        raise LandscapeError(f"--init {file}: not a table of numbers ({collapse(str(exc))[:120]})") from None


def _ends(pot: Any, start: str | None, end: str | None, rows: Any) -> tuple[tuple[str, Any], tuple[str, Any]]:
    """(name, point) of both ends: as given, else --init's first and last pivots."""
    import numpy as np

    if rows is not None and (rows.ndim != 2 or len(rows) < 3):
        raise LandscapeError(f"--init needs at least 3 pivots, one per row; got an array of shape {rows.shape}")
    if rows is not None and rows.shape[1] != pot.dim:
        raise LandscapeError(f"--init holds pivots of {rows.shape[1]} coordinates; {pot.name} has dim={pot.dim}")
    a = resolve_point(pot, start, "start") if start is not None else ("init-first", np.asarray(rows[0]))
    b = resolve_point(pot, end, "end") if end is not None else ("init-last", np.asarray(rows[-1]))
    return a, b


def _aligned_end(pot: Any, a: Any, b: Any) -> tuple[Any, dict[str, float]]:
    """(the end's image closest to the start, distances before and after)."""
    import numpy as np

    from landscape.foundations.arrays import to_numpy
    from landscape.potentials.symmetry import align, symmetry_of

    if symmetry_of(pot) is None:
        raise LandscapeError(f"{pot.name} declares no symmetry, so --align has nothing to align")
    start, end = (np.asarray(to_numpy(v), dtype=np.float64) for v in (a, b))
    moved = align(pot, start, end)
    return pot.asarray(moved), {
        "distance_before": float(np.linalg.norm(end - start)),
        "distance_after": float(np.linalg.norm(moved - start)),
    }


def _connect_run(
    pot: Any,
    a: Any,
    b: Any,
    a_name: str,
    b_name: str,
    out: str | None,
    pivots: int | None,
    progress: bool,
    force: bool,
    resume: bool,
    checkpoint_every: float | None,
    settings: dict[str, Any],
    callbacks: list[Any],
) -> tuple[Any, str | None, tuple[int | None, int | None] | None, bool]:
    """(result, store, where it resumed, whether a finished path was reused): the run,
    in a store when `out` is given."""
    from landscape.runs.pair import connect
    from landscape.runs.stored import DEFAULT_CHECKPOINT_SECONDS, connect_stored

    if not out:
        return connect(pot, a, b, pivots=pivots, progress=progress, callbacks=callbacks, **settings), None, None, False
    every = DEFAULT_CHECKPOINT_SECONDS if checkpoint_every is None else checkpoint_every
    run = connect_stored(
        out,
        pot,
        (a_name, b_name),
        a,
        b,
        pivots=pivots,
        progress=progress,
        force=force,
        require_resume=resume,
        checkpoint_seconds=every,
        callbacks=callbacks,
        **settings,
    )
    return run.result, run.store, (run.resumed_from_cycle, run.resumed_from_step), run.reused


def _certificate(pot: Any, result: Any, refine: bool) -> dict[str, Any]:
    """What the Hessian says of the climbing image (and, with `refine`, of the saddle it
    converges to); empty when there is no climbing image or no affordable Hessian."""
    from landscape.analysis.hessian import CERTIFY_MAX, refine_saddle
    from landscape.analysis.verdicts import analyse_top

    if not result.climbing or pot.stochastic or pot.dim > CERTIFY_MAX or result.path.energies is None:
        if refine:
            why = (
                "no climbing image"
                if not result.climbing
                else "a mini-batch loss"
                if pot.stochastic
                else f"dim {pot.dim} > {CERTIFY_MAX}"
            )
            raise LandscapeError(f"--certify needs a climbing image of a deterministic potential ({why})")
        return {}
    import numpy as np

    from landscape.foundations.arrays import to_numpy

    # A Hessian that cannot be formed (a NaN gradient near the top) loses only this
    # report, never the band: it is marked unavailable, with the reason.
    try:
        out = analyse_top(pot, result)
    except LandscapeError as exc:
        return {"hessian": {"unavailable": collapse(str(exc))}}
    if refine:
        start = np.asarray(to_numpy(result.path.pivots))[out["pivot"]]
        try:
            point, cert, steps = refine_saddle(pot, start)
        except LandscapeError as exc:
            out["refined"] = {"unavailable": collapse(str(exc))}
            return {"hessian": out}
        energy = float(np.asarray(to_numpy(pot.energy(pot.asarray(point[None]))))[0])
        out["refined"] = {
            "saddle_energy": energy,
            "saddle_point": [float(v) for v in point[:10]],
            "steps": steps,
            "moved": float(np.linalg.norm(point - start)),
            **cert.summary(),
        }
    return {"hessian": out}


def _certificate_lines(payload: dict[str, Any]) -> list[str]:
    h = payload.get("hessian")
    if not h:
        return []
    if "unavailable" in h:
        return [f"Hessian at the climbing image: unavailable ({h['unavailable']})"]
    lines = [
        f"Hessian at the climbing image ({h['hessian_method']}): {h['saddle_index_of_hessian']} negative "
        f"eigenvalue(s), lowest {h['hessian_eigenvalues'][0]:.6g}, gradient norm {h['saddle_gradient_norm']:.3g}"
    ]
    lines += [f"warning: {w}" for w in h["warnings"]]
    if "unavailable" in h.get("refined", {}):
        lines.append(f"refined saddle: unavailable ({h['refined']['unavailable']})")
    elif "refined" in h:
        r = h["refined"]
        lines.append(
            f"refined saddle: energy {r['saddle_energy']:.8f}, index {r['saddle_index_of_hessian']}, "
            f"gradient norm {r['saddle_gradient_norm']:.3g}, moved {r['moved']:.3g} in {r['steps']} steps"
        )
    return lines


@click.command("exact")
@potential_options
@click.option("--start", required=True, help="Named minimum or comma-separated coordinates.")
@click.option("--end", required=True, help="Named minimum or comma-separated coordinates.")
@click.option("--grid", type=int, default=801, show_default=True, help="Grid points per axis.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def exact_cmd(potential: str, options: tuple[str, ...], start: str, end: str, grid: int, as_json: bool) -> None:
    """Grid-exact minimax path of a 2D POTENTIAL (the ground truth).

    \b
    Example: landscape exact mueller-brown --start A --end B --grid 801
    """
    from landscape.paths.exact import grid_minimax

    pot = build_potential(potential, options)
    if pot.dim != 2:
        raise LandscapeError(f"exact paths need a 2D potential, got dim={pot.dim}")
    (a_name, a), (b_name, b) = resolve_point(pot, start, "start"), resolve_point(pot, end, "end")
    ex = grid_minimax(pot, a, b, grid=grid)
    emit(
        as_json,
        {
            "saddle_energy": float(ex.saddle_energy),
            "saddle_point": ex.saddle_point.tolist(),
            "tolerance": float(ex.tolerance),
            "grid": grid,
            "path_cells": int(len(ex.points)),
        },
        [
            f"grid minimax {a_name} -> {b_name} on {grid}x{grid}: saddle {ex.saddle_energy:.6f} at "
            f"({ex.saddle_point[0]:.6f}, {ex.saddle_point[1]:.6f}); the grid resolves it to about {ex.tolerance:.2g} "
            "(the largest energy step from the saddle cell to a neighbour)"
        ],
    )


@click.command("demo")
@click.option(
    "--out-dir",
    "out_dir",
    default="landscape-demo",
    callback=named,
    show_default=True,
    help="Folder for the store and the pictures.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def demo_cmd(out_dir: str, as_json: bool) -> None:
    """AutoNEB with climbing image between Mueller-Brown minima A and B.

    \b
    Example: landscape demo --out-dir landscape-demo
    """
    from landscape.plotting.figures import plot_plane, plot_profile, save_figure
    from landscape.potentials.registry import load_potential
    from landscape.runs.stored import connect_stored

    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as exc:
        raise LandscapeError(f"cannot create output folder {out_dir}: {exc.strerror}") from None
    pot = load_potential("mueller-brown")
    a, b = pot.minima["A"], pot.minima["B"]
    began = time.perf_counter()
    run = connect_stored(
        os.path.join(out_dir, "store"), pot, ("A", "B"), a, b, method="autoneb", climb=True, force=True
    )
    seconds = time.perf_counter() - began
    result, store = run.result, run.store
    from landscape.paths.path import Path

    straight = Path.straight(a, b, 2).profile(pot, per_segment=100)
    pictures = [
        save_figure(
            plot_profile(result.profile, straight=straight, reference=MB_REFERENCE, title="Mueller-Brown A -> B"),
            os.path.join(out_dir, "profile.png"),
        ),
        save_figure(
            plot_plane(pot, [result.path], labels=["AutoNEB path"], title="Mueller-Brown"),
            os.path.join(out_dir, "plane.png"),
        ),
    ]
    error = result.saddle_energy - MB_REFERENCE
    emit(
        as_json,
        {
            **_result_payload(result, store),
            "reference_saddle_energy": MB_REFERENCE,
            "error": error,
            "seconds": seconds,
            "pictures": pictures,
        },
        [
            f"Mueller-Brown A -> B, AutoNEB with climbing image: {result.path.n_pivots} pivots, "
            f"{len(result.cycles)} cycles, {result.nfev} evaluations, {seconds:.2f} s",
            f"saddle energy   {result.saddle_energy:.6f}",
            f"reference       {MB_REFERENCE:.6f}   (difference {error:+.2e})",
            f"straight line   {straight.saddle_energy:.6f}   (highest point of the linear interpolation)",
            f"wrote {store}, {pictures[0]}, {pictures[1]}",
        ],
    )
    fail_unless_success(result, "the demo's AutoNEB run")
