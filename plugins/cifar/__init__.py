"""CIFAR plugin: the ResNets and DenseNets of Draxler et al. 2018, CIFAR data and recipes.

Modules: `models` (CIFAR ResNets of He et al. 2016, DenseNets of Huang et al. 2017,
`build_model` by name), `data` (CIFAR-10/100 through torchvision and the offline
JPEG `.npz` copy, batched GPU-capable augmentation, seeded subsets and batches),
`recipes` (the original training recipes and the paper's AutoNEB settings).

This package imports nothing on import, so plugin discovery never loads torch.
"""
from __future__ import annotations

__all__: list[str] = []
