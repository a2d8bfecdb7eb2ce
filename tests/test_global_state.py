"""No public call changes the caller's global random state or pyro's param store.

Every case below runs a fit/test/predict with a seeded ``random_state`` and with
``random_state=None``; before and after it the global torch CPU generator, numpy's global
RandomState, Python's ``random`` and pyro's param store (holding a parameter of the "user") must
be identical. To add a package, append ``(name, callable)`` rows to ``CASES`` (a callable
takes ``random_state`` and runs the public calls on a tiny budget).
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch


def _regression(n=40, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, X[:, 0] - 0.5 * X[:, 1] + 0.1 * rng.normal(size=n)


def _bnn_fit_predict(inference, **kw):
    def run(random_state):
        from nfbst import BayesianMLP

        X, y = _regression()
        m = BayesianMLP(hidden=(3,), inference=inference, random_state=random_state, **kw)
        m.fit(X, y).predict(X)
        m.sample_posterior(4)

    return run


def _classifier_fit_predict(random_state):
    from nfbst import BayesianMLPClassifier

    X, y = _regression()
    m = BayesianMLPClassifier(hidden=(3,), n_steps=20, random_state=random_state)
    m.fit(X, (y > 0).astype(int)).predict_proba(X)


def _nfbst_fit_test(statistic, **options):
    def run(random_state):
        from nfbst import NFBST, BayesianMLP

        X, y = _regression()
        test = NFBST(model=BayesianMLP(hidden=(3,), n_steps=20), statistic=statistic,
                     n_posterior_samples=8, n_randomizations=4, crt_max_draws=4,
                     random_state=random_state, **options)
        test.fit(X, y).test()
        test.test(X, scope="instance", calibration="none")

    return run


def _baselines(random_state):
    from sklearn.linear_model import LinearRegression

    from nfbst import baselines as bl

    X, y = _regression()
    bl.bootstrap_test(X, y, n_bootstraps=10, random_state=random_state)
    bl.permutation_test(LinearRegression(), X, y, n_repeats=3, random_state=random_state)
    bl.loco_test(LinearRegression(), X, y, random_state=random_state)
    bl.gradient_test(X, y, hidden=(3,), n_bootstraps=1, epochs=5, random_state=random_state)
    bl.fit_mlp(X, y, hidden=(3,), epochs=5, random_state=random_state)


def _merging(random_state):
    from nfbst.merging import MeanFieldPosterior, dare_merging, diagnose_merge

    m = {"0.weight": torch.tensor([[1.0, 0.0]]), "0.bias": torch.zeros(1)}
    post = MeanFieldPosterior(m, {k: torch.full_like(v, 0.1) for k, v in m.items()})
    post.sample(5, random_state=random_state)
    merged = dare_merging(m, [m, m], drop_rate=0.5, random_state=random_state)
    X = np.random.default_rng(0).normal(size=(10, 2))
    diagnose_merge(None, [post, post], merged, [X, X], n_draws=5, random_state=random_state)


CASES = [
    ("nfbst BayesianMLP vi", _bnn_fit_predict("vi", n_steps=20)),
    ("nfbst BayesianMLP ensemble", _bnn_fit_predict("ensemble", n_steps=10, n_ensemble=2)),
    ("nfbst BayesianMLP hmc", _bnn_fit_predict("hmc", num_samples=8, warmup_steps=20,
                                               n_chains=2)),
    ("nfbst BayesianMLP sgld", _bnn_fit_predict("sgld", num_samples=8, warmup_steps=20,
                                                n_chains=2, n_steps=20)),
    ("nfbst BayesianMLP laplace", _bnn_fit_predict("laplace", n_steps=20)),
    ("nfbst BayesianMLP anchored", _bnn_fit_predict("anchored", n_steps=20, n_ensemble=4)),
    ("nfbst BayesianMLP nuts", _bnn_fit_predict("nuts", num_samples=4, warmup_steps=4)),
    ("nfbst BayesianMLPClassifier", _classifier_fit_predict),
    ("nfbst NFBST grad + CRT", _nfbst_fit_test("grad")),
    ("nfbst NFBST lime", _nfbst_fit_test("lime", calibration="none",
                                         statistic_options={"num_samples": 20})),
    ("nfbst baselines", _baselines),
    ("nfbst merging", _merging),
]


def _global_state():
    import pyro

    return (torch.get_rng_state().clone(), np.random.get_state(), random.getstate(),  # noqa: NPY002
            {k: v.detach().clone() for k, v in pyro.get_param_store().items()})


def _assert_same(before, after):
    t0, n0, p0, s0 = before
    t1, n1, p1, s1 = after
    assert torch.equal(t0, t1), "the global torch generator changed"
    assert n0[0] == n1[0] and np.array_equal(n0[1], n1[1]) and n0[2:] == n1[2:], \
        "numpy's global RandomState changed"
    assert p0 == p1, "Python's global random state changed"
    assert s0.keys() == s1.keys() and all(torch.equal(s0[k], s1[k]) for k in s0), \
        "pyro's param store changed"


@pytest.mark.filterwarnings("ignore::UserWarning")  # unconverged tiny chains warn
@pytest.mark.parametrize("random_state", [0, None], ids=["seeded", "None"])
@pytest.mark.parametrize("name, run", CASES, ids=[c[0] for c in CASES])
def test_public_calls_leave_global_rng_and_pyro_param_store_unchanged(name, run, random_state):
    import pyro

    pyro.clear_param_store()
    pyro.param("user_parameter", torch.tensor([1.0, 2.0]))  # the user's own model state
    torch.manual_seed(123)  # the user's own global seeding (test code, not library code)
    np.random.seed(123)  # noqa: NPY002
    random.seed(123)
    before = _global_state()
    try:
        run(random_state)
        _assert_same(before, _global_state())
    finally:
        pyro.clear_param_store()
