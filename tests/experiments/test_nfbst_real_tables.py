"""Quick mode of the real-tables study (nFBST beside OLS, hidimstat and knockpy)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

pytest.importorskip("hidimstat")
pytest.importorskip("knockpy")
pytest.importorskip("statsmodels")


def test_real_tables_quick_reports_rates_and_finds_the_strong_linear_effect(tmp_path: Path) -> None:
    from experiments.nfbst_real_tables import QUICK_DESIGNS, main

    summary = main(["--quick", "--out", str(tmp_path)])
    for stem in ("real_tables", "real_tables_long", "type1_by_design", "power_by_design"):
        assert (tmp_path / f"{stem}.csv").is_file() and (tmp_path / f"{stem}.md").is_file()
    assert (tmp_path / "real_tables.png").stat().st_size > 1000
    assert (tmp_path / "COMMAND").read_text().startswith(
        "python -m experiments run nfbst_real_tables")
    assert list(summary.columns) == [
        "design", "method", "seeds", "null_tests", "type1_05", "type1_mc_sd", "worst_null",
        "type1_worst", "power_05", "power_fdr10", "fdp_fdr10", "seconds_median"]
    assert set(summary.design) == set(QUICK_DESIGNS)
    assert {"nFBST()", "OLS t-test (statsmodels)", "CFI, MLP, t-test (hidimstat)",
            "LOCO, MLP, t-test (hidimstat)", "D0CRT, lasso (hidimstat)",
            "model-X knockoffs, lasso (knockpy)"} <= set(summary.method)
    rates = summary[["type1_05", "type1_worst", "power_05", "power_fdr10", "fdp_fdr10"]]
    values = rates.to_numpy(float)
    assert np.isnan(values).sum() == 3 * len(QUICK_DESIGNS)  # knockoffs: no p-values
    assert (summary.type1_worst.dropna() >= summary.type1_05.dropna()).all()
    assert ((values[~np.isnan(values)] >= 0) & (values[~np.isnan(values)] <= 1)).all()
    knock = summary[summary.method.str.startswith("model-X")]
    assert knock.type1_05.isna().all() and knock.power_fdr10.notna().all()
    # y = 0.5 x0 + ε at n = 200: the t-test's power is 0.94 (closed form), both seeds find it
    ols = summary[(summary.design == "gauss_linear_corr")
                  & (summary.method == "OLS t-test (statsmodels)")]
    assert ols.power_05.iloc[0] == 1.0
    long = pd.read_csv(tmp_path / "real_tables_long.csv")
    assert long.groupby(["design", "seed", "method"]).size().groupby("design").nunique().eq(1).all()


def test_ols_pvalues_equal_the_closed_form_t_test() -> None:
    from experiments.nfbst_real_tables import make_design, pvalues_ols

    X, y, _, _ = make_design("gauss_linear_corr", 3)
    A = np.column_stack([np.ones(len(y)), X])
    beta, rss = np.linalg.lstsq(A, y, rcond=None)[:2]
    df = len(y) - A.shape[1]
    se = np.sqrt(rss[0] / df * np.diag(np.linalg.inv(A.T @ A)))
    expected = 2 * stats.t.sf(np.abs(beta / se), df)[1:]
    np.testing.assert_allclose(pvalues_ols(X, y, 3, True), expected, rtol=1e-8)


def test_bh_selections_equal_scipy_and_skip_nan() -> None:
    from experiments.nfbst_real_tables import bh_select

    p = np.array([0.001, 0.02, 0.03, 0.2, np.nan, 0.04])
    finite = p[np.isfinite(p)]
    expected = stats.false_discovery_control(finite) <= 0.1
    got = bh_select(p, 0.1)
    assert got[4] == 0 and np.array_equal(got[np.isfinite(p)].astype(bool), expected)


def test_designs_are_reproducible_and_only_named_columns_carry_signal() -> None:
    from experiments.nfbst_real_tables import DESIGNS, make_design

    for name in ("gauss_linear_corr", "diabetes", "knockpy_blockequi"):
        X1, y1, m1, names = make_design(name, 5)
        X2, y2, m2, _ = make_design(name, 5)
        assert np.array_equal(y1, y2) and np.array_equal(m1, m2) and len(names) == X1.shape[1]
        assert not np.array_equal(y1, make_design(name, 6)[1])
    _, _, mask, names = make_design("diabetes", 0)
    assert [n for n, m in zip(names, mask) if m] == ["sex", "bmi", "s5"]
    assert make_design("knockpy_blockequi", 0)[2].sum() == 5
    with pytest.raises(ValueError, match="got 'nope'"):
        make_design("nope", 0)
    assert len(DESIGNS) == 8
