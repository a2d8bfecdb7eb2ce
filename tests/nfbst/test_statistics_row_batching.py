"""The one row-batching loop of the batched statistics (nfbst.statistics._base).

Every registered batched rule declares its batching needs (a RowBatching) and computes one
block; run_row_blocks splits the rows. The gradient family used to loop by itself and then
missed the checks the other statistics make (bugs fixed with the shared loop).
"""

import numpy as np
import pytest
import torch

from nfbst.statistics import get_statistic
from nfbst.statistics._base import RowBatching, batched_statistic, mlp_cost, statistic_parameters
from nfbst.statistics._synthetic import random_draws

GRADIENT_FAMILY = ("grad", "input_x_gradient")
BATCHED = ("grad", "input_x_gradient", "deeplift", "lrp", "integrated_gradients", "lime")


@pytest.fixture(scope="module")
def problem():
    draws = random_draws(3, 4, hidden=(6,), activation="tanh")
    X = torch.randn(9, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    return draws, X


@pytest.mark.parametrize("name", GRADIENT_FAMILY)
def test_gradient_statistics_accept_a_numpy_integer_target_like_an_int(problem, name):
    draws, X = problem
    fn = get_statistic(name)
    np.testing.assert_array_equal(fn(draws, X, target=np.int64(0), batch_size=4),
                                  fn(draws, X, target=0, batch_size=4))


@pytest.mark.parametrize("name", GRADIENT_FAMILY)
@pytest.mark.parametrize("bad, error", [(0, ValueError), (True, TypeError), (2.0, TypeError)])
def test_gradient_statistics_refuse_an_invalid_batch_size_naming_it(problem, name, bad, error):
    draws, X = problem
    with pytest.raises(error, match="batch_size"):
        get_statistic(name)(draws, X, batch_size=bad)


@pytest.mark.parametrize("name", GRADIENT_FAMILY)
def test_gradient_statistics_refuse_non_finite_inputs_as_the_other_rules(problem, name):
    draws, X = problem
    X = X.clone()
    X[2, 1] = float("nan")
    with pytest.raises(ValueError, match="finite"):
        get_statistic(name)(draws, X)


@pytest.mark.parametrize("name", BATCHED)
def test_every_batched_statistic_registers_its_row_batching(name):
    fn = get_statistic(name)
    assert isinstance(fn.row_batching, RowBatching)
    assert statistic_parameters(fn).takes("batch_size")


@pytest.mark.parametrize("name", ["grad", "deeplift", "lrp", "integrated_gradients"])
def test_row_batches_give_the_statistic_of_all_rows_at_once(problem, name):
    draws, X = problem
    fn = get_statistic(name)
    torch.testing.assert_close(fn(draws, X, batch_size=2), fn(draws, X, batch_size=9),
                               rtol=1e-12, atol=1e-12)


def test_budget_over_row_cost_sets_the_rows_per_block(problem):
    draws, X = problem
    seen = []
    cost = mlp_cost(1)(draws, {})  # S (d + h) = 3 * (4 + 7) elements per row

    @batched_statistic(rows=RowBatching(row_cost=mlp_cost(1), budget=4 * cost))
    def row_index(draws, X, target=None, batch_size=None, verbose=0):
        def block(X_rows, target_rows, rows):
            seen.append((rows.start, rows.stop,
                         None if target_rows is None else target_rows.tolist()))
            idx = torch.arange(rows.start, rows.stop, dtype=X.dtype)
            return idx.view(1, -1, 1).expand(len(draws), -1, X.shape[1])
        return block

    target = np.arange(9) % 2
    eta = row_index(draws, X, target=target)
    assert seen == [(0, 4, [0, 1, 0, 1]), (4, 8, [0, 1, 0, 1]), (8, 9, [0])]
    np.testing.assert_array_equal(eta[1, :, 2], np.arange(9))
    seen.clear()
    row_index(draws, X, batch_size=5)
    assert seen == [(0, 5, None), (5, 9, None)]
