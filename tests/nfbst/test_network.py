"""BayesianNetwork: posterior methods on any torch module, against independent truths.

Linear-Gaussian truth: for ``nn.Linear`` with the N(0, s²) prior and a fixed noise sd the
posterior of (w, b) is Gaussian in closed form (Bayesian linear regression). Tolerances are
Monte Carlo errors: with N effective draws the posterior mean of f(x) is off by sd/sqrt(N)
and the sd by sd/sqrt(2N) (one standard error); we allow 4 of them, plus a stated allowance
where the method has a known bias (SGLD's step size, VI's stochastic optimisation).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from nfbst.backends import available, get_backend
from nfbst.functional_draws import FunctionalDraws
from nfbst.network import BayesianNetwork

NOISE, PRIOR = 0.5, 1.0


@pytest.fixture(scope="module")
def linear_truth():
    rng = np.random.default_rng(1)
    n = 40
    X = rng.normal(size=(n, 2))
    y = 1.5 * X[:, 0] - 0.5 * X[:, 1] + 0.3 + NOISE * rng.normal(size=n)
    ym, ys = y.mean(), y.std()
    sig = NOISE / ys  # the likelihood sd on the standardised target
    Phi = np.c_[X, np.ones(n)]
    A = Phi.T @ Phi / sig**2 + np.eye(3) / PRIOR**2
    S = np.linalg.inv(A)
    mu = S @ Phi.T @ ((y - ym) / ys) / sig**2
    Xt = rng.normal(size=(5, 2))
    Pt = np.c_[Xt, np.ones(5)]
    f_mean = ys * (Pt @ mu) + ym  # posterior of f(x) in the user's units
    f_sd = ys * np.sqrt(np.einsum("ij,jk,ik->i", Pt, S, Pt))
    return dict(X=X, y=y, Xt=Xt, f_mean=f_mean, f_sd=f_sd, mu=mu, A=A)


def _linear():
    return nn.Linear(2, 1).double()


def _check_function(net, truth, n_eff, extra_mean=0.0, extra_sd=0.0, n_draws=None):
    N = n_draws or net.backend_.n_available() or 4000
    out = net.sample_posterior(N).forward(truth["Xt"])[..., 0].numpy()
    mean_err = np.abs(out.mean(0) - truth["f_mean"]) / truth["f_sd"]
    sd_ratio = out.std(0) / truth["f_sd"]
    assert mean_err.max() < 4 / math.sqrt(n_eff) + extra_mean, mean_err
    assert np.abs(sd_ratio - 1).max() < 4 / math.sqrt(2 * n_eff) + extra_sd, sd_ratio


def test_laplace_linear_matches_closed_form(linear_truth):
    # the GGN of a linear model is its exact Hessian: laplace's Gaussian is the posterior
    net = BayesianNetwork(_linear, inference="laplace", random_state=0, inference_params=dict(
        n_epochs=300, lr=0.05, tune_prior=False, noise=NOISE, prior_scale=PRIOR,
        num_samples=4000, subset_of_weights="all")).fit(linear_truth["X"], linear_truth["y"])
    assert net.diagnostics_["structure"] == "full"
    _check_function(net, linear_truth, n_eff=4000, extra_mean=0.01)  # MAP by Adam


def test_hmc_linear_matches_closed_form(linear_truth):
    net = BayesianNetwork(_linear, inference="hmc", random_state=0, inference_params=dict(
        num_samples=1000, warmup_steps=150, noise=NOISE, prior_scale=PRIOR)
    ).fit(linear_truth["X"], linear_truth["y"])
    d = net.diagnostics_
    assert d["rhat_max"] < 1.05
    _check_function(net, linear_truth, n_eff=min(d["ess_min_output"], 1000))


def test_vi_linear_matches_mean_field_optimum(linear_truth):
    # for a Gaussian posterior N(mu, A^-1) the mean-field optimum is N(mu_j, 1/A_jj)
    net = BayesianNetwork(_linear, inference="vi", random_state=0, inference_params=dict(
        n_epochs=1500, lr=0.02, noise=NOISE, prior_scale=PRIOR)
    ).fit(linear_truth["X"], linear_truth["y"])
    p = net.sample_posterior(4000).params
    theta = torch.cat([p["weight"].reshape(4000, -1), p["bias"]], 1).numpy()
    sd = 1 / np.sqrt(np.diag(linear_truth["A"]))
    assert np.abs((theta.mean(0) - linear_truth["mu"]) / sd).max() < 4 / math.sqrt(4000) + 0.05
    assert np.abs(theta.std(0) / sd - 1).max() < 4 / math.sqrt(8000) + 0.05


def test_anchored_linear_members_are_posterior_draws(linear_truth):
    # randomise-then-optimise: each anchored member of a linear-Gaussian model is exact
    net = BayesianNetwork(_linear, inference="anchored", random_state=0, inference_params=dict(
        n_members=400, n_epochs=300, lr=0.05, noise=NOISE, prior_scale=PRIOR)
    ).fit(linear_truth["X"], linear_truth["y"])
    _check_function(net, linear_truth, n_eff=400)
    with pytest.raises(ValueError, match="exceeds the 400 draws"):
        net.sample_posterior(401)


def test_sgld_linear_matches_closed_form(linear_truth):
    net = BayesianNetwork(_linear, inference="sgld", random_state=0, inference_params=dict(
        num_samples=1000, n_steps=3000, warmup_steps=600, step_size=0.25, noise=NOISE,
        prior_scale=PRIOR)).fit(linear_truth["X"], linear_truth["y"])
    assert net.diagnostics_["rhat_max"] < 1.05
    # the fixed step inflates the variance by about step_size/4 (sd by ~3 %)
    _check_function(net, linear_truth, n_eff=min(net.diagnostics_["ess_min_output"], 1000),
                    extra_sd=0.06)


# ------------------------------------------------------------------ ensembles
class _Branchy(nn.Module):
    """Data-dependent control flow: torch.func.vmap cannot run it (loop fallback)."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.lin(x)
        return out if bool(out.sum() > -1e9) else -out


