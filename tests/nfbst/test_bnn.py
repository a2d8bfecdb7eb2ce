"""BayesianMLP and PosteriorDraws: user units, inference against closed forms, persistence."""

import numpy as np
import pytest
import torch
from captum.attr import Saliency
from sklearn.exceptions import NotFittedError

from nfbst import BayesianMLP, PosteriorDraws
from nfbst.statistics import gradient


def _linear_data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * np.array([1.0, 5.0, 0.2]) + np.array([3.0, -2.0, 0.0])
    y = 10 + X @ np.array([1.5, 0.0, 2.0]) + 0.7 * rng.normal(size=n)
    return X, y


def _exact_gradient_posterior(X, y, noise, prior_scale):
    """Conjugate posterior of the input gradient of Bayesian linear regression.

    Same model as BayesianMLP(hidden=()): standardised inputs and targets, N(0, s²) prior on
    weights and bias, known noise; the gradient in user units is w_j · sd(y) / sd(x_j).
    """
    Z = (X - X.mean(0)) / X.std(0)
    t = (y - y.mean()) / y.std()
    sigma = noise / y.std()
    Z1 = np.column_stack([Z, np.ones(len(Z))])
    A = Z1.T @ Z1 / sigma**2 + np.eye(Z1.shape[1]) / prior_scale**2
    cov = np.linalg.inv(A)
    mean = cov @ Z1.T @ t / sigma**2
    scale = y.std() / X.std(0)
    return mean[:3] * scale, np.sqrt(np.diag(cov)[:3]) * scale


def test_draws_module_equals_batched_forward_for_every_draw():
    X, y = _linear_data()
    bnn = BayesianMLP(hidden=(8, 6), activation="tanh", n_steps=200, random_state=0).fit(X, y)
    draws = bnn.sample_posterior(7)
    out = draws.forward(X)
    for i in range(len(draws)):
        with torch.no_grad():
            ref = draws.module(i)(torch.as_tensor(X, dtype=torch.float32))
        torch.testing.assert_close(out[i], ref, rtol=1e-5, atol=1e-4)


def test_draws_map_user_inputs_to_user_targets():
    X, y = _linear_data()
    bnn = BayesianMLP(hidden=(16,), n_steps=1500, random_state=0).fit(X, y)
    pred = bnn.predict(X)
    assert np.sqrt(np.mean((pred - y) ** 2)) < 1.0  # noise sd is 0.7, y sd is ~5
    mean, sd = bnn.predict(X, return_std=True)
    np.testing.assert_allclose(mean, pred)
    assert np.all(sd > 0.4) and np.all(sd < 1.5)


