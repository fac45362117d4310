"""CIFAR data: torchvision's CIFAR-10/100 and the offline JPEG copy, held in memory.

Sources (`load_cifar`):
- "cifar10" / "cifar100": torchvision's datasets under a root folder (`download=True`
  fetches them where there is internet; torchvision checks every file's md5);
- a path to a `cifar10_jpeg.npz`-format file (../shared/data/README.md): per split
  `<split>_jpeg` (concatenated JPEG bytes), `<split>_offsets` (N+1) and
  `<split>_labels` (N), plus `classes`; decoded in batches with
  `torchvision.io.decode_jpeg` and optionally cached as a (N, 32, 32, 3) uint8 `.npy`.

`ImageData` keeps the uint8 images (N, H, W, C) and labels on one device, so on a GPU
drawing, augmenting (4-pixel zero-padded random crop and horizontal flip, He et al.
2016 section 4.2, as one gather) and normalising a batch are device ops with no host
round trip. Batches come out as float NCHW tensors; with `channels_last` they keep
the NHWC storage order, which is what channels_last convolutions want. `ImageData`
has `device`, `index_device`, `len` and `get(indices)`, the data-source protocol of
`landscape_plugins.torchnet.data`, so a network potential can draw its mini-batches
from it directly.
"""

from __future__ import annotations

import hashlib
import os
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import count
from pathlib import Path
from typing import Any

import numpy as np
import torch

from landscape.foundations.errors import LandscapeError

__all__ = [
    "CIFAR_STATS",
    "CIFAR10_CLASSES",
    "ImageData",
    "augment_batch",
    "subset_indices",
    "decode_jpegs",
    "read_npz",
    "load_npz",
    "load_torchvision",
    "load_cifar",
    "load_splits",
    "default_npz_path",
    "write_synthetic_npz",
]

# Per-channel mean and standard deviation of the training pixels (values in [0, 1]).
CIFAR_STATS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
_SPLITS = ("train", "test")
_SOURCES = "'cifar10', 'cifar100' (torchvision, with root=) or a path to a cifar10_jpeg.npz-format file"


def _check_split(split: str) -> str:
    if split not in _SPLITS:
        raise LandscapeError(f"unknown split {split!r}; choose 'train' or 'test'")
    return split


def _seed_stream(seed: int, stream: int) -> int:
    """A derived 63-bit seed, so that two generators seeded from one seed are unrelated."""
    digest = hashlib.blake2b(f"{int(seed)}:{stream}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def _generator(device: torch.device, seed: int) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(int(seed))


# --- augmentation ------------------------------------------------------------------------


def augment_batch(
    images: torch.Tensor,
    generator: torch.Generator | None = None,
    padding: int = 4,
    flip: bool = True,
    layout: str = "NHWC",
) -> torch.Tensor:
    """Random crop from the zero-padded image and random horizontal flip, per image.

    One gather does both: image b's output pixel (i, j) is the padded pixel
    (i + dy_b, j + dx_b), or (i + dy_b, W - 1 - j + dx_b) when flipped, with
    dy_b, dx_b uniform in 0..2*padding and a flip with probability 1/2. Works on any
    dtype (uint8 before normalising, or floats) on the images' device; `generator`
    must live there too. `layout` is "NHWC" or "NCHW"; the result has the same shape.
    """
    if layout not in ("NHWC", "NCHW"):
        raise LandscapeError(f"layout must be 'NHWC' or 'NCHW', got {layout!r}")
    x = images.permute(0, 2, 3, 1) if layout == "NCHW" else images
    b, h, w, _ = x.shape
    dev = x.device
    padded = x.new_zeros((b, h + 2 * padding, w + 2 * padding, x.shape[3]))
    padded[:, padding : padding + h, padding : padding + w] = x
    dy = torch.randint(0, 2 * padding + 1, (b, 1, 1), generator=generator, device=dev)
    dx = torch.randint(0, 2 * padding + 1, (b, 1, 1), generator=generator, device=dev)
    cols = torch.arange(w, device=dev).view(1, 1, w)
    if flip:
        flipped = torch.randint(0, 2, (b, 1, 1), generator=generator, device=dev).bool()
        cols = torch.where(flipped, w - 1 - cols, cols)
    rows = torch.arange(h, device=dev).view(1, h, 1) + dy
    out = padded[torch.arange(b, device=dev).view(b, 1, 1), rows, cols + dx]
    return out.permute(0, 3, 1, 2) if layout == "NCHW" else out


# --- subsets -------------------------------------------------------------------------------


def subset_indices(labels: Any, *, per_class: int | None = None, n: int | None = None, seed: int = 0) -> np.ndarray:
    """Sorted indices of a seeded subset: `per_class` images of every class, or `n`
    images drawn uniformly without replacement. The same labels and seed give the
    same subset, whether taken before decoding or from decoded data."""
    labels = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels).astype(np.int64)
    if n is not None and per_class is None:
        rng = np.random.Generator(np.random.PCG64(int(seed)))
        if not 1 <= n <= len(labels):
            raise LandscapeError(f"subset size n must be in 1..{len(labels)}, got {n}")
        return np.sort(rng.permutation(len(labels))[:n])
    if per_class is None or n is not None:
        raise LandscapeError("give exactly one of per_class and n for a subset")
    rng = np.random.Generator(np.random.PCG64(int(seed)))
    counts = np.bincount(labels)
    smallest = int(counts[counts > 0].min())
    if not 1 <= per_class <= smallest:
        raise LandscapeError(f"per_class must be in 1..{smallest} (the smallest class), got {per_class}")
    picks = [rng.permutation(np.flatnonzero(labels == c))[:per_class] for c in np.flatnonzero(counts)]
    return np.sort(np.concatenate(picks))


