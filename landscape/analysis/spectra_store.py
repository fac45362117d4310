"""Hessian spectra kept in the store, so that a rerun reads what a finished one computed.

A spectrum at one place (`--at min:0`, `saddle:0-1`, `path:0-1@0.5`; a point along a path
is the place `path:NAME@T`) with given settings is one group, `SPECTRUM_GROUP` named by
the place and a digest of the settings (`spectrum_group`): other settings at the same
place are another group beside it, never a replacement.  The group holds the spectrum's
JSON (`Spectrum.to_json`, as bytes: a density's grid outgrows an attribute) and its
eigenvectors, and in its attributes the place, the settings, and a digest of the point:
a group whose point differs (its path was recomputed since) is stale, and computing
again replaces it.  Each spectrum is written in its own transaction as soon as it is
done, so a run killed along a path keeps the points it finished.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from landscape.analysis.density import Density
from landscape.analysis.spectrum import Eigenpairs, Spectrum, TraceEstimate
from landscape.foundations.errors import LandscapeError
from landscape.potentials.identity import points_digest
from landscape.store import Store
from landscape.store.layout import SPECTRUM_GROUP

__all__ = ["spectrum_group", "spectrum_from_json", "read_spectrum", "write_spectrum", "stored_spectrum"]


def _settings_json(settings: Mapping[str, Any]) -> str:
    return json.dumps(dict(settings), sort_keys=True, default=str)


def spectrum_group(place: str, settings: Mapping[str, Any]) -> str:
    """The group of the spectrum at `place` ("min:0", "path:0-1@0.5") with `settings`:
    the place in characters a group name keeps, and a digest of place and settings."""
    digest = hashlib.sha1(f"{place}|{_settings_json(settings)}".encode()).hexdigest()[:12]
    return SPECTRUM_GROUP.format(f"{re.sub(r'[^A-Za-z0-9_.@-]', '-', place)}-{digest}")


def _eigenpairs(data: Mapping[str, Any] | None, vectors: np.ndarray | None) -> Eigenpairs | None:
    if data is None:
        return None
    values = np.asarray(data["values"], dtype=np.float64)
    vectors = np.zeros((0, len(values))) if vectors is None else vectors
    return Eigenpairs(data["which"], values, vectors, data["method"], int(data["products"]))


def _density(data: Mapping[str, Any] | None) -> Density | None:
    if data is None:
        return None
    arrays = {key: np.asarray(data[key], dtype=np.float64) for key in ("nodes", "weights", "grid", "density")}
    ints = {key: int(data[key]) for key in ("steps", "starts", "products", "dim")}
    return Density(**arrays, sigma=float(data["sigma"]), **ints)


def spectrum_from_json(data: Mapping[str, Any], vectors: Mapping[str, np.ndarray] | None = None) -> Spectrum:
    """The `Spectrum` whose `to_json` gave `data`; eigenvectors from `vectors`, keyed
    "top", "bottom" and "<block>.top", "<block>.bottom" (absent: (0, k) arrays)."""
    vectors = vectors or {}

    def build(d: Mapping[str, Any], prefix: str, blocks: dict[str, Spectrum]) -> Spectrum:
        trace = None if d["trace"] is None else TraceEstimate(**d["trace"])
        top, bottom = (_eigenpairs(d[k], vectors.get(prefix + k)) for k in ("top", "bottom"))
        return Spectrum(int(d["dim"]), top, bottom, trace, _density(d["density"]), int(d["products"]), blocks)

    blocks = {name: build(b, f"{name}.", {}) for name, b in data.get("blocks", {}).items()}
    return build(data, "", blocks)


def _vectors(s: Spectrum) -> dict[str, np.ndarray]:
    out = {}
    for prefix, part in [("", s), *((f"{name}.", b) for name, b in s.blocks.items())]:
        for key in ("top", "bottom"):
            pairs = getattr(part, key)
            if pairs is not None and pairs.vectors.size:
                out[prefix + key] = pairs.vectors
    return out


def read_spectrum(store: Store, place: str, settings: Mapping[str, Any], point: Any) -> Spectrum | None:
    """The spectrum an open store holds at `place` with `settings` for this `point`, or
    None (none stored, or a stale one: its point is another)."""
    try:
        arrays, attrs = store.read_array_group(spectrum_group(place, settings))
    except LandscapeError:
        return None
    if attrs.get("point") != points_digest(point):
        return None
    data = json.loads(bytes(arrays.pop("spectrum")).decode())
    return spectrum_from_json(data, arrays)


def write_spectrum(
    store: Store, place: str, settings: Mapping[str, Any], point: Any, found: Spectrum, where: str = ""
) -> str:
    """Store `found` at `place` with `settings` (replacing a stale one); the group's name."""
    name = spectrum_group(place, settings)
    payload = np.frombuffer(json.dumps(found.to_json()).encode(), dtype=np.uint8)
    attrs = {"place": place, "where": where, "settings": _settings_json(settings), "point": points_digest(point)}
    store.write_array_group(name, {"spectrum": payload, **_vectors(found)}, attrs)
    return name


def stored_spectrum(
    filename: str,
    place: str,
    settings: Mapping[str, Any],
    point: Any,
    compute: Callable[[], Spectrum],
    *,
    where: str = "",
    recompute: bool = False,
) -> tuple[Spectrum, bool]:
    """(the spectrum at `place`, whether it was read from the store `filename`): the
    stored one for these settings and this point unless `recompute`, else `compute()`,
    committed in a transaction of its own as soon as it returns."""
    if not recompute:
        with Store.open(filename) as store:
            held = read_spectrum(store, place, settings, point)
        if held is not None:
            return held, True
    found = compute()
    with Store.write(filename) as store:
        write_spectrum(store, place, settings, point, found, where)
    return found, False
