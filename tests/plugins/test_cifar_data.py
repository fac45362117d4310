"""CIFAR data: the JPEG .npz copy, torchvision's format, augmentation, subsets, batches, errors."""

from __future__ import annotations

import hashlib
import pickle
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

from landscape import LandscapeError  # noqa: E402
from landscape_plugins.cifar import data as cdata  # noqa: E402
from landscape_plugins.cifar.data import (  # noqa: E402
    CIFAR_STATS,
    ImageData,
    augment_batch,
    default_npz_path,
    load_cifar,
    load_npz,
    load_splits,
    read_npz,
    subset_indices,
)

REAL = default_npz_path()


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small batches run fastest on one thread on a shared 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _images(n: int, seed: int) -> np.ndarray:
    """Blocky random uint8 images (n, 32, 32, 3): JPEG keeps them close on average."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (n, 4, 4, 3)).astype(np.float64)
    return np.kron(coarse, np.ones((1, 8, 8, 1))).astype(np.uint8)


def _encode(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        files = [
            torchvision.io.encode_jpeg(torch.from_numpy(im).permute(2, 0, 1).contiguous(), quality=98).numpy()
            for im in images
        ]
    offsets = np.concatenate([[0], np.cumsum([len(f) for f in files])]).astype(np.int64)
    return np.concatenate(files), offsets


def _write_npz(path, train: np.ndarray, y_train, test: np.ndarray, y_test, **override) -> None:
    tj, to = _encode(train)
    ej, eo = _encode(test)
    arrays = dict(
        train_jpeg=tj,
        train_offsets=to,
        train_labels=np.asarray(y_train, np.uint8),
        test_jpeg=ej,
        test_offsets=eo,
        test_labels=np.asarray(y_test, np.uint8),
        classes=np.array(["c0", "c1", "c2"]),
    )
    arrays.update(override)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})


@pytest.fixture(scope="module")
def tiny_npz(tmp_path_factory):
    path = tmp_path_factory.mktemp("npz") / "tiny.npz"
    train, test = _images(12, 0), _images(6, 1)
    _write_npz(path, train, np.arange(12) % 3, test, np.arange(6) % 3)
    return path, train, test


def test_the_npz_format_is_read_and_decoded(tiny_npz):
    path, train, test = tiny_npz
    tr = load_cifar(path, "train")
    te = load_cifar(str(path), "test")
    assert tr.images.shape == (12, 32, 32, 3) and tr.images.dtype == torch.uint8 and len(te) == 6
    assert tr.classes == ("c0", "c1", "c2") and tr.labels.tolist() == (np.arange(12) % 3).tolist()
    for decoded, original in ((tr.images.numpy(), train), (te.images.numpy(), test)):
        # JPEG is lossy (chroma subsampling blurs colour edges): each image is still
        # closest to its own original, and close on average
        dist = np.abs(decoded[:, None].astype(int) - original[None].astype(int)).mean((2, 3, 4))
        assert np.array_equal(dist.argmin(1), np.arange(len(original))) and dist.diagonal().max() < 12
    assert tr.mean == CIFAR_STATS["cifar10"][0]
    a, b = load_splits(path, per_class=2, seed=5)
    assert len(a) == 6 and len(b) == 6 and a.class_counts().tolist() == [2, 2, 2]


def test_subsets_are_seeded_and_the_same_before_and_after_decoding(tiny_npz, tmp_path, monkeypatch):
    path, _, _ = tiny_npz
    a = load_npz(path, per_class=2, seed=3)
    b = load_npz(path, per_class=2, seed=3)
    c = load_npz(path, per_class=2, seed=4)
    assert torch.equal(a.images, b.images) and not torch.equal(a.images, c.images)
    full = load_npz(path)
    assert torch.equal(full.subset(per_class=2, seed=3).images, a.images)
    cached = load_npz(path, per_class=2, seed=3, cache_dir=tmp_path / "cache")
    assert torch.equal(cached.images, a.images) and len(list((tmp_path / "cache").glob("tiny-train-*.npy"))) == 1

    def no_decoding(*args, **kw):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(cdata, "decode_jpegs", no_decoding)
    again = load_npz(path, cache_dir=tmp_path / "cache")
    assert torch.equal(again.images, full.images)
    assert len(load_npz(path, n=5, seed=1, cache_dir=tmp_path / "cache")) == 5


def test_subset_indices_rules():
    labels = np.repeat(np.arange(4), 10)
    idx = subset_indices(labels, per_class=3, seed=0)
    assert np.bincount(labels[idx]).tolist() == [3] * 4 and np.all(np.diff(idx) > 0)
    assert np.array_equal(idx, subset_indices(torch.as_tensor(labels), per_class=3, seed=0))
    assert not np.array_equal(idx, subset_indices(labels, per_class=3, seed=1))
    assert len(subset_indices(labels, n=7, seed=2)) == 7
    for bad in (dict(), dict(n=3, per_class=1), dict(n=0), dict(n=41), dict(per_class=11)):
        with pytest.raises(LandscapeError):
            subset_indices(labels, **bad)


def _distinct_image() -> torch.Tensor:
    """One image (1, 32, 32, 3) whose every value is distinct and nonzero."""
    return torch.arange(1, 32 * 32 * 3 + 1, dtype=torch.int64).view(1, 32, 32, 3)


def _match(out: torch.Tensor, image: torch.Tensor) -> tuple[int, int, bool] | None:
    padded = torch.zeros(40, 40, 3, dtype=image.dtype)
    padded[4:36, 4:36] = image[0]
    for dy in range(9):
        for dx in range(9):
            crop = padded[dy : dy + 32, dx : dx + 32]
            for flip in (False, True):
                if torch.equal(out, crop.flip(1) if flip else crop):
                    return dy, dx, flip
    return None


def test_augmentation_is_a_padded_crop_and_flip_and_seeded():
    image = _distinct_image()
    batch = image.expand(64, -1, -1, -1)
    out = augment_batch(batch, torch.Generator().manual_seed(0))
    assert out.shape == batch.shape and out.dtype == batch.dtype
    found = [_match(o, image) for o in out]
    assert all(f is not None for f in found)
    assert {f[2] for f in found} == {False, True}  # both flips occur
    assert len({f[:2] for f in found}) > 20  # many offsets occur
    again = augment_batch(batch, torch.Generator().manual_seed(0))
    other = augment_batch(batch, torch.Generator().manual_seed(1))
    assert torch.equal(out, again) and not torch.equal(out, other)
    nchw = augment_batch(batch.permute(0, 3, 1, 2).float(), torch.Generator().manual_seed(0), layout="NCHW")
    assert torch.equal(nchw.permute(0, 2, 3, 1), out.float())
    plain = augment_batch(batch, torch.Generator().manual_seed(0), padding=0, flip=False)
    assert torch.equal(plain, batch)


def _synthetic(n: int = 20) -> ImageData:
    images = torch.from_numpy(_images(n, 7))
    return ImageData.create(images, torch.arange(n) % 4, classes=("a", "b", "c", "d"))


def test_batches_are_seeded_cover_the_data_and_normalise():
    data = _synthetic(20)
    first = list(data.batches(6, seed=3))
    assert len(first) == 3 and all(x.shape == (6, 3, 32, 32) and y.shape == (6,) for x, y in first)
    second = list(data.batches(6, seed=3))
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(first, second))
    assert not torch.equal(first[0][0], next(data.batches(6, seed=4))[0])
    everything = list(data.batches(6, seed=3, drop_last=False))
    assert sum(len(y) for _, y in everything) == 20
    x_all, y_all = data.tensors()
    keys = {tuple(x.flatten()[:8].tolist()) for xb, _ in everything for x in xb}
    assert keys == {tuple(x.flatten()[:8].tolist()) for x in x_all}  # a permutation of the data
    mean, std = torch.tensor(data.mean).view(1, 3, 1, 1), torch.tensor(data.std).view(1, 3, 1, 1)
    expected = (data.images.permute(0, 3, 1, 2).float() / 255 - mean) / std
    assert torch.allclose(x_all, expected, atol=1e-5) and torch.equal(y_all, data.labels)
    aug = list(data.batches(6, seed=3, augment=True, epochs=2))
    assert len(aug) == 6 and torch.equal(aug[0][1], first[0][1]) and not torch.equal(aug[0][0], first[0][0])
    assert all(torch.equal(a[0], b[0]) for a, b in zip(aug, data.batches(6, seed=3, augment=True, epochs=2)))


def test_data_source_options_channels_last_bf16_and_own_augmentation():
    data = _synthetic(8).with_options(dtype=torch.bfloat16, channels_last=True)
    x, y = data.get(torch.tensor([0, 3, 5]))
    assert x.dtype == torch.bfloat16 and x.is_contiguous(memory_format=torch.channels_last) and y.tolist() == [0, 3, 1]
    aug = _synthetic(8).with_options(augment=True, augment_seed=2)
    a1 = aug.get(torch.arange(8))[0]
    a2 = aug.get(torch.arange(8))[0]  # the object's own stream moves on
    assert not torch.equal(a1, a2)
    assert torch.equal(a1, _synthetic(8).with_options(augment=True, augment_seed=2).get(torch.arange(8))[0])
    assert len(_synthetic(8).take([1, 2])) == 2 and _synthetic(8).to("cpu").device.type == "cpu"
    with pytest.raises(LandscapeError):
        _synthetic(8).with_options(colour=1)
    with pytest.raises(LandscapeError):
        ImageData.create(np.zeros((2, 32, 32, 3), np.float32), [0, 1])
    with pytest.raises(LandscapeError):
        ImageData.create(np.zeros((2, 32, 32, 3), np.uint8), [0, 5], classes=("a", "b"))


# --- torchvision's format ----------------------------------------------------------------


def _md5(path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _pickle(path, obj) -> None:
    path.write_bytes(pickle.dumps(obj, protocol=2))


def _cifar10_folder(root) -> tuple[np.ndarray, np.ndarray]:
    """A torchvision-format CIFAR-10 folder with 2 images per batch file."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    images = _images(12, 11)
    labels = np.arange(12) % 10
    chw = images.transpose(0, 3, 1, 2).reshape(12, -1)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for k, name in enumerate(names):
        _pickle(folder / name, {"data": chw[2 * k : 2 * k + 2], "labels": labels[2 * k : 2 * k + 2].tolist()})
    _pickle(folder / "batches.meta", {"label_names": [f"class{i}" for i in range(10)]})
    return images, labels


