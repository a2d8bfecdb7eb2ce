"""The distribution as users get it: what the wheel holds, and the installed packages.

The pytest tests build a wheel from a copy of the sources and read it. Run as a script, the
module is also the CI check of an installed (non-editable) wheel, see ``scripts/check_wheel.sh``::

    python tests/test_package.py build DIST_DIR       # wheel of the sources into DIST_DIR
    python check_package.py installed REPO_ROOT       # in a fresh venv, outside the repository

Only the standard library is imported at module level, so the script runs without pytest.
"""

from __future__ import annotations

import email
import importlib
import importlib.metadata
import importlib.util
import math
import os
import shutil
import subprocess
import sys
import zipfile

DIST = "probconstraints"
PACKAGES = ("nfbst", "logiclearn", "infotheory")
INTERNAL = ("probconstraints",)  # helpers shared by the three packages, not public API
SOURCES = ("pyproject.toml", "README.md", "LICENSE", *PACKAGES, *INTERNAL, "experiments")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build_wheel(dist_dir: str, isolated: bool = True) -> str:
    """Build the wheel from a clean copy of the sources (no stale ``build/``); its path."""
    src = os.path.join(os.path.abspath(dist_dir), "src")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        origin = os.path.join(REPO, name)
        if os.path.isdir(origin):
            shutil.copytree(origin, os.path.join(src, name), ignore=ignore)
        else:
            os.makedirs(src, exist_ok=True)
            shutil.copy2(origin, src)
    cmd = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
           "--wheel-dir", dist_dir, src]
    if not isolated:
        cmd.insert(4, "--no-build-isolation")
    subprocess.run(cmd, check=True)
    shutil.rmtree(src)
    (wheel,) = [f for f in os.listdir(dist_dir) if f.endswith(".whl")]
    return os.path.join(dist_dir, wheel)


def check_installed(repo_root: str) -> list[str]:
    """Checks of an installed, non-editable wheel; raises AssertionError, returns a report."""
    report = []
    version = importlib.metadata.version(DIST)
    for name in PACKAGES:
        module = importlib.import_module(name)
        where = os.path.dirname(os.path.abspath(module.__file__))
        assert not where.startswith(os.path.abspath(repo_root) + os.sep), (
            f"{name} imported from the source tree {where}, not from the installed wheel")
        assert module.__version__ == version, (name, module.__version__, version)
        assert os.path.isfile(os.path.join(where, "py.typed")), f"{name} has no py.typed"
        report.append(f"{name} {module.__version__} from {where}")
    assert importlib.util.find_spec("experiments") is None, "experiments was installed"
    # one computation per package with a known answer
    import numpy as np
    import torch

    import infotheory
    import logiclearn
    import nfbst

    coin = float(infotheory.entropy(np.array([0, 1] * 50), method="plugin"))
    assert math.isclose(coin, math.log(2), rel_tol=1e-9), coin
    draws = np.random.default_rng(0).normal(5.0, 1.0, size=4000)
    ev = float(nfbst.evidence_value(draws, null=0.0))
    assert ev < 1e-3, ev  # H0: η = 0 lies 5 posterior sd away
    x = logiclearn.term(torch.tensor([0.0, 0.6, 1.0]))
    rate = logiclearn.satisfaction((x >= 0.5) >> (x >= 0.9), tol=0.0).rate
    assert math.isclose(rate, 2 / 3), rate  # 0.0 (vacuous) and 1.0 satisfy, 0.6 does not
    report.append(f"entropy(fair coin)={coin:.6f} nats; Ev(eta=0 | N(5,1))={ev:.2g}; "
                  f"logiclearn satisfaction rate={rate:.4f}")
    return report


# ------------------------------------------------------------------------- pytest
def _wheel_metadata(wheel: str):
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
        return names, email.message_from_string(zf.read(meta).decode())


def test_wheel_leaves_out_experiments_and_ships_packages_markers_and_license(tmp_path):
    wheel = build_wheel(str(tmp_path))
    names, meta = _wheel_metadata(wheel)
    top = {n.split("/")[0] for n in names}
    assert top == {*PACKAGES, *INTERNAL, f"{DIST}-{meta['Version']}.dist-info"}, top
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    for name in (*PACKAGES, *INTERNAL):
        assert f"{name}/__init__.py" in names and f"{name}/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert meta["License-Expression"] == "MIT"
    assert meta["Requires-Python"] == ">=3.10"
    requires = meta.get_all("Requires-Dist")
    torch_req = [r for r in requires if r.split(">")[0].split("=")[0].strip() == "torch"]
    assert torch_req and "==" not in torch_req[0], torch_req  # a range, not the CPU pin
    assert "Typing :: Typed" in meta.get_all("Classifier")
    with zipfile.ZipFile(wheel) as zf:
        entry = zf.read(f"{DIST}-{meta['Version']}.dist-info/entry_points.txt").decode()
    assert "nfbst = nfbst.cli:main" in entry


def test_every_package_version_is_the_distribution_version():
    version = importlib.metadata.version(DIST)
    for name in PACKAGES:
        assert importlib.import_module(name).__version__ == version


def test_license_is_mit_for_the_probconstraints_developers():
    with open(os.path.join(REPO, "LICENSE")) as fh:
        text = fh.read()
    assert text.startswith("MIT License") and "probconstraints developers" in text


if __name__ == "__main__":
    command, target = sys.argv[1], sys.argv[2]
    if command == "build":
        print(build_wheel(target))
    elif command == "installed":
        print("\n".join(check_installed(target)))
    else:
        raise SystemExit(f"usage: {sys.argv[0]} build DIST_DIR | installed REPO_ROOT")
