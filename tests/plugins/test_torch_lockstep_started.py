"""The lockstep executor asked to run before `start` (or after `close`) says so in one line."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from landscape.foundations.errors import LandscapeError  # noqa: E402
from landscape_plugins.torchnet.lockstep_runs import LockstepExecutor  # noqa: E402
from landscape_plugins.torchnet.mlp import make_dataset  # noqa: E402
from landscape_plugins.torchnet.models import make_mlp  # noqa: E402
from landscape_plugins.torchnet.potential import NetworkPotential  # noqa: E402


def test_the_lockstep_executor_refuses_to_run_before_start_and_after_close():
    ex = LockstepExecutor(2, "vmap")
    with pytest.raises(LandscapeError, match=r"^executor has no potential: call start\(potential\) first$"):
        ex.submit([])
    train, _ = make_dataset("blobs", 20, 10, seed=0)
    ex.start(NetworkPotential(make_mlp(2, (4,), 2, "tanh"), train))
    assert ex.submit([]) == [] and ex.ran == ["alone"]
    ex.close()
    with pytest.raises(LandscapeError, match="call start"):
        ex.submit([])
