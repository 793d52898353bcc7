#!/usr/bin/env bash
# Creates the Python environment of bench:peers: a venv in .tmp/peers-venv with pinned torch and
# numpy (the versions of scripts/crosscheck-pytorch) and the peers of requirements.txt (PyHessian,
# curvlinops-for-pytorch with SciPy, hessian-eigenthings and their dependencies), from PyPI.
# Idempotent: does nothing when the pinned versions are already installed there.
#
# torch: PyPI's Linux x86_64 wheels are CUDA builds that need the CUDA libraries to import
# (about 3 GB; never used, no GPU is needed; see scripts/crosscheck-pytorch/README.md). They are
# downloaded into .tmp/pytorch-wheels, the wheel cache of scripts/crosscheck-pytorch/setup.sh:
# files already there are not downloaded again, whichever script ran first. The peers' wheels
# (about 70 MB) go to .tmp/peers-wheels. Both are then installed with --no-index, so the
# install uses exactly the pinned files and fails if one is missing.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$ROOT/.tmp/peers-venv"
TORCH_WHEELS="$ROOT/.tmp/pytorch-wheels"
PEER_WHEELS="$ROOT/.tmp/peers-wheels"
PYTHON="${PYTHON:-python3.11}"
PIP_VERSION=26.3
TORCH=(torch==2.15.0 numpy==2.4.6)
REQUIREMENTS="$HERE/requirements.txt"

installed() {
  [[ -x "$VENV/bin/python" ]] &&
    "$VENV/bin/python" - "$REQUIREMENTS" "${TORCH[@]}" <<'PY' 2>/dev/null
import re
import sys
from importlib.metadata import PackageNotFoundError, version

wanted = [l.strip() for l in open(sys.argv[1]) if l.strip() and not l.startswith("#")]
wanted += sys.argv[2:]
for line in wanted:
    name, pinned = line.split("==")
    try:
        got = version(name)
    except PackageNotFoundError:
        sys.exit(1)
    if got.split("+")[0] != pinned:
        sys.exit(1)
import curvlinops, hessian_eigenthings, pyhessian, scipy, torch  # noqa: E401,F401
PY
}

if installed; then
  echo "setup: the pinned peers are already in $VENV"
  exit 0
fi

size() { if [[ -d "$1" ]]; then du -sb "$1" | cut -f1; else echo 0; fi; }
start=$(date +%s)
rm -rf -- "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --no-cache-dir --upgrade "pip==$PIP_VERSION"
mkdir -p "$TORCH_WHEELS" "$PEER_WHEELS"
before=$(($(size "$TORCH_WHEELS") + $(size "$PEER_WHEELS")))
# torch, numpy and torch's dependencies, resolved by pip: present files are not fetched again.
"$VENV/bin/python" -m pip download --quiet --no-cache-dir -d "$TORCH_WHEELS" "${TORCH[@]}"
# The peers, each pinned file alone (requirements.txt lists their dependencies).
"$VENV/bin/python" -m pip download --quiet --no-cache-dir --no-deps -d "$PEER_WHEELS" \
  -r "$REQUIREMENTS"
downloaded=$(($(size "$TORCH_WHEELS") + $(size "$PEER_WHEELS") - before))
fetched=$(date +%s)
"$VENV/bin/python" -m pip install --quiet --no-cache-dir --no-index \
  --find-links "$TORCH_WHEELS" --find-links "$PEER_WHEELS" "${TORCH[@]}" -r "$REQUIREMENTS"
"$VENV/bin/python" -m pip check
done_at=$(date +%s)
installed || { echo "setup: the pinned packages do not import from $VENV" >&2; exit 1; }
echo "setup: downloaded $((downloaded / 1000000)) MB in $((fetched - start)) s (venv creation" \
  "included), installed in $((done_at - fetched)) s; venv $(du -sh "$VENV" | cut -f1)"
