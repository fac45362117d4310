"""`landscape spectrum`: the Hessian's spectrum at a stored minimum, a path's top, a point
on a path, or along a path: top and bottom eigenvalues, Hutchinson's trace, the SLQ
density, per parameter block (`landscape.analysis.spectrum`).

The Hessian is that of the potential the store records, on its exact products where it
has them (a network: the energy on its whole training set, by autograd), else central
differences of its gradients.
"""

from __future__ import annotations

from typing import Any

import click
import numpy as np

from landscape.foundations.errors import LandscapeError

from .common import dpi_option, emit, finished_paths, picture_name, seed_option, set_threads, threads_option

__all__ = ["spectrum_cmd", "parse_at"]

_AT_FORMS = "min:NAME, saddle:PATH or path:PATH@T (T in [0, 1])"


def parse_at(text: str) -> tuple[str, str, float | None]:
    """("min" | "saddle" | "path", name, t or None) from `--at`; a one-line error otherwise."""
    kind, colon, rest = text.partition(":")
    if not colon or kind not in ("min", "saddle", "path") or not rest:
        raise LandscapeError(f"--at {text!r} is not one of {_AT_FORMS}")
    if kind != "path":
        return kind, rest, None
    name, at, fraction = rest.rpartition("@")
    try:
        t = float(fraction) if at and name else float("nan")
    except ValueError:
        t = float("nan")
    if not 0 <= t <= 1:
        raise LandscapeError(f"--at {text!r}: a point on a path is path:PATH@T with T a number in [0, 1]")
    return kind, name, t


def _point(store: Any, file: str, text: str) -> tuple[np.ndarray, str]:
    """(the point `--at` names, a description of it), read from the open store."""
    from landscape.paths import geometry

    kind, name, t = parse_at(text)
    if kind == "min":
        coords, _, names = store.read_minima()
        if name not in names:
            raise LandscapeError(f"{file} has no minimum {name!r} (minima: {', '.join(names) or 'none'})")
        return np.asarray(coords[names.index(name)], dtype=np.float64), f"minimum {name}"
    pivots, energies = _path(store, file, name)
    if kind == "path":
        return np.asarray(geometry.interpolate(pivots, np.array([t]))[0]), f"path {name} at t = {t:g}"
    if energies is None or len(pivots) < 3:
        raise LandscapeError(f"path {name} in {file} has no interior pivot with an energy to call its top")
    i = int(np.argmax(energies[1:-1])) + 1
    return pivots[i], f"path {name}, highest pivot {i} (the saddle estimate)"


def _path(store: Any, file: str, name: str) -> tuple[np.ndarray, np.ndarray | None]:
    from landscape.foundations.arrays import to_numpy

    finished = finished_paths(store)
    if name not in finished:
        raise LandscapeError(f"{file} has no finished path {name!r} (paths: {', '.join(finished) or 'none'})")
    path = store.read_result(name).path
    energies = None if path.energies is None else np.asarray(to_numpy(path.energies), dtype=np.float64)
    return np.asarray(to_numpy(path.pivots), dtype=np.float64), energies


#: Hutchinson probes at most: a million Hessian-vector products is days on a network.
MAX_TRACE_SAMPLES = 1_000_000


