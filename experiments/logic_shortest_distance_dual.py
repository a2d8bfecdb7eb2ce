"""Logic constraints, why the dual encoding does not learn from the Bellman constraint: traces.

Diagnostic companion of :mod:`experiments.logic_shortest_distance` (``--constraint bellman``,
20 labelled + 100 unlabelled 15-node graphs, MinGNN, Adam 1e-3, σ 1 -> 0.1). It trains the
same networks as that module's ``run`` (same seeds, loaders and trainer; the test
``test_trace_reproduces_the_experiment_module`` checks the test MSE to float rounding) and
hooks into the trainer from outside: the dual encoding's ``before_step`` is wrapped on the
instance, so at every visit of an unlabelled graph it records the τ weights before and after
the step against the atom costs of the network's current predictions. Nothing in
``logiclearn`` is changed.

Variants (their τ step, λ, σ target and loss are set per configuration, ``--configs``):

* ``library``: the library's dual encoding (``DualEncoding``);
* ``saddle``: the encoding's own value at the saddle point, i.e. max over ∧ and min over ∨
  of the current costs (each disjunction capped at 1 by its non-edge atoms, as in Gödel),
  with the truncated-Gaussian loss and σ schedule, no stored τ (:class:`SaddleDual`, the
  value ``DualEncoding`` returns without example ids);
* ``hedge``: the remedy, now the library's ``DualEncoding(step="hedge", clip=5)``: a τ step
  per connective on its own children's costs, ``τ_j <- τ_j ∓ lr (S_j - S)`` (∨ descends, ∧
  ascends), i.e. exponentiated-gradient ("Hedge") steps on the weights without the softmax
  Jacobian's factor ``w_j``, the ancestors' weights and the loss derivative, logits clipped
  to ``[-clip, clip]``, masked logits left where they are;
* ablations of ``hedge`` (diagnostic): ``library-clip``, the library's step with the logits
  clipped (:class:`ClippedDual`), and ``frozen-root``, the library's step with the root's
  weights kept uniform (:class:`FrozenRootDual`).

Finding (``results/logic_shortest_distance/bellman/dual/``, README there): the library's
SGDA steps ``τ_j += ± lr · g · Π(ancestors' weights) · w_j (S_j - S)``. At initialisation the
network underestimates every distance, so every ``upper`` atom holds (cost 0) and the root
conjunction's ascent takes the weight off ``upper`` within 1-2 epochs (0.33 -> 0.02 at τ step
1, -> 1e-4 at τ step 100); because the step is proportional to that weight, it never comes
back (0.002 after 40 epochs, while 15 % of the edges violate ``upper``), and ``upper``'s own
τ, whose step is scaled by the same root weight, stay uniform over its ~73 edges. The network
is then trained on ``source ∧ tight`` alone, which only asks each d_i to be *at least* one
``d_j + w_ij``. Larger τ steps saturate every connective at its first visits (logits ~1e3)
and freeze the disjunctions on the neighbour that was cheapest for the initial network.
"""

from __future__ import annotations

import argparse
import copy
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, TensorDataset

import logiclearn as ll
from experiments import logic_shortest_distance as sd
from experiments._common import (
    add_verbose_argument,
    parse_args,
    save_figure,
    verbosity,
    write_command,
    write_table,
)
from logiclearn.encodings.base import Encoding, Penalty
from logiclearn.encodings.dual import DualEncoding, DualStore
from logiclearn.formula import Formula
from probconstraints._progress import progress
from probconstraints._random import isolated_rng, torch_generator

if TYPE_CHECKING:
    from matplotlib.figure import Figure

NAME = "logic_shortest_distance_dual"
VARIANTS = ("library", "saddle", "hedge", "library-clip", "frozen-root")
HEDGE_CLIP = 5.0  # |logit| bound of the hedge step: a weight is at least e^-10 of the largest
N = sd.N_NODES
ROOT, UPPER, TIGHT = ("and", ()), ("and", (1,)), ("and", (2,))


def or_key(i: int) -> tuple[str, tuple[int, int]]:
    """Dual-store key of node ``i``'s disjunction (``i`` in 1..N-1) in the Bellman formula."""
    return ("or", (2, i - 1))


