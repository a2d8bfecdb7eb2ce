"""nFBST: Full Bayesian Significance Testing for neural networks.

Fit a Bayesian MLP, draw its posterior, compute an attribution statistic for every draw, and
report the FBST evidence value Ev(H0) of "feature j does not matter" per instance, per region
or globally. Small evidence rejects H0. The evidence value is the e-value of Pereira & Stern's
FBST: it is not a Bayes factor and unrelated to the Vovk/Shafer "e-values".

Examples
--------
>>> from nfbst import NFBST, BayesianMLP
>>> from nfbst.datasets import make_toy
>>> X, y = make_toy(400, random_state=0)
>>> res = NFBST(model=BayesianMLP(hidden=(16,), n_steps=300), n_posterior_samples=50,
...             random_state=0).fit(X, y).test(X, scope="global")
>>> res.evidence.shape
(8,)
"""

import importlib.metadata as _metadata

from .bnn import BayesianMLP, BayesianMLPClassifier, BayesianMLPRegressor
from .evidence import evidence_value
from .functional_draws import FunctionalDraws
from .groups import image_patches
from .posterior import PosteriorDraws
from .result import SignificanceResult
from .significance import NFBST
from .statistics import available_statistics, register_statistic

__all__ = [
    "BayesianMLP",
    "BayesianMLPClassifier",
    "BayesianMLPRegressor",
    "NFBST",
    "FunctionalDraws",
    "PosteriorDraws",
    "SignificanceResult",
    "available_statistics",
    "evidence_value",
    "image_patches",
    "register_statistic",
]

try:  # one source of truth: the version in pyproject.toml, read from the installed metadata
    __version__ = _metadata.version("probconstraints")
except _metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
