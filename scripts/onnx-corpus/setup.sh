#!/usr/bin/env bash
# Creates the Python environment that regenerates packages/onnx-adapter/corpus/: a venv under
# .tmp/onnx-corpus-venv with pinned torch (exporter and float64 Hessians), scikit-learn and
# skl2onnx (the sklearn models), onnx, onnxscript and onnxruntime (checks of the exported files).
# Idempotent: does nothing when the pinned versions already import.
#
# torch comes from the wheel cache of scripts/crosscheck-pytorch/setup.sh (.tmp/pytorch-wheels;
# PyPI's Linux torch is a CUDA build, see that script); everything is downloaded there once and
# installed with --no-index.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.tmp/onnx-corpus-venv"
WHEELS="$ROOT/.tmp/pytorch-wheels"
PYTHON="${PYTHON:-python3.11}"
PACKAGES=("torch==2.15.0" "numpy==2.4.6" "onnx==1.23.2" "onnxscript==0.7.2"
  "scikit-learn==1.9.1" "skl2onnx==1.20.0" "onnxruntime==1.32.0")

installed() {
  [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" - "${PACKAGES[@]}" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
for spec in sys.argv[1:]:
    name, want = spec.split('==')
    if version(name).split('+')[0] != want:
        sys.exit(1)
import onnxruntime, skl2onnx, sklearn, torch  # noqa: F401,E401  (they import)
PY
}

if installed; then
  echo "setup: ${PACKAGES[*]} already in $VENV"
  exit 0
fi

"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --no-cache-dir --upgrade pip==26.3
mkdir -p "$WHEELS"
"$VENV/bin/python" -m pip download --quiet --no-cache-dir -d "$WHEELS" --find-links "$WHEELS" \
  "${PACKAGES[@]}"
"$VENV/bin/python" -m pip install --quiet --no-cache-dir --no-index --find-links "$WHEELS" \
  "${PACKAGES[@]}"
installed || { echo "setup: the pinned packages do not import from $VENV" >&2; exit 1; }
echo "setup: venv $(du -sh "$VENV" | cut -f1)"
