#!/usr/bin/env bash
# Creates the Python environment of the PyTorch cross-check: a venv under .tmp/pytorch-venv with
# pinned torch, numpy, onnx and onnxscript (which torch.onnx.export(dynamo=True) needs).
# Idempotent: does nothing when the pinned versions already import.
#
# PyPI's torch wheels for Linux x86_64 are CUDA builds: `pip install torch --no-deps` installs,
# but `import torch` then fails (libtorch_global_deps.so needs libcudart.so.13, cuBLAS, …), and
# PyPI has no CPU-only x86_64 torch. So the CUDA libraries (nvidia-*, cuda-toolkit, triton)
# are installed too, about 3 GB; they are never used (no GPU is needed). With a reachable
# PyTorch CPU wheel index, set TORCH_INDEX_URL to it to get the CPU-only wheel instead (untested
# here: that index is not reachable from these machines).
#
# The wheels are downloaded once into .tmp/pytorch-wheels (so the download is measured and a
# re-install needs no network), then installed from there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.tmp/pytorch-venv"
WHEELS="$ROOT/.tmp/pytorch-wheels"
PYTHON="${PYTHON:-python3.11}"
TORCH_VERSION=2.15.0
NUMPY_VERSION=2.4.6
ONNX_VERSION=1.23.2
ONNXSCRIPT_VERSION=0.7.2
PACKAGES=("torch==$TORCH_VERSION" "numpy==$NUMPY_VERSION" "onnx==$ONNX_VERSION"
  "onnxscript==$ONNXSCRIPT_VERSION")

installed() {
  [[ -x "$VENV/bin/python" ]] &&
    "$VENV/bin/python" - "$TORCH_VERSION" "$NUMPY_VERSION" "$ONNX_VERSION" "$ONNXSCRIPT_VERSION" \
      <<'PY' 2>/dev/null
import sys
import numpy, onnx, onnxscript, torch
want = sys.argv[1:]
got = [torch.__version__.split('+')[0], numpy.__version__, onnx.__version__, onnxscript.__version__]
sys.exit(0 if got == want else 1)
PY
}

if installed; then
  echo "setup: ${PACKAGES[*]} already in $VENV"
  exit 0
fi

"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --no-cache-dir --upgrade pip==26.3
start=$(date +%s)
mkdir -p "$WHEELS"
before=$(du -sb "$WHEELS" | cut -f1)
torch_index=()
if [[ -n "${TORCH_INDEX_URL:-}" ]]; then torch_index=(--extra-index-url "$TORCH_INDEX_URL"); fi
"$VENV/bin/python" -m pip download --quiet --no-cache-dir "${torch_index[@]}" -d "$WHEELS" \
  "${PACKAGES[@]}"
downloaded=$(($(du -sb "$WHEELS" | cut -f1) - before))
fetched=$(date +%s)
"$VENV/bin/python" -m pip install --quiet --no-cache-dir --no-index --find-links "$WHEELS" \
  "${PACKAGES[@]}"
done_at=$(date +%s)
installed || { echo "setup: the pinned packages do not import from $VENV" >&2; exit 1; }
echo "setup: downloaded $((downloaded / 1000000)) MB in $((fetched - start)) s," \
  "installed in $((done_at - fetched)) s; venv $(du -sh "$VENV" | cut -f1)"
