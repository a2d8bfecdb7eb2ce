#!/usr/bin/env bash
# CI package check: build the wheel, install it (not editable) into a fresh temporary venv
# that gets the pinned CPU torch first, and from outside the repository run `nfbst --version`,
# a tiny `nfbst test` and one import test per package (tests/test_package.py, run as a script).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
start=$SECONDS
.venv/bin/python tests/test_package.py build "$tmp/dist" >/dev/null
.venv/bin/python -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install -qq -c scripts/constraints.txt torch
"$tmp/venv/bin/python" -m pip install -qq -c scripts/constraints.txt "$tmp"/dist/*.whl
cp tests/test_package.py "$tmp/check_package.py"
cd "$tmp"   # outside the repository: imports must come from the installed wheel
"$tmp/venv/bin/nfbst" --version
"$tmp/venv/bin/nfbst" test --n-toy 200 --steps 100 --samples 20 --hidden 8 --quiet \
    --out "$tmp/out" | tail -n 2
test -s "$tmp/out/nfbst_toy_global.csv" && test -s "$tmp/out/nfbst_toy_global.png"
"$tmp/venv/bin/python" check_package.py installed "$repo"
echo "package check passed in $((SECONDS - start)) s"
