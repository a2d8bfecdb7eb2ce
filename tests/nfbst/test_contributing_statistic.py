"""CONTRIBUTING.md's worked example of a statistic (SmoothGrad), run as written.

The file block is executed as the module ``nfbst.statistics.smoothgrad`` (so its relative
imports resolve as they would in the package), the one registration line is run against a
copy of the registry that the test restores, and the guide's own check block runs unchanged:
with ``stdev=0`` SmoothGrad equals the input gradient, the batched rule equals the per-draw
captum path, and NFBST with it is reproducible.
"""

import re
import sys
import types
from pathlib import Path

import pytest

import nfbst.statistics as statistics

DOC = Path(__file__).resolve().parents[2] / "CONTRIBUTING.md"


def _blocks() -> list[str]:
    text = DOC.read_text()
    section = text[text.index("## Adding a statistic (nfbst)"):]
    section = section[:section.index("\n## ", 1)]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 3, "expected the file, the registration line and the check"
    return blocks


@pytest.fixture
def smoothgrad_registered(monkeypatch):
    monkeypatch.setattr(statistics, "_REGISTRY", dict(statistics._REGISTRY))
    yield
    sys.modules.pop("nfbst.statistics.smoothgrad", None)


def test_contributing_smoothgrad_example_registers_and_passes_its_own_checks(
        smoothgrad_registered):
    file_block, registration, check = _blocks()
    module = types.ModuleType("nfbst.statistics.smoothgrad")
    module.__package__ = "nfbst.statistics"
    sys.modules[module.__name__] = module
    exec(compile(file_block, "CONTRIBUTING.md:smoothgrad.py", "exec"), module.__dict__)
    exec(registration, {"register_statistic": statistics.register_statistic,
                        "smoothgrad": module.smoothgrad})
    assert "smoothgrad" in statistics.available_statistics()
    exec(compile(check, "CONTRIBUTING.md:check", "exec"), {})

