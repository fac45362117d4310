"""REPAIR (Jordan et al. 2022, "REPAIR: REnormalizing Permuted Activations for
Interpolation Repair") for points between two networks.

Between two (aligned) minima a and b, the point (1 - t) a + t b suffers "variance
collapse": its hidden channels' activations have a smaller spread than either end's,
and the loss rises.  REPAIR picks correction sites (layers), measures each site's
per-channel output mean and standard deviation on one seeded calibration batch at
both ends and at the point, and rescales the point's channels so that their
statistics become (1 - t) mean_a + t mean_b and (1 - t) std_a + t std_b.  The
per-channel affine map (scale, shift) is folded into the site's own weight and bias,
so the result is an ordinary flat point: every evaluation in this toolkit takes it
as it takes any other (BatchNorm running statistics recalibrated per point).

What is corrected, exactly:

* Networks without BatchNorm (the MLP): the output of every `nn.Linear` / `nn.Conv*d`
  except the last one (the logits), i.e. each hidden layer's pre-activations, as in
  the paper's MLP and VGG experiments.  Folded: weight rows times scale, bias times
  scale plus shift (a site needs a bias).
* Networks with BatchNorm (the CIFAR ResNets): the output of every affine BatchNorm
  layer, i.e. the pre-activations a BN network feeds to its ReLUs and residual sums.
  The statistics of every network involved (a, b and the point) are measured with
  BatchNorm normalising by the calibration batch's own statistics, which is the
  paper's RESET (recomputed BN statistics) on that batch.  After RESET a BN output
  channel already has mean beta_t = (1 - t) beta_a + t beta_b, so what REPAIR changes
  there is its spread: |gamma_t| against (1 - t) |gamma_a| + t |gamma_b|, plus the
  shift that upstream corrections cause.  Folded into gamma (times scale) and beta
  (times scale plus shift).  The paper's BN-ResNet-50 code also rescales each residual
  block's output (after the skip addition); with this project's parameter-free
  (option A) shortcuts that correction cannot be folded into the parameters, so it is
  not made here.  On the reduced CIFAR minima the BN-output correction is a no-op
  (|scale - 1| <= 1.9e-5; docs/cifar.md, where `bench/bench_repair_blocks.py` also
  measures the block-output one by hooks).

Sites are corrected in forward order in one pass: a site's statistics are measured
after the sites upstream of it were corrected, so on the calibration batch each
corrected site's channels have exactly the target statistics.  A channel whose
spread at the point is (numerically) zero keeps its scale (1) and only moves its mean.

Cost: one forward pass of the calibration batch per end and per point, counted as
"forward" samples in the potential's counters (`NetworkPotential.cost`).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

from landscape.foundations.errors import LandscapeError

from .data import calibration_batches
from .params import load_parameters
from .potential import NetworkPotential

__all__ = [
    "repair_sites",
    "repair_inputs",
    "channel_statistics",
    "repair_coefficients",
    "repair_point",
    "repair_points",
]

Stats = dict[str, tuple[torch.Tensor, torch.Tensor]]

_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
_TINY = 1e-12  # a channel spread below this (relative to 1) is treated as constant


def _is_bn(m: nn.Module) -> bool:
    return isinstance(m, nn.modules.batchnorm._BatchNorm)


def repair_sites(module: nn.Module, layers: Sequence[str] | None = None) -> list[str]:
    """Names of the modules whose outputs REPAIR corrects, in forward (registration) order.

    Default: every affine BatchNorm layer when the module has BatchNorm, else every
    Linear/Conv layer but the last.  `layers` names them explicitly (each must be a
    Linear/Conv with a bias or an affine BatchNorm).
    """
    named = dict(module.named_modules())
    if layers is not None:
        for name in layers:
            m = named.get(name)
            if m is None:
                raise LandscapeError(f"REPAIR: the network has no layer {name!r}")
            if not ((_is_bn(m) and m.affine) or (isinstance(m, _LAYERS) and m.bias is not None)):
                raise LandscapeError(
                    f"REPAIR: layer {name!r} ({type(m).__name__}) cannot absorb a per-channel scale and shift; "
                    "choose Linear/Conv layers with a bias or affine BatchNorm layers"
                )
        order = {n: k for k, n in enumerate(named)}
        return sorted(dict.fromkeys(layers), key=order.__getitem__)
    if any(_is_bn(m) for m in named.values()):
        sites = [n for n, m in named.items() if _is_bn(m) and m.affine]
    else:
        sites = [n for n, m in named.items() if isinstance(m, _LAYERS)][:-1]
        missing = [n for n in sites if named[n].bias is None]
        if missing:
            raise LandscapeError(f"REPAIR: layer {missing[0]!r} has no bias to absorb the shift; name --layers")
    if not sites:
        raise LandscapeError("REPAIR: the network has no hidden layer to correct")
    return sites


def repair_inputs(potential: NetworkPotential, samples: int | None = None, seed: int | None = None) -> torch.Tensor:
    """The seeded calibration batch (inputs) from the potential's training data; by default
    the potential's BatchNorm calibration set (`calibration` size and seed), as one batch."""
    size = potential.calibration["size"] if samples is None else int(samples)
    if size < 2:
        raise LandscapeError(f"REPAIR needs at least 2 calibration samples, got {size}")
    seed = potential.calibration["seed"] if seed is None else int(seed)
    return calibration_batches(potential.train_data, size, size, seed)[0]


