"""Test-time enforcement against brute force: enumeration in Python, and scipy's QP solver."""

import itertools
import math

import numpy as np
import pytest
import torch

import logiclearn as ll

K = 4  # values per output


def rule(out, batch):
    """outputs 0 and 1 differ, output 2 is at least 2 (three outputs of K values, one view)."""
    p = out.reshape(-1, 3, K).softmax(-1)
    return ll.all_of(p[:, 0] + p[:, 1] <= 1.0) & (p[:, 2, 2] + p[:, 2, 3] >= 1.0)


def holds(a, b, c):
    return a != b and c >= 2


def brute_force(logits, allowed=None):
    """Best satisfying assignment per row by enumerating in Python (allowed: values per output)."""
    logp = torch.log_softmax(logits.reshape(-1, 3, K).double(), -1)
    best = []
    for row in logp:
        choices = allowed(row) if allowed else [range(K)] * 3
        scored = [(sum(float(row[j, v]) for j, v in enumerate(combo)), combo)
                  for combo in itertools.product(*choices) if holds(*combo)]
        best.append(max(scored)[1] if scored else None)
    return best


def test_exact_enforcement_equals_brute_force_enumeration():
    g = torch.Generator().manual_seed(0)
    logits = 2 * torch.randn(40, 3 * K, generator=g)
    res = ll.most_probable_satisfying(logits, rule, n_values=K)
    assert res.exact and res.n_assignments == K ** 3 and res.satisfied.all()
    assert [tuple(a) for a in res.assignment.tolist()] == brute_force(logits)
    # every enforced assignment satisfies the rule; the unconstrained argmax often does not
    assert all(holds(*a) for a in res.assignment.tolist())
    argmax = logits.reshape(-1, 3, K).argmax(-1).tolist()
    assert not all(holds(*a) for a in argmax)
    # where the argmax satisfies the rule, enforcing keeps it
    for a, e in zip(argmax, res.assignment.tolist()):
        if holds(*a):
            assert a == e
    # small chunks give the same answer
    res2 = ll.most_probable_satisfying(logits, rule, n_values=K, chunk_rows=7)
    assert torch.equal(res.assignment, res2.assignment)


def test_approximate_enforcement_is_exact_over_the_top_r_values():
    g = torch.Generator().manual_seed(1)
    logits = 2 * torch.randn(30, 3 * K, generator=g)
    with pytest.raises(ValueError, match=r"64 here \(3 categorical outputs with \[4\] values\), "
                                         r"more than max_assignments=8.*exact=False"):
        ll.most_probable_satisfying(logits, rule, n_values=K, max_assignments=8)
    res = ll.most_probable_satisfying(logits, rule, n_values=K, max_assignments=8, exact=False)
    assert not res.exact and res.n_assignments == 8  # r = 2 values per output

    def top2(row):
        return [row[j].topk(2).indices.tolist() for j in range(3)]

    expected = brute_force(logits, top2)
    for got, exp, sat, lg in zip(res.assignment.tolist(), expected, res.satisfied.tolist(),
                                 logits.reshape(-1, 3, K)):
        if exp is None:  # nothing satisfies among the top 2: the argmax, flagged
            assert not sat and got == lg.argmax(-1).tolist()
        else:
            assert sat and tuple(got) == exp


def test_enforcement_over_two_views_reads_the_batch():
    # two views of one digit (values 0..2) each; the batch's ids look up the required sum
    sums = torch.tensor([0, 1, 2, 3, 4, 2])

    def add(outs, batch):
        pa, pb = (o.softmax(-1) for o in outs)
        j = sums[batch[-1]][:, None] - torch.arange(3)  # b's value paired with a's value i
        pb_j = pb.gather(1, j.clamp(0, 2)) * ((j >= 0) & (j <= 2))
        return ll.any_of(ll.all_of(pa[:, i] == 1.0, pb_j[:, i] == 1.0) for i in range(3))

    g = torch.Generator().manual_seed(2)
    a, b = torch.randn(6, 3, generator=g), torch.randn(6, 3, generator=g)
    res = ll.most_probable_satisfying((a, b), add, (a, b, torch.arange(6)))
    la, lb = torch.log_softmax(a, -1), torch.log_softmax(b, -1)
    for r in range(6):
        best = max((float(la[r, i] + lb[r, j]), (i, j)) for i in range(3) for j in range(3)
                   if i + j == int(sums[r]))[1]
        assert tuple(res.assignment[r].tolist()) == best


