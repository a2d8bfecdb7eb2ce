"""Every public example in logiclearn's docstrings runs and prints what it shows."""

import doctest
import importlib
import pkgutil

import pytest

import logiclearn

MODULES = sorted(m.name for m in pkgutil.walk_packages(logiclearn.__path__, "logiclearn."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    res = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0, f"{res.failed} doctest(s) failed in {name}"
