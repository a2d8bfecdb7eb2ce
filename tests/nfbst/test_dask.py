"""Dask: a real 2-worker LocalCluster runs the parallel work; dask arrays stream evidence."""

import tracemalloc
import warnings

import joblib
import numpy as np
import pytest
import torch

da = pytest.importorskip("dask.array", reason="dask is the optional extra [dask]")
distributed = pytest.importorskip("dask.distributed", reason="the [dask] extra")

from nfbst import BayesianMLP  # noqa: E402
from nfbst.crt import loss_crt_pvalues  # noqa: E402
from nfbst.evidence import evidence_value  # noqa: E402
from nfbst.posterior import PosteriorDraws  # noqa: E402
from nfbst.statistics._batching import statistic_row_blocks  # noqa: E402


@pytest.fixture(scope="module")
def client():
    """Two worker processes, one thread each, started and shut down here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "port in use" and similar notices
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None, memory_limit="2GiB")
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


def _tasks_done(client) -> int:
    """Tasks the workers have finished so far (summed over workers)."""
    counts = client.run(lambda dask_worker: len(dask_worker.state.log))
    return sum(counts.values())


def _data(n=120, d=3):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(n, d))
    return X, np.tanh(X[:, 0]) + 0.3 * rng.normal(size=n)


def _draws(S=16, d=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return PosteriorDraws([torch.randn(S, 6, d, generator=g), torch.randn(S, 1, 6, generator=g)],
                          [torch.randn(S, 6, generator=g), torch.zeros(S, 1)], "tanh")


def test_ensemble_fit_on_a_dask_cluster_equals_the_sequential_fit(client):
    X, y = _data()
    params = dict(hidden=(4,), inference="ensemble", n_ensemble=4, n_steps=60, random_state=2)
    seq = BayesianMLP(**params).fit(X, y).sample_posterior(8)
    before = _tasks_done(client)
    with joblib.parallel_config(backend="dask", n_jobs=2):
        par = BayesianMLP(**params).fit(X, y).sample_posterior(8)
    for a, b in zip(seq.weights + seq.biases, par.weights + par.biases):
        assert torch.equal(a, b)
    assert _tasks_done(client) - before >= 2  # the runs did go to the cluster's workers


def test_crt_on_a_dask_cluster_equals_the_sequential_crt(client):
    draws = _draws(d=3)
    X, _ = _data(n=60)
    y = draws.predict_mean(torch.as_tensor(X, dtype=torch.float32))[:, 0].numpy() \
        + 0.1 * np.random.default_rng(0).normal(size=60)
    seq = loss_crt_pvalues(draws, X, y, n_randomizations=19, random_state=5)
    with joblib.parallel_config(backend="dask"):
        par = loss_crt_pvalues(draws, X, y, n_randomizations=19, random_state=5, n_jobs=2)
    np.testing.assert_array_equal(par, seq)


def test_chunked_evidence_grid_on_a_dask_cluster_equals_numpy(client):
    draws = _draws()
    X = np.random.default_rng(3).normal(size=(900, 4))
    eta = statistic_row_blocks(draws, X, "grad", rows_per_block=300)  # (S, n, d), lazy
    ev = evidence_value(eta, axis=0)
    assert ev.chunks == ((300, 300, 300), (4,))
    got = client.compute(ev).result()
    eta_np = eta.compute(scheduler="synchronous")
    np.testing.assert_array_equal(got, evidence_value(eta_np, axis=0, verbose=0))


def test_chunked_grid_peak_memory_stays_a_few_blocks():
    # 200 draws x 10 000 rows x 10 features of float64 = 160 MB if materialised; in blocks of
    # 250 rows (4 MB of draws each) the traced peak must stay at a few blocks
    S, n, d, rows = 200, 10_000, 10, 250
    eta = da.random.default_rng(0).standard_normal((S, n, d), chunks=(S, rows, d))
    block_bytes = S * rows * d * 8
    tracemalloc.start()
    try:
        ev = evidence_value(eta, axis=0).compute(scheduler="synchronous")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert ev.shape == (n, d) and np.all((ev >= 0) & (ev <= 1))
    assert peak < 4 * block_bytes, f"peak {peak / 1e6:.1f} MB, blocks of {block_bytes / 1e6} MB"
    assert peak < S * n * d * 8 / 10
    # the same numbers as the unchunked computation, on a slice that fits
    sub = eta[:, :2000].compute()
    np.testing.assert_array_equal(ev[:2000], evidence_value(sub, axis=0, verbose=0))


def test_dask_grid_refuses_split_draws_and_non_numeric_dtypes():
    eta = da.zeros((100, 40, 3), chunks=(50, 20, 3))
    with pytest.raises(ValueError, match=r"draws axis \(axis=0, 100 draws\) is split into 2 "
                                         r"chunks.*rechunk\(\{0: -1\}\)"):
        evidence_value(eta, axis=0)
    with pytest.raises(TypeError, match="samples must hold real numbers, got dtype complex128"):
        evidence_value(da.zeros((100, 4), dtype=complex, chunks=(100, 2)), axis=0)
    with pytest.raises(TypeError, match="samples must hold real numbers, got dtype bool"):
        evidence_value(da.zeros((100, 4), dtype=bool, chunks=(100, 2)), axis=0)
    X = da.zeros((40, 4), chunks=(10, 2))
    with pytest.raises(ValueError, match=r"feature axis is split into 2 chunks"):
        statistic_row_blocks(_draws(), X, "grad")


def test_dask_evidence_per_cell_null_and_bandwidth_match_numpy():
    rng = np.random.default_rng(4)
    eta_np = rng.normal(loc=0.5, size=(150, 60, 2))
    null = rng.normal(size=(60, 2))
    eta = da.from_array(eta_np, chunks=(150, 25, 1))
    got = evidence_value(eta, null=null, bandwidth=0.3, axis=0).compute()
    np.testing.assert_array_equal(got, evidence_value(eta_np, null=null, bandwidth=0.3, axis=0,
                                                      verbose=0))
    got = evidence_value(eta, null=da.from_array(null, chunks=(30, 2)), axis=0).compute()
    np.testing.assert_array_equal(got, evidence_value(eta_np, null=null, axis=0, verbose=0))


def test_nfbst_test_streams_a_dask_x_and_equals_the_in_memory_test():
    from nfbst import NFBST

    X, y = _data(n=200, d=3)
    test = NFBST(model=BayesianMLP(hidden=(4,), n_steps=60, random_state=0),
                 n_posterior_samples=40, random_state=0).fit(X, y)
    Xd = da.from_array(X, chunks=(70, 3))
    for scope, rule in (("instance", "mean"), ("global", "mean"), ("global", "aggregate"),
                        ("global", "quantile")):
        got = test.test(Xd, scope=scope, rule=rule, calibration="none")
        ref = test.test(X, scope=scope, rule=rule, calibration="none")
        np.testing.assert_array_equal(got.evidence, ref.evidence)
        np.testing.assert_allclose(got.statistic_mean, ref.statistic_mean, rtol=1e-6)
    masks = np.stack([X[:, 0] < 0, X[:, 0] >= 0])
    got = test.test(Xd, scope="local", regions=masks, calibration="none")
    ref = test.test(X, scope="local", regions=masks, calibration="none")
    np.testing.assert_array_equal(got.evidence, ref.evidence)
    with pytest.raises(ValueError, match="calibration='crt' needs the rows in memory"):
        test.test(Xd, calibration="crt")
    with pytest.raises(ValueError, match=r"X must have shape \(n, 3\), got \(200, 2\)"):
        test.test(Xd[:, :2], calibration="none")


def test_dask_x_with_an_ensemble_of_modules_equals_the_in_memory_test():
    """Draws that are not PosteriorDraws (any modules) stream a dask X through the per-draw
    path and give the numpy answer (this raised AttributeError: no ``n_features``)."""
    from nfbst import NFBST

    class Ensemble:
        def __init__(self, seeds):
            self.nets = []
            for s in seeds:
                g = torch.Generator().manual_seed(s)
                net = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(),
                                          torch.nn.Linear(5, 1))
                with torch.no_grad():
                    for p in net.parameters():
                        p.copy_(torch.randn(p.shape, generator=g))
                self.nets.append(net)

        def __len__(self):
            return len(self.nets)

        def module(self, i):
            return self.nets[i]

    X, y = _data(n=60, d=3)
    test = NFBST.from_draws(Ensemble(range(8)), feature_names=["a", "b", "c"])
    got = test.test(da.from_array(X, chunks=(25, 3)), calibration="none")
    ref = test.test(X, calibration="none")
    np.testing.assert_array_equal(got.evidence, ref.evidence)
    np.testing.assert_allclose(got.statistic_mean, ref.statistic_mean, rtol=1e-6)