def _channel_dim(m: nn.Module) -> int:
    return -1 if isinstance(m, nn.Linear) else 1


def _moments(out: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and (population) standard deviation, returned in float64 (reduced
    in the output's own dtype: a float64 copy of a conv layer's output costs more than
    the layer)."""
    dims = [d for d in range(out.dim()) if d != dim % out.dim()]
    var, mean = torch.var_mean(out.detach(), dim=dims, correction=0)
    return mean.to(torch.float64), var.to(torch.float64).sqrt()


class _Probe:
    """A private copy of the network with forward hooks on the sites: it records their
    channel statistics, or corrects them on the fly towards given targets."""

    def __init__(self, potential: NetworkPotential, sites: Sequence[str]):
        self.potential = potential
        self.module = copy.deepcopy(potential.module).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)
        for m in self.module.modules():
            if _is_bn(m):
                m.train()  # normalise by the calibration batch's statistics (RESET on it)
        named = dict(self.module.named_modules())
        self.sites = {name: named[name] for name in sites}

    @contextmanager
    def _hooks(self, hook: Any) -> Iterator[None]:
        handles = [m.register_forward_hook(hook(name, m)) for name, m in self.sites.items()]
        try:
            yield
        finally:
            for h in handles:
                h.remove()

    def run(self, point: torch.Tensor, inputs: torch.Tensor, targets: Stats | None = None) -> Stats:
        """Statistics of each site at `point`; with `targets`, the (scale, shift) per site
        that moved them there (applied downstream during this pass)."""
        load_parameters(self.module, point, self.potential.spec)
        found: Stats = {}

        def hook(name: str, m: nn.Module) -> Any:
            dim = _channel_dim(m)

            def fn(_: nn.Module, __: Any, out: torch.Tensor) -> torch.Tensor | None:
                mean, std = _moments(out, dim)
                if targets is None:
                    found[name] = (mean, std)
                    return None
                goal_mean, goal_std = targets[name]
                scale = torch.where(std > _TINY, goal_std / std.clamp_min(_TINY), torch.ones_like(std))
                shift = goal_mean - scale * mean
                found[name] = (scale, shift)
                shape = [1] * out.dim()
                shape[dim] = -1
                return out * scale.to(out.dtype).reshape(shape) + shift.to(out.dtype).reshape(shape)

            return fn

        with torch.no_grad(), self._hooks(hook):
            self.module(inputs)
        self.potential.count("forward", 1, inputs.shape[0])
        return found


def _fold(potential: NetworkPotential, point: torch.Tensor, coefficients: Stats) -> torch.Tensor:
    """The point with each site's (scale, shift) folded into its weight and bias."""
    tensors = {k: v.clone() for k, v in potential.spec.unflatten(point).items()}
    for name, (scale, shift) in coefficients.items():
        prefix = f"{name}." if name else ""
        w, b = tensors.get(prefix + "weight"), tensors.get(prefix + "bias")
        if w is None or b is None:
            raise LandscapeError(f"REPAIR: layer {name!r} has no weight and bias among the coordinates")
        s = scale.to(w.dtype)
        tensors[prefix + "weight"] = w * s.reshape((-1,) + (1,) * (w.dim() - 1))
        tensors[prefix + "bias"] = b * s + shift.to(b.dtype)
    return potential.spec.flatten(tensors)


def channel_statistics(
    potential: NetworkPotential,
    point: Any,
    *,
    layers: Sequence[str] | None = None,
    samples: int | None = None,
    seed: int | None = None,
) -> Stats:
    """Per-channel (mean, std) of each REPAIR site's output at `point`, on the seeded
    calibration batch, BatchNorm normalising by that batch (float64)."""
    probe = _Probe(potential, repair_sites(potential.module, layers))
    return probe.run(_one(potential, point, "point"), repair_inputs(potential, samples, seed))


def _one(potential: NetworkPotential, x: Any, what: str) -> torch.Tensor:
    x = potential.asarray(x)
    if x.dim() == 2 and x.shape[0] == 1:
        x = x[0]
    if tuple(x.shape) != (potential.dim,):
        shape = tuple(x.shape)
        raise LandscapeError(f"REPAIR: the {what} must be a flat point of {potential.dim} entries, not {shape}")
    return x


def _targets(ends: tuple[Stats, Stats], t: float) -> Stats:
    sa, sb = ends
    return {k: ((1 - t) * sa[k][0] + t * sb[k][0], (1 - t) * sa[k][1] + t * sb[k][1]) for k in sa}


def _check_t(ts: np.ndarray) -> np.ndarray:
    """`ts` clipped to [0, 1]; arc fractions may miss the ends by round-off, nothing more."""
    if not np.all(np.isfinite(ts)) or ts.min(initial=0.0) < -1e-9 or ts.max(initial=0.0) > 1 + 1e-9:
        raise LandscapeError("REPAIR: every t must lie in [0, 1]")
    return np.clip(ts, 0.0, 1.0)


def repair_coefficients(
    potential: NetworkPotential,
    a: Any,
    b: Any,
    t: float,
    *,
    point: Any = None,
    layers: Sequence[str] | None = None,
    samples: int | None = None,
    seed: int | None = None,
) -> Stats:
    """Per site, the per-channel (scale, shift) that REPAIR applies at the point of
    fraction `t` between ends `a` and `b` (the point defaults to (1 - t) a + t b)."""
    t = float(_check_t(np.array([t], dtype=float))[0])
    ua, ub = _one(potential, a, "first end"), _one(potential, b, "second end")
    x = (1 - t) * ua + t * ub if point is None else _one(potential, point, "point")
    probe = _Probe(potential, repair_sites(potential.module, layers))
    inputs = repair_inputs(potential, samples, seed)
    ends = (probe.run(ua, inputs), probe.run(ub, inputs))
    return probe.run(x, inputs, _targets(ends, float(t)))


def repair_points(
    potential: NetworkPotential,
    a: Any,
    b: Any,
    ts: Any,
    *,
    points: Any = None,
    layers: Sequence[str] | None = None,
    samples: int | None = None,
    seed: int | None = None,
) -> torch.Tensor:
    """REPAIR of many points between `a` and `b` at once: (n, dim) repaired flat points.

    `ts` (n,): each point's fraction between the ends (for a line its t, for a curve
    its arc fraction); `points` (n, dim) defaults to the straight line (1 - t) a + t b.
    The ends are measured once; each point costs one forward pass of `samples`
    calibration inputs (default: the potential's BatchNorm calibration set and seed).
    """
    ts = _check_t(np.asarray(ts, dtype=float).reshape(-1))
    ua, ub = _one(potential, a, "first end"), _one(potential, b, "second end")
    if points is None:
        tt = torch.as_tensor(ts, dtype=ua.dtype, device=ua.device)[:, None]
        x = (1 - tt) * ua + tt * ub
    else:
        x = potential._points(points)
        if x.shape[0] != ts.size:
            raise LandscapeError(f"REPAIR: {x.shape[0]} points but {ts.size} fractions t")
    probe = _Probe(potential, repair_sites(potential.module, layers))
    inputs = repair_inputs(potential, samples, seed)
    ends = (probe.run(ua, inputs), probe.run(ub, inputs))
    out = [_fold(potential, row, probe.run(row, inputs, _targets(ends, float(t)))) for row, t in zip(x, ts)]
    return torch.stack(out) if out else x.clone()


def repair_point(
    potential: NetworkPotential,
    a: Any,
    b: Any,
    t: float,
    *,
    point: Any = None,
    layers: Sequence[str] | None = None,
    samples: int | None = None,
    seed: int | None = None,
) -> torch.Tensor:
    """REPAIR of one point (dim,): the point of fraction `t` between `a` and `b` (default
    (1 - t) a + t b) with its sites' channel statistics moved to the interpolation of
    the ends' (see the module docstring for what is corrected)."""
    pts = None if point is None else _one(potential, point, "point")[None]
    return repair_points(potential, a, b, [t], points=pts, layers=layers, samples=samples, seed=seed)[0]
