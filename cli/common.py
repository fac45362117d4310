"""Shared CLI pieces: the group class, potential/point options, JSON output."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

import click
import numpy as np

from landscape.foundations.arrays import to_numpy
from landscape.foundations.errors import LandscapeError
from landscape.potentials.potential import Potential

__all__ = [
    "LandscapeGroup",
    "named",
    "RENAMED",
    "potential_options",
    "build_potential",
    "resolve_point",
    "emit",
    "json_number",
    "picture_name",
    "dpi_option",
    "progress_option",
    "want_progress",
    "progress_bar",
    "threads_option",
    "set_threads",
    "seed_option",
    "pick_names",
    "positive",
    "finished_paths",
]


#: Options renamed for one vocabulary (`--out` a store, `--figure` a picture,
#: `--out-dir` a folder; counts named for what they count): old -> new, per command.
RENAMED: dict[str, dict[str, str]] = {
    "minima": {"--n": "--starts"},
    "train": {"--n": "--minima"},
    "explore": {"--batch": "--pairs-per-round"},
    "report": {"--level": "--clusters-at"},
    "dgraph": {"--levels": "--guide-levels", "--out": "--figure"},
    "plane": {"--out": "--figure"},
    "profile": {"--out": "--figure"},
    "evaluate": {"--out": "--figure"},
    "demo": {"--out": "--out-dir"},
    "xor": {"--out": "--out-dir"},
}


def _renamed(command: str, args: list[str]) -> list[str]:
    """`args` with the command's old option names replaced, each replacement noted on stderr
    (a token equal to an old name is taken for the option: no option value looks like one)."""
    table = RENAMED.get(command, {})
    out = []
    for arg in args:
        name, eq, value = arg.partition("=")
        if name in table:
            click.echo(f"note: {command} {name} is now {table[name]}", err=True)
            arg = table[name] + eq + value
        out.append(arg)
    return out


class LandscapeGroup(click.Group):
    """A click group; the one place to hook shared behaviour of commands (renamed options)."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[Any, Any, list[str]]:
        name, cmd, rest = super().resolve_command(ctx, args)
        return name, cmd, _renamed(name or "", rest)