@click.command("spectrum")
@click.argument("file")
@click.option("--at", "at", default=None, metavar="WHERE", help=f"Where: {_AT_FORMS}.")
@click.option("--top", type=int, default=3, show_default=True, help="Largest eigenvalues (0: none).")
@click.option("--bottom", type=int, default=3, show_default=True, help="Smallest eigenvalues (0: none).")
@click.option(
    "--trace-samples", type=int, default=100, show_default=True, help="Hutchinson's Rademacher probes (0: no trace)."
)
@click.option("--density", is_flag=True, help="The spectral density by stochastic Lanczos quadrature.")
@click.option("--steps", type=int, default=30, show_default=True, help="Density: Lanczos steps per start.")
@click.option("--starts", type=int, default=8, show_default=True, help="Density: random starts.")
@click.option("--per-layer", is_flag=True, help="Also each parameter block's own Hessian (a network's tensors).")
@click.option("--along", default=None, metavar="PATH", help="Also at --points points along this stored path.")
@click.option("--points", type=int, default=9, show_default=True, help="Points along --along, ends included.")
@click.option(
    "--samples",
    type=int,
    default=1024,
    show_default=True,
    help="A network's Hessian: training samples of the loss, a seeded subset (0: all of them).",
)
@click.option(
    "--chunk",
    type=int,
    default=256,
    show_default=True,
    help="A network's Hessian: samples differentiated twice at once; larger sets are summed chunk by chunk.",
)
@click.option(
    "--tol",
    type=float,
    default=0.0,
    show_default=True,
    help="Lanczos's relative tolerance for the eigenvalues (0: machine precision).",
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of the random starts and probes.", callback=seed_option
)
@click.option("--recompute", is_flag=True, help="Compute again and replace what the store holds for these settings.")
@click.option("--figure", default=None, help="Picture of the density, the blocks and the path (.png, .pdf, .svg).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@dpi_option
@threads_option
def spectrum_cmd(
    file: str,
    at: str | None,
    top: int,
    bottom: int,
    trace_samples: int,
    density: bool,
    steps: int,
    starts: int,
    per_layer: bool,
    along: str | None,
    points: int,
    samples: int,
    chunk: int,
    tol: float,
    seed: int,
    recompute: bool,
    figure: str | None,
    as_json: bool,
    dpi: int,
    threads: int | None,
) -> None:
    """The Hessian's spectrum at a stored point of FILE (--at) or along a stored path
    (--along): top and bottom eigenvalues by Lanczos, the trace by Hutchinson with its
    standard error, the spectral density (--density), per parameter block (--per-layer).

    Each spectrum is stored in FILE as it finishes (one group per place and settings), and
    a rerun with the same settings reads it instead of computing it again.

    \b
    Example: landscape spectrum mb --at saddle:A-B --density --json
    """
    from landscape.store import Store

    from .explore import potential_from_description

    if at is None and along is None:
        raise LandscapeError(f"say where: --at {_AT_FORMS}, or --along PATH")
    for name, value in (("top", top), ("bottom", bottom)):
        if value < 0:
            raise LandscapeError(f"--{name} must be >= 0, got {value}")
    if not 0 <= trace_samples <= MAX_TRACE_SAMPLES:  # one Hessian-vector product each
        raise LandscapeError(f"--trace-samples must be from 0 to {MAX_TRACE_SAMPLES}, got {trace_samples}")
    for name, value in (("steps", steps), ("starts", starts), ("points", points), ("chunk", chunk)):
        if value < 1:
            raise LandscapeError(f"--{name} must be >= 1, got {value}")
    for name, value in (("samples", samples), ("tol", tol)):
        if not 0 <= value < float("inf"):  # a NaN tolerance too
            raise LandscapeError(f"--{name} must be >= 0 and finite, got {value}")
    if figure and not (density or per_layer or along):
        raise LandscapeError(
            "--figure draws the density, the blocks or the path: add --density, --per-layer or --along"
        )
    picture = picture_name(file, figure, "spectrum") if figure else None
    set_threads(threads)
    with Store.open(file) as store:
        point, where = _point(store, file, at) if at is not None else (None, None)
        pivots = _path(store, file, along)[0] if along is not None else None
        pot = potential_from_description(store.potential_description)[0]
    options = dict(top=top, bottom=bottom, trace_samples=trace_samples, density=density, steps=steps, starts=starts)
    options.update(
        per_block=per_layer, seed=seed, tol=tol, hessian_options={"samples": samples or None, "chunk": chunk}
    )
    spectra = _Spectra(file, pot, options, recompute)
    found = spectra.at(_place(at), point, where) if point is not None else None
    path = spectra.along(along, pivots, points) if pivots is not None else None
    written = _picture(picture, found, path, f"{file}: {pot.name}", dpi) if picture else None
    payload: dict[str, Any] = {"store": file, "potential": pot.name, "dim": pot.dim, "figure": written}
    payload.update(computed=spectra.computed, read_from_store=spectra.read, not_stored=spectra.unstored or None)
    lines = [f"{file}: Hessian spectrum of {pot.name} ({pot.dim} dimensions)"]
    if found is not None:
        payload["at"] = {"where": at, "point": where, "from_store": spectra.was_read[0], **found.to_json()}
        note = ", read from the store" if spectra.was_read[0] else ""
        lines += [f"at {where} ({found.products} Hessian-vector products{note}):", *_lines(found, "  ")]
    if path is not None:
        from_store = spectra.was_read[-points:]
        payload["along"] = {"path": along, "from_store": from_store, **path.to_json()}
        spent = sum(s.products for s in path.spectra)
        note = f", {sum(from_store)} points read from the store" if any(from_store) else ""
        lines.append(f"along path {along}, {points} points ({spent} Hessian-vector products{note}):")
        lines += [f"  t = {t:.3f}: {'; '.join(_lines(s, '', blocks=False))}" for t, s in zip(path.t, path.spectra)]
    if spectra.unstored:
        lines.append(f"not stored: {spectra.unstored}")
    if written:
        lines.append(f"figure: {written}")
    emit(as_json, payload, lines)


def _place(at: str | None) -> str:
    """`--at` written one way for each point, the name its stored spectrum goes by."""
    if at is None:
        return ""
    kind, name, t = parse_at(at)
    return f"{kind}:{name}" if t is None else f"path:{name}@{t!r}"


class _Spectra:
    """Spectra computed or read from the store, each stored as soon as it is done."""

    def __init__(self, file: str, pot: Any, options: dict[str, Any], recompute: bool):
        from landscape.store.opening import check_writable

        self.file, self.pot, self.options, self.recompute = file, pot, options, recompute
        self.settings = {k: v for k, v in options.items() if k != "hessian_options"}
        self.settings.update(options["hessian_options"])
        self.was_read: list[bool] = []
        self.computed = self.read = 0
        try:
            check_writable(file)
            self.unstored = ""
        except LandscapeError as exc:  # a read-only store: computed, not kept
            self.unstored = str(exc)

    def at(self, place: str, point: np.ndarray, where: str) -> Any:
        from landscape.analysis.spectra_store import read_spectrum, stored_spectrum
        from landscape.analysis.spectrum import spectrum
        from landscape.store import Store

        def compute() -> Any:
            return spectrum(self.pot, point, **self.options)

        if self.unstored:
            with Store.open(self.file) as store:
                held = None if self.recompute else read_spectrum(store, place, self.settings, point)
            found, read = (held, True) if held is not None else (compute(), False)
        else:
            found, read = stored_spectrum(
                self.file, place, self.settings, point, compute, where=where, recompute=self.recompute
            )
        self.was_read.append(read)
        self.read, self.computed = self.read + read, self.computed + (not read)
        return found

    def along(self, name: str, pivots: np.ndarray, points: int) -> Any:
        from landscape.analysis.spectrum import SpectraAlong
        from landscape.paths.geometry import interpolate

        t = np.linspace(0, 1, points)
        spectra = [
            self.at(f"path:{name}@{float(u)!r}", p, f"path {name} at t = {u:g}")
            for u, p in zip(t, interpolate(pivots, t))
        ]
        return SpectraAlong(t, tuple(spectra))


def _lines(s: Any, indent: str, *, blocks: bool = True) -> list[str]:
    out = []
    if s.top is not None:
        out.append(f"{indent}top {len(s.top.values)}: {', '.join(f'{v:.6g}' for v in s.top.values[::-1])}")
    if s.bottom is not None:
        out.append(f"{indent}bottom {len(s.bottom.values)}: {', '.join(f'{v:.6g}' for v in s.bottom.values)}")
    if s.trace is not None:
        out.append(
            f"{indent}trace {s.trace.trace:.6g} +- {s.trace.standard_error:.2g} ({s.trace.samples} Rademacher probes)"
        )
    if s.density is not None:
        d = s.density
        out.append(
            f"{indent}density: {d.starts} starts x {d.steps} steps, sigma {d.sigma:.3g}, mean eigenvalue "
            f"{d.moment(1):.6g} +- {d.moment_error(1):.2g}, mean square {d.moment(2):.6g} +- {d.moment_error(2):.2g}"
        )
    if blocks and s.blocks:
        out.append(f"{indent}per parameter block:")
        for name, b in s.blocks.items():
            out.append(f"{indent}  {name} ({b.dim}): {'; '.join(_lines(b, '', blocks=False))}")
    return out


def _picture(name: str, found: Any, path: Any, title: str, dpi: int) -> str | None:
    from landscape.plotting.figures import save_figure
    from landscape.plotting.spectra import spectrum_figure

    return save_figure(spectrum_figure(found, path, title=title), name, dpi)
