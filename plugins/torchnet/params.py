"""Flat parameter vectors of an `nn.Module`: the coordinates a path lives in.

Only parameters are coordinates (docs/torch.md, BatchNorm): BatchNorm running statistics
and `num_batches_tracked` are buffers and are never flattened, interpolated or moved.
Names, shapes, dtypes and the device are kept so the round trip is exact; the flat
vector has the promoted floating dtype of all parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Any

import torch
from torch import nn

from landscape.foundations.errors import LandscapeError

__all__ = ["ParamSpec", "param_spec", "flatten_parameters", "unflatten_parameters", "load_parameters"]


@dataclass(frozen=True)
class ParamSpec:
    """Layout of a module's parameters in one flat vector (in `named_parameters` order).

    Tied parameters appear once (PyTorch deduplicates them); `functional_call`
    re-ties them.  With `trainable_only`, frozen parameters are not coordinates and
    keep the module's own values.
    """

    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    dtypes: tuple[torch.dtype, ...]
    device: torch.device
    dtype: torch.dtype

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(prod(s) for s in self.shapes)

    @property
    def dim(self) -> int:
        return sum(self.sizes)

    def flatten(self, tensors: dict[str, torch.Tensor] | nn.Module) -> torch.Tensor:
        """One (dim,) vector from a module or a name -> tensor mapping (detached)."""
        source = dict(tensors.named_parameters()) if isinstance(tensors, nn.Module) else tensors
        missing = [n for n in self.names if n not in source]
        if missing:
            raise LandscapeError(f"parameter {missing[0]!r} is missing; the module does not match the layout")
        parts = [source[n].detach().reshape(-1).to(dtype=self.dtype, device=self.device) for n in self.names]
        return torch.cat(parts) if parts else torch.zeros(0, dtype=self.dtype, device=self.device)

    def unflatten(self, flat: torch.Tensor, cast: bool = True) -> dict[str, torch.Tensor]:
        """name -> tensor views of `flat` (..., dim); leading batch dimensions are kept.

        Works inside `torch.func.vmap` and keeps autograd links to `flat`.  With
        `cast`, each tensor gets its parameter's own dtype (a no-op when they agree).
        """
        if flat.shape[-1] != self.dim:
            raise LandscapeError(f"flat parameters have {flat.shape[-1]} entries, the module has {self.dim}")
        lead = tuple(flat.shape[:-1])
        out = {}
        for name, part, shape, dtype in zip(
            self.names, torch.split(flat, self.sizes, dim=-1), self.shapes, self.dtypes
        ):
            t = part.reshape(lead + shape)
            out[name] = t.to(dtype) if cast and t.dtype != dtype else t
        return out

    def describe(self) -> dict[str, Any]:
        return {
            "dim": self.dim,
            "dtype": str(self.dtype).replace("torch.", ""),
            "device": str(self.device),
            "tensors": len(self.names),
        }


def param_spec(module: nn.Module, trainable_only: bool = False) -> ParamSpec:
    """The flat layout of `module`'s parameters (buffers excluded by construction)."""
    named = [(n, p) for n, p in module.named_parameters() if p.requires_grad or not trainable_only]
    if not named:
        raise LandscapeError(f"{type(module).__name__} has no parameters to form coordinates")
    devices = {p.device for _, p in named}
    if len(devices) > 1:
        raise LandscapeError(
            f"parameters live on several devices ({', '.join(map(str, devices))}); move the module to one"
        )
    dtypes = tuple(p.dtype for _, p in named)
    if not all(d.is_floating_point for d in dtypes):
        raise LandscapeError("all parameters must be floating point to form path coordinates")
    dtype = dtypes[0]
    for d in dtypes[1:]:
        dtype = torch.promote_types(dtype, d)
    return ParamSpec(tuple(n for n, _ in named), tuple(tuple(p.shape) for _, p in named), dtypes, devices.pop(), dtype)


def flatten_parameters(module: nn.Module, spec: ParamSpec | None = None) -> torch.Tensor:
    """The module's parameters as one detached (dim,) vector on their device."""
    return (spec or param_spec(module)).flatten(module)


def unflatten_parameters(flat: torch.Tensor, spec: ParamSpec) -> dict[str, torch.Tensor]:
    """name -> tensor views of `flat` shaped as in `spec` (see `ParamSpec.unflatten`)."""
    return spec.unflatten(flat)


@torch.no_grad()
def load_parameters(module: nn.Module, flat: torch.Tensor, spec: ParamSpec | None = None) -> nn.Module:
    """Copy the flat vector into `module`'s parameters in place; buffers are untouched."""
    spec = spec or param_spec(module)
    if tuple(flat.shape) != (spec.dim,):
        raise LandscapeError(f"expected a flat vector of shape ({spec.dim},), got {tuple(flat.shape)}")
    params = dict(module.named_parameters())
    for name, value in spec.unflatten(flat.to(spec.device)).items():
        params[name].copy_(value)
    return module
