"""`landscape plot surface`: the plane through three points and the picture around a
minimum, stored and continued; bad input as one line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from landscape import Store, load_potential
from landscape.analysis.planes import read_surface
from landscape.potentials.identity import record
from landscape_cli.testing import error_line, run


@pytest.fixture(scope="module")
def mb(tmp_path_factory):
    store = tmp_path_factory.mktemp("surface") / "mb"
    run(["connect", "mueller-brown", "--start", "A", "--end", "B", "--method", "neb", "--out", str(store)])
    return str(store)


def test_plane_through_minima_and_saddle_is_stored_drawn_and_continued(mb, tmp_path):
    args = ["plot", "surface", mb, "--plane", "A,B,saddle:A-B", "--grid", "9", "--json"]
    data = json.loads(run([*args, "--figure", str(tmp_path / "p.png")]).stdout)
    assert data["shape"] == [9, 9] and data["evaluated"] == 81 and data["from_store"] == 0
    assert set(data["marks"]) == {"A", "B", "saddle A-B"} and data["marks"]["A"] == [0.0, 0.0]
    (path,) = data["paths"]  # the path lies in the plane it spans with its own saddle
    assert path["path"] == "A-B" and path["drawn"] and path["largest_distance"] < 1e-9
    with open(data["figure"], "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    pot = load_potential("mueller-brown")
    with Store.open(mb) as store:
        surface = read_surface(store, data["name"])
    e = pot.energy(surface.slice.points()).reshape(9, 9)
    np.testing.assert_allclose(data["energies"], e, rtol=1e-12)
    again = json.loads(run([*args, "--figure", str(tmp_path / "q.png")]).stdout)
    assert again["evaluated"] == 0 and again["from_store"] == 81 and again["energies"] == data["energies"]


def test_random_directions_around_a_minimum_are_seeded(mb, tmp_path):
    base = ["plot", "surface", mb, "--around", "0", "--directions", "random", "--scale", "0.3", "--grid", "5"]
    one = json.loads(run([*base, "--dims", "1", "--name", "x", "--figure", str(tmp_path / "x"), "--json"]).stdout)
    two = json.loads(run([*base, "--dims", "1", "--name", "y", "--figure", str(tmp_path / "y"), "--json"]).stdout)
    assert one["shape"] == [5] and one["energies"] == two["energies"] and one["info"]["around"] == "A"
    pot = load_potential("mueller-brown")
    assert one["energies"][2] == pytest.approx(float(pot.energy(np.asarray(pot.minima["A"])[None])[0]), rel=1e-6)
    other = json.loads(run([*base, "--seed", "1", "--figure", str(tmp_path / "z"), "--json"]).stdout)
    assert other["shape"] == [5, 5] and other["info"]["seed"] == 1


@pytest.mark.parametrize(
    "args, words",
    [
        (["--plane", "A,B,Q"], "no minimum 'Q'"),
        (["--plane", "A,B,0"], "coincides with A"),
        (["--plane", "A,B"], "three points"),
        (["--plane", "A,B,saddle:A-C"], "no minimum 'C'"),
        (["--around", "A", "--directions", "filter"], "no filter-normalised directions"),
        (["--around", "A", "--directions", "random", "--scale", "0"], "scale must be a positive"),
        (["--plane", "A,B,saddle:A-B", "--metric", "error"], "has only energies"),
        ([], "give one of --around"),
    ],
)
def test_bad_input_is_one_line(mb, tmp_path, args, words):
    r = run(["plot", "surface", mb, *args, "--figure", str(tmp_path / "b")], expect=1)
    assert words in error_line(r)
    assert not (tmp_path / "b.png").exists()


def test_surface_style_draws_the_grid_in_3d(mb, tmp_path):
    base = ["plot", "surface", mb, "--plane", "A,B,saddle:A-B", "--grid", "6", "--name", "s3d", "--json"]
    flat = json.loads(run([*base, "--figure", str(tmp_path / "flat")]).stdout)
    tall = json.loads(run([*base, "--style", "surface", "--figure", str(tmp_path / "tall")]).stdout)
    assert tall["from_store"] == 36 and tall["energies"] == flat["energies"]  # the style is not the surface
    from PIL import Image

    with Image.open(tall["figure"]) as a, Image.open(flat["figure"]) as b:
        assert a.format == "PNG" and a.size != b.size  # the 3D figure's own size: another picture


def test_another_grid_under_the_same_name_is_refused_unless_forced(mb, tmp_path):
    base = ["plot", "surface", mb, "--plane", "A,B,saddle:A-B", "--name", "g", "--figure", str(tmp_path / "g")]
    run([*base, "--grid", "4"])
    assert "another grid" in error_line(run([*base, "--grid", "5"], expect=1))
    assert json.loads(run([*base, "--grid", "5", "--force", "--json"]).stdout)["shape"] == [5, 5]


def test_filter_directions_on_a_network_store(tmp_path):
    pytest.importorskip("torch")
    from landscape_plugins.torchnet.evaluate import evaluate_points

    options = {"hidden": "6", "epochs": 5, "n_train": 32, "n_test": 32, "minima": 2, "batched": "loop"}
    pot = load_potential("mlp", options)
    x = np.stack([pot.minimum(k).numpy() for k in ("0", "1")]).astype(np.float64)
    with Store.create(tmp_path / "net", record(pot)) as store:
        store.write_minima(x, pot.energy(pot.asarray(x)).numpy(), ["0", "1"])
    args = ["plot", "surface", str(tmp_path / "net"), "--around", "1", "--grid", "3", "--threads", "1", "--json"]
    data = json.loads(run([*args, "--chunk", "4"]).stdout)
    assert data["info"]["directions"] == "filter" and data["info"]["bias"] == "ignore" and data["shape"] == [3, 3]
    e = np.array(data["energies"])
    assert e[1, 1] == pytest.approx(float(pot.energy(pot.asarray(x[1:]))[0]), rel=1e-5)  # the centre is the minimum
    assert len(set(e.ravel().tolist())) == 9  # the directions move the weights
    error = json.loads(run([*args, "--metric", "error"]).stdout)
    assert error["values"] == "test_error" and error["name"].endswith("-error") and error["from_store"] == 0
    with Store.open(tmp_path / "net") as store:
        points = read_surface(store, error["name"]).slice.points()
    want = evaluate_points(pot, points, "test").error.reshape(3, 3)
    np.testing.assert_allclose(error["energies"], want, rtol=1e-12)
    assert error["samples"]["forward"] == 9 * 32  # no BatchNorm: the 32 test samples per point