class SaddleDual(DualEncoding):
    """The dual encoding's value at the saddle point, without stored duals (diagnostic).

    ``S = max`` over ∧ and ``min`` over ∨ of the children's current costs: what
    :class:`DualEncoding` returns when no example ids are given, i.e. where SGDA's τ would be
    if they followed the network exactly. The loss (truncated Gaussian, σ schedule) is the
    trainer's, as for the dual encoding. Without τ there is no mask: each disjunction of
    :func:`sd.bellman_formula` also ranges over its non-edge atoms of cost 1, so it costs
    ``min(1, min over neighbours)``, as in the Gödel encoding.

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> x = ll.term(torch.tensor([0.2, 0.9]))
    >>> f = (x >= 0.5) | (x <= 0.0)
    >>> [round(v, 3) for v in SaddleDual().penalty(f, torch.tensor([0, 1]),
    ...                                            lambda c: c).cost.tolist()]
    [0.2, 0.0]
    """

    name = "dual-saddle"
    needs_index = False

    def before_step(self, formula: Formula, index: torch.Tensor | None,
                    loss_fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
        """No duals to step: the value is the saddle value of the current costs."""
        return None

    def penalty(self, formula: Formula, index: torch.Tensor | None,
                loss_fn: Callable[[torch.Tensor], torch.Tensor]) -> Penalty:
        """``mean(loss_fn(S))`` with ``S`` the saddle value (the example ids are ignored)."""
        return Encoding.penalty(self, formula, None, loss_fn)


class ClippedDual(DualEncoding):
    """ABLATION (diagnostic): the library's τ step, then the logits clipped to ``±clip``.

    Keeps the library's step (proportional to the weight) and adds only the hedge step's
    clip (masked logits left alone): does bounding the logits alone let a dropped weight
    come back? The penalty is computed with the clipped τ.

    Examples
    --------
    >>> import torch
    >>> import logiclearn as ll
    >>> x = ll.term(torch.tensor([0.2]))
    >>> enc, idx = ClippedDual(lr=1e3, clip=2.0), torch.tensor([0])
    >>> enc.before_step((x >= 0.5) | (x <= 0.0), idx, lambda c: c)
    >>> enc.store.logits[("or", ())].abs().max().item() <= 2.0
    True
    """

    name = "dual-clipped"

    def __init__(self, lr: float = 1.0, store: DualStore | None = None,
                 clip: float = HEDGE_CLIP) -> None:
        super().__init__(lr=lr, store=store)
        self.clip = float(clip)

    def before_step(self, formula: Formula, index: torch.Tensor | None,
                    loss_fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
        """The library's τ step (:meth:`DualEncoding.dual_step`), then the clip."""
        self.dual_step(formula, index, loss_fn)
        assert index is not None  # (dual_step checked it)
        for table in self.store.logits.values():
            rows = table[index]
            table.index_copy_(0, index, torch.where(rows <= sd.MASKED_LOGIT / 2, rows,
                                                    rows.clamp(-self.clip, self.clip)))


class FrozenRootDual(DualEncoding):
    """ABLATION (diagnostic): the library's τ steps, except that the root's stay uniform.

    The root conjunction of :func:`sd.bellman_formula` keeps weight 1/3 on each part, so
    ``upper`` cannot be dropped; every other connective steps as in the library.
    """

    name = "dual-frozen-root"

    def before_step(self, formula: Formula, index: torch.Tensor | None,
                    loss_fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
        """The library's τ step (:meth:`DualEncoding.dual_step`), the root's logits kept."""
        assert index is not None, "the dual encodings need example ids"
        keep = self.store.gather(ROOT, 3, index).clone()
        self.dual_step(formula, index, loss_fn)
        self.store.logits[ROOT].index_copy_(0, index, keep)


def make_encoding(variant: str, tau_step: float, A_unl: torch.Tensor) -> Encoding:
    """The encoding of a variant (see the module docstring); masked τ for the stored ones."""
    if variant == "library":
        return DualEncoding(lr=tau_step, store=sd.bellman_dual_store(A_unl))
    if variant == "hedge":
        return DualEncoding(lr=tau_step, store=sd.bellman_dual_store(A_unl), step="hedge",
                            clip=HEDGE_CLIP)
    if variant == "saddle":
        return SaddleDual()
    if variant == "library-clip":
        return ClippedDual(lr=tau_step, store=sd.bellman_dual_store(A_unl))
    if variant == "frozen-root":
        return FrozenRootDual(lr=tau_step, store=sd.bellman_dual_store(A_unl))
    raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")


def atom_costs(d: torch.Tensor, A: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Costs of the ``upper`` atoms ``relu(d_i - d_j - w_ij)`` (0 off the edges) and of the
    ``tight`` disjuncts ``relu(d_j + w_ij - d_i)`` (inf off the edges), shape ``(B, N, N)``.

    Examples
    --------
    >>> A = torch.tensor([[[0.0, 1.0], [1.0, 0.0]]])
    >>> up, ti = atom_costs(torch.tensor([[0.0, 3.0]]), A)
    >>> up[0].tolist(), ti[0, 1].tolist()
    ([[0.0, 0.0], [2.0, 0.0]], [0.0, inf])
    """
    edge = A > 0
    via = d[:, None, :] + A
    up = torch.where(edge, torch.relu(d[:, :, None] - via), 0.0)
    tight = torch.where(edge, torch.relu(via - d[:, :, None]), torch.inf)
    return up, tight


def true_predecessor(A: torch.Tensor, D: torch.Tensor) -> torch.Tensor:
    """``argmin_j D_j + w_ij`` over the neighbours j of each node i (B, N): the disjunct of
    node i that the true distances make tight."""
    return torch.where(A > 0, D[:, None, :] + A, torch.inf).argmin(-1)


def visit_metrics(store: DualStore, index: torch.Tensor, d: torch.Tensor, A: torch.Tensor,
                  pred: torch.Tensor) -> dict[str, float]:
    """Where the stored τ of the graphs ``index`` put their weight, for the predictions ``d``.

    Keys: ``root_source``, ``root_upper``, ``root_tight`` (mean root weights); ``or_argmin``
    (mean weight of a node's disjunction on its currently cheapest neighbours), ``or_true``
    (on the true predecessor ``pred``); ``upper_argmax`` (weight of ``upper`` on its
    currently most violated edge), ``upper_eff`` (its effective number of atoms,
    exp(entropy)); ``tight_argmax`` (weight of ``tight`` on its currently worst node);
    ``upper_violated`` (fraction of edges violating ``upper``).
    """
    w = {k: torch.softmax(v[index].double(), -1) for k, v in store.logits.items()}
    up, ti = atom_costs(d.double(), A.double())
    edge = A > 0
    root = w[ROOT].mean(0)
    on_min, on_true, node_min = [], [], []
    for i in range(1, N):
        wi, c = w[or_key(i)], ti[:, i]
        mn = c.min(-1, keepdim=True).values
        node_min.append(mn[:, 0])
        on_min.append((wi * (c <= mn + 1e-9)).sum(-1))
        on_true.append(wi.gather(1, pred[:, i:i + 1])[:, 0])
    wu = w[UPPER].view(-1, N, N)
    worst = up >= up.flatten(1).max(-1).values[:, None, None] - 1e-9
    nm = torch.stack(node_min, 1)
    return {"root_source": float(root[0]), "root_upper": float(root[1]),
            "root_tight": float(root[2]),
            "or_argmin": float(torch.stack(on_min).mean()),
            "or_true": float(torch.stack(on_true).mean()),
            "upper_argmax": float((wu * (worst & edge)).sum((1, 2)).mean()),
            "upper_eff": float(torch.exp(-(wu * wu.clamp_min(1e-300).log()).sum((1, 2))).mean()),
            "tight_argmax": float((w[TIGHT] * (nm >= nm.max(-1, keepdim=True).values - 1e-9))
                                  .sum(-1).mean()),
            "upper_violated": float(((up > 0).sum((1, 2)) / edge.sum((1, 2))).mean())}


def output_gradients(model: torch.nn.Module, A: torch.Tensor, D: torch.Tensor,
                     index: torch.Tensor, encodings: dict[str, tuple[Encoding, str, float]]
                     ) -> pd.DataFrame:
    """Gradient of each encoding's constraint loss with respect to the predictions d.

    ``encodings``: name -> (encoding, loss kind, σ); the stored duals (if any) of the graphs
    ``index`` are used as they are (no τ step). Per encoding: ``norm`` (of the gradient of the
    batch mean), ``cos_truth`` (cosine with ``d - D``: > 0 means a descent step moves d
    toward the true distances) and ``push_up`` (fraction of the gradient's entries that
    raise d, i.e. are negative).
    """
    rows = []
    with torch.no_grad():
        d0 = model(A)
    err = (d0 - D).flatten()
    for name, (enc, kind, sigma) in encodings.items():
        d = d0.clone().requires_grad_(True)
        pen = enc.penalty(sd.bellman_formula(d, A), index, ll.loss.ConstraintLoss(kind, sigma))
        g = torch.autograd.grad(pen.value, d)[0].flatten()
        rows.append({"encoding": name, "norm": float(g.norm()),
                     "cos_truth": float(g @ err / (g.norm() * err.norm() + 1e-30)),
                     "push_up": float((g < 0).float().mean())})
    return pd.DataFrame(rows)


def trace(seed: int, data: dict, epochs: int, constraint_weight: float = 0.1,
          variant: str = "library", tau_step: float = sd.TAU_STEP,
          sigma_target: float = sd.SIGMA_TARGET, record: bool = True,
          gradients_at: Sequence[int] = (), constraint_loss: str = "auto") -> dict:
    """Train one network as ``sd.run`` does for a constrained method with the Bellman
    constraint, with the dual encoding ``variant``; record the τ at every visit.
    ``constraint_loss``: the trainer's (``'auto'``: truncated Gaussian).

    Returns a dict: ``test_mse``, ``val_mse`` (the checkpoint's, distance units),
    ``best_epoch``, ``epochs`` (DataFrame per epoch: validation MSE, MSE and bias of the
    predictions on the unlabelled graphs, the trainer's history), ``visits`` (DataFrame per
    batch: :func:`visit_metrics` before (``pre_``) and after (``post_``) the τ step, the
    epoch, σ, the bias of the batch's predictions; empty for ``saddle`` or without
    ``record``) and ``gradients`` (:func:`output_gradients` of the library's dual encoding
    with its stored τ, the saddle value, Gödel and DL2 after each epoch in ``gradients_at``).
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    with isolated_rng(torch_generator(seed)):  # as sd.run: same initialisation and batches
        model = sd.MinGNN()
    A, D = data["A"], data["D"]
    gen = torch_generator(seed)
    lab, unl, va, te = data["lab"], data["unl"], data["val"], data["test"]
    labeled = (DataLoader(TensorDataset(A[lab], D[lab]), batch_size=16, shuffle=True,
                          generator=gen) if len(lab) else None)
    unlabeled = DataLoader(ll.IndexedDataset(A[unl]), batch_size=16, shuffle=True,
                           generator=gen)
    enc = make_encoding(variant, tau_step, A[unl])
    seen: dict[str, torch.Tensor] = {}

    def constraint(out: ll.Term | tuple[ll.Term, ...],
                   batch: torch.Tensor | Sequence[torch.Tensor]) -> ll.And:
        seen["d"] = (out if isinstance(out, ll.Term) else out[0]).value.detach()
        return sd.bellman_constraint(out, batch)

    trainer = ll.LogicTrainer(model, constraint, encoding=enc, loss="mse",
                              constraint_weight=constraint_weight, lr=1e-3, sigma_init=1.0,
                              constraint_loss=constraint_loss,
                              sigma_target=sigma_target, random_state=seed, verbose=0)
    D_unl, A_unl = D[unl], A[unl]
    pred = true_predecessor(A_unl, D_unl)
    visits: list[dict] = []
    store = None if variant == "saddle" else getattr(enc, "store", None)
    if record and store is not None:
        everyone = torch.arange(len(unl))
        store.gather(ROOT, 3, everyone)  # created as the encoding would (logits 0)
        store.gather(TIGHT, N - 1, everyone)
        step = enc.before_step

        def before_step(f: Formula, index: torch.Tensor | None,
                        loss_fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
            assert index is not None  # (the dual encodings need example ids)
            d, Ab, p = seen["d"], A_unl[index], pred[index]
            pre = visit_metrics(store, index, d, Ab, p)
            step(f, index, loss_fn)
            post = visit_metrics(store, index, d, Ab, p)
            visits.append({"epoch": len(trainer.history_), "step": trainer.n_steps_,
                           "sigma": trainer.schedule_.sigma,
                           "bias": float((d - D_unl[index]).mean()),
                           **{f"pre_{k}": v for k, v in pre.items()},
                           **{f"post_{k}": v for k, v in post.items()}})

        # an instance attribute over the method: the trace's hook, the encoding unchanged
        setattr(enc, "before_step", before_step)  # noqa: B010
    rows, grads = [], []
    best: tuple[float, int, dict | None] = (np.inf, -1, None)
    t0 = time.perf_counter()
    for epoch in range(epochs):  # one fit per epoch: the same steps as fit(epochs)
        trainer.fit(labeled, unlabeled, epochs=1)
        with torch.no_grad():
            val = float(((model(A[va]) - D[va]) ** 2).mean())
            err_u = model(A_unl) - D_unl
        rows.append({"epoch": epoch, "val_mse": val, "unl_mse": float((err_u ** 2).mean()),
                     "unl_bias": float(err_u.mean()), **trainer.history_[-1]})
        if val < best[0]:
            best = (val, epoch, copy.deepcopy(model.state_dict()))
        if epoch in gradients_at:
            sigma = trainer.schedule_.sigma
            encs: dict[str, tuple[Encoding, str, float]] = {
                "saddle (truncated)": (SaddleDual(), "truncated", sigma),
                "godel": (ll.get_encoding("godel"), "linear", 1.0),
                "dl2": (ll.get_encoding("dl2"), "linear", 1.0)}
            if store is not None:
                encs = {f"{variant} stored τ": (enc, "truncated", sigma), **encs}
            g = output_gradients(model, A_unl, D_unl, torch.arange(len(unl)), encs)
            grads.append(g.assign(epoch=epoch))
    seconds = time.perf_counter() - t0
    assert best[2] is not None
    model.load_state_dict(best[2])
    s = data["scale"]
    with torch.no_grad():
        test = float(((model(A[te]) - D[te]) ** 2).mean()) * s ** 2
    return {"test_mse": test, "val_mse": best[0] * s ** 2, "best_epoch": best[1],
            "epochs": pd.DataFrame(rows), "visits": pd.DataFrame(visits),
            "gradients": pd.concat(grads, ignore_index=True) if grads else pd.DataFrame(),
            "seconds": seconds}


#: name -> keyword arguments of :func:`trace` (λ, variant, τ step, σ target, loss)
CONFIGS: dict[str, dict] = {
    "library λ=0.1": dict(constraint_weight=0.1),
    "library λ=0.1 σ→1": dict(constraint_weight=0.1, sigma_target=1.0),
    "library σ→1": dict(constraint_weight=1.0, sigma_target=1.0),
    "library λ=0.1 linear": dict(constraint_weight=0.1, constraint_loss="linear"),
    "library linear": dict(constraint_weight=1.0, constraint_loss="linear"),
    "saddle λ=0.1": dict(constraint_weight=0.1, variant="saddle"),
    "saddle": dict(constraint_weight=1.0, variant="saddle"),
    "hedge λ=0.1 τ step 1": dict(constraint_weight=0.1, variant="hedge", tau_step=1.0),
    "hedge λ=0.1 τ step 3": dict(constraint_weight=0.1, variant="hedge", tau_step=3.0),
    "hedge λ=0.1 τ step 10": dict(constraint_weight=0.1, variant="hedge", tau_step=10.0),
    "hedge λ=0.1 τ step 30": dict(constraint_weight=0.1, variant="hedge", tau_step=30.0),
    "hedge τ step 3": dict(constraint_weight=1.0, variant="hedge", tau_step=3.0),
    "hedge τ step 10": dict(constraint_weight=1.0, variant="hedge", tau_step=10.0),
    "ablation: library + clip λ=0.1 τ step 10": dict(constraint_weight=0.1,
                                                    variant="library-clip", tau_step=10.0),
    "ablation: root frozen uniform λ=0.1": dict(constraint_weight=0.1, variant="frozen-root"),
}
#: traced on the first seed: τ weights per visit (the figure), output gradients
TRACES: dict[str, dict] = {
    "library τ step 1": dict(constraint_weight=0.1, tau_step=1.0),
    "library τ step 100": dict(constraint_weight=0.1, tau_step=100.0),
    "library τ step 1e4": dict(constraint_weight=0.1, tau_step=1e4),
    "hedge τ step 10": dict(constraint_weight=0.1, variant="hedge", tau_step=10.0),
}


def _args(parser: argparse.ArgumentParser) -> None:
    add_verbose_argument(parser)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--sizes", type=int, nargs=4, default=[20, 100, 150, 300],
                        metavar=("LABELLED", "UNLABELLED", "VALIDATION", "TEST"))
    parser.add_argument("--configs", nargs="*", default=list(CONFIGS), choices=list(CONFIGS),
                        help="training configurations (test and validation MSE per seed)")
    parser.add_argument("--traces", nargs="*", default=list(TRACES), choices=list(TRACES),
                        help="configurations traced on the first seed (τ weights per visit, "
                             "output gradients)")
    parser.add_argument("--merge", action="store_true",
                        help="add these runs to the folder's runs.csv (replacing the same config "
                             "and seed) and rebuild the summary; the COMMAND file gets a line")


def _plot_traces(tr: pd.DataFrame) -> Figure:
    import matplotlib.pyplot as plt

    panels = [("pre_root_upper", "root ∧: weight on 'upper' (floored at 1e-12)", True),
              ("pre_upper_eff", "'upper' ∧: effective number of atoms", False),
              ("pre_or_true", "∨ of a node: weight on its true predecessor", False),
              ("val_mse", "validation MSE (units of the mean distance)", True)]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4))
    for ax, (col, title, log) in zip(axes, panels):
        for name, rows in tr.groupby("trace", sort=False):
            ax.plot(rows["epoch"], rows[col].clip(lower=1e-12), label=name)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("epoch")
        if log:
            ax.set_yscale("log")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def main(argv: list[str] | None = None) -> pd.DataFrame:
    args = parse_args(NAME, argv, __doc__.splitlines()[0], _args)
    n_lab, n_unl, n_val, n_test = args.sizes
    if n_lab < 0 or min(n_unl, n_val, n_test) < 1:
        raise ValueError(f"--sizes must be >= 0 labelled and >= 1 unlabelled, validation and "
                         f"test graphs, got {args.sizes}")
    if args.epochs < 1 or args.seeds < 1:
        raise ValueError(f"--epochs and --seeds must be >= 1, got {args.epochs}, {args.seeds}")
    torch.set_num_threads(1)
    quick = args.quick
    seeds = range(0, 1) if quick else range(args.first_seed, args.first_seed + args.seeds)
    epochs = 2 if quick else args.epochs
    sizes = (min(n_lab, 20), 20, 20, 20) if quick else tuple(args.sizes)
    configs = args.configs[:2] if quick and not args.merge else args.configs
    traces = args.traces[:1] if quick else args.traces
    rows, notes_g = [], ""
    for seed in progress(seeds, verbose=verbosity(args), desc=NAME):
        data = sd.make_data(seed, *sizes)
        for name in configs:
            r = trace(seed, data, epochs, record=False, **CONFIGS[name])
            rows.append({"config": name, "seed": seed, "test_mse": r["test_mse"],
                         "val_mse": r["val_mse"], "best_epoch": r["best_epoch"],
                         "seconds": r["seconds"]})
    df = pd.DataFrame(rows, columns=["config", "seed", "test_mse", "val_mse", "best_epoch",
                                     "seconds"])
    previous = args.out / "runs.csv"
    command = ""
    if args.merge and previous.exists():
        old = pd.read_csv(previous)
        key = ["config", "seed"]
        old = old.merge(df[key], on=key, how="left", indicator=True)
        df = pd.concat([old[old.pop("_merge") == "left_only"], df], ignore_index=True)
        if (args.out / "COMMAND").exists():
            command = (args.out / "COMMAND").read_text(encoding="utf-8")
    order = {c: i for i, c in enumerate(CONFIGS)}
    df = df.sort_values(["config", "seed"], key=lambda c: c.map(order) if c.name == "config"
                        else c, kind="stable").reset_index(drop=True)
    df.to_csv(previous, index=False)
    notes = (f"{df['seed'].nunique()} seed(s), {epochs} epochs, graphs (labelled, unlabelled, "
             f"validation, test) = {sizes}; Bellman constraint; MSE in distance units; "
             "checkpoint on "
             "validation MSE. 'library': logiclearn's dual encoding (τ step 1, σ 1 → 0.1 and "
             "the truncated-Gaussian loss unless the row says σ→1 or linear); 'saddle': the "
             "dual encoding's value at the saddle point (max over ∧, min over ∨, no stored τ); "
             "'hedge': per-connective exponentiated-gradient τ steps (the library's "
             "DualEncoding(step='hedge'); see the module docstring); 'ablation': hedge's "
             "changes one at a time (ClippedDual, FrozenRootDual). λ = 1 unless the row says λ=w.")
    if len(df):
        g = df.groupby("config", sort=False)
        summary = pd.DataFrame({
            "config": list(g.groups),
            "test MSE": [f"{m:.3g} ± {s:.2g}" for m, s in
                         zip(g["test_mse"].mean(), g["test_mse"].std(ddof=1).fillna(0))],
            "val MSE": g["val_mse"].mean().round(3).values,
            "test MSE per seed": [" / ".join(f"{v:.2f}" for v in x) for _, x in g["test_mse"]],
        })
        write_table(summary, args.out, "summary", "Dual encoding on the Bellman constraint",
                    notes)
    traced, grads = [], []
    if traces:
        seed = seeds[0]
        data = sd.make_data(seed, *sizes)
        for name in traces:
            r = trace(seed, data, epochs, gradients_at=(0, epochs // 4, epochs - 1),
                      **TRACES[name])
            per_epoch = r["visits"].groupby("epoch").mean(numeric_only=True).reset_index()
            traced.append(per_epoch.merge(r["epochs"][["epoch", "unl_bias", "unl_mse",
                                                       "val_mse"]], on="epoch")
                          .assign(trace=name, test_mse=r["test_mse"]))
            grads.append(r["gradients"].assign(trace=name))
        tr = pd.concat(traced, ignore_index=True)
        tr.round(5).to_csv(args.out / "trace_epochs.csv", index=False)  # every epoch
        save_figure(_plot_traces(tr), args.out, "trace")
        gr = pd.concat(grads, ignore_index=True)
        notes_g = (f"Seed {seed}: gradient of each encoding's constraint loss with respect to "
                   "the predictions on the 100 unlabelled graphs, on the network state of the "
                   "traced run after the epoch (σ of that run for the truncated losses). "
                   "cos_truth: cosine with d - D (> 0: a descent step moves d toward the true "
                   "distances); push_up: fraction of entries whose descent step raises d.")
        write_table(gr[["trace", "epoch", "encoding", "norm", "cos_truth", "push_up"]].round(3),
                    args.out, "gradients", "Constraint gradients on the predictions", notes_g)
        keys = ["epoch", "pre_root_source", "pre_root_upper", "pre_root_tight",
                "pre_upper_eff", "pre_upper_argmax", "pre_or_argmin", "post_or_argmin",
                "pre_or_true", "pre_tight_argmax", "pre_upper_violated", "unl_bias"]
        at = sorted({0, 1, 2, 5, epochs // 4, epochs // 2, epochs - 1} & set(range(epochs)))
        write_table(tr[tr["epoch"].isin(at)][["trace", *keys]].round(4), args.out,
                    "trace", "Where the τ put their weight (epoch means over visits)",
                    f"Seed {seed}; pre_/post_: before/after the visit's τ step; see "
                    "visit_metrics in experiments/logic_shortest_distance_dual.py.")
    path = write_command(args)
    if command:
        path.write_text(command + path.read_text(encoding="utf-8"), encoding="utf-8")
    return df


if __name__ == "__main__":  # pragma: no cover
    main()
