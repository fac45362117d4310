"""An exploration's curves trained in lockstep, each pair's run in the store as alone.

`LockstepExecutor` is an executor (`landscape.runs.executors`) for network potentials:
it runs every batch of path runs the exploration proposes as `run_pair` runs each of
them, the store commits, snapshots, resumption and sample counts included, but steps
the batch's curves together: each step, every pair's points go through the network in
ONE call on the pairs' own batches (`NetworkPotential.grouped_energies_and_gradients`,
the joint call of `lockstep.train_curves_together`).

How: each run of the batch is `run_pair` in a thread of its own on a view of the
potential (`_Turn`) with its own batch stream and sample counter (as `restart_stream`
leaves the potential for a run alone).  The threads take turns: one lock is held by
whichever runs, so the driver, the curve and the store writes of one run never overlap
another's, and it is released only where a run waits for its step's energies.  When
every run still going waits, the last to arrive evaluates all of them at once and
wakes the others.  A run that ends, is interrupted (the executor's step hook, or
Ctrl-C: the runs in flight stop at their next step and commit their state, as a run
alone does) or fails leaves the group, and the others go on without it.

So a pair's result, its stored records, its sample counts (the joint call counts for
each pair what its own call would: points x images) and its resumption are those of
the pair run alone (`LocalExecutor`): the curves' steps agree up to the rounding of
the joint call (the looped and vmapped evaluation of the same points; float64 to about
1e-10), and a run stopped in a group resumes from its own snapshot, alone or in any
group.  Runs of other methods (AutoNEB, bands) and single runs go one after another,
as `LocalExecutor` runs them.

`batched`: "vmap" (the joint call), "loop" (each pair's own call in turn, the same
numbers as a run alone: the turn-taking without the joint call), "auto" (time both on
the first full step of a batch and keep the faster, as `train_curves_together` does).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from landscape.foundations.errors import LandscapeError
from landscape.optimizers.curves import Curve
from landscape.paths.result import Result, Status
from landscape.potentials.potential import PotentialWrapper
from landscape.runs.executors import Executor
from landscape.runs.tasks import Batch, PotentialSource, PotentialSpec, run_pair

from .lockstep import LOCKSTEP_MODES, Stream, evaluate_together, faster_way
from .potential import NetworkPotential

__all__ = ["LockstepExecutor"]


class _Group:
    """The rendezvous of one batch's runs: who is still going, whose points wait."""

    def __init__(self, network: NetworkPotential, runs: int, batched: str):
        self.network, self.batched = network, batched
        self.streams = [Stream(network, network.sampler.seed) for _ in range(runs)]  # as after restart_stream
        self.cond = threading.Condition()
        self.live = set(range(runs))
        self.waiting: dict[int, Any] = {}
        self.results: dict[int, Any] = {}
        self.interrupted = False
        self.how = ""  # what the joint steps ran: "vmap" or "loop"

    def evaluate(self, k: int, x: Any) -> tuple[Any, Any]:
        """Run k's energies and gradients at `x` on its current batch, with the others'
        (the caller holds `cond`)."""
        if self.interrupted:
            raise KeyboardInterrupt
        self.waiting[k] = x
        self._maybe_run()
        while k not in self.results:
            self.cond.wait()
        out = self.results.pop(k)
        if isinstance(out, BaseException):
            raise out
        return out

    def leave(self, k: int) -> None:
        self.live.discard(k)
        self.waiting.pop(k, None)
        self._maybe_run()

    def _maybe_run(self) -> None:
        if not self.waiting or len(self.waiting) < len(self.live):
            return
        group, self.waiting = self.waiting, {}
        try:
            out: dict[int, Any] = self._step(group)
        except BaseException as exc:  # noqa: BLE001 - every waiting run hears of it
            out = dict.fromkeys(group, exc)
        self.results.update(out)
        self.cond.notify_all()

    def _step(self, group: dict[int, Any]) -> dict[int, tuple[Any, Any]]:
        live = sorted(group)
        points = {k: self.network.asarray(group[k]) for k in live}
        streams = self.streams
        evaluate: dict[str, Callable[[], dict[int, tuple[Any, Any]]]] = {
            "vmap": lambda: evaluate_together(self.network, live, points, streams),
            "loop": lambda: {k: streams[k].gradients_here(points[k]) for k in live},
        }
        if len(live) < 2 or len({tuple(p.shape) for p in points.values()}) > 1:
            return evaluate["loop"]()  # one run left, or points of other shapes: one after another
        if not self.how:
            self.how = self.batched if self.batched != "auto" else faster_way(evaluate, self.network, streams)
        return evaluate[self.how]()


