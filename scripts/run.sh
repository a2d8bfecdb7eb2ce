#!/usr/bin/env bash
# Main job: sets up .venv, then runs nFBST on the built-in toy example (or on the CSV given).
# Usage: bash scripts/run.sh [data.csv --target y] [other `nfbst test` options]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
exec .venv/bin/nfbst test "$@"
