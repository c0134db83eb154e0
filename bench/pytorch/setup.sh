#!/usr/bin/env bash
# The PyTorch side of `npm run bench -- compare` (train_bench.py) and of README "Results" (simclr_quality.py):
# a venv with torch, outside the repository.
# PyPI has no CPU-only torch wheel for x86-64 Linux (those live on PyTorch's own index, which this
# project's machines cannot reach), so this installs the default wheel with its CUDA libraries
# (~5 GB on disk, a few minutes); the benchmark only uses its CPU kernels.
set -euo pipefail
VENV="${SIMCLR_BENCH_VENV:-$HOME/.cache/simclr/venv-bench}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet 'torch==2.15.0' numpy
"$VENV/bin/python" -c 'import torch; print("torch", torch.__version__, "in", "'"$VENV"'")'
