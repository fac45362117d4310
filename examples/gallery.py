"""Every kind of picture the command line makes, regenerated into docs/img/gallery/.

    python examples/gallery.py            # about a minute on 2 cores, and 39 s of CPU for ResNet-8

Each picture is made by the command docs/gallery.md shows beside it, in a scratch
folder, then copied into docs/img/gallery/.  Look at them after any change to
`landscape/plotting/figures.py` or a plugin's figures.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
GALLERY = os.path.join(HERE, "..", "docs", "img", "gallery")

#: (command, the picture it writes, the name in the gallery)
STEPS: list[tuple[str, str | None, str | None]] = [
    ("connect mueller-brown --start A --end B --method autoneb --out mb", None, None),
    ("plot profile mb --figure profile.png", "profile.png", "profile-mueller-brown.png"),
    ("plot plane mb --figure plane.png", "plane.png", "plane-mueller-brown.png"),
    ("minima gaussian-mixture -o wells=12 -o seed=7 --starts 200 --out gm", None, None),
    ("explore gm", None, None),
    ("plot plane gm --figure gm-plane.png", "gm-plane.png", "plane-gaussian-mixture-36-paths.png"),
    ("plot dgraph gm --figure gm-dgraph.png", "gm-dgraph.png", "dgraph-gaussian-mixture.png"),
    ("train mlp -o hidden=8 -o n_train=128 --minima 2 --epochs 60 --out net --threads 1", None, None),
    ("explore net --method neb --steps 300", None, None),
    ("evaluate net --path 0-1 --figure evaluation.png", "evaluation.png", "evaluate-mlp.png"),
    ("plot surface net --around 0 --grid 31 --figure around.png", "around.png", "surface-around-mlp.png"),
    (
        "plot surface net --plane 0,1,saddle:0-1 --grid 31 --figure through.png",
        "through.png",
        "surface-plane-mlp.png",
    ),
    (
        "plot surface net --around 0 --grid 31 --style surface --figure around-3d.png",
        "around-3d.png",
        "surface-around-mlp-3d.png",
    ),
    ("xor --seed 0 --out-dir xor", "xor/xor-seed0.png", "xor-seed0.png"),
    ("minima lj -o atoms=7 --starts 200 --out lj7", None, None),
    ("explore lj7", None, None),
    ("plot dgraph lj7 --figure lj7-dgraph.png", "lj7-dgraph.png", "dgraph-lj7.png"),
    # ResNet-8 (width 4) on 64 CIFAR-10 images: the per-layer Hessian (about 30 s of CPU)
    (
        "train cifar -o model=resnet8-w4 -o n_train=64 -o n_test=64 -o augment=false -o calibration_size=64 "
        "--minima 1 --epochs 5 --batch-size 32 --out r8 --threads 1",
        None,
        None,
    ),
    (
        "spectrum r8 --at min:0 --per-layer --top 1 --bottom 0 --trace-samples 30 --samples 32 --tol 1e-2 "
        "--threads 1 --figure r8-layers.png",
        "r8-layers.png",
        "spectrum-layers-resnet8.png",
    ),
]
#: How the steps that need the CIFAR-10 copy (plugins/cifar/data.py,
#: `default_npz_path`) begin; without it they are left out, said so on the way.
NEEDS_CIFAR = ("train cifar", "spectrum r8")


def main() -> None:
    from landscape_plugins.cifar.data import default_npz_path

    os.makedirs(GALLERY, exist_ok=True)
    cifar = default_npz_path() is not None
    with tempfile.TemporaryDirectory() as work:
        for command, made, name in STEPS:
            if command.startswith(NEEDS_CIFAR) and not cifar:
                print(f"left out (no CIFAR-10 copy): landscape {command}", flush=True)
                continue
            print(f"landscape {command}", flush=True)
            subprocess.run(
                [sys.executable, "-m", "landscape_cli.main", *command.split(), "--no-progress"]
                if command.split()[0] in ("minima", "explore", "train", "evaluate")
                else [sys.executable, "-m", "landscape_cli.main", *command.split()],
                cwd=work,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            if made is not None and name is not None:
                shutil.copyfile(os.path.join(work, made), os.path.join(GALLERY, name))
    print(f"pictures in {os.path.normpath(GALLERY)}")


if __name__ == "__main__":
    main()
