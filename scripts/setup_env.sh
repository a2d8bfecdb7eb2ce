#!/usr/bin/env bash
# Creates .venv (if missing) and installs the project with its test tools.
# torch is pinned to 2.13.0 so pip takes the CPU wheel that lies on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "setup: $*" >&2; }
if [ ! -x .venv/bin/python ]; then
    say "creating the virtual environment .venv"
    python3 -m venv .venv
fi
stamp=.venv/.installed-$(cat pyproject.toml scripts/constraints.txt | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
    start=$SECONDS
    say "installing into .venv (once, about 2 minutes; later runs skip this)"
    say "[1/3] pip"
    .venv/bin/python -m pip install --quiet --upgrade pip
    say "[2/3] torch==2.13.0, the CPU wheel"
    .venv/bin/python -m pip install --quiet -c scripts/constraints.txt torch
    say "[3/3] the project (nfbst, logiclearn, infotheory) with its test, audio and experiments extras"
    .venv/bin/python -m pip install --quiet -c scripts/constraints.txt -e ".[test,audio,experiments]"
    # laplace-torch requires torchvision; PyPI's wheel is a CUDA build that cannot load
    # beside the CPU torch, and a broken torchvision breaks torchmetrics (and so laplace)
    # at import. Nothing here uses torchvision: remove it when it does not import.
    if ! .venv/bin/python -c "import torchvision" >/dev/null 2>&1; then
        .venv/bin/python -m pip uninstall --quiet -y torchvision
    fi
    rm -f .venv/.installed-*
    touch "$stamp"
    say "done in $((SECONDS - start)) s"
fi
