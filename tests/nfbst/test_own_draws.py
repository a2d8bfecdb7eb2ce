"""Draws of the user's own network: ensembles, MC dropout, laplace-torch, pyro-style samples,
batched statistics equal to captum, and NFBST (evidence and CRT) on them."""

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from nfbst import NFBST, FunctionalDraws
from nfbst.statistics import get_statistic


class CNN(nn.Module):
    """A small CNN for 8×8 images (reshapes in forward, as captum's LRP needs)."""

    def __init__(self, k: int = 3, dropout: float = 0.0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.pool = nn.MaxPool2d(2)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(36, k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.drop(self.pool(torch.relu(self.conv(x))).flatten(1)))


def _ensemble(S: int = 4, k: int = 3) -> list[nn.Module]:
    out = []
    for s in range(S):
        torch.manual_seed(s)
        out.append(CNN(k).eval())
    return out


class ModulesOnly:
    """The per-draw path: only ``__len__`` and ``module(i)`` (captum on each draw)."""

    def __init__(self, draws: FunctionalDraws) -> None:
        self.draws, self.input_shape = draws, draws.input_shape

    def __len__(self) -> int:
        return len(self.draws)

    def module(self, i: int) -> nn.Module:
        return self.draws.module(i)


@pytest.mark.parametrize("name, options", [
    ("grad", {}), ("input_x_gradient", {}), ("integrated_gradients", {"n_steps": 16}),
    ("integrated_gradients", {"n_steps": 8, "method": "riemann_trapezoid", "baselines": 0.5}),
    ("deeplift", {}), ("lrp", {}),
])
def test_statistics_of_a_cnn_equal_captum_on_each_draw(name, options):
    draws = FunctionalDraws.from_modules(_ensemble(), task="classification",
                                         input_shape=(1, 8, 8))
    X = torch.randn(9, 64, generator=torch.Generator().manual_seed(0))
    fn = get_statistic(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # captum's notes on hooks and requires_grad
        batched = fn(draws, X, target=1, verbose=0, **options)
        reference = fn(ModulesOnly(draws), X, target=1, verbose=0, **options)
        predicted = fn(draws, X, verbose=0, **options)  # the posterior-mean class
        predicted_ref = fn(ModulesOnly(draws), X, verbose=0, **options)
    assert batched.shape == (4, 9, 64)
    torch.testing.assert_close(batched, reference, rtol=0, atol=1e-5)
    torch.testing.assert_close(predicted, predicted_ref, rtol=0, atol=1e-5)


def test_functional_gradient_row_batches_and_one_captum_draw():
    from captum.attr import IntegratedGradients

    draws = FunctionalDraws.from_modules(_ensemble(3), task="classification",
                                         input_shape=(1, 8, 8))
    X = torch.randn(7, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    ig = get_statistic("integrated_gradients")
    full = ig(draws, X, target=2, n_steps=10)
    torch.testing.assert_close(ig(draws, X, target=2, n_steps=10, batch_size=3), full,
                               rtol=0, atol=1e-6)
    ref = IntegratedGradients(draws.module(1)).attribute(X, target=2, n_steps=10)
    torch.testing.assert_close(full[1], ref.reshape(7, 64), rtol=0, atol=1e-5)


def test_mc_dropout_draws_are_fixed_functions_with_distinct_masks():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 3, 3), nn.Dropout2d(0.5), nn.ReLU(), nn.Flatten(),
                        nn.Linear(108, 16), nn.Dropout(0.3), nn.Linear(16, 1))
    draws = FunctionalDraws.from_mc_dropout(net, 30, input_shape=(1, 8, 8), random_state=0)
    assert draws.buffers["1.mask"].shape == (30, 3, 1, 1)  # one value per channel
    assert draws.buffers["5.mask"].shape == (30, 16)
    assert set(draws.buffers["5.mask"].unique().tolist()) == {0.0, np.float32(1 / 0.7)}
    X = torch.randn(5, 64)
    out = draws.forward(X)
    for i in (0, 7):
        torch.testing.assert_close(out[i], draws.module(i)(X.reshape(5, 1, 8, 8)))
        torch.testing.assert_close(draws.forward(X)[i], out[i])  # the same function each call
    assert out.std(0).mean() > 0
    again = FunctionalDraws.from_mc_dropout(net, 30, input_shape=(1, 8, 8), random_state=0)
    assert torch.equal(again.forward(X), out)
    # the mean over many masks approaches the deterministic (eval-mode) network
    many = FunctionalDraws.from_mc_dropout(net, 4000, input_shape=(1, 8, 8), random_state=1)
    Xs = torch.randn(3, 1, 8, 8)
    torch.testing.assert_close(many.forward(Xs).mean(0), net.eval()(Xs), atol=0.1, rtol=0)
    with pytest.raises(ValueError, match="no dropout layer"):
        FunctionalDraws.from_mc_dropout(nn.Linear(3, 1), 5)


def test_laplace_torch_draws_and_an_unfitted_object_is_refused():
    from laplace import Laplace

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    X = torch.randn(64, 2)
    y = X[:, :1] * 2
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=32)
    la = Laplace(net, "regression", subset_of_weights="last_layer", hessian_structure="full")
    with pytest.raises(ValueError, match="not fitted"):
        FunctionalDraws.from_laplace(la, 10)
    la.fit(loader)
    draws = FunctionalDraws.from_laplace(la, 200, random_state=0)
    assert draws.meta["method"] == "laplace" and draws.noise_scale is not None
    # the first layer is not sampled (last-layer Laplace); the last one is, around its MAP
    assert torch.equal(draws.params["0.weight"][5], net[0].weight.detach())
    assert draws.params["2.weight"].std(0).min() > 0
    torch.testing.assert_close(draws.params["2.weight"].mean(0), net[2].weight.detach(),
                               atol=0.2, rtol=0)


