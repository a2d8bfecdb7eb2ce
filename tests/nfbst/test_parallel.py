"""The joblib execution layer: same results for any n_jobs/backend, failures named."""

import os
import warnings

import joblib
import numpy as np
import pytest
import torch

from nfbst import NFBST, BayesianMLP
from nfbst._device import check_device
from nfbst._parallel import TaskError, check_n_jobs, effective_n_jobs, parallel_map, task_seeds
from nfbst.backends.base import chain_groups
from nfbst.crt import LinearConditional, loss_crt_pvalues
from nfbst.posterior import PosteriorDraws


def _data(n=120, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, np.tanh(X[:, 0]) + 0.3 * rng.normal(size=n)


def _seeded_sum(seed, n):
    return float(np.random.default_rng(seed).normal(size=n).sum())


def _fail_on(i):
    if i == 2:
        raise ValueError("bad input 2")
    return i


def _die(i):
    if i == 1:
        os._exit(3)
    return i


def test_parallel_map_on_threads_equals_the_sequential_map_in_task_order():
    # processes: the LocalCluster tests of tests/nfbst/test_dask.py
    seeds = task_seeds(7, 6)
    tasks = [(s, 50) for s in seeds]
    seq = parallel_map(_seeded_sum, tasks)
    with joblib.parallel_config(backend="threading"):
        par = parallel_map(_seeded_sum, tasks, n_jobs=3)
    assert par == seq
    assert len(set(seq)) == 6  # independent streams, not one seed repeated


def _threads_in_task(i):
    return torch.get_num_threads()


def test_workers_run_one_torch_thread_and_the_callers_threads_are_restored():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with joblib.parallel_config(backend="threading"):
            seen = parallel_map(_threads_in_task, [(i,) for i in range(8)], n_jobs=2)
        assert seen == [1] * 8
        assert torch.get_num_threads() == 2
        assert parallel_map(_threads_in_task, [(0,)]) == [2]  # sequential: caller's setting
    finally:
        torch.set_num_threads(before)


def test_a_failing_task_keeps_its_error_type_and_is_named():
    # a ValueError in a worker stays a ValueError (callers validate with it), named
    names = [f"job {i}" for i in range(4)]
    with joblib.parallel_config(backend="threading"):
        with pytest.raises(ValueError, match=r"task 'job 2' failed: ValueError: bad input 2"):
            parallel_map(_fail_on, [(i,) for i in range(4)], names=names, n_jobs=2)
    with pytest.raises(ValueError, match="task 'job 2' failed"):  # sequential: the same
        parallel_map(_fail_on, [(i,) for i in range(4)], names=names)


def test_a_dying_worker_is_a_task_error_naming_a_task():
    expected = r"(?s)task 'seeds #\d' .*did not complete: TerminatedWorkerError.*no partial"
    with pytest.raises(TaskError, match=expected):
        parallel_map(_die, [(i,) for i in range(3)], n_jobs=2, desc="seeds")


def test_n_jobs_follows_scikit_learn_and_joblib_parallel_config():
    assert effective_n_jobs(None) == 1
    with joblib.parallel_config(n_jobs=2):
        assert effective_n_jobs(None) == 2
    for bad in (0, 1.5, "2", True):
        with pytest.raises(ValueError, match=r"n_jobs must be None or a non-zero int.*got"):
            check_n_jobs(bad)


def test_chain_groups_start_at_even_chains_and_never_leave_one_chain_alone():
    for C in range(1, 12):
        for k in range(1, 6):
            groups = chain_groups(C, k)
            assert np.array_equal(np.concatenate(groups), np.arange(C))
            assert all(g[0] % 2 == 0 for g in groups)
            assert C == 1 or all(len(g) >= 2 for g in groups)
            assert len(groups) == max(1, min(k, C // 2))


@pytest.mark.parametrize("inference, params", [
    ("ensemble", dict(n_ensemble=3, n_steps=60)),
    ("hmc", dict(n_chains=6, num_samples=24, warmup_steps=20)),
    ("sgld", dict(n_chains=5, num_samples=20, warmup_steps=40, n_steps=40, batch_size=40)),
    ("anchored", dict(n_ensemble=7, n_steps=40)),
])
def test_posterior_is_bit_identical_for_any_number_of_workers(inference, params):
    # members and chain groups run as joblib tasks with per-task seeds: the draws must not
    # depend on how many workers share them (threads here; processes in test_dask)
    X, y = _data()
    out = []
    for n_jobs in (1, 2, 3):
        with joblib.parallel_config(backend="threading", n_jobs=n_jobs), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # R-hat of these short runs
            bnn = BayesianMLP(hidden=(4,), activation="tanh", inference=inference,
                              random_state=3, **params).fit(X, y)
        d = bnn.sample_posterior(6)
        out.append(torch.cat([w.reshape(6, -1) for w in d.weights + d.biases], 1))
    assert torch.equal(out[0], out[1]) and torch.equal(out[0], out[2])


def _crt_reference(draws, X, y, K, random_state):
    """The global loss CRT written out: feature j's K copies from the j-th stream, p-value
    (1 + #{T_null >= T_obs}) / (K + 1) with T = -mean squared error of the mean prediction."""
    from probconstraints._random import generators

    cond = LinearConditional(X)
    mean_pred = lambda A: draws.forward(torch.as_tensor(A, dtype=torch.float32))[..., 0] \
        .double().mean(0).numpy()  # noqa: E731
    T_obs = -np.mean((mean_pred(X) - y) ** 2)
    p = []
    for j, rng in enumerate(generators(random_state, X.shape[1])):
        xj = cond(X, j, K, rng)
        T_null = []
        for k in range(K):
            Xk = X.copy()
            Xk[:, j] = xj[k]
            T_null.append(-np.mean((mean_pred(Xk) - y) ** 2))
        p.append((1 + np.sum(np.array(T_null) >= T_obs - 1e-5 * abs(T_obs))) / (K + 1))
    return np.array(p)


def test_crt_per_feature_tasks_equal_a_written_out_crt_for_any_n_jobs():
    X, y = _data(n=80, d=3)
    W = [torch.tensor([[[1.0, 0.0, 0.0]]]).repeat(8, 1, 1) + 0.05 * torch.randn(
        8, 1, 3, generator=torch.Generator().manual_seed(0))]
    draws = PosteriorDraws(W, [torch.zeros(8, 1)])
    ref = _crt_reference(draws, X, y, 19, random_state=4)
    p1 = loss_crt_pvalues(draws, X, y, n_randomizations=19, random_state=4)
    with joblib.parallel_config(backend="threading"):  # processes: tests/nfbst/test_dask.py
        p2 = loss_crt_pvalues(draws, X, y, n_randomizations=19, random_state=4, n_jobs=2)
    np.testing.assert_array_equal(p1[0], ref)
    np.testing.assert_array_equal(p2, p1)
    nfbst_p = NFBST.from_draws(draws, n_randomizations=19, random_state=4, n_jobs=2,
                               sampler="gaussian").test(
        X, y, scope="global", calibration="crt").p_value
    np.testing.assert_array_equal(nfbst_p, ref)
    assert p1[0, 0] == pytest.approx(1 / 20) and p1[0, 2] > 0.05


def test_cuda_without_cuda_is_an_error_naming_the_device():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA; the error is for machines without it")
    with pytest.raises(ValueError, match=r"device='cuda' but CUDA is not available"):
        check_device("cuda")
    X, y = _data(n=40)
    draws = PosteriorDraws([torch.randn(4, 1, 3)], [torch.zeros(4, 1)])
    with pytest.raises(ValueError, match=r"device='cuda:0' but CUDA is not available"):
        loss_crt_pvalues(draws, X, y, n_randomizations=9, device="cuda:0")
    with pytest.raises(ValueError, match="device must be 'cpu', 'cuda' or 'mps', got 'meta'"):
        check_device("meta")
