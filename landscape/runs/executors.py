"""Where path runs execute: in-process, in a local process pool, or on a Ray cluster.

An executor runs a batch of independent path runs (`PairTask`s between minima i and j)
and returns their Results in the order of the batch, whatever order they finish in, so
an exploration is the same on every executor.  The potential is shipped to the workers
once per exploration (`start`): a picklable Potential (analytic ones are), or a
`PotentialSpec` that every worker rebuilds from the plugin registry (network potentials:
nothing heavy travels, and a GPU worker builds the model on its own device).

The tasks are `landscape.runs.tasks`, what runs inside a worker `landscape.runs.workers`.
Neither ray nor torch is imported by these modules; `RayExecutor` imports ray when it starts.
"""

from __future__ import annotations

import os
import uuid
from abc import ABC, abstractmethod
from types import TracebackType
from typing import Any, TypeVar

from landscape.foundations.errors import LandscapeError, collapse
from landscape.paths.result import Result, Status
from landscape.potentials.potential import Potential
from landscape.runs.tasks import Batch, InFlight, PairTask, PotentialSource, PotentialSpec, run_pair
from landscape.runs.workers import Reporter, process_init, process_run, ray_run

# The tasks they run live in landscape.runs.tasks; named here too, where they were first.
__all__ = [
    "InFlight",
    "PotentialSpec",
    "PotentialSource",
    "PairTask",
    "run_pair",
    "Executor",
    "LocalExecutor",
    "ProcessExecutor",
    "RayExecutor",
    "make_executor",
    "EXECUTORS",
]

EXECUTORS = ("local", "process", "ray")

P = TypeVar("P")
_NOT_STARTED = "executor has no potential: call start(potential) first"


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"


def _check_source(source: Any) -> PotentialSource:
    if not isinstance(source, (Potential, PotentialSpec)):
        raise LandscapeError(f"an executor needs a Potential or a PotentialSpec, got {type(source).__name__}")
    return source


class Executor(ABC):
    """Runs batches of path runs; use as a context manager or call `close()`.

    `on_step(i, j, step, highest)`, when set, hears how the runs in flight go (the
    local and process executors report; Ray tasks do not)."""

    _source: PotentialSource | None = None
    _token: str = ""
    on_step: Any = None

    def start(self, source: PotentialSource) -> None:
        """Ship the potential to the workers (again only when it changed)."""
        if source is not self._source:
            self._source = _check_source(source)
            self._token = uuid.uuid4().hex
            self._started(self._source, self._token)

    def _started(self, source: PotentialSource, token: str) -> None:  # noqa: B027 - optional hook
        """Hook: a new potential was set."""

    @abstractmethod
    def submit(self, batch: Batch) -> list[Result]:
        """Run every `(i, j, task)` of the batch; Results in batch order."""

    @property
    def workers(self) -> int:
        """How many runs can go at once (a batch size that keeps every worker busy)."""
        return 1

    @property
    def shares_files(self) -> bool:
        """Whether the workers see this machine's files (and so can commit runs in flight
        to the store); a cluster's remote workers do not."""
        return True

    def close(self) -> None:
        """Release the workers; a later `start` sets them up again."""
        self._source = None

    def _require_started(self) -> None:
        if self._source is None:
            raise LandscapeError(_NOT_STARTED)

    def _started_potential(self, potential: P | None) -> P:
        """`potential` as the `_started` hook kept it; the one-line error of
        `_require_started` before `start` (or after `close`)."""
        if self._source is None or potential is None:
            raise LandscapeError(_NOT_STARTED)
        return potential

    def _in_turn(self, potential: Potential, batch: Batch) -> list[Result]:
        """The batch's runs one after the other in this process; a Ctrl-C, which the run
        it lands in returns as interrupted (its state kept), stops the batch there as it
        stops a pool's: raised again, so the runs after it do not start."""
        results = []
        for i, j, task in batch:
            results.append(run_pair(potential, task, self._reporters(i, j)))
            if results[-1].status is Status.INTERRUPTED:
                raise KeyboardInterrupt
        return results

    def _reporters(self, i: int, j: int) -> list[Any]:
        """The step callbacks that pass run (i, j)'s progress to `on_step`, if set."""
        return [] if self.on_step is None else [Reporter((i, j), self.on_step, 0.1)]

    def __enter__(self) -> Executor:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def describe(self) -> dict[str, Any]:
        return {"kind": type(self).__name__, "workers": self.workers}


class LocalExecutor(Executor):
    """Sequential, in this process (the default)."""

    _potential: Potential | None = None

    def _started(self, source: PotentialSource, token: str) -> None:  # noqa: B027 - optional hook
        self._potential = source.build() if isinstance(source, PotentialSpec) else source

    def submit(self, batch: Batch) -> list[Result]:
        """The batch's runs one after the other (`_in_turn`: a Ctrl-C stops the batch)."""
        return self._in_turn(self._started_potential(self._potential), batch)