def _trust(monkeypatch, cls, folder, train_names, test_names, meta) -> None:
    """torchvision accepts a folder only with the md5 sums of the real files: declare ours."""
    monkeypatch.setattr(cls, "train_list", [[n, _md5(folder / n)] for n in train_names])
    monkeypatch.setattr(cls, "test_list", [[n, _md5(folder / n)] for n in test_names])
    monkeypatch.setattr(cls, "meta", {**cls.meta, "md5": _md5(folder / meta)})


def test_torchvision_cifar10_folder(tmp_path, monkeypatch):
    images, labels = _cifar10_folder(tmp_path)
    with pytest.raises(LandscapeError, match="md5"):  # real file sums: the tiny folder is refused
        load_cifar("cifar10", root=tmp_path)
    folder = tmp_path / "cifar-10-batches-py"
    cls = torchvision.datasets.CIFAR10
    _trust(monkeypatch, cls, folder, [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"], "batches.meta")
    ds = cls(str(tmp_path), train=True, download=False)
    assert len(ds) == 10 and ds.classes[3] == "class3"
    train = load_cifar("cifar10", "train", root=tmp_path)
    test = load_cifar("cifar10", "test", root=tmp_path)
    assert torch.equal(train.images, torch.from_numpy(images[:10])) and train.labels.tolist() == labels[:10].tolist()
    assert torch.equal(test.images, torch.from_numpy(images[10:])) and test.classes[0] == "class0"
    assert len(load_cifar("cifar10", root=tmp_path, n=4, seed=0)) == 4


def test_torchvision_cifar100_folder(tmp_path, monkeypatch):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    images = _images(6, 12)
    chw = images.transpose(0, 3, 1, 2).reshape(6, -1)
    _pickle(folder / "train", {"data": chw[:4], "fine_labels": [0, 99, 5, 5], "coarse_labels": [0, 1, 2, 2]})
    _pickle(folder / "test", {"data": chw[4:], "fine_labels": [1, 2], "coarse_labels": [0, 0]})
    _pickle(folder / "meta", {"fine_label_names": [f"f{i}" for i in range(100)]})
    _trust(monkeypatch, torchvision.datasets.CIFAR100, folder, ["train"], ["test"], "meta")
    train = load_cifar("cifar100", "train", root=tmp_path)
    assert train.num_classes == 100 and train.labels.tolist() == [0, 99, 5, 5]
    assert train.mean == CIFAR_STATS["cifar100"][0] and torch.equal(train.images, torch.from_numpy(images[:4]))


# --- errors -----------------------------------------------------------------------------------


def _one_line(exc_info) -> str:
    text = str(exc_info.value)
    assert "\n" not in text and text
    return text


def test_bad_files_and_names_give_one_line_errors(tmp_path, tiny_npz):
    path, train, test = tiny_npz
    (tmp_path / "text.npz").write_text("not an archive")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    np.save(tmp_path / "single.npy", np.zeros(3))
    y_train, y_test = np.arange(12) % 3, np.arange(6) % 3
    _write_npz(tmp_path / "offsets.npz", train, y_train, test, y_test, train_offsets=np.arange(13, dtype=np.int64) * 5)
    _write_npz(tmp_path / "labels.npz", train, y_train, test, y_test, train_labels=np.full(12, 7, np.uint8))
    jpeg, offsets = _encode(train)
    zeroed, truncated = jpeg.copy(), jpeg.copy()
    zeroed[offsets[4] : offsets[5]] = 0
    truncated[offsets[7] + 200 : offsets[8]] = 0
    _write_npz(tmp_path / "zeroed.npz", train, y_train, test, y_test, train_jpeg=zeroed)
    _write_npz(tmp_path / "truncated.npz", train, y_train, test, y_test, train_jpeg=truncated)
    cases = {
        "absent.npz": "not found",
        "text.npz": "not a .npz archive",
        "single.npy": "not a .npz archive",
        "other.npz": "lacks the arrays train_jpeg, train_offsets, train_labels",
        "offsets.npz": "offsets must rise",
        "labels.npz": "labels must lie in 0..2",
        "zeroed.npz": "image 4 is not a decodable JPEG",
        "truncated.npz": "image 7 is not a decodable JPEG",
    }
    for name, expected in cases.items():
        with pytest.raises(LandscapeError) as err:
            load_npz(tmp_path / name, "train")
        assert expected in _one_line(err) and name in str(err.value)
    with pytest.raises(LandscapeError) as err:
        load_cifar(path, "validation")
    assert "split" in _one_line(err)
    for name in ("imagenet", "cifar-10"):
        with pytest.raises(LandscapeError) as err:
            load_cifar(name)
        assert "unknown dataset" in _one_line(err)
    with pytest.raises(LandscapeError) as err:
        load_cifar("cifar10")
    assert "root" in _one_line(err)
    with pytest.raises(LandscapeError) as err:
        load_cifar("cifar100", root=tmp_path / "empty")
    assert "not found or corrupted" in _one_line(err)
    with pytest.raises(LandscapeError):
        load_cifar(path, download=True)
    with pytest.raises(LandscapeError):
        load_cifar("cifar10", root=tmp_path, cache_dir=tmp_path)


# --- the real offline copy ---------------------------------------------------------------


@pytest.mark.skipif(
    REAL is None,
    reason="the offline CIFAR-10 copy ../shared/data/cifar10_jpeg.npz is absent (set LANDSCAPE_CIFAR_NPZ to its path)",
)
def test_the_real_offline_copy():
    train = read_npz(REAL, "train")
    assert len(train["labels"]) == 50_000 and np.bincount(train["labels"]).tolist() == [5000] * 10
    assert list(train["classes"])[:3] == ["airplane", "automobile", "bird"]
    test = load_npz(REAL, "test")
    assert test.images.shape == (10_000, 32, 32, 3) and test.images.dtype == torch.uint8
    assert test.class_counts().tolist() == [1000] * 10
    mean = test.images.float().mean((0, 1, 2)) / 255
    assert torch.allclose(mean, torch.tensor(CIFAR_STATS["cifar10"][0]), atol=0.01)
    a = load_npz(REAL, "train", per_class=3, seed=0)
    b = load_npz(REAL, "train", per_class=3, seed=0)
    assert len(a) == 30 and torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert a.class_counts().tolist() == [3] * 10
    assert not torch.equal(a.images, load_npz(REAL, "train", per_class=3, seed=1).images)
    x, y = next(a.batches(16, seed=0, augment=True))
    assert x.shape == (16, 3, 32, 32) and torch.isfinite(x).all()
