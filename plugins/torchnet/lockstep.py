"""Several curves trained at once: every pair's points of a step in one vmapped call.

`train_curves_together(potential, pairs, curve)` trains one curve
(`landscape.optimizers.curves.Curve`) per pair of minima in lockstep.  Each step draws
every pair's t and next batch, evaluates all pairs' points in ONE call (torch.func's
vmap over (points, inputs, targets) of the pairs, around the potential's own vmap over a
pair's points on its batch), and one backward pass gives every point its own gradient
(the points are independent, so the gradient of the sum holds each one's).  On a GPU
that is one kernel per layer for K pairs instead of K; a curve step of the bezier preset
(one t on 50-256 images) is far too little work to fill a device alone.

Each curve is trained exactly as alone, as a pair's run trains it after
`NetworkPotential.restart_stream` (`landscape.runs.tasks.run_pair`):

- its own batch stream: a `BatchSampler` of the potential's batch size and seed (or
  `batch_seeds[k]`) started afresh, its first batch current at the start, so the
  starting pivots and every step see the batches the pair's run alone would see;
- its own t (`Curve.draws`, seeded with `seeds[k]`) and its own stepper state: the
  update is `Curve.advance`, the code `Curve.step` runs, on the joint call's energies
  and gradients;
- BatchNorm as in `energy_and_gradient`: the potential's train-mode twin with batch
  statistics only (`NetworkPotential.forward`), so under vmap every point normalises
  with its own pair's batch;
- L2 and sample counts as the potential's: the joint call
  (`NetworkPotential.grouped_energies_and_gradients`) adds to `potential.cost()`
  exactly what the separate calls (`NetworkPotential.energies_on`) would (points x
  images), and each pair's own count is in its `PairCurve.samples`.

Equality with training alone is up to rounding (vmap may run a convolution of per-point
weights as a grouped one): float64 within 1e-10, float32 within 1e-5 after a few steps
against a potential that vmaps too (`tests/plugins/test_torch_lockstep.py`; against a
looped one Adam, which steps every coordinate by about its learning rate whatever the
gradient's size, turns float32 rounding of near-zero gradient components into larger
differences, as it does between the potential's own vmap and loop).  The pivots'
energies (at the start, every `sample_every` steps, at the end; every step on a
full-batch loss) are evaluated per pair, forward passes only.

Nothing is read back from the device inside the loop but each curve's fault check, every
`curve.fault_check_every` steps (`Curve.advance` accumulates the finiteness of each step's
energies, gradients and pivots there and keeps the loss a 0-d tensor), and at the end
(`Curve.settle`); a pair whose check fails stops on its last checked curve, the others go on.

An exploration's runs (a store's records, checkpoints and resumption) are stepped the
same way by `lockstep_runs.LockstepExecutor` (`bench/gpu_paper.py --together on`).

`batched="auto"` times the joint call against one pair after another at the first step
and keeps the faster (the loop where vmap cannot run the module); "vmap" and "loop"
force one.  One pair after another evaluates the same points on the same batches.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch

from landscape.foundations.errors import LandscapeError
from landscape.optimizers.curves import Curve, CurveState
from landscape.paths.path import Path
from landscape.paths.result import Status
from landscape.potentials.potential import SAMPLE_KINDS, Potential

from .data import BatchSampler
from .potential import NetworkPotential

__all__ = ["PairCurve", "train_curves_together", "LOCKSTEP_MODES", "Stream", "evaluate_together", "faster_way"]

#: "auto": the faster of the joint call and one pair after another, timed at the first
#: step (the loop where vmap cannot run the module); "vmap": the joint call or an error;
#: "loop": one pair after another.
LOCKSTEP_MODES = ("auto", "vmap", "loop")


@dataclass(frozen=True, eq=False)
class PairCurve:
    """One pair's trained curve: the curve's final state (controls, the path sampled at
    its pivots, nit, nfev), why it stopped, the samples it cost as if run alone, and how
    its steps were evaluated."""

    state: CurveState
    status: Status
    message: str
    samples: dict[str, int]
    how: str  # "vmap": the pairs' points in one call per step; "loop": one pair after another

    @property
    def controls(self) -> torch.Tensor:
        return self.state.controls

    @property
    def path(self) -> Path:
        return self.state.path


class Stream(Potential):
    """One pair's view of a network potential: its own seeded batch stream, the
    potential's loss, BatchNorm treatment and L2, and the samples spent through it."""

    stochastic = False
    same_batch_energy = True  # `energy` on the batch of the last gradient call, as the potential's

    def __init__(self, network: NetworkPotential, seed: int):
        self.network, self.dim, self.name = network, network.dim, network.name
        self.stochastic = network.stochastic
        size = None if network.sampler.full else network.sampler.batch_size
        self.sampler = BatchSampler(len(network.train_data), size, seed, network.train_data.index_device)
        self.batch = network.train_data.get(self.sampler.next())  # current at the start, as after restart_stream
        self.samples = dict.fromkeys(SAMPLE_KINDS, 0)

    def asarray(self, x: Any) -> torch.Tensor:
        return self.network.asarray(x)

    def cost(self) -> dict[str, int]:
        return dict(self.samples)

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        self.batch = self.network.train_data.get(self.sampler.next())
        return self.batch

    def _counted(self, fn: Callable[[], Any]) -> Any:
        before = self.network.cost()
        out = fn()
        for kind, n in self.network.cost().items():
            self.samples[kind] += n - before[kind]
        return out

    def gradients_here(self, x: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Energies and gradients at `x` on the current batch (no draw)."""
        return self._counted(lambda: self.network.energies_on(x, *self.batch))

    def energy_and_gradient(self, x: Any) -> tuple[torch.Tensor, torch.Tensor]:
        self.next_batch()
        return self.gradients_here(x)

    def energy(self, x: Any) -> torch.Tensor:
        return self._counted(lambda: self.network.energies_on(x, *self.batch, gradient=False)[0])


def evaluate_together(
    network: NetworkPotential,
    live: Sequence[int],
    points: dict[int, Any],
    streams: Sequence[Stream],
) -> dict[int, tuple[torch.Tensor, torch.Tensor]]:
    """Energies and gradients of every live pair's points (S, dim) on its current batch
    in one call (`NetworkPotential.grouped_energies_and_gradients`), L2 added, counted
    on the potential as the separate calls would be and on each pair's stream."""
    inputs = torch.stack([streams[k].batch[0] for k in live])
    targets = torch.stack([streams[k].batch[1] for k in live])
    stacked = torch.stack([network.asarray(points[k]) for k in live])
    before = network.cost()
    e, g = network.grouped_energies_and_gradients(stacked, inputs, targets)
    spent = network.cost()["gradient"] - before["gradient"]
    for k in live:
        streams[k].samples["gradient"] += spent // len(live)
    return {k: (e[i], g[i]) for i, k in enumerate(live)}


def _timed(fn: Callable[[], Any], device: torch.device) -> float:
    """Seconds of one call of `fn`, a GPU's queue drained before and after."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda _: None)
    sync(device)
    began = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - began


def faster_way(evaluate: dict[str, Callable[[], Any]], network: NetworkPotential, streams: Sequence[Stream]) -> str:
    """The faster of the joint call and one pair after another on this step's points,
    best of three interleaved timings each ("loop" where the joint call fails); the
    timing runs are not counted (they depend on the machine, as the potential's own)."""
    counts = [dict(network.samples)] + [dict(s.samples) for s in streams]
    best: dict[str, float] = {}
    try:
        for _ in range(3):
            for how, run in evaluate.items():
                best[how] = min(best.get(how, float("inf")), _timed(run, network.device))
    except Exception:  # noqa: BLE001 - any vmap failure means: one pair after another
        best = {"loop": 0.0}
    finally:
        for holder, saved in zip([network, *streams], counts):
            holder.samples.update(saved)
    return min(best, key=best.__getitem__)


def train_curves_together(
    potential: NetworkPotential,
    pairs: Sequence[tuple[Any, Any]],
    curve: Curve,
    seeds: Sequence[int] | None = None,
    *,
    pivots: int = 9,
    batch_seeds: Sequence[int] | None = None,
    batched: str = "auto",
) -> list[PairCurve]:
    """Train one `curve` per pair (start, end) in lockstep, each as if alone.

    seeds: the t seed of each pair's curve (default: `curve.seed` for all, as a preset
        run gives every pair the same curve).
    pivots: the points at which each curve is sampled (ends included), as `connect`'s.
    batch_seeds: each pair's batch stream seed (default: the potential's, the stream a
        pair's run restarts).
    batched: "vmap" (the joint call every step, or an error), "loop" (one pair after
        another) or "auto": time both on the first step and keep the faster (on this
        2-core CPU the loop, bench/bench_curves_together.py).

    Returns one `PairCurve` per pair, in order; `potential.cost()` grows by their samples.
    """
    if not isinstance(potential, NetworkPotential):
        raise LandscapeError(f"curves are trained together on a network potential, got {type(potential).__name__}")
    if batched not in LOCKSTEP_MODES:
        raise LandscapeError(f"batched must be one of {', '.join(LOCKSTEP_MODES)}, got {batched!r}")
    if not pairs:
        raise LandscapeError("training curves together needs at least one pair")
    seeds = [curve.seed] * len(pairs) if seeds is None else [int(s) for s in seeds]
    batch_seeds = [potential.sampler.seed] * len(pairs) if batch_seeds is None else [int(s) for s in batch_seeds]
    if len(seeds) != len(pairs) or len(batch_seeds) != len(pairs):
        raise LandscapeError(
            f"{len(pairs)} pairs need as many seeds, got {len(seeds)} and {len(batch_seeds)} batch seeds"
        )
    if not 3 <= pivots <= 1000:
        raise LandscapeError(f"a curve is sampled at 3 to 1000 pivots (ends included), got {pivots}")
    curves = [replace(curve, seed=s) for s in seeds]
    streams = [Stream(potential, s) for s in batch_seeds]
    states = []
    for k, (pair, c, stream) in enumerate(zip(pairs, curves, streams)):
        a, b = (potential.asarray(p) for p in pair)
        if tuple(a.shape) != (potential.dim,) or tuple(b.shape) != (potential.dim,):
            raise LandscapeError(
                f"pair {k}: the ends have shapes {tuple(a.shape)} and {tuple(b.shape)}, expected ({potential.dim},)"
            )
        states.append(c.init(Path.straight(a, b, pivots), stream))
    how = {"loop": "loop", "vmap": "vmap"}.get(batched, "")  # auto: chosen at the first step
    while True:
        live = [k for k, (c, st) in enumerate(zip(curves, states)) if c.terminate(st) is None]
        if not live:
            break
        weights = {k: curves[k].step_weights(states[k]) for k in live}
        points = {k: weights[k] @ states[k].controls for k in live}
        for k in live:
            streams[k].next_batch()
        evaluate = {
            "vmap": lambda: evaluate_together(potential, live, points, streams),
            "loop": lambda: {k: streams[k].gradients_here(points[k]) for k in live},
        }
        if not how:
            how = faster_way(evaluate, potential, streams)
        try:
            results = evaluate[how]()
        except Exception as exc:  # noqa: BLE001 - any vmap failure means: one pair after another
            if how == "loop":
                raise
            if batched == "vmap":
                raise LandscapeError(f"the joint call failed ({type(exc).__name__}: {exc})") from None
            how, results = "loop", evaluate["loop"]()
        for k in live:
            states[k] = curves[k].advance(states[k], streams[k], weights[k], *results[k])
    out = []
    for c, stream, state in zip(curves, streams, states):
        state, stop = c.settle(state, stream)
        status, message = stop or c.terminate(state) or (Status.SCHEDULE_DONE, "")
        out.append(PairCurve(state, status, message, stream.cost(), how or "loop"))
    return out
