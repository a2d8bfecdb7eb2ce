"""BayesianNetwork on a small CNN on sklearn's 8×8 digits: VI against hand-written and
bayesian-torch Bayes-by-backprop, and every module backend's time per epoch and quality.

The CNN is the paper's MNIST architecture scaled to 8×8 inputs (nFBST, Figure 5,
``mnist_bnn.py``): Conv 1→16 3×3 (padding 1) → ReLU → pool → Conv 16→32 3×3 (padding 1) →
ReLU → pool → FC 128→64 → ReLU → FC 64→10; 13 706 parameters. Data: the first 1200 digits
train, the other 597 test; pixels / 16.

Part 1 — mean-field VI, seconds per epoch (batch 64, Adam), best of ``--repeats``:

- ``BayesianNetwork(cnn, inference="vi")`` (local reparameterisation on every layer, as
  chosen automatically for Conv2d/Linear);
- a hand-written Bayes-by-backprop loop on the same CNN (explicit μ/ρ tensors per layer,
  the same local reparameterisation, closed-form KL, the same optimiser and batches);
- bayesian-torch 0.5.0 (optional peer: ``pip install bayesian-torch==0.5.0``; skipped when
  absent), its ``dnn_to_bnn`` on the same CNN with ``Reparameterization`` layers (one weight
  sample per batch) and with ``Flipout``.

The ratio printed is ours / hand-written (target ≤ 1.5) and ours / bayesian-torch.

Part 2 — every module backend on the CNN: fit seconds, seconds per epoch (a pass over the
1200 rows; members or chains together), test accuracy and mean test log predictive density
of the posterior mean over the draws (one fit each, seed 0). HMC is refused above 5000
parameters: it runs on a small CNN (Conv 1→4 3×3 → pool → FC 36→10, 410 parameters), full
batch, and takes about 10 minutes on one thread (``--no-hmc`` skips it); laplace's diagonal
GGN (laplace-torch's curvlinops backend) about 2 minutes.

Pins torch and the BLAS pools to ``--threads`` (``_timing.pin_threads``). The first fit in
a process pays a one-off warm-up (about 1.5 s here: torch's first functorch/vmap and
autograd calls); every side is run once untimed first. Run from the repository root under
the heavy-work lock:

    PYTHONPATH=. .venv/bin/python benchmarks/bench_network.py
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np
import torch
from _timing import best_time, pin_threads
from sklearn.datasets import load_digits
from torch import nn
from torch.nn import functional as F

from nfbst.network import BayesianNetwork

BATCH = 64


def cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))


def small_cnn() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(36, 10))


def data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)
    return X[:1200], y[:1200], X[1200:], y[1200:]


# ------------------------------------------------------------- hand-written BBB
class HandBBB:
    """Bayes-by-backprop on the CNN written out: μ/ρ per layer, local reparameterisation."""

    def __init__(self, seed: int) -> None:
        torch.manual_seed(seed)
        ref = cnn()
        self.layers = [m for m in ref if isinstance(m, (nn.Conv2d, nn.Linear))]
        self.mu = [[m.weight.detach().clone().requires_grad_(True),
                    m.bias.detach().clone().requires_grad_(True)] for m in self.layers]
        rho0 = math.log(math.expm1(1e-3))
        self.rho = [[torch.full_like(w, rho0).requires_grad_(True),
                     torch.full_like(b, rho0).requires_grad_(True)] for w, b in self.mu]
        self.params = [p for pair in self.mu + self.rho for p in pair]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for i, (m, (wm, bm), (wr, br)) in enumerate(zip(self.layers, self.mu, self.rho)):
            ws, bs = F.softplus(wr), F.softplus(br)
            if isinstance(m, nn.Conv2d):
                mean = F.conv2d(h, wm, bm, padding=1)
                var = F.conv2d(h * h, ws * ws, bs * bs, padding=1)
            else:
                mean = F.linear(h, wm, bm)
                var = F.linear(h * h, ws * ws, bs * bs)
            h = mean + (var + 1e-16).sqrt() * torch.randn_like(mean)
            if i < 2:
                h = F.max_pool2d(F.relu(h), 2)
                if i == 1:
                    h = h.flatten(1)
            elif i == 2:
                h = F.relu(h)
        return h

    def kl(self) -> torch.Tensor:
        tot = torch.zeros(())
        for pm, pr in zip(self.mu, self.rho):
            for m, r in zip(pm, pr):
                s = F.softplus(r)
                tot = tot + (0.5 * (s * s + m * m) - torch.log(s) - 0.5).sum()
        return tot

    def fit(self, X: torch.Tensor, y: torch.Tensor, epochs: int, lr: float) -> None:
        n = X.shape[0]
        opt = torch.optim.Adam(self.params, lr=lr)
        g = torch.Generator().manual_seed(0)
        for _ in range(epochs):
            for idx in torch.split(torch.randperm(n, generator=g), BATCH):
                out = self.forward(X[idx])
                nll = F.cross_entropy(out, y[idx], reduction="sum")
                loss = (n / len(idx) * nll + self.kl()) / n
                opt.zero_grad()
                loss.backward()
                opt.step()


def bayesian_torch_fit(X: torch.Tensor, y: torch.Tensor, epochs: int, lr: float,
                       kind: str) -> nn.Module:
    from bayesian_torch.models.dnn_to_bnn import dnn_to_bnn, get_kl_loss

    torch.manual_seed(0)
    model = cnn()
    dnn_to_bnn(model, {"prior_mu": 0.0, "prior_sigma": 1.0, "posterior_mu_init": 0.0,
                       "posterior_rho_init": -7.0, "type": kind, "moped_enable": False})
    n = X.shape[0]
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        for idx in torch.split(torch.randperm(n, generator=g), BATCH):
            out = model(X[idx])
            loss = (n / len(idx) * F.cross_entropy(out, y[idx], reduction="sum")
                    + get_kl_loss(model)) / n
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


def part1(args: argparse.Namespace) -> None:
    Xtr, ytr, _, _ = data()
    X, y = torch.as_tensor(Xtr), torch.as_tensor(ytr)
    E = args.epochs
    o = dict(n_epochs=E, batch_size=BATCH, lr=0.01)

    def ours() -> None:
        BayesianNetwork(cnn, task="classification", inference="vi", inference_params=o,
                        input_shape=(1, 8, 8), random_state=0).fit(Xtr, ytr)

    ours()  # warm-up, untimed (one-off costs of the first fit in a process)
    HandBBB(0).fit(X, y, 1, 0.01)
    t_ours, _ = best_time(ours, args.repeats)
    t_hand, _ = best_time(lambda: HandBBB(0).fit(X, y, E, 0.01), args.repeats)
    print(f"\nPart 1: mean-field VI, {E} epochs of {len(X)} rows, batch {BATCH} "
          f"(best of {args.repeats})")
    print(f"  BayesianNetwork(inference='vi')      {t_ours / E * 1000:8.1f} ms/epoch")
    print(f"  hand-written Bayes-by-backprop (LRT) {t_hand / E * 1000:8.1f} ms/epoch")
    print(f"  ratio ours / hand-written: {t_ours / t_hand:.2f} (target <= 1.5)")
    t_w, _ = best_time(lambda: BayesianNetwork(
        cnn, task="classification", inference="vi", inference_params=dict(o, reparam="weight"),
        input_shape=(1, 8, 8), random_state=0).fit(Xtr, ytr), args.repeats)
    print(f"  BayesianNetwork(inference='vi', reparam='weight') {t_w / E * 1000:8.1f} ms/epoch")
    try:
        import bayesian_torch  # noqa: F401
    except ImportError:
        print("  bayesian-torch not installed: skipped (pip install bayesian-torch==0.5.0)")
        return
    for kind in ("Reparameterization", "Flipout"):
        t_bt, _ = best_time(lambda k=kind: bayesian_torch_fit(X, y, E, 0.01, k), args.repeats)
        print(f"  bayesian-torch 0.5.0 {kind:<18s} {t_bt / E * 1000:8.1f} ms/epoch; "
              f"ratio ours / it: {t_ours / t_bt:.2f}")


BACKENDS = {
    "vi": dict(n_epochs=30, batch_size=BATCH),
    "ensemble (5)": dict(n_members=5, n_epochs=30, batch_size=BATCH),
    "anchored (5)": dict(n_members=5, n_epochs=30, batch_size=BATCH),
    "laplace last-layer": dict(n_epochs=30, batch_size=BATCH, subset_of_weights="last_layer"),
    "laplace KFAC (all)": dict(n_epochs=30, batch_size=BATCH, hessian_structure="kron",
                               subset_of_weights="all"),
    "laplace diag (all)": dict(n_epochs=30, batch_size=BATCH, hessian_structure="diag",
                               subset_of_weights="all"),
    "sgld (4 chains)": dict(batch_size=BATCH, warmup_steps=19 * 30, n_steps=19 * 30,
                            num_samples=100),
}


def part2(args: argparse.Namespace) -> None:
    Xtr, ytr, Xte, yte = data()
    steps_per_epoch = math.ceil(len(Xtr) / BATCH)
    print(f"\nPart 2: module backends on the digits CNN ({len(Xtr)} train / {len(Xte)} "
          "test rows; one fit each, seed 0)")
    print(f"  {'backend':<29s} {'fit s':>7s} {'s/epoch':>8s} {'accuracy':>9s} {'test lpd':>9s}")
    runs = [(k, k.split()[0], v, cnn)
            for k, v in BACKENDS.items()]
    if not args.no_hmc:
        runs.append(("hmc (4 chains, 410-param CNN)", "hmc",
                     dict(num_samples=100, warmup_steps=100), small_cnn))
    for label, inference, params, factory in runs:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net = BayesianNetwork(factory, task="classification", inference=inference,
                                  inference_params=params, input_shape=(1, 8, 8),
                                  random_state=0).fit(Xtr, ytr)
        fit = time.perf_counter() - t0
        if inference == "sgld":
            epochs = (params["warmup_steps"] + params["n_steps"]) / steps_per_epoch
        elif inference == "hmc":
            epochs = float("nan")  # full-batch leapfrog steps, no epochs
        else:
            epochs = params["n_epochs"]
        proba = net.predict_proba(Xte)
        acc = float(np.mean(net.classes_[proba.argmax(1)] == yte))
        lpd = float(np.mean(np.log(proba[np.arange(len(yte)), yte] + 1e-12)))
        print(f"  {label:<29s} {fit:7.2f} {fit / epochs:8.3f} {acc:9.3f} {lpd:9.3f}",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5, help="epochs timed in part 1")
    parser.add_argument("--part", choices=("1", "2", "all"), default="all")
    parser.add_argument("--no-hmc", action="store_true", help="skip HMC in part 2")
    args = parser.parse_args()
    pin_threads(args.threads)
    if args.part in ("1", "all"):
        part1(args)
    if args.part in ("2", "all"):
        part2(args)


if __name__ == "__main__":
    main()
