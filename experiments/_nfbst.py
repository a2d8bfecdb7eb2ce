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
    scikit-learn ``MLPRegressor`` / ``MLPClassifier``. Its weights become a point-mass
    :class:`~nfbst.merging.MeanFieldPosterior` (std 0) whose :meth:`point` is the draw.
    """
    from nfbst.merging import MeanFieldPosterior
    from nfbst.posterior import ACTIVATIONS

    if hasattr(layers, "coefs_"):  # scikit-learn MLP: coefs_ are (in, out)
        mean = {}
        for l, (W, b) in enumerate(zip(layers.coefs_, layers.intercepts_)):
            mean[f"{l}.weight"], mean[f"{l}.bias"] = torch.as_tensor(W.T), torch.as_tensor(b)
        activation = layers.activation
        task = "classification" if hasattr(layers, "classes_") else "regression"
    else:
        mean = {k: v.detach() for k, v in layers.state_dict().items()}
        by_class = {cls: name for name, (_, cls) in ACTIVATIONS.items()}
        activation = next((by_class[type(m)] for m in layers if type(m) in by_class), "relu")
        task = "regression"
    std = {k: torch.zeros_like(v) for k, v in mean.items()}
    return MeanFieldPosterior(mean, std, activation=activation, task=task).point()


def point_attribution(draws, X, statistic: str, target=None, **options) -> np.ndarray:
    """Attribution of a one-draw network: ``(n, d)``."""
    from nfbst.significance import NFBST

    test = NFBST.from_draws(draws, statistic=statistic, statistic_options=options, verbose=0)
    return test.statistic_samples(np.asarray(X), target=target)[0]


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
