"""The `cifar` potential: a CIFAR ResNet or DenseNet's loss as a `NetworkPotential`.

`build_cifar(model=..., data=..., ...)` loads the images (the offline JPEG copy by
default, or torchvision's CIFAR-10/100 under `root`), optionally a seeded subset,
builds the model by name and returns a `CifarPotential`:

- energies and gradients come from *un-augmented* training images, on seeded
  mini-batches of `batch_size` (default: the paper's 512 for ResNet-20/32, else 256);
- `training_source(seed)` gives the augmented stream (4-pixel padded crop and
  horizontal flip) that `landscape train` uses for the training batches, with its own
  seeded, checkpointable generator; the learning curves use the un-augmented data;
- `training_config()` is the original paper's recipe (`recipes.training_recipe`) at the
  length Draxler et al. trained: 136 epochs for ResNets, 266 for DenseNets;
- `bf16` runs the network under bfloat16 autocast (outputs and losses in float32);
  `channels_last` stores images and convolution weights NHWC (GPU tensor cores);
  `compile` puts the band's loss evaluation and the training step through
  `torch.compile` (`torchnet.speed.Speed`; eager again, with one warning line, where
  compiling fails);
- `describe()` carries the options, so `load_potential("cifar", desc["options"])`
  rebuilds the same potential (the store of `landscape train` records them).

No minima are trained at build time: `landscape train cifar --minima N --out FILE` does it.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from landscape.foundations.errors import LandscapeError
from landscape.foundations.values import check_seed
from landscape_plugins.torchnet.potential import NetworkPotential
from landscape_plugins.torchnet.speed import Speed
from landscape_plugins.torchnet.train import TrainConfig

from .data import ImageData, default_npz_path, load_cifar
from .models import build_model, parse_model_name
from .recipes import paper_batch_size, training_recipe

__all__ = [
    "PAPER_EPOCHS",
    "Autocast",
    "AugmentedSource",
    "CifarPotential",
    "build_cifar",
    "resolve_device",
    "device_name",
    "clear_data_cache",
]

#: Training epochs of Draxler et al. 2018, Table 1.
PAPER_EPOCHS = {"resnet": 136, "densenet": 266}
_BATCHED = ("auto", "vmap", "loop")
_CACHE_SIZE = 4
_DATA_CACHE: OrderedDict[tuple[Any, ...], ImageData] = OrderedDict()


class Autocast(nn.Module):
    """Runs `net` under autocast (bfloat16 by default) and returns float32 outputs,
    so losses and their reductions stay in float32."""

    def __init__(self, net: nn.Module, dtype: torch.dtype = torch.bfloat16):
        super().__init__()
        self.net = net
        self.dtype = dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=x.device.type, dtype=self.dtype):
            out = self.net(x)
        return out.float()


class AugmentedSource:
    """Augmented training batches of `data` with a seeded generator of their own.

    A data source for `train_minimum(train_source=...)`; `state_dict` and
    `load_state_dict` checkpoint the generator, so a resumed run draws the same crops
    and flips.
    """

    def __init__(self, data: ImageData, seed: int):
        self.data = data
        self.device = data.device
        self.index_device = data.index_device
        self.generator = torch.Generator(device=data.device).manual_seed(int(seed))

    def __len__(self) -> int:
        return len(self.data)

    def get(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.data.get(indices, augment=True, generator=self.generator)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: Mapping[str, torch.Tensor]) -> None:
        self.generator.set_state(state["generator"])


class CifarPotential(NetworkPotential):
    """A `NetworkPotential` over CIFAR images that knows its options, its training recipe
    and its augmented training stream (see the module docstring)."""

    def __init__(
        self,
        module: nn.Module,
        train: ImageData,
        test: ImageData,
        *,
        options: Mapping[str, Any],
        model: str,
        augment: bool = True,
        **kw: Any,
    ):
        super().__init__(module, train, test_data=test, name="cifar", **kw)
        self.options = dict(options)
        self.model = model
        self.augment = bool(augment)

    def training_config(self) -> TrainConfig:
        """The original recipe of the model family at Draxler et al.'s training length."""
        recipe = training_recipe(self.model)
        recipe = recipe.scaled(epochs=PAPER_EPOCHS[parse_model_name(self.model).family])
        return TrainConfig(**recipe.to_config())

    def training_source(self, seed: int) -> AugmentedSource | None:
        """The augmented training stream of minimum `seed` (None without augmentation)."""
        return AugmentedSource(self.train_data, seed) if self.augment else None

    def describe(self) -> dict[str, Any]:
        data = {"train": self.train_data.name, "test": self.test_data.name, "classes": self.train_data.num_classes}
        return {**super().describe(), "model": self.model, "options": dict(self.options), "data": data}