def _tanh_net():
    return nn.Sequential(nn.Linear(3, 6), nn.Tanh(), nn.Linear(6, 1))


def test_ensemble_equals_members_trained_one_by_one():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = np.sin(X[:, 0]) + 0.1 * rng.normal(size=30)
    o = dict(n_members=3, n_epochs=60, lr=0.02, noise=0.2, prior_scale=1.0)
    net = BayesianNetwork(_tanh_net, inference="ensemble", inference_params=o,
                          random_state=3).fit(X, y)
    assert net.diagnostics_["vectorized"] is True
    init = net.backend_.initial_params
    members = net.sample_posterior(3).params
    ys = y.std()
    t = torch.as_tensor((y - y.mean()) / ys, dtype=torch.float32)
    Xt = torch.as_tensor(X, dtype=torch.float32)
    sig = 0.2 / ys
    for m in range(3):  # plain torch: one module, its own Adam, the same full batches
        mod = _tanh_net()
        mod.load_state_dict({k: v[m] for k, v in init.items()})
        opt = torch.optim.Adam(mod.parameters(), lr=0.02)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=60, eta_min=0.0002)
        for _ in range(60):
            nll = 0.5 * ((t - mod(Xt)[:, 0]) / sig).square().sum()
            pen = 0.5 * sum(p.square().sum() for p in mod.parameters())
            loss = (nll + pen) / len(t)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        for k, p in mod.named_parameters():
            torch.testing.assert_close(members[k][m], p.detach(), atol=2e-5, rtol=1e-4)


def test_ensemble_loop_fallback_when_vmap_cannot_run():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = X[:, 0] + 0.1 * rng.normal(size=30)
    o = dict(n_members=2, n_epochs=100, lr=0.05)
    net = BayesianNetwork(_Branchy, inference="ensemble", inference_params=o,
                          random_state=0).fit(X, y)
    assert net.diagnostics_["vectorized"] is False
    assert "data-dependent control flow" in net.diagnostics_["vmap_error"]
    assert net.score(X, y) > 0.9
    # the forced loop gives the vmap path's members on a vmap-able module
    a = BayesianNetwork(_tanh_net, inference="ensemble", random_state=1,
                        inference_params=dict(o, vectorize=False)).fit(X, y)
    b = BayesianNetwork(_tanh_net, inference="ensemble", random_state=1,
                        inference_params=o).fit(X, y)
    assert a.diagnostics_["vectorized"] is False and b.diagnostics_["vectorized"] is True
    for k, v in a.sample_posterior(2).params.items():
        torch.testing.assert_close(v, b.sample_posterior(2).params[k], atol=1e-5, rtol=1e-4)


# -------------------------------------------------------------------- digits CNN
def _cnn():
    return nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(8 * 3 * 3, 32), nn.ReLU(), nn.Linear(32, 10))


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    return X[:800], y[:800], X[1200:], y[1200:]


