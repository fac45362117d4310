"""ASE atoms as a landscape potential: any `ase.Atoms` with a calculator, its free
atoms' Cartesian coordinates as the point, energies in eV (needs `pip install ase`)."""
