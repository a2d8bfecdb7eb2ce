"""Data sets of the nFBST paper (shared/papers/nfbst.md §3.1), generated from their formulas."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from probconstraints._random import RandomStateLike, seed_sequence

if TYPE_CHECKING:
    from sklearn.utils import Bunch

TOY_RELEVANT = np.array([True] * 7 + [False])


def make_toy(n_samples: int = 10_000, noise: float = 1.0, random_state: RandomStateLike = None
             ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The paper's toy example (``simulation_v3``).

    y = 8 + x0² + x1·x2 + cos(x3) + exp(x4·x5) + 0.1·x6 + 0·x7 + ε,
    X ~ U(−1, 1)^8, ε ~ N(0, noise²). Feature x7 is null.

    Returns
    -------
    X : ndarray (n_samples, 8)
    y : ndarray (n_samples,)

    Examples
    --------
    >>> X, y = make_toy(100, random_state=0)
    >>> X.shape, y.shape
    ((100, 8), (100,))
    """
    rng = np.random.default_rng(seed_sequence(random_state))
    X = rng.uniform(-1.0, 1.0, size=(n_samples, 8))
    y = (
        8 + X[:, 0] ** 2 + X[:, 1] * X[:, 2] + np.cos(X[:, 3]) + np.exp(X[:, 4] * X[:, 5])
        + 0.1 * X[:, 6]
    )
    return X, y + noise * rng.standard_normal(n_samples)


def toy_gradient(X: ArrayLike) -> NDArray[np.float64]:
    """Analytic ∂f0/∂x_j of the toy example at each row of ``X``: ``(n, 8)``."""
    X = np.asarray(X, dtype=float)
    g = np.zeros_like(X)
    e = np.exp(X[:, 4] * X[:, 5])
    g[:, 0] = 2 * X[:, 0]
    g[:, 1] = X[:, 2]
    g[:, 2] = X[:, 1]
    g[:, 3] = -np.sin(X[:, 3])
    g[:, 4] = X[:, 5] * e
    g[:, 5] = X[:, 4] * e
    g[:, 6] = 0.1
    return g


# --------------------------------------------------------------------------- Datasets 1-3
_SIMULATIONS = {
    # dataset: (hidden sizes of the generating network, default n, paper code id)
    1: ((20, 20, 20), 10_000, "simulation_v4"),
    2: ((16, 16, 16), 10_000, "simulation_v12"),
    3: ((16, 16, 16), 1_000, "simulation_v12 / 10"),
}