@pytest.mark.parametrize("inference, params", [
    ("vi", dict(n_epochs=8, batch_size=64)),
    ("ensemble", dict(n_members=3, n_epochs=8, batch_size=64)),
    ("laplace", dict(n_epochs=8, batch_size=64, subset_of_weights="last_layer",
                     num_samples=20)),
])
def test_digits_cnn_classification(digits, inference, params):
    Xtr, ytr, Xte, yte = digits
    net = BayesianNetwork(_cnn, task="classification", inference=inference,
                          inference_params=params, input_shape=(1, 8, 8), random_state=0)
    net.fit(Xtr.reshape(-1, 1, 8, 8), ytr)  # shaped rows; flat rows in predict
    assert net.score(Xte, yte) > 0.8
    draws = net.sample_posterior(3)
    assert draws.forward(Xte[:4]).shape == (3, 4, 10)
    assert np.array_equal(net.classes_, np.arange(10))
    proba = net.predict_proba(Xte[:4])
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-6)


def test_vi_local_reparameterisation_layers():
    class WithNorm(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect")
            self.norm = nn.LayerNorm(2 * 4 * 4)
            self.scale = nn.Parameter(torch.ones(1))
            self.out = nn.Linear(32, 1)

        def forward(self, x):
            return self.out(self.norm(self.conv(x).flatten(1))) * self.scale

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 16))
    y = X[:, 0] + 0.1 * rng.normal(size=20)
    with pytest.warns(UserWarning, match="scale"):  # no reset_parameters for 'scale'
        net = BayesianNetwork(WithNorm(), inference="vi", input_shape=(1, 4, 4),
                              inference_params=dict(n_epochs=5), random_state=0).fit(X, y)
    d = net.diagnostics_
    assert d["local_reparam_layers"] == ["conv", "out"]
    assert d["weight_reparam_parameters"] == ["norm.bias", "norm.weight", "scale"]


# ------------------------------------------------------------ units, save/load
def test_draws_in_user_units_and_save_load_identical(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = 1000 + 50 * X[:, 0] + rng.normal(size=50)
    net = BayesianNetwork(_tanh_net, inference="vi", random_state=0,
                          inference_params=dict(n_epochs=300, lr=0.03)).fit(X, y)
    pred = net.predict(X)
    assert abs(pred.mean() - y.mean()) < 2 and np.corrcoef(pred, y)[0, 1] > 0.99
    draws = net.sample_posterior(10)
    assert draws.noise_scale is not None and float(draws.noise_scale.mean()) < 10
    net.save(tmp_path / "net")
    back = BayesianNetwork.load(tmp_path / "net", module=_tanh_net)
    again = back.sample_posterior(10)
    for k, v in draws.params.items():
        assert torch.equal(v, again.params[k])
    assert torch.equal(draws.forward(X), again.forward(X))
    np.testing.assert_array_equal(back.predict(X), pred)
    with pytest.raises(TypeError, match="module="):
        BayesianNetwork.load(tmp_path / "net")


def test_bank_save_load_classification(tmp_path, digits):
    Xtr, ytr, Xte, _ = digits
    net = BayesianNetwork(_cnn, task="classification", inference="ensemble",
                          input_shape=(1, 8, 8), random_state=0,
                          inference_params=dict(n_members=2, n_epochs=1)).fit(Xtr, ytr)
    net.save(tmp_path / "cnn")
    back = BayesianNetwork.load(tmp_path / "cnn", module=_cnn())
    assert torch.equal(net.sample_posterior(2).forward(Xte[:5]),
                       back.sample_posterior(2).forward(Xte[:5]))
    np.testing.assert_array_equal(back.classes_, net.classes_)


# ------------------------------------------------------------------- bad input
def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(20, 3)), rng.integers(0, 3, size=20)


def test_registry_lists_module_backends():
    assert available("module") == ["anchored", "ensemble", "hmc", "laplace", "sgld", "vi"]
    assert "nuts" in available()  # the MLP table is unchanged
    with pytest.raises(ValueError, match="inference must be one of"):
        get_backend("nuts", kind="module")


