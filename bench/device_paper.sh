#!/usr/bin/env bash
# Issue 22's ResNet-20 row as ONE prepared call on a lent GPU machine (docs/cifar.md,
# "On a lent GPU"): the machine starts bare, holds the project's tree and what the call
# carries, and returns only what is written under $OUT.  Prepare here, once:
#
#   mkdir -p data && cp ../shared/data/cifar10_jpeg.npz data/      # ignored, carried
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#       --implementation cp --platform manylinux2014_x86_64 --platform any -d .whl array-api-compat
#
# then run `bash bench/device_paper.sh` there with carry ["data", ".whl"] and a timeout
# of 600 s.  The row must fit one call: the store is not brought back (it is larger than
# what returns), and a machine left idle goes back within a minute.  BUDGET (default 500)
# is gpu_paper's --budget-seconds; EXTRA adds options (EXTRA="--together on", say);
# PYTHON is the interpreter (default python3, the machine's torch environment); SITE
# where the carried wheels go (default /tmp/site).
set -uo pipefail

PYTHON=${PYTHON:-python3}
OUT=${OUT:-out/device}
STORE=${STORE:-/tmp/landscape-paper}
SITE=${SITE:-/tmp/site}
BUDGET=${BUDGET:-500}
DATA=${DATA:-data/cifar10_jpeg.npz}
mkdir -p "$OUT"
log() { echo "device_paper: $*" | tee -a "$OUT/device.log"; }

# The machine's image has torch, h5py, click, networkx, scipy, tqdm and matplotlib, not
# array-api-compat: the carried wheel goes to a private folder, the project in place.
if compgen -G ".whl/*.whl" > /dev/null; then
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl \
        && export PYTHONPATH=$SITE${PYTHONPATH:+:$PYTHONPATH} || { log "the carried wheels did not install"; exit 2; }
fi
if ! "$PYTHON" -c "import landscape, landscape_plugins" 2> /dev/null; then
    "$PYTHON" -m pip install -q --no-index --no-deps --no-build-isolation -e . > "$OUT/install.log" 2>&1 \
        || { log "the project did not install: $OUT/install.log"; exit 2; }
fi
[ -f "$DATA" ] || { log "no $DATA: copy ../shared/data/cifar10_jpeg.npz into data/ and carry data"; exit 2; }

{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2> /dev/null || echo "no nvidia-smi"
  "$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"; } \
    | tee "$OUT/device.txt"

export PYTHONUNBUFFERED=1
# shellcheck disable=SC2086 # EXTRA is a list of options
"$PYTHON" bench/gpu_paper.py --data "$DATA" --out "$STORE" --budget-seconds "$BUDGET" ${EXTRA:-} 2>&1 | tee "$OUT/gpu_paper.log"
status=${PIPESTATUS[0]}
cp "$STORE/summary.json" "$OUT/summary.json" 2> /dev/null || log "no summary.json was written"
log "gpu_paper exited $status; $OUT holds summary.json, gpu_paper.log and device.txt"
exit "$status"