def make_simulation(dataset: int = 1, n_samples: int | None = None, n_features: int = 100,
                    n_relevant: int = 50, noise: float = 0.1,
                    random_state: RandomStateLike = None) -> Bunch:
    """Datasets 1-3 of the paper (shared/papers/nfbst.md §3.1): a random ReLU MLP with nulls.

    y = f0(X) + noise·ε, X ~ U(−1, 1)^d, ε ~ N(0, 1). f0 is a ReLU MLP (Dataset 1: 3×20;
    Datasets 2 and 3: 3×16) with Kaiming-normal weights and PyTorch's default uniform biases,
    whose first-layer weights of the last ``n_features − n_relevant`` features are set to 0, so
    those features are null. Dataset 3 is Dataset 2 with one tenth of the samples (1,000).

    Parameters
    ----------
    dataset : {1, 2, 3}
    n_samples : int, optional
        Default 10,000 (Datasets 1, 2) or 1,000 (Dataset 3).
    n_features, n_relevant : int, default 100 and 50
    noise : float, default 0.1
        Standard deviation of ε (the paper's code: ``0.1 * randn``).
    random_state : None, int, numpy RandomState or Generator
        Seeds both the generating network and the sample.

    Returns
    -------
    sklearn.utils.Bunch with ``X`` (n, d), ``y`` (n,), ``relevant`` (d,) bool (global
    ground truth), ``network`` (the generating ``torch.nn.Sequential``), ``f0`` (callable
    X → noiseless y) and ``gradient`` (callable X → ∂f0/∂x, (n, d)), ``name``.

    Examples
    --------
    >>> sim = make_simulation(3, n_samples=50, random_state=0)
    >>> sim.X.shape, int(sim.relevant.sum())
    ((50, 100), 50)
    >>> bool(abs(sim.gradient(sim.X)[:, 50:]).max() == 0)
    True
    """
    import torch
    from sklearn.utils import Bunch

    if dataset not in _SIMULATIONS:
        raise ValueError(f"dataset must be one of {sorted(_SIMULATIONS)}, got {dataset!r}")
    if not 0 < n_relevant <= n_features:
        raise ValueError(
            f"n_relevant must be in [1, n_features={n_features}], got {n_relevant!r}")
    hidden, default_n, code_id = _SIMULATIONS[dataset]
    n_samples = default_n if n_samples is None else int(n_samples)
    if n_samples < 1:
        raise ValueError(f"n_samples must be positive, got {n_samples}")
    rng = np.random.default_rng(seed_sequence(random_state))
    gen = torch.Generator().manual_seed(int(rng.integers(2**31 - 1)))
    layers: list[torch.nn.Module] = []
    sizes = [n_features, *hidden, 1]
    for l, (fi, fo) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = torch.nn.Linear(fi, fo).double()
        with torch.no_grad():
            lin.weight.copy_(torch.randn(fo, fi, generator=gen, dtype=torch.float64)
                             * np.sqrt(2.0 / fi))
            lin.bias.copy_((torch.rand(fo, generator=gen, dtype=torch.float64) * 2 - 1)
                           / np.sqrt(fi))
            if l == 0:
                lin.weight[:, n_relevant:] = 0.0
        layers.append(lin)
        if l < len(hidden):
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers).eval()
    for p in net.parameters():
        p.requires_grad_(False)

    def f0(X: ArrayLike) -> NDArray[np.float64]:
        with torch.no_grad():
            return net(torch.as_tensor(np.asarray(X, dtype=float)))[:, 0].numpy()

    def gradient(X: ArrayLike) -> NDArray[np.float64]:
        x = torch.tensor(np.asarray(X, dtype=float), requires_grad=True)
        net(x).sum().backward()
        assert x.grad is not None  # set by backward()
        return x.grad.numpy()

    X = rng.uniform(-1.0, 1.0, size=(n_samples, n_features))
    y = f0(X) + noise * rng.standard_normal(n_samples)
    relevant = np.arange(n_features) < n_relevant
    return Bunch(X=X, y=y, relevant=relevant, network=net, f0=f0, gradient=gradient,
                 name=f"Dataset {dataset} ({code_id})")


def instance_labels(gradient: ArrayLike, eps: float) -> NDArray[np.bool_]:
    """Instance-wise ground truth of the paper: significant iff |∂f0/∂x_j| > eps.

    Examples
    --------
    >>> instance_labels(np.array([[0.5, -0.001]]), 0.01).tolist()
    [[True, False]]
    """
    if not eps >= 0:
        raise ValueError(f"eps must be >= 0, got {eps!r}")
    return np.abs(np.asarray(gradient)) > eps


# --------------------------------------------------------------------------- real data
ENERGY_FEATURES = ["relative_compactness", "surface_area", "wall_area", "roof_area",
                   "overall_height", "orientation", "glazing_area", "glazing_distribution"]


