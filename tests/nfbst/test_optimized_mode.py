"""nfbst imports under ``python -OO`` (docstrings stripped, ``__doc__`` is None)."""

import subprocess
import sys


def test_nfbst_imports_and_fits_with_docstrings_stripped_python_OO():
    code = (
        "import nfbst, numpy as np\n"
        "from nfbst import BayesianMLPRegressor, BayesianMLPClassifier\n"
        "assert BayesianMLPRegressor.__doc__ in (None, '')\n"
        "X = np.random.default_rng(0).normal(size=(40, 2))\n"
        "m = nfbst.BayesianMLP(task='classification', hidden=(4,), n_steps=5, random_state=0)\n"
        "print(type(m).__name__, m.fit(X, X[:, 0] > 0).predict(X).shape)\n"
    )
    out = subprocess.run([sys.executable, "-OO", "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["BayesianMLPClassifier", "(40,)"]
