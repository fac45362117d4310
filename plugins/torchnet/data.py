"""Data sources and the seeded mini-batch sampler of network potentials.

A data source has a length and `get(indices) -> (inputs, targets)` on the compute
device.  `TensorData` keeps everything on the device, so drawing a batch is an index
operation there; `DatasetData` wraps any map-style `torch.utils.data.Dataset`
(augmentation included) and collates on the host.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

import torch

from landscape.foundations.errors import LandscapeError

__all__ = ["DataSource", "TensorData", "DatasetData", "as_data", "BatchSampler", "calibration_batches"]


@runtime_checkable
class DataSource(Protocol):
    """What a network potential needs from its data."""

    device: torch.device
    index_device: torch.device

    def __len__(self) -> int: ...

    def get(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...


class TensorData:
    """Inputs (n, ...) and targets (n, ...) held as tensors on one device."""

    def __init__(self, inputs: Any, targets: Any, device: Any = None):
        inputs, targets = torch.as_tensor(inputs), torch.as_tensor(targets)
        if inputs.shape[0] != targets.shape[0] or inputs.shape[0] == 0:
            raise LandscapeError(
                f"inputs ({inputs.shape[0]}) and targets ({targets.shape[0]}) must be equally many, at least one"
            )
        device = torch.device(device) if device is not None else inputs.device
        self.inputs, self.targets = inputs.to(device), targets.to(device)
        self.device = self.index_device = device

    def __len__(self) -> int:
        return int(self.inputs.shape[0])

    def get(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.inputs.index_select(0, indices), self.targets.index_select(0, indices)

    def all(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.inputs, self.targets

    def to(self, device: Any, dtype: torch.dtype | None = None) -> TensorData:
        """A copy on `device`; floating inputs cast to `dtype` when given."""
        x = self.inputs.to(dtype) if dtype is not None and self.inputs.is_floating_point() else self.inputs
        return TensorData(x, self.targets, device)


class DatasetData:
    """A map-style torch Dataset of (input, target) items, collated on the host."""

    def __init__(self, dataset: Any, device: Any = "cpu"):
        self.dataset = dataset
        self.device = torch.device(device)
        self.index_device = torch.device("cpu")

    def __len__(self) -> int:
        return len(self.dataset)

    def get(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        items = [self.dataset[i] for i in indices.tolist()]
        x = torch.stack([torch.as_tensor(a) for a, _ in items])
        y = torch.stack([torch.as_tensor(b) for _, b in items])
        return x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)


def as_data(data: Any, device: Any, dtype: torch.dtype | None = None) -> Any:
    """A data source from (inputs, targets), a Dataset or an existing source."""
    if data is None:
        return None
    if isinstance(data, TensorData):
        return (
            data
            if data.device == torch.device(device) and dtype in (None, data.inputs.dtype)
            else data.to(device, dtype)
        )
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return TensorData(*data).to(device, dtype)
    if isinstance(data, DataSource):
        return data
    if hasattr(data, "__getitem__") and hasattr(data, "__len__"):
        return DatasetData(data, device)
    raise LandscapeError(f"cannot use a {type(data).__name__} as data; give (inputs, targets) or a Dataset")


class BatchSampler:
    """Seeded mini-batches: a fresh permutation per epoch, batches of `batch_size`.

    Without a batch size (or one covering the data) every batch is the full data set
    and nothing is random.  Permutations come from a CPU generator (the same stream
    on every device) and are moved to the data's index device once per epoch, so
    drawing a batch never synchronises with the host.
    """

    def __init__(self, n: int, batch_size: int | None, seed: int, device: Any = "cpu"):
        self.n = int(n)
        self.full = batch_size is None or batch_size <= 0 or batch_size >= self.n
        self.batch_size = self.n if self.full else int(batch_size)  # type: ignore[arg-type]
        self.seed = int(seed)
        self.device = torch.device(device)
        self.reset()

    def reset(self) -> None:
        """Back to the first batch of the seeded stream."""
        self._gen = torch.Generator().manual_seed(self.seed)
        self._perm: torch.Tensor | None = None
        self._pos = self.n
        self.drawn = 0
        self._all = torch.arange(self.n, device=self.device)

    def next(self) -> torch.Tensor:
        """Indices (batch_size,) of the next batch on the index device."""
        self.drawn += 1
        if self.full:
            return self._all
        perm = self._perm  # None until the first batch, when `_pos` is n: a permutation is drawn
        if perm is None or self._pos + self.batch_size > self.n:  # drop the incomplete tail, as drop_last does
            perm = self._perm = torch.randperm(self.n, generator=self._gen).to(self.device, non_blocking=True)
            self._pos = 0
        idx = perm[self._pos : self._pos + self.batch_size]
        self._pos += self.batch_size
        return idx

    def seek(self, drawn: int) -> None:
        """Back to where `drawn` batches had been drawn, 0 the start (a checkpoint's
        position; cheap and exact: the seeded index stream replayed)."""
        n = _position(drawn, least=0)
        self.reset()
        for _ in range(n):
            self.next()

    def replay(self, drawn: int) -> torch.Tensor:
        """`seek(drawn)` for a position after at least one batch: the indices of the last."""
        self.seek(_position(drawn, least=1) - 1)
        return self.next()

    def epoch(self) -> Iterator[torch.Tensor]:
        """The batches of one pass over the data (for training loops)."""
        for _ in range(max(1, self.n // self.batch_size)):
            yield self.next()


def _position(drawn: Any, least: int) -> int:
    """A checkpoint's count of batches drawn, at least `least`; a one-line error else."""
    if isinstance(drawn, bool) or not isinstance(drawn, numbers.Integral) or drawn < least:
        raise LandscapeError(f"bad sampler checkpoint: {drawn!r} batches drawn")
    return int(drawn)


def calibration_batches(data: Any, size: int, batch_size: int, seed: int) -> list[torch.Tensor]:
    """Inputs of a fixed seeded calibration set, split into batches (BatchNorm statistics).

    The same `seed` always gives the same samples in the same order, so every
    evaluated point gets its running statistics from identical data.
    """
    n = len(data)
    size = n if size <= 0 else min(int(size), n)
    gen = torch.Generator().manual_seed(int(seed))
    idx = torch.randperm(n, generator=gen)[:size].to(data.index_device)
    bs = max(1, min(int(batch_size), size))
    return [data.get(idx[i : i + bs])[0] for i in range(0, size, bs)]
