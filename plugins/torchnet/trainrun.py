"""Training minima into a store, crash-safe and resumable (`landscape train`).

`train_stored(filename, potential, n, config)` trains minima "0".."n-1" (seeds
`seed + k`) and commits as it goes:

- every finished minimum: /minima (coordinates, energies, names, seeds, recipe, final
  metrics, samples) and /learning_curves (per-epoch train/test loss and error, and the
  samples counted since training began), one atomic transaction each;
- every finished epoch (`epoch_checkpoints`): the group /training with the state of
  the minimum in progress: module parameters and buffers, optimizer state (momentum),
  the batch sampler's position, the augmentation generator of the training source and
  the global torch RNG, plus the curve rows so far, serialised by `torch.save` into one
  uint8 array.

Running again on the same store (same potential, recipe and seeds) skips the finished
minima and continues the one in progress after its last committed epoch; on a CPU
the result is bit-for-bit the uninterrupted run's.  Asking for more minima than a
finished store holds trains the missing ones.  One writer per store (`WriterLock`).

`stacked=True` trains the missing minima at once (`stacked.train_stacked`: equal to
training each alone up to rounding, one vmapped step for all): each epoch commits the
stack's state (the stacked parameters, buffers and momentum, every network's sampler
position, augmentation generator and curve rows), all its minima are committed in one
transaction, and a rerun continues the stack after its last epoch, bit for bit on a
CPU.  A checkpoint continues in the mode that wrote it, whatever `stacked` says now.
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from landscape.foundations.arrays import to_numpy
from landscape.foundations.errors import LandscapeError
from landscape.foundations.files import store_path
from landscape.foundations.lock import WriterLock
from landscape.potentials.identity import differences, record, require_same, shown
from landscape.runs.stored import discard_if_empty
from landscape.store import Store, vacant
from landscape.store.layout import CURVES_GROUP, TRAINING_GROUP  # the groups training writes

from .potential import NetworkPotential
from .speed import Speed
from .stacked import StackedState, train_stacked
from .train import SAMPLE_CURVES, TrainConfig, TrainedMinimum, TrainingState, train_minimum

__all__ = [
    "TRAINING_GROUP",
    "CURVES_GROUP",
    "TrainingRun",
    "train_stored",
    "default_config",
    "store_description",
    "copy_minima",
]

#: seed -> the data source of that minimum's training batches (e.g. augmented images).
SourceFactory = Callable[[int], Any]


@dataclass(frozen=True)
class TrainingRun:
    """What `train_stored` did: the store, all its minima, and this call's share."""

    store: str
    names: tuple[str, ...]
    seeds: tuple[int, ...]
    trained: tuple[str, ...]
    resumed: tuple[str, int] | None  # (minimum, epochs already done) when one was continued ("0,1,2": a stack)
    seconds: float
    final: Mapping[str, Mapping[str, float]]  # name -> final curve values
    #: name -> samples its training evaluated, {"gradient": ..., "forward": ...} (0 for a
    #: minimum trained before the counters)
    samples: Mapping[str, Mapping[str, int]] = field(default_factory=dict)


# --------------------------------------------------------------------------- descriptions


