"""nFBST statistics across posterior draws vs looping captum / lime over the sampled networks.

S = 300 draws, n = 1000 rows, d = 100 features, a 3×20 ReLU MLP (float32). For DeepLIFT,
LRP (epsilon), Input×Gradient, Integrated Gradients (32 steps, Gauss–Legendre), the gradient
(vs captum ``Saliency(abs=False)``) and LIME (vs ``lime``'s ``LimeTabularExplainer``), our
batched statistic is timed on all draws; the reference is looped over ``draws.module(i)``.
The captum loops run on ``--captum-draws`` of the 300 draws and lime on ``--lime-calls``
(draw, instance) explanations, then are extrapolated linearly to all 300 × 1000 (printed as
such); ``--captum-draws 300`` times the full captum loop. Equality on the timed subset is
printed as the largest relative difference. In float32, IG differs from captum by up to
~1e-3 of the largest attribution: path points within rounding of a ReLU kink flip the
activation pattern, and captum's float32 result is itself that far from the float64 one
(ours is closer); the tests compare in float64 to 1e-5.

``--cnn``: the statistics of a small CNN (Conv 1→8 3×3, ReLU, max-pool 2, Linear 72→10) on
8×8 images, S = 100 draws × 1000 images, 1 thread by default: our functional path (all draws in
one ``vmap`` of ``functional_call``, one backward per row batch) vs captum looped over the
draws' modules, on all draws, with the ratio and the largest absolute difference printed.

Run: .venv/bin/python benchmarks/bench_statistics.py [--captum-draws 30] [--lime-samples 1000]
     .venv/bin/python benchmarks/bench_statistics.py --cnn [--threads 1]
"""

import argparse
import time
import warnings

import torch
from _timing import pin_threads
from captum.attr import LRP, DeepLift, InputXGradient, IntegratedGradients, Saliency

from nfbst.statistics import (
    deeplift,
    input_gradient,
    input_x_gradient,
    integrated_gradients,
    lime,
    lrp,
)
from nfbst.statistics._synthetic import random_draws

warnings.filterwarnings("ignore")


def timed(fn):
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    sync()
    t0 = time.perf_counter()
    out = fn()
    sync()
    return out, time.perf_counter() - t0


def captum_loop(draws, X, make, idx, **kw):
    outs = []
    for i in idx:
        a = make(draws.module(i)).attribute(X.clone(), target=0, **kw)
        outs.append(a.detach())
    return torch.stack(outs)


def lime_loop(draws, X, pairs, num_samples, seed):
    """``lime``'s explainer per (draw, instance); one explainer per draw, same seed."""
    from lime.lime_tabular import LimeTabularExplainer

    T = X.cpu().numpy()
    dev = X.device
    out = {}
    for i in sorted({p[0] for p in pairs}):
        net = draws.module(i)

        def predict(Z, net=net):
            with torch.no_grad():
                Zt = torch.as_tensor(Z, dtype=torch.float32, device=dev)
                return net(Zt)[:, 0].cpu().numpy()

        ex = LimeTabularExplainer(T, mode="regression", discretize_continuous=False,
                                  random_state=seed)
        for j in sorted(p[1] for p in pairs if p[0] == i):
            e = ex.explain_instance(T[j], predict, num_features=T.shape[1],
                                    num_samples=num_samples)
            out[i, j] = dict(e.local_exp[1])
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--draws", type=int, default=300)
    p.add_argument("--rows", type=int, default=1000)
    p.add_argument("--features", type=int, default=100)
    p.add_argument("--captum-draws", type=int, default=30)
    p.add_argument("--steps", type=int, default=32)
    p.add_argument("--lime-samples", type=int, default=1000)
    p.add_argument("--lime-calls", type=int, default=40, help="0 skips LIME")
    p.add_argument("--threads", type=int, default=2,
                   help="torch and BLAS threads, the same for ours and captum/lime")
    p.add_argument("--repeats", type=int, default=3, help="timings of ours (best kept)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (both sides run there)")
    p.add_argument("--cnn", action="store_true",
                   help="a small CNN's draws (FunctionalDraws) instead of the MLP's")
    args = p.parse_args(argv)
    if args.cnn:
        return bench_cnn(args)
    pin_threads(args.threads)
    S, n, d = args.draws, args.rows, args.features
    torch.manual_seed(0)
    draws = random_draws(S, d, (20, 20, 20), "relu", dtype=torch.float32, random_state=0)
    draws = draws.to(device=args.device)
    X = torch.randn(n, d).to(args.device)
    sub = list(range(min(args.captum_draws, S)))
    scale = S / len(sub)
    print(f"S={S} n={n} d={d}, 3x20 ReLU MLP, float32, device={args.device}, torch threads="
          f"{torch.get_num_threads()}; " + (f"captum timed on {len(sub)} draws x {scale:g} "
                                            "(extrapolated)" if scale > 1 else
                                            "captum timed on all draws"))
    rows = []
    cases = [
        ("gradient / Saliency(abs=False)", input_gradient, {}, Saliency, {"abs": False}),
        ("DeepLIFT / DeepLift", deeplift, {}, DeepLift, {}),
        ("LRP-epsilon / LRP", lrp, {}, LRP, {}),
        ("InputXGradient / InputXGradient", input_x_gradient, {}, InputXGradient, {}),
        (f"IG {args.steps} steps / IntegratedGradients", integrated_gradients,
         {"n_steps": args.steps}, IntegratedGradients, {"n_steps": args.steps}),
    ]
    for name, fn, our_kw, cls, kw in cases:
        fn(draws, X[:8], **our_kw)  # warm-up of both sides on a few rows
        captum_loop(draws, X[:8], cls, sub[:1], **kw)
        runs = [timed(lambda fn=fn, our_kw=our_kw: fn(draws, X, **our_kw))
                for _ in range(args.repeats)]
        eta, t_ours = runs[0][0], min(t for _, t in runs)  # best of repeats (shared CPU)
        ref, t_ref = timed(lambda cls=cls, kw=kw: captum_loop(draws, X, cls, sub, **kw))
        err = ((eta[sub] - ref).abs().max() / ref.abs().max()).item()
        t_ref_all = t_ref * scale
        rows.append((name, t_ours, t_ref_all, err))
        print(f"{name:42s} ours {t_ours:7.2f} s  captum loop {t_ref_all:8.2f} s  "
              f"ratio {t_ref_all / t_ours:6.1f}x  max rel diff {err:.1e}", flush=True)
        del eta, ref

    if args.lime_calls > 0:
        rows.append(bench_lime(draws, X, args))
    print("\nratios (reference / ours):")
    for name, t_o, t_r, _ in rows:
        print(f"  {name}: {t_r / t_o:.1f}x")


