"""`compare`: every row under one protocol, checked against direct evaluations."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("torch_single_thread")

from landscape.paths import geometry  # noqa: E402
from landscape.store import Store  # noqa: E402
from landscape_cli.testing import run  # noqa: E402
from landscape_plugins.torchnet.commands import stored_network  # noqa: E402
from landscape_plugins.torchnet.compare import (  # noqa: E402
    ROWS,
    CompareSettings,
    RowKind,
    compare_pair,
    curve_on_path,
    grid,
    register_row,
    row_group,
)
from landscape_plugins.torchnet.evaluate import evaluate_points  # noqa: E402
from landscape_plugins.torchnet.matching import network_symmetry  # noqa: E402

MLP = ["-o", "hidden=8,8", "-o", "n_train=64", "-o", "n_test=64", "-o", "data_seed=1"]
POINTS = 9


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Two trained MLP minima, no paths."""
    path = tmp_path_factory.mktemp("cmp") / "m.h5"
    run(["train", "mlp", *MLP, "--minima", 2, "--epochs", 20, "--out", path])
    return str(path)


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    """The protocol at 9 points; curves and AutoNEB cut short (what is checked is the protocol)."""
    sgd = {"kind": "sgd", "lr": 0.05, "momentum": 0.9}
    schedule = tmp_path_factory.mktemp("schedule") / "tiny.json"
    schedule.write_text(json.dumps({"name": "tiny", "cycles": [{"steps": 10, "stepper": sgd}] * 2}))
    return CompareSettings(POINTS, schedule=str(schedule), curve_steps=3)


@pytest.fixture(scope="module")
def compared(store, settings):
    pot = stored_network(store, "compare")
    rows = compare_pair(store, pot, ("0", "1"), list(ROWS), settings)
    return pot, {r.row: r for r in rows}


def _ends(store, pot):
    with Store.open(store) as s:
        coords = s.read_minima()[0]
    return pot.asarray(coords[0]), pot.asarray(coords[1])


def test_the_straight_row_is_evaluate_points_at_the_same_t(store, compared):
    pot, rows = compared
    a, b = _ends(store, pot)
    t = grid(POINTS)
    x = a[None] + pot.asarray(t[:, None]) * (b - a)[None]
    direct = evaluate_points(pot, x, "train").loss
    row = rows["straight"]
    np.testing.assert_array_equal(row.t, t)
    np.testing.assert_allclose(row.metrics["train_loss"], direct, rtol=1e-6)
    assert row.summary()["max_train_loss"] == pytest.approx(direct.max(), rel=1e-6)
    assert row.summary()["t_at_max"] == t[int(np.argmax(direct))]
    test_err = evaluate_points(pot, x, "test").error
    assert row.summary()["max_test_error"] == pytest.approx(test_err.max())


