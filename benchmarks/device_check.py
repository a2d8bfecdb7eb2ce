"""Device check: CUDA results equal CPU results (float32 tolerance), with GPU/CPU time ratios.

For every posterior backend (fit with ``BayesianMLP(device=...)``), every registered
statistic, the evidence value and the CRT, the same computation runs on ``--reference``
(default ``cpu``) and on ``--device`` (default ``cuda``), and the largest difference is
compared to a tolerance:

* statistics, evidence and CRT start from the *same* posterior draws moved to each device:
  statistics within float32 rounding (``rtol`` 1e-4 of the largest value), evidence and CRT
  p-values equal up to rare float32 ties (at most 0.5 % of cells differing, by at most a few
  multiples of the resolution);
* backends are fitted on each device from the same ``random_state``. ``hmc``, ``sgld``,
  ``anchored`` and the full-covariance ``laplace`` draw their random numbers on the CPU
  stream whatever the device, so their posterior-mean predictions must agree to float32
  tolerance (float64 arithmetic; MCMC can amplify a rounding difference into a different
  accept decision, so a looser 5 % of the predictive sd is the bound); ``vi`` and
  ``ensemble`` sample their training noise from the device's own stream (torch's CUDA
  generator), so their fits are compared as two posterior approximations: predictive means
  within 25 % of the predictive sd.

Exit status 0 when every check passes, 1 when one fails, 2 when ``--device`` is not
available (printed as such, within seconds). Run on a GPU machine:

    bash benchmarks/device_check.sh              # < 5 minutes on one GPU
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
import torch

BACKENDS = ("vi", "ensemble", "laplace", "anchored", "sgld", "hmc")
EXACT_RNG = ("laplace", "anchored", "sgld", "hmc")  # random numbers from CPU streams
# the library's statistics ("gradient" is an alias of "grad"; user-registered ones are not ours)
STATISTICS = ("grad", "deeplift", "lrp", "input_x_gradient", "integrated_gradients", "lime")


def _sync(dev):
    if torch.device(dev).type == "cuda":
        torch.cuda.synchronize(dev)


def timed(fn, dev, repeats=1):
    """``(best seconds of repeats, value)``; synchronises the device around each call."""
    best, value = float("inf"), None
    for _ in range(repeats):
        _sync(dev)
        t0 = time.perf_counter()
        value = fn()
        _sync(dev)
        best = min(best, time.perf_counter() - t0)
    return best, value


def _np(x):
    return x.detach().cpu().double().numpy() if torch.is_tensor(x) else np.asarray(x, float)


def _friedman(n, seed=0):
    from sklearn.datasets import make_friedman1

    X, y = make_friedman1(n_samples=2 * n, n_features=8, noise=1.0, random_state=seed)
    return X[:n], y[:n], X[n:]


def check_backends(ref, dev, quick, backends=BACKENDS):
    """Per backend: fit on both devices, compare posterior-mean predictions on new rows."""
    from nfbst import BayesianMLP

    n = 200 if quick else 1000
    X, y, Xt = _friedman(n)
    steps = 150 if quick else 1500
    params = {
        "vi": dict(n_steps=steps), "ensemble": dict(n_steps=steps, n_ensemble=3),
        "laplace": dict(n_steps=steps), "anchored": dict(n_steps=steps, n_ensemble=32),
        "sgld": dict(num_samples=64, warmup_steps=100 if quick else 400,
                     n_steps=200 if quick else 800),
        "hmc": dict(num_samples=64, warmup_steps=40 if quick else 150),
    }
    rows = []
    for name in backends:
        out = {}
        for key, d in (("ref", ref), ("dev", dev)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # convergence notes of the short runs
                model = BayesianMLP(hidden=(16,), activation="tanh", inference=name, device=d,
                                    random_state=0, **params[name])
                sec, bnn = timed(lambda m=model: m.fit(X, y), d)
            draws = bnn.sample_posterior(32).to(device="cpu")
            pred = draws.forward(torch.as_tensor(Xt, dtype=torch.float32))[..., 0]
            out[key] = (sec, _np(pred.mean(0)), float(_np(pred.std(0)).mean()))
        diff = float(np.abs(out["dev"][1] - out["ref"][1]).max())
        sd = out["ref"][2]
        tol = 0.05 * sd if name in EXACT_RNG else 0.25 * sd
        rows.append((f"backend {name}", diff, tol, out["dev"][0] / out["ref"][0]))
    return rows


def check_statistics(ref, dev, quick):
    """Every registered statistic on the same draws on both devices (float32)."""
    from nfbst.statistics import get_statistic
    from nfbst.statistics._synthetic import random_draws

    S, n, d = (50, 200, 10) if quick else (200, 2000, 20)
    base = random_draws(S, d, hidden=(32, 32), activation="relu", dtype=torch.float32)
    X = torch.randn(n, d, generator=torch.Generator().manual_seed(1))
    options = {"lime": dict(num_samples=200, random_state=0, verbose=0),
               "integrated_gradients": dict(n_steps=16, verbose=0),
               "deeplift": dict(verbose=0), "lrp": dict(verbose=0),
               "input_x_gradient": dict(verbose=0)}
    rows = []
    for name in STATISTICS:
        fn = get_statistic(name)
        kw = dict(options.get(name, {}))
        if name == "lime":  # lime: its regressions on the CPU, fewer rows
            Xs = X[: n // 10]
        else:
            Xs = X
        res = {}
        for key, dv in (("ref", ref), ("dev", dev)):
            draws = base.to(device=dv)
            Xd = Xs.to(dv)
            sec, eta = timed(lambda f=fn, a=draws, x=Xd, kw=kw: f(a, x, **kw), dv)
            res[key] = (sec, _np(eta))
        scale = float(np.abs(res["ref"][1]).max())
        diff = float(np.abs(res["dev"][1] - res["ref"][1]).max())
        rows.append((f"statistic {name}", diff, 1e-4 * scale + 1e-6,
                     res["dev"][0] / res["ref"][0]))
    return rows


def _fraction_check(name, a, b, resolution, dev_sec, ref_sec):
    """``diff`` = fraction of cells that differ (tolerance 0.5 %) unless one differs by more
    than 3 resolution steps (then the largest difference is reported, tolerance 0)."""
    delta = np.abs(a - b)
    if delta.max() > 3 * resolution + 1e-12:
        return (name, float(delta.max()), 0.0, dev_sec / ref_sec)
    return (name, float((delta > 0).mean()), 0.005, dev_sec / ref_sec)


def check_evidence(ref, dev, quick):
    """Evidence of one statistic grid computed on both devices."""
    from nfbst.evidence import evidence_value

    S, n, d = (100, 500, 10) if quick else (300, 4000, 20)
    rng = np.random.default_rng(0)
    eta = (rng.normal(size=(S, n, d)) + rng.normal(scale=2.0, size=(1, n, d))).astype(
        np.float32)
    a = {k: timed(lambda dv=dv: evidence_value(eta, axis=0, device=dv, verbose=0), dv)
         for k, dv in (("ref", ref), ("dev", dev))}
    b = {k: timed(lambda dv=dv: evidence_value(eta[:, : n // 4], axis=0, bandwidth="cv",
                                               device=dv, verbose=0), dv)
         for k, dv in (("ref", ref), ("dev", dev))}
    return [_fraction_check(name, r["dev"][1], r["ref"][1], 1 / S, r["dev"][0], r["ref"][0])
            for name, r in (("evidence (silverman)", a), ("evidence (cv bandwidth)", b))]


def check_crt(ref, dev, quick):
    """CRT p-values (loss statistic) of the same draws on both devices."""
    from nfbst.crt import loss_crt_pvalues
    from nfbst.statistics._synthetic import random_draws

    S, n, d, K = (32, 200, 6, 19) if quick else (64, 1000, 10, 99)
    draws = random_draws(S, d, hidden=(32,), activation="tanh", dtype=torch.float32)
    rng = np.random.default_rng(2)
    X = rng.normal(size=(n, d))
    y = _np(draws.predict_mean(torch.as_tensor(X, dtype=torch.float32))[:, 0]) + rng.normal(
        size=n)
    r = {k: timed(lambda dv=dv: loss_crt_pvalues(draws, X, y, n_randomizations=K,
                                                 random_state=0, device=dv), dv)
         for k, dv in (("ref", ref), ("dev", dev))}
    return [_fraction_check("CRT p-values (loss)", r["dev"][1], r["ref"][1], 1 / (K + 1),
                            r["dev"][0], r["ref"][0])]


def compare_devices(reference="cpu", device="cuda", quick=False, parts=None,
                    backends=BACKENDS):
    """Rows ``(check, difference, tolerance, time ratio device/reference)`` of every check."""
    from nfbst._device import check_device

    check_device(reference, "reference")
    check_device(device, "device")
    parts = parts or ("backends", "statistics", "evidence", "crt")
    funcs = {"backends": lambda r, d, q: check_backends(r, d, q, backends),
             "statistics": check_statistics,
             "evidence": check_evidence, "crt": check_crt}
    rows = []
    for part in parts:
        rows += funcs[part](reference, device, quick)
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--reference", default="cpu")
    p.add_argument("--quick", action="store_true", help="small sizes (CI, seconds)")
    p.add_argument("--threads", type=int, default=4, help="CPU threads of the reference")
    p.add_argument("--parts", default="backends,statistics,evidence,crt")
    p.add_argument("--backends", default=",".join(BACKENDS))
    args = p.parse_args(argv)
    if torch.device(args.device).type == "cuda" and not torch.cuda.is_available():
        print(f"CUDA is unavailable on this machine (torch {torch.__version__}, "
              f"torch.cuda.is_available() is False): nothing to check for --device "
              f"{args.device}", flush=True)
        return 2
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from _timing import pin_threads

    pin_threads(args.threads)
    name = torch.cuda.get_device_name(args.device) if torch.device(
        args.device).type == "cuda" else args.device
    print(f"device: {name}; reference: {args.reference}; torch {torch.__version__}", flush=True)
    t0 = time.perf_counter()
    rows = compare_devices(args.reference, args.device, args.quick, args.parts.split(","),
                           args.backends.split(","))
    failed = 0
    print(f"{'check':32s} {'difference':>12s} {'tolerance':>12s} {'time ratio':>11s}  ok")
    for check, diff, tol, ratio in rows:
        ok = diff <= tol
        failed += not ok
        print(f"{check:32s} {diff:12.3g} {tol:12.3g} {ratio:10.2f}x  {'yes' if ok else 'NO'}")
    print(f"time ratio = {args.device} / {args.reference} wall time (below 1: the device is "
          f"faster); {len(rows) - failed} of {len(rows)} checks pass; "
          f"{time.perf_counter() - t0:.0f} s in all", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