def store_description(
    potential: NetworkPotential, plugin: str | None = None, options: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """`landscape.potentials.identity.record(potential)`; for a potential built without
    `load_potential`, `plugin` and `options` say how to rebuild it."""
    desc = record(potential)
    if plugin is not None and "plugin" not in desc:
        desc["plugin"] = json.loads(json.dumps({"name": plugin, "options": dict(options or {})}, default=str))
    return desc


def default_config(potential: Any, plugin: str | None = None, options: Mapping[str, Any] | None = None) -> TrainConfig:
    """The recipe a potential implies: its `training_config()` when it has one (CIFAR),
    the `mlp` plugin's own training options, else `TrainConfig()`."""
    hook = getattr(potential, "training_config", None)
    if callable(hook):
        return hook()
    o = dict(options or {})
    if plugin == "mlp" and {"epochs", "lr", "optimizer", "train_batch", "weight_decay"} <= set(o):
        return TrainConfig(
            epochs=int(o["epochs"]),
            lr=float(o["lr"]),
            optimizer=str(o["optimizer"]),
            batch_size=int(o["train_batch"]) or None,
            weight_decay=float(o["weight_decay"]),
            schedule="cosine",
        )
    return TrainConfig()


# --------------------------------------------------------------------------- checkpoints


def _source_state(source: Any) -> Any:
    """The state of a data source's own generator (augmentation), or None."""
    return source.state_dict() if callable(getattr(source, "state_dict", None)) else None


def _pack(state: TrainingState | StackedState) -> np.ndarray:
    """The state of the minimum (or the stack) in progress as bytes (uint8 array)."""
    payload: dict[str, Any]
    if isinstance(state, StackedState):
        payload = {
            "stacked": True,
            "params": {k: v.detach() for k, v in state.nets.params.items()},
            "buffers": {k: v.detach() for k, v in state.nets.buffers.items()},
            "optimizer": state.optimizer.state_dict(),
            "batches_drawn": [int(s.drawn) for s in state.samplers],
            "sources": [_source_state(src) for src in state.sources],
            "rows": [[dict(r) for r in rows] for rows in state.rows],
            "rng": torch.get_rng_state(),
        }
    else:
        payload = {
            "module": state.module.state_dict(),
            "optimizer": state.optimizer.state_dict(),
            "batches_drawn": int(state.sampler.drawn),
            "rows": [dict(r) for r in state.rows],
            "rng": torch.get_rng_state(),
        }
        if _source_state(state.source) is not None:
            payload["source"] = _source_state(state.source)
    buf = io.BytesIO()
    torch.save(payload, buf)
    return np.frombuffer(buf.getvalue(), dtype=np.uint8).copy()


def _unpack(blob: np.ndarray) -> dict[str, Any]:
    try:
        return torch.load(io.BytesIO(np.asarray(blob, dtype=np.uint8).tobytes()), weights_only=True, map_location="cpu")
    except Exception as exc:  # noqa: BLE001 - a damaged checkpoint must say so in one line
        raise LandscapeError(
            f"the training checkpoint cannot be read ({type(exc).__name__}); pass --force to start again"
        ) from None


def _restorer(payload: Mapping[str, Any]) -> Callable[[TrainingState], None]:
    def restore(state: TrainingState) -> None:
        state.module.load_state_dict(payload["module"])
        state.optimizer.load_state_dict(payload["optimizer"])
        state.sampler.seek(payload["batches_drawn"])
        if "source" in payload:
            state.source.load_state_dict(payload["source"])
        torch.set_rng_state(payload["rng"])
        state.rows[:] = [dict(r) for r in payload["rows"]]

    return restore


def _stacked_restorer(payload: Mapping[str, Any]) -> Callable[[StackedState], None]:
    def restore(state: StackedState) -> None:
        with torch.no_grad():
            for group, saved in ((state.nets.params, payload["params"]), (state.nets.buffers, payload["buffers"])):
                for key, tensor in group.items():
                    tensor.copy_(saved[key])
        state.optimizer.load_state_dict(payload["optimizer"])
        for sampler, drawn in zip(state.samplers, payload["batches_drawn"]):
            sampler.seek(drawn)
        for source, saved in zip(state.sources, payload["sources"]):
            if saved is not None:
                source.load_state_dict(saved)
        torch.set_rng_state(payload["rng"])
        state.rows[:] = [[dict(r) for r in rows] for rows in payload["rows"]]

    return restore


# --------------------------------------------------------------------------- the store


@dataclass
class _Stored:
    """What a store already holds of this training run."""

    coords: list[np.ndarray]
    energies: list[float]
    names: list[str]
    meta: dict[str, Any]
    curves: dict[str, np.ndarray]
    checkpoint: tuple[list[str], int, np.ndarray] | None  # (names: one, or a stack's; epoch, blob)


def _settings(config: TrainConfig, seeds: Sequence[int]) -> dict[str, Any]:
    return json.loads(json.dumps({"config": asdict(config), "seeds": [int(s) for s in seeds]}))


def _read(filename: str, description: Mapping[str, Any], config: TrainConfig, seeds: Sequence[int]) -> _Stored:
    """The finished minima and checkpoint of a store, checked against this run."""
    with Store.open(filename) as store:
        require_same(store.potential_description, description, filename)
        try:
            arrays, attrs = store.read_array_group(TRAINING_GROUP)
        except LandscapeError:
            raise LandscapeError(
                f"{filename} is not a training store (no /{TRAINING_GROUP} group); choose another --out or pass --force"
            ) from None
        if attrs.get("config") != _settings(config, seeds)["config"]:
            raise LandscapeError(f"{filename} holds minima trained with another recipe; pass --force to replace them")
        try:
            coords, energies, names = store.read_minima()
            meta = store.minima_metadata()
            curves, _ = store.read_array_group(CURVES_GROUP)
        except LandscapeError:
            coords, energies, names, meta, curves = np.zeros((0, 0)), np.zeros(0), [], {}, {}
    if len(names) > len(seeds):
        raise LandscapeError(f"{filename} already holds {len(names)} minima, more than --minima {len(seeds)}")
    stored_seeds = [int(meta.get("minima", {}).get(n, {}).get("seed", -1)) for n in names]
    if stored_seeds != [int(s) for s in seeds[: len(names)]]:
        raise LandscapeError(
            f"{filename} holds minima of seeds {stored_seeds}, not {list(seeds[: len(names)])}; "
            "pass --force to replace them"
        )
    checkpoint = None
    if "checkpoint" in arrays and attrs.get("checkpoint_name") is not None:
        ck_names = [str(v) for v in attrs.get("checkpoint_names") or [attrs["checkpoint_name"]]]
        checkpoint = (ck_names, int(attrs["checkpoint_epoch"]), arrays["checkpoint"])
    return _Stored(list(coords), [float(e) for e in energies], list(names), dict(meta), dict(curves), checkpoint)


def _create(filename: str, description: Mapping[str, Any], config: TrainConfig, seeds: Sequence[int]) -> None:
    with Store.create(filename, description, overwrite=True) as store:
        store.write_array_group(TRAINING_GROUP, {}, {**_settings(config, seeds), "status": "running"})


def _commit_epoch(
    filename: str, config: TrainConfig, seeds: Sequence[int], names: Sequence[str], state: TrainingState | StackedState
) -> None:
    attrs: dict[str, Any] = {
        **_settings(config, seeds),
        "status": "running",
        "checkpoint_name": names[0],
        "checkpoint_epoch": state.epoch,
    }
    if isinstance(state, StackedState):
        attrs.update(checkpoint_names=list(names), checkpoint_seeds=list(state.seeds))
    else:
        attrs["checkpoint_seed"] = state.seed
    with Store.write(filename) as store:
        store.write_array_group(TRAINING_GROUP, {"checkpoint": _pack(state)}, attrs)


def _commit_minima(
    filename: str,
    stored: _Stored,
    potential: NetworkPotential,
    config: TrainConfig,
    seeds: Sequence[int],
    names: Sequence[str],
    trained: Sequence[TrainedMinimum],
    done: bool,
) -> None:
    """Add finished minima (coordinates, energies, metadata, curves) in one transaction;
    drop the checkpoint."""
    minima_meta = dict(stored.meta.get("minima", {}))
    for name, minimum in zip(names, trained):
        stored.coords.append(np.asarray(to_numpy(minimum.params)))
        stored.energies.append(float(to_numpy(potential.energy(minimum.params[None]))[0]))
        stored.names.append(name)
        minima_meta[name] = minimum.metadata()
        stored.curves.update({f"{name}.{k}": v for k, v in minimum.curves.items()})
    stored.meta = {"minima": minima_meta, "bn_mode": potential.bn_mode, "method": "train", **_settings(config, seeds)}
    with Store.write(filename) as store:
        store.write_minima(np.stack(stored.coords), np.asarray(stored.energies), stored.names, metadata=stored.meta)
        store.write_array_group(CURVES_GROUP, stored.curves, {"names": json.dumps(stored.names)})
        store.write_array_group(
            TRAINING_GROUP, {}, {**_settings(config, seeds), "status": "done" if done else "running"}
        )


def _check_target(filename: str) -> None:
    folder = os.path.dirname(filename)
    if not os.path.isdir(folder):
        raise LandscapeError(f"output folder {folder} does not exist")


def train_stored(
    filename: str | os.PathLike[str],
    potential: NetworkPotential,
    n: int,
    config: TrainConfig,
    *,
    seed: int = 0,
    seeds: Sequence[int] | None = None,
    description: Mapping[str, Any] | None = None,
    train_source: SourceFactory | None = None,
    epoch_checkpoints: bool = True,
    force: bool = False,
    progress: bool = False,
    after_commit: Callable[[str, int], None] | None = None,
    stacked: bool = False,
    speed: Speed | None = None,
    on_step: Callable[[], None] | None = None,
) -> TrainingRun:
    """Train `n` minima "0".."n-1" (seeds `seed + k`, or `seeds`) into the store `filename`.

    `description` is what the store records for the potential (default
    `potential.describe()`; see `store_description`); `train_source(seed)` gives the
    data source of a minimum's training batches (augmented data, say).  An existing
    store is continued when it holds this potential, recipe and seeds, and replaced
    with `force`.  `after_commit(name, epoch)` is called after every commit (epoch 0:
    the minimum was committed; a stack's epochs are reported under its first minimum)
    - a hook for fault-injection tests and clocks.  `stacked` trains the missing minima
    at once (module docstring).  `speed`: the steps' speed options (`speed.Speed`; default
    the potential's own), not part of what the store records: they change only how fast
    the same minima are trained (and, with autocast, the last bits).  `on_step()` runs
    after every optimizer step (`train_minimum`); what it raises stops training where
    it is, and the store keeps the last committed epoch, as after Ctrl-C.
    """
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise LandscapeError(f"the number of minima must be a positive integer, got {n!r}")
    seeds = [int(seed) + k for k in range(n)] if seeds is None else [int(s) for s in seeds]
    if len(seeds) != n or len(set(seeds)) != n:
        raise LandscapeError(f"{n} minima need {n} distinct seeds, got {seeds}")
    if not isinstance(potential, NetworkPotential):
        raise LandscapeError(f"training needs a network potential, not a {type(potential).__name__}")
    filename = store_path(filename)
    _check_target(filename)
    description = dict(description or potential.describe())
    began = time.perf_counter()
    with WriterLock(filename):
        created = force or vacant(filename)  # a damaged store is refused when read, never replaced
        if created:
            _create(filename, description, config, seeds)
        try:
            stored = _read(filename, description, config, seeds)
            trained, resumed = _train_all(
                filename,
                potential,
                n,
                config,
                seeds,
                stored,
                _Training(train_source, epoch_checkpoints, progress, after_commit, stacked, speed, on_step),
            )
        except BaseException:
            if created:
                discard_if_empty(filename, _holds_work)
            raise
    return TrainingRun(
        filename,
        tuple(stored.names),
        tuple(seeds[: len(stored.names)]),
        tuple(trained),
        resumed,
        time.perf_counter() - began,
        _final(stored),
        _samples(stored),
    )


def _holds_work(store: Store) -> bool:
    """A trained minimum, or an epoch checkpoint of one in training."""
    return store.read_array_group(TRAINING_GROUP)[1].get("checkpoint_name") is not None or _has_minima(store)


def _has_minima(store: Store) -> bool:
    try:
        store.read_minima()
    except LandscapeError:
        return False
    return True


@dataclass(frozen=True)
class _Training:
    """How `train_stored` trains: the batches' source, checkpoints, hooks, stacking."""

    train_source: SourceFactory | None
    epoch_checkpoints: bool
    progress: bool
    after_commit: Callable[[str, int], None] | None
    stacked: bool
    speed: Speed | None = None
    on_step: Callable[[], None] | None = None


def _epoch_committer(
    filename: str, config: TrainConfig, seeds: Sequence[int], names: Sequence[str], how: _Training
) -> Callable[[Any], None] | None:
    if not how.epoch_checkpoints:
        return None

    def on_epoch(state: TrainingState | StackedState) -> None:
        if state.epoch < config.epochs:  # the last epoch is committed with the minima
            _commit_epoch(filename, config, seeds, names, state)
            if how.after_commit is not None:
                how.after_commit(names[0], state.epoch)

    return on_epoch


def _groups(missing: list[str], checkpoint: tuple[list[str], int, np.ndarray] | None, stacked: bool) -> list[list[str]]:
    """The missing minima in the groups they are trained in: a checkpoint's group first
    (a checkpoint continues in the mode that wrote it), then all the rest as one stack,
    or one by one."""
    first = checkpoint[0] if checkpoint is not None and checkpoint[0] == missing[: len(checkpoint[0])] else []
    rest = missing[len(first) :]
    groups = [first] if first else []
    if stacked and len(rest) > 1:
        return groups + [rest]
    return groups + [[name] for name in rest]


def _train_all(
    filename: str,
    potential: NetworkPotential,
    n: int,
    config: TrainConfig,
    seeds: Sequence[int],
    stored: _Stored,
    how: _Training,
) -> tuple[list[str], tuple[str, int] | None]:
    """Train the missing minima, alone or stacked, committing epochs and minima."""
    trained: list[str] = []
    resumed = None
    for names in _groups([str(k) for k in range(len(stored.names), n)], stored.checkpoint, how.stacked):
        ks = [int(name) for name in names]
        payload = None
        ck = stored.checkpoint
        if ck is not None and ck[0] == names:
            payload, resumed = _unpack(ck[2]), (",".join(names), ck[1])
        on_epoch = _epoch_committer(filename, config, seeds, names, how)
        sources = [how.train_source(seeds[k]) if how.train_source is not None else None for k in ks]
        if len(names) > 1 or (payload is not None and payload.get("stacked")):
            results = train_stacked(
                potential,
                [seeds[k] for k in ks],
                config,
                train_sources=None if how.train_source is None else sources,
                progress=how.progress,
                on_epoch=on_epoch,
                restore=None if payload is None else _stacked_restorer(payload),
                speed=how.speed,
                on_step=how.on_step,
            )
        else:
            restore = None if payload is None else _restorer(payload)
            results = [
                train_minimum(
                    potential,
                    seeds[ks[0]],
                    config,
                    progress=how.progress,
                    train_source=sources[0],
                    on_epoch=on_epoch,
                    restore=restore,
                    speed=how.speed,
                    on_step=how.on_step,
                )
            ]
        _commit_minima(filename, stored, potential, config, seeds, names, results, done=ks[-1] == n - 1)
        stored.checkpoint = None
        trained.extend(names)
        if how.after_commit is not None:
            for name in names:
                how.after_commit(name, 0)
    return trained, resumed


def _final(stored: _Stored) -> dict[str, dict[str, float]]:
    """Last-epoch curve values of every stored minimum."""
    out: dict[str, dict[str, float]] = {}
    for key, values in stored.curves.items():
        name, _, metric = key.rpartition(".")
        if metric not in ("epoch", "lr", *SAMPLE_CURVES.values()) and len(values):
            out.setdefault(name, {})[metric] = float(np.asarray(values)[-1])
    return out


def _samples(stored: _Stored) -> dict[str, dict[str, int]]:
    """Samples every stored minimum's training evaluated (its curves' last entries)."""

    def last(name: str, key: str) -> int:
        values = np.asarray(stored.curves.get(f"{name}.{key}", ()))
        return int(values[-1]) if values.size else 0

    return {name: {kind: last(name, key) for kind, key in SAMPLE_CURVES.items()} for name in stored.names}


# --------------------------------------------------------------------------- reuse


def _without(description: Any, keys: Sequence[str]) -> Any:
    """`description` with `keys` dropped at every level."""
    if isinstance(description, Mapping):
        return {k: _without(v, keys) for k, v in description.items() if k not in keys}
    return description


def copy_minima(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    description: Mapping[str, Any],
    *,
    ignore: Sequence[str] = ("batch_size", "align", "symmetry"),
) -> list[str]:
    """Start the training store `target` with the finished minima of `source`, bit for bit:
    coordinates, energies, metadata, learning curves and the recipe they were trained with,
    recorded under `description` (the potential of the new run).  `train_stored` on
    `target` with the same recipe and seeds then trains nothing, so the paths of the new
    run connect the very minima of the old one.  Refused (one line) unless `source`
    finished training and its potential differs from `description` only in `ignore`
    (settings of the path search, not of the minima: the loss batch, a declared
    symmetry), and when `target` already holds anything."""
    source, target = store_path(source), store_path(target)
    _check_target(target)
    with Store.open(source) as store:
        diff = differences(_without(store.potential_description, ignore), _without(dict(description), ignore))
        if diff:
            raise LandscapeError(f"{source} holds minima of another potential (differs in {shown(diff)})")
        _, attrs = store.read_array_group(TRAINING_GROUP)
        if attrs.get("status") != "done":
            raise LandscapeError(f"{source} has not finished training its minima")
        coords, energies, names = store.read_minima()
        meta = store.minima_metadata()
        curves, curve_attrs = store.read_array_group(CURVES_GROUP)
    with WriterLock(target):
        if not vacant(target):
            raise LandscapeError(f"{target} already exists; pass --force to replace it")
        with Store.create(target, dict(description), overwrite=True) as store:
            store.write_minima(coords, energies, names, metadata=meta)
            store.write_array_group(CURVES_GROUP, curves, curve_attrs)
            store.write_array_group(
                TRAINING_GROUP, {}, {k: v for k, v in attrs.items() if k in ("config", "seeds")} | {"status": "done"}
            )
    return names