def test_gradient_statistic_equals_captum_saliency_per_draw():
    X, y = _linear_data()
    bnn = BayesianMLP(hidden=(10, 10), n_steps=100, random_state=1).fit(X, y)
    draws = bnn.sample_posterior(5)
    Xt = torch.as_tensor(X[:20], dtype=torch.float32)
    eta = gradient(draws, Xt)
    for i in range(len(draws)):
        ref = Saliency(draws.module(i)).attribute(Xt.clone(), target=0, abs=False)
        torch.testing.assert_close(eta[i], ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("inference", ["vi", "nuts"])
def test_gradient_posterior_matches_conjugate_linear_regression(inference):
    X, y = _linear_data()
    mean, sd = _exact_gradient_posterior(X, y, noise=0.7, prior_scale=1.0)
    bnn = BayesianMLP(hidden=(), inference=inference, noise=0.7, n_steps=2000, lr=0.02,
                      num_samples=400, warmup_steps=300, random_state=0).fit(X, y)
    eta = gradient(bnn.sample_posterior(400), torch.as_tensor(X[:1], dtype=torch.float32))
    eta = eta[:, 0].double().numpy()  # (S, 3): the gradient is the same at every x
    assert np.all(np.abs(eta.mean(0) - mean) < 0.25 * sd)
    assert np.all(np.abs(eta.std(0) / sd - 1) < 0.25)


def test_evidence_uniform_for_null_coefficient_and_near_zero_for_strong_one():
    from scipy import stats

    from nfbst import NFBST

    null_ev, strong_ev = [], []
    for seed in range(20):
        X, y = _linear_data(n=150, seed=100 + seed)
        model = BayesianMLP(hidden=(), noise=0.7, n_steps=800, lr=0.03)
        res = NFBST(model=model, n_posterior_samples=400, preset="paper",
                    random_state=seed).fit(X, y)
        ev = res.test(X[:5], scope="global").evidence
        null_ev.append(ev[1])
        strong_ev.append(ev[0])
    assert stats.kstest(null_ev, "uniform").pvalue > 0.01
    assert 0.25 < np.mean(null_ev) < 0.75
    assert max(strong_ev) < 0.01


def test_ensemble_pools_draws_of_every_run():
    X, y = _linear_data()
    bnn = BayesianMLP(hidden=(4,), inference="ensemble", n_ensemble=3, n_steps=50,
                      random_state=0).fit(X, y)
    assert len(bnn.mean_field_) == 3
    draws = bnn.sample_posterior(300)
    assert len(draws) == 300
    first_layer = draws.weights[0]
    # runs have different initialisations, so their blocks of 100 draws differ in mean
    means = torch.stack([first_layer[k * 100:(k + 1) * 100].mean(0) for k in range(3)])
    assert not torch.allclose(means[0], means[1])


def test_classification_learns_classes_and_reports_probabilities():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    y = np.where(X[:, 0] > 0, "pos", "neg")
    bnn = BayesianMLP(hidden=(8,), task="classification", n_steps=600, random_state=0).fit(X, y)
    assert set(bnn.classes_) == {"neg", "pos"}
    assert np.mean(bnn.predict(X) == y) > 0.9
    proba = bnn.predict_proba(X[:4])
    np.testing.assert_allclose(proba.sum(1), 1, atol=1e-6)
    assert bnn.sample_posterior(10).forward(X[:3]).shape == (10, 3, 2)


def test_same_random_state_gives_identical_draws():
    X, y = _linear_data()
    a = BayesianMLP(hidden=(5,), n_steps=100, random_state=3).fit(X, y).sample_posterior(20)
    b = BayesianMLP(hidden=(5,), n_steps=100, random_state=3).fit(X, y).sample_posterior(20)
    for wa, wb in zip(a.weights, b.weights):
        assert torch.equal(wa, wb)


def test_save_load_reproduces_posterior_draws(tmp_path):
    X, y = _linear_data()
    bnn = BayesianMLP(hidden=(5,), n_steps=100, random_state=3).fit(X, y)
    bnn.save(tmp_path / "bnn")
    again = BayesianMLP.load(tmp_path / "bnn")
    for wa, wb in zip(bnn.sample_posterior(20).weights, again.sample_posterior(20).weights):
        assert torch.equal(wa, wb)
    draws = bnn.sample_posterior(4)
    draws.save(tmp_path / "draws")
    loaded = PosteriorDraws.load(tmp_path / "draws")
    assert torch.equal(loaded.forward(X), draws.forward(X))


@pytest.mark.parametrize(
    "X, y, exc, words",
    [
        (np.array([[1.0, np.nan], [2.0, 3.0]]), np.array([1.0, 2.0]), ValueError, "NaN"),
        (np.ones((5, 2)) * np.arange(5)[:, None], np.ones(4), ValueError,
         r"inconsistent numbers of samples: \[5, 4\]"),
        (np.array([[1.0, 2.0]]), np.array([1.0]), ValueError, r"1 sample\(s\).*minimum of 2"),
        (np.column_stack([np.arange(5.0), np.ones(5)]), np.arange(5.0), ValueError, "constant"),
        (np.array([["a", "b"], ["c", "d"]]), np.array([1.0, 2.0]), TypeError, "numbers"),
        (np.arange(10.0).reshape(5, 2), np.ones((5, 2)), ValueError, r"1d array.*\(5, 2\)"),
    ],
)
def test_bad_training_input_raises_clear_error(X, y, exc, words):
    with pytest.raises(exc, match=words):
        BayesianMLP(hidden=(2,), n_steps=5).fit(X, y)


def test_unfitted_and_wrong_width_use_raise():
    with pytest.raises(NotFittedError):
        BayesianMLP().sample_posterior(3)
    X, y = _linear_data()
    bnn = BayesianMLP(hidden=(2,), n_steps=5).fit(X, y)
    with pytest.raises(ValueError, match="X has 4 features, but .* is expecting 3 features"):
        bnn.predict(np.ones((2, 4)))
    with pytest.raises(ValueError, match="activation"):
        BayesianMLP(activation="swish").fit(X, y)


def test_weight_sampling_estimator_also_matches_conjugate_posterior():
    X, y = _linear_data()
    mean, sd = _exact_gradient_posterior(X, y, noise=0.7, prior_scale=1.0)
    bnn = BayesianMLP(hidden=(), noise=0.7, reparam="weight", n_steps=2000, lr=0.02,
                      random_state=0).fit(X, y)
    eta = gradient(bnn.sample_posterior(400), torch.as_tensor(X[:1], dtype=torch.float32))
    eta = eta[:, 0].double().numpy()
    assert np.all(np.abs(eta.mean(0) - mean) < 0.25 * sd)
    assert np.all(np.abs(eta.std(0) / sd - 1) < 0.25)


def test_a_refit_with_another_backend_drops_the_previous_backends_fitted_attributes():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = X[:, 0] + 0.1 * rng.normal(size=60)
    bnn = BayesianMLP(hidden=(4,), inference="laplace", random_state=0).fit(X, y)
    assert hasattr(bnn, "laplace_")
    bnn.set_params(inference="vi", n_steps=50).fit(X, y)
    assert not hasattr(bnn, "laplace_") and hasattr(bnn, "mean_field_")
    bnn.set_params(inference="anchored", n_ensemble=2).fit(X, y)
    assert not hasattr(bnn, "mean_field_") and not hasattr(bnn, "loss_history_")
