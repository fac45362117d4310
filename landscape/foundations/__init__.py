"""Foundations every other folder may import: the one error type, array-namespace helpers,
settings checked by value, memory estimates, file operations and the store lock.
Nothing here imports from another folder of the core.
"""
