"""The ResNet-20 row of Draxler et al.'s Table 1 in one command, under a wall-clock guard (issue 22).

    python bench/gpu_paper.py --data data/cifar10_jpeg.npz --out paper     # one H100/H200, at most 540 s
    python bench/gpu_paper.py --smoke --out smoke                          # the same code on a CPU, < 1 minute

Phases, each continuing what the store DIR/paper already holds (plugins/cifar/experiment.py):

- data: the `cifar` potential; all 50,000 / 10,000 images decoded once onto the device,
  where the training batches are cropped and flipped too.
- train: 3 ResNet-20 minima, He et al.'s recipe (SGD 0.1, momentum 0.9, weight decay
  1e-4, batch 128, lr /10 at 50% and 75%) shortened to `--epochs` (default 16: 3 x 16
  epochs at the 4.7 s per epoch measured on an H200 in docs/cifar.md are 226 s), all
  at once by default (`trainrun.train_stored(stacked=True)`: one vmapped step for the
  three, each equal to training it alone up to rounding; `--no-stacked`: one by one;
  every epoch of the stack is committed, so the guard stops between epochs as before).  The paper trains
  136 epochs to train loss 0.016 and 8.5% test error; 16 epochs will not reach the
  target of train loss <= 0.02 and test error <= 9%, which the criteria report.
- paths: a path between each pair the exploration picks (Algorithm 3: with 3 minima
  the two pairs of the first tree, then the third, which might lower it: all 3 pairs,
  `exploration.pairs` in the summary), by `--preset`:
  - `bezier` (the default; plugins/cifar/curve_presets.py): a 3-bend Bezier curve
    trained 1,760 steps of one t on half the paper's loss batch (256 images for
    ResNet-20), Adam 1e-2 with Garipov et al.'s decay, stored at 15 pivots.  Its
    sample-gradients per path are steps x t x batch = 1,760 x 1 x 256 = 450,560 at
    this scale, against at least 16,000 x 512 = 8,192,000 for the paper's schedule
    (every step moves one pivot or more), so under a tenth (the test in
    tests/plugins/test_cifar_curve_preset.py checks it from the presets).  Measured on
    the reduced CPU run only (docs/cifar.md, "A tenth of the samples"): 88,000
    sample-gradients per path against the paper schedule's 885,100 (path 0-2), highest
    whole-set train loss inside 0.00516 / 0.00455 / 0.00469 against 0.01203 /
    0.00557 / 0.00483, Sadd./Min. 3.00 against 3.38.  Its time per path on a GPU is
    unmeasured (1,760 steps of one ResNet-20 forward and backward on 256 images).
    `--curve-steps` trains it that many steps instead.
  - an AutoNEB preset of recipes.AUTONEB_PRESETS: `tenth` (the paper's 14 cycles and
    16,000 steps at a tenth of its batch and learning rates; on the reduced run it
    missed the criterion by 30-100x), `paper`, `short` (the paper's cycles at a tenth
    of their steps), ...; `--cycle-steps` rescales its cycles, at most `--max-pivots`.
  `--together on` steps the curves of each batch of pairs Algorithm 3 proposes (3
  minima: the tree's two, then the third alone) in lockstep: one network call per step
  for all of them, each pair on its own batch stream, t and Adam state
  (plugins/torchnet/lockstep_runs.py), storing what one pair after another stores (the
  same records and sample counts; the paths equal up to the joint call's float32
  rounding, about 1e-6 on the smoke run); a group the guard stops resumes exactly,
  every pair from its own snapshot.  `off`: one pair after another; `auto` (the
  default): off on a CPU, where the joint call measured 0.66-0.88x the speed of the
  loop (bench/bench_curves_together.py), on a GPU on, timing the joint call against the
  loop at a batch's first step and keeping the faster (unmeasured there so far).
  Each path's loss is a mini-batch one, its two fixed ends evaluated forward-only on
  every step's batch (`Potential.same_batch_energy`).  By default the potential
  declares the channel-permutation symmetry (`--no-align` turns it off), so every
  path starts on the straight line to the weight-matched image of its far end.
- table1: Table 1 (plugins/cifar/report.py): every path and the minima on all images,
  the straight line and the aligned (weight-matched) line between the MST's pairs.
- criteria: the claim's criteria (plugins/cifar/claim.py) at the paper's quality
  (minima at train loss <= 0.02 and test error <= 9%); with AutoNEB also whether every
  path levelled off, on the per-cycle maxima it saw (mini-batch figures: no extra
  device time), which a curve (no cycles, a fixed number of steps) leaves out; Figures 5-7.

The guard (`--budget-seconds`, default 540): before each phase, after every training
epoch, between paths and before each evaluation of Table 1 it compares the time left
with the longest such unit so far, and stops when the next one would not fit: the
store keeps every finished epoch, path and evaluation, summary.json says
`completed: false` and the phase it reached, and the same command continues.  A path
in flight at the deadline is stopped at its next step, a curve's as an AutoNEB band's
(the executor's step hook): AutoNEB keeps its finished cycles, a curve its state at
that step (controls, Adam's moments, the step count), which the next call resumes, so
the row equals an uninterrupted one (the test stops a curve after its first step).
A unit longer than every one before it in its phase can end past the budget by the
difference (the default leaves 60 s to a 10-minute limit).

DIR/summary.json: `completed`, `phase`, `phase_seconds`, `samples` per phase (sample-
gradients and sample-evaluations, from the potential's counters: docs/torch.md),
`stored_samples` (what the store records each minimum and each path cost, and their
means per minimum and per path),
`images_per_second` per phase, `together` (asked, ran, the joint call's mode, what each
batch of pairs ran: "vmap", "loop" or "alone", and how a stopped group resumes),
`schedule` (AutoNEB: its cycles and steps; a curve:
its steps, t per step, batch, pivots and `sample_gradients_per_path`), the pairs
explored and the tree's, the device, the row beside the paper's, the criteria,
and `calls`: every call on this store (a rerun adds one; `total` sums them).

`--smoke`: a ResNet-8 of width 4 on 300 / 200 images on the CPU, the curve at 40 steps
of 16 images stored at 3 pivots (AutoNEB presets: 1 step a cycle): the real CIFAR-10
copy where present (../shared/data or --data), else a synthetic data set written to
DIR (summary.json says which).  The data file must travel with the working tree to a
GPU machine: copy ../shared/data/cifar10_jpeg.npz into an ignored folder (e.g. data/).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from landscape.potentials.potential import samples_since

FULL = dict(
    model="resnet20",
    n_train=0,
    n_test=0,
    epochs=16,
    train_batch=128,
    lr=0.1,
    neb_batch=0,
    cycle_steps=None,
    curve_steps=None,
    pivots=None,
    max_pivots=15,
    per_segment=2,
    line_points=9,
    calibration=2048,
    eval_batch=2048,
    device="auto",
)
SMOKE = dict(
    model="resnet8-w4",
    n_train=300,
    n_test=200,
    epochs=2,
    train_batch=50,
    lr=0.05,
    neb_batch=16,
    cycle_steps=1,
    curve_steps=40,
    pivots=3,
    max_pivots=4,
    per_segment=1,
    line_points=3,
    calibration=64,
    eval_batch=512,
    device="cpu",
)
#: Draxler et al. 2018, Table 1, ResNet-20 on CIFAR-10 (Min. and Sadd.).
PAPER_ROW = {
    "train_loss_min": 0.016,
    "train_loss_sadd": 0.032,
    "test_loss_min": 0.36,
    "test_loss_sadd": 0.38,
    "test_error_min_pct": 8.5,
    "test_error_sadd_pct": 8.9,
}
#: The quality the minima must reach: the paper's, with a little room.
TARGET = {"train_loss": 0.02, "test_error": 0.09}
PHASES = ("data", "train", "paths", "table1", "criteria")
TOGETHER = ("auto", "on", "off")
#: How a lockstepped group that the guard (or a kill) stopped goes on: exactly.
TOGETHER_RESUME = (
    "exact: every pair of a stopped group resumes from its own snapshot (controls, Adam's moments, "
    "step, batch stream), alone or in a group, as one pair after another does"
)
RESERVE_SECONDS = 5.0  # kept for the summary and the figures


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="gpu-paper", help="output folder (store, summary.json, figures)")
    p.add_argument(
        "--data",
        default="",
        help="cifar10_jpeg.npz-format file (default: the shared offline copy); "
        "'synthetic' writes a small synthetic one into --out",
    )
    p.add_argument("--smoke", action="store_true", help="the same code on a CPU, tiny ResNet, a few hundred images")
    p.add_argument("--budget-seconds", type=float, default=540.0, help="wall-clock budget of this call")
    p.add_argument("--device", default=None, help="auto, cpu, cuda or cuda:N (default: auto; --smoke: cpu)")
    p.add_argument("--minima", type=int, default=3)
    p.add_argument("--model", default=None, help="resnet20 (--smoke: resnet8-w4)")
    p.add_argument("--n-train", type=int, default=None, help="training images (0: all 50,000)")
    p.add_argument("--n-test", type=int, default=None, help="test images (0: all 10,000)")
    p.add_argument("--epochs", type=int, default=None, help="training epochs per minimum (default 16)")
    p.add_argument("--train-batch", type=int, default=None, help="training batch (default 128)")
    p.add_argument("--lr", type=float, default=None, help="training learning rate (default 0.1)")
    p.add_argument("--milestones", default="0.5,0.75", help="fractions of the epochs where the lr drops x0.1")
    p.add_argument(
        "--preset",
        default=None,
        help="how each pair is connected: a curve preset of curve_presets.CURVE_PRESETS (default: bezier) "
        "or an AutoNEB preset of recipes.AUTONEB_PRESETS (tenth, paper, short, ...)",
    )
    p.add_argument("--cycle-steps", type=int, default=None, help="AutoNEB: rescale every cycle to this many steps")
    p.add_argument(
        "--curve-steps", type=int, default=None, help="curve: train it this many steps (default: the preset's)"
    )
    p.add_argument("--neb-batch", type=int, default=None, help="images per loss of a path (0: the preset's)")
    p.add_argument(
        "--pivots", type=int, default=None, help="AutoNEB: starting pivots; curve: pivots stored (ends included)"
    )
    p.add_argument("--max-pivots", type=int, default=None, help="cap on a path's pivots (default 15)")
    p.add_argument("--per-segment", type=int, default=None, help="Table 1: points evaluated between pivots")
    p.add_argument("--line-points", type=int, default=None, help="Table 1: points on each straight line")
    p.add_argument("--calibration", type=int, default=None, help="BatchNorm calibration samples per point")
    p.add_argument(
        "--no-align",
        dest="align",
        action="store_false",
        help="no channel-permutation symmetry: plain straight starts, no aligned line in Table 1",
    )
    p.add_argument("--bf16", action="store_true", help="bfloat16 autocast of the network")
    p.add_argument("--channels-last", action="store_true", help="NHWC images and weights")
    p.add_argument(
        "--compile",
        default=None,
        metavar="MODE",
        help="torch.compile the training step and the band's evaluation (default, reduce-overhead, "
        "max-autotune): the cifar potential's compile option; eager with one warning line where it fails",
    )
    p.add_argument(
        "--stacked",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="train the minima at once (plugins/torchnet/stacked.py; default), or one by one (--no-stacked)",
    )
    p.add_argument("--batched", default=None, help="auto, vmap or loop: how a band's pivots are evaluated")
    p.add_argument(
        "--together",
        choices=TOGETHER,
        default="auto",
        help="a curve preset's pairs of each exploration batch in lockstep, one network call per step "
        "(plugins/torchnet/lockstep_runs.py): on, off (one pair after another) or auto (off on a CPU, "
        "where it measured slower; on a GPU on, the joint call timed against the loop at the first step)",
    )
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads (--smoke: 1)")
    p.add_argument("--force", action="store_true", help="start over (replace the store)")
    p.add_argument("--progress", action="store_true", help="progress bars on stderr")
    return p.parse_args(argv)


# --------------------------------------------------------------------------- the guard


class Stopped(Exception):
    """Why a call ended before the row: the next unit of work would not fit in the time
    left, or (`by_user`) Ctrl-C."""

    def __init__(self, phase: str, message: str, by_user: bool = False):
        super().__init__(message)
        self.phase, self.by_user = phase, by_user


@dataclass
class Guard:
    """The wall clock of one call.  `check(phase)` before a unit of work stops (raises
    Stopped) when the longest unit of that phase seen so far would end past the budget
    less a reserve; `done(phase)` marks a unit's end.  `expired()` says the budget less
    the reserve is spent (a hook for work that can stop in the middle)."""

    budget: float
    clock: Callable[[], float] = time.monotonic
    reserve: float = RESERVE_SECONDS
    began: float = field(init=False)
    longest: dict[str, float] = field(default_factory=dict)
    _mark: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.began = self.clock()

    def elapsed(self) -> float:
        return self.clock() - self.began

    def expired(self) -> bool:
        return self.elapsed() >= self.budget - self.reserve

    def check(self, phase: str, what: str) -> float:
        """The seconds spent so far, when `what` (a unit of `phase`) fits; else Stopped."""
        now = self.clock() - self.began
        need = self.longest.get(phase, 0.0)
        if now + need > self.budget - self.reserve:
            raise Stopped(
                phase,
                f"stopped before {what}: {now:.0f} s of {self.budget:g} s spent"
                + (f", the longest unit so far took {need:.0f} s" if need else ""),
            )
        self._mark[phase] = now
        return now

    def done(self, phase: str) -> None:
        now = self.clock() - self.began
        start = self._mark.get(phase, now)
        self.longest[phase] = max(self.longest.get(phase, 0.0), now - start)
        self._mark[phase] = now


class _StopAtDeadline:
    """The executor's step hook: interrupts the path in flight once the guard has
    expired, as Ctrl-C would (the run keeps its committed cycles; the rerun resumes it)."""

    def __init__(self, guard: Guard):
        self.guard = guard
        self.fired = False

    def __call__(self, i: int, j: int, step: int, top: float) -> None:
        if self.guard.expired():
            self.fired = True
            raise KeyboardInterrupt


# --------------------------------------------------------------------------- settings


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    """The run's settings: the preset (full or smoke) with the options given."""
    cfg = dict(SMOKE if args.smoke else FULL)
    for key in (
        "model",
        "n_train",
        "n_test",
        "epochs",
        "train_batch",
        "lr",
        "cycle_steps",
        "curve_steps",
        "neb_batch",
        "pivots",
        "max_pivots",
        "per_segment",
        "line_points",
        "calibration",
        "device",
    ):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    return cfg


