"""CIFAR plugin: the ResNets and DenseNets of Draxler et al. 2018, CIFAR data and recipes.

Modules: `models` (CIFAR ResNets of He et al. 2016, DenseNets of Huang et al. 2017,
`build_model` by name), `data` (CIFAR-10/100 through torchvision and the offline
JPEG `.npz` copy, batched GPU-capable augmentation, seeded subsets and batches),
`recipes` (the original training recipes and the paper's AutoNEB settings),
`potential` (the `cifar` potential: `build_cifar`, augmented training stream),
`descriptor` (its entry point), `report` (Table 1 and Figures 5-7 of a store),
`experiment` (train, explore and tabulate in one call).

This package imports nothing on import, so plugin discovery never loads torch.
"""

from __future__ import annotations

__all__: list[str] = []