class _Turn(PotentialWrapper):
    """One run's view of the network potential: its own batch stream and counter (as
    after `restart_stream`), its gradient calls evaluated with the group's."""

    def __init__(self, network: NetworkPotential, group: _Group, k: int):
        super().__init__(network)
        self.group, self.k, self.stream = group, k, group.streams[k]

    def energy_and_gradient(self, x: Any) -> tuple[Any, Any]:
        if self.group.interrupted:
            raise KeyboardInterrupt
        self.stream.next_batch()
        return self.group.evaluate(self.k, x)

    def energy(self, x: Any) -> Any:
        return self.stream.energy(x)

    def cost(self) -> dict[str, int]:
        return self.stream.cost()

    def checkpoint_state(self) -> dict[str, Any] | None:
        """The stream's position, as the potential's own `checkpoint_state`."""
        return None if self.stream.sampler.full else {"batches_drawn": int(self.stream.sampler.drawn)}

    def restore_checkpoint_state(self, state: dict[str, Any]) -> None:
        self.stream.batch = self.inner.train_data.get(self.stream.sampler.replay(state["batches_drawn"]))

    def restart_stream(self) -> None:
        self.stream.sampler.reset()
        self.stream.next_batch()


class LockstepExecutor(Executor):
    """Runs a batch's curves in lockstep on a network potential (see the module
    docstring); `workers`: the batch the exploration proposes (pairs at once)."""

    def __init__(self, workers: int = 3, batched: str = "vmap"):
        if isinstance(workers, bool) or int(workers) != workers or workers < 1:
            raise LandscapeError(f"workers must be a positive integer, got {workers!r}")
        if batched not in LOCKSTEP_MODES:
            raise LandscapeError(f"batched must be one of {', '.join(LOCKSTEP_MODES)}, got {batched!r}")
        self._workers, self.batched = int(workers), batched
        self._potential: NetworkPotential | None = None
        self.ran: list[str] = []  # per batch: "vmap", "loop" (its joint steps) or "alone"

    @property
    def workers(self) -> int:
        return self._workers

    def _started(self, source: PotentialSource, token: str) -> None:
        potential = source.build() if isinstance(source, PotentialSpec) else source
        if not isinstance(potential, NetworkPotential):
            raise LandscapeError(f"curves run in lockstep on a network potential, got {type(potential).__name__}")
        self._potential = potential

    def submit(self, batch: Batch) -> list[Result]:
        pot = self._started_potential(self._potential)
        if len(batch) < 2 or not all(isinstance(task.optimizer, Curve) for _, _, task in batch):
            self.ran.append("alone")
            return self._in_turn(pot, batch)  # a Ctrl-C stops the batch, as the local executor's
        group = _Group(pot, len(batch), self.batched)
        turns = [_Turn(pot, group, k) for k in range(len(batch))]
        results: dict[int, Result] = {}
        errors: dict[int, BaseException] = {}
        finished = threading.Event()

        def run(k: int, i: int, j: int, task: Any) -> None:
            with group.cond:
                try:
                    results[k] = run_pair(turns[k], task, self._reporters(i, j))
                except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread below
                    errors[k] = exc
                finally:
                    group.leave(k)
                    if not group.live:
                        finished.set()

        threads = [
            threading.Thread(target=run, args=(k, i, j, task), daemon=True) for k, (i, j, task) in enumerate(batch)
        ]
        for t in threads:
            t.start()
        # An event, not Thread.join: a join that Ctrl-C interrupts can leave is_alive() false
        # while the thread still runs.
        while True:
            try:
                if finished.wait(0.1):
                    break
            except KeyboardInterrupt:  # the runs stop at their next step and keep their state
                with group.cond:
                    group.interrupted = True
                    group.cond.notify_all()
        for t in threads:
            t.join()
        self.ran.append(group.how or "loop")
        if errors:
            raise errors[min(errors)]
        done = [results[k] for k in range(len(batch))]
        if group.interrupted and not any(r.status is Status.INTERRUPTED for r in done):
            raise KeyboardInterrupt  # pressed after the runs' last step: the caller must still stop
        return done

    def describe(self) -> dict[str, Any]:
        return {"kind": type(self).__name__, "workers": self.workers, "batched": self.batched}
