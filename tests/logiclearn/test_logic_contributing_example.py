"""The worked example of CONTRIBUTING.md's "Adding an encoding" runs as written, from the
markdown (no copy here that could drift from the document)."""

import math

import numpy as np
import pytest
import torch

import logiclearn as ll
from probconstraints._random import isolated_rng, torch_generator
from tests._markdown import code_blocks, run_block, section


@pytest.fixture
def softmin():
    """The document's ``logiclearn/encodings/softmin.py``, run as written (as a module of
    ``logiclearn.encodings``, so its relative imports resolve), registered for the test only;
    plus the registration line it asks for in ``logiclearn/encodings/__init__.py``."""
    text = section("Adding an encoding (logiclearn)")
    module, registration = code_blocks(text)
    assert registration.strip() == "from .softmin import SoftMinEncoding"
    namespace = run_block(module, "logiclearn.encodings.softmin", "logiclearn.encodings")
    yield namespace["SoftMinEncoding"]
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
    assert isinstance(trainer.encoding_, softmin) and trainer.encoding_.t == 0.1
    with pytest.raises(ValueError, match="t must be > 0, got 0"):
        ll.get_encoding("softmin", t=0)
