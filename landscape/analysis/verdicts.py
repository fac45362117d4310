"""What the Hessian says about a run: warnings at a path's top, the analyses of a top and
of a minimum, and the verdict on a run whose climber is no first-order saddle."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from landscape.analysis.curvature import path_top
from landscape.analysis.hessian import certify, hessian_products, minimum_problems, split_spectrum
from landscape.paths.result import Status
from landscape.potentials.potential import Potential

__all__ = ["saddle_warnings", "analyse_top", "top_fields", "analyse_minimum", "judge"]


def saddle_warnings(
    climbing: bool,
    eigenvalues: Any,
    tangent_curvature: float,
    gradient_norm: float,
    largest: float,
    gtol: float = 1e-3,
    zero_modes: int = 0,
) -> list[str]:
    """Why a highest pivot is not (yet) a converged first-order saddle, or []: it must
    be a climbing image, with exactly one negative eigenvalue among `eigenvalues` (the
    symmetry's `zero_modes` and near-zero ones below ZERO_RTOL of `largest` not counted,
    `split_spectrum`), negative curvature along the path, and a gradient norm below
    `gtol` times the largest curvature (a scale-free stationarity test)."""
    ev = np.sort(np.asarray(eigenvalues, dtype=float))
    out = [] if climbing else ["not a climbing image: the highest pivot bounds the saddle from above, it is not on it"]
    negatives = split_spectrum(ev, zero_modes, largest)[0]
    if negatives == 0:
        out.append(f"no negative eigenvalue (smallest {ev[0]:.3g}): not a saddle")
    elif negatives > 1:
        more = "at least " if negatives >= ev.size - zero_modes else ""
        out.append(f"{more}{negatives} negative eigenvalues: a saddle of index >= 2, not first-order")
    if tangent_curvature >= 0:
        out.append(
            f"curvature along the path {tangent_curvature:.3g} >= 0: the negative mode does not lie along the path"
        )
    if gradient_norm > gtol * max(abs(largest), 1e-12):
        out.append(
            f"gradient norm {gradient_norm:.3g} is not small against the curvature scale {abs(largest):.3g}: "
            "not converged"
        )
    return out


def analyse_top(potential: Potential, result: Any, *, k: int = 3) -> dict[str, Any]:
    """The Hessian at the highest pivot of `result` (its climbing image): certificate,
    curvature along the path's tangent, and `warnings` when it is not a converged
    first-order saddle (see `saddle_warnings`)."""
    i, x, tau = path_top(result.path)
    products = hessian_products(potential, x)  # one set for the spectrum and the tangent
    cert = certify(potential, x, k=k, products=products)
    return top_fields(result, i, tau, cert, products, cert.scale)


def top_fields(result: Any, pivot: int, tau: Any, cert: Any, products: Any, scale: float) -> dict[str, Any]:
    """The fields every report of a path's top carries: the pivot, the certificate's
    summary, the curvature along the tangent `tau`, the lowest mode's overlap with it,
    and `saddle_warnings` judged against the curvature `scale`."""
    curvature = float(tau @ products(tau[None])[0])
    warnings = saddle_warnings(
        bool(getattr(result, "climbing", False)),
        cert.eigenvalues,
        curvature,
        cert.gradient_norm,
        scale,
        zero_modes=cert.symmetry_zero_modes,
    )
    return {
        "pivot": pivot,
        **cert.summary(),
        "tangent_curvature": curvature,
        "mode_along_path": float(abs(cert.mode @ tau)),
        "warnings": warnings,
    }


def analyse_minimum(potential: Potential, x: Any, *, k: int = 3) -> dict[str, Any]:
    """The Hessian at a stored minimum: its lowest eigenvalues (none may be negative, and
    no more may vanish than the potential's symmetry explains)."""
    cert = certify(potential, x, k=k)
    return {**cert.summary(), "warnings": minimum_problems(cert)}


def judge(result: Any, report: dict[str, Any]) -> Any:
    """`result`, marked NOT_A_SADDLE when it claims success with its climbing image at
    the top of its path while the Hessian there (`report`, from `analyse_top`) is not
    certified index 1; unchanged when it claims no success, has no climber at the top,
    or `report` holds no Hessian (none affordable, or none could be formed).

    Examples
    --------
    >>> from landscape.runs.pair import connect
    >>> from landscape.potentials.registry import load_potential
    >>> ring = load_potential("ring")
    >>> r = connect(ring, ring.minima["A"], ring.minima["B"], method="neb", spring=50.0)
    >>> judge(r, analyse_top(ring, r)).status.value
    'not_a_saddle'
    """
    if not (result.success and result.climber_at_top) or "saddle_index_of_hessian" not in report:
        return result
    index, complete = int(report["saddle_index_of_hessian"]), bool(report["index_complete"])
    if index == 1 and complete:
        return result
    what = (
        "no negative eigenvalue (a minimum across every direction)"
        if index == 0
        else f"{'' if complete else 'at least '}{index} negative eigenvalues (a maximum of index {index})"
    )
    return replace(
        result,
        status=Status.NOT_A_SADDLE,
        message=(f"{result.message}; but the Hessian at the climbing image has {what}, so it is no first-order saddle"),
    )
