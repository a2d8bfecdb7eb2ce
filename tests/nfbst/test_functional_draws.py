"""FunctionalDraws: draws of any module in one vmap'd functional forward."""

import numpy as np
import pytest
import torch
from torch import nn

from nfbst import FunctionalDraws, PosteriorDraws


def _cnn(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 6 * 6, 3)).eval()


def test_batched_forward_equals_each_module_on_a_cnn_with_batchnorm():
    nets = [_cnn(s) for s in range(4)]
    for net in nets:  # distinct running statistics per member
        net[1].running_mean.uniform_(-1, 1)
    draws = FunctionalDraws.from_modules(nets, task="classification", input_shape=(1, 8, 8))
    X = torch.randn(6, 1, 8, 8)
    out = draws.forward(X)
    assert out.shape == (4, 6, 3)
    for i, net in enumerate(nets):
        torch.testing.assert_close(out[i], net(X))
        torch.testing.assert_close(draws.module(i)(X), net(X))
    torch.testing.assert_close(draws.forward(X.reshape(6, 64)), out)  # flat rows
    assert draws.n_features == 64 and draws.n_outputs == 3


def test_mlp_posterior_draws_are_the_fast_special_case():
    g = torch.Generator().manual_seed(0)
    W = [torch.randn(5, 3, 2, generator=g), torch.randn(5, 1, 3, generator=g)]
    b = [torch.randn(5, 3, generator=g), torch.randn(5, 1, generator=g)]
    draws = PosteriorDraws(W, b, activation="tanh")
    X = torch.randn(7, 2, generator=g)
    assert isinstance(draws, FunctionalDraws)
    torch.testing.assert_close(draws.functional_forward(X), draws.forward(X))
    generic = FunctionalDraws(draws.template, draws.params)
    torch.testing.assert_close(generic.forward(X), draws.forward(X))


def test_subset_to_save_load_round_trip(tmp_path):
    nets = [_cnn(s) for s in range(3)]
    draws = FunctionalDraws.from_modules(nets, input_shape=(1, 8, 8), meta={"method": "x"})
    X = torch.randn(2, 64)
    torch.testing.assert_close(draws.subset([2]).forward(X)[0], draws.forward(X)[2])
    assert draws.to(dtype=torch.float64).forward(X.double()).dtype == torch.float64
    draws.save(tmp_path)
    back = FunctionalDraws.load(tmp_path, module=_cnn(9))
    assert torch.equal(back.forward(X), draws.forward(X)) and back.meta == {"method": "x"}


def test_input_gradients_flow_through_the_functional_forward():
    nets = [nn.Linear(3, 1) for _ in range(2)]
    draws = FunctionalDraws.from_modules(nets)
    X = torch.zeros(4, 3, requires_grad=True)
    (grad,) = torch.autograd.grad(draws.functional_forward(X)[1].sum(), X)
    torch.testing.assert_close(grad, nets[1].weight.detach().expand(4, 3))


@pytest.mark.parametrize("make, match", [
    (lambda: FunctionalDraws(nn.ReLU(), {}), "no parameters"),
    (lambda: FunctionalDraws(nn.Linear(2, 1), {"weight": torch.zeros(3, 1, 2)}), "missing"),
    (lambda: FunctionalDraws(nn.Linear(2, 1), {"weight": torch.zeros(3, 2, 2),
                                               "bias": torch.zeros(3, 1)}), "shape"),
    (lambda: FunctionalDraws(nn.Linear(2, 1), {"weight": torch.zeros(3, 1, 2),
                                               "bias": torch.zeros(2, 1)}), "numbers of draws"),
    (lambda: FunctionalDraws(nn.Conv1d(1, 1, 2), {"weight": torch.zeros(2, 1, 1, 2),
                                                  "bias": torch.zeros(2, 1)}), "input_shape"),
    (lambda: FunctionalDraws.from_modules([nn.Linear(2, 1), nn.Linear(3, 1)]), "architecture"),
])
def test_bad_draws_are_refused_with_the_reason(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_rows_of_the_wrong_width_are_refused():
    draws = FunctionalDraws.from_modules([nn.Linear(3, 1)])
    with pytest.raises(ValueError, match=r"shape \(n, 3\)"):
        draws.forward(np.zeros((2, 4)))


class _ItemGate(nn.Module):
    """A module vmap cannot run: ``.item()`` of a parameter-dependent value."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.lin(x)
        return out if float(self.lin.bias.sum().item()) >= 0 else -out


def test_a_module_vmap_cannot_run_is_run_draw_by_draw_with_the_same_outputs():
    nets = [_ItemGate() for _ in range(3)]
    with torch.no_grad():
        nets[1].lin.bias.fill_(-1.0)
    draws = FunctionalDraws.from_modules(nets)
    X = torch.randn(5, 3)
    out = draws.forward(X)
    assert draws.vectorized is False
    for i, net in enumerate(nets):
        torch.testing.assert_close(out[i], net(X))
    Xs = X.expand(3, 5, 3).clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(draws.forward_each(Xs).sum(), Xs)
    torch.testing.assert_close(grad[1], -nets[1].lin.weight.detach().expand(5, 3))


def test_saved_regression_draws_of_a_bayesian_network_reload_in_the_targets_units(tmp_path):
    from nfbst.network import BayesianNetwork

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 2))
    y = 100.0 + 30.0 * X[:, 0] + rng.normal(size=80)
    make = lambda: nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))  # noqa: E731
    net = BayesianNetwork(make, inference="ensemble",
                          inference_params={"n_members": 2, "n_epochs": 5},
                          random_state=0).fit(X, y)
    draws = net.sample_posterior(2)
    draws.save(tmp_path)
    back = FunctionalDraws.load(tmp_path, module=make())
    torch.testing.assert_close(back.forward(X), draws.forward(X))
    again = FunctionalDraws.load(tmp_path, module=back.template)  # hook already there: once
    torch.testing.assert_close(again.forward(X), draws.forward(X))
