"""Several minima trained at once: stacked module states under `torch.func.vmap`.

`train_stacked(potential, seeds, config)` trains one network per seed in a single
loop: their parameters and buffers are stacked (`torch.func.stack_module_state`), one
vmapped `functional_call` runs all of them on their own mini-batches, and one backward
pass gives every network its own gradient (the loss is the sum of their independent
losses).  On a GPU that is one kernel per layer for all networks instead of one per
network and layer, which is what small networks need to fill the device.

Each network is trained exactly as `train.train_minimum` would train it alone:

- its own initialisation (`init_parameters(module, seed)`), its own batch order
  (`BatchSampler(..., seed)`) and its own training source (e.g. the augmented stream of
  its seed, with its own generator);
- the same optimizer, `torch.optim.SGD` (or Adam) built from the recipe, applied to the
  stacked tensors: both are elementwise, so stepping the stack is stepping each;
- BatchNorm running statistics updated in place per network from its own batch (the
  stacked buffers are batched under vmap), as in separate training;
- its own learning curves, measured on the unstacked network, and its own sample
  counts (as if trained alone).

Equality with separate training is up to rounding: vmap runs a convolution with per-
network weights as a grouped convolution, whose sums may be ordered differently
(float32, within 1e-5 after a few steps: `tests/plugins/test_torch_stacked.py`).
Dropout draws different masks per network (`randomness="different"`), so a network
with dropout is trained like one alone in distribution, not in its masks.

Resumable as `train_minimum` is: `on_epoch(state)` sees a `StackedState` after every
epoch (to checkpoint it: `torchnet.trainrun` does) and `restore(state)` loads one
before the first; a run continued after any epoch equals the uninterrupted one.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from landscape import LandscapeError

from .data import BatchSampler
from .params import flatten_parameters
from .potential import NetworkPotential
from .speed import Speed, compiled
from .train import (
    SAMPLE_CURVES,
    TrainConfig,
    TrainedMinimum,
    _curve_row,
    _optimizer,
    init_parameters,
    learning_rate,
    training_speed,
)

__all__ = ["StackedNetworks", "StackedState", "train_stacked"]


class StackedNetworks:
    """n copies of one architecture with stacked parameters (leaves) and buffers.

    `loss(inputs, targets)` takes (n, B, ...) inputs and (n, B, ...) targets and
    returns the (n,) mini-batch losses, network k on batch k; in train mode it updates
    each network's BatchNorm statistics in place.  `module(k)` is network k as a
    plain module (a copy).
    """

    def __init__(self, modules: Sequence[nn.Module], loss: Any, speed: Speed | None = None):
        self.template = copy.deepcopy(modules[0])
        self.params, self.buffers = stack_module_state(list(modules))
        self.n = len(modules)
        self.speed = speed or Speed()
        self._loss = loss
        inner = replace(self.speed, channels_last=False)  # the layout is set when stacking: vmap cannot

        def one(
            params: dict[str, torch.Tensor],
            buffers: dict[str, torch.Tensor],
            inputs: torch.Tensor,
            targets: torch.Tensor,
        ) -> torch.Tensor:
            out = inner.run(lambda x: functional_call(self.template, (params, buffers), (x,)), inputs)
            return self._loss(out, targets)

        self.loss = compiled(vmap(one, randomness="different"), speed, "the stacked training step")

    def train(self, mode: bool = True) -> StackedNetworks:
        self.template.train(mode)
        return self

    def module(self, k: int) -> nn.Module:
        """Network k as a module of its own (parameters and buffers copied)."""
        net = copy.deepcopy(self.template)
        with torch.no_grad():
            for name, t in net.named_parameters():
                t.copy_(self.params[name][k])
            for name, t in net.named_buffers():
                t.copy_(self.buffers[name][k])
        return net


@dataclass(eq=False)
class StackedState:
    """The live state of `train_stacked` at an epoch boundary: what `on_epoch` sees and
    `restore` sets.  `rows[k]` holds network k's curve values per finished epoch."""

    seeds: list[int]
    nets: StackedNetworks
    optimizer: torch.optim.Optimizer
    samplers: list[BatchSampler]
    sources: list[Any]
    rows: list[list[dict[str, float]]] = field(default_factory=list)

    @property
    def epoch(self) -> int:
        """Epochs finished (by every network)."""
        return len(self.rows[0])


def _stack(batches: Sequence[tuple[torch.Tensor, torch.Tensor]], speed: Speed) -> tuple[torch.Tensor, torch.Tensor]:
    xs = [x for x, _ in batches]
    if speed.channels_last and xs[0].dim() == 4:  # (n, B, C, H, W) whose every slice is NHWC in memory
        inputs = torch.stack([x.permute(0, 2, 3, 1) for x in xs]).permute(0, 1, 4, 2, 3)
    else:
        inputs = torch.stack(xs)
    return inputs, torch.stack([y for _, y in batches])


