"""Helpers shared by the ``nfbst_*`` experiments: BNN fits, evidence per statistic, metrics."""

from __future__ import annotations

import numpy as np
import torch
from threadpoolctl import threadpool_limits

# the machine is shared: one thread per experiment (BLAS and torch) is fastest here
torch.set_num_threads(1)
threadpool_limits(1)

# column label in the paper -> registered statistic name
STATISTICS = {"Grad": "grad", "DeepLIFT": "deeplift", "LRP": "lrp", "LIME": "lime"}


def bayesian_mlp(quick: bool, seed: int, hidden=(20, 20, 20), n_steps=None, **kw):
    """The BNN the experiments use: the paper's 3×20 ReLU MLP, pooled VI ensemble of 3 runs."""
    from nfbst import BayesianMLP

    params = dict(hidden=hidden, inference="vi" if quick else "ensemble", n_ensemble=3,
                  n_steps=n_steps or (100 if quick else 1000), batch_size=512,
                  random_state=seed, verbose=0)
    params.update(kw)
    return BayesianMLP(**params)


def statistic_options(statistic: str, quick: bool) -> dict:
    """Options of a statistic in the experiments: LIME with the paper's 100 perturbations."""
    if statistic == "lime":
        return {"num_samples": 100, "verbose": 0, "random_state": 0}
    return {}


def instance_evidence(draws, X, statistic: str, quick: bool = False,
                      **nfbst_params) -> np.ndarray:
    """Instance-wise FBST evidence ``(n, d)`` of H0: η_j = 0 for the given posterior draws."""
    from nfbst.significance import NFBST

    nfbst_params.setdefault("verbose", 0)
    test = NFBST.from_draws(draws, statistic=statistic,
                            statistic_options=statistic_options(statistic, quick),
                            random_state=0, **nfbst_params)
    return test.test(np.asarray(X, dtype=float), scope="instance").evidence


def default_test_pvalues(X, y, quick: bool, seed: int, **model_params) -> np.ndarray:
    """Global p-values of the library's default test with the experiment's BNN.

    ``NFBST()``'s defaults: the network is fitted on 70 % of the rows and the conditional
    randomization test (predictive loss, Gaussian x_j | x_-j) runs on the 30 % held out.
    """
    from nfbst.significance import NFBST

    test = NFBST(model=bayesian_mlp(quick, seed, **model_params),
                 n_posterior_samples=30 if quick else 100,
                 n_randomizations=19 if quick else 100, random_state=seed).fit(X, y)
    return test.test().p_value


def q_gs(inst: np.ndarray, quantile_lambda: float = 0.5) -> np.ndarray:
    """Global evidence by the paper's Q-GS rule (λ-quantile of instance-wise evidence)."""
    from nfbst.scopes import quantile_rule

    return quantile_rule(inst, np.ones((1, inst.shape[0]), dtype=bool), quantile_lambda)[0]


def point_draws(layers) -> object:
    """A plain network as one-draw :class:`~nfbst.posterior.PosteriorDraws`.

    ``layers`` is a ``torch.nn.Sequential`` of Linear + activation modules or a fitted
    scikit-learn ``MLPRegressor`` / ``MLPClassifier``.
    """
    from nfbst.posterior import PosteriorDraws

    if hasattr(layers, "coefs_"):  # scikit-learn MLP
        W = [torch.as_tensor(c.T, dtype=torch.float32)[None] for c in layers.coefs_]
        b = [torch.as_tensor(c, dtype=torch.float32)[None] for c in layers.intercepts_]
        task = "classification" if hasattr(layers, "classes_") else "regression"
        return PosteriorDraws(W, b, activation=layers.activation, task=task)
    lin = [m for m in layers if isinstance(m, torch.nn.Linear)]
    act = next((type(m).__name__.lower() for m in layers
                if not isinstance(m, torch.nn.Linear)), "relu")
    W = [m.weight.detach().float()[None] for m in lin]
    b = [m.bias.detach().float()[None] for m in lin]
    return PosteriorDraws(W, b, activation=act)


def point_attribution(draws, X, statistic: str, **options) -> np.ndarray:
    """Attribution of a one-draw network: ``(n, d)``."""
    from nfbst.statistics import get_statistic

    eta = get_statistic(statistic)(draws, torch.as_tensor(np.asarray(X), dtype=torch.float32),
                                   **options)
    eta = eta.detach().numpy() if torch.is_tensor(eta) else np.asarray(eta)
    return eta[0]


def precision_recall_f1(selected: np.ndarray, truth: np.ndarray) -> dict:
    """Precision, recall and F1 with "significant" as the positive class."""
    selected, truth = np.asarray(selected, bool), np.asarray(truth, bool)
    tp = int((selected & truth).sum())
    prec = tp / selected.sum() if selected.sum() else float("nan")
    rec = tp / truth.sum() if truth.sum() else float("nan")
    f1 = 2 * prec * rec / (prec + rec) if prec + rec > 0 else 0.0
    return {"precision": prec, "recall": rec, "f1": f1}


def fmt_p(p: float) -> str:
    """Format a p-value / evidence as the paper does (``<0.001`` below 0.001)."""
    if p != p:
        return ""
    return "<0.001" if p < 0.001 else f"{p:.3f}"
