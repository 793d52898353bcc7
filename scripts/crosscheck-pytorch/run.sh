#!/usr/bin/env bash
# The PyTorch cross-check end to end: setup.sh (the Python environment, once), reference.py
# (models, ONNX exports and float64 Hessians) and crosscheck.ts (the adapter against them), into
# .tmp/crosscheck-pytorch/. The tables are also written to .tmp/crosscheck-pytorch/results.md.
# Then the ONNX corpus (packages/onnx-adapter/corpus) is regenerated from scratch into
# .tmp/crosscheck-pytorch/corpus by scripts/onnx-corpus (PyTorch float64 references recomputed)
# and the corpus test runs against it (HP_CORPUS).
# Exit code: 1 when a comparison fails.
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
bash "$ROOT/scripts/onnx-corpus/setup.sh"
"$ROOT/.tmp/onnx-corpus-venv/bin/python" "$ROOT/scripts/onnx-corpus/generate.py" "$OUT/corpus"
HP_CORPUS="$OUT/corpus" "$ROOT/node_modules/.bin/vitest" run packages/onnx-adapter/src/corpus.test.ts