class ProcessExecutor(Executor):
    """A local process pool (spawned processes: safe with threads, CUDA and macOS).

    The potential is pickled once per worker by the pool's initializer, so it must be
    picklable, or be given as a `PotentialSpec`.
    """

    _events: Any = None

    def __init__(self, workers: int | None = None, mp_context: str = "spawn"):
        if workers is not None and (isinstance(workers, bool) or int(workers) != workers or workers < 1):
            raise LandscapeError(f"workers must be a positive integer, got {workers!r}")
        self._workers = int(workers) if workers is not None else (os.cpu_count() or 1)
        self._context = mp_context
        self._pool: Any = None

    @property
    def workers(self) -> int:
        return self._workers

    def _started(self, source: PotentialSource, token: str) -> None:  # noqa: B027 - optional hook
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self._shutdown()
        context = multiprocessing.get_context(self._context)
        self._events = context.Queue()  # the workers' progress, read while a batch runs
        self._pool = ProcessPoolExecutor(
            self._workers, mp_context=context, initializer=process_init, initargs=(source, token, self._events)
        )

    def submit(self, batch: Batch) -> list[Result]:
        self._require_started()
        from concurrent.futures.process import BrokenProcessPool

        try:
            report = self.on_step is not None
            futures = [
                self._pool.submit(process_run, self._token, task, (i, j) if report else None) for i, j, task in batch
            ]
            if report:
                self._relay(futures)
            return [f.result() for f in futures]
        except BrokenProcessPool:
            self.close()
            raise LandscapeError(
                "a worker process died (out of memory? a script that starts workers needs an "
                '`if __name__ == "__main__":` guard)'
            ) from None

    def _relay(self, futures: list[Any]) -> None:
        """Pass the workers' progress to `on_step` until every run of the batch is done."""
        import queue

        while not all(f.done() for f in futures):
            try:
                message = self._events.get(timeout=0.1)
            except queue.Empty:
                continue
            if self.on_step is not None:
                self.on_step(*message)
        while True:  # what the finished runs sent last must not show as the next batch's
            try:
                self._events.get_nowait()
            except queue.Empty:
                return

    def close(self) -> None:
        self._source = None  # a later start() builds a new pool
        self._shutdown()

    def _shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._events is not None:  # its feeder thread goes with it
            self._events.close()
            self._events.join_thread()
            self._events = None

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "mp_context": self._context}


class RayExecutor(Executor):
    """Each pair a Ray task; the driver (this process) merges the finished edges.

    Connects to the cluster at `address` ("auto" for a running one), or starts a local
    instance with `num_cpus` when Ray is not initialised yet (and shuts it down again in
    `close`).  Tasks ask for one CPU and `num_gpus_per_task` GPUs each.  The potential
    goes into Ray's object store once per exploration.
    """

    def __init__(
        self, address: str | None = None, num_cpus: int | None = None, num_gpus_per_task: float = 0, **init_kwargs: Any
    ):
        if num_gpus_per_task < 0:
            raise LandscapeError(f"num_gpus_per_task must be >= 0, got {num_gpus_per_task}")
        self.address, self.num_cpus, self.num_gpus_per_task = address, num_cpus, num_gpus_per_task
        self._init_kwargs = init_kwargs
        self._owns = False
        self._remote: Any = None
        self._ref: Any = None

    def _ray(self) -> Any:
        try:
            import ray
        except ImportError:
            raise LandscapeError("the ray executor needs the ray package: pip install 'ray>=2'") from None
        if not ray.is_initialized():
            kwargs = {"include_dashboard": False, "log_to_driver": False, **self._init_kwargs}
            if self.address is None:
                kwargs["num_cpus"] = self.num_cpus
            try:
                ray.init(address=self.address, **kwargs)
            except Exception as exc:  # noqa: BLE001 - ray raises many kinds; report one line
                raise LandscapeError(f"cannot start or reach Ray ({type(exc).__name__}: {collapse(exc)})") from exc
            self._owns = True
        return ray

    @property
    def shares_files(self) -> bool:
        return self.address is None  # a Ray instance started here runs on this machine

    @property
    def workers(self) -> int:
        ray = self._ray()
        cpus = int(ray.cluster_resources().get("CPU", 1))
        if self.num_gpus_per_task > 0:
            gpus = ray.cluster_resources().get("GPU", 0) / self.num_gpus_per_task
            return max(1, min(cpus, int(gpus)))
        return max(1, cpus)

    def _started(self, source: PotentialSource, token: str) -> None:  # noqa: B027 - optional hook
        ray = self._ray()
        self._remote = ray.remote(ray_run).options(num_cpus=1, num_gpus=self.num_gpus_per_task, max_retries=0)
        self._ref = ray.put(source)

    def submit(self, batch: Batch) -> list[Result]:
        self._require_started()
        ray = self._ray()
        refs = [self._remote.remote(self._ref, self._token, task) for _, _, task in batch]
        try:
            return list(ray.get(refs))  # ray.get keeps the order of refs
        except ray.exceptions.RayTaskError as exc:  # raised inside a task: report that
            cause = getattr(exc, "cause", None)
            if isinstance(cause, LandscapeError):
                raise cause from None
            raise LandscapeError(f"a Ray task failed: {_one_line(cause or exc)}") from None
        except ray.exceptions.RayError as exc:  # a lost worker or node
            raise LandscapeError(f"Ray failed: {_one_line(exc)}") from None

    def close(self) -> None:
        self._ref = self._remote = None
        self._source = None
        if self._owns:
            import ray

            ray.shutdown()
            self._owns = False

    def describe(self) -> dict[str, Any]:
        return {"kind": type(self).__name__, "address": self.address, "num_gpus_per_task": self.num_gpus_per_task}


def make_executor(
    kind: str = "local", *, workers: int | None = None, address: str | None = None, num_gpus_per_task: float = 0
) -> Executor:
    """An executor by name: "local", "process" (`workers`) or "ray" (`address`, `workers` = CPUs to start)."""
    if kind == "local":
        return LocalExecutor()
    if kind == "process":
        return ProcessExecutor(workers)
    if kind == "ray":
        return RayExecutor(address=address, num_cpus=workers, num_gpus_per_task=num_gpus_per_task)
    raise LandscapeError(f"unknown executor {kind!r}; choose one of {', '.join(EXECUTORS)}")
