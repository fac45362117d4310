"""The core's `connect()` on a NetworkPotential: unchanged, on tensors, far below the straight line."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("torch_single_thread")

from landscape.optimizers.schedules import Cycle, Schedule  # noqa: E402
from landscape.optimizers.steppers import SGD  # noqa: E402
from landscape.paths.path import Path  # noqa: E402
from landscape.runs.pair import connect  # noqa: E402


@pytest.fixture(scope="module")
def mlp():
    from landscape_plugins.torchnet.descriptors import MLP

    return MLP.build(hidden="16,16", n_train=256, n_test=256, epochs=300, minima=2)


def test_mlp_descriptor_is_light_and_describes_options():
    code = (
        "import sys; from landscape_plugins.torchnet.descriptors import MLP; "
        "from landscape_plugins.xor.descriptor import XOR; "
        "print('torch' in sys.modules, MLP.name, XOR.name)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "mlp", "xor"]


def test_mlp_plugin_builds_trained_minima(mlp):
    assert set(mlp.minima) == {"0", "1"} and mlp.dim == 2 * 16 + 16 + 16 * 16 + 16 + 16 * 2 + 2
    from landscape_plugins.torchnet.evaluate import evaluate_points

    m = evaluate_points(mlp, torch.stack([mlp.minimum("0"), mlp.minimum("1")]), "test")
    assert (m.error < 0.15).all()
    json.dumps(mlp.describe())


def test_mlp_connect_runs_unchanged_with_its_path_maths_on_the_host(mlp):
    """On a CPU network the band steps on numpy views of its tensors (landscape.paths.host):
    the network's own dtype, no copies; only an accelerator keeps the path a tensor."""
    a, b = mlp.minimum("0"), mlp.minimum("1")
    sched = Schedule("test", tuple(Cycle(100, SGD(lr=0.1, momentum=0.9)) for _ in range(3)))
    result = connect(mlp, a, b, schedule=sched, climb=False)
    assert mlp.device.type == "cpu" and result.success
    assert type(result.state.path.pivots) is np.ndarray and result.state.path.pivots.dtype == np.float32
    assert len(result.cycles) == 3
    line = mlp.energy(Path.straight(a, b, 25).pivots)
    ends = float(max(line[0], line[-1]))
    straight_barrier = float(line.max()) - ends
    assert straight_barrier > 0.2
    assert result.upper_bound - ends < 0.25 * straight_barrier
