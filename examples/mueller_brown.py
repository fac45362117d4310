"""Mueller-Brown from Python: every method against the grid-exact truth.

    python examples/mueller_brown.py [OUT_DIR]

Connects minima A and B with NEB, the string method and AutoNEB (each with a
climbing image), compares the saddle with the grid minimax (the ground truth in 2D)
and the literature value, stores the AutoNEB result and draws it.
"""

from __future__ import annotations

import os
import sys

from landscape import connect, connect_stored, grid_minimax, load_potential, plot_plane, plot_profile, save_figure

REFERENCE = -40.664844  # the A-C saddle, the highest point of the A-B minimum energy path


def main(out_dir: str = "mueller-brown-example") -> None:
    os.makedirs(out_dir, exist_ok=True)
    pot = load_potential("mueller-brown")
    a, b = pot.minima["A"], pot.minima["B"]
    exact = grid_minimax(pot, a, b, grid=801)
    print(f"grid minimax (801x801): {exact.saddle_energy:.6f}, reference {REFERENCE}")
    for method in ("neb", "string", "autoneb"):
        r = connect(pot, a, b, method=method, climb=True, fmax=0.01)
        print(
            f"{method:8s} saddle {r.saddle_energy:.6f} (error {r.saddle_energy - REFERENCE:+.1e}) "
            f"{r.nit:4d} steps {r.nfev:5d} evaluations  {r.status.value}"
        )
    run = connect_stored(os.path.join(out_dir, "mb"), pot, ("A", "B"), a, b, force=True)
    result = run.result
    print(
        f"AutoNEB cycles: pivots {[c.path.n_pivots for c in result.cycles]}, "
        f"saddle after each {[round(c.saddle_energy, 3) for c in result.cycles]}"
    )
    save_figure(
        plot_profile(result.profile, reference=REFERENCE, title="Mueller-Brown A -> B"),
        os.path.join(out_dir, "profile.png"),
    )
    save_figure(plot_plane(pot, [result.path], labels=["AutoNEB"]), os.path.join(out_dir, "plane.png"))
    print(f"wrote {run.store} and pictures in {out_dir}")


if __name__ == "__main__":
    main(*sys.argv[1:])
