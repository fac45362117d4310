"""Training recipes of the original papers and the AutoNEB settings of Draxler et al. 2018.

Training (`training_recipe(model)`):
- ResNets, He et al. 2016 section 4.2: SGD, lr 0.1, momentum 0.9, weight decay 1e-4,
  batch 128, lr divided by 10 at 32k and 48k of 64k iterations, i.e. epochs 82 and
  123 of 164 (50% and 75%), 4-pixel padded crop and flip.
- DenseNets, Huang et al. 2017 section 4.2: SGD with Nesterov momentum 0.9 (no
  dampening), weight decay 1e-4, batch 64, lr 0.1 divided by 10 at 50% and 75% of 300
  epochs, same augmentation (no dropout with augmentation).
Draxler et al.'s Table 1 quotes 136 (ResNets) and 266 (DenseNets) training epochs;
`recipe.scaled(epochs=136)` gives that length with the same milestone fractions.

AutoNEB (`autoneb_preset(model, preset)`), Draxler et al. section 4.1: the `paper`
schedule of `landscape.optimizers.schedules` (14 cycles: 4x1000 steps lr 0.1, 2x2000 lr 0.1,
4x1000 lr 0.01, 4x1000 lr 0.001; SGD momentum 0.9, L2 1e-4; insertion at 20% of the
energy range, 9 points per segment) with a loss batch of 512 for ResNet-20/32 and 256
for ResNet-44/56 and the DenseNets; plus shortened presets for quick GPU checks and CPU.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from landscape.foundations.errors import LandscapeError
from landscape.optimizers.schedules import PRESETS, Cycle, Schedule
from landscape.optimizers.steppers import SGD

from .models import parse_model_name

__all__ = [
    "TrainRecipe",
    "RESNET_RECIPE",
    "DENSENET_RECIPE",
    "training_recipe",
    "paper_batch_size",
    "paper_schedule",
    "scaled_schedule",
    "cpu_schedule",
    "tenth_schedule",
    "TENTH",
    "AUTONEB_PRESETS",
    "autoneb_preset",
]


@dataclass(frozen=True)
class TrainRecipe:
    """SGD with a step learning-rate schedule: lr times `gamma` at each fraction of
    `epochs` in `milestones` (epoch e, 0-based, has dropped once e >= round(f*epochs)).

    Field names match `landscape_plugins.torchnet.train.TrainConfig`, so
    `TrainConfig(**recipe.to_config())` runs it (weight decay added to the gradient,
    PyTorch's convention).
    """

    name: str
    epochs: int
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 1e-4
    batch_size: int = 128
    milestones: tuple[float, ...] = (0.5, 0.75)
    gamma: float = 0.1
    augment: bool = True

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or not self.lr > 0:
            raise LandscapeError(
                f"recipe {self.name!r} needs epochs, batch_size >= 1 and lr > 0, "
                f"got {self.epochs}, {self.batch_size}, {self.lr}"
            )
        if not all(0 < f < 1 for f in self.milestones) or list(self.milestones) != sorted(self.milestones):
            raise LandscapeError(
                f"recipe {self.name!r}: milestones must be rising fractions in (0, 1), got {self.milestones}"
            )
        if not 0 <= self.momentum < 1 or self.weight_decay < 0 or not 0 < self.gamma <= 1:
            raise LandscapeError(f"recipe {self.name!r} needs 0 <= momentum < 1, weight_decay >= 0, 0 < gamma <= 1")

    @property
    def milestone_epochs(self) -> tuple[int, ...]:
        """The 0-based epochs at which the learning rate drops."""
        return tuple(round(f * self.epochs) for f in self.milestones)

    def lr_at(self, epoch: int) -> float:
        """Learning rate of `epoch` (0-based)."""
        return self.lr * self.gamma ** sum(epoch >= m for m in self.milestone_epochs)

    def scaled(self, epochs: int | None = None, batch_size: int | None = None, **changes: Any) -> TrainRecipe:
        """The recipe with other epochs (milestones stay fractions) or batch size, e.g.
        `RESNET_RECIPE.scaled(epochs=10, batch_size=64)` for a CPU run."""
        if epochs is not None:
            changes["epochs"] = epochs
        if batch_size is not None:
            changes["batch_size"] = batch_size
        if "milestones" in changes:
            changes["milestones"] = tuple(float(f) for f in changes["milestones"])
        try:
            return replace(self, **changes)
        except TypeError as exc:
            raise LandscapeError(f"bad recipe field: {exc}") from None

    def to_config(self) -> dict[str, Any]:
        """Keyword arguments of torchnet's TrainConfig (`name` and `augment` left out:
        augmentation belongs to the data)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("name", "augment")}
        return {**out, "optimizer": "sgd", "schedule": "step"}


RESNET_RECIPE = TrainRecipe("he2016-resnet", epochs=164, batch_size=128)
DENSENET_RECIPE = TrainRecipe("huang2017-densenet", epochs=300, batch_size=64, nesterov=True)


