"""A command this plugin adds to `landscape`: `landscape tilted-barrier`, the closed-form
barriers of the tilted double well (registered in pyproject.toml under the entry-point
group `landscape.commands`; imported only when `landscape` lists or runs it)."""

from __future__ import annotations

import click

from landscape import LandscapeError
from landscape_cli.common import emit

__all__ = ["barrier_cmd"]


@click.command("tilted-barrier")
@click.option("--tilt", type=float, default=0.25, show_default=True, help="Tilt t in (-1, 1).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def barrier_cmd(tilt: float, as_json: bool) -> None:
    """The saddle of the tilted double well and its barriers from A and from B, in closed form.

    \b
    Example: landscape tilted-barrier --tilt 0.5 --json
    """
    if not -1.0 < tilt < 1.0:
        raise LandscapeError(f"--tilt must be in (-1, 1), got {tilt}")  # one line, exit 1
    t = tilt
    saddle = t * t / 2 - t**4 / 12
    a, b = -0.25 + 2 * t / 3, -0.25 - 2 * t / 3
    emit(
        as_json,
        {
            "tilt": t,
            "saddle_x": -t,
            "saddle_energy": saddle,
            "barrier_from_A": saddle - a,
            "barrier_from_B": saddle - b,
        },
        [
            f"tilt {t:g}: saddle at x = {-t:g}, energy {saddle:.6g}; barrier {saddle - a:.6g} from A, "
            f"{saddle - b:.6g} from B"
        ],
    )
