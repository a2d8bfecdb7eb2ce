"""Bad and edge inputs at every public infotheory entry point: a table of cases.

Each ``raises`` case asserts the exception type AND that the message names the problem; each
``equal`` case asserts that an input the estimator must handle (data near the float range,
pandas extension dtypes) gives the same answer as the plain input it stands for (MI is
invariant under scaling; h(cX) = h(X) + d log c), within a tolerance that a wrong answer
(negative MI, labels read as numbers) cannot meet.

``CASES`` is also read by a script that counts, on an older checkout, how many cases were
silently wrong (no error, or a wrong value) or confusing (an error of another type, or one that
does not name the problem); see the report of the branch that added this file.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

import infotheory as it
from infotheory.audiovisual.modality import discretize, modality_information
from infotheory.audiovisual.speech import (
    acoustic_features,
    add_noise,
    make_speech_corpus,
    synthesize,
)
from infotheory.estimate import Estimate
from infotheory.neural import NeuralMIEstimator, neural_mutual_information
from infotheory.tasks import bivariate_normal, transform_spiral

RNG = np.random.default_rng(0)
N = 200
X = RNG.standard_normal(N)
Y = 0.8 * X + 0.6 * RNG.standard_normal(N)
Z = RNG.standard_normal(N)
X2 = np.column_stack([X, RNG.standard_normal(N)])
LAB = RNG.integers(0, 3, N)
INT64_NA = pd.Series([1, 2, None, 4] * 50, dtype="Int64")
INT64 = pd.Series((np.arange(N) % 7).astype(int), dtype="Int64")
TEXT = pd.Series(["a", "b", "c", "d"] * 50)           # pandas 3: the str dtype
FLOAT_CATEGORY = pd.Series(np.where(LAB == 0, 0.5, np.where(LAB == 1, 1.5, 2.5)),
                           dtype="category")
MIXED_FRAME = pd.DataFrame({"count": pd.Series((X > 0).astype(int) + (X > 1), dtype="Int64"),
                            "level": X2[:, 1]})
FLOATS_3 = np.random.default_rng(5).integers(0, 3, 300).astype(float)
NEURAL = dict(max_steps=20, eval_every=10, batch_size=32, random_state=0)


def _mi(*a, **k):
    return float(it.mutual_information(*a, **k))


def _raises(fn, exc, pattern):
    return ("raises", fn, exc, pattern)


def _equal(fn, reference, tol):
    return ("equal", fn, reference, tol)


CASES = {
    # ------------------------------------------------------------------ entropy
    "entropy: unknown method": _raises(lambda: it.entropy(X, method="nope"), ValueError,
                                       "method must be one of \\(.auto."),
    "entropy: plugin on continuous floats": _raises(
        lambda: it.entropy(X, method="plugin"), ValueError, "continuous floats.*k-NN"),
    "entropy: discrete=True on continuous floats": _raises(
        lambda: it.entropy(X, discrete=True), ValueError, "X holds continuous floats"),
    "entropy: NaN": _raises(lambda: it.entropy(np.r_[np.nan, X]), ValueError, "X contains NaN"),
    "entropy: n_jobs=0": _raises(lambda: it.entropy(X, n_jobs=0), ValueError, "n_jobs"),
    "entropy: random_state text": _raises(lambda: it.entropy(X, random_state="a"), TypeError,
                                          "random_state must be"),
    "entropy: k=0": _raises(lambda: it.entropy(X, k=0), ValueError,
                            "k must be an integer >= 1; got 0"),
    "entropy: fractional k": _raises(lambda: it.entropy(X, k=2.5), TypeError,
                                     "k must be an integer"),
    "entropy: Int64 with pd.NA": _raises(lambda: it.entropy(INT64_NA), ValueError,
                                         "missing values"),
    "entropy: unknown ci": _raises(lambda: it.entropy(X, ci="exact"), ValueError,
                                   "ci must be one of \\(None"),
    "entropy: confidence 1.5": _raises(lambda: it.entropy(X, ci="bootstrap", confidence=1.5),
                                       ValueError,
                                       "confidence must be a finite number > 0 and < 1"),
    "entropy: kl at 1e300 = kl + log 1e300": _equal(
        lambda: float(it.entropy(X * 1e300, random_state=0)),
        lambda: float(it.entropy(X, random_state=0)) + np.log(1e300), 2e-3),
    "entropy: kl at 1e-300 = kl + log 1e-300": _equal(
        lambda: float(it.entropy(X * 1e-300, random_state=0)),
        lambda: float(it.entropy(X, random_state=0)) + np.log(1e-300), 2e-3),
    "entropy: gaussian at 1e300": _equal(
        lambda: float(it.entropy(X * 1e300, method="gaussian")),
        lambda: float(it.entropy(X, method="gaussian")) + np.log(1e300), 1e-6),
    "entropy: nullable Int64 labels = int labels": _equal(
        lambda: float(it.entropy(INT64)), lambda: float(it.entropy(INT64.to_numpy(int))), 1e-12),
    # ------------------------------------------------------------------ mutual information
    "MI: different lengths": _raises(lambda: it.mutual_information(X, Y[:50]), ValueError,
                                     "same number of samples"),
    "MI: discrete=True on continuous floats": _raises(
        lambda: it.mutual_information(X, Y, discrete=True), ValueError,
        "X holds continuous floats.*k-NN"),
    "MI: plugin on continuous floats": _raises(
        lambda: it.mutual_information(X, Y, method="plugin"), ValueError, "continuous floats"),
    "MI: mixed with float labels": _raises(
        lambda: it.mutual_information(X, Y, discrete=(False, True)), ValueError,
        "Y holds continuous floats"),
    "MI: unknown keyword for ksg": _raises(
        lambda: it.mutual_information(X, Y, method="ksg", kk=3), TypeError, "kk"),
    "MI: misspelt neural option": _raises(
        lambda: it.mutual_information(X, Y, method="infonce", max_step=10), TypeError,
        "max_step"),
    "MI: ksg at 1e300 (was negative)": _equal(
        lambda: _mi(X2 * 1e300, Y * 1e300, method="ksg", random_state=0),
        lambda: _mi(X2, Y, method="ksg", random_state=0), 2e-3),
    "MI: ksg at 1e-300": _equal(
        lambda: _mi(X2 * 1e-300, Y * 1e-300, method="ksg", random_state=0),
        lambda: _mi(X2, Y, method="ksg", random_state=0), 2e-3),
    "MI: gaussian at 1e300": _equal(lambda: _mi(X2 * 1e300, Y * 1e300, method="gaussian"),
                                    lambda: _mi(X2, Y, method="gaussian"), 1e-6),
    "MI: auto at 1e300": _equal(lambda: _mi(X2 * 1e300, Y * 1e300, random_state=0),
                                lambda: _mi(X2, Y, random_state=0), 2e-3),
    "MI: DataFrame with an Int64 column is numbers when declared": _equal(
        lambda: _mi(MIXED_FRAME, Y, discrete=False, random_state=0),
        lambda: _mi(MIXED_FRAME.to_numpy(dtype=float), Y, discrete=False, random_state=0),
        1e-9),
    "MI: a 3-level column mixed with continuous ones, type not declared": _raises(
        lambda: it.mutual_information(MIXED_FRAME, Y), ValueError,
        r"X mixes label-like float columns \[0\].*continuous columns \[1\].*discrete="),
    "MI: labels stored as floats read as labels": _equal(
        lambda: _mi(np.round(FLOATS_3), np.round(FLOATS_3) % 2),
        lambda: _mi(np.round(FLOATS_3).astype(int), np.round(FLOATS_3).astype(int) % 2), 1e-12),
    "MI: float category is labels": _equal(
        lambda: _mi(FLOAT_CATEGORY, Y, random_state=0),
        lambda: _mi(FLOAT_CATEGORY.astype(str).to_numpy(object), Y, random_state=0), 1e-9),
    "MI: ksg on a text column": _raises(lambda: it.mutual_information(TEXT, Y, method="ksg"),
                                        TypeError, "X must be numbers.*text"),
    "MI: Int64 with pd.NA": _raises(lambda: it.mutual_information(INT64_NA, Y), ValueError,
                                    "X contains 50 missing values"),
    "MI: fractional n_jobs": _raises(lambda: it.mutual_information(X, Y, n_jobs=1.5),
                                     ValueError, "n_jobs"),
    "MI: negative verbose": _raises(lambda: it.mutual_information(X, Y, verbose=-1),
                                    ValueError, "verbose"),
    # verbose is an int >= 0 in every package: a bool is not a level
    "MI: verbose=True": _raises(lambda: it.mutual_information(X, Y, verbose=True),
                                TypeError, "verbose must be an integer >= 0; got True"),
    "modality: verbose=True": _raises(
        lambda: modality_information(LAB, LAB, LAB, verbose=True), TypeError,
        "verbose must be an integer >= 0; got True"),
    "MI: mixed with two continuous": _raises(
        lambda: it.mutual_information(X, Y, method="mixed"), ValueError,
        "one discrete and one continuous"),
    "MI: infonce batch_size=1": _raises(
        lambda: it.mutual_information(X, Y, method="infonce", batch_size=1), ValueError,
        "batch_size"),
    "MI: infonce hidden=16": _raises(
        lambda: it.mutual_information(X, Y, method="infonce", hidden=16), ValueError, "hidden"),
    "MI: ragged list": _raises(lambda: it.mutual_information([[1.0, 2.0], [3.0]], [1.0, 2.0]),
                               ValueError, "X must be a rectangular array"),
    "MI: Y is None": _raises(lambda: it.mutual_information(X, None), TypeError,
                             "Y must be an array-like"),
    "MI: scalar X": _raises(lambda: it.mutual_information(3.0, Y), ValueError, "scalar"),
    "MI: 3-D X": _raises(lambda: it.mutual_information(np.zeros((5, 2, 2)), Y[:5]), ValueError,
                         r"shape \(n,\) or \(n, d\)"),
    "MI: k larger than n": _raises(lambda: it.mutual_information(X, Y, method="ksg", k=500),
                                   ValueError, "too few samples for k=500"),
    "MI: n_resamples=1": _raises(lambda: it.mutual_information(X, Y, ci="bootstrap",
                                                               n_resamples=1),
                                 ValueError, "n_resamples"),
    # ------------------------------------------------------------------ conditional MI
    "CMI: discrete=True on floats": _raises(
        lambda: it.conditional_mutual_information(X, Y, Z, discrete=True), ValueError,
        "continuous floats"),
    "CMI: plugin on floats": _raises(
        lambda: it.conditional_mutual_information(X, Y, Z, method="plugin"), ValueError,
        "continuous floats"),
    "CMI: mixed kinds": _raises(lambda: it.conditional_mutual_information(X, Y, LAB),
                                ValueError, "mixed discrete and continuous"),
    "CMI: ksg at 1e300": _equal(
        lambda: float(it.conditional_mutual_information(X * 1e300, Y * 1e300, Z * 1e300,
                                                        method="ksg", random_state=0)),
        lambda: float(it.conditional_mutual_information(X, Y, Z, method="ksg", random_state=0)),
        2e-3),
    "CMI: random_state text": _raises(
        lambda: it.conditional_mutual_information(X, Y, Z, random_state="s"), TypeError,
        "random_state must be"),
    # ------------------------------------------------------------------ discrete functions
    "discrete_entropy: floats": _raises(lambda: it.discrete_entropy(X), ValueError,
                                        "x holds continuous floats"),
    "discrete_mutual_information: floats": _raises(
        lambda: it.discrete_mutual_information(X, Y), ValueError, "continuous floats"),
    "discrete_conditional_mutual_information: floats": _raises(
        lambda: it.discrete_conditional_mutual_information(X, Y, Z), ValueError,
        "continuous floats"),
    "discrete_joint_entropy: floats": _raises(lambda: it.discrete_joint_entropy(X, LAB),
                                              ValueError, "continuous floats"),
    "discrete_entropy: None label": _raises(lambda: it.discrete_entropy(["a", None, "b"]),
                                            ValueError, "missing values"),
    "discrete_entropy: unknown method": _raises(
        lambda: it.discrete_entropy(LAB, method="xx"), ValueError, "method must be one of"),
    "discrete_entropy: n_categories below observed": _raises(
        lambda: it.discrete_entropy(LAB, method="nsb", n_categories=2), ValueError,
        "n_categories"),
    "discrete_entropy: base 1": _raises(lambda: it.discrete_entropy(LAB, base=1), ValueError,
                                        "base must be"),
    "encode_labels: nothing": _raises(lambda: it.encode_labels(), ValueError,
                                      "at least one label array"),
    # ------------------------------------------------------------------ co-information, PID
    "co_information: floats (was 5.7 nats)": _raises(lambda: it.co_information(X, Y, Z),
                                                     ValueError, "continuous floats"),
    "co_information: different lengths": _raises(
        lambda: it.co_information(LAB, LAB[:3], LAB), ValueError, "same number of samples"),
    "PID: floats": _raises(lambda: it.partial_information_decomposition(X, Y, Z), ValueError,
                           "a holds continuous floats"),
    "PID: unknown measure": _raises(
        lambda: it.partial_information_decomposition(LAB, LAB, LAB, measure="x"), ValueError,
        "measure must be one of"),
    "co_information_pmf: negative table": _raises(
        lambda: it.co_information_pmf(-np.ones((2, 2, 2)) / 8), ValueError, "non-negative"),
    "pid_pmf: table not summing to 1": _raises(lambda: it.pid_pmf(np.ones((2, 2, 2))),
                                               ValueError, "sum to 1"),
    # ------------------------------------------------------------------ k-NN functions
    "ksg_mutual_information: 1e300": _equal(
        lambda: it.ksg_mutual_information(X2 * 1e300, Y * 1e300, random_state=0),
        lambda: it.ksg_mutual_information(X2, Y, random_state=0), 2e-3),
    "ksg_mutual_information: 1e300, standardize=False": _equal(
        lambda: it.ksg_mutual_information(X2 * 1e300, Y * 1e300, standardize=False,
                                          random_state=0),
        lambda: it.ksg_mutual_information(X2, Y, standardize=False, random_state=0), 2e-3),
    "kl_entropy: 1e300": _equal(lambda: it.kl_entropy(X2 * 1e300, random_state=0),
                                lambda: it.kl_entropy(X2, random_state=0) + 2 * np.log(1e300),
                                2e-3),
    "kl_entropy: unknown metric": _raises(lambda: it.kl_entropy(X, metric="l3"), ValueError,
                                          "metric must be"),
    "ksg_mutual_information: variant 3": _raises(
        lambda: it.ksg_mutual_information(X, Y, variant=3), ValueError, "variant must be"),
    "ksg_mutual_information: n_jobs=0": _raises(
        lambda: it.ksg_mutual_information(X, Y, n_jobs=0), ValueError, "n_jobs"),
    "mixed_mutual_information: every label once": _raises(
        lambda: it.mixed_mutual_information(X, np.arange(N)), ValueError, "occurs twice"),
    # ------------------------------------------------------------------ Gaussian
    "gaussian_mutual_information: 1e300": _equal(
        lambda: it.gaussian_mutual_information(X2 * 1e300, Y * 1e300),
        lambda: it.gaussian_mutual_information(X2, Y), 1e-6),
    "gaussian_entropy: 1e300": _equal(lambda: it.gaussian_entropy(X2 * 1e300),
                                      lambda: it.gaussian_entropy(X2) + 2 * np.log(1e300), 1e-6),
    "gaussian_mutual_information: constant column": _raises(
        lambda: it.gaussian_mutual_information(np.column_stack([X, np.ones(N)]), Y), ValueError,
        "singular"),
    "gaussian_mutual_information: two samples": _raises(
        lambda: it.gaussian_mutual_information(X[:2], Y[:2]), ValueError, "at least 3 samples"),
    "copula_normalize: text": _raises(lambda: it.copula_normalize(["a", "b"]), TypeError,
                                      "X must be numbers"),
    # ------------------------------------------------------------------ neural
    "NeuralMIEstimator: unknown bound": _raises(
        lambda: NeuralMIEstimator(bound="x").fit(X, Y), ValueError, "bound must be one of"),
    "NeuralMIEstimator: max_steps=0": _raises(
        lambda: NeuralMIEstimator(max_steps=0).fit(X, Y), ValueError, "max_steps"),
    "NeuralMIEstimator: fractional max_steps": _raises(
        lambda: NeuralMIEstimator(max_steps=2.5).fit(X, Y), ValueError, "max_steps"),
    "NeuralMIEstimator: random_state text": _raises(
        lambda: NeuralMIEstimator(random_state="s").fit(X, Y), TypeError, "random_state"),
    "NeuralMIEstimator: score before fit": _raises(lambda: NeuralMIEstimator().score(X, Y),
                                                   NotFittedError, "not fitted"),
    "NeuralMIEstimator: n_jobs=0": _raises(lambda: NeuralMIEstimator(n_jobs=0).fit(X, Y),
                                           ValueError, "n_jobs"),
    "neural_mutual_information: 1e300": _equal(
        lambda: neural_mutual_information(X2 * 1e300, Y * 1e300, **NEURAL),
        lambda: neural_mutual_information(X2, Y, **NEURAL), 0.05),
    # ------------------------------------------------------------------ tasks, Estimate
    "Task.sample: n=0": _raises(lambda: bivariate_normal().sample(0), ValueError,
                                "n must be a positive integer"),
    "transform_spiral: 1-D base": _raises(lambda: transform_spiral(bivariate_normal()),
                                          ValueError, "spiral needs"),
    "Estimate.to: base 1": _raises(lambda: Estimate(1.0, method="x", n=1).to(1), ValueError,
                                   "base must be"),
    # ------------------------------------------------------------------ audio-visual speech
    "synthesize: text eSpeak cannot voice": _raises(lambda: synthesize("..."), ValueError,
                                                    "cannot voice"),
    "synthesize: not a str": _raises(lambda: synthesize(123), TypeError, "text must be a str"),
    "make_speech_corpus: text eSpeak cannot voice": _raises(
        lambda: make_speech_corpus(texts=["..."], voices=["en-us"], rates=[175],
                                   cache_dir=False), ValueError, "cannot voice"),
    "make_speech_corpus: empty": _raises(lambda: make_speech_corpus(texts=[], cache_dir=False),
                                         ValueError, "corpus is empty"),
    "acoustic_features: NaN audio": _raises(
        lambda: acoustic_features(np.array([0.1, np.nan, 0.2] * 1000)), ValueError, "NaN"),
    "add_noise: text SNR": _raises(lambda: add_noise(np.ones(100), "x"), ValueError, "snr_db"),
    "discretize: n_clusters=0": _raises(lambda: discretize(X2, 0), ValueError, "n_clusters"),
    "discretize: n_jobs=0": _raises(lambda: discretize(X2, 2, n_jobs=0), ValueError, "n_jobs"),
    "discretize: NaN features": _raises(lambda: discretize(np.r_[X2[:-1], [[np.nan, 0.0]]], 2),
                                        ValueError, "NaN"),
}


def check_case(case):
    """Run one case; return None if it behaves, else a short description of what went wrong."""
    kind, fn = case[0], case[1]
    if kind == "raises":
        _, _, exc, pattern = case
        try:
            value = fn()
        except Exception as err:  # noqa: BLE001 - the point is to see which exception
            if not isinstance(err, exc):
                return f"confusing: {type(err).__name__}: {err}"
            if not re.search(pattern, str(err)):
                return f"confusing message: {err}"
            return None
        return f"silently wrong: returned {value!r}"
    _, _, reference, tol = case
    try:
        value, ref = float(fn()), float(reference())
    except Exception as err:  # noqa: BLE001
        return f"confusing: {type(err).__name__}: {err}"
    if not (np.isfinite(value) and abs(value - ref) <= tol):
        return f"silently wrong: {value!r} instead of {ref!r}"
    return None


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused_with_a_message_naming_it_or_answered_correctly(name):
    problem = check_case(CASES[name])
    assert problem is None, problem


def test_case_checker_catches_a_silent_result_and_a_wrong_message():
    assert check_case(_raises(lambda: 1.0, ValueError, "x")).startswith("silently wrong")
    assert check_case(_raises(lambda: int("a"), ValueError, "k must")).startswith("confusing")
    assert check_case(_equal(lambda: -1.0, lambda: 1.0, 0.1)).startswith("silently wrong")
