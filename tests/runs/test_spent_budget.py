"""A run that stopped at its budget stays continuable: a larger budget continues it to
where one run with that budget ends (issue 21, item 10), never a stale shorter answer."""

from __future__ import annotations

import numpy as np
import pytest

from landscape.foundations.errors import LandscapeError
from landscape.paths.budget import Budget
from landscape.paths.result import Status
from landscape.potentials.registry import load_potential
from landscape.runs.stored import connect_stored
from landscape.store import Store

POT = load_potential("mueller-brown")
SETTINGS = {"neb": {"method": "neb", "fmax": 1e-9}, "autoneb": {"method": "autoneb"}}


def _connect(out, method, steps, **extra):
    return connect_stored(
        str(out),
        POT,
        ("A", "B"),
        POT.minima["A"],
        POT.minima["B"],
        budget=Budget(max_steps=steps),
        **SETTINGS[method],
        **extra,
    )


def _same_answer(a, b) -> None:
    assert (a.status, a.nit, a.nfev) == (b.status, b.nit, b.nfev)
    np.testing.assert_array_equal(np.asarray(a.path.pivots), np.asarray(b.path.pivots))
    np.testing.assert_array_equal(np.asarray(a.history), np.asarray(b.history))


@pytest.mark.parametrize("method, short, long", [("neb", 10, 30), ("autoneb", 150, 400)])
def test_a_larger_budget_continues_where_the_spent_one_stopped(tmp_path, method, short, long):
    first = _connect(tmp_path / "s", method, short)
    assert first.result.status is Status.MAX_STEPS and first.result.nit == short
    with Store.open(first.store) as store:
        assert store.read_checkpoint("A-B") is not None  # the state a larger budget continues from
        assert store.check() == []  # beside a finished result, it is no damage
    assert _connect(tmp_path / "s", method, short).reused
    more = _connect(tmp_path / "s", method, long)
    assert not more.reused and (more.resumed_from_step, more.resumed_from_cycle) != (None, None)
    _same_answer(more.result, _connect(tmp_path / "straight", method, long).result)
    with Store.open(more.store) as store:
        _same_answer(store.read_result("A-B"), more.result)
    with pytest.raises(LandscapeError, match=f"used {long} steps, more than the budget of {short}"):
        _connect(tmp_path / "s", method, short)


def test_a_smaller_budget_after_ctrl_c_does_not_close_the_run(tmp_path):
    """Ctrl-C at step 15, then --steps 5: max_steps at once; then --steps 40 continues
    (the band converges at 46)."""

    def ctrl_c(state):
        if state.nit == 15:
            raise KeyboardInterrupt

    stopped = _connect(tmp_path / "s", "neb", 500, callbacks=[ctrl_c])
    assert stopped.result.status is Status.INTERRUPTED
    spent = _connect(tmp_path / "s", "neb", 5)
    assert spent.result.status is Status.MAX_STEPS and spent.result.nit == 15
    more = _connect(tmp_path / "s", "neb", 40)
    assert more.resumed_from_step == 15 and more.result.nit == 40
    _same_answer(more.result, _connect(tmp_path / "straight", "neb", 40).result)


def test_a_spent_budget_with_no_state_kept_is_computed_afresh(tmp_path):
    """Stores written before spent budgets kept their state hold the result alone: a
    larger budget computes the path afresh (passing where it stopped), never returns it."""
    first = _connect(tmp_path / "s", "neb", 20)
    with Store.write(first.store) as store:  # as such a store holds it: the result alone
        store.write_result("A-B", store.read_result("A-B"), start="A", end="B")
    assert _connect(tmp_path / "s", "neb", 20).reused
    again = _connect(tmp_path / "s", "neb", 60)
    assert not again.reused and again.resumed_from_step is None
    _same_answer(again.result, _connect(tmp_path / "straight", "neb", 60).result)


def test_autoneb_stopped_in_its_first_cycle_is_computed_afresh(tmp_path):
    """No cycle finished, so nothing was committed to continue from: a larger budget
    computes the path afresh, as one run with that budget would."""
    first = _connect(tmp_path / "s", "autoneb", 50)
    assert first.result.status is Status.MAX_STEPS and not first.result.cycles
    again = _connect(tmp_path / "s", "autoneb", 400)
    assert not again.reused and again.resumed_from_cycle is None
    _same_answer(again.result, _connect(tmp_path / "straight", "autoneb", 400).result)
