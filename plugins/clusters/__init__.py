"""Atomic clusters: a batched Lennard-Jones potential and alignment of structures modulo
rotation, translation, inversion and relabelling of identical atoms."""
