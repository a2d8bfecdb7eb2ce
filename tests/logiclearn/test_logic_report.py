"""The shortcut report card: every figure checked against a count by hand on 20 examples."""

import numpy as np
import pytest
import torch

import logiclearn as ll

# 20 instances, outputs = data (the model is the identity): columns a, b
A = [1] * 8 + [0] * 12
B = [1 if i % 2 == 0 else 0 for i in range(20)]
DATA = torch.tensor([A, B], dtype=torch.float32).T

# second constraint: one-hot "logits" of 3 concept values; class 2 is never predicted
PRED = [0] * 10 + [1] * 10
TRUE = [0] * 8 + [2] * 2 + [1] * 6 + [0] * 4
DATA2 = torch.nn.functional.one_hot(torch.tensor(PRED), 3).float()


def rain_wet(out, batch):
    return (out[:, 0] >= 0.5) >> (out[:, 1] >= 0.5)


def zero_or_one(out, batch):
    return (out[:, 0] >= 0.5).named("is 0") | (out[:, 1] >= 0.5).named("is 1")


def _report(**kw):
    return ll.report(torch.nn.Identity(), {"rain -> wet": rain_wet, "0 or 1": zero_or_one},
                     [DATA, DATA2], [None, np.array(TRUE)], **kw)


def test_report_card_matches_a_hand_count_on_20_examples():
    rep = _report()
    # hand counts: a = 1 on rows 0-7, b = 1 on even rows
    # implication holds on the 12 rows with a = 0 (vacuously) and on rows 0, 2, 4, 6
    s = rep.summary.set_index("constraint")
    assert s.loc["rain -> wet", "n"] == 20
    assert s.loc["rain -> wet", "satisfied"] == pytest.approx(16 / 20)
    assert s.loc["rain -> wet", "vacuous"] == pytest.approx(12 / 20)
    t = rep.table.set_index(["constraint", "kind"])
    # antecedent false: rows 8-19 (12); only it: also b = 0, the odd rows 9..19 (6)
    assert t.loc[("rain -> wet", "antecedent false"), "rate"] == pytest.approx(12 / 20)
    assert t.loc[("rain -> wet", "antecedent false"), "only"] == pytest.approx(6 / 20)
    # consequent true: the 10 even rows; only it: even rows with a = 1 (0, 2, 4, 6)
    assert t.loc[("rain -> wet", "consequent true"), "rate"] == pytest.approx(10 / 20)
    assert t.loc[("rain -> wet", "consequent true"), "only"] == pytest.approx(4 / 20)
    np.testing.assert_array_equal(rep.per_instance["rain -> wet"],
                                  [(a == 0) or (b == 1) for a, b in zip(A, B)])
    assert np.isnan(s.loc["rain -> wet", "concept_accuracy"])

    # the disjunction: each row is exactly one of the two branches, 10 each
    d = rep.table[rep.table["constraint"] == "0 or 1"].set_index("branch")
    assert d.loc["is 0", "rate"] == d.loc["is 0", "only"] == pytest.approx(0.5)
    assert d.loc["is 1", "rate"] == d.loc["is 1", "only"] == pytest.approx(0.5)
    assert s.loc["0 or 1", "satisfied"] == 1.0 and np.isnan(s.loc["0 or 1", "vacuous"])
    # concepts: 14 of 20 right (rows 0-7 and 10-15)
    assert s.loc["0 or 1", "concept_accuracy"] == pytest.approx(14 / 20)
    # F1 = 2TP / (2TP + FP + FN): value 0: TP 8, FP 2 (rows 8, 9), FN 4 (rows 16-19);
    # value 1: TP 6, FP 4, FN 0; value 2: TP 0 (never predicted) -> F1 0
    assert s.loc["0 or 1", "concept_f1"] == pytest.approx((16 / 22 + 12 / 16 + 0) / 3)
    # collapse: 2 of the 3 values are used
    assert s.loc["0 or 1", "concept_collapse"] == pytest.approx(1 / 3)


def test_report_in_chunks_equals_report_at_once_and_plots():
    full, chunked = _report(), _report(batch_size=7)
    np.testing.assert_allclose(full.table[["rate", "only"]], chunked.table[["rate", "only"]])
    np.testing.assert_allclose(full.summary.iloc[:, 1:].astype(float),
                               chunked.summary.iloc[:, 1:].astype(float))
    fig = full.plot()
    assert len(fig.axes) == 2
    assert len(fig.axes[0].patches) == 2 * len(full.table)


def test_report_concepts_of_several_views_and_n_values():
    # two views, each a pair of digits of 3 values (6 outputs): 4 concepts per instance
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(5, 6, generator=g), torch.randn(5, 6, generator=g)
    pred = torch.cat([x.reshape(5, 2, 3).argmax(-1), y.reshape(5, 2, 3).argmax(-1)], 1)

    def rule(outs, batch):
        return outs[0][:, 0] <= outs[1][:, 0]

    rep = ll.report(torch.nn.Identity(), rule, (x, y), pred.numpy(), n_values=3)
    assert rep.summary["concept_accuracy"].item() == 1.0
    with pytest.raises(ValueError, match=r"expected shape \(5, 4\)"):
        ll.report(torch.nn.Identity(), rule, (x, y), pred.numpy()[:, :3], n_values=3)


def test_report_refuses_concepts_whose_shape_does_not_match_the_atoms():
    with pytest.raises(ValueError, match=r"have shape \(20, 2\).*1 concept\(s\).*pass n_values"):
        ll.report(torch.nn.Identity(), zero_or_one, DATA2,
                  np.zeros((20, 2), dtype=int))
    with pytest.raises(ValueError, match=r"have shape \(19,\)"):
        ll.report(torch.nn.Identity(), zero_or_one, DATA2, np.zeros(19, dtype=int))
    with pytest.raises(TypeError, match="concepts must be integers"):
        ll.report(torch.nn.Identity(), zero_or_one, DATA2, np.zeros(20))
    with pytest.raises(ValueError, match="concept values must lie in 0..2"):
        ll.report(torch.nn.Identity(), zero_or_one, DATA2, np.full(20, 3))
    with pytest.raises(ValueError, match="n_values=2 does not divide"):
        ll.report(torch.nn.Identity(), zero_or_one, DATA2, np.zeros(20, dtype=int),
                  n_values=2)


def test_report_refuses_mismatched_lists_and_bad_arguments():
    with pytest.raises(ValueError, match="data is a list of 1 datasets but there are 2"):
        ll.report(torch.nn.Identity(), [rain_wet, zero_or_one], [DATA])
    with pytest.raises(ValueError, match="concepts is a list of 3 concept arrays"):
        ll.report(torch.nn.Identity(), [rain_wet, zero_or_one], DATA, [None] * 3)
    with pytest.raises(TypeError, match="constraint 'x' must be callable"):
        ll.report(torch.nn.Identity(), {"x": 3}, DATA)
    with pytest.raises(ValueError, match="tol must be a finite number >= 0"):
        ll.report(torch.nn.Identity(), rain_wet, DATA, tol=-1.0)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        ll.report(torch.nn.Identity(), rain_wet, DATA, batch_size=0)
    with pytest.raises(ValueError, match="formula over 3 instances for 20 rows"):
        ll.report(torch.nn.Identity(), lambda out, b: out[:3, 0] >= 0, DATA)


def test_report_restores_training_mode():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.5))
    model.train()
    ll.report(model, rain_wet, DATA)
    assert model.training
