"""`landscape hessian`: the Hessian at stored minima and at the tops of stored paths.

One analysis for every potential (`landscape.analysis.reports`), on the Hessian-vector
products its hook gives (a network's: autograd on the data loss of a seeded subset of
`--samples`, `--chunk` at a time) or on central differences of its gradients.  The
options go only to a hook that takes them (`accepted_options`), so this command imports
no plugin and names none.
"""

from __future__ import annotations

from typing import Any

import click
import numpy as np

from landscape.foundations.errors import LandscapeError

from .common import emit, finished_paths, pick_names, progress_bar, progress_option, set_threads, threads_option

__all__ = ["hessian_cmd"]


@click.command("hessian")
@click.argument("file")
@click.option("--minimum", "minima", multiple=True, help="Stored minimum (repeatable) [default: all].")
@click.option(
    "--path",
    "paths",
    multiple=True,
    help="Stored path whose climbing image (highest pivot) to analyse (repeatable) [default: all].",
)
@click.option(
    "--samples",
    type=int,
    default=1024,
    show_default=True,
    help="Training samples of a loss with data (a network), a seeded subset (0: all of them).",
)
@click.option(
    "--chunk",
    type=int,
    default=256,
    show_default=True,
    help="Samples differentiated twice at once; larger sets are summed chunk by chunk (bounded memory).",
)
@click.option("--rtol", type=float, default=1e-3, show_default=True, help="Near zero: |lambda| <= rtol max|lambda|.")
@click.option(
    "--dense-limit",
    type=int,
    default=3000,
    show_default=True,
    help="Exact spectrum up to this many dimensions; Lanczos and a stochastic Lanczos estimate above.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@progress_option
@threads_option
def hessian_cmd(
    file: str,
    minima: tuple[str, ...],
    paths: tuple[str, ...],
    samples: int,
    chunk: int,
    rtol: float,
    dense_limit: int,
    as_json: bool,
    progress: bool | None,
    threads: int | None,
) -> None:
    """Hessian at stored minima and at the climbing images of stored paths, for every
    potential on the same analysis: extreme eigenvalues, near-zero count (and how many the
    invariances explain), curvature along the path tangent, lowest eigenvalues, index and
    gradient norm; for a network, of the data loss by autograd, for any other potential
    from its exact products or its gradients.

    \b
    Example: landscape hessian mb --json
    """
    from landscape.analysis.hessian import accepted_options
    from landscape.analysis.reports import climbing_image_analysis, minimum_report
    from landscape.store import Store

    from .explore import potential_from_description

    if samples < 0 or not 0 < rtol < float("inf") or dense_limit < 0 or chunk < 1:
        raise LandscapeError("--samples and --dense-limit must be >= 0, --chunk >= 1 and --rtol > 0 and finite")
    set_threads(threads)
    with Store.open(file) as store:
        coords, _, names = store.read_minima()
        finished = finished_paths(store)
        pick_min = pick_names(names, minima, "minimum", file) if minima or not paths else []
        pick_paths = pick_names(finished, paths, "path", file) if paths or not minima else []
        results = {p: store.read_result(p) for p in pick_paths}
        tangents = {m: _tangent_at(store, m, finished) for m in pick_min}
        pot = potential_from_description(store.potential_description)[0]
    # a loss with data and a regulariser: the data term alone, on a seeded subset, in chunks
    options = accepted_options(pot, {"samples": samples or None, "chunk": chunk, "include_l2": False})
    at_minima = {}
    for m in progress_bar(pick_min, progress, "minima"):
        tangent, along = tangents[m]
        x = coords[names.index(m)]
        report = minimum_report(pot, x, tangent, rtol=rtol, dense_limit=dense_limit, **options)
        at_minima[m] = {**report, "tangent_of": along}
    at_paths = {
        p: {**climbing_image_analysis(pot, results[p], **options), "climbing": bool(results[p].climbing)}
        for p in progress_bar(pick_paths, progress, "paths")
        if results[p].path.energies is not None
    }
    payload = {"store": file, "samples": options.get("samples"), "rtol": rtol, "minima": at_minima, "paths": at_paths}
    emit(as_json, payload, _lines(file, pot, options, at_minima, at_paths))


def _tangent_at(store: Any, name: str, paths: list[str]) -> tuple[Any, str | None]:
    """The unit tangent of a stored path at minimum `name` (None when no path starts or ends there)."""
    from landscape.analysis.curvature import path_end_tangents

    for p in paths:
        info = store.path_info(p)
        if name in (info.get("start"), info.get("end")):
            t0, t1 = path_end_tangents(np.asarray(store.read_result(p).path.pivots, dtype=np.float64))
            return (t0 if info.get("start") == name else t1), p
    return None, None


def _zero_note(r: dict[str, Any]) -> str:
    """ "6 zero modes (the symmetry's 6), " when a dense spectrum has any."""
    z, expected = r["hessian_zero_modes"], r["symmetry_zero_modes"]
    if not z or r["hessian_method"] != "dense":
        return ""
    return f"{z} zero modes ({'the symmetry explains ' + str(expected) if expected else 'no symmetry declared'}), "


def _lines(file: str, pot: Any, options: dict[str, Any], minima: dict[str, Any], paths: dict[str, Any]) -> list[str]:
    data = options.get("samples") or "all"
    how = f"of the data loss on {data} training samples" if "samples" in options else "from its gradients or products"
    lines = [f"{file}: Hessian of {pot.name} {how} ({pot.dim} dimensions)"]
    for m, r in minima.items():
        curv = "-" if r["tangent_curvature"] is None else f"{r['tangent_curvature']:.4g} (path {r['tangent_of']})"
        lines.append(
            f"  minimum {m}: largest {r['largest']:.4g}, smallest {r['smallest']:.4g}, near zero "
            f"{r['near_zero']} ({r['near_zero_method']}, |lambda| <= {r['threshold']:.3g}; "
            f"{r['invariances']} of them invariances, {r['near_zero_beyond_invariances']} beyond), "
            f"curvature along the path {curv}, gradient norm {r['saddle_gradient_norm']:.3g}"
        )
        lines += [f"    warning: {w}" for w in r["warnings"]]
    for p, r in paths.items():
        lines.append(
            f"  path {p}, {'climbing image' if r['climbing'] else 'highest pivot'} (pivot {r['pivot']}): "
            f"index {r['saddle_index_of_hessian']}, {_zero_note(r)}lowest eigenvalue {r['smallest_eigenvalue']:.6g}, "
            f"largest {r['largest_eigenvalue']:.4g}, curvature along the path {r['tangent_curvature']:.4g}, "
            f"gradient norm {r['gradient_norm']:.3g}"
        )
        lines += [f"    warning: {w}" for w in r["warnings"]]
    return lines
