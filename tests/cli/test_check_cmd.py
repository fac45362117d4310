"""`landscape check POTENTIAL`: the conformance suite from the command line, sampling
where paths go (near minima and saddles, along the lines between minima)."""

from __future__ import annotations

import json

import numpy as np

from landscape.testing import check_potential
from landscape_cli.testing import error_line, invoke, run

# A double well whose gradient is wrong only where the barrier is (|x| < 0.3): a bug that
# points near the minima never see.
BUGGY = """
import numpy as np
from landscape import Potential


class Buggy(Potential):
    dim = 2
    name = "buggy"
    minima = {"L": np.array([-1.0, 0.0]), "R": np.array([1.0, 0.0])}

    def energy_and_gradient(self, x):
        e = (x[:, 0] ** 2 - 1) ** 2 + 2 * x[:, 1] ** 2
        g = np.stack([4 * x[:, 0] * (x[:, 0] ** 2 - 1), 4 * x[:, 1]], axis=1)
        g[np.abs(x[:, 0]) < 0.3, 0] *= 1.5
        return e, g
"""


def test_a_gradient_bug_at_the_barrier_is_caught(tmp_path):
    path = tmp_path / "buggy.py"
    path.write_text(BUGGY)
    line = error_line(invoke(["check", f"{path}:Buggy"]))
    assert "potential buggy fails the interface check" in line and "finite differences" in line


def test_near_the_minima_alone_the_same_bug_passes(tmp_path):
    """What the old sampling (minima only) saw: nothing wrong."""
    namespace: dict = {}
    exec(BUGGY, namespace)
    pot = namespace["Buggy"]()
    near = np.array([[-1.0, 0.0], [1.0, 0.0]]) + 0.05 * np.random.default_rng(0).standard_normal((2, 2))
    check_potential(pot, near)


def test_sound_plugins_pass_and_say_where_they_were_checked():
    out = json.loads(run(["check", "mueller-brown", "--json"]).stdout)
    assert out == {"potential": "mueller-brown", "dim": 2, "points": 21, "passed": True}
    assert "passes the interface check" in run(["check", "three-hole", "-o", "dim=20"]).stdout
