"""Pictures: energy profiles and paths on a plane (figures), and disconnectivity graphs
(dgraph); matplotlib loads only here.
"""