def test_enforcement_refuses_bad_arguments():
    x = torch.zeros(2, 6)
    with pytest.raises(ValueError, match="n_values=4 does not divide the width 6"):
        ll.most_probable_satisfying(x, rule, n_values=4)
    with pytest.raises(TypeError, match="constraint must be callable"):
        ll.most_probable_satisfying(x, 3)
    with pytest.raises(ValueError, match="max_assignments must be an integer >= 1"):
        ll.most_probable_satisfying(x, rule, max_assignments=0)
    with pytest.raises(ValueError, match="one truth value per instance"):
        ll.most_probable_satisfying(x, lambda o, b: ll.forall(o[:, 0] <= 0))


def test_project_linear_matches_scipy_qp():
    from scipy.optimize import minimize

    rng = np.random.default_rng(0)
    A_eq, b_eq = np.array([[1.0, 1.0, 1.0]]), np.array([1.0])
    x0 = np.array([0.2, 0.3, 0.5])  # a feasible point
    A = rng.normal(size=(4, 3))
    b = A @ x0 + rng.uniform(0.1, 1.0, size=4)
    y = rng.normal(size=(15, 3)) * 2
    z = ll.project_linear(torch.tensor(y), A, b, A_eq, b_eq).numpy()
    for yi, zi in zip(y, z):
        ref = minimize(lambda v, yi=yi: ((v - yi) ** 2).sum(), yi, method="SLSQP",
                       jac=lambda v, yi=yi: 2 * (v - yi),
                       constraints=[{"type": "ineq", "fun": lambda v: b - A @ v,
                                     "jac": lambda v: -A},
                                    {"type": "eq", "fun": lambda v: A_eq @ v - b_eq,
                                     "jac": lambda v: A_eq}],
                       options={"ftol": 1e-14, "maxiter": 500})
        assert ref.success
        np.testing.assert_allclose(zi, ref.x, atol=1e-6)
        assert (A @ zi <= b + 1e-8).all() and abs(A_eq @ zi - b_eq).max() < 1e-8


def test_project_linear_by_hand_and_bad_input():
    z = ll.project_linear(torch.tensor([[3.0, -1.0]]), A=[[1.0, 0.0], [0.0, -1.0]],
                          b=[1.0, 0.0])  # x <= 1, y >= 0: the box corner
    assert z.tolist() == [[1.0, 0.0]]
    with pytest.warns(RuntimeWarning, match="feasible set empty"):
        ll.project_linear(torch.zeros(1, 1), A=[[1.0], [-1.0]], b=[-1.0, -1.0], max_iter=50)
    with pytest.raises(ValueError, match="A and its right-hand side go together"):
        ll.project_linear(torch.zeros(1, 2), A=[[1.0, 0.0]])
    with pytest.raises(ValueError, match=r"A must have shape \(m, 2\)"):
        ll.project_linear(torch.zeros(1, 2), A=[[1.0]], b=[0.0])
    assert math.isclose(float(ll.project_linear(torch.ones(1, 2), A_eq=[[1.0, -1.0]],
                                                b_eq=[2.0])[0, 0]), 2.0)


def test_classifier_predict_enforce_equals_brute_force_over_two_views():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = np.array(["a", "b", "c"])[rng.integers(0, 3, 60)]

    def same_class(outs, batch):  # both views get the same class
        p, q = (o.softmax(-1) for o in outs)
        return ll.any_of(ll.all_of(p[:, k] == 1.0, q[:, k] == 1.0) for k in range(3))

    clf = ll.ConstrainedClassifier(torch.nn.Linear(3, 3), same_class, epochs=2,
                                   random_state=0)
    clf.fit(X, y, X_unlabeled=(X[:20], X[20:40]))
    A, B = X[:15], X[15:30]
    got = clf.predict((A, B), enforce=True)
    la, lb = np.log(clf.predict_proba(A)), np.log(clf.predict_proba(B))
    expected = clf.classes_[(la + lb).argmax(1)]  # the best class common to both views
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(clf.predict(A, enforce=False), clf.classes_[la.argmax(1)])
    with pytest.raises(ValueError, match=r"9 here .* max_assignments=4"):
        clf.predict((A, B), enforce=True, max_assignments=4)
    with pytest.raises(TypeError, match="only predict\\(..., enforce=True\\) takes"):
        clf.predict((A, B))
    plain = ll.ConstrainedClassifier(torch.nn.Linear(3, 3), epochs=1, random_state=0)
    with pytest.raises(ValueError, match="needs a constraint"):
        plain.fit(X, y).predict(A, enforce=True)
