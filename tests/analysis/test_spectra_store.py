"""Spectra in the store (`landscape.analysis.spectra_store`): a spectrum read back equals
the one written, a moved point or other settings find nothing, and a network's Hessian
on a seeded subset of samples, differentiated chunk by chunk (`hessian_options`), is
the dense Hessian of the loss on that subset."""

from __future__ import annotations

import numpy as np
import pytest

from landscape.analysis.spectra_store import read_spectrum, spectrum_group, write_spectrum
from landscape.analysis.spectrum import eigenpairs, hutchinson, spectrum
from landscape.potentials.registry import load_potential
from landscape.store import Store


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    pot = load_potential("mueller-brown", {"dim": 12})
    x = np.asarray(pot.minima["A"], dtype=np.float64)
    found = spectrum(pot, x, top=2, bottom=2, trace_samples=30, density=True, steps=6, starts=4)
    filename = tmp_path_factory.mktemp("spectra") / "store"
    with Store.create(filename, pot.describe()):
        pass
    settings = {"top": 2, "bottom": 2, "trace_samples": 30, "density": True}
    with Store.write(filename) as store:
        write_spectrum(store, "min:A", settings, x, found, "minimum A")
    return filename, x, found, settings


def test_a_spectrum_read_back_is_the_one_written(stored):
    filename, x, found, settings = stored
    with Store.open(filename) as store:
        back = read_spectrum(store, "min:A", settings, x)
    assert back is not None and back.to_json() == found.to_json()
    np.testing.assert_array_equal(back.top.vectors, found.top.vectors)
    np.testing.assert_array_equal(back.bottom.vectors, found.bottom.vectors)
    np.testing.assert_array_equal(back.density.density, found.density.density)


def test_another_point_or_other_settings_find_nothing(stored):
    filename, x, _, settings = stored
    with Store.open(filename) as store:
        assert read_spectrum(store, "min:A", settings, x + 1e-6) is None  # stale: the point moved
        assert read_spectrum(store, "min:A", {**settings, "top": 3}, x) is None
        assert read_spectrum(store, "min:B", settings, x) is None
    assert spectrum_group("min:A", settings) != spectrum_group("min:A", {**settings, "seed": 1})
    assert spectrum_group("path:a/b@0.5", settings).startswith("spectrum-path-a-b@0.5-")


def test_the_store_check_reads_spectra_and_finds_eigenvectors_that_belong_to_none(stored, tmp_path):
    import shutil

    filename, x, found, settings = stored
    copy = tmp_path / "copy"
    shutil.copytree(filename, copy)
    with Store.open(copy) as store:
        assert store.check() == []
        group = spectrum_group("min:A", settings)
        arrays, attrs = store.read_array_group(group)
    with Store.write(copy) as store:
        store.write_array_group(group, {**arrays, "top": arrays["top"][:, :1], "fc.top": arrays["top"]}, attrs)
    with Store.open(copy) as store:
        problems = store.check()
    assert len(problems) == 2 and all(p.startswith(f"/{group}: eigenvectors") for p in problems), problems


@pytest.fixture(scope="module")
def mlp():
    """A 4-class float64 MLP (60 parameters, no BatchNorm) on 64 samples, at its seeded
    initial weights (any point has a Hessian to check)."""
    torch = pytest.importorskip("torch")
    from landscape_plugins.torchnet.mlp import make_dataset
    from landscape_plugins.torchnet.models import make_mlp
    from landscape_plugins.torchnet.potential import NetworkPotential

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    train, _ = make_dataset("spirals", 64, 0, classes=4, seed=4)
    pot = NetworkPotential(make_mlp(2, (8,), 4, "tanh").double(), train)
    yield pot, pot.spec.flatten(pot.module).detach()
    torch.set_num_threads(before)


def _dense(pot, x, idx):
    import torch

    inputs, targets = pot.train_data.all()
    h = torch.autograd.functional.hessian(lambda flat: pot._objective(flat, inputs[idx], targets[idx]), x)
    return np.linalg.eigvalsh(h.numpy())


def test_a_seeded_subset_in_chunks_is_the_dense_hessian_on_that_subset(mlp):
    import torch

    pot, x = mlp
    # the subset the hook documents: the first `samples` of a permutation seeded by data_seed
    idx = torch.randperm(64, generator=torch.Generator().manual_seed(3))[:24]
    exact, whole = _dense(pot, x, idx), _dense(pot, x, torch.arange(64))
    before = pot.cost()["gradient"]
    subset = {"samples": 24, "data_seed": 3}
    top = eigenpairs(pot, x.numpy(), 3, which="top", hessian_options=subset)
    np.testing.assert_allclose(top.values, exact[-3:], rtol=1e-9)
    assert not np.allclose(top.values, whole[-3:], rtol=1e-3)  # the subset's Hessian, not the whole set's
    # the gradient's graph once, then each product differentiates the 24 samples again
    assert pot.cost()["gradient"] - before == 24 * (1 + top.products)
    # chunk by chunk (each chunk's products by forward-over-reverse): on the
    # same seeded probes the same numbers, for without BatchNorm the chunks change nothing
    plain, _ = hutchinson(pot, x.numpy(), 8, hessian_options=subset)
    chunked, _ = hutchinson(pot, x.numpy(), 8, hessian_options={**subset, "chunk": 12})
    assert chunked.trace == pytest.approx(plain.trace, rel=1e-10)
    many, _ = hutchinson(pot, x.numpy(), 200, hessian_options=subset)
    assert abs(many.trace - exact.sum()) <= 3 * many.standard_error


def test_a_hook_that_takes_no_options_is_called_without_them():
    class OwnProducts:
        name, dim, stochastic = "own", 3, False

        def hessian_products(self, x):  # a user's exact products, with no memory to bound
            return lambda d: 2.0 * d

    found = eigenpairs(OwnProducts(), np.zeros(3), 1, hessian_options={"samples": 4, "chunk": 2})
    assert found.values.tolist() == [2.0] and found.method == "products of every coordinate"
