"""The `landscape` command: a thin click layer over the library.

Every failure a user can cause ends as one line on stderr and a non-zero exit:
LandscapeError and click's usage errors exit 2 (usage) or 1; Ctrl-C exits 130 and
SIGTERM 143 (the store keeps what was committed; `landscape_cli.entry`, the console
script, handles both from the first moment); anything unexpected exits 3 with its type
and message (set LANDSCAPE_DEBUG=1 for the traceback).  An environment the command
cannot work in (a deleted current folder, a closed or failing standard output, a bogus
MPLBACKEND) is a one-line error too.
"""

from __future__ import annotations

import os
import sys

import click

from landscape.foundations.errors import Interrupted, LandscapeError, collapse

from .align import align_cmd
from .commands import PluginCommandGroup
from .connect import connect_cmd, demo_cmd, exact_cmd
from .entry import INTERRUPTED, install, say, settle, status, who
from .explore import explore_cmd, minima_cmd, report_cmd
from .hessian import hessian_cmd
from .inspect import check_cmd, inspect_cmd, plot_group, plugins_cmd
from .process import check_environment, results
from .rates import rates_cmd
from .spectrum import spectrum_cmd
from .stores import export_cmd, upgrade_cmd

__all__ = ["cli", "main"]


# The commands here, and those plugins register under `landscape.commands` (train,
# evaluate, xor, report-table among them), loaded when named (`landscape_cli.commands`).
@click.group(cls=PluginCommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="landscape")
def cli() -> None:
    """Minimum energy paths between minima: NEB, string method, AutoNEB."""


for command in (
    demo_cmd,
    connect_cmd,
    exact_cmd,
    minima_cmd,
    explore_cmd,
    report_cmd,
    inspect_cmd,
    plot_group,
    plugins_cmd,
    hessian_cmd,
    export_cmd,
    upgrade_cmd,
    check_cmd,
    align_cmd,
    rates_cmd,
    spectrum_cmd,
):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning every error into one line."""
    code, message = _outcome(argv)
    settle(code)  # from here a signal no longer interrupts the report
    if message is not None:
        say(message)
    return code


def _outcome(argv: list[str] | None) -> tuple[int, str | None]:
    """The command's exit status and its one error line (None when it has none)."""
    try:
        check_environment()
        _run(sys.argv[1:] if argv is None else list(argv))
    except click.exceptions.Exit as exc:
        return exc.exit_code, None
    except (click.exceptions.Abort, KeyboardInterrupt):  # Ctrl-C or SIGTERM anywhere
        return status(), INTERRUPTED.format(who())
    except Interrupted as exc:  # a run that stopped and said where it keeps its work
        return status(), collapse(exc).replace("interrupted by the user", f"interrupted by {who()}")
    except click.ClickException as exc:
        return exc.exit_code, collapse(exc.format_message())
    except LandscapeError as exc:
        return 1, collapse(exc)
    except SystemExit:
        raise
    except MemoryError as exc:  # a size the guards did not foresee: the user's to change, not a bug
        return 1, (
            f"out of memory{': ' + collapse(exc) if str(exc) else ''}; a store keeps what was committed; "
            "ask for fewer points, pivots, samples or a smaller potential"
        )
    except BaseException as exc:  # noqa: BLE001 - the last line of defence: never a traceback
        if os.environ.get("LANDSCAPE_DEBUG"):
            raise
        return 3, (f"internal error {type(exc).__name__}: {collapse(exc)} (LANDSCAPE_DEBUG=1 shows the traceback)")
    return 0, None


def _run(args: list[str]) -> None:
    """The command, with its results on stdout.  With --json everything but the result
    goes to stderr, file descriptor 1 included, so what a user's potential prints (at
    import, in __init__, per evaluation, from C or Fortran code) never lands in the JSON."""
    with results("--json" in args):
        cli._main_shell_completion({}, "landscape", None)  # as click's own main() does
        # Not cli.main(): on Ctrl-C it prints a blank line before our message.
        with cli.make_context("landscape", args) as ctx:
            cli.invoke(ctx)


if __name__ == "__main__":  # python -m landscape_cli.main (the fault-injection runs): signals as the script,
    install()  # once the imports are done (landscape_cli.entry, the script, handles them from its first line)
    sys.exit(main())
