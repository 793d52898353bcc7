#!/usr/bin/env bash
# Regenerates packages/onnx-adapter/corpus/ (the .onnx files, probe batches and reference.json)
# with pinned torch, scikit-learn and skl2onnx: setup.sh (the venv, once), then generate.py.
# The default tests only read the committed files; rerun this after changing generate.py and
# commit the result.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="$ROOT/packages/onnx-adapter/corpus"

bash "$HERE/setup.sh"
"$ROOT/.tmp/onnx-corpus-venv/bin/python" "$HERE/generate.py" "$OUT"
# reference.json in the repository's JSON format (biome), so that lint passes on the result.
"$ROOT/node_modules/.bin/biome" format --write "$OUT/reference.json"