def bench_cnn(args):
    """Functional (vmap) statistics of a small CNN vs captum looped over its draws."""
    from torch import nn

    from nfbst import FunctionalDraws

    threads = pin_threads(1 if "--threads" not in __import__("sys").argv else args.threads)
    S = 100 if args.draws == 300 else args.draws
    n = args.rows
    torch.manual_seed(0)
    nets = [nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(72, 10)).eval() for _ in range(S)]
    draws = FunctionalDraws.from_modules(nets, task="classification", input_shape=(1, 8, 8))
    draws = draws.to(device=args.device)
    X = torch.randn(n, 64).to(args.device)
    images = X.reshape(n, 1, 8, 8)
    print(f"CNN draws: S={S} images n={n} (8x8), threads={threads}, device={args.device}; "
          "captum looped over all draws")
    cases = [
        ("gradient / Saliency(abs=False)", input_gradient, {}, Saliency, {"abs": False}),
        ("InputXGradient / InputXGradient", input_x_gradient, {}, InputXGradient, {}),
        (f"IG {args.steps} steps / IntegratedGradients", integrated_gradients,
         {"n_steps": args.steps}, IntegratedGradients, {"n_steps": args.steps}),
    ]
    for name, fn, our_kw, cls, kw in cases:
        fn(draws, X[:8], target=0, **our_kw)
        runs = [timed(lambda fn=fn, our_kw=our_kw: fn(draws, X, target=0, **our_kw))
                for _ in range(args.repeats)]
        eta, t_ours = runs[0][0], min(t for _, t in runs)
        ref, t_ref = timed(lambda cls=cls, kw=kw: captum_loop(draws, images, cls, range(S),
                                                              **kw))
        err = (eta - ref.reshape(S, n, 64)).abs().max().item()
        print(f"{name:42s} ours {t_ours:7.2f} s  captum loop {t_ref:8.2f} s  "
              f"ratio {t_ref / t_ours:6.1f}x  max abs diff {err:.1e}", flush=True)


def bench_lime(draws, X, args):
    """LIME: ours on all draws and rows; lime on a few (draw, instance) calls, extrapolated."""
    S, n = len(draws), X.shape[0]
    N = args.lime_samples
    lime(draws, X[:2], num_samples=N, random_state=0, verbose=0)
    runs = [timed(lambda: lime(draws, X, num_samples=N, random_state=0, verbose=0))
            for _ in range(args.repeats)]
    eta, t_ours = runs[0][0], min(t for _, t in runs)  # best of repeats (shared CPU)
    n_draws = max(1, min(S, args.lime_calls // 10))
    pairs = [(i, j) for i in range(n_draws) for j in range(args.lime_calls // n_draws)]
    ref, t_ref = timed(lambda: lime_loop(draws, X, pairs, N, 0))
    err = max(abs(eta[i, j, f].item() - v) / max(abs(v), 1e-3)
              for (i, j), e in ref.items() for f, v in e.items())
    t_ref_all = t_ref / len(pairs) * S * n
    print(f"{'LIME-nFBST / lime LimeTabularExplainer':42s} ours {t_ours:7.2f} s  lime loop "
          f"{t_ref_all:8.1f} s  ratio {t_ref_all / t_ours:6.1f}x  max rel diff {err:.1e}  "
          f"({N} samples; lime timed on {len(pairs)} of {S * n} explanations, extrapolated)")
    return "LIME", t_ours, t_ref_all, err


if __name__ == "__main__":
    main()
