"""Paths: the path type and its geometry (tangents, projections, redistribution), results
in scipy's vocabulary, the climbing image's and the ends' checks, and grid-exact minimax
paths in 2D.
"""
