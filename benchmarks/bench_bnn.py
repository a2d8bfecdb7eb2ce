"""BNN fit speed: BayesianMLP (mean-field VI) vs pyro's AutoNormal + Trace_ELBO and a hand-written
Bayes-by-backprop loop, on Friedman #1 (n = 1000, d = 10), one hidden layer of 50, 3000 steps.

Run: .venv/bin/python benchmarks/bench_bnn.py [--steps 3000] [--threads 1] [--repeats 3]
Prints wall times (best of ``--repeats`` fits per side, every side pinned to ``--threads``
torch and BLAS threads with ``_timing.pin_threads``: without pinning the ratios swung from
1.7x to 40x with the machine's load), test RMSE of each fit, and the ratios asked for
(pyro / ours ≥ 2.5, ours / hand-written ≤ 1.5).
"""

import argparse
import math

import numpy as np
import pyro
import torch
from _timing import best_time, pin_threads
from pyro.infer import SVI, Predictive, Trace_ELBO
from pyro.infer.autoguide import AutoNormal
from sklearn.datasets import make_friedman1

from nfbst import BayesianMLP
from nfbst.nuts import mlp_model


def data():
    X, y = make_friedman1(n_samples=2000, n_features=10, noise=1.0, random_state=0)
    return X[:1000], y[:1000], X[1000:], y[1000:]


def standardise(X, y, Xt):
    mx, sx, my, sy = X.mean(0), X.std(0), y.mean(), y.std()
    f = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    return f((X - mx) / sx), f((y - my) / sy), f((Xt - mx) / sx), my, sy


def fit_ours(X, y, steps, reparam="local"):
    return BayesianMLP(hidden=(50,), n_steps=steps, lr=0.01, reparam=reparam,
                       random_state=0).fit(X, y)


def fit_pyro(Z, t, steps):
    pyro.set_rng_seed(0)
    pyro.clear_param_store()
    sizes = (Z.shape[1], 50, 1)
    guide = AutoNormal(mlp_model)
    svi = SVI(mlp_model, guide, pyro.optim.Adam({"lr": 0.01}), Trace_ELBO())
    for _ in range(steps):
        svi.step(Z, t, sizes, "relu", "regression", 1.0, "learned")
    return guide, sizes


def fit_hand_written(Z, t, steps):
    """Textbook Bayes-by-backprop: per-weight reparameterisation, closed-form KL, Adam."""
    gen = torch.Generator().manual_seed(0)
    n, d = Z.shape
    shapes = [(50, d), (50,), (1, 50), (1,)]
    locs = [torch.nn.Parameter(0.1 * torch.randn(s, generator=gen)) for s in shapes]
    rhos = [torch.nn.Parameter(torch.full(s, math.log(math.expm1(0.01)))) for s in shapes]
    log_noise = torch.nn.Parameter(torch.tensor(math.log(0.5)))
    opt = torch.optim.Adam([*locs, *rhos, log_noise], lr=0.01)
    for _ in range(steps):
        scales = [torch.nn.functional.softplus(r) for r in rhos]
        W1, b1, W2, b2 = [m + s * torch.randn(s.shape, generator=gen)
                          for m, s in zip(locs, scales)]
        out = (torch.relu(Z @ W1.T + b1) @ W2.T + b2)[:, 0]
        nll = (0.5 * ((t - out) / log_noise.exp()) ** 2).mean() + log_noise
        kl = sum((-torch.log(s) + (s**2 + m**2) / 2 - 0.5).sum() for m, s in zip(locs, scales))
        loss = nll + kl / n
        opt.zero_grad()
        loss.backward()
        opt.step()
    return locs


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--threads", type=int, default=1, help="torch/BLAS threads, every side")
    p.add_argument("--repeats", type=int, default=3, help="best of this many fits per side")
    args = p.parse_args()
    pin_threads(args.threads)
    X, y, Xt, yt = data()
    Z, t, Zt, my, sy = standardise(X, y, Xt)
    rmse = lambda pred: float(np.sqrt(np.mean((pred - yt) ** 2)))  # noqa: E731
    r = args.repeats

    t_ours, ours = best_time(lambda: fit_ours(X, y, args.steps), r)
    rmse_ours = rmse(ours.predict(Xt))

    t_ours_w, ours_w = best_time(lambda: fit_ours(X, y, args.steps, reparam="weight"), r)
    rmse_ours_w = rmse(ours_w.predict(Xt))

    t_pyro, (guide, sizes) = best_time(lambda: fit_pyro(Z, t, args.steps), r)
    with torch.no_grad():
        W = Predictive(mlp_model, guide=guide, num_samples=200)(
            Zt, None, sizes, "relu", "regression", 1.0, "learned")
    h = torch.relu(torch.einsum("nd,shd->snh", Zt, W["W0"][:, 0]) + W["b0"][:, 0, None])
    out = (torch.einsum("snh,soh->sno", h, W["W1"][:, 0]) + W["b1"][:, 0, None])[..., 0]
    rmse_pyro = rmse(out.mean(0).numpy() * sy + my)

    t_hand, locs = best_time(lambda: fit_hand_written(Z, t, args.steps), r)
    with torch.no_grad():
        mean_out = (torch.relu(Zt @ locs[0].T + locs[1]) @ locs[2].T + locs[3])[:, 0]
    rmse_hand = rmse(mean_out.numpy() * sy + my)

    print(f"Friedman #1, n=1000, d=10, hidden (50,), {args.steps} steps, "
          f"threads={args.threads} every side, best of {r} fits")
    print(f"{'fit':44s} {'seconds':>8s} {'test RMSE':>10s}")
    print(f"{'nfbst.BayesianMLP (default: local reparam.)':44s} {t_ours:8.2f} {rmse_ours:10.3f}")
    print(f"{'nfbst.BayesianMLP (reparam=weight)':44s} {t_ours_w:8.2f} {rmse_ours_w:10.3f}")
    print(f"{'pyro AutoNormal + Trace_ELBO':44s} {t_pyro:8.2f} {rmse_pyro:10.3f}")
    print(f"{'hand-written torch Bayes-by-backprop':44s} {t_hand:8.2f} {rmse_hand:10.3f}")
    print(f"ratio pyro / ours        = {t_pyro / t_ours:.2f}x  (target >= 2.5)")
    print(f"ratio ours / hand-written = {t_ours / t_hand:.2f}x  (target <= 1.5)")
    print(f"ratio ours(reparam=weight) / hand-written = {t_ours_w / t_hand:.2f}x")


if __name__ == "__main__":
    main()
