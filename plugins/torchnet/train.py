"""Training minima: seeded initialisation, SGD/momentum/weight-decay recipes, learning curves.

`train_minimum(potential, seed)` trains a fresh copy of the potential's module from
a seeded initialisation on its training data and returns the flat parameters with
per-epoch learning curves (train/test data loss and error, learning rate, and the
running mean of the mini-batch losses).  The curves are measured after each epoch in
eval mode, with the BatchNorm treatment of every other figure: running statistics
recomputed from the potential's calibration set (`landscape_plugins.torchnet.evaluate`),
not the training batches' moving averages.  So the last point of a curve is the
minimum's own "Min." of Table 1, and the paper's "epoch at which the learning curve
falls below the saddle loss" compares like with like.

The curves also count the samples spent since training began (`samples_gradient`:
mini-batch images through forward and backward; `samples_forward`: the curves' own
calibration and whole-set passes), so a resumed training continues the count.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from landscape.foundations.errors import LandscapeError
from landscape.potentials.potential import samples_since
from landscape.store.layout import CURVES_GROUP

from .data import BatchSampler
from .evaluate import module_metrics
from .params import flatten_parameters
from .potential import NetworkPotential
from .speed import Speed, compiled

__all__ = [
    "TrainConfig",
    "TrainedMinimum",
    "TrainingState",
    "init_parameters",
    "train_minimum",
    "train_minima",
    "learning_rate",
    "save_minima",
    "load_learning_curves",
    "SAMPLE_CURVES",
    "training_speed",
]

#: Learning-curve entries that count samples since training began, per counter.
SAMPLE_CURVES = {"gradient": "samples_gradient", "forward": "samples_forward"}

_SCHEDULES = ("constant", "step", "cosine")
_OPTIMIZERS = ("sgd", "adam")


@dataclass(frozen=True)
class TrainConfig:
    """A training recipe.

    schedule: "constant"; "step" (multiply by `gamma` at each fraction of the epochs
        in `milestones`, e.g. (0.5, 0.75) as for CIFAR ResNets); or "cosine".
    weight_decay: L2 as PyTorch applies it (added to the gradient).
    batch_size: None trains full-batch.
    """

    epochs: int = 100
    lr: float = 0.1
    optimizer: str = "sgd"
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0
    batch_size: int | None = 128
    schedule: str = "step"
    milestones: tuple[float, ...] = (0.5, 0.75)
    gamma: float = 0.1
    eval_batch: int = 1024

    def __post_init__(self) -> None:
        if self.epochs < 1 or not self.lr > 0:
            raise LandscapeError(f"training needs epochs >= 1 and lr > 0, got {self.epochs} and {self.lr}")
        if self.schedule not in _SCHEDULES:
            raise LandscapeError(f"unknown lr schedule {self.schedule!r}; choose one of {', '.join(_SCHEDULES)}")
        if self.optimizer not in _OPTIMIZERS:
            raise LandscapeError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(_OPTIMIZERS)}")


@dataclass(frozen=True, eq=False)
class TrainedMinimum:
    """A trained network: flat parameters (on the potential's device) and its curves.

    `curves` maps epoch, lr, train_loss, train_error, test_loss, test_error and
    running_loss to arrays of one entry per epoch (test entries NaN without test data).
    `buffers` holds the trained module's own buffers (BatchNorm running statistics).
    """

    seed: int
    params: torch.Tensor
    curves: dict[str, np.ndarray]
    config: TrainConfig
    buffers: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def final(self) -> dict[str, float]:
        """Metrics after the last epoch."""
        skip = ("epoch", "lr", *SAMPLE_CURVES.values())
        return {k: float(v[-1]) for k, v in self.curves.items() if k not in skip}

    @property
    def samples(self) -> dict[str, int]:
        """Samples the training evaluated: mini-batches ("gradient"), and the per-epoch
        curves' BatchNorm calibration and whole-set evaluations ("forward")."""
        return {kind: int(self.curves[key][-1]) if key in self.curves else 0 for kind, key in SAMPLE_CURVES.items()}

    def metadata(self) -> dict[str, Any]:
        """JSON-able: seed, recipe, final metrics and samples (for a store's minima metadata)."""
        return {"seed": self.seed, "config": asdict(self.config), "final": self.final, "samples": self.samples}


@dataclass(eq=False)
class TrainingState:
    """The live state of `train_minimum` at an epoch boundary: what its `on_epoch`
    callback sees (to checkpoint it) and what its `restore` callback sets (to resume).

    `rows` holds one dict of curve values per finished epoch; `source` is the data
    source of the training batches.
    """

    seed: int
    module: nn.Module
    optimizer: torch.optim.Optimizer
    sampler: BatchSampler
    source: Any
    rows: list[dict[str, float]] = field(default_factory=list)

    @property
    def epoch(self) -> int:
        """Epochs finished."""
        return len(self.rows)


def learning_rate(config: TrainConfig, epoch: int) -> float:
    """The learning rate of `epoch` (0-based) under the recipe's schedule."""
    if config.schedule == "constant":
        return config.lr
    if config.schedule == "cosine":
        return 0.5 * config.lr * (1 + math.cos(math.pi * epoch / config.epochs))
    drops = sum(epoch >= round(m * config.epochs) for m in config.milestones)
    return config.lr * config.gamma**drops


def init_parameters(module: nn.Module, seed: int) -> nn.Module:
    """Re-initialise every submodule with `reset_parameters`, seeded and device-independent.

    Runs on a CPU copy under a forked RNG, so the global RNG is untouched and the same
    seed gives the same network on any device.
    """
    device = next(module.parameters()).device
    cpu = copy.deepcopy(module).cpu()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        for m in cpu.modules():
            if callable(getattr(m, "reset_parameters", None)):
                m.reset_parameters()
    return cpu.to(device)


def _optimizer(params: Iterable[torch.Tensor], config: TrainConfig) -> torch.optim.Optimizer:
    """The recipe's optimizer over `params` (a module's, or stacked ones: the update is elementwise)."""
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(
        params, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov, weight_decay=config.weight_decay
    )


def training_speed(potential: NetworkPotential, speed: Speed | None = None) -> Speed:
    """The speed options a training of `potential` runs with: `speed` when given, else the
    potential's own (a `cifar` potential built with `compile=...` compiles its training too)."""
    if speed is not None:
        return speed
    own = getattr(potential, "speed", None)  # a potential pickled before the option has none
    return own if isinstance(own, Speed) else Speed()


def _step_loss(module: nn.Module, potential: NetworkPotential, speed: Speed | None) -> Callable[..., torch.Tensor]:
    """(inputs, targets) -> the mini-batch loss of `module`, with the speed options."""
    if speed is None or speed.is_default:
        return lambda inputs, targets: potential.loss(module(inputs), targets)
    return compiled(
        lambda inputs, targets: potential.loss(speed.run(module, inputs), targets), speed, "the training step"
    )


def _epoch(
    module: nn.Module,
    potential: NetworkPotential,
    source: Any,
    sampler: BatchSampler,
    opt: torch.optim.Optimizer,
    step_loss: Callable[..., torch.Tensor],
    on_step: Callable[[], None] | None = None,
) -> float:
    module.train()
    total = torch.zeros((), device=potential.device)
    batches = 0
    for idx in sampler.epoch():
        inputs, targets = source.get(idx)
        opt.zero_grad(set_to_none=True)
        loss = step_loss(inputs, targets)
        loss.backward()
        opt.step()
        total += loss.detach()
        batches += 1
        potential.count("gradient", 1, inputs.shape[0])
        if on_step is not None:
            on_step()
    return float(total) / batches  # one host sync per epoch


def train_minimum(
    potential: NetworkPotential,
    seed: int,
    config: TrainConfig = TrainConfig(),
    *,
    progress: bool = False,
    init: torch.Tensor | None = None,
    train_source: Any = None,
    on_epoch: Callable[[TrainingState], None] | None = None,
    restore: Callable[[TrainingState], None] | None = None,
    speed: Speed | None = None,
    on_step: Callable[[], None] | None = None,
) -> TrainedMinimum:
    """Train a seeded copy of `potential.module`; the seed fixes initialisation and batches.

    `init` starts from given flat parameters instead of a fresh initialisation.
    `train_source` draws the training batches (e.g. augmented images; default
    `potential.train_data`); the learning curves are always measured on the
    potential's own train and test data.  `on_epoch(state)` runs after every epoch
    (e.g. to checkpoint); `restore(state)` runs once before the first epoch and may
    load a checkpoint into the state: training continues after its last epoch.
    `speed` runs the steps with autocast, channels-last or torch.compile (`speed.Speed`;
    default the potential's own, `potential.speed`).  `on_step()` runs after every
    optimizer step (a wall-clock guard, say: what it raises stops training in the middle
    of an epoch, which a checkpointed run then repeats from its start).
    """
    from tqdm.auto import tqdm

    speed = training_speed(potential, speed)

    module = init_parameters(potential.module, seed)
    if init is not None:
        from .params import load_parameters

        load_parameters(module, potential.asarray(init), potential.spec)
    source = potential.train_data if train_source is None else train_source
    sampler = BatchSampler(len(source), config.batch_size, seed, source.index_device)
    if speed is not None:
        speed.prepare(module)
    state = TrainingState(int(seed), module, _optimizer(module.parameters(), config), sampler, source)
    step_loss = _step_loss(module, potential, speed)
    if restore is not None:
        restore(state)
    bar = tqdm(
        range(state.epoch, config.epochs),
        desc=f"train seed {seed}",
        unit="epoch",
        disable=not progress,
        leave=False,
        initial=state.epoch,
        total=config.epochs,
    )
    for epoch in bar:
        lr = learning_rate(config, epoch)
        for group in state.optimizer.param_groups:
            group["lr"] = lr
        mark = potential.cost()
        running = _epoch(module, potential, source, sampler, state.optimizer, step_loss, on_step)
        row = _curve_row(module, potential, config, epoch, lr, running)
        state.rows.append({**row, **_cumulative(state.rows, samples_since(potential, mark))})
        bar.set_postfix(loss=f"{state.rows[-1]['train_loss']:.4g}", refresh=False)
        if on_epoch is not None:
            on_epoch(state)
    rows = state.rows
    if not np.isfinite(rows[-1]["train_loss"]):
        raise LandscapeError(
            f"training with seed {seed} diverged (loss {rows[-1]['train_loss']}); lower the learning rate"
        )
    curves = {k: np.array([r[k] for r in rows]) for k in rows[0]}
    buffers = {k: v.detach().clone() for k, v in module.named_buffers()}
    return TrainedMinimum(int(seed), flatten_parameters(module, potential.spec), curves, config, buffers)


def _cumulative(rows: Sequence[dict[str, float]], spent: dict[str, int]) -> dict[str, float]:
    """The samples since training began, as curve entries: the last row's plus this
    epoch's (rows are checkpointed, so a resumed training counts on where it stopped;
    a row from before the counters counts as 0)."""
    last = rows[-1] if rows else {}
    return {key: float(last.get(key, 0.0)) + spent[kind] for kind, key in SAMPLE_CURVES.items()}


def _curve_row(
    module: nn.Module, potential: NetworkPotential, config: TrainConfig, epoch: int, lr: float, running: float
) -> dict[str, float]:
    if potential.batchnorm:  # a copy, recalibrated as every evaluated point is (training keeps its own)
        from .evaluate import recalibrate_module

        module = copy.deepcopy(module)
        recalibrate_module(potential, module, potential.calibration_inputs())
    module.eval()
    train = module_metrics(module, potential.train_data, potential.loss, potential.error, config.eval_batch)
    nan = {"loss": float("nan"), "error": float("nan")}
    test = (
        nan
        if potential.test_data is None
        else module_metrics(module, potential.test_data, potential.loss, potential.error, config.eval_batch)
    )
    tested = 0 if potential.test_data is None else len(potential.test_data)
    potential.count("forward", 1, len(potential.train_data) + tested)
    return {
        "epoch": float(epoch + 1),
        "lr": lr,
        "train_loss": train["loss"],
        "train_error": train["error"],
        "test_loss": test["loss"],
        "test_error": test["error"],
        "running_loss": running,
    }


def train_minima(
    potential: NetworkPotential,
    n: int,
    config: TrainConfig = TrainConfig(),
    *,
    seeds: Sequence[int] | None = None,
    progress: bool = False,
    register: bool = True,
    stacked: bool = False,
    speed: Speed | None = None,
) -> list[TrainedMinimum]:
    """Train `n` minima (seeds 0..n-1 unless given); register them as minima "0", "1", ...

    `stacked=True` trains all of them at once (`stacked.train_stacked`: the same minima
    up to rounding, one vmapped step for all); `speed` as for `train_minimum`.
    """
    seeds = list(range(n)) if seeds is None else [int(s) for s in seeds]
    if len(seeds) != n:
        raise LandscapeError(f"{n} minima need {n} seeds, got {len(seeds)}")
    if stacked:
        from .stacked import train_stacked

        out = train_stacked(potential, seeds, config, speed=speed, progress=progress)
    else:
        out = [train_minimum(potential, s, config, progress=progress, speed=speed) for s in seeds]
    if register:
        for k, m in enumerate(out):
            potential.add_minimum(str(k), m.params)
    return out


def save_minima(
    store: Any, potential: NetworkPotential, trained: Sequence[TrainedMinimum], names: Sequence[str] | None = None
) -> None:
    """Write trained minima (coordinates, energies, seeds and recipes) and their learning
    curves (group /learning_curves: one (epochs,) array per metric and minimum) to an
    open, writable `landscape.store.Store`."""
    names = [str(k) for k in range(len(trained))] if names is None else [str(n) for n in names]
    coords = torch.stack([m.params for m in trained])
    energies = potential.energy(coords)
    meta = {"minima": {n: m.metadata() for n, m in zip(names, trained)}, "bn_mode": potential.bn_mode}
    store.write_minima(coords, energies, names, metadata=meta)
    arrays = {f"{n}.{key}": v for n, m in zip(names, trained) for key, v in m.curves.items()}
    store.write_array_group(CURVES_GROUP, arrays, {"names": json.dumps(names)})


def load_learning_curves(store: Any) -> dict[str, dict[str, np.ndarray]]:
    """name -> {metric: per-epoch array}, as written by `save_minima`."""
    arrays, _ = store.read_array_group(CURVES_GROUP)
    out: dict[str, dict[str, np.ndarray]] = {}
    for key, value in arrays.items():
        name, _, metric = key.rpartition(".")
        out.setdefault(name, {})[metric] = np.asarray(value)
    return out
