"""MeanFieldMLP keeps the nn.Module contract: ``.to()`` takes every form that torch's does."""

import pytest
import torch

from nfbst.variational import MeanFieldMLP


def _net(seed=0):
    return MeanFieldMLP((3, 4, 1), "relu", "regression", prior_scale=1.0, noise=0.5,
                        init_scale=0.01, seed=seed)


@pytest.mark.parametrize("args, kwargs", [
    ((torch.float64,), {}),                                   # to(dtype)
    ((torch.zeros(1, dtype=torch.float64),), {}),             # to(tensor)
    ((), {"dtype": torch.float64}),                           # to(dtype=...)
    (("cpu", torch.float64), {}),                             # to(device, dtype)
])
def test_mean_field_mlp_to_accepts_every_nn_module_form(args, kwargs):
    net = _net(seed=7)
    reference = torch.nn.Linear(3, 4).to(*args, **kwargs)  # what nn.Module.to makes of them
    assert net.to(*args, **kwargs) is net
    assert net.loc.dtype == net.rho.dtype == reference.weight.dtype == torch.float64
    # the generator stays where the parameters are, with its seed
    assert net.gen.device == net.loc.device and net.gen.initial_seed() == 7
    out = net(torch.ones(5, 3, dtype=torch.float64))
    assert out.shape == (5, 1) and out.dtype == torch.float64


@pytest.mark.skipif(not torch.cuda.is_available(), reason="moving the generator needs CUDA")
def test_mean_field_mlp_to_cuda_moves_the_generator_with_its_seed():
    net = _net(seed=3).to("cuda")
    assert net.loc.device.type == net.gen.device.type == "cuda"
    assert net.gen.initial_seed() == 3
    assert net(torch.ones(5, 3, device="cuda")).device.type == "cuda"
    net.to(torch.float64)  # a dtype-only move keeps the CUDA generator
    assert net.gen.device.type == "cuda" and net.loc.dtype == torch.float64
