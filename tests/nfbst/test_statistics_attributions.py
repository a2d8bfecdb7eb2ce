"""Batched DeepLIFT, LRP, IG, Input×Gradient and gradient equal captum run on each draw."""

import numpy as np
import pytest
import torch
from captum.attr import LRP, DeepLift, InputXGradient, IntegratedGradients, Saliency
from captum.attr._core import deep_lift as captum_deep_lift
from captum.attr._core import lrp as captum_lrp
from captum.attr._utils.lrp_rules import Alpha1_Beta0_Rule, EpsilonRule, GammaRule

from nfbst.statistics import (
    deeplift,
    get_statistic,
    input_x_gradient,
    integrated_gradients,
    lrp,
)
from nfbst.statistics._synthetic import random_draws

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # captum hook notices

ACTIVATIONS = ["relu", "tanh", "sigmoid", "gelu"]
DEPTHS = [(7,), (6, 5), (5, 4, 6)]
NETS = [(a, h) for a in ACTIVATIONS for h in DEPTHS]
S, N, D = 3, 6, 4


@pytest.fixture(autouse=True)
def captum_rescale_for_all_activations(monkeypatch):
    """captum's DeepLift has no GELU rule and its LRP no Sigmoid/GELU pass-through; register
    its own generic rescale rule and pass-through for them so captum is the reference."""
    monkeypatch.setitem(captum_deep_lift.SUPPORTED_NON_LINEAR, torch.nn.GELU,
                        captum_deep_lift.nonlinear)
    monkeypatch.setattr(captum_lrp, "SUPPORTED_NON_LINEAR_LAYERS",
                        captum_lrp.SUPPORTED_NON_LINEAR_LAYERS + [torch.nn.Sigmoid, torch.nn.GELU])


def _problem(activation, hidden, classification, seed=0):
    k, task = (3, "classification") if classification else (1, "regression")
    draws = random_draws(S, D, hidden, activation, k, task, random_state=seed)
    X = torch.randn(N, D, dtype=torch.float64, generator=torch.Generator().manual_seed(seed + 1))
    return draws, X


def _captum(draws, X, make, target, **kw):
    out = []
    for i in range(len(draws)):
        net = draws.module(i)
        out.append(make(net).attribute(X.clone(), target=target, **kw).detach())
    return torch.stack(out)


def _assert_rel(ours, ref, rtol=1e-5):
    scale = ref.abs().max().clamp(min=1e-12)
    assert ours.shape == ref.shape
    assert ((ours - ref).abs().max() / scale).item() < rtol


def _targets(classification):
    if not classification:
        return [(None, 0)]
    rows = torch.tensor([2, 0, 1, 1, 0, 2])
    return [(1, 1), (rows.numpy(), rows)]


@pytest.mark.parametrize("activation,hidden", NETS)
@pytest.mark.parametrize("classification", [False, True])
def test_deeplift_equals_captum_deeplift_per_draw(activation, hidden, classification):
    draws, X = _problem(activation, hidden, classification)
    base = 0.3 * torch.randn(1, D, dtype=torch.float64)
    for ours_t, ref_t in _targets(classification):
        _assert_rel(deeplift(draws, X, target=ours_t), _captum(draws, X, DeepLift, ref_t))
        _assert_rel(deeplift(draws, X, target=ours_t, baselines=base[0].numpy()),
                    _captum(draws, X, DeepLift, ref_t, baselines=base))


@pytest.mark.parametrize("activation,hidden", NETS)
@pytest.mark.parametrize("classification", [False, True])
def test_lrp_epsilon_rule_equals_captum_lrp_per_draw(activation, hidden, classification):
    draws, X = _problem(activation, hidden, classification)
    for ours_t, ref_t in _targets(classification):
        _assert_rel(lrp(draws, X, target=ours_t), _captum(draws, X, LRP, ref_t))


def _lrp_with_rules(rule_factories):
    def make(net):
        linears = [m for m in net if isinstance(m, torch.nn.Linear)]
        for m, f in zip(linears, rule_factories):
            m.rule = f()
        return LRP(net)
    return make


