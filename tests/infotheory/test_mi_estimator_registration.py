"""A new MI estimator is one function plus one registration line (CONTRIBUTING.md example).

The worked example of CONTRIBUTING.md ("Adding an MI estimator"), a binned plug-in estimator,
is run from the document as written (so the guide cannot drift from the code): its printed
output must be the one the document shows, and the estimator it defines is then checked
against scikit-learn. Everything is registered into a private copy of the table, gone after
each test.
"""

import functools
import re

import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from infotheory import api, mutual_information
from infotheory.api import register_mi_estimator
from tests._markdown import code_blocks, run_block, section


def _section() -> str:
    return section("Adding an MI estimator (infotheory)")


@pytest.fixture
def registry(monkeypatch):
    """A private copy of the handler table: what a test registers is gone afterwards."""
    monkeypatch.setattr(api, "_MI_ESTIMATORS", api._MI_ESTIMATORS.copy())


@pytest.fixture
def example(registry, capsys):
    """The document's code block, run as written: its namespace and what it printed."""
    (code,) = code_blocks(_section())
    namespace = run_block(code, "contributing_mi_example")
    return namespace, capsys.readouterr().out


def test_contributing_example_runs_from_the_document_and_prints_what_it_shows(example):
    _, printed = example
    (shown,) = re.findall(r"Output \(run on this commit\):\n\n```text\n(.*?)```", _section(),
                          re.S)
    assert printed == shown
    assert "binned" in api.available_estimators()


def test_contributing_example_with_16_bins_gives_the_value_the_document_states(example):
    namespace, _ = example
    (stated,) = re.findall(r"the same data gives (\d\.\d+)", _section().replace("\n", " "))
    register_mi_estimator("binned16", functools.partial(namespace["binned_plugin_mi"], bins=16))
    assert round(float(mutual_information(namespace["x"], namespace["y"], method="binned16")),
                 4) == float(stated)


def _correlated(n, rho, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    return x, rho * x + np.sqrt(1 - rho**2) * rng.standard_normal(n)


def test_registered_binned_estimator_equals_sklearn_on_the_bins_and_stays_below_gaussian_mi(
        example):
    x, y = _correlated(5000, 0.75, 0)
    mi = mutual_information(x, y, method="binned", ci="bootstrap", n_resamples=50,
                            random_state=0)
    edges = lambda v: np.quantile(v, np.linspace(0, 1, 9)[1:-1])  # noqa: E731
    reference = mutual_info_score(np.digitize(x, edges(x)), np.digitize(y, edges(y)))
    assert float(mi) == pytest.approx(reference, abs=1e-12)
    truth = -0.5 * np.log(1 - 0.75**2)
    # binning is a function of each variable: data processing puts it below I(X;Y) but close
    assert truth - 0.08 < float(mi) < truth
    assert mi.method == "binned" and mi.details == {"bins": 8}
    assert mi.ci[0] < float(mi) < mi.ci[1] and mi.ci_method == "bootstrap"


def test_registered_continuous_estimator_gets_front_door_validation_before_it_runs(registry):
    calls = []
    register_mi_estimator("binned", lambda call: calls.append(call) or (0.0, None, {}))
    with pytest.raises(ValueError, match="method='binned' needs continuous X and Y; got a"):
        mutual_information([0, 1, 1, 0] * 5, [1, 0, 1, 0] * 5, method="binned")
    with pytest.raises(ValueError,
                       match=r"ci must be one of \(None, 'auto', 'bootstrap', "
                             r"'analytic'\); got 'x'"):
        mutual_information([0.1, 0.2], [0.3, 0.4], method="binned", ci="x")
    assert calls == []
    with pytest.raises(ValueError, match=r"method must be one of \(.auto., .plugin."):
        mutual_information([0.1, 0.2], [0.3, 0.4], method="binned2")


def test_registration_refuses_auto_taken_names_bad_handlers_and_bad_data_kinds(example):
    binned_plugin_mi = example[0]["binned_plugin_mi"]
    with pytest.raises(ValueError, match="name must be a non-empty string other than 'auto'; "
                                         "got 'auto'"):
        register_mi_estimator("auto", binned_plugin_mi)
    with pytest.raises(ValueError, match="MI estimator 'ksg' is already registered; pass "
                                         "overwrite=True"):
        register_mi_estimator("ksg", binned_plugin_mi)
    with pytest.raises(ValueError, match="MI estimator 'binned' is already registered"):
        register_mi_estimator("binned", binned_plugin_mi)       # the example registered it
    with pytest.raises(TypeError, match="handler must be callable; got 3"):
        register_mi_estimator("binned", 3)
    with pytest.raises(ValueError, match="data must be one of .*; got 'labels'"):
        register_mi_estimator("binned", binned_plugin_mi, data="labels")


def test_builtin_table_lists_every_documented_method_in_order():
    assert api.MI_METHODS == ("auto", "plugin", "miller_madow", "james_stein", "nsb", "ksg",
                              "ksg1", "ksg2", "copula_ksg", "mixed", "gaussian",
                              "gaussian_copula", "mine", "nwj", "infonce", "smile", "doe")
    assert api.available_estimators() == api.MI_METHODS


def test_interval_helpers_refuse_an_interval_the_handler_gave_no_means_for(registry):
    """A handler that gives no ``statistic`` cannot have a bootstrap interval, and one that
    gives no per-point terms no analytic k-NN interval (nor a bootstrap one without ``n``): a
    ValueError names the method (it used to be a TypeError from calling None / len(None))."""
    register_mi_estimator("se_only", lambda call: (0.5, call.interval(0.5, std_error=0.1), {}))
    register_mi_estimator("no_terms", lambda call: (
        0.5, call.half_sample_interval(0.5, None, 0.0, lambda idx, seed: 0.5), {}))
    register_mi_estimator("no_terms_n", lambda call: (
        0.5, call.half_sample_interval(0.5, None, 0.0, lambda idx, seed: 0.5, n=call.n), {}))
    x, y = _correlated(200, 0.5, 1)
    lo, hi = mutual_information(x, y, method="se_only", ci="analytic").ci
    assert (lo, hi) == pytest.approx((0.5 - 1.959964 * 0.1, 0.5 + 1.959964 * 0.1), abs=1e-6)
    with pytest.raises(ValueError, match="ci='bootstrap' is not available for method='se_only'"):
        mutual_information(x, y, method="se_only", ci="bootstrap")
    with pytest.raises(ValueError, match="ci='analytic' for method='no_terms' needs the per-"):
        mutual_information(x, y, method="no_terms", ci="analytic")
    with pytest.raises(ValueError, match="method='no_terms' needs the per-point terms or n"):
        mutual_information(x, y, method="no_terms", ci="bootstrap")
    # with n given, the bootstrap needs only the recomputation (a constant here)
    est = mutual_information(x, y, method="no_terms_n", ci="bootstrap", n_resamples=20,
                             random_state=0)
    assert est.ci == (0.5, 0.5)