def resolve_device(device: str) -> torch.device:
    """ "auto" (CUDA when available), "cpu", "cuda" or "cuda:N"."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise LandscapeError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise LandscapeError(f"device {device!r} asked for, but CUDA is not available here")
    return dev


def device_name(device: torch.device | str) -> str:
    """The accelerator's name ("NVIDIA H200"), or the processor's for a CPU, for reports."""
    dev = torch.device(device)
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    import platform

    return platform.processor() or platform.machine() or "cpu"


def clear_data_cache() -> None:
    """Forget the decoded data sets kept by `build_cifar` in this process."""
    _DATA_CACHE.clear()


def _source(data: str) -> str:
    if data:
        return data if data in ("cifar10", "cifar100") else os.path.abspath(os.path.expanduser(data))
    found = default_npz_path()
    if found is None:
        raise LandscapeError(
            "no CIFAR data: give -o data=PATH/cifar10_jpeg.npz (or data=cifar10 with -o root=DIR), "
            "or set LANDSCAPE_CIFAR_NPZ"
        )
    return str(found)


def _load(
    source: str,
    split: str,
    n: int,
    seed: int,
    device: torch.device,
    root: str,
    download: bool,
    cache_dir: str,
    channels_last: bool,
    classes: int = 0,
) -> ImageData:
    """One split, cached per process (several commands and rebuilds reuse the decode).
    With `classes`, the subset of `n` takes n / classes images of every class."""
    key = (source, split, n, seed, str(device), root, cache_dir, channels_last, classes)
    if key not in _DATA_CACHE:
        kw: dict[str, Any] = {"device": device, "channels_last": channels_last}
        if n and classes:
            kw.update(per_class=n // classes, seed=seed)
        elif n:
            kw.update(n=n, seed=seed)
        if source in ("cifar10", "cifar100"):
            kw.update(root=root or None, download=download)
        elif cache_dir:
            kw["cache_dir"] = cache_dir
        _DATA_CACHE[key] = load_cifar(source, split, **kw)
        while len(_DATA_CACHE) > _CACHE_SIZE:
            _DATA_CACHE.popitem(last=False)
    _DATA_CACHE.move_to_end(key)
    return _DATA_CACHE[key]


def _check(model: str, batched: str, n_train: int, n_test: int, batch_size: int, chunk: int, l2: float) -> None:
    parse_model_name(model)  # one-line error for a bad name
    if batched not in _BATCHED:
        raise LandscapeError(f"batched must be one of {', '.join(_BATCHED)}, got {batched!r}")
    for name, value in (("n_train", n_train), ("n_test", n_test), ("batch_size", batch_size), ("chunk", chunk)):
        if value < 0:
            raise LandscapeError(f"{name} must be >= 0 (0: all / default), got {value}")
    if l2 < 0:
        raise LandscapeError(f"l2 must be >= 0, got {l2}")


def build_cifar(
    model: str = "resnet20",
    data: str = "",
    root: str = "",
    download: bool = False,
    n_train: int = 0,
    n_test: int = 0,
    subset_seed: int = 0,
    batch_size: int = 0,
    seed: int = 0,
    l2: float = 0.0,
    augment: bool = True,
    device: str = "auto",
    bf16: bool = False,
    channels_last: bool = False,
    compile: str = "",
    compile_backend: str = "inductor",
    batched: str = "auto",
    chunk: int = 0,
    calibration_size: int = 2048,
    calibration_batch: int = 256,
    cache_dir: str = "",
    balanced: bool = False,
    align: bool = False,
) -> CifarPotential:
    """The loss of CIFAR model `model` on `data` (see the module docstring; options as
    listed by `landscape plugins`)."""
    for name, value in (("seed", seed), ("subset_seed", subset_seed)):
        check_seed(value, name)  # before any data is read; torch's generators overflow past 2**63
    options = dict(
        model=model,
        data=data,
        root=root,
        download=download,
        n_train=n_train,
        n_test=n_test,
        subset_seed=subset_seed,
        batch_size=batch_size,
        seed=seed,
        l2=l2,
        augment=augment,
        device=device,
        bf16=bf16,
        channels_last=channels_last,
        batched=batched,
        chunk=chunk,
        calibration_size=calibration_size,
        calibration_batch=calibration_batch,
        cache_dir=cache_dir,
    )
    if balanced:  # recorded only when set, so stores made before the option keep their identity
        options["balanced"] = True
    if align:
        options["align"] = True
    if compile:  # recorded only when set, as `balanced`
        options["compile"] = compile
    if compile_backend != "inductor":
        options["compile_backend"] = compile_backend
    # one line for a bad mode; without compile the plain code, bit for bit
    speed = Speed(compile=compile, compile_backend=compile_backend) if compile else Speed()
    _check(model, batched, n_train, n_test, batch_size, chunk, l2)
    dev = resolve_device(device)
    source = _source(data)
    classes = 100 if source == "cifar100" else 10
    for name, n in (("n_train", n_train), ("n_test", n_test)):
        if balanced and n % classes:
            raise LandscapeError(f"a balanced subset needs {name} divisible by {classes} classes, got {n}")
    load = {
        "root": root,
        "download": download,
        "cache_dir": cache_dir,
        "channels_last": channels_last,
        "classes": classes if balanced else 0,
    }
    train = _load(source, "train", n_train, subset_seed, dev, **load)
    test = _load(source, "test", n_test, subset_seed, dev, **load)
    net: nn.Module = build_model(model, num_classes=train.num_classes).to(dev)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    if bf16:
        net = Autocast(net)
    potential = CifarPotential(
        net,
        train,
        test,
        options=options,
        model=model,
        augment=augment,
        batch_size=batch_size or paper_batch_size(model),
        seed=seed,
        l2=l2,
        batched=batched,
        chunk=chunk or None,
        calibration_size=calibration_size,
        calibration_batch=calibration_batch,
        speed=speed,
    )
    if align:  # channels permuted through residual streams and BatchNorm (weight matching)
        from landscape_plugins.torchnet.matching import network_symmetry

        potential.symmetry = network_symmetry(potential)
    return potential
