"""Entry-point descriptor of the XOR plugin (light: torch is imported on build only)."""

from __future__ import annotations

from landscape.potentials.registry import PotentialPlugin

__all__ = ["XOR"]

XOR = PotentialPlugin(
    requires=("torch",),
    name="xor",
    summary="2-2-1 (or 2-3-1 with a helper) XOR network, BCE + L2; minima a and b = a with hidden units swapped",
    target="landscape_plugins.xor.experiment:build_xor",
    options={
        "hidden": (int, 2, "2, or 3 for the helper neuron (minima embedded with a silent third unit)"),
        "activation": (str, "tanh", "tanh or sigmoid (strictly monotone)"),
        "l2": (float, 1e-3, "L2 coefficient of the energy: BCE + l2/2 |theta|^2"),
        "seed": (int, 0, "seed of the trained minimum a"),
    },
)
