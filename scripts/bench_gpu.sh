#!/usr/bin/env bash
# Run bench/bench_gpu.py on a GPU machine that has PyTorch but not the transformers the DLC runs.
# The wheels `make gpu-wheels` put in .gpu-wheels/ (transformers 4.51.3 and the tokenizers,
# safetensors, sentencepiece and huggingface-hub versions it was tested with) are installed into
# a folder of their own that comes first on PYTHONPATH, so they shadow whatever else that
# machine has; nothing is fetched. Where the Python found already has transformers 4.51.3, or
# there is no .gpu-wheels/, nothing is installed.
# Arguments go to bench/bench_gpu.py (--dry-run, --batch-sizes, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
has_dlc_transformers='import sys, transformers; sys.exit(transformers.__version__ != "4.51.3")'
if ! "$PYTHON" -c "$has_dlc_transformers" 2>/dev/null && compgen -G ".gpu-wheels/*.whl" >/dev/null; then
  site="${TMPDIR:-/tmp}/bench-gpu-site"
  "$PYTHON" -m pip install --quiet --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$site" .gpu-wheels/*.whl
  export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONUNBUFFERED=1
exec "$PYTHON" bench/bench_gpu.py "$@"
