"""How a network runs, not what it computes: autocast, channels-last, torch.compile.

`Speed` gathers the options that change only the speed of training and of a band's
loss evaluation (and the last bits of the numbers, for autocast): all off by default,
and the default changes nothing, not one bit.

- `autocast="bfloat16"` (or "float16"): the network's forward under `torch.autocast`,
  its outputs cast back to float32, so losses and their sums stay float32.  Works on
  CPUs too (bfloat16), slower there; on recent GPUs it feeds the tensor cores.
- `channels_last=True`: 4-D inputs (and, where the caller owns the module, 4-D
  weights) in NHWC storage, what cuDNN's fastest convolutions want.
- `compile="default"` (or "reduce-overhead": CUDA graphs; "max-autotune"): the fixed-
  shape step function through `torch.compile` with `compile_backend`.  When compiling
  is unavailable or fails, `compiled` says so in one warning line and runs the plain
  function from then on.

>>> Speed().is_default, Speed(autocast="bfloat16").describe()
(True, {'autocast': 'bfloat16'})
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from typing import Any

import torch

from landscape import LandscapeError

__all__ = ["AUTOCAST_DTYPES", "COMPILE_MODES", "CompileFallbackWarning", "Speed", "compiled"]

AUTOCAST_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune")


class CompileFallbackWarning(RuntimeWarning):
    """torch.compile failed or is unavailable; the plain (eager) function runs instead."""


@dataclass(frozen=True)
class Speed:
    """Speed options of training and of `NetworkPotential` (see the module docstring)."""

    autocast: str | None = None
    channels_last: bool = False
    compile: str | None = None
    compile_backend: str = "inductor"

    def __post_init__(self) -> None:
        if self.autocast is not None and self.autocast not in AUTOCAST_DTYPES:
            raise LandscapeError(f"autocast must be one of {', '.join(AUTOCAST_DTYPES)} or None, got {self.autocast!r}")
        if self.compile is not None and self.compile not in COMPILE_MODES:
            raise LandscapeError(f"compile must be one of {', '.join(COMPILE_MODES)} or None, got {self.compile!r}")

    @property
    def is_default(self) -> bool:
        return self == Speed()

    def describe(self) -> dict[str, Any]:
        """The options that differ from the default (empty for the default)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != f.default}

    @contextlib.contextmanager
    def autocasting(self, device: torch.device) -> Iterator[None]:
        """`torch.autocast` on `device` with the chosen dtype, or nothing."""
        if self.autocast is None:
            yield
            return
        with torch.autocast(device_type=device.type, dtype=AUTOCAST_DTYPES[self.autocast]):
            yield

    def run(self, fn: Callable[..., torch.Tensor], *args: Any) -> torch.Tensor:
        """`fn(*args)` under autocast with float32 outputs; the inputs in channels-last."""
        args = tuple(self.layout(a) for a in args)
        if self.autocast is None:
            return fn(*args)
        device = next(a.device for a in args if isinstance(a, torch.Tensor))
        with self.autocasting(device):
            out = fn(*args)
        return out.float()

    def layout(self, x: Any) -> Any:
        """A 4-D tensor in channels-last storage when asked for; anything else as it is."""
        if self.channels_last and isinstance(x, torch.Tensor) and x.dim() == 4:
            return x.contiguous(memory_format=torch.channels_last)
        return x

    def prepare(self, module: torch.nn.Module) -> torch.nn.Module:
        """`module` with its 4-D weights in channels-last storage when asked for (in place)."""
        return module.to(memory_format=torch.channels_last) if self.channels_last else module


def compiled(fn: Callable[..., Any], speed: Speed | None, name: str) -> Callable[..., Any]:
    """`fn` through `torch.compile` when `speed.compile` asks for it, else `fn` itself.

    Compilation happens at the first call; if `torch.compile` is missing or raises
    there (or at any later recompilation), one `CompileFallbackWarning` line names
    `name` and the reason, and `fn` runs eagerly from then on.  A failure that happens
    after the compiled code has started to run (it has not been seen) would repeat
    the call's side effects.
    """
    if speed is None or speed.compile is None:
        return fn
    state: dict[str, Any] = {"fn": None}
    try:
        state["fn"] = torch.compile(fn, mode=speed.compile, backend=speed.compile_backend)
    except Exception as exc:  # noqa: BLE001 - any failure to compile means: run eagerly
        _fallback(name, exc)
        return fn

    def call(*args: Any, **kwargs: Any) -> Any:
        if state["fn"] is None:
            return fn(*args, **kwargs)
        try:
            return state["fn"](*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - see the docstring
            _fallback(name, exc)
            state["fn"] = None
            return fn(*args, **kwargs)

    return call


def _fallback(name: str, exc: BaseException) -> None:
    reason = (str(exc).strip().splitlines() or [""])[0][:200]
    # Line 0 of this file: the printed warning is this one line, with no source line after it.
    warnings.warn_explicit(
        f"torch.compile of {name} failed ({type(exc).__name__}: {reason}); running it eagerly",
        CompileFallbackWarning,
        __file__,
        0,
    )
