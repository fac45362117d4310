"""`connect --curve-objective` and `--spread`: the curve the CLI trains is the one Python's
`connect` trains with the same settings, and the deterministic default is the measured one."""

from __future__ import annotations

import json

import pytest

from landscape import connect, load_potential
from landscape_cli.testing import error_line, invoke

ARGS = ["connect", "mueller-brown", "--start", "A", "--end", "B", "--method", "polychain", "--bends", "2"]
ARGS += ["--steps", "100", "--json"]


def test_the_cli_trains_the_curve_python_trains():
    pot = load_potential("mueller-brown")
    a, b = pot.minima["A"], pot.minima["B"]

    def python(**settings):
        return connect(pot, a, b, method="polychain", bends=2, steps=100, **settings).upper_bound

    default = json.loads(invoke(ARGS).stdout)["saddle_energy"]
    garipov = json.loads(invoke([*ARGS, "--curve-objective", "mean", "--no-spread"]).stdout)["saddle_energy"]
    assert default == python(objective="softmax", spread=True) == python()  # Mueller-Brown is deterministic
    assert garipov == python(objective="mean", spread=False) != default


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--method", "neb", "--spread"], "--spread applies to --method bezier or polychain only"),
        (["--method", "string", "--curve-objective", "cvar"], "--curve-objective applies to --method bezier"),
        (["--method", "bezier", "--spread"], "--spread applies to --method polychain only"),
    ],
)
def test_curve_options_elsewhere_are_one_line_errors(extra, words):
    r = invoke(["connect", "mueller-brown", "--start", "A", "--end", "B", *extra])
    assert r.exit_code == 1 and words in error_line(r)
