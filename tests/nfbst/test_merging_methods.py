"""Merging methods against hand-computed results, Monte-Carlo truths and closed forms."""

import copy
import math

import numpy as np
import pytest
import torch

from nfbst.merging import (
    bayesian_merge,
    dare_merging,
    diagonal_fisher,
    fisher_merging,
    lore_merging,
    task_arithmetic,
    ties_merging,
    trim_top_k,
)

# ---------------------------------------------------------------- TIES (hand computed)
TAUS = torch.tensor([
    [1.0, -2.0, 0.5, 0.1],
    [2.0, 1.0, -0.2, 0.6],
    [-4.0, 3.0, 0.3, -0.05],
])
BASE4 = torch.ones(4)


def test_ties_trim_sign_by_mass_and_disjoint_mean_on_3x4_example():
    experts = [{"w": BASE4 + t} for t in TAUS]
    merged = ties_merging({"w": BASE4}, experts, density=0.75, scaling=0.5)
    # trim (keep 3 of 4): [1,-2,.5,0], [2,1,0,.6], [-4,3,.3,0]
    # mass [-1, 2, .8, .6] -> signs [-,+,+,+]; column 0 elects "-" although 2 of 3 are "+"
    # disjoint mean: [-4, (-2 dropped) (1+3)/2, (.5+.3)/2, .6]
    expected = BASE4 + 0.5 * torch.tensor([-4.0, 2.0, 0.4, 0.6])
    torch.testing.assert_close(merged["w"], expected)


def test_ties_trim_keeps_round_density_times_size_largest_magnitudes():
    t = torch.tensor([0.3, -5.0, 0.0, 2.0, -1.0])
    torch.testing.assert_close(trim_top_k(t, 0.4), torch.tensor([0.0, -5.0, 0.0, 2.0, 0.0]))
    torch.testing.assert_close(trim_top_k(t, 0.0), torch.zeros(5))
    torch.testing.assert_close(trim_top_k(t, 1.0), t)


def test_ties_global_trim_ranks_magnitudes_across_parameters():
    base = {"a": torch.zeros(2), "b": torch.zeros(2)}
    ex = [{"a": torch.tensor([5.0, 0.1]), "b": torch.tensor([0.2, 3.0])}]
    per_tensor = ties_merging(base, ex, density=0.5, trim_scope="tensor")
    overall = ties_merging(base, ex, density=0.5, trim_scope="global")
    torch.testing.assert_close(per_tensor["a"], torch.tensor([5.0, 0.0]))
    torch.testing.assert_close(per_tensor["b"], torch.tensor([0.0, 3.0]))
    torch.testing.assert_close(overall["a"], torch.tensor([5.0, 0.0]))
    torch.testing.assert_close(overall["b"], torch.tensor([0.0, 3.0]))
    ex2 = [{"a": torch.tensor([5.0, 4.0]), "b": torch.tensor([0.2, 0.1])}]
    overall2 = ties_merging(base, ex2, density=0.5, trim_scope="global")
    torch.testing.assert_close(overall2["b"], torch.zeros(2))  # both top-2 live in "a"


def test_ties_zero_mass_gives_zero_update():
    base = {"w": torch.zeros(1)}
    ex = [{"w": torch.tensor([1.0])}, {"w": torch.tensor([-1.0])}]
    assert ties_merging(base, ex, density=1.0)["w"].item() == 0.0


# -------------------------------------------------------------------- Task Arithmetic
def test_task_arithmetic_per_expert_scaling_and_exclude_pattern():
    base = {"l.weight": torch.zeros(2, 2), "l.bias": torch.ones(2)}
    ex = [
        {"l.weight": torch.eye(2), "l.bias": torch.full((2,), 3.0)},
        {"l.weight": 2 * torch.ones(2, 2), "l.bias": torch.zeros(2)},
    ]
    out = task_arithmetic(base, ex, scaling=[1.0, -0.5])
    torch.testing.assert_close(out["l.weight"], torch.eye(2) - torch.ones(2, 2))
    torch.testing.assert_close(out["l.bias"], torch.full((2,), 1 + 2 + 0.5))
    out = task_arithmetic(base, ex, scaling=0.5, exclude="*.bias")
    torch.testing.assert_close(out["l.bias"], base["l.bias"])
    out = task_arithmetic(base, ex, scaling=0.5, include="*.bias")
    torch.testing.assert_close(out["l.weight"], base["l.weight"])


