#!/usr/bin/env bash
# Builds the documentation into docs/_build/html: warnings are errors, every code cell of the
# guides is executed, the API reference is generated from each module's __all__.
# Uses/creates .venv like scripts/setup_env.sh and installs the `docs` extra (with the torch
# pin of scripts/constraints.txt). Extra arguments go to sphinx-build (e.g. -j 2).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
stamp=.venv/.docs-installed-$(cat pyproject.toml scripts/constraints.txt | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
    echo "setup: installing the docs extra into .venv (once; later builds skip this)" >&2
    # the `docs` extra's requirements, read from pyproject.toml and installed on their own:
    # `pip install -e ".[docs]"` would re-resolve the project's dependencies and bring back
    # the torchvision wheel that scripts/setup_env.sh removes (it breaks laplace-torch)
    mapfile -t reqs < <(.venv/bin/python -c '
try:
    import tomllib
except ImportError:  # Python 3.10
    from pip._vendor import tomli as tomllib
extra = tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["docs"]
print("\n".join(extra))')
    .venv/bin/python -m pip install --quiet -c scripts/constraints.txt "${reqs[@]}"
    rm -f .venv/.docs-installed-*
    touch "$stamp"
fi
# a clean build: stale generated API pages or cached notebooks must not hide an error
rm -rf docs/_build docs/api/generated docs/jupyter_execute
start=$(date +%s)
.venv/bin/python -m sphinx -b html -W --keep-going -q docs docs/_build/html "$@"
echo "docs: built docs/_build/html/index.html in $(( $(date +%s) - start )) s"
