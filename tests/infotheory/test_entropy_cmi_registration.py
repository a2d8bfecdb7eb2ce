"""Entropy and conditional MI dispatch through handler tables, as mutual_information does.

A new entropy or CMI estimator is one function plus one registration line
(``register_entropy_estimator`` / ``register_cmi_estimator``); each test registers into a
private copy of the table, so nothing stays registered afterwards.
"""

import numpy as np
import pytest

from infotheory import (
    api,
    conditional_mutual_information,
    discrete_entropy,
    entropy,
    mutual_information,
)
from infotheory.api import register_cmi_estimator, register_entropy_estimator


@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setattr(api, "_ENTROPY_ESTIMATORS", api._ENTROPY_ESTIMATORS.copy())
    monkeypatch.setattr(api, "_CMI_ESTIMATORS", api._CMI_ESTIMATORS.copy())


def histogram_entropy(call, bins=40):
    """Differential entropy of 1-D data from an equal-width histogram: H(bins) + log(width)."""
    x = call.x[:, 0]

    def estimate(idx):
        edges = np.linspace(x[idx].min(), x[idx].max(), bins + 1)
        codes = np.clip(np.searchsorted(edges, x[idx], side="right") - 1, 0, bins - 1)
        return discrete_entropy(codes) + np.log(edges[1] - edges[0])

    value = estimate(np.arange(call.n))
    return value, call.interval(value, statistic=estimate), {"bins": bins}


def chain_rule_cmi(call):
    """I(X;Y|Z) = I(X;(Y,Z)) - I(X;Z) with the plug-in MI (labels)."""
    yz = np.column_stack([call.y, call.z])
    value = (mutual_information(call.x, yz, "plugin")
             - mutual_information(call.x, call.z, "plugin"))
    return float(value), None, {"rule": "chain"}


def test_registered_histogram_entropy_matches_the_gaussian_closed_form(registry):
    register_entropy_estimator("histogram", histogram_entropy)
    x = np.random.default_rng(0).standard_normal(20000)
    h = entropy(x, method="histogram", ci="bootstrap", n_resamples=30, random_state=0)
    assert float(h) == pytest.approx(0.5 * np.log(2 * np.pi * np.e), abs=0.02)
    assert h.method == "histogram" and h.quantity == "entropy" and h.details == {"bins": 40}
    assert h.ci[0] < float(h) < h.ci[1]
    assert "histogram" not in api.ENTROPY_METHODS       # the documented built-in list


def test_registered_chain_rule_cmi_equals_the_exact_xor_value_and_the_builtin_plugin(registry):
    register_cmi_estimator("chain_rule", chain_rule_cmi, data="discrete")
    x, z = np.array([0, 1, 0, 1] * 125), np.array([0, 0, 1, 1] * 125)
    cmi = conditional_mutual_information(x, x ^ z, z, method="chain_rule")
    assert float(cmi) == pytest.approx(np.log(2), abs=1e-12)     # balanced X xor Z: log 2
    rng = np.random.default_rng(1)
    x, z = rng.integers(0, 2, 500), rng.integers(0, 2, 500)
    y = rng.integers(0, 3, 500)
    assert float(conditional_mutual_information(x, y, z, method="chain_rule")) == pytest.approx(
        float(conditional_mutual_information(x, y, z, method="plugin")), abs=1e-12)
    assert cmi.quantity == "conditional_mutual_information" and cmi.details == {"rule": "chain"}


def test_front_doors_validate_before_a_registered_handler_runs(registry):
    calls = []
    register_entropy_estimator("spy", lambda call: calls.append(call) or (0.0, None, {}))
    register_cmi_estimator("spy", lambda call: calls.append(call) or (0.0, None, {}))
    register_cmi_estimator("spy_labels", lambda call: calls.append(call) or (0.0, None, {}),
                           data="discrete")
    with pytest.raises(TypeError, match="X must be numbers for a continuous estimator"):
        entropy(["a", "b", "c"], method="spy")
    with pytest.raises(ValueError, match="method='spy' needs continuous X, Y and Z; got"):
        conditional_mutual_information([0, 1] * 5, [0.1, 0.2] * 5, [0.3, 0.4] * 5, method="spy")
    with pytest.raises(ValueError, match="X holds continuous floats"):
        conditional_mutual_information(np.linspace(0, 1, 20), [0] * 20, [1] * 20,
                                       method="spy_labels")
    with pytest.raises(ValueError,
                       match=r"ci must be one of \(None, 'bootstrap', 'analytic'\); got 'x'"):
        entropy([0.1, 0.2, 0.3], method="spy", ci="x")
    assert calls == []
    # what the handlers receive: 2-D floats for "continuous", the labels as read for "discrete"
    entropy([1, 2, 3], method="spy")
    conditional_mutual_information(["a", "b"], [0, 1], [1, 1], method="spy_labels")
    assert calls[0].x.shape == (3, 1) and calls[0].x.dtype == np.float64
    assert calls[1].x.tolist() == ["a", "b"] and calls[1].discrete == (True, True, True)


def test_registration_refuses_auto_taken_names_bad_handlers_and_bad_data_kinds(registry):
    for register, taken in ((register_entropy_estimator, "kl"), (register_cmi_estimator, "ksg")):
        with pytest.raises(ValueError, match="name must be a non-empty string other than "
                                             "'auto'; got 'auto'"):
            register("auto", histogram_entropy)
        with pytest.raises(ValueError, match=f"estimator '{taken}' is already registered; "
                                             f"pass overwrite=True to replace it"):
            register(taken, histogram_entropy)
        with pytest.raises(TypeError, match="handler must be callable; got 3"):
            register("new", 3)
        with pytest.raises(ValueError, match="data must be one of .*; got 'labels'"):
            register("new", histogram_entropy, data="labels")


def test_builtin_tables_list_the_documented_methods_in_order():
    assert api.ENTROPY_METHODS == ("auto", "plugin", "miller_madow", "james_stein", "nsb", "kl",
                                   "gaussian")
    assert api.CMI_METHODS == ("auto", "plugin", "miller_madow", "james_stein", "nsb", "ksg",
                               "ksg1", "copula_ksg", "gaussian", "gaussian_copula")
    assert api.available_estimators("entropy") == api.ENTROPY_METHODS
    assert api.available_estimators("conditional_mutual_information") == api.CMI_METHODS
    with pytest.raises(ValueError, match="quantity must be one of .*; got 'mi'"):
        api.available_estimators("mi")


def test_overwrite_true_replaces_a_registered_estimator_and_the_listing_follows(registry):
    register_entropy_estimator("histogram", histogram_entropy)
    assert api.available_estimators("entropy")[-1] == "histogram"
    register_entropy_estimator("histogram", lambda call: (1.5, None, {}), overwrite=True)
    assert float(entropy(np.arange(10.0), "histogram")) == 1.5
    assert api.available_estimators("entropy").count("histogram") == 1