def train_stacked(
    potential: NetworkPotential,
    seeds: Sequence[int],
    config: TrainConfig = TrainConfig(),
    *,
    train_sources: Sequence[Any] | None = None,
    speed: Speed | None = None,
    progress: bool = False,
    on_epoch: Callable[[StackedState], None] | None = None,
    restore: Callable[[StackedState], None] | None = None,
    on_step: Callable[[], None] | None = None,
) -> list[TrainedMinimum]:
    """Train one network per seed at once; the same minima as `train_minimum` per seed.

    `train_sources[k]` draws the training batches of network k (default: the
    potential's training data for all); the sources must be equally long.  `speed`
    adds autocast, channels-last inputs or a compiled step (`speed.Speed`; default the
    potential's own, `train.training_speed`).  `on_epoch(state)` runs after every
    epoch; `restore(state)` once before the first, and training continues after the
    epochs it loaded; `on_step()` after every optimizer step (as in `train_minimum`).
    """
    from tqdm.auto import tqdm

    seeds = [int(s) for s in seeds]
    if not seeds:
        raise LandscapeError("stacked training needs at least one seed")
    sources = [potential.train_data] * len(seeds) if train_sources is None else list(train_sources)
    if len(sources) != len(seeds) or len({len(s) for s in sources}) != 1:
        raise LandscapeError(
            f"{len(seeds)} networks need as many training sources of one length, got {[len(s) for s in sources]}"
        )
    speed = training_speed(potential, speed)
    nets = StackedNetworks([speed.prepare(init_parameters(potential.module, s)) for s in seeds], potential.loss, speed)
    samplers = [BatchSampler(len(src), config.batch_size, s, src.index_device) for s, src in zip(seeds, sources)]
    opt = _optimizer(nets.params.values(), config)
    state = StackedState(seeds, nets, opt, samplers, sources, [[] for _ in seeds])
    if restore is not None:
        restore(state)
    rows = state.rows
    bar = tqdm(
        range(state.epoch, config.epochs),
        desc=f"train {len(seeds)} stacked",
        unit="epoch",
        disable=not progress,
        leave=False,
        initial=state.epoch,
        total=config.epochs,
    )
    for epoch in bar:
        lr = learning_rate(config, epoch)
        for group in opt.param_groups:
            group["lr"] = lr
        running, images = _epoch(nets, potential, sources, samplers, opt, speed, on_step)
        for k in range(len(seeds)):
            mark = potential.cost()
            row = _curve_row(nets.module(k), potential, config, epoch, lr, running[k])
            forward = potential.cost()["forward"] - mark["forward"]
            last = rows[k][-1] if rows[k] else {}
            spent = {"gradient": images, "forward": forward}
            rows[k].append(
                {**row, **{key: float(last.get(key, 0.0)) + spent[kind] for kind, key in SAMPLE_CURVES.items()}}
            )
        if on_epoch is not None:
            on_epoch(state)
    out = []
    for k, seed in enumerate(seeds):
        if not np.isfinite(rows[k][-1]["train_loss"]):
            raise LandscapeError(
                f"training with seed {seed} diverged (loss {rows[k][-1]['train_loss']}); lower the learning rate"
            )
        net = nets.module(k)
        curves = {key: np.array([r[key] for r in rows[k]]) for key in rows[k][0]}
        buffers = {name: v.detach().clone() for name, v in net.named_buffers()}
        out.append(TrainedMinimum(seed, flatten_parameters(net, potential.spec), curves, config, buffers))
    return out


def _epoch(
    nets: StackedNetworks,
    potential: NetworkPotential,
    sources: Sequence[Any],
    samplers: Sequence[BatchSampler],
    opt: torch.optim.Optimizer,
    speed: Speed,
    on_step: Callable[[], None] | None = None,
) -> tuple[list[float], int]:
    """One pass of every network over its data; (running mean loss per network, images per network)."""
    nets.train()
    total = torch.zeros(nets.n, device=potential.device)
    batches = images = 0
    for idx in zip(*(s.epoch() for s in samplers)):
        inputs, targets = _stack([src.get(i) for src, i in zip(sources, idx)], speed)
        opt.zero_grad(set_to_none=True)
        losses = nets.loss(nets.params, nets.buffers, inputs, targets)
        losses.sum().backward()  # independent networks: each gets its own gradient
        opt.step()
        total += losses.detach()
        batches += 1
        images += int(inputs.shape[1])
        potential.count("gradient", nets.n, inputs.shape[1])
        if on_step is not None:
            on_step()
    return [t / batches for t in total.tolist()], images  # one host sync per epoch
