"""The `landscape` command: a thin click layer over the library.

Every failure a user can cause ends as one line on stderr and a non-zero exit:
LandscapeError and click's usage errors exit 2 (usage) or 1; Ctrl-C, at start-up or
mid-run, exits 130 (the store keeps what was committed); anything unexpected exits 3
with its type and message (set LANDSCAPE_DEBUG=1 for the traceback).
"""
from __future__ import annotations

import contextlib
import os
import sys

import click

from landscape.errors import Interrupted, LandscapeError, collapse

from .align import align_cmd
from .common import RESULTS, LandscapeGroup
from .connect import connect_cmd, demo_cmd, exact_cmd
from .explore import explore_cmd, minima_cmd, report_cmd
from .inspect import check_cmd, inspect_cmd, plot_group, plugins_cmd
from .network import evaluate_cmd, hessian_cmd, report_table_cmd, train_cmd, xor_cmd
from .stores import export_cmd, upgrade_cmd

__all__ = ["cli", "main"]


@click.group(cls=LandscapeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="landscape")
def cli() -> None:
    """Minimum energy paths between minima: NEB, string method, AutoNEB."""


for command in (demo_cmd, connect_cmd, exact_cmd, minima_cmd, explore_cmd, report_cmd, inspect_cmd, plot_group,
                plugins_cmd, train_cmd, evaluate_cmd, hessian_cmd, xor_cmd, report_table_cmd, export_cmd, upgrade_cmd,
                check_cmd, align_cmd):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning every error into one line."""
    try:
        _run(argv)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):  # Ctrl-C anywhere, start-up included
        click.echo("error: interrupted by the user; a store keeps what was committed, and the same "
                   "command continues it", err=True)
        return 130
    except Interrupted as exc:
        click.echo(f"error: {collapse(exc)}", err=True)
        return 130
    except click.ClickException as exc:
        click.echo(f"error: {collapse(exc.format_message())}", err=True)
        return exc.exit_code
    except LandscapeError as exc:
        click.echo(f"error: {collapse(exc)}", err=True)
        return 1
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a traceback
        if os.environ.get("LANDSCAPE_DEBUG"):
            raise
        click.echo(f"error: internal error {type(exc).__name__}: {collapse(exc)} "
                   "(LANDSCAPE_DEBUG=1 shows the traceback)", err=True)
        return 3
    return 0


def _run(argv: list[str] | None) -> None:
    """The command; with --json everything but the result goes to stderr, so what a
    user's potential prints (at import, in __init__, per evaluation) never lands in
    the JSON on stdout."""
    args = sys.argv[1:] if argv is None else argv
    if "--json" not in args:
        cli.main(args=argv, prog_name="landscape", standalone_mode=False)
        return
    RESULTS.append(sys.stdout)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            cli.main(args=argv, prog_name="landscape", standalone_mode=False)
    finally:
        RESULTS.pop()


if __name__ == "__main__":  # python -m landscape_cli.main (used by the fault-injection runs)
    sys.exit(main())