def test_the_aligned_row_ends_are_the_minima_and_its_end_is_the_matched_image(store, compared):
    pot, rows = compared
    a, b = _ends(store, pot)
    ends = evaluate_points(pot, torch.stack([a, b]), "train").loss
    row = rows["aligned"]
    assert row.metrics["train_loss"][0] == pytest.approx(ends[0], rel=1e-6)
    assert row.metrics["train_loss"][-1] == pytest.approx(ends[1], rel=1e-6)  # same function, relabelled
    image = network_symmetry(pot).align(a.numpy(), b.numpy())
    assert not np.allclose(image, b.numpy())  # the matching moved b: this row is not the straight one
    mid = evaluate_points(pot, pot.asarray(0.5 * (a.numpy() + image))[None], "train").loss[0]
    assert row.metrics["train_loss"][POINTS // 2] == pytest.approx(mid, rel=1e-6)
    repaired = rows["repair"]
    if repaired.status == "done":  # REPAIR moves the point's channels to the ends' own statistics there
        np.testing.assert_allclose(repaired.metrics["train_loss"][[0, -1]], ends, rtol=1e-4)
        assert repaired.build_samples["forward"] > 0 and repaired.build_samples["gradient"] == 0


def test_every_row_holds_the_grid_and_its_pivots(compared):
    _, rows = compared
    t = grid(POINTS)
    done = [r for r in rows.values() if r.status == "done"]
    assert {"straight", "aligned"} <= {r.row for r in done}
    for r in done:
        assert np.all(np.diff(r.t) >= 0) and np.isin(t, r.t).all(), r.row
        assert r.is_pivot[0] and r.is_pivot[-1]
        assert r.eval_samples["gradient"] == 0 and r.eval_samples["forward"] == r.t.size * 128  # 64 train + 64 test
    for r in rows.values():
        if r.status == "not available":
            assert r.t is None and "max_train_loss" not in r.summary()


def test_the_curve_rows_end_at_the_minima_and_count_their_training(store, compared):
    pot, rows = compared
    a, b = _ends(store, pot)
    ends = evaluate_points(pot, torch.stack([a, b]), "train").loss
    for name in ("bezier", "polychain"):
        r = rows[name]
        if r.status == "not available":
            pytest.skip(r.note)
        np.testing.assert_allclose(r.metrics["train_loss"][[0, -1]], ends, rtol=1e-6)
        assert r.build_samples["gradient"] > 0 and r.is_pivot.sum() >= 3


def test_a_path_row_is_the_grid_along_the_arc_plus_the_pivots():
    rng = np.random.default_rng(0)
    pivots = np.cumsum(rng.normal(size=(5, 3)), axis=0)
    t = grid(7)
    c = curve_on_path(pivots, t, samples=None, seconds=None)
    s = geometry.arc_fractions(pivots)
    assert np.isin(t, c.t).all() and np.isin(s, c.t).all()
    np.testing.assert_array_equal(c.points[c.is_pivot], pivots)
    for tk, xk in zip(c.t, c.points):  # each point lies at its arc fraction of the polyline
        k = min(np.searchsorted(s, tk, side="right") - 1, len(s) - 2)
        w = (tk - s[k]) / (s[k + 1] - s[k])
        np.testing.assert_allclose(xk, pivots[k] + w * (pivots[k + 1] - pivots[k]), atol=1e-12)


def test_a_rerun_reads_done_rows_back_and_spends_nothing(store, compared, settings):
    pot, first = compared
    mark = pot.cost()
    again = compare_pair(store, pot, ("0", "1"), list(ROWS), settings)
    assert pot.cost() == mark
    for r in again:
        if r.status == "done":
            assert r.reused and r.summary()["max_train_loss"] == first[r.row].summary()["max_train_loss"]
            assert r.build_samples == first[r.row].build_samples
    with Store.open(store) as s:
        arrays, _ = s.read_array_group(row_group(POINTS, "0-1", "straight"))
    np.testing.assert_array_equal(arrays["train_loss"], first["straight"].metrics["train_loss"])


def test_changed_settings_redo_the_row_and_missing_code_is_never_faked(store, compared, settings):
    pot, first = compared
    if first["polychain"].status == "done":
        same, other = (
            compare_pair(store, pot, ("0", "1"), ["polychain"], replace(settings, curve_steps=k, run=False))[0]
            for k in (3, 4)
        )
        assert same.reused and other.status == "not run"  # a row of other settings is not read back
    register_row(RowKind("absent", "absent", lambda job, t: None, missing=lambda: "no such code here"))
    try:
        (r,) = compare_pair(store, pot, ("0", "1"), ["absent"], CompareSettings(POINTS))
    finally:
        del ROWS["absent"]
    assert r.status == "not available" and r.note == "no such code here" and r.summary().get("max_train_loss") is None


def test_an_interrupted_optimisation_stores_no_row(store, compared, settings, monkeypatch):
    import landscape.runs.pair as pair
    from landscape.paths.result import Status

    pot, _ = compared
    real = pair.connect
    monkeypatch.setattr(pair, "connect", lambda *a, **k: replace(real(*a, **k), status=Status.INTERRUPTED))
    changed = replace(settings, curve_steps=2)  # not stored yet
    with pytest.raises(KeyboardInterrupt):
        compare_pair(store, pot, ("0", "1"), ["bezier"], changed)
    monkeypatch.undo()
    (row,) = compare_pair(store, pot, ("0", "1"), ["bezier"], replace(changed, run=False))
    assert row.status in ("not run", "not available")


def test_the_autoneb_row_takes_a_stored_autoneb_path_only(store, compared, settings):
    from landscape.runs.pair import connect

    pot, _ = compared
    a, b = _ends(store, pot)
    curve = replace(connect(pot, a, b, method="bezier", steps=1), state=None)
    no_run = replace(settings, points=5, run=False)
    with Store.write(store) as s:
        s.write_result("1-0", replace(curve, path=curve.path.reversed()), start="1", end="0")
    (row,) = compare_pair(store, pot, ("0", "1"), ["autoneb"], no_run)
    assert row.status == "not run"  # a Bezier path is not AutoNEB's
    with Store.write(store) as s:
        s.write_result("1-0", replace(curve, path=curve.path.reversed(), config={"method": "autoneb"}), "1", "0")
    (row,) = compare_pair(store, pot, ("0", "1"), ["autoneb"], no_run)
    assert row.status == "done" and row.note.startswith("stored path") and row.build_seconds is None
    direct = evaluate_points(pot, curve.path.pivots, "train").loss  # stored from 1 to 0, read back from 0 to 1
    np.testing.assert_allclose(row.metrics["train_loss"][row.is_pivot], direct, rtol=1e-6)
