"""What a user's code raises that is not an Exception (a library's timeout or cancellation
class deriving from BaseException, GeneratorExit, sys.exit) is that code's failure: one
line, exit 1.  Only KeyboardInterrupt (Ctrl-C, SIGTERM) passes through, as a stop: 130."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from landscape.foundations.errors import LandscapeError
from landscape.potentials.registry import load_potential
from landscape_cli.testing import error_line, invoke

LOWLEVEL = f"{Path(__file__).resolve().parents[1] / 'data' / 'lowlevel_potential.py'}:LowLevel"


@pytest.mark.parametrize("raised", ["GeneratorExit", "Cancelled", "KeyboardInterrupt"])
def test_a_base_exception_at_import_is_one_line_and_ctrl_c_a_stop(tmp_path, raised):
    path = tmp_path / "imports.py"
    path.write_text(f"class Cancelled(BaseException):\n    pass\n\nraise {raised}('the event loop was closed')\n")
    r = invoke(["connect", f"{path}:Thing", "--start", "0,0", "--end", "1,1"])
    if raised == "KeyboardInterrupt":
        assert r.exit_code == 130 and "interrupted by the user" in error_line(r)
    else:
        assert r.exit_code == 1 and f"error while loading {path}: {raised}" in error_line(r)


def test_the_guard_turns_a_base_exception_into_one_error_and_lets_ctrl_c_through():
    x = np.zeros((3, 2))
    with pytest.raises(LandscapeError, match="potential lowlevel raised Timeout in energy_and_gradient"):
        load_potential(LOWLEVEL, {"mode": "timeout"}).energy_and_gradient(x)

    def ctrl_c(x: np.ndarray) -> None:
        raise KeyboardInterrupt

    pot = load_potential(LOWLEVEL, {"mode": "none"})
    pot.inner.energy_and_gradient = ctrl_c  # Ctrl-C arriving during an evaluation
    with pytest.raises(KeyboardInterrupt):
        pot.energy_and_gradient(x)
