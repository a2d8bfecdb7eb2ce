"""Neural variational MI estimators: accuracy on a Gaussian, the log(batch) cap, training."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from infotheory import mutual_information
from infotheory.neural import NeuralMIEstimator


def _gaussian(n, rho, dim, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim))
    return x, rho * x + np.sqrt(1 - rho**2) * rng.standard_normal((n, dim)), \
        -0.5 * dim * np.log(1 - rho**2)


@pytest.mark.parametrize("bound", ["mine", "nwj", "infonce", "smile", "doe"])
def test_each_bound_estimates_gaussian_mi(bound):
    x, y, truth = _gaussian(2000, 0.8, 1, seed=0)
    est = NeuralMIEstimator(bound=bound, max_steps=400, eval_every=50, random_state=0).fit(x, y)
    assert est.estimate_ == pytest.approx(truth, abs=0.15)


def test_infonce_never_exceeds_log_batch_size():
    x, y, truth = _gaussian(1500, 0.999, 2, seed=1)  # MI = 6.2 nats
    est = NeuralMIEstimator(bound="infonce", batch_size=16, max_steps=300,
                            random_state=0).fit(x, y)
    assert truth > np.log(16)
    assert est.estimate_ <= np.log(16) + 1e-6
    assert est.estimate_ > 0.8 * np.log(16)


def test_joint_critic_and_early_stopping_history():
    x, y, truth = _gaussian(1000, 0.7, 1, seed=2)
    est = NeuralMIEstimator(bound="nwj", critic="joint", batch_size=64, max_steps=2000,
                            eval_every=50, patience=2, random_state=0).fit(x, y)
    assert est.n_steps_ < 2000  # stopped early on the held-out split
    assert len(est.history_) >= 3
    assert est.estimate_ == pytest.approx(truth, abs=0.2)
    assert est.score(x, y) == pytest.approx(truth, abs=0.25)


def test_front_door_neural_is_seeded_and_has_bootstrap_ci():
    x, y, _ = _gaussian(1000, 0.7, 1, seed=3)
    a = mutual_information(x, y, method="infonce", max_steps=200, ci="bootstrap",
                           n_resamples=50, random_state=4)
    b = mutual_information(x, y, method="infonce", max_steps=200, random_state=4)
    assert float(a) == float(b)
    assert a.ci[0] <= float(a) <= a.ci[1]
    with pytest.raises(ValueError, match="ci='analytic' is not available"):
        mutual_information(x, y, method="nwj", max_steps=10, ci="analytic")


def test_unfitted_and_bad_parameters_raise():
    with pytest.raises(NotFittedError):
        NeuralMIEstimator().score(np.zeros((10, 1)), np.zeros((10, 1)))
    with pytest.raises(ValueError, match="bound must be one of"):
        NeuralMIEstimator(bound="dv").fit(np.ones((50, 1)), np.ones((50, 1)))
