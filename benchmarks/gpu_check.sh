#!/usr/bin/env bash
# The GPU check in one command (benchmarks/gpu_check.py): on the GPU machine, whose python3 has torch,
# timm, torchvision, safetensors, pandas, pyarrow and pyyaml but no captum, snakemake or jsonschema, none
# of which the check imports. Runs on a CPU too (smaller). Finishes within 4 minutes on one H100.
#   benchmarks/gpu_check.sh [out stem, default benchmarks/out/gpu_check]
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
[ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ] && python=.venv/bin/python
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}"
"$python" -c 'import sys, torch; print(sys.version.split()[0], "torch", torch.__version__, "cuda", torch.cuda.is_available())'
timeout 600 "$python" benchmarks/gpu_check.py --out "${1:-benchmarks/out/gpu_check}"
