"""Analysis of what the runs found: Hessians and saddle certificates from gradients, minima
finding, and the graphs of many minima (saddle matrix, minimum spanning tree, single
linkage, disconnectivity tree).
"""
