#!/usr/bin/env bash
# pnpm bench:peers [--quick] [other bench.ts flags]: hessian-probe on tfjs-node against PyTorch,
# PyHessian, curvlinops and hessian-eigenthings on this CPU. Runs setup.sh (the Python
# environment, once), then bench.ts, which writes .tmp/bench-peers/results.{md,json} and prints
# the tables. Works from any directory; exit code 1 when the two sides disagree.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# `pnpm bench:peers -- --quick` may hand the separator through.
if [[ "${1:-}" == "--" ]]; then shift; fi

start=$(date +%s)
bash "$HERE/setup.sh"
setup_done=$(date +%s)
export BENCH_PEERS_SETUP_SECONDS=$((setup_done - start))
echo "bench:peers: setup took ${BENCH_PEERS_SETUP_SECONDS} s" >&2
cd "$ROOT"
status=0
"$ROOT/node_modules/.bin/tsx" --conditions=source "$HERE/bench.ts" "$@" || status=$?
echo "bench:peers: setup ${BENCH_PEERS_SETUP_SECONDS} s, run $(($(date +%s) - setup_done)) s" >&2
exit "$status"