# ------------------------------------------------------------------------------- DARE
def test_dare_expectation_over_seeds_equals_task_vector_merge():
    g = torch.Generator().manual_seed(1)
    base = {"w": torch.randn(30, generator=g)}
    ex = [{"w": base["w"] + torch.randn(30, generator=g)} for _ in range(2)]
    p, n_seeds = 0.6, 1500
    target = task_arithmetic(base, ex, scaling=0.5)["w"]
    draws = torch.stack([
        dare_merging(base, ex, drop_rate=p, scaling=0.5, random_state=s)["w"]
        for s in range(n_seeds)
    ])
    # each entry: sum of two independent 0.5 * tau * Bernoulli(1-p)/(1-p)
    tau = torch.stack([e["w"] - base["w"] for e in ex])
    sd = 0.5 * torch.sqrt((tau**2).sum(0) * p / (1 - p) / n_seeds)
    z = (draws.mean(0) - target) / sd
    assert float(z.abs().max()) < 4.5
    kept = (draws[:, None] != base["w"]).float()  # rough check of the drop fraction
    assert 0.0 < float(kept.mean()) < 1.0


def test_dare_survivors_are_rescaled_and_seed_reproducible():
    base = {"w": torch.zeros(4000)}
    ex = [{"w": torch.full((4000,), 2.0)}]
    a = dare_merging(base, ex, drop_rate=0.25, scaling=1.0, random_state=7)["w"]
    b = dare_merging(base, ex, drop_rate=0.25, scaling=1.0, random_state=7)["w"]
    c = dare_merging(base, ex, drop_rate=0.25, scaling=1.0, random_state=8)["w"]
    assert torch.equal(a, b) and not torch.equal(a, c)
    torch.testing.assert_close(a.unique(), torch.tensor([0.0, 2.0 / 0.75]))
    frac = float((a == 0).float().mean())
    assert abs(frac - 0.25) < 4 * math.sqrt(0.25 * 0.75 / 4000)


def test_dare_ties_combines_dropped_vectors_by_sign_election():
    base = {"w": torch.zeros(3)}
    ex = [{"w": torch.tensor([1.0, -1.0, 2.0])}, {"w": torch.tensor([3.0, 1.0, -4.0])}]
    out = dare_merging(base, ex, drop_rate=0.0, combine="ties")
    torch.testing.assert_close(out["w"], ties_merging(base, ex, density=1.0)["w"])


# ------------------------------------------------------------------------------- LoRE
def _low_rank_experts(rank=2, T=3, m=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(m, m, generator=g)
    experts, blk = [], m // T
    for t in range(T):  # task vectors of rank `rank` on disjoint row/column blocks
        U = torch.zeros(m, rank)
        V = torch.zeros(m, rank)
        U[t * blk:(t + 1) * blk] = torch.randn(blk, rank, generator=g)
        V[t * blk:(t + 1) * blk] = torch.randn(blk, rank, generator=g)
        experts.append({"w": base + U @ V.T})
    return base, experts


@pytest.mark.parametrize("mu", [0.05, 0.5])
def test_lore_objective_is_non_increasing_and_deltas_have_task_rank(mu):
    base, experts = _low_rank_experts(rank=2)
    _, info = lore_merging(experts, mu=mu, n_iter=400, tol=1e-12, return_info=True)
    obj = np.asarray(info.objective)
    assert np.all(np.diff(obj) <= 1e-9 * obj[0])
    assert obj[-1] < 0.5 * obj[0]
    assert [r["w"] for r in info.ranks()] == [2, 2, 2]
    rel = float((info.base["w"] - base).norm() / base.norm())
    assert rel < 0.05 * (1 + mu)  # the base is recovered up to a bias of order mu


def test_lore_large_mu_gives_zero_deltas_and_plain_average():
    _, experts = _low_rank_experts(rank=1)
    merged, info = lore_merging(experts, mu=1e6, n_iter=3, return_info=True)
    assert [r["w"] for r in info.ranks()] == [0, 0, 0]
    mean = sum(e["w"] for e in experts) / 3
    torch.testing.assert_close(merged["w"], mean)


def test_lore_mean_combine_reproduces_plain_average():
    _, experts = _low_rank_experts(rank=2)
    merged = lore_merging(experts, mu=0.3, n_iter=50, combine="mean")
    torch.testing.assert_close(merged["w"], sum(e["w"] for e in experts) / 3)


# ----------------------------------------------------------------------------- Fisher
def test_diagonal_fisher_of_linear_regression_matches_closed_form():
    g = torch.Generator().manual_seed(0)
    lin = torch.nn.Linear(3, 1)
    X = torch.randn(50, 3, generator=g)
    y = torch.randn(50, generator=g)
    sigma = 0.5
    F = diagonal_fisher(lin, X, noise_scale=sigma)
    torch.testing.assert_close(F["weight"][0], (X**2).mean(0) / sigma**2)
    torch.testing.assert_close(F["bias"], torch.tensor([1 / sigma**2]))
    Fe = diagonal_fisher(lin, X, y, noise_scale=sigma)
    with torch.no_grad():
        r = y - lin(X)[:, 0]
    torch.testing.assert_close(Fe["weight"][0], ((r[:, None] * X) ** 2).mean(0) / sigma**4)


def test_diagonal_fisher_classification_matches_per_example_autograd():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 3))
    X = torch.randn(7, 2)
    F = diagonal_fisher(net, X, task="classification", batch_size=3)
    ref = {k: torch.zeros_like(v) for k, v in net.named_parameters()}
    for x in X:
        logp = torch.log_softmax(net(x[None])[0], -1)
        p = logp.exp().detach()
        for c in range(3):
            grads = torch.autograd.grad(logp[c], list(net.parameters()), retain_graph=True)
            for (k, _), gk in zip(net.named_parameters(), grads):
                ref[k] += p[c] * gk**2 / len(X)
    for k in ref:
        torch.testing.assert_close(F[k], ref[k], rtol=1e-4, atol=1e-6)


