"""diagnose_merge and MeanFieldPosterior on cases whose evidence is known in closed form."""

import matplotlib.figure
import numpy as np
import pytest
import torch
from scipy import stats

from nfbst import BayesianMLP
from nfbst.merging import MeanFieldPosterior, diagnose_merge, task_arithmetic
from nfbst.posterior import PosteriorDraws

SD = 0.05


def _linear(w, sd=SD):
    """A linear model y = w·x: its input gradient is exactly w, for every x."""
    mean = {"0.weight": torch.tensor([w], dtype=torch.float64), "0.bias": torch.zeros(1)}
    std = {k: torch.full(v.shape, sd, dtype=torch.float64) for k, v in mean.items()}
    return MeanFieldPosterior(mean, std)


def _wald(mu, sd=SD):
    return 2 * stats.norm.sf(abs(mu) / sd)


def test_diagnose_merge_on_linear_posteriors_matches_wald_evidence_and_changes():
    e1, e2 = _linear([1.0, 0.0, 0.3, 0.1]), _linear([0.0, 1.0, -0.3, 0.0])
    base = _linear([0.0, 0.0, 0.0, 0.0])
    merged = task_arithmetic(base.mean, [e1.mean, e2.mean], scaling=0.5)  # [.5, .5, 0, .05]
    X = np.random.default_rng(0).normal(size=(15, 4))
    diag = diagnose_merge(base, [e1, e2], merged, [X, (X, None)], n_draws=2000,
                          relevant=[[0, 2], np.array([False, True, True, False])],
                          task_names=["A", "B"], random_state=1)
    tab = diag.table.set_index(["task", "feature"])
    # expert A: feature 3 has mu/sd = 2 -> Wald p = 0.0455; merged: 0.05/0.05 = 1 -> 0.317
    assert tab.loc[("A", "x3"), "evidence_expert"] == pytest.approx(_wald(0.1), abs=0.02)
    assert tab.loc[("A", "x3"), "evidence_merged"] == pytest.approx(_wald(0.05), abs=0.04)
    assert tab.loc[("A", "x0"), "evidence_expert"] == 0.0
    assert tab.loc[("A", "x2"), "evidence_merged"] > 0.5
    assert diag.table["change"].tolist() == [
        "kept", "gained", "lost", "lost",     # task A: x3 at 2 sd drops to 1 sd
        "gained", "kept", "lost", "absent",   # task B
    ]
    assert diag.evidence_base.shape == (2, 4) and np.all(diag.evidence_base > 0.5)
    summ = diag.summary().set_index("task")
    assert summ.loc["A", "relevant_lost"] == 1 and summ.loc["A", "null_gained"] == 1
    assert summ.loc["B", "relevant_lost"] == 1 and summ.loc["B", "null_gained"] == 1
    assert summ.loc["A", "recall_expert"] == 1.0 and summ.loc["A", "recall_merged"] == 0.5
    np.testing.assert_allclose(tab.loc[("A", "x0"), "effect_merged"], 0.5, atol=0.01)
    fig = diag.plot()
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes[0].patches) == 5  # 2 gained + 3 lost frames


def test_diagnose_merge_uses_a_merged_posterior_spread_and_per_task_targets():
    # two-output linear model; task t explains output t
    W = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    mean = {"0.weight": W, "0.bias": torch.zeros(2, dtype=torch.float64)}
    tight = MeanFieldPosterior(mean, {k: torch.full_like(v, 0.01) for k, v in mean.items()})
    wide = MeanFieldPosterior(
        {"0.weight": W * 0.025, "0.bias": mean["0.bias"]},
        {k: torch.full_like(v, 0.01) for k, v in mean.items()},
    )
    X = np.zeros((5, 2))
    diag = diagnose_merge(None, [tight, tight], wide, [X, X], n_draws=1000)
    # merged weight 0.025 with sd 0.01 -> Wald 0.0124 on the explained output's own feature
    np.testing.assert_allclose(np.diag(diag.evidence_merged), _wald(0.025, 0.01), atol=0.015)
    assert np.all(np.diag(diag.evidence_expert) == 0.0)
    assert diag.evidence_base is None
    assert list(diag.table["change"]) == ["kept", "absent", "absent", "kept"]


def test_diagnose_merge_refuses_bad_inputs():
    e = _linear([1.0, 0.0])
    X = np.zeros((3, 2))
    draws = e.sample(10, random_state=0)
    with pytest.raises(TypeError, match="experts"):
        diagnose_merge(None, [draws], e.mean, [X])
    with pytest.raises(ValueError, match="data_per_task"):
        diagnose_merge(None, [e, e], e.mean, [X])
    with pytest.raises(ValueError, match="alpha"):
        diagnose_merge(None, [e], e.mean, [X], alpha=1.5)
    with pytest.raises(ValueError, match="data_per_task\\[0\\]"):
        diagnose_merge(None, [e], e.mean, [np.full((3, 2), np.nan)])
    with pytest.raises(ValueError, match="merged"):
        diagnose_merge(None, [e], [e.mean, e.mean], [X])


def test_mean_field_posterior_draws_have_the_given_moments():
    mean = {"a.weight": torch.randn(3, 2), "a.bias": torch.randn(3),
            "b.weight": torch.randn(1, 3), "b.bias": torch.randn(1)}
    std = {k: torch.rand_like(v) + 0.1 for k, v in mean.items()}
    draws = MeanFieldPosterior(mean, std, activation="tanh").sample(20000, random_state=0)
    assert isinstance(draws, PosteriorDraws) and draws.activation == "tanh"
    torch.testing.assert_close(draws.weights[1].mean(0), mean["b.weight"], atol=0.03, rtol=0)
    torch.testing.assert_close(draws.weights[0].std(0), std["a.weight"], atol=0.03, rtol=0)
    post = MeanFieldPosterior(mean, std, activation="tanh")
    a, b = post.sample(50, random_state=3), post.sample(50, random_state=3)
    c = post.sample(50, random_state=4)
    assert torch.equal(a.weights[0], b.weights[0]) and not torch.equal(a.weights[0], c.weights[0])


def test_mean_field_posterior_from_bnn_folds_standardisation_into_user_units():
    rng = np.random.default_rng(0)
    X = rng.normal(loc=3.0, scale=2.0, size=(80, 2))
    y = 5 + X[:, 0] + 0.1 * rng.normal(size=80)
    bnn = BayesianMLP(hidden=(4,), n_steps=50, random_state=0).fit(X, y)
    post = MeanFieldPosterior.from_bnn(bnn)
    net = bnn.mean_field_[0]
    st = bnn.standardization_
    Z = torch.as_tensor((X - st["x_mean"]) / np.asarray(st["x_scale"]), dtype=torch.float32)
    with torch.no_grad():
        h = torch.relu(Z @ net.layers[0].weight_loc.T + net.layers[0].bias_loc)
        out = h @ net.layers[1].weight_loc.T + net.layers[1].bias_loc
    expected = out[:, 0].double().numpy() * st["y_scale"] + st["y_mean"]
    got = post.point().forward(torch.as_tensor(X))[0, :, 0].double().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    assert post.noise_scale == pytest.approx(float(torch.exp(net.log_noise.detach())))
