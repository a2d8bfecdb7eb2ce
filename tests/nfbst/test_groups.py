"""Feature groups: patches and one-hot blocks, their validation, the group statistic and the
group CRT's type-I error and power on a synthetic image task with known relevant patches."""

import numpy as np
import pytest
import torch
from torch import nn

from nfbst import NFBST, FunctionalDraws
from nfbst.crt import GroupConditional, LinearConditional, loss_crt_pvalues
from nfbst.groups import check_groups, image_patches, prefix_groups


def test_image_patches_cover_the_image_once():
    groups = image_patches((1, 8, 8), 2)
    assert len(groups) == 16
    cols = sorted(c for g in groups.values() for c in g)
    assert cols == list(range(64))
    assert groups["patch(1,2)"] == [20, 21, 28, 29]
    assert image_patches((2, 4, 4), (2, 4))["patch(1,0)"] == [8, 9, 10, 11, 12, 13, 14, 15,
                                                              24, 25, 26, 27, 28, 29, 30, 31]
    with pytest.raises(ValueError, match="must divide"):
        image_patches((8, 8), 3)


def test_bad_groups_are_named():
    names = ["a", "b", "c"]
    with pytest.raises(ValueError, match=r"overlap: column 1 \('b'\) is in 'g' and 'h'"):
        check_groups({"g": [0, 1], "h": ["b", "c"]}, names)
    with pytest.raises(ValueError, match=r"incomplete: 1 column\(s\) are in no group: 2 \('c'\)"):
        check_groups({"g": [0, 1]}, names)
    with pytest.raises(ValueError, match="names column 'z'"):
        check_groups({"g": [0, 1, "z"]}, names)
    with pytest.raises(ValueError, match="outside the 3 features"):
        check_groups({"g": [0, 1, 5]}, names)
    assert prefix_groups(["x", "c_a", "c_b"]) == {"x": [0], "c": [1, 2]}
    draws = FunctionalDraws.from_modules([nn.Linear(3, 1)])
    with pytest.raises(ValueError, match="incomplete"):
        NFBST.from_draws(draws, groups={"g": [0]}).test(
            np.random.default_rng(0).normal(size=(30, 3)), np.zeros(30))


def test_group_statistic_is_the_sum_and_results_use_group_names():
    torch.manual_seed(0)
    nets = [nn.Linear(4, 1) for _ in range(6)]
    draws = FunctionalDraws.from_modules(nets)
    X = np.random.default_rng(0).normal(size=(50, 4))
    groups = {"ab": [0, 1], "cd": ["x2", "x3"]}
    res = NFBST.from_draws(draws, groups=groups, calibration="none").test(X)
    W = torch.stack([n.weight.detach()[0] for n in nets]).numpy()  # (S, 4)
    sums = np.stack([W[:, :2].sum(1), W[:, 2:].sum(1)], 1)
    np.testing.assert_allclose(res.statistic_mean, sums.mean(0), rtol=1e-5)
    assert res.feature_names == ["ab", "cd"] and res.details["groups"]["cd"] == [2, 3]


def test_one_hot_block_gaussian_conditional_stays_on_its_plane():
    rng = np.random.default_rng(0)
    x = rng.normal(size=500)
    level = np.digitize(x + rng.normal(size=500), [-0.5, 0.5])
    X = np.column_stack([x, np.eye(3)[level]])
    cond = GroupConditional(X, [np.array([0]), np.array([1, 2, 3])])
    draws = cond(X, 1, 5, rng)
    np.testing.assert_allclose(draws.sum(-1), 1.0, atol=1e-8)  # the indicators' sum is kept
    single = LinearConditional(X[:, :2] + rng.normal(size=(500, 2)) * 0)  # same model, 1 col
    g1 = GroupConditional(X[:, :2], [np.array([0]), np.array([1])])
    np.testing.assert_allclose(g1.covariance[0][0, 0], single.conditional_sd[0] ** 2)


