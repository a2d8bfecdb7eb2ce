"""The worked example of CONTRIBUTING.md's "Adding an encoding" runs as written."""

import math

import numpy as np
import pytest
import torch

import logiclearn as ll
from probconstraints._random import isolated_rng, torch_generator


class SoftMinEncoding(ll.DL2Encoding):
    """CONTRIBUTING.md's example: DL2 costs with a soft minimum for disjunction."""

    name = "softmin"

    def __init__(self, t: float = 0.1):
        super().__init__()
        if not t > 0:
            raise ValueError(f"t must be > 0, got {t!r}")
        self.t = float(t)

    def disj(self, costs, path, ctx):
        # a soft minimum lies below the minimum (by up to t log 2 when the costs are equal),
        # and a cost must stay >= 0 and be 0 when a branch holds: clamp at 0
        return (-self.t * torch.logsumexp(-costs / self.t, dim=-1)).clamp_min(0.0)


@pytest.fixture
def softmin():
    ll.register_encoding("softmin", SoftMinEncoding)
    yield
    ll.ENCODINGS.unregister("softmin")


def test_registered_encoding_cost_matches_the_soft_minimum_closed_form(softmin):
    x = ll.term(torch.tensor([0.2], dtype=torch.float64))
    t = 0.05
    cost = ll.get_encoding("softmin", t=t).cost((x >= 0.5) | (x >= 0.4)).item()
    assert cost == pytest.approx(-t * math.log(math.exp(-0.3 / t) + math.exp(-0.2 / t)))
    held = ll.term(torch.tensor([0.6], dtype=torch.float64))
    assert ll.get_encoding("softmin", t=t).cost((held >= 0.5) | (held >= 0.4)).item() == 0.0


@pytest.mark.parametrize("init_seed", [0, 9])  # 9 drove the unclamped soft minimum below 0
def test_registered_encoding_trains_through_the_trainer_by_name(softmin, init_seed):
    rng = np.random.default_rng(0)
    X = torch.as_tensor(rng.normal(size=(64, 2)), dtype=torch.float32)
    y = (X[:, 0] > 0).long()
    with isolated_rng(torch_generator(init_seed)):
        model = torch.nn.Linear(2, 2)
    labeled = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=32)
    unlabeled = torch.utils.data.DataLoader(ll.IndexedDataset(X), batch_size=32)
    trainer = ll.LogicTrainer(model, lambda o, b: (o[:, 0] >= 1.0) | (o[:, 1] >= 1.0),
                              encoding="softmin", encoding_params={"t": 0.1}, lr=0.05,
                              random_state=0)
    trainer.fit(labeled, unlabeled, epochs=5)
    assert isinstance(trainer.encoding_, SoftMinEncoding) and trainer.encoding_.t == 0.1
    with pytest.raises(ValueError, match="t must be > 0, got 0"):
        ll.get_encoding("softmin", t=0)
