"""k-NN intervals: the half-sample bootstrap recomputes the estimator and has the right width."""

import numpy as np

from experiments.info_knn_coverage import main
from infotheory import BENCHMARK_TASKS, mutual_information


def test_half_sample_interval_width_matches_spread_over_independent_data_sets():
    # truth for the width: the sd of the estimator over 40 independent data sets
    task = BENCHMARK_TASKS["1v1-normal-0.75"]
    ests = [float(mutual_information(*task.sample(800, random_state=s), method="ksg",
                                     random_state=s)) for s in range(40)]
    sd = np.std(ests, ddof=1)
    X, Y = task.sample(800, random_state=99)
    est = mutual_information(X, Y, method="ksg", ci="bootstrap", confidence=0.9,
                             n_resamples=200, random_state=0)
    claimed = (est.ci[1] - est.ci[0]) / (2 * 1.645)
    assert 0.6 * sd < claimed < 1.6 * sd
    assert est.ci[0] < float(est) < est.ci[1]


def test_bootstrap_recomputes_the_estimator_rather_than_resampling_terms():
    # for a k-NN estimator the half-sample spread differs from the i.i.d.-terms spread; the
    # analytic interval (terms treated as independent) is the latter
    task = BENCHMARK_TASKS["multinormal-dense-2-2-0.5"]
    X, Y = task.sample(600, random_state=3)
    boot = mutual_information(X, Y, method="ksg", ci="bootstrap", n_resamples=100,
                              random_state=0)
    ana = mutual_information(X, Y, method="ksg", ci="analytic", random_state=0)
    assert float(boot) == float(ana)
    assert abs((boot.ci[1] - boot.ci[0]) / (ana.ci[1] - ana.ci[0]) - 1) > 0.05


def test_bootstrap_intervals_exist_for_entropy_cmi_mixed_and_auto():
    from infotheory import conditional_mutual_information, entropy

    rng = np.random.default_rng(0)
    x, z = rng.standard_normal((2, 400))
    y = x + z
    lab = (x > 0).astype(int)
    for est in (entropy(x, ci="bootstrap", n_resamples=20, random_state=0),
                conditional_mutual_information(x, y, z, method="ksg", ci="bootstrap",
                                               n_resamples=20, random_state=0),
                mutual_information(x, lab, ci="bootstrap", n_resamples=20, random_state=0),
                mutual_information(np.c_[x, z], y, ci="bootstrap", n_resamples=20,
                                   random_state=0)):
        assert est.ci[0] <= float(est) <= est.ci[1] and est.ci_method == "bootstrap"


def test_coverage_experiment_quick_mode_writes_table_and_figure(tmp_path):
    summary = main(["--quick", "--out", str(tmp_path), "--verbose", "0"])
    assert {"coverage_truth", "coverage_mean", "mc_se_truth"} <= set(summary.columns)
    assert set(summary.interval) == {"bootstrap", "analytic"}
    for name in ("coverage.md", "coverage.csv", "coverage.png", "runs.csv", "COMMAND"):
        assert (tmp_path / name).exists()