def _image_task(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """4×4 Gaussian images with neighbour correlation; y from patches (0,0) and (1,1)."""
    i, j = np.divmod(np.arange(16), 4)
    cov = 0.5 ** (np.abs(i[:, None] - i) + np.abs(j[:, None] - j))
    X = rng.normal(size=(n, 16)) @ np.linalg.cholesky(cov).T
    img = X.reshape(n, 4, 4)
    y = np.tanh(img[:, :2, :2].sum((1, 2))) + 0.3 * img[:, 2:, 2:].sum((1, 2)) \
        + 0.5 * rng.normal(size=n)
    return X, y


def _trained_draws(rng: np.random.Generator, members: int = 4) -> FunctionalDraws:
    X, y = _image_task(600, rng)
    Xt, yt = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)
    nets = []
    for s in range(members):
        torch.manual_seed(s)
        net = nn.Sequential(nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1))
        opt = torch.optim.Adam(net.parameters(), lr=0.02)
        for _ in range(150):
            opt.zero_grad()
            ((net(Xt)[:, 0] - yt) ** 2).mean().backward()
            opt.step()
        nets.append(net)
    return FunctionalDraws.from_modules(nets)


def group_crt_rejections(n_seeds: int, n_rows: int = 100, K: int = 19, alpha: float = 0.05,
                         sampler: str = "gaussian") -> tuple[float, float, float, float]:
    """Type-I error over the null patches and power over the relevant ones (with MC sds)."""
    draws = _trained_draws(np.random.default_rng(123))  # fitted once, on other rows
    patches = image_patches((4, 4), 2)
    groups = [np.asarray(g) for g in patches.values()]
    relevant = [0, 3]  # patch(0,0), patch(1,1)
    null = [1, 2]
    p = np.empty((n_seeds, 4))
    for seed in range(n_seeds):
        X, y = _image_task(n_rows, np.random.default_rng(seed))  # fresh test rows
        p[seed] = loss_crt_pvalues(draws, X, y, sampler=sampler, n_randomizations=K,
                                   random_state=seed, groups=groups)[0]
    t1 = float((p[:, null] <= alpha).mean())
    power = float((p[:, relevant] <= alpha).mean())
    m0, m1 = p[:, null].size, p[:, relevant].size
    return t1, np.sqrt(t1 * (1 - t1) / m0), power, np.sqrt(power * (1 - power) / m1)


def test_group_crt_keeps_type_one_error_on_null_patches_and_finds_relevant_ones():
    t1, t1_sd, power, power_sd = group_crt_rejections(n_seeds=100)
    # at 100 seeds (200 null, 200 relevant tests): type-I 0.055 (MC sd 0.016), power 1.0
    assert t1 <= 0.05 + 0.02 + 2 * t1_sd
    assert power >= 0.9


def test_a_column_constant_in_the_training_rows_is_not_testable_not_an_error():
    from nfbst import BayesianMLP

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    X[:, 2] = 0.0
    X[7, 2] = 1.0  # "a pixel inked in one image": constant in the training rows or not
    y = X[:, 0] + 0.1 * rng.normal(size=120)
    test = NFBST(model=BayesianMLP(hidden=(4,), n_steps=50), n_posterior_samples=20,
                 n_randomizations=9, random_state=0)
    with pytest.warns(UserWarning, match=r"\['x2'\] \(1 in all\) are constant in the training"):
        test.fit(np.delete(X, 7, axis=0), np.delete(y, 7))
    with pytest.warns(UserWarning, match="constant in the training rows"):
        res = test.test()
    assert np.isnan(res.evidence[2]) and np.isnan(res.p_value[2])
    assert np.isfinite(res.evidence[:2]).all() and np.isfinite(res.p_value[:2]).all()
    assert res.to_frame()["note"][2].startswith("constant in the training rows")
    assert not res.significant()[2]
