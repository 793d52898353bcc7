#!/usr/bin/env bash
# The PyTorch cross-check end to end: setup.sh (the Python environment, once), reference.py
# (models, ONNX exports and float64 Hessians) and crosscheck.ts (the adapter against them), into
# .tmp/crosscheck-pytorch/. The tables are also written to .tmp/crosscheck-pytorch/results.md.
# Exit code: crosscheck.ts's (1 when a comparison fails).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="$ROOT/.tmp/crosscheck-pytorch"

bash "$HERE/setup.sh"
rm -rf -- "$OUT"
mkdir -p "$OUT"
"$ROOT/.tmp/pytorch-venv/bin/python" "$HERE/reference.py" "$OUT"
cd "$ROOT"
"$ROOT/node_modules/.bin/tsx" --conditions=source "$HERE/crosscheck.ts" "$OUT" | tee "$OUT/results.md"
