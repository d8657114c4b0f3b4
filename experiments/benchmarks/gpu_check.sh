#!/usr/bin/env bash
# The GPU checks of the performance work as one prepared run, for a machine with a CUDA device
# (a few minutes): the CUDA tests, then target 7 of run.py (the batched torch path on the
# device: throughput, its state traffic against the device's copy bandwidth, x_T against the
# CPU float path in ulps). Results go to $OUT (default ./gpu-out): nvidia-smi.txt,
# versions.txt, pytest-cuda.txt, target7.txt, target7.json.
#
# Usage, from the repository root:  bash experiments/benchmarks/gpu_check.sh [PYTHON]
# PYTHON (default python3) needs torch with CUDA, numba, numpy, sympy, mpmath, hypothesis,
# pytest and pytest-xdist; the package is read from the working tree (PYTHONPATH), so nothing
# is installed. python-flint is not needed (only arb runs import it).
set -uo pipefail
PY=${1:-python3}
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || echo "no nvidia-smi" > "$OUT/nvidia-smi.txt"
"$PY" - > "$OUT/versions.txt" 2>&1 <<'EOF'
import sys

import numba
import numpy
import torch

print(sys.version)
print("torch", torch.__version__, "cuda", torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else "-")
print("numba", numba.__version__, "numpy", numpy.__version__)
EOF
cat "$OUT/versions.txt"

timeout 240 "$PY" -m pytest -m cuda -q -p no:cacheprovider tests/core/test_cuda.py 2>&1 \
    | tee "$OUT/pytest-cuda.txt"
echo "pytest -m cuda: exit ${PIPESTATUS[0]}"

timeout 300 "$PY" experiments/benchmarks/run.py --only 7 --json "$OUT/target7.json" 2>&1 \
    | tee "$OUT/target7.txt"
echo "run.py --only 7: exit ${PIPESTATUS[0]}"
