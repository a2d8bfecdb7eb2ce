"""Benchmark: cost of a constrained training step against an unconstrained one.

Same model (a LeNet on 28x28 inputs, the paper's MNIST network size), same batch (128
labelled images + 128 unlabelled pairs x / R(x)), same optimiser (Adam). We time

* ``plain``: a hand-written unconstrained torch step (cross-entropy on the labelled part of the
  one concatenated forward pass), what a user runs without constraints;
* ``handwritten dual``: the authors' research-code way of writing the dual constraint by hand
  (list of atoms, stacked, softmax of per-example τ, τ step, θ step), in plain torch;
* ``LogicTrainer`` steps with no constraint and with each encoding, and the dual step with
  ``compile_constraint=True`` (its first two steps, the second of which compiles, are timed
  apart and printed; ``--no-compile`` skips it);

and print each step's best time (``_timing.best_time`` over ``--repeats`` steps, the minimum
over ``--rounds`` interleaved rounds) and its ratio to ``plain``. Every side runs on the same
number of threads (``_timing.pin_threads(--threads)``, printed). The target is a constrained
(dual) step within 1.5x of an unconstrained step on the small MLP. It also prints the largest
difference of weights and duals between the eager and the compiled dual step after 30 steps.
Run under the shared lock:
``.venv/bin/python benchmarks/bench_logiclearn.py``; with ``PYTHONPATH``
pointing at another checkout's package the same script times that version of logiclearn.
"""

from __future__ import annotations

import argparse
import itertools
import math
import pathlib
import sys
import time

import torch
from torch import nn

import logiclearn as ll
from probconstraints._random import isolated_rng, torch_generator

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _timing import best_time, pin_threads  # noqa: E402

B = 128
COMPILED = "LogicTrainer, dual, compile_constraint=True"


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 6, 5), nn.Conv2d(6, 16, 5)
        self.f1, self.f2, self.f3 = nn.Linear(256, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.c1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.c2(x)), 2)
        return self.f3(torch.relu(self.f2(torch.relu(self.f1(x.flatten(1))))))


class TinyMLP(nn.Module):
    """64-128-10 MLP on 8x8 images: the worst case, where the constraint's Python overhead is
    largest relative to the network's arithmetic."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))

    def forward(self, x):
        return self.net(x)


def constraint(outs, batch):
    px, pr = (o.softmax(-1) for o in outs)
    return ll.any_of(pr[:, :9] == 1.0) | (px[:, 6] == 1.0)


def make_batches(size=28, n_batches=8, seed=0):
    g = torch_generator(seed)
    out = []
    for i in range(n_batches):
        shape = (B, 1, size, size)
        xl, yl = torch.randn(*shape, generator=g), torch.randint(0, 10, (B,), generator=g)
        xu, xr = torch.randn(*shape, generator=g), torch.randn(*shape, generator=g)
        out.append(((xl, yl), (xu, xr, torch.arange(i * B, (i + 1) * B))))
    return out


def _init(net, seed=0):
    """The network initialised from ``seed`` without touching torch's global generator."""
    with isolated_rng(torch_generator(seed)):
        return net()


def plain_step_fn(net):
    model = _init(net)
    opt = torch.optim.Adam(model.parameters(), 1e-3)

    def step(lab, unl):
        (xl, yl), (xu, xr, _) = lab, unl
        out = model(torch.cat([xl, xu, xr]))
        loss = nn.functional.cross_entropy(out[:B], yl)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def handwritten_dual_step_fn(net, n_examples=8 * B, tau_lr=2.34, sigma=1.0):
    """The constraint written by hand, as in the authors' script (per-example τ tensors)."""
    model = _init(net)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    tau_inner = torch.zeros(n_examples, 9)
    tau_outer = torch.zeros(n_examples, 2)

    def cost(px, pr, idx, t_in, t_out):
        inner = (torch.softmax(t_in, -1) * (pr[:, :9] - 1).abs()).sum(-1)
        both = torch.stack([inner, (px[:, 6] - 1).abs()], -1)
        return (torch.softmax(t_out, -1) * both).sum(-1)

    def closs(S):
        return 0.5 * (S / sigma) ** 2 + torch.log1p(torch.erf(S / (sigma * math.sqrt(2))))

    def step(lab, unl):
        (xl, yl), (xu, xr, idx) = lab, unl
        out = model(torch.cat([xl, xu, xr]))
        px, pr = out[B:2 * B].softmax(-1), out[2 * B:].softmax(-1)
        t_in = tau_inner[idx].clone().requires_grad_(True)
        t_out = tau_outer[idx].clone().requires_grad_(True)
        g_in, g_out = torch.autograd.grad(closs(cost(px.detach(), pr.detach(), idx, t_in,
                                                     t_out)).sum(), [t_in, t_out])
        tau_inner[idx] -= tau_lr * g_in
        tau_outer[idx] -= tau_lr * g_out
        c = cost(px, pr, idx, tau_inner[idx], tau_outer[idx])
        loss = nn.functional.cross_entropy(out[:B], yl) + closs(c).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def trainer_step_fn(net, encoding, compile_constraint=False):
    return _trainer(net, encoding, compile_constraint).step


