#!/usr/bin/env bash
# One short GPU check (< 5 min on one GPU): for every backend, statistic, the evidence and the
# CRT, CUDA results equal CPU results within float32 tolerance; prints GPU/CPU time ratios.
# Exit 0: all pass; 1: a check failed; 2: no CUDA on this machine (says so and stops).
# Usage: bash benchmarks/device_check.sh [--quick] [--device cuda:1] [--parts evidence,crt]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
[ -x "$PY" ] || PY=python3
exec "$PY" benchmarks/device_check.py "$@"
