"""`explore_paths`' fault-check cadence: every 50 steps where the potential lives on a CUDA
device (no host read between checks in the GPU's step loop), every step elsewhere; for a
curve preset and for AutoNEB alike.  The device is only read, so a stand-in potential
that names one reaches the CUDA branch on a CPU; `landscape.explore` is replaced by a
recorder of the optimizer it is handed."""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

import landscape  # noqa: E402
from landscape.optimizers.autoneb import AutoNEB  # noqa: E402
from landscape.optimizers.curves import Curve  # noqa: E402
from landscape_plugins.cifar.experiment import Experiment, Setup, explore_paths, schedule_for  # noqa: E402


class OnDevice:
    """A potential as far as `explore_paths` reads it before handing it on: its device."""

    def __init__(self, device: Any) -> None:
        self.device = device


def _handed(monkeypatch: pytest.MonkeyPatch, device: Any, preset: str) -> Any:
    handed: dict[str, Any] = {}
    monkeypatch.setattr(landscape, "explore", lambda potential, *a, optimizer, **k: handed.setdefault("o", optimizer))
    schedule, _ = schedule_for("resnet8-w2", preset)
    explore_paths("unused", Setup(OnDevice(device), {}, schedule, None), Experiment(preset=preset))
    return handed["o"]


@pytest.mark.parametrize("preset", ["bezier", "cpu"])
@pytest.mark.parametrize(
    "device, every",
    [("cuda", 50), ("cuda:1", 50), (torch.device("cuda", 0), 50), ("cpu", 1), (torch.device("cpu"), 1)],
    ids=["cuda", "cuda:1", "torch-cuda:0", "cpu", "torch-cpu"],
)
def test_the_optimizer_explore_gets_checks_faults_every_50_steps_on_cuda_and_every_step_elsewhere(
    monkeypatch, preset, device, every
):
    optimizer = _handed(monkeypatch, device, preset)
    if preset == "bezier":
        assert isinstance(optimizer, Curve) and optimizer.fault_check_every == every
        assert optimizer.to_config().get("fault_check_every", 1) == every  # what the store records
    else:
        assert isinstance(optimizer, AutoNEB) and optimizer.band.fault_check_every == every
