"""Local minimum energy paths, and how a second path beats them (three-hole potential).

    python examples/three_hole.py

The two deep minima A and B are joined directly over a saddle at -1.385, but the
lowest route detours through the shallow minimum C over two saddles at -1.647.
Started on the straight line, AutoNEB finds the direct route: a *local* MEP, so its
saddle is only an upper bound.  The paths A-C and C-B concatenate into an A-B path
whose maximum is lower, the ultrametric bound L_AB <= max(L_AC, L_CB) that the
landscape exploration (paper Algorithm 3) is built on.  The grid minimax confirms it.
"""

from __future__ import annotations

from itertools import combinations

from landscape import connect, load_potential, pairwise_minimax, saddle_matrix


def main() -> None:
    pot = load_potential("three-hole")
    names = sorted(pot.minima)
    points = [pot.minima[n] for n in names]
    edges = {}
    for i, j in combinations(range(len(names)), 2):
        r = connect(pot, points[i], points[j], method="autoneb", climb=True)
        edges[(i, j)] = r.saddle_energy
        print(f"AutoNEB {names[i]}-{names[j]}: saddle {r.saddle_energy:.4f}")
    energies = pot.energy(pot.asarray(points))
    bounds = saddle_matrix(len(names), edges, energies).values
    exact = pairwise_minimax(pot, points, grid=801)
    for i, j in combinations(range(len(names)), 2):
        print(
            f"{names[i]}-{names[j]}: direct path {edges[(i, j)]:.4f}, best bound over the tree {bounds[i, j]:.4f}, "
            f"grid-exact {exact[i, j]:.4f}"
        )


if __name__ == "__main__":
    main()
