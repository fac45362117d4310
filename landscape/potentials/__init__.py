"""Potentials: the interface and its wrappers, the guard that holds a user's potential to
it, plugins by name or file, what a store records of one, symmetries.
"""