def _milestones(text: str) -> tuple[float, ...]:
    from landscape import LandscapeError

    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise LandscapeError(f"--milestones must be comma-separated fractions, got {text!r}") from None


def _default_preset() -> str:
    from landscape_plugins.cifar.curve_presets import CURVE_PRESETS
    from landscape_plugins.cifar.recipes import AUTONEB_PRESETS

    if "bezier" in CURVE_PRESETS:
        return "bezier"
    return "tenth" if "tenth" in AUTONEB_PRESETS else "short"


def path_preset(args: argparse.Namespace, cfg: dict[str, Any]) -> tuple[Any, int | None, int | None]:
    """(preset, loss batch or None, cycle_steps) for `Experiment`: an AutoNEB preset's
    name with the cycle length asked for, or a curve preset (`curve_presets`) with
    `--curve-steps` applied and its batch.  An option of the other kind is one line."""
    from dataclasses import replace

    from landscape import LandscapeError
    from landscape_plugins.cifar.curve_presets import curve_preset, is_curve

    name = args.preset or _default_preset()
    if not is_curve(name):
        if args.curve_steps is not None:
            raise LandscapeError(f"--curve-steps applies to a curve preset, not to the AutoNEB preset {name!r}")
        return name, None, cfg["cycle_steps"]
    if args.cycle_steps is not None:
        raise LandscapeError(f"--cycle-steps applies to AutoNEB presets, not to the curve preset {name!r}")
    preset, batch = curve_preset(cfg["model"], name)
    steps = cfg["curve_steps"]
    if steps is not None:
        if steps < 1:
            raise LandscapeError(f"--curve-steps must be >= 1, got {steps}")
        preset = replace(preset, name=f"{name}-{steps}", steps=steps)
    if cfg["pivots"] is not None:  # the pivots the curve is stored at
        preset = replace(preset, pivots=cfg["pivots"])
    return preset, batch, None


