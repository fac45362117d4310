"""Analytic potentials: 2D test surfaces with known minima and saddles, and their embeddings.

Import `surfaces`, `embedding` or `descriptors` explicitly; this package imports nothing
so that plugin discovery stays cheap.
"""

from __future__ import annotations

__all__: list[str] = []
