"""Data sets of the paper: generating formulas, analytic gradients, UCI energy, digits."""

from pathlib import Path

import numpy as np
import pytest

from nfbst.datasets import (
    instance_labels,
    load_digits_data,
    load_energy,
    make_simulation,
    make_toy,
    toy_gradient,
)

ENERGY = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "uci" / "energy"


def _finite_difference(f, X, h=1e-5):
    g = np.empty_like(X)
    for j in range(X.shape[1]):
        e = np.zeros(X.shape[1])
        e[j] = h
        g[:, j] = (f(X + e) - f(X - e)) / (2 * h)
    return g


def test_toy_gradient_equals_finite_differences_of_the_formula():
    X, _ = make_toy(50, random_state=0)

    def f(Z):
        return (8 + Z[:, 0] ** 2 + Z[:, 1] * Z[:, 2] + np.cos(Z[:, 3])
                + np.exp(Z[:, 4] * Z[:, 5]) + 0.1 * Z[:, 6])

    np.testing.assert_allclose(toy_gradient(X), _finite_difference(f, X), atol=1e-6)


@pytest.mark.parametrize("dataset", [1, 2, 3])
def test_simulation_gradient_equals_finite_differences_and_nulls_are_exact(dataset):
    sim = make_simulation(dataset, n_samples=40, random_state=dataset)
    g = sim.gradient(sim.X)
    np.testing.assert_allclose(g, _finite_difference(sim.f0, sim.X), atol=1e-6)
    assert np.all(g[:, ~sim.relevant] == 0)
    assert np.abs(g[:, sim.relevant]).max() > 0
    assert sim.relevant.sum() == 50 and sim.X.shape == (40, 100)


def test_simulation_architecture_sample_size_and_noise_level():
    d1 = make_simulation(1, n_samples=2000, random_state=0)
    d3 = make_simulation(3, random_state=0)
    widths = [m.out_features for m in d1.network if hasattr(m, "out_features")]
    assert widths == [20, 20, 20, 1]
    assert [m.out_features for m in d3.network if hasattr(m, "out_features")] == [16, 16, 16, 1]
    assert d3.X.shape == (1000, 100)
    assert np.std(d1.y - d1.f0(d1.X)) == pytest.approx(0.1, rel=0.05)
    assert d1.X.min() >= -1 and d1.X.max() <= 1


def test_simulation_same_seed_same_data_and_bad_dataset_rejected():
    a, b = make_simulation(2, n_samples=30, random_state=5), make_simulation(
        2, n_samples=30, random_state=5)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    with pytest.raises(ValueError, match="dataset"):
        make_simulation(4)


def test_instance_labels_threshold_absolute_gradient():
    g = np.array([[0.02, -0.02, 0.005]])
    assert instance_labels(g, 0.01).tolist() == [[True, True, False]]
    with pytest.raises(ValueError, match="eps"):
        instance_labels(g, -1)


@pytest.mark.skipif(not (ENERGY / "data.txt").is_file(), reason="shared UCI data absent")
def test_energy_has_768_rows_20_disjoint_splits_and_standard_normal_noise_columns():
    data = load_energy(noise_columns=8, random_state=0)
    assert data.X.shape == (768, 16) and data.y.shape == (768,)
    assert len(data.splits) == 20
    for tr, te in data.splits:
        assert len(np.intersect1d(tr, te)) == 0 and len(tr) + len(te) == 768
    noise = data.X[:, 8:]
    assert abs(noise.mean()) < 0.1 and noise.std() == pytest.approx(1, abs=0.05)
    assert set(np.unique(data.X[:, 7])) == {0, 1, 2, 3, 4, 5}  # glazing distribution
    assert data.relevant.tolist() == [True] * 8 + [False] * 8


def test_energy_missing_folder_says_where_the_files_come_from(tmp_path):
    with pytest.raises(FileNotFoundError, match="UCI"):
        load_energy(path=tmp_path)


def test_digits_pixels_in_unit_interval():
    d = load_digits_data(n_classes=3)
    assert d.X.min() == 0 and d.X.max() == 1 and set(np.unique(d.y)) == {0, 1, 2}
    assert d.images.shape == (len(d.y), 8, 8)