@pytest.mark.parametrize("kwargs, err, match", [
    (dict(task="classification", module=nn.Linear(3, 2)), ValueError, "3 classes in y needs "
     "a module returning 3 logits"),
    (dict(module=nn.Linear(3, 2)), ValueError, "task='regression' needs a module with 1 output"),
    (dict(module=nn.Sequential(nn.Flatten())), ValueError, "has no parameters"),
    (dict(module=nn.Linear(3, 1), inference="mcmc"), ValueError, "inference must be one of"),
    (dict(module=nn.Linear(3, 1), inference_params={"n_epoch": 3}), ValueError,
     r"inference='vi' has no option\(s\) \['n_epoch'\]"),
    (dict(module=nn.Linear(3, 1), inference_params={"lr": -1}), ValueError,
     r"inference_params\['lr'\] of inference='vi' must be a positive float"),
    (dict(module=nn.Linear(3, 1), inference="hmc", inference_params={"noise": "big"}),
     ValueError, "'learned' or a positive float"),
    (dict(module=nn.Linear(3, 1), task="ranking"), ValueError, "task must be one of"),
    (dict(module=nn.Conv2d(1, 1, 2)), ValueError, "input_shape is required"),
    (dict(module=nn.Sequential(nn.Linear(3, 4), nn.Linear(5, 1))), ValueError,
     "cannot be called on rows of shape"),
    (dict(module=nn.Linear(3, 1), input_shape=(5,)), ValueError, r"X must have shape \(n, 5\)"),
    (dict(module="net"), TypeError, "module must be a torch.nn.Module or a zero-argument"),
])
def test_bad_inputs_refused_before_work(kwargs, err, match):
    X, y = _data()
    module = kwargs.pop("module")
    with pytest.raises(err, match=match):
        BayesianNetwork(module, **kwargs).fit(X, y)


def test_hmc_refuses_large_module():
    X, y = _data()
    big = nn.Sequential(nn.Linear(3, 2000), nn.Tanh(), nn.Linear(2000, 1))
    with pytest.raises(ValueError, match=r"MAX_PARAMS=5000 parameters; this module has 10001"):
        BayesianNetwork(big, inference="hmc").fit(X, y.astype(float))


def test_laplace_refuses_unsupported_settings():
    X, y = _data()
    y = y.astype(float)
    with_norm = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Linear(4, 1))
    with pytest.raises(ValueError, match=r"KFAC\) supports only nn.Linear and nn.Conv2d"):
        BayesianNetwork(with_norm, inference="laplace",
                        inference_params={"hessian_structure": "kron",
                                          "subset_of_weights": "all"}).fit(X, y)
    not_linear_last = nn.Sequential(nn.Linear(3, 1), nn.LayerNorm(1))
    with pytest.raises(ValueError, match="last parametrised layer is an nn.Linear"):
        BayesianNetwork(not_linear_last, inference="laplace",
                        inference_params={"subset_of_weights": "last_layer"}).fit(X, y)
    big = nn.Sequential(nn.Linear(3, 4000), nn.Tanh(), nn.Linear(4000, 1))
    with pytest.raises(ValueError, match="FULL_MAX_PARAMS=10000"):
        BayesianNetwork(big, inference="laplace",
                        inference_params={"hessian_structure": "full",
                                          "subset_of_weights": "all"}).fit(X, y)
    with pytest.raises(ValueError, match="subset_of_weights"):
        BayesianNetwork(nn.Linear(3, 1), inference="laplace",
                        inference_params={"subset_of_weights": "subnetwork"}).fit(X, y)


def test_functional_draws_type_and_protocol():
    X, y = _data()
    net = BayesianNetwork(nn.Linear(3, 3), task="classification", inference="vi",
                          inference_params=dict(n_epochs=2), random_state=0).fit(X, y)
    draws = net.sample_posterior(5)
    assert isinstance(draws, FunctionalDraws) and draws.task == "classification"
    assert len(draws) == 5 and draws.n_features == 3
    # the protocol NFBST uses
    for name in ("task", "random_state", "verbose", "n_jobs"):
        assert name in net.get_params()
    # random_state=None: the draws fixed at fit; another seed: other draws
    assert torch.equal(draws.params["weight"], net.sample_posterior(5).params["weight"])
    assert not torch.equal(draws.params["weight"],
                           net.sample_posterior(5, random_state=1).params["weight"])


def test_string_labels_and_clone():
    from sklearn.base import clone

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = np.where(X[:, 0] > 0, "pos", "neg")
    net = BayesianNetwork(nn.Linear(2, 2), task="classification", inference="ensemble",
                          inference_params=dict(n_members=2, n_epochs=200, lr=0.05),
                          random_state=0)
    twin = clone(net)
    assert twin.get_params()["inference_params"] == net.get_params()["inference_params"]
    net.fit(X, y)
    assert set(net.predict(X)) <= {"neg", "pos"} and net.score(X, y) > 0.9
    assert list(net.classes_) == ["neg", "pos"]