def training_recipe(model: str) -> TrainRecipe:
    """The original paper's recipe for a model name (see `models` for the naming rule)."""
    return RESNET_RECIPE if parse_model_name(model).family == "resnet" else DENSENET_RECIPE


# --- AutoNEB -------------------------------------------------------------------------------

_PAPER_PLAN = [(1000, 0.1)] * 4 + [(2000, 0.1)] * 2 + [(1000, 0.01)] * 4 + [(1000, 0.001)] * 4


def paper_batch_size(model: str) -> int:
    """Draxler et al. 4.1/4.2: 512 samples per loss evaluation for ResNet-20/32 (and
    shallower), 256 for deeper ResNets and all DenseNets."""
    spec = parse_model_name(model)
    return 512 if spec.family == "resnet" and spec.depth <= 32 else 256


def paper_schedule(weight_decay: float = 1e-4) -> Schedule:
    """The `paper` preset of landscape.optimizers.schedules (14 cycles, 16,000 steps)."""
    return PRESETS["paper"](weight_decay)


def scaled_schedule(
    fraction: float, *, weight_decay: float = 1e-4, name: str | None = None, lr_scale: float = 1.0
) -> Schedule:
    """The paper's 14 cycles with every cycle's steps times `fraction` (at least 1):
    same learning rates (times `lr_scale`), momentum, L2 and insertion rule."""
    if not fraction > 0 or not lr_scale > 0:
        raise LandscapeError(f"schedule fraction and lr_scale must be > 0, got {fraction}, {lr_scale}")
    sgd = SGD(lr=0.1, momentum=0.9, weight_decay=weight_decay)
    # rounded: 0.1 x 0.1 is 0.010000000000000002, and a run must not hang on the last bit
    cycles = tuple(Cycle(max(1, round(n * fraction)), sgd.with_lr(round(lr * lr_scale, 12))) for n, lr in _PAPER_PLAN)
    return Schedule(name or f"paper-x{fraction:g}", cycles)


def cpu_schedule(steps: int = 50, *, lr: float = 0.1, weight_decay: float = 1e-4) -> Schedule:
    """The paper's phases in 4 cycles of `steps`: lr, lr, lr/10, lr/100 (SGD momentum
    0.9, L2 `weight_decay`), for minutes-long runs of small networks on a CPU."""
    sgd = SGD(lr=lr, momentum=0.9, weight_decay=weight_decay)
    plan = [(steps, lr), (steps, lr), (steps, lr / 10), (steps, lr / 100)]
    return Schedule(f"cifar-cpu-{steps}", tuple(Cycle(n, sgd.with_lr(r)) for n, r in plan))


#: The `tenth` preset's loss batch and learning rates as fractions of the paper's: its
#: 14 cycles of the paper's length cost a tenth of the paper's sample-gradients per pivot.
#: The best of the cheap schedules measured on the reduced run, and still far from the
#: paper schedule's path there (docs/cifar.md, "A tenth of the samples").
TENTH = 0.1


def tenth_schedule(fraction: float = 1.0, *, weight_decay: float = 1e-4) -> Schedule:
    """The paper's 14 cycles times `fraction` with every learning rate times `TENTH`, for
    a loss batch of `TENTH` times the paper's (the same SGD noise per step, lr / batch)."""
    name = "tenth" if fraction == 1 else f"tenth-x{fraction:g}"
    return scaled_schedule(fraction, weight_decay=weight_decay, name=name, lr_scale=TENTH)


# name -> (schedule factory, batch size, or None for the paper's per-model size, or a
# float: that fraction of the paper's size)
AUTONEB_PRESETS: dict[str, tuple[Any, int | float | None]] = {
    "paper": (paper_schedule, None),
    "tenth": (tenth_schedule, TENTH),  # a tenth of the paper's samples per pivot (docs/cifar.md)
    "short": (lambda: scaled_schedule(0.1, name="short"), None),  # 1,600 steps: GPU checks
    "tiny": (lambda: scaled_schedule(0.01, name="tiny"), 128),  # 160 steps, 14 cycles
    "cpu": (lambda: cpu_schedule(50), 128),  # 200 steps, 4 cycles
}


def autoneb_preset(model: str, preset: str = "paper") -> tuple[Schedule, int]:
    """(schedule, loss batch size) of an AutoNEB preset for a model name."""
    if preset not in AUTONEB_PRESETS:
        raise LandscapeError(f"unknown AutoNEB preset {preset!r}; choose one of {', '.join(AUTONEB_PRESETS)}")
    factory, batch = AUTONEB_PRESETS[preset]
    if batch is None or isinstance(batch, float):
        batch = max(1, int(paper_batch_size(model) * (1.0 if batch is None else batch)))  # down: never above its share
    return factory(), batch
