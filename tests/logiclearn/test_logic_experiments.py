"""Quick modes of the three logic experiments write their tables and figures."""

import numpy as np
import pandas as pd
import pytest
import torch

import logiclearn as ll


def _check_outputs(out, stems):
    for stem in stems:
        assert (out / f"{stem}").exists(), stem
    assert (out / "COMMAND").read_text().startswith("python -m experiments run")


def test_rotated_digits_quick_mode_writes_results(tmp_path):
    from experiments import logic_rotated_digits as e

    df = e.main(["--quick", "--out", str(tmp_path), "--methods", "supervised", "dual", "pd",
                 "--pairs", "6:9", "9:6"])
    _check_outputs(tmp_path, ["runs.csv", "summary.csv", "summary.md", "per_seed.md",
                              "branches.png"])
    assert list(df["method"]) == ["supervised", "dual", "pd"] * 2
    assert list(df["pair"]) == ["6:9"] * 3 + ["9:6"] * 3
    assert df[["accuracy", "shortcut", "intended"]].apply(lambda c: c.between(0, 100)).all().all()
    assert "98.43" in (tmp_path / "summary.md").read_text()


def test_rotated_digits_refuses_a_pair_that_is_not_two_different_digits(tmp_path):
    from experiments import logic_rotated_digits as e

    for bad in (["--pairs", "6:6"], ["--pairs", "6-9"], ["--pairs", "12:9"]):
        with pytest.raises(SystemExit):
            e.main(["--quick", "--out", str(tmp_path), *bad])
    with pytest.raises(ValueError, match="--hidden and --twin go together"):
        e.main(["--quick", "--out", str(tmp_path), "--hidden", "6"])


@pytest.mark.parametrize("hidden, twin", [(6, 9), (9, 6)])
def test_rotated_digits_check_formula_branches_match_argmax_margins(hidden, twin):
    from experiments import logic_rotated_digits as e

    def onehot(k):
        v = [0.0] * 10
        if k is not None:
            v[k] = 5.0
        return v

    other = next(j for j in range(10) if j not in (hidden, twin))
    logits_r = torch.tensor([onehot(twin), onehot(other)])  # R(x) is twin / another digit
    logits_x = torch.tensor([onehot(hidden), onehot(None)])  # x is hidden / uniform
    s = ll.satisfaction(e.check_formula(logits_x, logits_r, hidden=hidden, twin=twin), tol=e.TOL)
    np.testing.assert_array_equal(s.per_instance, [True, True])
    assert s.branch_rate("R(x) is not twin") == 0.5 and s.branch_rate("x is hidden") == 0.5
    # the training constraint holds (cost 0) exactly where a one-hot branch holds
    probs = lambda ks: torch.nn.functional.one_hot(torch.tensor(ks), 10).float()  # noqa: E731
    f = e.make_constraint(hidden, twin)((ll.term(probs([hidden, 0]).log().clamp(min=-50)),
                                         ll.term(probs([twin, twin]).log().clamp(min=-50))))
    assert f.holds(tol=1e-6).tolist() == [True, False]


def test_shortest_distance_true_distances_satisfy_the_constraint():
    from scipy.sparse.csgraph import shortest_path

    from experiments import logic_shortest_distance as e

    A, D = e.random_graphs(8, np.random.default_rng(0))
    V = e.swap_views(A)
    Dk = [np.stack([shortest_path(a, directed=False, indices=0) for a in V[k]])
          for k in range(e.N_NODES - 1)]
    outs = [ll.term(torch.tensor(D))] + [ll.term(torch.tensor(x)) for x in Dk]
    assert ll.satisfaction(e.constraint(outs), tol=1e-9).rate == 1.0
    outs[3] = ll.term(torch.tensor(Dk[2] + 5.0))  # distances from node 3 shifted: violated
    assert ll.satisfaction(e.constraint(outs), tol=1e-9).rate == 0.0


def test_shortest_distance_quick_mode_writes_results(tmp_path):
    from experiments import logic_shortest_distance as e

    df = e.main(["--quick", "--out", str(tmp_path), "--methods", "supervised", "dual"])
    _check_outputs(tmp_path, ["runs.csv", "summary.md", "mse_satisfaction.png"])
    assert np.isfinite(df["mse"]).all() and (df["mse"] > 0).all()


def test_superclass_quick_mode_writes_results(tmp_path):
    from experiments import logic_superclass as e

    df = e.main(["--quick", "--out", str(tmp_path), "--methods", "dual", "semantic"])
    _check_outputs(tmp_path, ["runs.csv", "summary.md", "accuracy_satisfaction.png"])
    assert set(pd.read_csv(tmp_path / "runs.csv")["method"]) == {"dual", "semantic"}
    assert (df["superclass_accuracy"] >= df["accuracy"]).all()


@pytest.mark.parametrize("probs, ok", [([0.5, 0, 0, 0, 0.5, 0, 0, 0, 0, 0], False),
                                       ([0.3, 0, 0, 0, 0, 0, 0, 0, 0.7, 0], True)])
def test_superclass_constraint_truth(probs, ok):
    from experiments import logic_superclass as e

    logits = torch.log(torch.tensor([probs]) + 1e-9)
    assert ll.satisfaction(e.constraint(ll.term(logits)), tol=e.TOL).rate == float(ok)


def test_shortcut_diagnosis_quick_mode_writes_its_table(tmp_path):
    from experiments import logic_shortcut_diagnosis as e

    df = e.main(["--quick", "--out", str(tmp_path)])
    _check_outputs(tmp_path, ["runs.csv", "diagnosis.md", "diagnosis.csv"])
    assert len(df) == 2 and df["intended"].between(0, 100).all()
    trace = e.run(0, e.rd.load(0), 2, trace=True)["trace"]
    assert len(trace) == 2 and all(0 <= w <= 1 for _, _, w in trace)
