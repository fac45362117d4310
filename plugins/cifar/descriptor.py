"""Entry-point descriptor of the CIFAR plugin (light: torch is imported on build only).

Register it under the `landscape.potentials` group as
``cifar = "landscape_plugins.cifar.descriptor:CIFAR"``.
"""

from __future__ import annotations

from landscape.potentials.registry import PotentialPlugin

__all__ = ["CIFAR"]

CIFAR = PotentialPlugin(
    requires=("torch",),
    name="cifar",
    summary="CIFAR ResNet/DenseNet cross-entropy on CIFAR-10/100 (offline JPEG copy by default); "
    "train minima with `landscape train cifar`",
    target="landscape_plugins.cifar.potential:build_cifar",
    options={
        "model": (str, "resnet20", "resnet{D}[-w{W}] or densenet{D}[bc][-k{K}], e.g. resnet20, resnet8-w8, densenet40"),
        "data": (
            str,
            "",
            "a cifar10_jpeg.npz-format file (default: ../shared/data copy or $LANDSCAPE_CIFAR_NPZ), "
            "or cifar10 / cifar100 through torchvision with root=",
        ),
        "root": (str, "", "torchvision root folder for data=cifar10 or cifar100"),
        "download": (bool, False, "let torchvision download cifar10/cifar100 into root"),
        "n_train": (int, 0, "seeded subset of the training images (0: all)"),
        "n_test": (int, 0, "seeded subset of the test images (0: all)"),
        "subset_seed": (int, 0, "seed of the subsets"),
        "balanced": (bool, False, "subsets take the same number of images from every class"),
        "batch_size": (int, 0, "mini-batch per AutoNEB step (0: the paper's, 512 for ResNet-20/32, else 256)"),
        "seed": (int, 0, "seed of the mini-batch sampler"),
        "l2": (float, 0.0, "explicit L2 coefficient in the energy (the paper's schedule applies weight decay itself)"),
        "augment": (bool, True, "train minima on randomly cropped and flipped images"),
        "device": (str, "auto", "auto, cpu, cuda or cuda:N"),
        "bf16": (bool, False, "bfloat16 autocast for the network (float32 losses)"),
        "channels_last": (bool, False, "NHWC images and weights (faster convolutions on GPUs)"),
        "compile": (
            str,
            "",
            "torch.compile the band's loss evaluation and the training step: default, reduce-overhead "
            "(CUDA graphs) or max-autotune ('': off); falls back to eager with one warning line",
        ),
        "compile_backend": (str, "inductor", "torch.compile backend (aot_eager: traced, no code generation)"),
        "batched": (str, "auto", "auto, vmap or loop: how all pivots are evaluated at once"),
        "chunk": (int, 0, "at most this many points per batched call (0: no limit)"),
        "calibration_size": (int, 2048, "samples for the BatchNorm statistics of every evaluated point"),
        "calibration_batch": (int, 256, "batch size of the BatchNorm calibration"),
        "cache_dir": (str, "", "folder for the decoded images of the .npz file (reused across runs)"),
        "align": (
            bool,
            False,
            "declare the channel-permutation symmetry (weight matching): connect --align, "
            "exploration and `landscape align` then work modulo it",
        ),
    },
)