def test_fisher_merging_is_fisher_weighted_average():
    ex = [{"w": torch.tensor([0.0, 1.0, 2.0])}, {"w": torch.tensor([3.0, 5.0, 2.0])}]
    F = [{"w": torch.tensor([1.0, 0.0, 1.0])}, {"w": torch.tensor([2.0, 0.0, 3.0])}]
    out = fisher_merging(ex, F, weights=[1.0, 0.5], min_fisher=0.0)["w"]
    # entry 0: (1*1*0 + .5*2*3) / (1 + 1) = 1.5; entry 1: no information -> weighted mean
    torch.testing.assert_close(out, torch.tensor([1.5, (1.0 + 2.5) / 1.5, 2.0]))


# --------------------------------------------------------------------------- Bayesian
def test_bayesian_merge_matches_numerical_product_of_densities_over_prior():
    m = [torch.tensor([0.4]), torch.tensor([1.5]), torch.tensor([-0.2])]
    s = [torch.tensor([0.3]), torch.tensor([0.6]), torch.tensor([0.45])]
    m0, s0 = 0.1, 1.2
    mean, std = bayesian_merge([{"w": v} for v in m], [{"w": v} for v in s], m0, s0)
    grid = np.linspace(-4, 4, 200001)

    def logn(x, mu, sd):
        return -0.5 * ((x - mu) / sd) ** 2 - np.log(sd)

    logp = sum(logn(grid, float(a), float(b)) for a, b in zip(m, s)) - 2 * logn(grid, m0, s0)
    w = np.exp(logp - logp.max())
    w /= w.sum()
    mu_num = float((w * grid).sum())
    sd_num = float(np.sqrt((w * (grid - mu_num) ** 2).sum()))
    assert mean["w"].item() == pytest.approx(mu_num, abs=1e-5)
    assert std["w"].item() == pytest.approx(sd_num, abs=1e-5)


def test_bayesian_merge_precision_floor_warns():
    with pytest.warns(RuntimeWarning, match="precision"):
        _, std = bayesian_merge(
            [{"w": torch.zeros(1)}, {"w": torch.zeros(1)}],
            [{"w": torch.tensor([2.0])}, {"w": torch.tensor([2.0])}],
            prior_mean=0.0, prior_std=0.5,
        )
    assert std["w"].item() == pytest.approx(2.0)


# ----------------------------------------------------------- properties of every method
def _state(seed, shapes=(("0.weight", (3, 2)), ("0.bias", (3,)))):
    g = torch.Generator().manual_seed(seed)
    return {k: torch.randn(*s, generator=g) for k, s in shapes}


def _all_methods(base, experts):
    T = len(experts)
    stds = [{k: torch.full_like(v, 0.3) for k, v in e.items()} for e in experts]
    fishers = [{k: torch.rand_like(v) + 0.1 for k, v in e.items()} for e in experts]
    return {
        "ta": lambda: task_arithmetic(base, experts, scaling=1.0 / T),
        "ties": lambda: ties_merging(base, experts, density=1.0, scaling=1.0),
        "dare": lambda: dare_merging(base, experts, drop_rate=0.0, scaling=1.0 / T,
                                     random_state=0),
        "dare_ties": lambda: dare_merging(base, experts, drop_rate=0.0, combine="ties",
                                          random_state=0),
        "lore": lambda: lore_merging(experts, mu=0.1, n_iter=5),
        "fisher": lambda: fisher_merging(experts, fishers),
        "bayes": lambda: bayesian_merge(experts, stds, prior_mean=0.0, prior_std=1.0,
                                        weights=[1.0 / T] * T)[0],
    }


@pytest.mark.parametrize("method", ["ta", "ties", "dare", "dare_ties", "lore", "fisher", "bayes"])
def test_merging_identical_experts_returns_the_expert(method):
    base, expert = _state(0), _state(1)
    experts = [copy.deepcopy(expert) for _ in range(3)]
    out = _all_methods(base, experts)[method]()
    assert list(out) == list(expert)
    for k in expert:
        torch.testing.assert_close(out[k], expert[k], rtol=1e-5, atol=1e-6)