def named(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Callback of a file or folder option: an empty name is refused, not read as "none"
    (`--out ''` once ran and stored nothing) nor as the current folder."""
    if value is not None and not value.strip():
        raise LandscapeError(f"{param.opts[0]} needs a name, got an empty one")
    return value


def potential_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """POTENTIAL argument plus repeated `-o key=value` plugin options."""
    fn = click.option(
        "-o",
        "--option",
        "options",
        multiple=True,
        metavar="KEY=VALUE",
        help="Option for the potential plugin (repeatable), e.g. -o dim=1000.",
    )(fn)
    return click.argument("potential")(fn)


def build_potential(spec: str, options: tuple[str, ...]) -> Potential:
    from landscape.potentials.registry import load_potential, parse_options

    return load_potential(spec, parse_options(options))


def resolve_point(potential: Potential, text: str, what: str) -> tuple[str, np.ndarray]:
    """A named minimum of the potential, or comma-separated coordinates."""
    if text in potential.minima:
        return text, np.asarray(to_numpy(potential.minima[text]), dtype=np.float64)
    try:
        values = np.array([float(v) for v in text.split(",")], dtype=np.float64)
    except ValueError:
        known = ", ".join(sorted(potential.minima)) or "none"
        raise LandscapeError(
            f"--{what} {text!r} is neither a named minimum (known: {known}) nor comma-separated numbers"
        ) from None
    if values.shape != (potential.dim,):
        raise LandscapeError(f"--{what} has {values.size} coordinates, the potential has dim={potential.dim}")
    return text, values


def json_number(x: float) -> float | None:
    """JSON has no NaN/inf; report them as null."""
    return float(x) if math.isfinite(x) else None


def json_clean(value: Any) -> Any:
    """Plain JSON values, recursively: NaN and infinities as null (JSON has none), numpy
    scalars and arrays as Python numbers and lists."""
    if isinstance(value, np.ndarray):
        return json_clean(value.tolist())
    if isinstance(value, (float, np.floating)):
        return json_number(float(value))
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, Mapping):
        return {k: json_clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_clean(v) for v in value]
    return value


def dpi_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`--dpi`: resolution of raster pictures (PDF and SVG are vector)."""
    return click.option(
        "--dpi",
        type=click.IntRange(30, 1200),
        default=150,
        show_default=True,
        help="Resolution of a .png (PDF and SVG are vectors).",
    )(fn)


_PROGRESS_HELP = "Progress bar on stderr (default: when stderr is a terminal)."


def progress_option(fn: Callable[..., Any] | None = None, *, help: str = _PROGRESS_HELP) -> Any:
    """`--progress/--no-progress`, by default on when stderr is a terminal; as a bare
    decorator, or called with another `help`."""
    option = click.option("--progress/--no-progress", default=None, help=help)
    return option if fn is None else option(fn)


def want_progress(flag: bool | None) -> bool:
    import sys

    return sys.stderr.isatty() if flag is None else flag


def progress_bar(items: Any, flag: bool | None, unit: str) -> Any:
    """`items`, with a progress bar over them on stderr when asked (or on a terminal)."""
    if not want_progress(flag):
        return items
    from tqdm.auto import tqdm

    return tqdm(items, unit=unit[:-1] if unit.endswith("s") else unit, desc=unit, leave=False, dynamic_ncols=True)


def threads_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`--threads N`: torch's intra-op threads for network potentials."""
    return click.option(
        "--threads",
        type=int,
        default=None,
        help="Torch threads for network potentials [default: torch's, one per core]; "
        "1 is faster for small networks (docs/torch.md).",
    )(fn)


#: The most threads --threads sets: far more than any machine's cores.
MAX_THREADS = 4096


def seed_option(ctx: Any, param: Any, value: Any) -> Any:
    """click callback of a --seed option (one or repeated): each from 0 to 2**63 - 1,
    refused in one line before any work (torch overflows on larger ones)."""
    from landscape.foundations.values import check_seed

    for v in value if isinstance(value, tuple) else (value,):  # a repeated option gives a tuple
        check_seed(v, f"--{param.name.rstrip('s')}")
    return value


def set_threads(threads: int | None) -> None:
    if threads is None:
        return
    if not 1 <= threads <= MAX_THREADS:  # torch's setter overflows past a C int
        raise LandscapeError(f"--threads must be from 1 to {MAX_THREADS}, got {threads}")
    try:
        import torch
    except ModuleNotFoundError:
        raise LandscapeError(
            "--threads sets torch's threads, and torch is not installed: pip install 'landscape[torch]'"
        ) from None
    torch.set_num_threads(threads)


def picture_name(store: str, out: str | None, suffix: str) -> str:
    """The picture to write: `out`, or beside the store with `suffix` (mb -> mb-profile.png),
    checked (folder, format) before any work."""
    import os

    from landscape.plotting.figures import figure_name

    return figure_name(out or os.path.splitext(store.rstrip("/"))[0] + f"-{suffix}.png")


#: Where results go: the real stdout, guarded, set by `process.results` while a command
#: runs (a --json command runs with sys.stdout and descriptor 1 pointed at stderr, so a
#: potential that prints cannot spoil the JSON).
RESULTS: list[Any] = []


def emit(as_json: bool, payload: dict[str, Any], lines: list[str]) -> None:
    """Print one JSON object (machine use; NaN and inf anywhere in `payload` become
    null, so callers need not clean it) or readable lines."""
    out = RESULTS[-1] if RESULTS else None
    if as_json:  # strict JSON: a NaN or inf anywhere is null, never the invalid token NaN
        click.echo(json.dumps(json_clean(payload), indent=None, sort_keys=True, allow_nan=False), file=out)
    else:
        for line in lines:
            click.echo(line, file=out)


def pick_names(available: list[str], wanted: tuple[str, ...], what: str, file: str) -> list[str]:
    """The names `wanted` (all `available` when none are), each checked to be in the
    store `file`: one line naming the first missing `what` (a minimum, a path)."""
    missing = [w for w in wanted if w not in available]
    if missing:
        raise LandscapeError(f"{file} has no {what} {missing[0]!r} ({what}s: {', '.join(available) or 'none'})")
    return list(wanted) if wanted else available


def positive(**values: Any) -> None:
    """Each option given (not None) must be a positive finite number: one line naming the
    first that is not (`batch_size=0` -> "--batch-size must be positive and finite, got 0")."""
    for name, value in values.items():
        if value is not None and not (value > 0 and math.isfinite(value)):
            raise LandscapeError(f"--{name.replace('_', '-')} must be positive and finite, got {value}")


def finished_paths(store: Any) -> list[str]:
    """The paths of an open store whose run has ended (any status but running)."""
    from landscape.paths.result import Status

    return [n for n in store.path_names() if store.path_info(n).get("status") != Status.RUNNING.value]
