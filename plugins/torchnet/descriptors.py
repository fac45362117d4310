"""Entry-point descriptor of the generic MLP plugin (light: torch is imported on build only)."""

from __future__ import annotations

from landscape.potentials.registry import PotentialPlugin

__all__ = ["MLP"]

MLP = PotentialPlugin(
    requires=("torch",),
    name="mlp",
    summary="MLP on a seeded synthetic 2D data set (spirals/blobs); trains `minima` seeded minima on build",
    target="landscape_plugins.torchnet.mlp:build_mlp",
    options={
        "hidden": (str, "32,32", "hidden widths, comma separated"),
        "activation": (str, "tanh", "tanh, relu, sigmoid or gelu"),
        "batchnorm": (bool, False, "BatchNorm1d after each hidden linear layer"),
        "dataset": (str, "spirals", "spirals or blobs"),
        "n_train": (int, 512, "training samples"),
        "n_test": (int, 512, "test samples"),
        "noise": (float, 0.1, "std of the Gaussian noise on the inputs"),
        "classes": (int, 2, "number of classes"),
        "data_seed": (int, 0, "seed of the data set"),
        "batch_size": (int, 0, "mini-batch per optimisation step (0: full training set, deterministic)"),
        "seed": (int, 0, "seed of the mini-batch sampler"),
        "l2": (float, 0.0, "explicit L2 coefficient: energy += l2/2 |theta|^2"),
        "minima": (int, 2, "number of minima to train on build (named 0, 1, ...)"),
        "epochs": (int, 400, "training epochs per minimum"),
        "lr": (float, 0.01, "training learning rate (cosine schedule)"),
        "optimizer": (str, "adam", "adam or sgd (momentum 0.9)"),
        "train_batch": (int, 0, "training mini-batch (0: full batch)"),
        "weight_decay": (float, 0.0, "training weight decay"),
        "train_seed": (int, 0, "minimum k is trained with seed train_seed + k"),
        "dtype": (str, "float32", "float32 or float64"),
        "device": (str, "cpu", "cpu, cuda, cuda:N or auto"),
        "batched": (str, "auto", "auto, vmap or loop: how all pivots are evaluated at once"),
        "chunk": (int, 0, "at most this many points per batched call (0: no limit)"),
        "align": (
            bool,
            False,
            "declare the hidden-unit permutation symmetry (weight matching): "
            "connect --align, exploration and minima then work modulo it",
        ),
    },
)
