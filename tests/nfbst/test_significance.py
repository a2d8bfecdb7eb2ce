"""NFBST end to end: scopes, the toy example's pattern, reproducibility, persistence, errors."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError

from nfbst import NFBST, BayesianMLP, SignificanceResult
from nfbst.datasets import make_toy


def test_toy_example_reproduces_table1_pattern():
    """Paper Table 1 (toy, n = 10,000, Q-GS λ = 0.5): x0–x5 significant, x6 weak, x7 null.

    With a calibrated (learned) likelihood the weaker effects x1–x5 land at evidence
    0.02–0.07 rather than the paper's 0.005–0.03, which used a fixed likelihood sd 10× below
    the true noise; we check significance at 0.1 and the separation from x6 and x7.
    """
    X, y = make_toy(10_000, random_state=0)
    model = BayesianMLP(hidden=(20, 20, 20), n_steps=2000, random_state=0)
    test = NFBST(model=model, n_posterior_samples=200, preset="paper", random_state=0).fit(X, y)
    ev = test.test(X[:1000], scope="global").evidence
    assert np.all(ev[:6] < 0.1), ev
    assert ev[:6].max() < min(ev[6], ev[7]), ev
    assert ev[7] > 0.2, ev


@pytest.fixture(scope="module")
def toy_test():
    X, y = make_toy(1500, random_state=0)
    model = BayesianMLP(hidden=(16, 16), n_steps=800, random_state=0)
    test = NFBST(model=model, n_posterior_samples=200, preset="paper", random_state=0).fit(X, y)
    return test, X


def test_scopes_have_documented_shapes_and_quantile_rule(toy_test):
    test, X = toy_test
    Xs = X[:200]
    inst = test.test(Xs, scope="instance")
    assert inst.evidence.shape == (200, 8)
    glob = test.test(Xs, scope="global")
    np.testing.assert_allclose(glob.evidence, np.median(inst.evidence, axis=0))
    strict = test.test(Xs, scope="global", quantile_lambda=0.1)
    np.testing.assert_allclose(strict.evidence, np.quantile(inst.evidence, 0.9, axis=0))
    masks = {"x3<0": Xs[:, 3] < 0, "x3>=0": Xs[:, 3] >= 0}
    loc = test.test(Xs, scope="local", regions=masks)
    assert loc.evidence.shape == (2, 8) and loc.region_names == ["x3<0", "x3>=0"]
    np.testing.assert_allclose(loc.evidence[0], np.median(inst.evidence[masks["x3<0"]], 0))
    by_callable = test.test(Xs, scope="local", regions=lambda Z: (Z[:, 0] > 0).astype(int))
    assert by_callable.evidence.shape == (2, 8)
    agg = test.test(Xs, scope="global", rule="aggregate")
    assert agg.evidence.shape == (8,) and np.all((agg.evidence >= 0) & (agg.evidence <= 1))


def test_statistic_samples_are_input_gradients_of_every_draw(toy_test):
    test, X = toy_test
    eta = test.statistic_samples(X[:5])
    assert eta.shape == (200, 5, 8)
    draws64 = test.draws_.to(dtype=torch.float64)
    eps = 1e-6
    Xp, Xm = X[:5].copy(), X[:5].copy()
    Xp[:, 2] += eps
    Xm[:, 2] -= eps
    fd = (draws64.forward(Xp) - draws64.forward(Xm)).numpy()[..., 0] / (2 * eps)
    np.testing.assert_allclose(fd, eta[:, :, 2], rtol=1e-3, atol=1e-3)


def test_result_table_summary_plot_and_bh(toy_test):
    test, X = toy_test
    res = test.test(X[:300], scope="global", correction="bh")
    assert isinstance(res, SignificanceResult)
    frame = res.to_frame()
    assert list(frame["feature"]) == [f"x{j}" for j in range(8)]
    assert {"evidence", "adjusted_evidence", "significant@0.05"} <= set(frame.columns)
    assert np.all(frame["adjusted_evidence"] >= frame["evidence"] - 1e-12)
    assert "significant features" in res.summary()
    assert res.plot().get_ylabel() == "BH-adjusted evidence Ev(H0) (decides; descriptive)"
    inst = test.test(X[:20], scope="instance")
    assert len(inst.to_frame()) == 20 * 8
    inst.plot()


def test_same_random_state_gives_identical_evidence():
    X, y = make_toy(300, random_state=1)
    runs = [
        NFBST(model=BayesianMLP(hidden=(8,), n_steps=200), n_posterior_samples=50,
              random_state=7).fit(X, y).test(X, scope="instance").evidence
        for _ in range(2)
    ]
    np.testing.assert_array_equal(runs[0], runs[1])


def test_save_load_gives_identical_evidence(tmp_path, toy_test):
    test, X = toy_test
    before = test.test(X[:100], scope="instance").evidence
    test.save(tmp_path / "t")
    again = NFBST.load(tmp_path / "t")
    np.testing.assert_array_equal(again.test(X[:100], scope="instance").evidence, before)
    assert again.feature_names_ == test.feature_names_


def test_dataframe_feature_names_and_from_draws(toy_test):
    test, X = toy_test
    df = pd.DataFrame(X[:400], columns=[f"f{j}" for j in range(8)])
    y = make_toy(400, random_state=0)[1]
    t2 = NFBST(model=BayesianMLP(hidden=(4,), n_steps=20), n_posterior_samples=10).fit(df, y)
    assert t2.feature_names_ == [f"f{j}" for j in range(8)]
    t3 = NFBST.from_draws(test.draws_)
    np.testing.assert_array_equal(
        t3.test(X[:50], scope="instance").evidence,
        test.test(X[:50], scope="instance").evidence,
    )


def test_user_callable_statistic_is_used():
    X, y = make_toy(200, random_state=2)

    def constant_statistic(draws, X, target=None):
        import torch

        eta = torch.zeros(len(draws), X.shape[0], X.shape[1])
        eta[..., 0] = 5.0  # feature 0 "matters" with certainty, the rest are exactly 0
        return eta

    res = NFBST(statistic=constant_statistic, model=BayesianMLP(hidden=(4,), n_steps=20),
                n_posterior_samples=20).fit(X, y).test(X, scope="global")
    assert res.evidence[0] == 0.0 and np.all(res.evidence[1:] == 1.0)


def test_misuse_raises_clear_errors(toy_test):
    test, X = toy_test
    with pytest.raises(NotFittedError):
        NFBST().statistic_samples(X)
    with pytest.raises(ValueError, match="scope"):
        test.test(X[:5], scope="everywhere")
    with pytest.raises(ValueError, match="regions"):
        test.test(X[:5], scope="local")
    with pytest.raises(ValueError, match="no rows"):
        test.test(X[:5], scope="local", regions=np.zeros(5, bool))
    with pytest.raises(ValueError, match="fitted with 8"):
        test.test(X[:5, :3])
    with pytest.raises(ValueError, match="NaN"):
        test.test(np.full((2, 8), np.nan))
    with pytest.raises(ValueError, match="unknown statistic"):
        NFBST(statistic="nope").fit(X[:10], np.arange(10.0))
    with pytest.raises(TypeError, match="BayesianMLP"):
        NFBST(model="mlp").fit(X[:10], np.arange(10.0))


def test_plot_shows_zero_evidence_labels_regions_and_bounds_the_width():
    import matplotlib

    matplotlib.use("Agg")
    names = [f"x{j}" for j in range(300)]
    ev = np.zeros(300)
    res = SignificanceResult(evidence=ev, scope="global", feature_names=names, statistic="grad",
                             statistic_mean=ev, statistic_sd=ev)
    ax = res.plot()
    dots = ax.collections[0].get_offsets()
    assert len(dots) == 300 and np.all(dots[:, 1] == 0)  # a visible dot at every zero
    assert ax.get_ylim()[0] < 0 and ax.figure.get_size_inches()[0] <= 14
    assert len(ax.get_xticklabels()) <= 40
    loc = SignificanceResult(evidence=np.full((2, 3), 0.5), scope="local",
                             feature_names=["a", "b", "c"], statistic="grad",
                             statistic_mean=np.zeros((2, 3)), statistic_sd=np.zeros((2, 3)),
                             region_names=["x3<0", "x3>=0"])
    labels = [t.get_text() for t in loc.plot().get_legend().get_texts()]
    assert labels[:2] == ["x3<0", "x3>=0"]


def test_a_preset_never_silently_overrides_a_conflicting_argument():
    from nfbst import NFBST

    with pytest.raises(ValueError, match=r"preset='paper' sets .* but holdout=0\.5 was given"):
        NFBST(preset="paper", rule="mean", calibration="crt", holdout=0.5)._settings()
    with pytest.raises(ValueError, match=r"rule='aggregate'"):
        NFBST(preset="paper", rule="aggregate")._settings()
    s = NFBST(preset="paper", rule="quantile")._settings()  # agreeing with the preset is fine
    assert (s["rule"], s["calibration"], s["holdout"]) == ("quantile", "none", None)