def _data(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """Which data file: --data, the shared copy, or (smoke, or --data synthetic) a
    synthetic one written into --out.  One-line error when a full run has none."""
    from landscape import LandscapeError
    from landscape_plugins.cifar.data import default_npz_path, write_synthetic_npz

    if args.data and args.data != "synthetic":
        if not os.path.isfile(args.data):
            raise LandscapeError(f"data file {args.data} not found")
        return {"file": os.path.abspath(args.data), "kind": "real"}
    found = None if args.data == "synthetic" else default_npz_path()
    if found is not None:
        return {"file": str(found), "kind": "real"}
    if not args.smoke and args.data != "synthetic":
        raise LandscapeError(
            "no CIFAR data: give --data PATH/cifar10_jpeg.npz (copy ../shared/data/cifar10_jpeg.npz "
            "into an ignored folder), or set LANDSCAPE_CIFAR_NPZ"
        )
    n_train, n_test = cfg["n_train"] or 300, cfg["n_test"] or 200
    file = os.path.abspath(os.path.join(args.out, f"synthetic-{n_train}-{n_test}.npz"))
    if not os.path.isfile(file):
        write_synthetic_npz(file, n_train, n_test)
    return {"file": file, "kind": "synthetic"}


def _has_option(func: Callable[..., Any], name: str) -> bool:
    import inspect

    return name in inspect.signature(func).parameters


def training_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keywords for the stored training (`trainrun.train_stored`) that the flags ask for."""
    return {"stacked": bool(args.stacked)}


def experiment(args: argparse.Namespace, cfg: dict[str, Any], data_file: str) -> Any:
    """The `Experiment` of this call (plugins/cifar/experiment.py)."""
    from landscape import LandscapeError
    from landscape_plugins.cifar.experiment import Experiment
    from landscape_plugins.cifar.potential import build_cifar

    preset, batch, cycle_steps = path_preset(args, cfg)
    potential = dict(
        model=cfg["model"],
        data=data_file,
        n_train=cfg["n_train"],
        n_test=cfg["n_test"],
        device=cfg["device"],
        bf16=args.bf16,
        channels_last=args.channels_last,
        batched=args.batched or ("loop" if cfg["device"] == "cpu" else "auto"),
        calibration_size=cfg["calibration"],
        batch_size=cfg["neb_batch"] or batch or 0,
    )
    if args.align:
        potential["align"] = True
    if args.compile:
        if not _has_option(build_cifar, "compile"):
            raise LandscapeError(
                "--compile: this checkout's cifar plugin has no compile option yet "
                "(plugins/torchnet/speed.py has torch.compile for NetworkPotential)"
            )
        potential["compile"] = args.compile
    return Experiment(
        potential=potential,
        minima=args.minima,
        epochs=cfg["epochs"],
        train_batch=cfg["train_batch"],
        lr=cfg["lr"],
        milestones=_milestones(args.milestones),
        preset=preset,
        cycle_steps=cycle_steps,
        pivots=cfg["pivots"],
        max_pivots=cfg["max_pivots"] or None,
        per_segment=cfg["per_segment"],
        line_points=cfg["line_points"],
        eval_batch=cfg["eval_batch"],
    )


# --------------------------------------------------------------------------- phases


@dataclass
class _Run:
    """What the phases of one call leave behind, for the summary."""

    store: str
    seconds: dict[str, float] = field(default_factory=dict)
    began: dict[str, float] = field(default_factory=dict)  # seconds into the call at each phase's start
    samples: dict[str, dict[str, int]] = field(default_factory=dict)
    images: dict[str, int] = field(default_factory=dict)  # images decoded (data phase)
    done: list[str] = field(default_factory=list)
    current: str = PHASES[0]  # the phase in progress (or the next one)
    setup: Any = None
    training: Any = None
    exploration: Any = None
    table: Any = None
    curves: Any = None
    checks: Any = None
    figures: Any = None
    together: dict[str, Any] = field(default_factory=lambda: {"asked": "auto", "ran": "off"})


def _phase(run: _Run, guard: Guard, name: str, work: Callable[[], None]) -> None:
    """Run one phase: checked before it starts, timed, and its samples counted (the
    counters of the potential: what it cost even when the guard stops it)."""
    run.current = name
    run.began[name] = guard.check(name, f"the {name} phase")
    pot = run.setup.potential if run.setup is not None else None
    mark = pot.cost() if pot is not None else None
    t0 = guard.clock()
    try:
        work()
    finally:
        run.seconds[name] = run.seconds.get(name, 0.0) + guard.clock() - t0
        pot = run.setup.potential if run.setup is not None else None
        if pot is not None:
            spent = samples_since(pot, mark) if mark is not None else pot.cost()
            run.samples[name] = dict(spent or {"gradient": 0, "forward": 0})
    run.done.append(name)


def _train(run: _Run, guard: Guard, exp: Any, progress: bool, options: dict[str, Any]) -> None:
    """Train the missing minima; the guard looks after every committed epoch, and after
    every step once the budget is spent (an epoch longer than the time left: the first,
    or a compiled one), when the store keeps the last finished epoch."""
    from landscape_plugins.cifar.experiment import train

    stacked = bool(options.get("stacked"))

    def on_step() -> None:  # a host clock read: no device sync
        if guard.expired():
            spent, budget = guard.elapsed(), guard.budget
            raise Stopped(
                "train", f"stopped inside an epoch at {spent:.0f} s, the {budget:g} s budget less the reserve"
            )

    def after_commit(name: str, epoch: int) -> None:  # epoch 0: minimum `name` was committed
        guard.done("train")
        if epoch:  # a stack's epochs come under its first minimum
            guard.check("train", f"epoch {epoch + 1} of minim{'a from ' if stacked else 'um '}{name}")
        elif int(name) + 1 < exp.minima and not stacked:  # a stack commits its minima together: none follows
            guard.check("train", f"minimum {int(name) + 1}")

    run.training = train(
        run.store, run.setup, exp, progress=progress, after_commit=after_commit, on_step=on_step, **options
    )


def together_mode(args: argparse.Namespace, preset: Any, device: Any) -> dict[str, Any]:
    """How the paths phase runs a batch of pairs: `ran` "on" (in lockstep, `batched` the
    executor's: "vmap" for --together on, "auto" timed on a GPU) or "off" (one after
    another: AutoNEB presets, and --together auto on a CPU, where the joint call measured
    0.66-0.88x of the loop, bench/bench_curves_together.py)."""
    from landscape import LandscapeError
    from landscape_plugins.cifar.curve_presets import is_curve

    if not is_curve(preset):
        if args.together == "on":
            raise LandscapeError(f"--together on applies to a curve preset, not to the AutoNEB preset {preset!r}")
        return {"asked": args.together, "ran": "off"}
    if args.together == "off" or (args.together == "auto" and getattr(device, "type", str(device)) == "cpu"):
        return {"asked": args.together, "ran": "off"}
    batched = "vmap" if args.together == "on" else "auto"
    return {"asked": args.together, "ran": "on", "batched": batched, "resume": TOGETHER_RESUME}


def _paths(run: _Run, guard: Guard, exp: Any, progress: bool, log: Callable[[str], None]) -> None:
    """One path (or, in lockstep, one batch of pairs) at a time, so that the guard looks
    between them; a path in flight at the deadline is interrupted at its next step
    (AutoNEB keeps the cycles committed so far, a curve its state at that step, and the
    next call resumes it from there, its sampler position included)."""
    from landscape import ExploreBudget, ExploreStatus, LocalExecutor
    from landscape_plugins.cifar.experiment import explore_paths
    from landscape_plugins.torchnet.lockstep_runs import LockstepExecutor

    together = run.together
    if together["ran"] == "on":
        executor = LockstepExecutor(exp.minima * (exp.minima - 1) // 2, together["batched"])
        log(f"paths: each batch's pairs in lockstep ({together['batched']}); after a stop, resume is {TOGETHER_RESUME}")
    else:
        executor = LocalExecutor()
    executor.on_step = stop = _StopAtDeadline(guard)
    try:
        with executor:
            while True:
                ex = explore_paths(
                    run.store,
                    run.setup,
                    exp,
                    budget=ExploreBudget(max_runs=executor.workers),
                    executor=executor,
                    progress=progress,
                )
                run.exploration = ex
                guard.done("paths")
                if ex.status is ExploreStatus.COMPLETE:
                    return
                if stop.fired:
                    raise Stopped("paths", "stopped a path in flight at the deadline (its progress is stored)")
                if ex.status is ExploreStatus.INTERRUPTED:  # Ctrl-C, which explore caught and committed
                    raise KeyboardInterrupt
                guard.check("paths", "the next path" if executor.workers == 1 else "the next pairs")
    finally:
        together["batches"] = together.get("batches", []) + list(getattr(executor, "ran", []))


def _table(run: _Run, guard: Guard, exp: Any, log: Callable[[str], None]) -> None:
    """Table 1's evaluations: the guard looks before each, and between the batches
    inside one once the budget is spent (an evaluation longer than the time left: the
    first, a whole-set profile of a path), when that evaluation is not stored at all and
    the rerun computes it whole."""
    from landscape_plugins.cifar.experiment import tabulate

    def before_each(message: str) -> None:  # report.table1 tells of each evaluation before it runs
        guard.done("table1")
        guard.check("table1", message)
        log(message)

    def on_batch() -> None:  # a host clock read: no device sync
        if guard.expired():
            spent, budget = guard.elapsed(), guard.budget
            raise Stopped(
                "table1", f"stopped inside an evaluation at {spent:.0f} s, the {budget:g} s budget less the reserve"
            )

    run.table = tabulate(run.store, run.setup, exp, progress=before_each, on_batch=on_batch)


def _criteria(run: _Run, args: argparse.Namespace) -> None:
    from landscape_plugins.cifar.claim import criteria, cycle_curves
    from landscape_plugins.cifar.curve_presets import is_curve
    from landscape_plugins.cifar.report import write_figures

    # AutoNEB's per-cycle maxima say whether it levelled off; a curve has no cycles
    # (it trains its fixed steps), so that criterion is left out for it
    curved = is_curve(run.setup.schedule)
    run.curves = None if curved else cycle_curves(run.store, [p.name for p in run.table.paths])
    run.checks = criteria(
        run.table, run.curves, fit_loss=TARGET["train_loss"], fit_error=None, test_error=TARGET["test_error"]
    )
    run.figures = write_figures(run.table, args.out)


# --------------------------------------------------------------------------- summary


def _stored_samples(run: _Run) -> dict[str, Any]:
    """What the store records each result cost: per minimum (its training) and per path
    (its AutoNEB run or curve, as the uninterrupted run would count it)."""
    from landscape import Store
    from landscape.store.layout import read_samples

    out: dict[str, Any] = {}
    if run.training is not None:
        out["train"] = {k: dict(v) for k, v in run.training.samples.items()}
        out["per_minimum"] = _mean(out["train"].values())
    if run.exploration is not None:
        with Store.open(run.store) as s:
            out["paths"] = {n: read_samples(s.path_info(n)) for n in s.path_names()}
        out["per_path"] = _mean(v for v in out["paths"].values() if v)
    return out


def _mean(counts: Any) -> dict[str, float] | None:
    """The mean of sample counts ({"gradient": ..., "forward": ...}) per kind; None for none."""
    counts = list(counts)
    if not counts:
        return None
    return {kind: sum(c[kind] for c in counts) / len(counts) for kind in ("gradient", "forward")}


def _per_second(run: _Run) -> dict[str, float | None]:
    """Images through the network per second in each phase (decoded images in `data`)."""
    out: dict[str, float | None] = {}
    for name, seconds in run.seconds.items():
        count = run.images.get(name) if name == "data" else sum((run.samples.get(name) or {}).values())
        out[name] = count / seconds if count is not None and seconds > 0 else None
    return out


def _previous_calls(file: str, store: str) -> list[dict[str, Any]]:
    """The calls recorded by an earlier summary of the same store (none after --force)."""
    if not os.path.exists(store):
        return []
    try:
        with open(file) as fh:
            return list(json.load(fh).get("calls", []))
    except (OSError, ValueError):
        return []


def _totals(calls: list[dict[str, Any]]) -> dict[str, Any]:
    seconds: dict[str, float] = {}
    samples: dict[str, dict[str, int]] = {}
    for call in calls:
        for k, v in call["phase_seconds"].items():
            seconds[k] = seconds.get(k, 0.0) + v
        for k, v in call["samples"].items():
            have = samples.setdefault(k, {"gradient": 0, "forward": 0})
            for kind, n in v.items():
                have[kind] = have.get(kind, 0) + n
    return {"phase_seconds": seconds, "samples": samples, "seconds": sum(c["wall_seconds"] for c in calls)}


def _schedule(setup: Any, exp: Any) -> dict[str, Any]:
    """How the pairs were connected: the AutoNEB schedule (cycles, steps) or the curve
    (its steps, t per step, pivots, and its sample-gradients per path: steps x t x batch)."""
    from landscape_plugins.cifar.curve_presets import is_curve

    s, batch = setup.schedule, setup.potential.sampler.batch_size
    if not is_curve(s):
        return {"name": s.name, "method": "autoneb", "cycles": len(s.cycles), "steps": s.total_steps, "batch": batch}
    return {
        "name": s.name,
        "method": "curve",
        "kind": s.kind,
        "bends": s.bends,
        "steps": s.steps,
        "draws": s.draws,
        "lr": s.lr,
        "lr_decay": s.lr_decay,
        "pivots": exp.pivots or s.pivots,
        "batch": batch,
        "sample_gradients_per_path": s.sample_gradients(batch),
    }


def summarise(
    run: _Run, args: argparse.Namespace, exp: Any, data: dict[str, Any], guard: Guard, stopped: Stopped | None
) -> dict[str, Any]:
    """summary.json: how far this call got, what each phase cost, the row and the criteria."""
    import torch

    from landscape_plugins.cifar.potential import device_name

    file = os.path.join(args.out, "summary.json")
    pot = run.setup.potential if run.setup is not None else None
    phase = "done" if stopped is None else stopped.phase
    call = {
        "completed": stopped is None,
        "phase": phase,
        "stopped": None if stopped is None else str(stopped),
        "phase_seconds": run.seconds,
        "phase_began": run.began,
        "samples": run.samples,
        "images_per_second": _per_second(run),
        "wall_seconds": guard.elapsed(),
        "budget_seconds": guard.budget,
    }
    calls = _previous_calls(file, run.store) + [call]
    table = run.table.to_json() if run.table is not None else None
    summary = {
        **call,
        "phases": list(PHASES),
        "phases_done": run.done,
        "device": device_name(pot.device) if pot is not None else None,
        "torch": torch.__version__,
        "smoke": args.smoke,
        "data": {
            **data,
            "n_train": len(pot.train_data) if pot else None,
            "n_test": len(pot.test_data) if pot else None,
        },
        "experiment": json.loads(json.dumps(asdict(exp), default=str)),
        "recipe": None if run.setup is None else asdict(run.setup.config),
        "stacked_training": bool(args.stacked),
        "together": run.together,
        "forward_only_ends": None if pot is None else bool(pot.same_batch_energy),
        "schedule": None if run.setup is None else _schedule(run.setup, exp),
        "stored_samples": _stored_samples(run),
        "minima": None if run.training is None else {k: dict(v) for k, v in run.training.final.items()},
        "exploration": None
        if run.exploration is None
        else {
            "status": run.exploration.status.value,
            "paths": len(run.exploration.edges),
            "pairs": sorted(run.exploration.paths.values()),  # Algorithm 3's: 3 minima, all 3 pairs
            "tree": sorted(run.exploration.paths[(i, j)] for i, j, _ in run.exploration.tree),
        },
        "row": None if table is None else table["row"],
        "paper_row": PAPER_ROW,
        "target": TARGET,
        "table": table,
        "cycle_maxima": run.curves,
        "criteria": run.checks,
        "figures": run.figures,
        "calls": calls,
        "total": _totals(calls),
    }
    summary = json.loads(json.dumps(summary, default=float), parse_constant=lambda _: None)
    tmp = f"{file}.tmp"
    with open(tmp, "w") as fh:
        json.dump(summary, fh, indent=2)
    os.replace(tmp, file)  # a reader never sees half a summary
    return summary


# --------------------------------------------------------------------------- main


def main(
    argv: list[str] | None = None, *, clock: Callable[[], float] | None = None, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Run (or continue) the row; returns the summary (also written to DIR/summary.json).
    `clock` replaces the wall clock (tests)."""
    import torch

    from landscape import LandscapeError, remove_store
    from landscape_plugins.cifar.curve_presets import is_curve
    from landscape_plugins.cifar.experiment import prepare
    from landscape_plugins.cifar.potential import device_name, resolve_device

    args = parse(argv)
    guard = Guard(args.budget_seconds, clock or time.monotonic)
    if not args.budget_seconds >= 0:
        raise LandscapeError(f"--budget-seconds must be >= 0, got {args.budget_seconds}")
    if args.minima < 2:
        raise LandscapeError(f"a row needs at least 2 minima (a path between them), got --minima {args.minima}")
    cfg = _settings(args)
    device = resolve_device(cfg["device"])  # no CUDA when --device cuda: one line, before anything is written
    if args.compile:  # a mode torch.compile does not know: one line, before anything is written
        from landscape_plugins.torchnet.speed import Speed

        Speed(compile=args.compile)
    # an option of the other kind of preset: one line, before anything is written
    together = together_mode(args, path_preset(args, cfg)[0], device)
    threads = args.threads or (1 if args.smoke else None)
    if threads:
        torch.set_num_threads(threads)
    os.makedirs(args.out, exist_ok=True)
    data = _data(args, cfg)
    exp = experiment(args, cfg, data["file"])
    trained_with = training_options(args)
    run = _Run(os.path.join(args.out, "paper"), together=together)
    if args.force:
        remove_store(run.store)
        with contextlib.suppress(FileNotFoundError):  # its calls belong to the store just removed
            os.remove(os.path.join(args.out, "summary.json"))
    stopped = None
    try:

        def build() -> None:
            run.setup = prepare(exp)
            run.images["data"] = len(run.setup.potential.train_data) + len(run.setup.potential.test_data)

        _phase(run, guard, "data", build)
        pot, schedule, batch = run.setup.potential, run.setup.schedule, run.setup.potential.sampler.batch_size
        connect = (
            schedule.describe(batch)
            if is_curve(schedule)
            else f"AutoNEB '{schedule.name}' ({schedule.total_steps} steps, batch {batch})"
        )
        log(
            f"{exp.potential['model']} on {device_name(pot.device)}: dim {pot.dim}, {len(pot.train_data)} train / "
            f"{len(pot.test_data)} test images ({data['kind']}), {exp.minima} minima x {run.setup.config.epochs} "
            f"epochs; {connect}; budget {args.budget_seconds:g} s"
        )
        _phase(run, guard, "train", lambda: _train(run, guard, exp, args.progress, trained_with))
        log(
            "minima: "
            + ", ".join(
                f"{n}: train loss {v.get('train_loss', float('nan')):.4f}, test error "
                f"{100 * v.get('test_error', float('nan')):.1f}%"
                for n, v in run.training.final.items()
            )
        )
        _phase(run, guard, "paths", lambda: _paths(run, guard, exp, args.progress, log))
        log(f"paths: {len(run.exploration.edges)}, {run.exploration.status.value}")
        _phase(run, guard, "table1", lambda: _table(run, guard, exp, log if args.progress else lambda _: None))
        log(run.table.to_text())
        _phase(run, guard, "criteria", lambda: _criteria(run, args))
        log("criteria: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in run.checks.items()))
    except Stopped as exc:
        stopped = exc
        log(f"out of time in phase {exc.phase}: {exc}; the store keeps what was done, run the same command again")
    except KeyboardInterrupt:
        stopped = Stopped(run.current, "interrupted by the user", by_user=True)
    summary = summarise(run, args, exp, data, guard, stopped)
    if stopped is not None and stopped.by_user:
        raise KeyboardInterrupt
    log(
        f"{'completed' if stopped is None else 'not completed'} in {guard.elapsed():.0f} s ("
        + ", ".join(f"{k} {v:.0f} s" for k, v in run.seconds.items())
        + f"); wrote {args.out}/summary.json"
    )
    return summary


def cli(argv: list[str] | None = None) -> int:
    """The command line: a bad input is one line on stderr and exit status 1; Ctrl-C
    writes the summary and exits 130."""
    from landscape import LandscapeError
    from landscape.foundations.errors import collapse

    try:
        main(argv)
    except LandscapeError as exc:
        print(f"gpu_paper: error: {collapse(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("gpu_paper: interrupted; summary.json says where, and the same command continues", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(cli())
