"""`landscape hessian`: the Hessian at stored minima and at the tops of stored paths.

For any potential it is built from the gradients (`landscape.analysis.hessian`).  A
potential whose plugin analyses its own Hessians names that analysis in its attribute
`hessian_command` ("module:function", imported only then): network potentials do
(`landscape_plugins.torchnet.commands.network_hessian`, of the data loss, by autograd),
so this command imports no plugin.
"""

from __future__ import annotations

from typing import Any

import click

from landscape.foundations.errors import LandscapeError

from .common import emit, finished_paths, pick_names, progress_option, set_threads, threads_option

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
    help="Training samples of the loss, a seeded subset (0: all of them).",
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
    help="Exact spectrum up to this many parameters; stochastic Lanczos estimate above.",
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
    """Hessian at stored minima and at the climbing images of stored paths: for a network,
    of the data loss (extreme eigenvalues, near-zero count, curvature along the path
    tangent); for any other potential, from its gradients (lowest eigenvalues, index,
    gradient norm, curvature along the path).

    \b
    Example: landscape hessian mb --json
    """
    from landscape.potentials.registry import import_target
    from landscape.store import Store

    from .explore import potential_from_description

    if samples < 0 or not rtol > 0 or dense_limit < 0 or chunk < 1:
        raise LandscapeError("--samples and --dense-limit must be >= 0, --chunk >= 1 and --rtol > 0")
    set_threads(threads)
    with Store.open(file) as store:
        coords, _, names = store.read_minima()
        finished = finished_paths(store)
        pick_min = pick_names(names, minima, "minimum", file) if minima or not paths else []
        pick_paths = pick_names(finished, paths, "path", file) if paths or not minima else []
        results = {p: store.read_result(p) for p in pick_paths}
        pot = potential_from_description(store.potential_description)[0]
    at = {m: coords[names.index(m)] for m in pick_min}
    own = getattr(pot, "hessian_command", None)
    if own is not None:  # a plugin's own analysis for its potentials (a network's, of the data loss)
        analyse = import_target(own)
        analyse(
            file,
            pot,
            at,
            results,
            samples=samples,
            chunk=chunk,
            rtol=rtol,
            dense_limit=dense_limit,
            as_json=as_json,
            progress=progress,
        )
        return
    _generic_hessian(file, pot, at, results, as_json)


def _zero_note(r: dict[str, Any]) -> str:
    """ "6 zero modes (the symmetry's 6), " when a dense spectrum has any."""
    z, expected = r["hessian_zero_modes"], r["symmetry_zero_modes"]
    if not z or r["hessian_method"] != "dense":
        return ""
    return f"{z} zero modes ({'the symmetry explains ' + str(expected) if expected else 'no symmetry declared'}), "


def _lowest(r: dict[str, Any]) -> float:
    """The lowest eigenvalue outside the zero band (of the whole spectrum when dense)."""
    v = r["lowest_nonzero_eigenvalue"]
    return v if v == v else r["hessian_eigenvalues"][0]


def _generic_hessian(file: str, pot: Any, minima: dict[str, Any], results: dict[str, Any], as_json: bool) -> None:
    from landscape.analysis.verdicts import analyse_minimum, analyse_top

    at_minima = {m: analyse_minimum(pot, x) for m, x in minima.items()}
    at_paths = {
        p: {**analyse_top(pot, r), "climbing": bool(r.climbing)}
        for p, r in results.items()
        if r.path.energies is not None
    }
    lines = [f"{file}: Hessian of {pot.name} from its gradients ({pot.dim} dimensions)"]
    for m, r in at_minima.items():
        lines.append(
            f"  minimum {m}: {_zero_note(r)}lowest eigenvalue {_lowest(r):.4g}, "
            f"gradient norm {r['saddle_gradient_norm']:.3g}"
        )
        lines += [f"    warning: {w}" for w in r["warnings"]]
    for p, r in at_paths.items():
        lines.append(
            f"  path {p}, {'climbing image' if r['climbing'] else 'highest pivot'} (pivot {r['pivot']}): "
            f"index {r['saddle_index_of_hessian']}, {_zero_note(r)}lowest eigenvalue "
            f"{r['hessian_eigenvalues'][0]:.6g}, "
            f"curvature along the path {r['tangent_curvature']:.4g}, "
            f"gradient norm {r['saddle_gradient_norm']:.3g}"
        )
        lines += [f"    warning: {w}" for w in r["warnings"]]
    emit(as_json, {"store": file, "minima": at_minima, "paths": at_paths}, lines)
