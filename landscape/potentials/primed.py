"""A potential that remembers a few points it evaluated before, for one call.

`connect` checks its ends before the band starts (`landscape.optimizers.endpoints`):
it evaluates both ends and the middle of the straight line between them, which are
the band's fixed ends and, with an odd number of pivots, its middle pivot.  On a
deterministic potential an energy and gradient once computed at a point are exact, so
the band's first evaluation need not compute them again: `PrimedPotential` holds
them, keyed on the point's exact bytes, and its next `energy_and_gradient` takes every
row that matches from memory, evaluates the others in one batch and then forgets
them (later calls pass straight through: no lookups on every step of a run).  A point
that differs in any bit is evaluated.  A mini-batch loss is never primed: its values
belong to the batch they were computed on.

A resumed band's next call is no fresh band's first: `forget_primed` drops the memory
there.  A row served from memory is the value of a smaller batch, which can differ from
the same point's value in the band's batch in the last bit (a matrix product's
rounding follows the batch size), so serving it would make a resumed run differ from
the uninterrupted one (it did, by 7.6e-17, when a guarded L-BFGS cut took a pivot back
to the straight line's middle at the step after the checkpoint).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from landscape.foundations.arrays import namespace, to_numpy
from landscape.potentials.potential import Potential, PotentialWrapper

__all__ = ["PrimedPotential", "forget_primed"]


def _key(row: Any) -> bytes:
    return np.ascontiguousarray(to_numpy(row)).tobytes()


class PrimedPotential(PotentialWrapper):
    """`inner`, whose next `energy_and_gradient` call reuses the evaluations it was
    `prime`d with at the points that match them bit for bit.  `served` counts the
    rows taken from memory (the caller counted them when it evaluated them).

    >>> from landscape.potentials.potential import CountingPotential
    >>> from landscape.potentials.registry import load_potential
    >>> counter = CountingPotential(load_potential("mueller-brown"))
    >>> points = counter.asarray(np.array([[0.0, 0.5], [-0.5, 1.5]]))
    >>> primed = PrimedPotential(counter)
    >>> primed.prime(points[:1], *counter.energy_and_gradient(points[:1]))
    >>> e, g = primed.energy_and_gradient(points)  # the first row from memory
    >>> primed.served, counter.gradient_points
    (1, 2)
    """

    def __init__(self, inner: Potential):
        super().__init__(inner)
        self._memo: dict[bytes, tuple[Any, Any]] = {}
        self.served = 0

    def prime(self, points: Any, energies: Any, gradients: Any) -> None:
        """Remember `energies` (k,) and `gradients` (k, dim) at `points` (k, dim), exact
        values of `inner` there, for the next call; a stochastic potential ignores them."""
        if self.inner.stochastic:
            return
        self._memo = {_key(p): (energies[i : i + 1], gradients[i : i + 1]) for i, p in enumerate(points)}

    def energy_and_gradient(self, x: Any) -> tuple[Any, Any]:
        memo, self._memo = self._memo, {}
        found = [memo.get(_key(row)) for row in x] if memo else []
        if not any(hit is not None for hit in found):
            return self.inner.energy_and_gradient(x)
        xp = namespace(x)
        missing = [i for i, hit in enumerate(found) if hit is None]
        if missing:
            e_new, g_new = self.inner.energy_and_gradient(x[missing])
            for j, i in enumerate(missing):
                found[i] = (e_new[j : j + 1], g_new[j : j + 1])
        self.served += len(found) - len(missing)
        return xp.concat([e for e, _ in found]), xp.concat([g for _, g in found])

    def forget(self) -> None:
        """Drop the points primed and not yet served."""
        self._memo = {}

    def energy(self, x: Any) -> Any:
        """The energies at `x`, from memory when every row matches a primed point (the
        store records the ends' energies before the band starts), the memory kept for
        the band's first `energy_and_gradient`; else the inner potential's."""
        found = [self._memo.get(_key(row)) for row in x] if self._memo else []
        if not found or any(hit is None for hit in found):
            return self.inner.energy(x)
        self.served += len(found)
        return namespace(x).concat([e for e, _ in found])


def forget_primed(potential: Potential) -> None:
    """Drop what a `PrimedPotential` among `potential`'s wrappers remembers (see the
    module docstring: a resumed run must evaluate as the uninterrupted one did)."""
    while isinstance(potential, PotentialWrapper):
        if isinstance(potential, PrimedPotential):
            potential.forget()
        potential = potential.inner
