"""PyTorch backend: any `nn.Module` with a loss and data as a batched `Potential`.

Modules: `params` (flatten/unflatten parameters), `data` (tensor data and seeded
mini-batch sampling), `potential` (`NetworkPotential`), `evaluate` (metrics and
barriers along paths, BatchNorm recalibration), `train` (seeded minima with learning
curves), `hessian` (Hessian-vector products, Lanczos), `models` (small reference
networks), `mlp` (the built-in synthetic-data plugin), `descriptors` (entry points).

This package imports nothing on import, so plugin discovery never loads torch.
"""

from __future__ import annotations

__all__: list[str] = []