@pytest.mark.parametrize("activation,hidden", [("relu", (6, 5)), ("tanh", (5, 4, 6))])
def test_lrp_zplus_gamma_and_per_layer_rules_equal_captum_rules(activation, hidden):
    draws, X = _problem(activation, hidden, False, seed=3)
    L = len(hidden) + 1
    ours = lrp(draws, X, rule="zplus")
    _assert_rel(ours, _captum(draws, X, _lrp_with_rules([Alpha1_Beta0_Rule] * L), 0))
    ours = lrp(draws, X, rule="gamma", gamma=0.5)
    _assert_rel(ours, _captum(draws, X, _lrp_with_rules([lambda: GammaRule(0.5)] * L), 0))
    ours = lrp(draws, X, rule=["zplus"] + ["epsilon"] * (L - 1))
    _assert_rel(ours, _captum(draws, X, _lrp_with_rules([Alpha1_Beta0_Rule]
                                                        + [EpsilonRule] * (L - 1)), 0))
    ours = lrp(draws, X, epsilon=1e-2)
    _assert_rel(ours, _captum(draws, X, _lrp_with_rules([lambda: EpsilonRule(1e-2)] * L), 0))


def _alpha_beta_reference(draws, X, alpha, beta, eps=1e-9):
    """Explicit per-draw, per-row, per-connection loop of the alpha-beta rule (bias ignored)."""
    out = np.zeros((len(draws), X.shape[0], X.shape[1]))
    for s in range(len(draws)):
        Ws = [W[s].numpy() for W in draws.weights]
        bs = [b[s].numpy() for b in draws.biases]
        for i in range(X.shape[0]):
            acts = [X[i].numpy()]
            for W, b in zip(Ws[:-1], bs[:-1]):
                acts.append(draws.act_fn(torch.tensor(W @ acts[-1] + b)).numpy())
            R = np.zeros(Ws[-1].shape[0])
            R[0] = Ws[-1][0] @ acts[-1] + bs[-1][0]
            for W, a in zip(reversed(Ws), reversed(acts)):
                Rin = np.zeros(W.shape[1])
                for k in range(W.shape[0]):
                    z = W[k] * a
                    zp, zn = z[z > 0].sum(), z[z < 0].sum()
                    for j in range(W.shape[1]):
                        if z[j] > 0:
                            Rin[j] += alpha * z[j] / (zp + eps) * R[k]
                        elif z[j] < 0:
                            Rin[j] -= beta * z[j] / (zn - eps) * R[k]
                R = Rin
            out[s, i] = R
    return torch.from_numpy(out)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_lrp_alpha_beta_equals_explicit_loop_and_conserves_relevance(activation):
    draws, X = _problem(activation, (5, 4), False, seed=5)
    ours = lrp(draws, X, rule="alpha_beta", alpha=2.0, beta=1.0)
    _assert_rel(ours, _alpha_beta_reference(draws, X, 2.0, 1.0))
    # conservation (α − β = 1, no biases) holds where every neuron has contributions of
    # both signs: wide tanh layers on 20 mixed-sign inputs
    wide = random_draws(S, 20, (30, 30), "tanh", random_state=5)
    for b in wide.biases:
        b.zero_()
    Xw = torch.randn(N, 20, dtype=torch.float64)
    eta = lrp(wide, Xw, rule="alpha_beta", alpha=2.0, beta=1.0)
    torch.testing.assert_close(eta.sum(-1), wide.forward(Xw)[..., 0], rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("activation,hidden", NETS)
@pytest.mark.parametrize("method", ["gausslegendre", "riemann_left", "riemann_right",
                                    "riemann_middle", "riemann_trapezoid"])
def test_integrated_gradients_equals_captum_for_every_quadrature(activation, hidden, method):
    draws, X = _problem(activation, hidden, activation in ("tanh", "gelu"))
    target = 2 if draws.task == "classification" else 0
    base = 0.2 * torch.randn(N, D, dtype=torch.float64)  # one baseline per row
    ours = integrated_gradients(draws, X, target=target, baselines=base, n_steps=16,
                                method=method)
    ref = _captum(draws, X, IntegratedGradients, target, baselines=base, n_steps=16,
                  method=method)
    _assert_rel(ours, ref)


@pytest.mark.parametrize("activation,hidden", NETS)
@pytest.mark.parametrize("classification", [False, True])
def test_input_x_gradient_and_gradient_equal_captum_per_draw(activation, hidden, classification):
    draws, X = _problem(activation, hidden, classification)
    for ours_t, ref_t in _targets(classification):
        _assert_rel(input_x_gradient(draws, X, target=ours_t),
                    _captum(draws, X, InputXGradient, ref_t))
        _assert_rel(get_statistic("grad")(draws, X, target=ours_t),
                    _captum(draws, X, Saliency, ref_t, abs=False))


def test_default_target_is_the_posterior_mean_predicted_class():
    draws, X = _problem("tanh", (6, 5), True, seed=7)
    with torch.no_grad():
        probs = torch.stack([torch.softmax(draws.module(i)(X), -1) for i in range(S)])
    predicted = probs.mean(0).argmax(-1)
    for fn, cls in [(deeplift, DeepLift), (lrp, LRP), (input_x_gradient, InputXGradient)]:
        _assert_rel(fn(draws, X), _captum(draws, X, cls, predicted))
        _assert_rel(fn(draws, X, target="predicted"), _captum(draws, X, cls, predicted))


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_deeplift_is_complete_for_every_draw(activation):
    draws, X = _problem(activation, (5, 4, 6), False, seed=11)
    base = torch.randn(N, D, dtype=torch.float64)
    eta = deeplift(draws, X, baselines=base)
    diff = draws.forward(X)[..., 0] - draws.forward(base)[..., 0]
    torch.testing.assert_close(eta.sum(-1), diff, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_integrated_gradients_is_complete_for_every_draw(activation):
    draws, X = _problem(activation, (5, 4), False, seed=13)
    # midpoint rule: O(h^2) on smooth paths, O(h) across ReLU kinks
    steps, tol = (4000, 1e-3) if activation == "relu" else (400, 1e-5)
    eta = integrated_gradients(draws, X, n_steps=steps, method="riemann_middle")
    diff = draws.forward(X)[..., 0] - draws.forward(torch.zeros_like(X))[..., 0]
    torch.testing.assert_close(eta.sum(-1), diff, rtol=tol, atol=tol)


@pytest.mark.parametrize("fn", [deeplift, lrp, integrated_gradients, input_x_gradient])
def test_row_batches_give_the_same_statistic(fn):
    draws, X = _problem("gelu", (6, 5), True, seed=17)
    target = np.array([0, 1, 2, 2, 1, 0])
    torch.testing.assert_close(fn(draws, X, target=target, batch_size=4),
                               fn(draws, X, target=target), rtol=0, atol=1e-12)


def test_float32_draws_stay_within_tolerance_of_float64():
    draws, X = _problem("relu", (5, 4, 6), False, seed=19)
    d32 = draws.to(dtype=torch.float32)
    for fn in (deeplift, lrp, integrated_gradients, input_x_gradient):
        ours = fn(d32, X.float())
        assert ours.dtype == torch.float32
        _assert_rel(ours.double(), fn(draws, X), rtol=1e-4)


def test_bad_inputs_raise_errors_naming_the_argument():
    draws, X = _problem("relu", (5,), False)
    X_nan = X.clone()
    X_nan[0, 0] = float("nan")
    with pytest.raises(ValueError, match="X must be finite"):
        deeplift(draws, X_nan)
    with pytest.raises(ValueError, match="baselines"):
        deeplift(draws, X, baselines=np.zeros(D + 1))
    with pytest.raises(ValueError, match="rule"):
        lrp(draws, X, rule="z_beta")
    with pytest.raises(ValueError, match="rule"):
        lrp(draws, X, rule=["epsilon"])
    with pytest.raises(ValueError, match="method"):
        integrated_gradients(draws, X, method="simpson")
    with pytest.raises(ValueError, match="n_steps"):
        integrated_gradients(draws, X, n_steps=1, method="riemann_left")
    with pytest.raises(ValueError, match="target"):
        input_x_gradient(draws, X, target=np.zeros(N - 1, dtype=int))
    with pytest.raises(ValueError, match="batch_size"):
        lrp(draws, X, batch_size=0)
    with pytest.raises(ValueError, match=r"X must have shape"):
        deeplift(draws, X[:, :2])
