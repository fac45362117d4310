"""A user's potential held to the interface: what it returns is checked, what it raises
becomes one line naming it.

`landscape.potentials.registry.load_potential` wraps every potential built from a user's file or
class (`module:Class`, `file.py:Class`) in `GuardedPotential`.  A potential that returns
a scalar, a list, None, arrays of the wrong shape or of numbers that are not real
floats (int, bool, str, complex), raises (RuntimeError, KeyError,
MemoryError, a library's timeout deriving from BaseException, ...) or calls `sys.exit()`
then ends the command with exit 1 and `error: potential NAME ...` saying what it
returned and what was expected, instead of an internal error deep inside the band.
Only KeyboardInterrupt (Ctrl-C, SIGTERM) passes through: it stops the run.  Checks read shapes only: no host
sync on a GPU.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from landscape.foundations.errors import LandscapeError, collapse
from landscape.potentials.potential import Potential, PotentialWrapper

__all__ = ["GuardedPotential", "guard"]


def _shape(value: Any) -> tuple[int, ...] | None:
    shape = getattr(value, "shape", None)
    return None if shape is None or not hasattr(value, "dtype") else tuple(int(s) for s in shape)


def _real(value: Any) -> bool:
    """Whether an array holds real floating-point numbers (its dtype only: no host sync).
    Integers lose the gradient's scale, bools and strings are no energies, and complex
    values would be cut to their real part by the band's numpy arithmetic."""
    dtype = value.dtype
    if hasattr(dtype, "is_floating_point"):  # torch: complex dtypes are not floating point
        return bool(dtype.is_floating_point)
    return getattr(dtype, "kind", None) == "f"


def _what(value: Any) -> str:
    shape = _shape(value)
    return f"an array of shape {shape}" if shape is not None else f"a {type(value).__name__}"


class GuardedPotential(PotentialWrapper):
    """`inner` with its outputs checked and its failures turned into LandscapeErrors."""

    def __init__(self, inner: Potential):
        dim = getattr(inner, "dim", None)
        name = getattr(inner, "name", type(inner).__name__)
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
            raise LandscapeError(
                f"potential {name} has dim = {dim!r}; a potential declares its number of "
                "coordinates as a positive integer attribute `dim`"
            )
        super().__init__(inner)
        for key, point in dict(self._attribute("minima")).items():
            shape = np.shape(point)
            if shape != (dim,):
                raise LandscapeError(
                    f"potential {name}: minimum {key!r} has shape {shape}; expected ({dim},) for dim={dim}"
                )

    def _attribute(self, item: str) -> Any:
        try:
            return getattr(self.inner, item)
        except Exception as exc:  # noqa: BLE001 - a property of user code
            raise LandscapeError(
                f"potential {self.name}: reading `{item}` raised {type(exc).__name__}: "
                f"{collapse(exc) or '(no message)'}"
            ) from None

    def describe(self) -> dict[str, Any]:
        try:
            description = self.inner.describe()
        except Exception as exc:  # noqa: BLE001 - user code: one line naming it
            raise LandscapeError(
                f"potential {self.name} raised {type(exc).__name__} in describe(): {collapse(exc) or '(no message)'}"
            ) from None
        if not isinstance(description, dict):
            raise LandscapeError(f"potential {self.name}: describe() returned {_what(description)}; expected a dict")
        return description

    def _call(self, method: str, x: Any) -> Any:
        try:
            return getattr(self.inner, method)(x)
        except (LandscapeError, KeyboardInterrupt):
            raise
        except SystemExit as exc:
            raise LandscapeError(f"potential {self.name} called sys.exit({exc.code!r}) in {method}()") from None
        except MemoryError:
            raise LandscapeError(
                f"potential {self.name} ran out of memory in {method}() on {len(x)} points; "
                "evaluate fewer at once (a ChunkedPotential)"
            ) from None
        except BaseException as exc:  # noqa: BLE001 - user code may fail in any way (a library's timeout or
            # cancellation class, GeneratorExit: not Exceptions): report it in one line
            text = collapse(exc) or "(no message)"
            raise LandscapeError(f"potential {self.name} raised {type(exc).__name__} in {method}(): {text}") from None

    def _energies(self, e: Any, n: int, method: str) -> Any:
        if _shape(e) != (n,):
            raise LandscapeError(
                f"potential {self.name}: {method}() returned energies as {_what(e)}; "
                f"expected an array of shape ({n},) for {n} points"
            )
        self._floating(e, "energies", method)
        return e

    def _floating(self, value: Any, what: str, method: str) -> None:
        if not _real(value):
            raise LandscapeError(
                f"potential {self.name}: {method}() returned {what} of dtype {value.dtype}; "
                "expected real floating-point numbers (float32 or float64)"
            )

    def energy_and_gradient(self, x: Any) -> tuple[Any, Any]:
        out = self._call("energy_and_gradient", x)
        n = len(x)
        if not isinstance(out, tuple) or len(out) != 2:
            raise LandscapeError(
                f"potential {self.name}: energy_and_gradient() returned {_what(out)}; "
                f"expected a tuple (energies ({n},), gradients ({n}, {self.dim}))"
            )
        e, g = out
        self._energies(e, n, "energy_and_gradient")
        if _shape(g) != (n, self.dim):
            raise LandscapeError(
                f"potential {self.name}: energy_and_gradient() returned gradients as {_what(g)}; "
                f"expected an array of shape ({n}, {self.dim})"
            )
        self._floating(g, "gradients", "energy_and_gradient")
        return e, g

    def energy(self, x: Any) -> Any:
        if type(self.inner).energy is Potential.energy:  # not overridden: check the full call
            return self.energy_and_gradient(x)[0]
        return self._energies(self._call("energy", x), len(x), "energy")


def guard(potential: Potential) -> Potential:
    """`potential` guarded (once)."""
    return potential if isinstance(potential, GuardedPotential) else GuardedPotential(potential)
