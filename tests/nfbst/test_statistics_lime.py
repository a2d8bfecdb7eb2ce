"""LIME across posterior draws equals the ``lime`` package's explainer run on each draw."""

import numpy as np
import pytest
import torch
from lime.lime_tabular import LimeTabularExplainer

from nfbst.statistics import get_statistic, lime
from nfbst.statistics._synthetic import random_draws

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
S, N, D = 3, 4, 5


def _problem(classification=False, activation="tanh", seed=2):
    k, task = (3, "classification") if classification else (1, "regression")
    draws = random_draws(S, D, (6, 4), activation, k, task, random_state=seed)
    X = torch.randn(N, D, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    return draws, X


def _lime_package(draws, X, labels, seed, num_samples, num_features=None, training=None,
                  **explainer_kw):
    """One ``LimeTabularExplainer`` per draw, same seed, instances in order (lime defaults
    otherwise: Ridge(alpha=1) surrogate)."""
    classification = draws.task == "classification"
    ref = torch.zeros(len(draws), X.shape[0], X.shape[1], dtype=torch.float64)
    T = X.numpy() if training is None else training
    for i in range(len(draws)):
        net = draws.module(i)

        def predict(Z, net=net):
            out = net(torch.from_numpy(Z)).detach()
            return torch.softmax(out, -1).numpy() if classification else out[:, 0].numpy()

        explainer = LimeTabularExplainer(
            T, mode="classification" if classification else "regression",
            random_state=seed, **{"discretize_continuous": False, **explainer_kw})
        for j in range(X.shape[0]):
            label = int(labels[j]) if classification else 1
            exp = explainer.explain_instance(X[j].numpy(), predict, labels=(label,),
                                             num_features=num_features or X.shape[1],
                                             num_samples=num_samples)
            for f, v in exp.local_exp[label]:
                ref[i, j, f] = v
    return ref


@pytest.mark.parametrize("selection,num_features", [
    ("none", None), ("auto", None), ("highest_weights", 3), ("forward_selection", 2),
    ("auto", 2), ("lasso_path", 3),
])
def test_lime_regression_equals_lime_package_per_draw(selection, num_features):
    draws, X = _problem()
    ours = lime(draws, X, num_samples=300, feature_selection=selection,
                num_features=num_features, random_state=7, verbose=0)
    ref = _lime_package(draws, X, None, 7, 300, num_features, feature_selection=selection)
    torch.testing.assert_close(ours, ref, rtol=1e-7, atol=1e-10)
    if num_features is not None:  # lime's lasso path keeps at most num_features
        kept = (ours != 0).sum(-1)
        assert ((kept <= num_features) if selection == "lasso_path"
                else (kept == num_features)).all()


@pytest.mark.parametrize("target", [1, np.array([0, 2, 1, 1])])
def test_lime_classification_explains_class_probability_as_lime(target):
    draws, X = _problem(classification=True)
    ours = lime(draws, X, target=target, num_samples=250, feature_selection="auto",
                num_features=3, random_state=3, verbose=0)
    labels = np.broadcast_to(target, (N,))
    ref = _lime_package(draws, X, labels, 3, 250, 3, feature_selection="auto")
    torch.testing.assert_close(ours, ref, rtol=1e-7, atol=1e-10)


def test_lime_default_class_is_the_posterior_mean_prediction():
    draws, X = _problem(classification=True, seed=4)
    with torch.no_grad():
        probs = torch.stack([torch.softmax(draws.module(i)(X), -1) for i in range(S)])
    predicted = probs.mean(0).argmax(-1).numpy()
    ours = lime(draws, X, num_samples=200, random_state=1, verbose=0)
    torch.testing.assert_close(ours, _lime_package(draws, X, predicted, 1, 200),
                               rtol=1e-7, atol=1e-10)


def test_lime_kernel_width_training_data_and_sampling_around_instance_as_lime():
    draws, X = _problem(activation="relu", seed=5)
    T = np.random.default_rng(0).normal(1.0, 2.0, size=(40, D))
    ours = lime(draws, X, num_samples=200, kernel_width=1.3, training_data=T,
                sample_around_instance=True, random_state=11, verbose=0)
    ref = _lime_package(draws, X, None, 11, 200, training=T, kernel_width=1.3,
                        sample_around_instance=True)
    torch.testing.assert_close(ours, ref, rtol=1e-7, atol=1e-10)


def test_lime_is_reproducible_with_a_seed_and_independent_of_row_batches():
    draws, X = _problem()
    a = lime(draws, X, num_samples=150, random_state=0, verbose=0)
    b = lime(draws, X, num_samples=150, random_state=0, verbose=0, batch_size=1)
    c = lime(draws, X, num_samples=150, random_state=1, verbose=0)
    assert torch.equal(a, get_statistic("lime")(draws, X, num_samples=150, random_state=0,
                                                verbose=0))
    torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    assert not torch.allclose(a, c)


def test_lime_surrogate_recovers_the_slope_of_a_linear_network():
    W = torch.tensor([[[2.0, -1.0, 0.0]], [[1.0, 0.5, 3.0]]], dtype=torch.float64)
    from nfbst.posterior import PosteriorDraws

    draws = PosteriorDraws([W], [torch.zeros(2, 1, dtype=torch.float64)])
    X = torch.randn(5, 3, dtype=torch.float64)
    eta = lime(draws, X, num_samples=2000, alpha=0.0, random_state=0, verbose=0)
    sd = X.numpy().std(0)  # coefficients are per training standard deviation
    expected = (W[:, 0, :] * torch.from_numpy(sd))[:, None, :].expand(2, 5, 3)
    torch.testing.assert_close(eta, expected, rtol=1e-8, atol=1e-8)


def test_lime_bad_options_raise_errors_naming_the_argument():
    draws, X = _problem()
    with pytest.raises(ValueError, match="feature_selection"):
        lime(draws, X, feature_selection="lasso", verbose=0)
    with pytest.raises(ValueError, match="num_features"):
        lime(draws, X, num_features=0, verbose=0)
    with pytest.raises(ValueError, match="num_samples"):
        lime(draws, X, num_samples=1, verbose=0)
    with pytest.raises(ValueError, match="kernel_width"):
        lime(draws, X, kernel_width=-1.0, verbose=0)
    with pytest.raises(ValueError, match="training_data"):
        lime(draws, X, training_data=np.zeros((3, D + 1)), verbose=0)
    with pytest.raises(ValueError, match="X must be finite"):
        lime(draws, X * float("inf"), verbose=0)


@pytest.mark.parametrize("discretizer", ["quartile", "decile"])
def test_lime_with_discretized_and_categorical_features_equals_lime_package(discretizer):
    draws, X = _problem(seed=8)
    X = X.clone()
    X[:, 1] = torch.tensor([0.0, 1.0, 2.0, 1.0])  # a categorical column
    T = X.numpy().copy()
    T = np.vstack([T, T + 0.1 * np.random.default_rng(1).normal(size=T.shape)])
    T[:, 1] = np.tile([0.0, 1.0, 2.0, 1.0], 2)
    for kw in ({"categorical_features": [1]},
               {"categorical_features": [1], "discretize_continuous": True,
                "discretizer": discretizer}):
        ours = lime(draws, X, num_samples=200, training_data=T, random_state=5, verbose=0,
                    **kw)
        ref = _lime_package(draws, X, None, 5, 200, training=T, **kw)
        torch.testing.assert_close(ours, ref, rtol=1e-7, atol=1e-10)