# --- the in-memory data set ----------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ImageData:
    """Uint8 images (N, H, W, C) and int64 labels (N,) on one device.

    `get(indices)` returns normalised float images (B, C, H, W) and labels, augmented
    when `augment` is set (then drawing from a stream seeded by `augment_seed`);
    `batches` iterates seeded shuffled mini-batches. `mean`/`std` are per channel in
    [0, 1] units. Build with `ImageData.create` or the loaders.
    """

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    name: str = ""
    dtype: torch.dtype = torch.float32
    channels_last: bool = False
    augment: bool = False
    augment_seed: int = 0

    @classmethod
    def create(
        cls,
        images: Any,
        labels: Any,
        *,
        classes: Sequence[str] = (),
        stats: str | None = "cifar10",
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        device: Any = "cpu",
        **options: Any,
    ) -> ImageData:
        """From uint8 images (N, H, W, C) and integer labels (arrays or tensors);
        normalisation from `stats` (a CIFAR_STATS key) unless `mean` and `std` are given."""
        x = torch.as_tensor(np.asarray(images) if not isinstance(images, torch.Tensor) else images)
        y = torch.as_tensor(np.asarray(labels) if not isinstance(labels, torch.Tensor) else labels).long()
        if x.dtype != torch.uint8 or x.ndim != 4 or y.shape != (x.shape[0],) or x.shape[0] == 0:
            raise LandscapeError(
                f"images must be uint8 (N, H, W, C) with N labels, N >= 1; got {x.dtype} "
                f"{tuple(x.shape)} and labels {tuple(y.shape)}"
            )
        if mean is None or std is None:
            if stats not in CIFAR_STATS:
                raise LandscapeError(
                    f"unknown normalisation {stats!r}; give mean and std, or stats one of {', '.join(CIFAR_STATS)}"
                )
            mean, std = CIFAR_STATS[stats]
        ncls = int(y.max()) + 1
        classes = tuple(classes) or tuple(str(c) for c in range(ncls))
        if int(y.min()) < 0 or ncls > len(classes):
            raise LandscapeError(
                f"labels must lie in 0..{len(classes) - 1} (one per class name), got {int(y.min())}..{ncls - 1}"
            )
        device = torch.device(device)
        return cls(x.to(device), y.to(device), classes, tuple(mean), tuple(std), **options)

    # data-source protocol
    @property
    def device(self) -> torch.device:
        return self.images.device

    @property
    def index_device(self) -> torch.device:
        return self.images.device

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def get(
        self, indices: Any, augment: bool | None = None, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised images (B, C, H, W) in `dtype` and labels (B,) at `indices`."""
        idx = torch.as_tensor(indices, device=self.device)
        x = self.images.index_select(0, idx)
        if self.augment if augment is None else augment:
            x = augment_batch(x, generator if generator is not None else self._own_generator())
        return self.normalise(x), self.labels.index_select(0, idx)

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 NHWC -> normalised float NCHW (channels_last storage if so configured)."""
        x = images.permute(0, 3, 1, 2).to(self.dtype)  # an NHWC buffer viewed as NCHW is channels_last
        scale, shift = self._affine(x.device)
        x = x * scale + shift
        return x.contiguous(memory_format=torch.channels_last if self.channels_last else torch.contiguous_format)

    def _affine(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """(x - 255 mean) / (255 std) as x * scale + shift, built once per device: creating
        them per batch would copy from the host, a sync on a GPU."""
        cache = self.__dict__.setdefault("_affine_cache", {})  # frozen dataclass: bypass setattr
        if device not in cache:
            std, mean = torch.tensor(self.std, dtype=torch.float64), torch.tensor(self.mean, dtype=torch.float64)
            scale, shift = 1.0 / (255.0 * std), -mean / std
            cache[device] = tuple(t.view(1, -1, 1, 1).to(device=device, dtype=self.dtype) for t in (scale, shift))
        return cache[device]

    def _own_generator(self) -> torch.Generator:
        gen = self.__dict__.get("_gen")
        if gen is None:  # lazily, one stream per object
            gen = _generator(self.device, _seed_stream(self.augment_seed, 1))
            self.__dict__["_gen"] = gen
        return gen

    def batches(
        self, batch_size: int, seed: int, augment: bool = False, *, epochs: int | None = 1, drop_last: bool = True
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Shuffled mini-batches (x, y) for `epochs` passes (None: endless).

        The permutation comes from a CPU generator (identical on every device) and is
        moved to the device once per epoch; augmentation draws from a generator on
        the device. Both are seeded by `seed`. `drop_last` skips the incomplete tail.
        """
        n = len(self)
        bs = min(int(batch_size), n)
        if bs < 1:
            raise LandscapeError(f"batch_size must be >= 1, got {batch_size}")
        perm_gen = torch.Generator().manual_seed(_seed_stream(seed, 0))
        aug_gen = _generator(self.device, _seed_stream(seed, 1)) if augment else None
        stop = n - n % bs if drop_last else n
        for _ in count() if epochs is None else range(epochs):
            perm = torch.randperm(n, generator=perm_gen)
            if self.device.type == "cuda":  # pinned, so the copy is truly asynchronous
                perm = perm.pin_memory()
            perm = perm.to(self.device, non_blocking=True)
            for start in range(0, stop, bs):
                yield self.get(perm[start : start + bs], augment, aug_gen)

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """All images normalised, without augmentation, and all labels."""
        return self.get(torch.arange(len(self), device=self.device), augment=False)

    def subset(self, *, per_class: int | None = None, n: int | None = None, seed: int = 0) -> ImageData:
        """A seeded subset (see `subset_indices`), on the same device."""
        return self.take(subset_indices(self.labels, per_class=per_class, n=n, seed=seed))

    def take(self, indices: Any) -> ImageData:
        """The images at `indices`, as a new data set."""
        idx = torch.as_tensor(np.asarray(indices), device=self.device).long()
        return replace(self, images=self.images.index_select(0, idx), labels=self.labels.index_select(0, idx))

    def to(self, device: Any) -> ImageData:
        """A copy on `device` (e.g. "cuda": the whole uint8 set lives on the GPU)."""
        device = torch.device(device)
        return replace(self, images=self.images.to(device), labels=self.labels.to(device))

    def with_options(self, **options: Any) -> ImageData:
        """The same data with other `dtype`, `channels_last`, `augment`, `augment_seed` or `name`."""
        try:
            return replace(self, **options)
        except TypeError as exc:
            raise LandscapeError(f"bad ImageData option: {exc}") from None

    def class_counts(self) -> np.ndarray:
        return np.bincount(self.labels.cpu().numpy(), minlength=self.num_classes)


# --- the .npz JPEG copy ----------------------------------------------------------------------


def decode_jpegs(
    jpeg: np.ndarray, offsets: np.ndarray, indices: Any = None, chunk: int = 4096, where: str = ""
) -> np.ndarray:
    """Decode images `indices` (default all) of concatenated JPEG bytes to uint8 (n, H, W, 3),
    `chunk` images per `torchvision.io.decode_jpeg` call (a list in, a list out)."""
    from torchvision.io import ImageReadMode, decode_jpeg

    idx = np.arange(len(offsets) - 1) if indices is None else np.asarray(indices, dtype=np.int64)
    buf = torch.from_numpy(jpeg)
    out: list[torch.Tensor] = []
    for start in range(0, len(idx), chunk):
        files = [buf[offsets[i] : offsets[i + 1]] for i in idx[start : start + chunk]]
        try:
            out.append(torch.stack(_decode(decode_jpeg, files, ImageReadMode.RGB)))
        except RuntimeError:
            raise LandscapeError(f"{where}{_first_bad(decode_jpeg, files, ImageReadMode.RGB, idx[start:])}") from None
    if not out:
        raise LandscapeError(f"{where}no images to decode")
    return torch.cat(out).permute(0, 2, 3, 1).contiguous().numpy()


def _decode(decode_jpeg: Any, files: list[torch.Tensor], mode: Any) -> list[torch.Tensor]:
    with warnings.catch_warnings():  # torchvision 0.29 flags its image I/O as deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        return decode_jpeg(files, mode=mode)


def _first_bad(decode_jpeg: Any, files: list[torch.Tensor], mode: Any, idx: np.ndarray) -> str:
    """Which image of a failed chunk is broken, and why (only on the error path)."""
    shape = None
    for i, f in zip(idx, files):
        try:
            img = _decode(decode_jpeg, [f], mode)[0]
        except RuntimeError as exc:  # torchvision prefixes "decode_jpeg, <file>:<line>, "
            return f"image {i} is not a decodable JPEG: {str(exc).splitlines()[-1].split(', ')[-1]}"
        if shape is not None and img.shape != shape:
            return f"image {i} decodes to {tuple(img.shape)}, unlike the others' {tuple(shape)}"
        shape = img.shape
    return "the JPEG images cannot be decoded"


def read_npz(path: str | os.PathLike, split: str) -> dict[str, np.ndarray]:
    """The raw arrays of one split of a cifar10_jpeg.npz-format file, checked for consistency."""
    _check_split(split)
    path = Path(path)
    if not path.is_file():
        raise LandscapeError(f"CIFAR file {path} not found")
    keys = (f"{split}_jpeg", f"{split}_offsets", f"{split}_labels")
    if not zipfile.is_zipfile(path):
        raise LandscapeError(f"{path} is not a .npz archive (a zip of arrays such as cifar10_jpeg.npz)")
    try:
        with np.load(path, allow_pickle=False) as z:
            if missing := [k for k in keys if k not in z.files]:
                raise LandscapeError(f"{path} lacks the arrays {', '.join(missing)} of the cifar10_jpeg.npz format")
            arrays = {k.split("_", 1)[1]: z[k] for k in keys}
            arrays["classes"] = z["classes"] if "classes" in z.files else np.array(CIFAR10_CLASSES)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise LandscapeError(f"cannot read {path} as a .npz archive: {str(exc).splitlines()[0]}") from None
    _check_arrays(arrays, f"{path} ({split})")
    return arrays


def _check_arrays(a: dict[str, np.ndarray], where: str) -> None:
    jpeg, off, lab = a["jpeg"], a["offsets"], a["labels"]
    if jpeg.dtype != np.uint8 or jpeg.ndim != 1:
        raise LandscapeError(f"{where}: the jpeg array must be 1-D uint8, got {jpeg.dtype} {jpeg.shape}")
    shapes_ok = off.ndim == 1 and lab.ndim == 1 and len(off) == len(lab) + 1 and len(lab) > 0
    if not shapes_ok or not np.issubdtype(off.dtype, np.integer):
        raise LandscapeError(f"{where}: need integer offsets (N+1,) and labels (N,), got {off.shape} and {lab.shape}")
    if off[0] != 0 or off[-1] != len(jpeg) or np.any(np.diff(off) <= 0):
        raise LandscapeError(f"{where}: offsets must rise from 0 to the length of the jpeg array ({len(jpeg)})")
    if lab.min() < 0 or lab.max() >= max(len(a["classes"]), 1):
        raise LandscapeError(f"{where}: labels must lie in 0..{len(a['classes']) - 1}")


def _cache_file(cache_dir: str | os.PathLike, path: Path, split: str) -> Path:
    """Keyed by the source's absolute path, size and modification time."""
    st = path.stat()
    key = hashlib.sha1(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]
    return Path(cache_dir) / f"{path.stem}-{split}-{key}.npy"


def _load_cached(file: Path, n: int) -> np.ndarray | None:
    try:
        images = np.load(file, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None  # absent or damaged: decode again
    return images if images.dtype == np.uint8 and images.ndim == 4 and images.shape[0] == n else None


def _save_cached(file: Path, images: np.ndarray) -> None:
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_name(f"{file.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:  # np.save(path) would append ".npy" to the temporary name
            np.save(fh, images)
        os.replace(tmp, file)  # atomic: concurrent readers never see half a file
    except OSError as exc:
        raise LandscapeError(f"cannot write the decoded-image cache {file}: {exc.strerror or exc}") from None


def load_npz(
    path: str | os.PathLike,
    split: str = "train",
    *,
    cache_dir: str | os.PathLike | None = None,
    per_class: int | None = None,
    n: int | None = None,
    seed: int = 0,
    device: Any = "cpu",
    **options: Any,
) -> ImageData:
    """One split of a cifar10_jpeg.npz-format file as `ImageData`.

    With `cache_dir` the whole split is decoded once and kept there as a uint8
    `.npy`; without it only the requested subset (`per_class` or `n`, by `seed`) is
    decoded. `options` go to `ImageData` (dtype, channels_last, augment, augment_seed).
    """
    path = Path(path)
    a = read_npz(path, split)
    sub = None if per_class is None and n is None else subset_indices(a["labels"], per_class=per_class, n=n, seed=seed)
    where = f"{path} ({split}): "
    if cache_dir is not None:
        file = _cache_file(cache_dir, path, split)
        images = _load_cached(file, len(a["labels"]))
        if images is None:
            images = decode_jpegs(a["jpeg"], a["offsets"], where=where)
            _save_cached(file, images)
        if sub is not None:
            images = images[sub]
    else:
        images = decode_jpegs(a["jpeg"], a["offsets"], sub, where=where)
    labels = a["labels"] if sub is None else a["labels"][sub]
    classes = tuple(str(c) for c in a["classes"])
    return ImageData.create(
        images,
        labels.astype(np.int64),
        classes=classes,
        stats="cifar10",
        device=device,
        name=f"{path.name}:{split}",
        **options,
    )


# --- torchvision ----------------------------------------------------------------------------


def load_torchvision(
    name: str = "cifar10",
    root: str | os.PathLike | None = None,
    split: str = "train",
    *,
    download: bool = False,
    per_class: int | None = None,
    n: int | None = None,
    seed: int = 0,
    device: Any = "cpu",
    **options: Any,
) -> ImageData:
    """CIFAR-10 or CIFAR-100 read by torchvision from `root` (downloaded there if asked)."""
    _check_split(split)
    if name not in CIFAR_STATS:
        raise LandscapeError(f"unknown torchvision dataset {name!r}; choose cifar10 or cifar100")
    if root is None:
        raise LandscapeError(f"{name} through torchvision needs a root folder (root=...)")
    try:
        from torchvision import datasets
    except ImportError:
        raise LandscapeError("torchvision is not installed; pip install 'landscape[torch]'") from None
    cls = datasets.CIFAR10 if name == "cifar10" else datasets.CIFAR100
    try:
        ds = cls(str(root), train=split == "train", download=download)
    except RuntimeError:  # torchvision's "Dataset not found or corrupted"
        hint = "" if download else "; pass download=True where there is internet, or use the offline .npz copy"
        raise LandscapeError(
            f"{name} not found or corrupted under {root} (torchvision checks the files' md5 sums){hint}"
        ) from None
    except OSError as exc:  # URLError is an OSError
        raise LandscapeError(f"cannot download or read {name} in {root}: {exc}") from None
    images, labels = np.asarray(ds.data), np.asarray(ds.targets, dtype=np.int64)
    if per_class is not None or n is not None:
        sub = subset_indices(labels, per_class=per_class, n=n, seed=seed)
        images, labels = images[sub], labels[sub]
    return ImageData.create(
        images, labels, classes=tuple(ds.classes), stats=name, device=device, name=f"{name}:{split}", **options
    )


# --- one entry point ------------------------------------------------------------------------


def default_npz_path() -> Path | None:
    """$LANDSCAPE_CIFAR_NPZ, else ../shared/data/cifar10_jpeg.npz beside the project, if present."""
    env = os.environ.get("LANDSCAPE_CIFAR_NPZ")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cifar10_jpeg.npz")
    return next((p for p in candidates if p.is_file()), None)


def load_cifar(
    source: str | os.PathLike,
    split: str = "train",
    *,
    root: str | os.PathLike | None = None,
    download: bool = False,
    cache_dir: str | os.PathLike | None = None,
    **kw: Any,
) -> ImageData:
    """A CIFAR split from `source`: "cifar10" or "cifar100" through torchvision (with
    `root`, `download`), or a path to a cifar10_jpeg.npz-format file (with `cache_dir`).
    Remaining keywords: per_class / n / seed (subset), device, dtype, channels_last, augment."""
    text = os.fspath(source)
    if text in CIFAR_STATS:
        if cache_dir is not None:
            raise LandscapeError("cache_dir applies to .npz files only; torchvision data is read directly")
        return load_torchvision(text, root, split, download=download, **kw)
    if text.endswith(".npz") or Path(text).is_file():
        if download:
            raise LandscapeError(f"download applies to 'cifar10'/'cifar100' only, not to the file {text}")
        return load_npz(text, split, cache_dir=cache_dir, **kw)
    raise LandscapeError(f"unknown dataset {text!r}; use {_SOURCES}")


def load_splits(source: str | os.PathLike, **kw: Any) -> tuple[ImageData, ImageData]:
    """(train, test) from one source; subset keywords apply to the training split only."""
    test_kw = {k: v for k, v in kw.items() if k not in ("per_class", "n", "seed", "augment", "augment_seed")}
    return load_cifar(source, "train", **kw), load_cifar(source, "test", **test_kw)


def write_synthetic_npz(
    path: str | os.PathLike, n_train: int = 40, n_test: int = 20, *, seed: int = 0, classes: int = 10
) -> Path:
    """A small synthetic data set in the cifar10_jpeg.npz layout: blocky random 32x32
    images (4x4 blocks of 8x8 pixels, so JPEG keeps them), label k % `classes` for
    image k, JPEG-encoded at quality 95.  For runs and tests where the real copy is absent;
    nothing about it resembles CIFAR but its format."""
    from torchvision.io import encode_jpeg

    if n_train < 1 or n_test < 1 or classes < 1:
        raise LandscapeError(
            f"a synthetic data set needs n_train, n_test, classes >= 1, got {n_train}, {n_test}, {classes}"
        )
    rng = np.random.default_rng(seed)

    def encode(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        coarse = rng.integers(0, 256, (n, 4, 4, 3)).astype(np.float64)
        images = np.kron(coarse, np.ones((1, 8, 8, 1))).astype(np.uint8)
        with warnings.catch_warnings():  # torchvision 0.29 flags its image I/O as deprecated
            warnings.simplefilter("ignore", DeprecationWarning)
            files = [
                encode_jpeg(torch.from_numpy(im).permute(2, 0, 1).contiguous(), quality=95).numpy() for im in images
            ]
        offsets = np.concatenate([[0], np.cumsum([len(f) for f in files])]).astype(np.int64)
        return np.concatenate(files), offsets, (np.arange(n) % classes).astype(np.uint8)

    tj, to, tl = encode(n_train)
    ej, eo, el = encode(n_test)
    path = Path(path)
    np.savez(
        path,
        train_jpeg=tj,
        train_offsets=to,
        train_labels=tl,
        test_jpeg=ej,
        test_offsets=eo,
        test_labels=el,
        classes=np.array([f"c{k}" for k in range(classes)]),
    )
    return path
