#!/usr/bin/env bash
# Test job: sets up .venv, lints with ruff, type-checks the public packages with mypy
# (configured in pyproject.toml), then runs the test suite and every docstring example
# (doctests) on both cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/python -m pytest -n 2 -q --doctest-modules probconstraints nfbst logiclearn infotheory experiments tests "$@"
