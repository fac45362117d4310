"""Directions along which a network's loss cannot change, whatever the data: its trivial
invariances, which give the Hessian zero eigenvalues that say nothing about flatness.

- BatchNorm (in train mode, as the Hessian sees it): scaling the weights that feed one
  channel leaves the normalised output unchanged, so each such channel's weight vector
  is a zero direction (the radial one); shifting a bias that feeds a BatchNorm channel
  is removed by the mean subtraction, another zero direction per channel.
- Softmax cross entropy: adding one number to every logit changes nothing, so the final
  linear layer's bias moved all together, and each column of its weight moved all
  together (which adds u . h to every logit), are zero directions.

`invariance_directions` finds them by walking the module in registration order (the
convolution or linear layer just before each BatchNorm with as many channels, and the
last linear layer before a cross-entropy loss), as flat-parameter vectors, orthonormal.
`landscape hessian` counts the near-zero eigenvalues beyond them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["invariance_directions"]


def _offsets(potential: Any) -> dict[str, tuple[int, tuple[int, ...]]]:
    spec, out, start = potential.spec, {}, 0
    for name, shape, size in zip(spec.names, spec.shapes, spec.sizes):
        out[name] = (start, tuple(shape))
        start += size
    return out


def _unit(dim: int, offset: int, values: np.ndarray) -> np.ndarray:
    v = np.zeros(dim)
    v[offset : offset + values.size] = values.reshape(-1)
    return v


def _channel_directions(
    point: np.ndarray, offsets: dict[str, Any], layer: str, channels: int, dim: int
) -> list[tuple[str, np.ndarray]]:
    """Radial weight direction and bias direction of each channel of `layer`."""
    out = []
    if f"{layer}.weight" in offsets:
        start, shape = offsets[f"{layer}.weight"]
        per = int(np.prod(shape[1:]))
        for c in range(channels):
            w = point[start + c * per : start + (c + 1) * per]
            if np.any(w):
                out.append((f"{layer} channel {c} scale", _unit(dim, start + c * per, w)))
    if f"{layer}.bias" in offsets:
        start, _ = offsets[f"{layer}.bias"]
        out += [(f"{layer} channel {c} shift", _unit(dim, start + c, np.ones(1))) for c in range(channels)]
    return out


def _softmax_directions(offsets: dict[str, Any], layer: str, dim: int) -> list[tuple[str, np.ndarray]]:
    out = []
    start, shape = offsets[f"{layer}.weight"]
    classes, features = shape[0], int(np.prod(shape[1:]))
    for j in range(features):  # column j of the weight, every class together
        v = np.zeros(dim)
        v[start + j : start + classes * features : features] = 1.0
        out.append((f"{layer} logit shift by feature {j}", v))
    if f"{layer}.bias" in offsets:
        start, _ = offsets[f"{layer}.bias"]
        out.append((f"{layer} logit shift", _unit(dim, start, np.ones(classes))))
    return out


def invariance_directions(potential: Any, point: Any) -> tuple[np.ndarray, list[str]]:
    """(k, dim) orthonormal rows spanning the trivial invariances at `point`, and what
    each direction found was (before orthonormalisation; k may be fewer when some were
    dependent)."""
    x = np.asarray(point.detach().cpu() if isinstance(point, torch.Tensor) else point, dtype=np.float64).reshape(-1)
    offsets, dim = _offsets(potential), potential.dim
    found: list[tuple[str, np.ndarray]] = []
    last: tuple[str, int] | None = None
    final_linear = None
    for name, module in potential.module.named_modules():
        if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)):
            channels = module.out_channels if hasattr(module, "out_channels") else module.out_features
            last = (name, int(channels))
            if isinstance(module, nn.Linear):
                final_linear = name
        elif isinstance(module, nn.modules.batchnorm._BatchNorm) and last is not None:
            if last[1] == module.num_features:
                found += _channel_directions(x, offsets, last[0], last[1], dim)
            last = None
    if (
        final_linear is not None
        and "cross_entropy" in getattr(potential.loss, "__name__", "")
        and f"{final_linear}.weight" in offsets
    ):
        found += _softmax_directions(offsets, final_linear, dim)
    if not found:
        return np.zeros((0, dim)), []
    q, r = np.linalg.qr(np.stack([v for _, v in found]).T)
    keep = np.abs(np.diag(r)) > 1e-10 * max(1.0, float(np.abs(np.diag(r)).max()))
    return q[:, keep].T, [label for (label, _), k in zip(found, keep) if k]
