"""The XOR experiment of Draxler et al. 2018, section 5.2 (redundancy and helper neurons).

Import `network` (model, symmetries, the choreography path), `experiment` (training,
AutoNEB, numbers and picture) or `descriptor` (the entry point) explicitly; this
package imports nothing, so plugin discovery never loads torch.
"""

from __future__ import annotations

__all__: list[str] = []
