"""The claim's criteria (plugins/cifar/claim.py) on Table 1 rows built by hand: each
criterion flips exactly when its own number crosses its threshold."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from landscape_plugins.cifar.claim import criteria  # noqa: E402
from landscape_plugins.cifar.report import PathMetrics, Table1  # noqa: E402
from landscape_plugins.torchnet.evaluate import barriers  # noqa: E402


def _path(t, train_loss, test_error, line_loss):
    """PathMetrics of a profile: barriers from the real `barriers` function."""
    b = barriers(t, train_loss)
    bd = {
        "max_minus_mean_ends": b.max_minus_mean_ends,
        "max_gap_to_line": b.max_gap_to_line,
        "saddle_minus_higher_end": b.saddle_minus_higher_end,
        "saddle_t": b.saddle_t,
    }
    maxima = {"train_loss": max(train_loss), "train_error": 0.0, "test_loss": 1.0, "test_error": test_error}
    line = {"train_loss": line_loss, "train_error": 0.5, "test_loss": 3.0, "test_error": 0.8}
    return PathMetrics(
        "0-1", 0, 1, maxima, bd, True, len(t), 14, line, bd, max(train_loss[1:-1]), (train_loss[0], train_loss[-1])
    )


def _table(
    train_loss_path,
    *,
    minima_loss=(0.001, 0.001),
    train_error=(0.0, 0.0),
    test_error=0.30,
    line_loss=0.5,
    t=(0.0, 0.25, 0.5, 0.75, 1.0),
):
    path = _path(np.array(t), np.array(train_loss_path), test_error, line_loss)
    minima = {
        "train_loss": np.array(minima_loss),
        "train_error": np.array(train_error),
        "test_loss": np.array([1.0, 1.0]),
        "test_error": np.array([0.29, 0.29]),
    }
    return Table1("s.h5", "resnet8-w8", "cifar10", ("0", "1"), minima, (path,), True)


FLAT = [0.001, 0.002, 0.005, 0.002, 0.001]  # interior bump, 5x the minima


def test_a_flat_path_between_fitted_minima_meets_every_criterion():
    table = _table(FLAT)
    curves = {"0-1": {"curve": [0.01, 0.005, 0.0049], "last_change": 0.02, "levelled": True}}
    assert table.row()["factor"] == pytest.approx(5.0) and table.mst[0].max_inside
    assert all(criteria(table, curves).values())


@pytest.mark.parametrize(
    "change, failing",
    [
        (dict(minima_loss=(0.001, 0.003)), "minima_fit_training_set"),
        (dict(train_error=(0.0, 0.002)), "minima_fit_training_set"),
        (dict(train_loss_path=[0.001, 0.0005, 0.0004, 0.0006, 0.0012]), "every_maximum_inside"),  # max at an end
        (dict(train_loss_path=[0.001, 0.002, 0.0201, 0.002, 0.001]), "saddle_within_factor"),
        (dict(line_loss=0.0999), "straight_line_above_factor"),
        (dict(test_error=0.3201), "test_error_within_points"),
    ],
)
def test_each_criterion_fails_on_its_own_number(change, failing):
    kwargs = {"train_loss_path": FLAT, **change}
    result = criteria(_table(kwargs.pop("train_loss_path"), **kwargs))
    assert [k for k, ok in result.items() if not ok] == [failing]


def test_a_band_still_falling_is_not_levelled_off():
    curves = {"0-1": {"curve": [0.3, 0.1, 0.05], "last_change": 0.5, "levelled": False}}
    assert criteria(_table(FLAT), curves)["autoneb_levelled_off"] is False


def test_minima_that_never_cross_the_saddle_loss_are_counted_not_dropped():
    table = _table(FLAT)
    curves = {"0": np.array([1.0, 0.1, 0.004]), "1": np.array([1.0, 0.5, 0.2])}  # saddle loss 0.005
    table = Table1(table.store, table.architecture, table.dataset, table.names, table.minima, table.paths, True, curves)
    row = table.row()
    assert table.epochs() == {"0": 3, "1": None}
    assert row["epoch"] == 3 and row["minima_never_crossing"] == 1
    assert "(1 never)" in table.to_text() and "minima_never_crossing" in table.to_csv()


def test_the_paper_regime_allows_training_error_and_bounds_the_minima_test_error():
    """On all 50,000 images the minima keep some training error (paper: train loss 0.016);
    `fit_error=None` checks the loss alone, `test_error` bounds each minimum's test error."""
    table = _table(FLAT, train_error=(0.0, 0.002))  # minima test error 0.29
    assert criteria(table)["minima_fit_training_set"] is False
    assert criteria(table, fit_error=None)["minima_fit_training_set"] is True
    assert criteria(table, fit_error=0.002)["minima_fit_training_set"] is True
    assert criteria(table, test_error=0.29)["minima_test_error_within"] is True
    assert criteria(table, test_error=0.2899)["minima_test_error_within"] is False
    assert "minima_test_error_within" not in criteria(table)
