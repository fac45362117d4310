"""Path presets that train a curve between the minima instead of running AutoNEB.

A `CurvePreset` is a Bezier curve (or polygonal chain) of Garipov et al. 2018 trained on
mini-batches, `draws` points of the curve per step on one batch, Adam with its
learning rate held for half the steps and then falling linearly to 1% by 90%
(`landscape.optimizers.curves.LR_DECAYS`, "garipov"), and stored as the curve at
`pivots` equally spaced t: the path Table 1 evaluates, as it evaluates an AutoNEB path.
Its sample-gradients per path are exactly steps x draws x batch (the pivots cost
forward passes only, at the start and the end: `Curve.settle`).

`bezier`: the setting measured on the reduced CIFAR run (docs/cifar.md, "A tenth of the
samples"), at a loss batch of half the paper's (the reduced run: 50 of its 100 images).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from landscape.foundations.errors import LandscapeError
from landscape.optimizers.curves import Curve
from landscape.optimizers.steppers import Adam

__all__ = ["CurvePreset", "CURVE_PRESETS", "curve_preset", "is_curve"]


@dataclass(frozen=True)
class CurvePreset:
    """A curve's settings as a path preset (`Experiment(preset=...)`)."""

    name: str
    steps: int
    batch_fraction: float  # of the paper's loss batch (`recipes.paper_batch_size`)
    kind: str = "bezier"
    bends: int = 3
    draws: int = 1
    lr: float = 0.01
    weight_decay: float = 1e-4
    lr_decay: str = "garipov"
    pivots: int = 15

    def optimizer(self, seed: int = 0) -> Curve:
        """The curve to train (its t drawn with `seed`)."""
        return Curve(
            kind=self.kind,
            bends=self.bends,
            steps=self.steps,
            samples_per_step=self.draws,
            stepper=Adam(lr=self.lr, weight_decay=self.weight_decay),
            seed=seed,
            lr_decay=self.lr_decay,
        )

    def sample_gradients(self, batch: int) -> int:
        """Sample-gradients per path at a loss batch of `batch` images."""
        return self.steps * self.draws * batch

    def describe(self, batch: int) -> str:
        return (
            f"curve '{self.name}' ({self.kind}, {self.bends} bend(s), {self.steps} steps x {self.draws} t, "
            f"batch {batch}, {self.pivots} pivots)"
        )


#: name -> preset
CURVE_PRESETS = {"bezier": CurvePreset("bezier", steps=1760, batch_fraction=0.5)}


def curve_preset(model: str, name: str) -> tuple[CurvePreset, int]:
    """(preset, loss batch size) of a curve preset for a model name."""
    from .recipes import paper_batch_size

    if name not in CURVE_PRESETS:
        raise LandscapeError(f"unknown curve preset {name!r}; choose one of {', '.join(CURVE_PRESETS)}")
    preset = CURVE_PRESETS[name]
    return preset, max(1, int(paper_batch_size(model) * preset.batch_fraction))


def is_curve(preset: Any) -> bool:
    """Whether `preset` (a name or an object) is a curve preset."""
    return isinstance(preset, CurvePreset) or (isinstance(preset, str) and preset in CURVE_PRESETS)
