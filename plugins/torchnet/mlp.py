"""The generic small-network plugin: an MLP on a seeded synthetic 2D data set.

Training and connecting run in seconds on a CPU, so the whole network workflow
(train minima, AutoNEB between them, evaluate along the path, Hessian) can be tried
and tested without a GPU or downloads.  `build_mlp(minima=N)` trains N seeded minima
when the potential is built (cached per process and settings) and registers them as
"0", "1", ...; `landscape connect mlp --start 0 --end 1` then just works.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from landscape.foundations.errors import LandscapeError

from .matching import network_symmetry
from .models import make_mlp
from .potential import NetworkPotential
from .train import TrainConfig, train_minimum

__all__ = ["DATASETS", "make_dataset", "spirals", "blobs", "parse_hidden", "build_mlp"]

DATASETS = ("spirals", "blobs")


def spirals(
    n: int, noise: float, rng: np.random.Generator, classes: int = 2, turns: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """`classes` interleaved spiral arms in the plane, Gaussian noise of std `noise`."""
    y = np.arange(n) % classes
    r = rng.uniform(0.1, 1.0, n)
    angle = 2 * np.pi * turns * r + 2 * np.pi * y / classes
    x = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)
    return x + noise * rng.standard_normal(x.shape), y


def blobs(n: int, noise: float, rng: np.random.Generator, classes: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian blobs per class at random centres in [-1, 1]^2, std `noise`."""
    centres = rng.uniform(-1, 1, (2 * classes, 2))
    y = np.arange(n) % classes
    which = y + classes * rng.integers(0, 2, n)
    return centres[which] + noise * rng.standard_normal((n, 2)), y


def make_dataset(
    kind: str = "spirals", n_train: int = 512, n_test: int = 512, noise: float = 0.1, classes: int = 2, seed: int = 0
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Seeded (train, test) split of a synthetic 2D classification set, float32 inputs."""
    if kind not in DATASETS:
        raise LandscapeError(f"unknown data set {kind!r}; choose one of {', '.join(DATASETS)}")
    if n_train < 1 or n_test < 0 or classes < 2:
        raise LandscapeError("need n_train >= 1, n_test >= 0 and classes >= 2")
    rng = np.random.default_rng(seed)
    x, y = (spirals if kind == "spirals" else blobs)(n_train + n_test, noise, rng, classes)
    order = rng.permutation(x.shape[0])
    x, y = torch.as_tensor(x[order], dtype=torch.float32), torch.as_tensor(y[order], dtype=torch.long)
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])


def parse_hidden(hidden: str | int | tuple[int, ...]) -> tuple[int, ...]:
    """Hidden widths from "32,32", 32 or (32, 32)."""
    if isinstance(hidden, int):
        return (hidden,)
    if isinstance(hidden, tuple):
        return hidden
    try:
        widths = tuple(int(h) for h in str(hidden).replace("x", ",").split(",") if h.strip())
    except ValueError:
        raise LandscapeError(f"hidden widths are written like 32,32; got {hidden!r}") from None
    if not widths or min(widths) < 1:
        raise LandscapeError(f"hidden widths must be positive integers, got {hidden!r}")
    return widths


def _device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except RuntimeError:
        raise LandscapeError(f"unknown device {device!r}") from None


_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def build_mlp(
    hidden: str = "32,32",
    activation: str = "tanh",
    batchnorm: bool = False,
    dataset: str = "spirals",
    n_train: int = 512,
    n_test: int = 512,
    noise: float = 0.1,
    classes: int = 2,
    data_seed: int = 0,
    batch_size: int = 0,
    seed: int = 0,
    l2: float = 0.0,
    minima: int = 2,
    epochs: int = 400,
    lr: float = 0.01,
    optimizer: str = "adam",
    train_batch: int = 0,
    weight_decay: float = 0.0,
    train_seed: int = 0,
    dtype: str = "float32",
    device: str = "cpu",
    batched: str = "auto",
    chunk: int = 0,
    align: bool = False,
) -> NetworkPotential:
    """An MLP potential on a synthetic set, with `minima` trained minima "0", "1", ...

    batch_size / train_batch 0 mean full batch; minima k is trained with seed
    train_seed + k using `optimizer` (adam or sgd with momentum 0.9), cosine schedule.
    `align` declares the hidden-unit permutation symmetry (`matching`, weight matching).
    """
    if dtype not in _DTYPES:
        raise LandscapeError(f"dtype must be float32 or float64, got {dtype!r}")
    if minima < 0:
        raise LandscapeError(f"minima must be >= 0, got {minima}")
    widths = parse_hidden(hidden)
    dev, dt = _device(device), _DTYPES[dtype]
    train, test = make_dataset(dataset, n_train, n_test, noise, classes, data_seed)
    torch_module = make_mlp(2, widths, classes, activation, batchnorm).to(dev, dt)
    potential = NetworkPotential(
        torch_module,
        train,
        test_data=test,
        batch_size=batch_size or None,
        seed=seed,
        l2=l2,
        batched=batched,
        chunk=chunk or None,
        name="mlp",
    )
    config = TrainConfig(
        epochs=epochs,
        lr=lr,
        optimizer=optimizer,
        batch_size=train_batch or None,
        weight_decay=weight_decay,
        schedule="cosine",
    )
    key = (widths, activation, batchnorm, dataset, n_train, n_test, noise, classes, data_seed, config, dtype, str(dev))
    for k in range(minima):
        potential.add_minimum(str(k), _trained(key, train_seed + k, potential, config))
    if align:
        potential.symmetry = network_symmetry(potential)
    return potential


_CACHE: dict[tuple[Any, ...], torch.Tensor] = {}


def _trained(key: tuple[Any, ...], seed: int, potential: NetworkPotential, config: TrainConfig) -> torch.Tensor:
    """Trained flat parameters, computed once per process for these settings and seed."""
    full = key + (seed,)
    if full not in _CACHE:
        _CACHE[full] = train_minimum(potential, seed, config).params
    return _CACHE[full].clone()