def test_bayesian_merge_of_identical_experts_under_their_own_mean_prior_keeps_the_mean():
    e = _state(3)
    s = {k: torch.full_like(v, 0.2) for k, v in e.items()}
    mean, std = bayesian_merge([e, e], [s, s], prior_mean=e, prior_std=1.0)
    for k in e:
        torch.testing.assert_close(mean[k], e[k])
        torch.testing.assert_close(std[k], torch.full_like(e[k], (2 / 0.04 - 1) ** -0.5))


@pytest.mark.parametrize("method", ["ta", "ties", "dare", "dare_ties", "lore", "fisher", "bayes"])
def test_merging_does_not_modify_inputs_or_share_storage(method):
    base = _state(0)
    experts = [_state(1), _state(2), _state(3)]
    before = copy.deepcopy((base, experts))
    out = _all_methods(base, experts)[method]()
    for k in out:
        out[k].add_(100.0)
    for k in base:
        assert torch.equal(base[k], before[0][k])
        for e, eb in zip(experts, before[1]):
            assert torch.equal(e[k], eb[k])


@pytest.mark.parametrize("method", ["ta", "ties", "dare", "dare_ties", "lore", "fisher", "bayes"])
def test_mismatched_shape_raises_naming_the_parameter(method):
    base = _state(0)
    bad = _state(2)
    bad["0.bias"] = torch.zeros(4)
    experts = [_state(1), bad]
    with pytest.raises(ValueError, match=r"'0\.bias'.*\(4,\)"):
        _all_methods(base, experts)[method]()


@pytest.mark.parametrize("method", ["ta", "ties", "dare", "lore", "fisher", "bayes"])
def test_missing_key_raises_naming_the_parameter(method):
    base = _state(0)
    bad = _state(2)
    del bad["0.weight"]
    with pytest.raises(ValueError, match=r"0\.weight"):
        _all_methods(base, [_state(1), bad])[method]()


def test_invalid_arguments_are_refused_with_their_name():
    base, ex = _state(0), [_state(1)]
    with pytest.raises(ValueError, match="density"):
        ties_merging(base, ex, density=1.5)
    with pytest.raises(ValueError, match="drop_rate"):
        dare_merging(base, ex, drop_rate=1.0)
    with pytest.raises(ValueError, match="combine"):
        dare_merging(base, ex, combine="mean")
    with pytest.raises(ValueError, match="mu"):
        lore_merging(ex, mu=-1.0)
    with pytest.raises(TypeError, match="experts"):
        task_arithmetic(base, ex[0])
    with pytest.raises(ValueError, match="include"):
        task_arithmetic(base, ex, include="nothing.*")
    nan = _state(1)
    nan["0.bias"][0] = float("nan")
    with pytest.raises(ValueError, match=r"experts\[0\]\['0\.bias'\].*NaN"):
        task_arithmetic(base, [nan])
    with pytest.raises(TypeError, match="experts\\[0\\]\\['0.weight'\\]"):
        task_arithmetic(base, [{"0.weight": np.zeros((3, 2)), "0.bias": torch.zeros(3)}])


def test_fisher_merging_normalize_makes_it_invariant_to_fisher_scale():
    g = torch.Generator().manual_seed(5)
    ex = [{"w": torch.randn(4, generator=g)} for _ in range(2)]
    F = [{"w": torch.rand(4, generator=g) + 0.1} for _ in range(2)]
    scaled = [{"w": 1000.0 * F[0]["w"]}, F[1]]
    a = fisher_merging(ex, F, normalize=True, min_fisher=0.0)["w"]
    b = fisher_merging(ex, scaled, normalize=True, min_fisher=0.0)["w"]
    c = fisher_merging(ex, scaled, normalize=False, min_fisher=0.0)["w"]
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)


def test_empirical_classification_fisher_uses_the_observed_labels():
    torch.manual_seed(1)
    net = torch.nn.Linear(2, 3)
    X = torch.randn(6, 2)
    y = torch.tensor([0, 2, 1, 1, 0, 2])
    F = diagonal_fisher(net, X, y, task="classification")
    ref = {k: torch.zeros_like(v) for k, v in net.named_parameters()}
    for x, c in zip(X, y):
        logp = torch.log_softmax(net(x[None])[0], -1)[c]
        grads = torch.autograd.grad(logp, list(net.parameters()))
        for (k, _), gk in zip(net.named_parameters(), grads):
            ref[k] += gk**2 / len(X)
    for k in ref:
        torch.testing.assert_close(F[k], ref[k], rtol=1e-5, atol=1e-7)
