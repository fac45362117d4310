"""Exploration (Draxler et al. 2018, Algorithm 3): saddle bounds between many minima.

Saddle energies obey the ultrametric inequality ``L_ik <= max(L_ij, L_jk)``, so any
spanning tree of computed paths bounds every pair, and the minimum spanning tree (MST)
of the computed paths gives the best bounds (`landscape.analysis.graphs`).  Exploration:

1. Start from a star, minimum 0 (the lowest) to every other minimum, or from given
   paths; while the computed paths leave minima unconnected, connect each component to
   the rest (lowest indices first, so a plain start is the star).
2. Repeatedly take the highest MST edge that is not final, remove it (the tree falls into
   sides A and B), and run a path between a pair (a in A, b in B) with no path yet.  The
   pair is chosen by `rule`: ``"closest"`` (default) takes the pair whose minima are
   nearest in coordinates: neighbouring basins are the likeliest to share a low direct
   saddle; ``"lowest"`` takes the pair whose higher minimum is lowest.  The new edge
   enters the graph and the MST is recomputed (it changes only if the edge is lower).
   `order="nearest"` takes the non-final edge with the closest open pair instead of the
   highest: it tends to reach the final bounds in fewer runs, while the paper's
   ``"highest"`` lowers the worst bound first (docs/exploration.md).
3. An MST edge of energy w is *final* when every pair across its cut has a path, or
   cannot go below w because one of its minima already lies at or above w (a path
   includes its ends).  Then, by the cut property, no uncomputed path could change the
   tree across that cut.  Exploration is complete when every MST edge is final; its tree
   is then the MST of all pairs, as if every path had been computed.

Batches: each round proposes `batch` pairs, one under each of the first non-final
edges in that order, then further pairs under the same edges, so `batch` paths run at
once (while minima are unconnected: one pair per component).
Results merge in proposal order, never in completion order, so the same settings give
the same exploration on every executor; a batch of 1 is the paper's sequential
algorithm.

Edge energies are each path's `upper_bound` (the highest energy seen on the final
path, pivots and dense points), never below either minimum's energy: a certified bound
on the minimax energy, whereas a climbing image's energy can lie below the true
barrier when the band jumps a ridge between pivots.  A path with non-finite energies is
an edge at +inf (it bounds nothing) and is not retried.

With a store, every merged batch is one atomic transaction (its paths and the /graph
group), so a crash loses at most the runs in flight; `explore` on that store continues
from its paths and reaches the same final tree as an uninterrupted run.  A continuation
must compute its paths as the stored ones were (`PATH_SETTINGS`, refused otherwise,
naming them); what only chooses the next pair, where it runs or how it is shown may
change.  A complete exploration that runs nothing is left as it was stored.
"""