def _trainer(net, encoding, compile_constraint=False):
    # the option only when asked, so that older checkouts (PYTHONPATH) run with --no-compile
    extra = {"compile_constraint": True} if compile_constraint else {}
    return ll.LogicTrainer(_init(net), None if encoding is None else constraint,
                           encoding=encoding or "dual",
                           encoding_params={"lr": 2.34} if encoding == "dual" else None, **extra)


def compiled_dual_step_fn(net, batches):
    """The dual step with ``compile_constraint=True``; returns it and the seconds its first
    two calls took (the first runs eagerly and records the formula's structure, the second
    compiles: once per trainer, formula structure and output shape)."""
    t = _trainer(net, "dual", compile_constraint=True)
    t0 = time.perf_counter()
    t.step(*batches[0])
    t.step(*batches[1])
    return t.step, time.perf_counter() - t0


def compiled_matches_eager(net, batches, steps=30):
    """Largest absolute difference of the weights and duals after ``steps`` dual steps, eager
    against compiled (float rounding only)."""
    states = []
    for flag in (False, True):
        t = _trainer(net, "dual", compile_constraint=flag)
        for lab, unl in itertools.islice(itertools.cycle(batches), steps):
            t.step(lab, unl)
        states.append({**t.model.state_dict(), **t.encoding_.state_dict()})
    return max(float((states[0][k] - states[1][k]).abs().max()) for k in states[0])


def bench(fns, batches, repeats=40, rounds=3):
    """Best (minimum) seconds per step of each function: ``best_time`` over ``repeats`` single
    steps (cycling through the batches), in ``rounds`` rounds that interleave the functions.

    The minimum is the least disturbed by other processes on a shared machine.
    """
    for fn in fns.values():  # warm-up
        for lab, unl in batches[:2]:
            fn(lab, unl)
    best = dict.fromkeys(fns, math.inf)
    for _ in range(rounds):
        for k, fn in fns.items():
            cycle = itertools.cycle(batches)
            sec, _ = best_time(lambda fn=fn, cycle=cycle: fn(*next(cycle)), repeats=repeats)
            best[k] = min(best[k], sec)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mlp-only", action="store_true", help="skip the LeNet case")
    parser.add_argument("--no-compile", action="store_true",
                        help="skip the compiled dual step (compile_constraint=True)")
    args = parser.parse_args(argv)
    threads = pin_threads(args.threads)
    print(f"logiclearn from {pathlib.Path(ll.__file__).parent}")
    cases = [("MLP 64-128-10 on 8x8", TinyMLP, 8)]
    if not args.mlp_only:
        cases.append(("LeNet 28x28", LeNet, 28))
    results = {}
    for label, net, size in cases:
        batches = make_batches(size)
        fns = {
            "plain (unconstrained, hand-written)": plain_step_fn(net),
            "handwritten dual (authors' style)": handwritten_dual_step_fn(net),
            "LogicTrainer, no constraint (labelled only)": trainer_step_fn(net, None),
        }
        for enc in ["dual", "dl2", "product", "lukasiewicz", "godel", "pd", "semantic"]:
            fns[f"LogicTrainer, {enc}"] = trainer_step_fn(net, enc)
        compile_s = None
        if not args.no_compile:
            fns[COMPILED], compile_s = compiled_dual_step_fn(net, batches)
        best = bench(fns, batches, args.repeats, args.rounds)
        base = best["plain (unconstrained, hand-written)"]
        print(f"\n{label}, batch {B} labelled + {B} pairs, {threads} torch thread(s) on every "
              f"side; best of {args.rounds} x {args.repeats} steps")
        print(f"{'step':44s} {'ms':>8s} {'ratio vs plain':>15s}")
        for k, v in best.items():
            print(f"{k:44s} {1000 * v:8.3f} {v / base:15.3f}")
        r = best["LogicTrainer, dual"] / base
        h = best["LogicTrainer, dual"] / best["handwritten dual (authors' style)"]
        print(f"constrained (dual) / unconstrained step ratio: {r:.3f} (target <= 1.5)")
        print(f"LogicTrainer dual / hand-written dual: {h:.3f}")
        if compile_s is not None:
            rc = best[COMPILED] / base
            print(f"constrained (dual, compile_constraint=True) / unconstrained step ratio: "
                  f"{rc:.3f} (target <= 1.5); first two steps with compilation {compile_s:.1f} s")
            print(f"compiled vs eager dual after 30 steps: max |difference| of weights and duals "
                  f"{compiled_matches_eager(net, batches):.2e}")
        results[label] = best
    return results


if __name__ == "__main__":
    main()
