"""The per-draw captum/lime fallback: chosen automatically for draws that are not a stacked
MLP, equal to the batched rules where both apply, and running on a small conv net."""

import numpy as np
import pytest
import torch
from captum.attr import DeepLift

from nfbst.statistics import get_statistic, per_draw_attributions
from nfbst.statistics._synthetic import random_draws

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


class ModuleDraws:
    """Draws known only through ``__len__`` and ``module(i)`` (not a PosteriorDraws)."""

    def __init__(self, make, n):
        self.make, self.n = make, n

    def __len__(self):
        return self.n

    def module(self, i):
        return self.make(i)


def _wrapped(classification):
    k, task = (3, "classification") if classification else (1, "regression")
    draws = random_draws(3, 4, (6, 5), "relu", k, task, random_state=21)
    X = torch.randn(5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    return draws, ModuleDraws(draws.module, len(draws)), X


@pytest.mark.parametrize("classification", [False, True])
@pytest.mark.parametrize("name,options", [
    ("deeplift", {"baselines": 0.5}),
    ("lrp", {}),
    ("lrp", {"rule": "zplus"}),
    ("integrated_gradients", {"n_steps": 12, "method": "riemann_trapezoid"}),
    ("input_x_gradient", {}),
    ("grad", {}),
    ("lime", {"num_samples": 150, "random_state": 4, "num_features": 2}),
])
def test_fallback_on_module_only_draws_equals_batched_rule(classification, name, options):
    draws, wrapped, X = _wrapped(classification)
    fn = get_statistic(name)
    batched = fn(draws, X, verbose=0, **options)
    fallback = fn(wrapped, X, verbose=0, **options)
    assert fallback.shape == batched.shape == (3, 5, 4)
    torch.testing.assert_close(fallback, batched, rtol=1e-6, atol=1e-9)


class TinyConvNet(torch.nn.Module):
    """Conv(1→2, 3×3) → ReLU → flatten → Linear(18→3); flattening is functional, as captum's
    LRP has no rule for an ``nn.Flatten`` module."""

    def __init__(self):
        super().__init__()
        self.conv, self.relu, self.fc = torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), \
            torch.nn.Linear(18, 3)

    def forward(self, x):
        return self.fc(self.relu(self.conv(x)).flatten(1))


def _conv_draws(n_draws=3):
    def make(i):
        g = torch.Generator().manual_seed(100 + i)
        net = TinyConvNet().double()
        with torch.no_grad():
            for p in net.parameters():
                p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) * 0.5)
        return net.eval()

    return ModuleDraws(make, n_draws)


def test_fallback_runs_on_a_conv_net_and_deeplift_stays_complete(capsys):
    draws = _conv_draws()
    X = torch.randn(4, 1, 5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    eta = get_statistic("deeplift")(draws, X, target=1, verbose=1)
    assert capsys.readouterr().err == ""  # verbose=1: bars only on a terminal, not in logs
    eta = get_statistic("deeplift")(draws, X, target=1, verbose=2)
    assert eta.shape == (3, 4, 1, 5, 5)
    assert "deeplift per draw" in capsys.readouterr().err  # verbose=2: a tqdm bar in logs too
    with torch.no_grad():
        f = torch.stack([draws.module(i)(X)[:, 1] - draws.module(i)(0 * X)[:, 1]
                         for i in range(3)])
    torch.testing.assert_close(eta.sum((2, 3, 4)), f, rtol=1e-9, atol=1e-10)
    ref = DeepLift(draws.module(2)).attribute(X.clone(), target=1).detach()
    torch.testing.assert_close(eta[2], ref)


@pytest.mark.parametrize("name,options", [
    ("lrp", {}), ("integrated_gradients", {"n_steps": 8}), ("input_x_gradient", {}),
    ("grad", {}), ("lime", {"num_samples": 60, "random_state": 0}),
])
def test_every_registered_statistic_falls_back_on_a_conv_net(name, options):
    draws = _conv_draws()
    X = torch.randn(2, 1, 5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    eta = get_statistic(name)(draws, X, target=np.array([0, 2]), verbose=0, **options)
    assert eta.shape == (3, 2, 1, 5, 5)
    assert torch.isfinite(eta).all() and eta.abs().sum() > 0


def test_captum_lime_fallback_and_predicted_class_target():
    draws = _conv_draws(2)
    X = torch.randn(2, 1, 5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    torch.manual_seed(0)
    eta = per_draw_attributions(draws, X, "captum_lime", n_samples=30, verbose=0)
    assert eta.shape == (2, 2, 1, 5, 5) and torch.isfinite(eta).all()
    with torch.no_grad():
        probs = torch.stack([torch.softmax(draws.module(i)(X), -1) for i in range(2)])
    predicted = probs.mean(0).argmax(-1)
    by_default = per_draw_attributions(draws, X, "grad", verbose=0)
    explicit = per_draw_attributions(draws, X, "grad", target=predicted.numpy(), verbose=0)
    torch.testing.assert_close(by_default, explicit, rtol=0, atol=0)


def test_fallback_refuses_objects_without_module_and_unknown_methods():
    X = torch.zeros(2, 3)
    with pytest.raises(TypeError, match="module"):
        get_statistic("deeplift")(object(), X)
    draws = ModuleDraws(lambda i: torch.nn.Linear(3, 1), 2)
    with pytest.raises(ValueError, match="attribution"):
        per_draw_attributions(draws, X, "occlusion")
    with pytest.raises(ValueError, match="rule"):
        get_statistic("lrp")(draws, X, rule="alpha_beta", verbose=0)
    with pytest.raises(ValueError, match="target"):
        get_statistic("grad")(draws, X, target=np.array([0]), verbose=0)