def test_pyro_style_samples_and_their_errors():
    net = nn.Linear(3, 1)
    draws = FunctionalDraws.from_samples(net, {"weight": torch.randn(6, 1, 3)})
    X = torch.randn(4, 3)
    torch.testing.assert_close(draws.forward(X)[2], X @ draws.params["weight"][2].T + net.bias)
    with pytest.raises(ValueError, match=r"not parameters of the module"):
        FunctionalDraws.from_samples(net, {"linear.weight": torch.randn(6, 1, 3)})
    with pytest.raises(ValueError, match=r"must have shape \(S, \(1, 3\)\)"):
        FunctionalDraws.from_samples(net, {"weight": torch.randn(6, 3)})


def _images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """8×8 images whose class is the sign of the top-left 2×2 patch's sum."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 64)).astype(np.float32)
    patch = X.reshape(n, 8, 8)[:, :2, :2].sum((1, 2))
    return X, (patch > 0).astype(np.int64)


def _trained_ensemble(S: int = 3) -> list[nn.Module]:
    X, y = _images(400, 0)
    Xt, yt = torch.from_numpy(X).reshape(-1, 1, 8, 8), torch.from_numpy(y)
    nets = []
    for s in range(S):
        torch.manual_seed(s)
        net = CNN(k=2)
        opt = torch.optim.Adam(net.parameters(), lr=0.02)
        for _ in range(60):
            opt.zero_grad()
            nn.functional.cross_entropy(net(Xt), yt).backward()
            opt.step()
        nets.append(net.eval())
    return nets


def test_nfbst_from_an_ensemble_of_cnns_gives_evidence_and_crt_pvalues():
    nets = _trained_ensemble()
    X, y = _images(150, 1)  # rows the ensemble was not trained on
    with pytest.raises(ValueError, match="2 outputs: pass task="):
        NFBST.from_draws(nets, input_shape=(1, 8, 8))
    test = NFBST.from_draws(nets, task="classification", input_shape=(1, 8, 8),
                            n_randomizations=19, random_state=0)
    res = test.test(X, y)
    assert res.evidence.shape == (64,) and res.p_value.shape == (64,)
    patch = [0, 1, 8, 9]
    assert (res.p_value[patch] == 1 / 20).all()  # the pixels that decide the class
    assert np.median(res.p_value[np.setdiff1d(np.arange(64), patch)]) > 0.2
    with pytest.raises(ValueError, match="features"):
        test.test(X[:, :16], y)


def test_a_bare_module_as_model_points_to_the_wrappers():
    with pytest.raises(TypeError, match=r"BayesianNetwork.*from_draws"):
        NFBST(model=nn.Linear(3, 1)).fit(np.zeros((10, 3)), np.zeros(10))
    with pytest.raises(TypeError, match="from_mc_dropout"):
        NFBST.from_draws(nn.Linear(3, 1))
    with pytest.raises(ValueError, match="feature_names has 2 names, but the draws take 3"):
        NFBST.from_draws([nn.Linear(3, 1)], feature_names=["a", "b"])


class _EnsembleEstimator:
    """The protocol NFBST.fit accepts: fit(X, y) and sample_posterior(n) -> FunctionalDraws."""

    def __init__(self, n_members: int = 3) -> None:
        self.n_members = n_members
        self.task = "regression"

    def fit(self, X: np.ndarray, y: np.ndarray) -> "_EnsembleEstimator":
        Xt = torch.as_tensor(X, dtype=torch.float32)
        yt = torch.as_tensor(y, dtype=torch.float32)
        self.nets_ = []
        for s in range(self.n_members):
            torch.manual_seed(s)
            net = nn.Linear(X.shape[1], 1)
            # least squares, so that the ensemble is the OLS fit (members differ by noise)
            A = torch.cat([Xt, torch.ones(len(Xt), 1)], 1)
            coef = torch.linalg.lstsq(A, yt[:, None]).solution[:, 0]
            with torch.no_grad():
                net.weight.copy_(coef[:-1][None] + 0.01 * torch.randn(1, X.shape[1]))
                net.bias.copy_(coef[-1:])
            self.nets_.append(net)
        return self

    def sample_posterior(self, n: int) -> FunctionalDraws:
        return FunctionalDraws.from_modules(self.nets_)


def test_fit_accepts_any_estimator_with_sample_posterior():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = X[:, 0] + 0.1 * rng.normal(size=300)
    test = NFBST(model=_EnsembleEstimator(), n_randomizations=19, random_state=0).fit(X, y)
    res = test.test()  # the held-out rows
    assert isinstance(test.draws_, FunctionalDraws) and res.p_value[0] == 1 / 20


def test_save_load_of_module_draws_and_of_a_bayesian_network_gives_identical_results(tmp_path):
    from nfbst.groups import image_patches
    from nfbst.network import BayesianNetwork

    nets = _trained_ensemble(2)
    X, y = _images(60, 2)
    test = NFBST.from_draws(nets, task="classification", input_shape=(1, 8, 8),
                            groups=image_patches((8, 8), 4), n_randomizations=9,
                            random_state=0)
    before = test.test(X, y)
    test.save(tmp_path / "draws")
    with pytest.raises(TypeError, match="module="):
        NFBST.load(tmp_path / "draws")
    after = NFBST.load(tmp_path / "draws", module=CNN(k=2)).test(X, y)
    np.testing.assert_array_equal(after.evidence, before.evidence)
    np.testing.assert_array_equal(after.p_value, before.p_value)

    Xr = np.random.default_rng(3).normal(size=(120, 3))
    yr = 5.0 + 2.0 * Xr[:, 0] + 0.1 * np.random.default_rng(4).normal(size=120)
    make = lambda: nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))  # noqa: E731
    net = BayesianNetwork(make, inference="ensemble",
                          inference_params={"n_members": 2, "n_epochs": 20}, random_state=0)
    fitted = NFBST(model=net, n_posterior_samples=2, n_randomizations=9,
                   random_state=0).fit(Xr, yr)
    before = fitted.test()
    fitted.save(tmp_path / "net")
    loaded = NFBST.load(tmp_path / "net", module=make)
    assert isinstance(loaded.model_, BayesianNetwork)
    after = loaded.test()  # the same held-out rows, from the saved fit
    np.testing.assert_array_equal(after.p_value, before.p_value)
    np.testing.assert_array_equal(after.evidence, before.evidence)