def _default_data_dir() -> Path:
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def load_energy(path: str | os.PathLike[str] | None = None, noise_columns: int = 8,
                random_state: RandomStateLike = 0) -> Bunch:
    """UCI energy efficiency (Tsanas & Xifara 2012), heating load, with appended noise columns.

    Reads ``data.txt`` and the 20 standard splits (``index_train_K.txt``/``index_test_K.txt``,
    those of Hernández-Lobato & Adams 2015 and Gal & Ghahramani 2016) from ``path`` (default
    ``<repo>/../shared/data/uci/energy``). As the paper's code (``energy_16``) does, it
    appends ``noise_columns`` standard-normal columns after the 8 real features; the paper's
    x1..x8 are columns 0..7 here (x8, glazing-area distribution, is column 7).

    Parameters
    ----------
    path : str or Path, optional
    noise_columns : int, default 8
    random_state : None, int, numpy RandomState or Generator
        Seeds the noise columns.

    Returns
    -------
    sklearn.utils.Bunch with ``X`` (768, 8 + noise_columns), ``y`` (768,), ``feature_names``,
    ``relevant`` (True for the real features, False for the noise), ``splits`` (list of 20
    ``(train_idx, test_idx)``).

    Examples
    --------
    >>> data = load_energy()  # doctest: +SKIP
    >>> data.X.shape, len(data.splits)  # doctest: +SKIP
    ((768, 16), 20)
    """
    from sklearn.utils import Bunch

    folder = Path(path) if path is not None else _default_data_dir() / "uci" / "energy"
    data_file = folder / "data.txt"
    if not data_file.is_file():
        raise FileNotFoundError(
            f"energy data not found at {data_file}. It is the UCI 'Energy efficiency' data set "
            "(Tsanas & Xifara 2012) in the layout of the UCI benchmark splits of "
            "Hernandez-Lobato & Adams (2015) / Gal & Ghahramani (2016): data.txt, "
            "index_features.txt, index_target.txt, index_train_K.txt, index_test_K.txt. "
            "Place that folder at ../shared/data/uci/energy or pass path=.")
    if not (isinstance(noise_columns, int | np.integer) and noise_columns >= 0):
        raise ValueError(f"noise_columns must be a non-negative integer, got {noise_columns!r}")
    raw = np.loadtxt(data_file)
    feat = np.loadtxt(folder / "index_features.txt", dtype=int).ravel()
    target = int(np.loadtxt(folder / "index_target.txt", dtype=int))
    X, y = raw[:, feat], raw[:, target]
    rng = np.random.default_rng(seed_sequence(random_state))
    X = np.column_stack([X, rng.standard_normal((len(X), noise_columns))])
    n_splits = int(np.loadtxt(folder / "n_splits.txt")) if (folder / "n_splits.txt").is_file() \
        else 20
    splits = []
    for k in range(n_splits):
        tr, te = folder / f"index_train_{k}.txt", folder / f"index_test_{k}.txt"
        if tr.is_file() and te.is_file():
            splits.append((np.loadtxt(tr, dtype=int), np.loadtxt(te, dtype=int)))
    names = ENERGY_FEATURES[: len(feat)] + [f"noise{i}" for i in range(noise_columns)]
    relevant = np.arange(X.shape[1]) < len(feat)
    return Bunch(X=X, y=y, feature_names=names, relevant=relevant, splits=splits)


def load_digits_data(n_classes: int = 10) -> Bunch:
    """scikit-learn's bundled 8×8 digits (no download), pixels scaled to [0, 1].

    Stands in for the paper's MNIST experiment (shared/papers/nfbst.md §3.5, Figure 5).

    Returns
    -------
    sklearn.utils.Bunch with ``X`` (n, 64) float, ``y`` (n,) int, ``images`` (n, 8, 8).

    Examples
    --------
    >>> d = load_digits_data()
    >>> d.X.shape, float(d.X.max())
    ((1797, 64), 1.0)
    """
    from sklearn.datasets import load_digits
    from sklearn.utils import Bunch

    if not (isinstance(n_classes, int | np.integer) and 2 <= n_classes <= 10):
        raise ValueError(f"n_classes must be an integer in [2, 10], got {n_classes!r}")
    d = load_digits(n_class=n_classes)
    X = d.data / 16.0
    return Bunch(X=X, y=d.target.astype(int), images=X.reshape(-1, 8, 8))
