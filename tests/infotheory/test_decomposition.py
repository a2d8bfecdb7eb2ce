"""Co-information and PID against closed forms and the published values of textbook gates."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from scipy.optimize import minimize

from infotheory.decomposition import (
    PIDResult,
    co_information,
    co_information_pmf,
    conditional_mutual_information_pmf,
    empirical_pmf,
    entropy_pmf,
    mutual_information_pmf,
    partial_information_decomposition,
    pid_pmf,
)

LN2 = np.log(2)


def gate(fn, n_out):
    """Table p[a, v, t] of t = fn(a, v) for independent uniform bits a, v."""
    p = np.zeros((2, 2, n_out))
    for a in range(2):
        for v in range(2):
            p[a, v, fn(a, v)] = 0.25
    return p


XOR = gate(lambda a, v: a ^ v, 2)
AND = gate(lambda a, v: a & v, 2)
COPY2 = gate(lambda a, v: 2 * a + v, 4)        # T = (A, V)
COPY_A = gate(lambda a, v: a, 2)               # T = A
SUM = gate(lambda a, v: a + v, 3)
RDN = np.zeros((2, 2, 2))
RDN[0, 0, 0] = RDN[1, 1, 1] = 0.5              # A = V = T


def atoms(r):
    return np.array([r.redundancy, r.unique_a, r.unique_v, r.synergy])


def h2(p):
    return -(p * np.log2(p) + (1 - p) * np.log2(1 - p))


# ---------------------------------------------------------------- tables: closed forms
def test_entropy_and_mi_of_tables_match_closed_forms():
    assert entropy_pmf(np.full(8, 1 / 8), base=2) == pytest.approx(3.0)
    rho = 0.2   # binary symmetric channel with crossover 0.2, uniform input
    p = np.array([[0.5 * (1 - rho), 0.5 * rho], [0.5 * rho, 0.5 * (1 - rho)]])
    assert mutual_information_pmf(p, base=2) == pytest.approx(1 - h2(rho))
    assert conditional_mutual_information_pmf(XOR, base=2) == pytest.approx(1.0)


@pytest.mark.parametrize("p1,p2", [(0.1, 0.1), (0.05, 0.3), (0.25, 0.4)])
def test_co_information_of_two_noisy_copies_equals_one_minus_h_of_cascade(p1, p2):
    # Y, Z = X through independent BSCs: I(Y;Z|X) = 0, so I(X;Y;Z) = I(Y;Z) = 1 - h(q)
    p = np.zeros((2, 2, 2))
    for x in range(2):
        for y in range(2):
            for z in range(2):
                p[x, y, z] = 0.5 * (p1 if y != x else 1 - p1) * (p2 if z != x else 1 - p2)
    q = p1 * (1 - p2) + p2 * (1 - p1)
    assert co_information_pmf(p, base=2) == pytest.approx(1 - h2(q), abs=1e-12)


def test_co_information_of_tables_xor_copy_and_independence():
    assert co_information_pmf(XOR, base=2) == pytest.approx(-1.0)
    assert co_information_pmf(RDN, base=2) == pytest.approx(1.0)
    k = 3
    triple = np.zeros((k, k, k))
    for i in range(k):
        triple[i, i, i] = 1 / k
    assert co_information_pmf(triple) == pytest.approx(np.log(k))
    assert co_information_pmf(np.full((2, 3, 4), 1 / 24)) == pytest.approx(0.0, abs=1e-12)


def test_co_information_is_symmetric_in_its_arguments():
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.ones(24)).reshape(2, 3, 4)
    ref = co_information_pmf(p)
    for perm in [(1, 0, 2), (2, 1, 0), (0, 2, 1), (1, 2, 0)]:
        assert co_information_pmf(p.transpose(perm)) == pytest.approx(ref, abs=1e-12)


# ---------------------------------------------------------------- samples
def test_co_information_from_samples_recovers_xor_and_redundant_copies():
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 2, 20000), rng.integers(0, 2, 20000)
    assert co_information(x, y, x ^ y, base=2) == pytest.approx(-1.0, abs=0.005)
    assert co_information(x, x, x, method="miller_madow") == pytest.approx(LN2, abs=0.005)
    assert co_information(x, y, rng.integers(0, 2, 20000)) == pytest.approx(0.0, abs=0.005)


def test_co_information_of_string_labels_equals_integer_labels():
    rng = np.random.default_rng(1)
    x, y, z = rng.integers(0, 3, (3, 500))
    s = np.array(["a", "b", "c"])
    assert co_information(s[x], s[y], s[z]) == pytest.approx(co_information(x, y, z))


def test_co_information_refuses_bad_input():
    with pytest.raises(ValueError, match="same number of samples"):
        co_information([0, 1], [0, 1, 1], [0, 0])
    with pytest.raises(ValueError, match="method"):
        co_information([0, 1], [0, 1], [0, 1], method="ksg-typo")
    with pytest.raises(ValueError, match="NaN"):
        co_information([0.0, np.nan], [0, 1], [0, 1])


def test_empirical_pmf_is_the_frequency_table():
    p = empirical_pmf(["a", "a", "b", "b"], [0, 1, 1, 1])
    np.testing.assert_allclose(p, [[0.25, 0.25], [0.0, 0.5]])


# ---------------------------------------------------------------- PID gates
@pytest.mark.parametrize("measure", ["imin", "broja", "mmi"])
def test_pid_of_xor_is_one_bit_of_pure_synergy(measure):
    np.testing.assert_allclose(atoms(pid_pmf(XOR, measure, base=2)), [0, 0, 0, 1], atol=1e-9)


@pytest.mark.parametrize("measure", ["imin", "broja"])
def test_pid_of_and_gate_has_published_redundancy_0311_and_synergy_05(measure):
    # Williams & Beer 2010 (I_min) and Bertschinger et al. 2014 (BROJA): R = 0.311, S = 0.5
    r = pid_pmf(AND, measure, base=2)
    np.testing.assert_allclose(atoms(r), [0.311278, 0, 0, 0.5], atol=1e-6)
    assert r.mi_av == pytest.approx(0.811278, abs=1e-6)


@pytest.mark.parametrize("measure", ["imin", "broja", "mmi"])
def test_pid_of_copying_one_source_is_pure_unique_information(measure):
    np.testing.assert_allclose(atoms(pid_pmf(COPY_A, measure, base=2)), [0, 1, 0, 0], atol=1e-9)


def test_pid_of_two_bit_copy_is_pure_unique_for_broja_but_redundant_synergy_for_imin():
    # Bertschinger et al. 2014 (identity property): U_A = U_V = 1 bit; Harder, Salge & Polani
    # 2013 point out that I_min assigns R = 1 bit and S = 1 bit to the same gate.
    np.testing.assert_allclose(atoms(pid_pmf(COPY2, "broja", base=2)), [0, 1, 1, 0], atol=1e-9)
    np.testing.assert_allclose(atoms(pid_pmf(COPY2, "imin", base=2)), [1, 0, 0, 1], atol=1e-9)


@pytest.mark.parametrize("measure", ["imin", "broja", "mmi"])
def test_pid_of_sum_and_redundant_gates(measure):
    np.testing.assert_allclose(atoms(pid_pmf(SUM, measure, base=2)), [0.5, 0, 0, 1], atol=1e-8)
    np.testing.assert_allclose(atoms(pid_pmf(RDN, measure, base=2)), [1, 0, 0, 0], atol=1e-9)


def uniform_over(outcomes):
    """Table p[a, v, t] uniform over strings 'avt' (dit's notation for bivariate examples)."""
    p = np.zeros((2, 2, 2))
    for o in outcomes:
        p[int(o[0]), int(o[1]), int(o[2])] += 1 / len(outcomes)
    return p


def test_imin_matches_dit_reference_values_on_its_prob_1_distribution():
    # dit (James et al. 2018) tests/pid/test_imin.py: PID_WB on bivariates['prob. 1']
    r = pid_pmf(uniform_over(["000", "001", "010", "011", "100"]), "imin", base=2)
    np.testing.assert_allclose(atoms(r), [0.019973094021974794, 0.15097750043269376, 0, 0],
                               atol=1e-12)


def test_broja_matches_dit_reference_values_on_its_diff_distribution():
    # dit tests/pid/test_ibroja.py: PID_BROJA on bivariates['diff'] (checked there to 1e-4)
    r = pid_pmf(uniform_over(["000", "001", "010", "101"]), "broja", base=2)
    np.testing.assert_allclose(
        atoms(r), [0.12255624891826589, 0.18872187554086706, 0.18872187554086706, 0],
        atol=1e-9)


def _broja_by_generic_optimiser(p):
    """min I_Q(T;A,V) over Delta_P for binary A, V, T: two coupling parameters, L-BFGS-B."""
    pat, pvt = p.sum(1), p.sum(0)

    def table(x):
        q = np.zeros_like(p)
        for t in range(2):
            q[0, 0, t] = x[t]
            q[0, 1, t] = pat[0, t] - x[t]
            q[1, 0, t] = pvt[0, t] - x[t]
            q[1, 1, t] = pat[1, t] - pvt[0, t] + x[t]
        return q

    def f(x):
        q = np.clip(table(x), 1e-300, None)
        qav, qt = q.sum(2, keepdims=True), q.sum((0, 1), keepdims=True)
        return float(np.sum(q * np.log(q / (qav * qt))))

    lo = [max(0.0, pvt[0, t] - pat[1, t]) for t in range(2)]
    hi = [min(pat[0, t], pvt[0, t]) for t in range(2)]
    best = np.inf
    for start in np.linspace(0.1, 0.9, 5):
        x0 = [lo[t] + start * (hi[t] - lo[t]) for t in range(2)]
        best = min(best, minimize(f, x0, method="L-BFGS-B", bounds=list(zip(lo, hi))).fun)
    return best


@pytest.mark.parametrize("seed", range(4))
def test_broja_synergy_matches_a_generic_optimiser_on_random_binary_tables(seed):
    p = np.random.default_rng(seed).dirichlet(np.ones(8)).reshape(2, 2, 2)
    r = pid_pmf(p, "broja")
    f_min = _broja_by_generic_optimiser(p)
    assert r.synergy == pytest.approx(r.mi_av - f_min, abs=1e-6)
    assert min(atoms(r)) >= -1e-9


@pytest.mark.parametrize("measure", ["imin", "broja", "mmi"])
def test_pid_atoms_add_up_to_the_mutual_informations_on_random_tables(measure):
    p = np.random.default_rng(7).dirichlet(np.ones(3 * 4 * 5)).reshape(3, 4, 5)
    r = pid_pmf(p, measure)
    assert r.redundancy + r.unique_a == pytest.approx(mutual_information_pmf(p.sum(1)))
    assert r.redundancy + r.unique_v == pytest.approx(mutual_information_pmf(p.sum(0)))
    assert sum(atoms(r)) == pytest.approx(mutual_information_pmf(p.reshape(12, 5)))
    assert r.co_information == pytest.approx(co_information_pmf(p), abs=1e-9)


def test_broja_redundancy_is_at_most_mmi_on_random_tables():
    # BROJA's redundancy is bounded by the smaller source MI (its atoms are non-negative)
    rng = np.random.default_rng(11)
    for _ in range(3):
        p = rng.dirichlet(np.full(27, 0.5)).reshape(3, 3, 3)
        b, m = pid_pmf(p, "broja"), pid_pmf(p, "mmi")
        assert b.redundancy <= m.redundancy + 1e-9
        assert min(atoms(b)) >= -1e-9


def test_pid_from_samples_recovers_and_gate_and_honours_source_names():
    rng = np.random.default_rng(0)
    a, v = rng.integers(0, 2, 40000), rng.integers(0, 2, 40000)
    r = partial_information_decomposition(a, v, a & v, base=2, source_names=("audio", "video"))
    np.testing.assert_allclose(atoms(r), [0.311, 0, 0, 0.5], atol=0.01)
    assert "unique audio" in r.atoms and r.unit == "bits"
    assert r.to_frame().shape[0] == 1


def test_pid_result_plots_bar_and_venn():
    r = pid_pmf(AND, "imin", base=2)
    ax = r.plot(kind="bar")
    assert [p.get_height() for p in ax.patches] == pytest.approx(list(atoms(r)))
    ax = r.plot(kind="venn")
    assert len(ax.patches) == 2
    with pytest.raises(ValueError, match="kind"):
        r.plot(kind="pie")
    plt.close("all")


def test_pid_refuses_bad_tables_and_measures():
    with pytest.raises(ValueError, match="sum to 1"):
        pid_pmf(AND * 2)
    with pytest.raises(ValueError, match="3-D"):
        pid_pmf(np.full((2, 2), 0.25))
    with pytest.raises(ValueError, match="measure"):
        pid_pmf(AND, measure="ccs")
    with pytest.raises(ValueError, match="non-negative"):
        pid_pmf(np.array([[[-0.5, 1.5]]]))
    assert isinstance(pid_pmf(AND), PIDResult)
