"""Logic constraints, shortest distance: graph distances under triangle/symmetry or Bellman rules.

DL2's task (Fischer et al. 2019) as the authors' ``srp_exp`` runs it: random weighted graphs
with 15 nodes; a network maps the weighted adjacency matrix to the 15 distances from node 0.
The authors' MLP on the flattened adjacency does not learn the task from 100-300 labelled
graphs here (test MSE above predicting each node's mean distance), so the default model is a
small message-passing network with min aggregation (:class:`MinGNN`); ``MLP`` is kept.
A few graphs carry true distances (Dijkstra, scipy); on the unlabelled graphs, for every node
k, with d the prediction on G and d^(k) the prediction on G with nodes 0 and k swapped
(= distances from k), the constraint is
``AND_{i not in {0,k}} d_i <= d_k + d^(k)_i  AND  d_k = d^(k)_k`` (triangle inequality and
symmetry). Test MSE, MAE and constraint satisfaction (tolerance 1 distance unit, the code's
``tol``) for every encoding but the semantic loss (2**196 worlds) and for supervised-only.
The default sizes are DL2's semi-supervised regime, few labelled graphs (20) and more
unlabelled ones (100). The constrained methods take one step per unlabelled batch and cycle
the labelled loader, 3.5x the steps of one pass over 20 labelled graphs, so the baseline is a
supervised network given the same steps (``supervised-matched``).

``--constraint bellman`` trains with DL2's own shortest-path constraint instead
(:func:`bellman_formula`), on the unlabelled graph itself (no swapped views): ``d_0 = 0``,
``d_i <= d_j + w_ij`` on every edge and, for every node i != 0, ``OR_j d_i >= d_j + w_ij``
over its neighbours, i.e. the Bellman equations, whose only solution is the true distances.
Non-edges are masked with constant atoms (true in the conjunction, false with DL2 cost 1 in
the disjunctions; the dual encoding's τ of non-edge atoms start at weight 0,
:func:`bellman_dual_store`). ``--sizes 0 ...`` trains on the constraint alone (inputs scaled
by the mean edge weight). Every run scores the test graphs for both constraints.

Finding with the Bellman constraint (``results/logic_shortest_distance/bellman/``, 5 seeds,
λ in {0.1, 1, 10} chosen on validation MSE): it lowers the test MSE with the Gödel encoding,
0.95 ± 0.20 against 1.33 ± 0.40 for ``supervised-matched`` at 40 epochs and 0.16 ± 0.11
against 0.48 ± 0.28 at 100 epochs, lower on 5/5 seeds both times, with 95 % of test graphs
satisfying it (46 %); product and DL2 are lower on 3/5 seeds at 100 epochs (0.32, 0.33), the
dual encoding is worse than supervised (0.66) and does not learn from the constraint alone.
Without any label DL2's encoding learns the distances (MSE 0.50 ± 0.18 at 100 epochs, all
seeds; 11.3 for the per-node test mean); Gödel and product reach 0.12-0.19 on 3 seeds and
stall on 2, whose initial networks put the source atom's cost above the fuzzy encodings'
clamp at 1 (truth 0 for the whole conjunction, zero gradient).
Why the dual encoding does not learn here (:mod:`experiments.logic_shortest_distance_dual`,
``bellman/dual/``): the initial network satisfies every ``upper`` atom, the root
conjunction's τ ascent takes the weight off ``upper`` in 1-2 epochs, and the softmax step,
proportional to the weight itself, never gives it back; the encoding's saddle value and a
per-connective exponentiated-gradient τ step (diagnostic, outside logiclearn) both learn.

Finding with the triangle constraint (``results/logic_shortest_distance/constraint_weight/``,
5 seeds, λ from 0.01 to 1 with ``--constraint-weights``, and a warm start with
``--warm-start``): no weight, with or
without a warm start, lowers the test MSE below ``supervised-matched``'s (1.33; best 1.48
with dual λ = 0.01 after 20 supervised epochs, 1.71 with DL2 λ = 0.01 warm), here or with
100 labelled graphs, so DL2's claim of a lower error is not reproduced. The constraint buys
satisfaction with error, monotonically in λ (dual 2.15 -> 5.96 MSE for 27 -> 87 % of graphs
satisfied, DL2 3.2 -> 8.7 for 62 -> 100 %), and that trade-off is better than the one of
stopping the supervised network early: at the same MSE the constrained networks satisfy the
constraint on many more test graphs (DL2 λ = 0.01 warm: MSE 1.71, 36 %; supervised stopped at
35 epochs: 1.64, 5 %; dual λ = 0.01: 2.15, 27 % against 2.78, 8 % at 30 epochs), while
DL2 at λ = 1 is no better than supervised stopped at 10 epochs (8.7 / 100 % against 8.6 /
100 %). The constraint term is small in value (2 % of the squared error after a few epochs)
but its gradient does not vanish at the optimum of the squared error: the truncated-Gaussian
loss is linear near 0 with slope √(2/π)/σ ≈ 8 at σ = 0.1, and DL2's cost is linear.
Keeping σ at 1 (``--sigma-target 1``, ``sigma_target/``) halves dual's MSE at λ = 1 (3.03)
and hardly changes it at λ = 0.01 (1.98); neither beats supervised at 40 epochs. At 100
epochs (``epochs_100/``) both improve and dual λ = 0.01 has the lower mean, 0.38 ± 0.08
against 0.48 ± 0.28, lower on 4/5 seeds but by a large margin only on supervised's worst
seed (0.49 vs 0.97) and higher on one (0.37 vs 0.29).
"""

from __future__ import annotations

import argparse
import copy
import time
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, RandomSampler, TensorDataset

import logiclearn as ll
from experiments._common import (
    add_verbose_argument,
    parse_args,
    save_figure,
    verbosity,
    write_command,
    write_table,
)
from logiclearn.encodings import dual as dual_module
from logiclearn.encodings.dual import DualStore
from probconstraints._progress import progress
from probconstraints._random import isolated_rng, torch_generator

NAME = "logic_shortest_distance"
N_NODES = 15
METHODS = ["supervised", "supervised-matched", "dual", "dl2", "pd", "product", "lukasiewicz",
           "godel"]
# "supervised" passes over the labelled graphs once per epoch; the constrained methods take one
# step per unlabelled batch and cycle the labelled loader, so with 20 labelled and 100
# unlabelled graphs they take 3.5x as many steps on labelled batches in the same epochs.
# "supervised-matched" draws as many labelled batches per epoch as there are unlabelled
# batches: the same number of optimizer steps on labelled batches as the constrained runs.
TOL = 1.0
MODEL = "gnn"


def random_graphs(n_graphs: int, rng: np.random.Generator, p_edge: float = 0.25,
                  w_low: float = 1.0, w_high: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """Connected random graphs: a random spanning path plus Erdős–Rényi edges, U(w) weights.

    Returns the weighted adjacency matrices ``(n_graphs, N, N)`` (0 = no edge) and the
    distances from node 0 ``(n_graphs, N)`` computed with Dijkstra (scipy).
    """
    from scipy.sparse.csgraph import shortest_path

    A = np.zeros((n_graphs, N_NODES, N_NODES))
    for g in range(n_graphs):
        mask = np.triu(rng.random((N_NODES, N_NODES)) < p_edge, 1)
        order = rng.permutation(N_NODES)
        mask[np.minimum(order[:-1], order[1:]), np.maximum(order[:-1], order[1:])] = True
        W = np.where(mask, rng.uniform(w_low, w_high, (N_NODES, N_NODES)), 0.0)
        A[g] = W + W.T
    D = np.stack([shortest_path(a, method="D", directed=False, indices=0) for a in A])
    return A, D


def swap_views(A: np.ndarray) -> np.ndarray:
    """Adjacency matrices with nodes 0 and k swapped, k = 1..N-1: shape ``(N-1, n, N, N)``."""
    views = []
    for k in range(1, N_NODES):
        perm = np.arange(N_NODES)
        perm[[0, k]] = [k, 0]
        views.append(A[:, perm][:, :, perm])
    return np.stack(views)


_K = np.arange(1, N_NODES)
_TRI_MASK = np.array([[i not in (0, k) for i in range(N_NODES)] for k in _K])  # (N-1, N)


CONSTRAINTS = ("triangle", "bellman")


def bellman_formula(d: ll.Term | torch.Tensor, A: torch.Tensor,
                    false_cost: float = 1.0) -> ll.And:
    """DL2's shortest-path constraint on the graph itself: the Bellman equations from node 0.

    ``d_0 = 0`` (``"source"``); ``d_i <= d_j + w_ij`` for every edge, both directions
    (``"upper"``); and for every node ``i != 0``, ``OR_j (d_i >= d_j + w_ij)`` over its
    neighbours j (``"tight"``, one disjunction per node). Together: ``d_0 = 0`` and
    ``d_i = min_j (d_j + w_ij)``, whose only solution on a connected graph with positive
    weights is the shortest distances from node 0.

    Atoms are vectors over all N node pairs, so non-edges are masked with constant atoms: in
    ``"upper"`` a non-edge compares ``0 <= 0`` (true, cost 0: neutral in every encoding's
    conjunction), in ``"tight"`` a non-edge is the false atom ``false_cost <= 0``. Its cost
    ``false_cost = 1`` is the neutral element of DL2's (and the product t-conorm's)
    disjunction, the product of costs, and a fully false atom (truth 0, the neutral element)
    in the fuzzy encodings, which clamp costs at 1; in the dual encoding τ descent moves the
    disjunction's weight away from it (at the saddle point the disjunction costs the minimum,
    capped at 1). For truth values any ``false_cost`` above the tolerance makes the atom false
    (``inf`` is allowed here; the cost of such a formula is then not finite).

    Parameters
    ----------
    d : Term or Tensor, shape (B, N)
        Predicted distances from node 0.
    A : Tensor, shape (B, N, N)
        Symmetric weighted adjacency matrices, 0 = no edge, in the units of ``d``.
    false_cost : float
        Expression (and DL2 cost) of the masked non-edge atoms of the disjunctions, > 0.

    Returns
    -------
    Formula
        ``source & upper & tight`` (named children).

    Examples
    --------
    >>> import torch
    >>> A = torch.tensor([[[0.0, 1.0, 4.0], [1.0, 0.0, 2.0], [4.0, 2.0, 0.0]]])
    >>> d = torch.tensor([[0.0, 1.0, 3.0]])             # Dijkstra's distances from node 0
    >>> f = bellman_formula(d, A)
    >>> f.holds().tolist(), f.cost("dl2").tolist()
    ([True], [0.0])
    >>> bellman_formula(torch.tensor([[0.0, 1.0, 2.5]]), A).holds().tolist()  # d_2 too small
    [False]
    """
    d = d.value if isinstance(d, ll.Term) else d
    false_cost = float(false_cost)
    if not false_cost > 0:
        raise ValueError(f"false_cost must be > 0, got {false_cost}")
    n = d.shape[1]
    edge = A > 0  # (B, i, j)
    d_i = d[:, :, None].expand_as(A)
    via = d[:, None, :] + A  # d_j + w_ij
    zero = torch.zeros((), dtype=d.dtype)
    lhs = torch.where(edge, d_i, zero)  # non-edges: 0 <= 0 (true) and 0 >= false_cost (false)
    upper = ll.all_of(ll.le(lhs.flatten(1), torch.where(edge, via, zero).flatten(1)),
                      name="upper")
    rhs = torch.where(edge, via, torch.full((), false_cost, dtype=d.dtype))
    tight = ll.all_of([ll.any_of(ll.ge(lhs[:, i], rhs[:, i])) for i in range(1, n)],
                      name="tight")
    return ll.all_of(ll.eq(d[:, 0], 0.0).named("source"), upper, tight)


MASKED_LOGIT = dual_module.MASKED_LOGIT  # a dual logit whose softmax weight is exactly 0


def bellman_dual_store(A: torch.Tensor) -> DualStore:
    """Dual variables of :func:`bellman_formula` that give the masked non-edge atoms weight 0.

    The dual encoding's connectives are convex combinations ``softmax(τ) · costs`` with τ per
    training example, starting uniform. A non-edge disjunct of cost 1 would take weight from
    the real ones until τ descent removes it (in practice it dominates the early epochs), and
    a non-edge conjunct of cost 0 would dilute the conjunction. logiclearn has no per-instance
    mask, so the τ of non-edge atoms of example ``n`` (row n of ``A``, its id in the
    unlabelled loader) start at :data:`MASKED_LOGIT`: each node's disjunction then ranges over
    its neighbours only, and the conjunction over the edges. The τ steps leave them there
    (their gradient is their weight, 0). The keys follow the formula's tree: ``("and", (1,))``
    for ``upper``, ``("or", (2, i - 1))`` for node i's disjunction.

    Parameters
    ----------
    A : Tensor, shape (n, N, N)
        The unlabelled graphs, in the order of their example ids.

    Returns
    -------
    logiclearn.encodings.dual.DualStore
    """
    store = DualStore()
    logit = torch.where(A > 0, 0.0, MASKED_LOGIT).to(torch.get_default_dtype())
    store.logits[("and", (1,))] = logit.flatten(1).clone()
    for i in range(1, A.shape[1]):
        store.logits[("or", (2, i - 1))] = logit[:, i].clone()
    return store


def _graphs(batch: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
    """The adjacency matrices of an unlabelled batch ``(A[, views...][, ids])`` or ``A``."""
    return batch if isinstance(batch, torch.Tensor) else batch[0]


def bellman_constraint(out: ll.Term | Sequence[ll.Term],
                       batch: torch.Tensor | Sequence[torch.Tensor]) -> ll.And:
    """:func:`bellman_formula` of the predictions on the unlabelled batch's own graphs."""
    return bellman_formula(out if isinstance(out, ll.Term) else out[0], _graphs(batch))


def constraint(outs: ll.Term | Sequence[ll.Term], batch: object = None) -> ll.And:
    """Triangle inequality and symmetry over all k, as one conjunction of two vector atoms."""
    if isinstance(outs, ll.Term):
        raise TypeError("the triangle constraint needs the outputs on the graph and on its 14 "
                        "swapped views, got one Term")
    d = outs[0].value  # (B, N)
    dk = torch.stack([o.value for o in outs[1:]], 1)  # (B, N-1, N): distances from node k
    d_k = d[:, 1:]  # (B, N-1)
    lhs = d[:, None, :].expand_as(dk)[:, _TRI_MASK]  # d_i
    rhs = (d_k[:, :, None] + dk)[:, _TRI_MASK]  # d_k + d^(k)_i
    sym = dk[:, np.arange(N_NODES - 1), _K]  # d^(k)_k
    tri = ll.all_of(ll.term(lhs) <= ll.term(rhs)).named("triangle")
    return tri & ll.all_of(ll.term(d_k) == ll.term(sym)).named("symmetry")


class MLP(torch.nn.Module):
    """Adjacency -> distances from node 0 (N): input the N*N edge indicators and the N*N edge
    weights (a weight of 0 alone cannot tell "no edge" from a short edge), hidden ReLU layers."""

    def __init__(self, hidden: int = 256, depth: int = 3):
        super().__init__()
        layers, width = [], 2 * N_NODES * N_NODES
        for _ in range(depth):
            layers += [torch.nn.Linear(width, hidden), torch.nn.ReLU()]
            width = hidden
        layers.append(torch.nn.Linear(width, N_NODES))
        self.net = torch.nn.Sequential(*layers)

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        a = a.flatten(1)
        return self.net(torch.cat([(a > 0).to(a.dtype), a], 1))


class MinGNN(torch.nn.Module):
    """Message passing with min aggregation (aligned with Bellman-Ford, Veličković et al. 2020).

    Node states start from a source indicator (node 0); each of ``rounds`` rounds sends a
    message ``phi([h_j, w_ij])`` along every edge, takes the minimum over the neighbours and
    updates ``h_i <- h_i + psi([h_i, min_j m_ij])``; a linear read-out gives each node's
    distance. Permutation-equivariant: swapping nodes 0 and k in the input gives the
    distances from k.
    """

    def __init__(self, hidden: int = 32, rounds: int = 5):
        super().__init__()
        self.rounds = rounds
        self.embed = torch.nn.Linear(1, hidden)
        self.phi = torch.nn.Sequential(torch.nn.Linear(hidden + 1, hidden), torch.nn.ReLU(),
                                       torch.nn.Linear(hidden, hidden))
        self.psi = torch.nn.Sequential(torch.nn.Linear(2 * hidden, hidden), torch.nn.ReLU(),
                                       torch.nn.Linear(hidden, hidden))
        self.read = torch.nn.Linear(hidden, 1)

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        # a: (B, N, N) weighted adjacency, 0 = no edge
        B, N, _ = a.shape
        src = torch.zeros(B, N, 1, dtype=a.dtype)
        src[:, 0] = 1.0
        h = self.embed(src)  # (B, N, H)
        edge = a > 0
        big = torch.finfo(a.dtype).max / 4
        for _ in range(self.rounds):
            m = self.phi(torch.cat([h[:, None, :, :].expand(B, N, N, -1),
                                    a[..., None]], -1))  # (B, i, j, H): message j -> i
            m = torch.where(edge[..., None], m, torch.full_like(m, big)).min(2).values
            m = torch.where(edge.any(2, keepdim=True), m, torch.zeros_like(m))
            h = h + self.psi(torch.cat([h, m], -1))
        return self.read(h).squeeze(-1)


def make_data(seed: int, n_lab: int, n_unl: int, n_val: int, n_test: int) -> dict:
    rng = np.random.default_rng(seed)
    A, D = random_graphs(n_lab + n_unl + n_val + n_test, rng)
    # inputs and targets in units of the labelled graphs' mean distance; without labelled
    # graphs, of the unlabelled graphs' mean edge weight (the labels are not looked at)
    unl_w = A[n_lab:n_lab + n_unl]
    scale = float(D[:n_lab].mean()) if n_lab else float(unl_w[unl_w > 0].mean())
    A, D = A / scale, D / scale
    cut = np.cumsum([n_lab, n_unl, n_val])
    parts = dict(zip(["lab", "unl", "val", "test"], np.split(np.arange(len(A)), cut)))
    f = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    return {"A": f(A), "D": f(D), "views": f(swap_views(A)), "scale": scale, **parts}


SIGMA_TARGET = 0.1  # defaults of the σ schedule's target and of the dual encoding's τ step
TAU_STEP = 1.0
DUAL_STEP = "sgda"  # the dual encoding's τ rule (DualEncoding's ``step``)


def method_label(method: str, constraint_weight: float = 1.0, warm_start: int = 0,
                 sigma_target: float = SIGMA_TARGET, tau_step: float = TAU_STEP,
                 dual_step: str = DUAL_STEP) -> str:
    """Row label of a run: the method, with ``λ=w`` appended when the weight is not 1,
    ``warm k`` when the constraint starts after ``k`` supervised epochs, ``σ→s`` when the σ
    target is not 0.1 (methods whose loss uses σ: dual) and ``τ step t`` when the dual
    encoding's τ step is not 1; ``dual hedge`` when its τ rule is ``"hedge"``.

    Examples
    --------
    >>> method_label("dual"), method_label("dl2", 0.03), method_label("supervised", 0.1)
    ('dual', 'dl2 λ=0.03', 'supervised')
    >>> method_label("dual", 0.1, warm_start=20)
    'dual λ=0.1 warm 20'
    >>> method_label("dual", 0.01, sigma_target=0.3, tau_step=0.1)
    'dual λ=0.01 σ→0.3 τ step 0.1'
    >>> method_label("dual", tau_step=10, dual_step="hedge")
    'dual hedge τ step 10'
    """
    if method.startswith("supervised"):
        return method
    if method == "dual" and dual_step != DUAL_STEP:
        method = f"{method} {dual_step}"
    label = method if constraint_weight == 1.0 else f"{method} λ={constraint_weight:g}"
    if method.startswith("dual") and sigma_target != SIGMA_TARGET:
        label += f" σ→{sigma_target:g}"
    if method.startswith("dual") and tau_step != TAU_STEP:
        label += f" τ step {tau_step:g}"
    return f"{label} warm {warm_start}" if warm_start else label


def run(method: str, seed: int, data: dict, epochs: int, constraint_weight: float = 1.0,
        warm_start: int = 0, constraint_name: str = "triangle",
        sigma_target: float = SIGMA_TARGET, tau_step: float = TAU_STEP,
        dual_step: str = DUAL_STEP) -> dict:
    """Train one network and score it on the test graphs.

    ``warm_start`` > 0 (constrained methods only): the first ``warm_start`` epochs train on the
    labelled graphs alone with the step-matched loader of ``supervised-matched``, the
    remaining ``epochs - warm_start`` epochs add the constraint; the checkpoint is the best
    validation MSE over all epochs of both phases. ``constraint_name``: ``"triangle"``
    (:func:`constraint`, on the swapped views) or ``"bellman"`` (:func:`bellman_constraint`,
    on the graph itself). ``dual_step``: the dual encoding's τ rule (``"sgda"`` or
    ``"hedge"``, :class:`logiclearn.encodings.dual.DualEncoding`'s ``step``; its clip is the
    default 5). Without labelled graphs (``len(data["lab"]) == 0``) a constrained
    method trains on the constraint alone. The test graphs are scored for both constraints.
    """
    supervised = method.startswith("supervised")
    if constraint_name not in CONSTRAINTS:
        raise ValueError(f"constraint_name must be one of {CONSTRAINTS}, got {constraint_name!r}")
    if warm_start and (supervised or not 0 < warm_start < epochs):
        raise ValueError(f"warm_start must be 0, or in 1..epochs - 1 = {epochs - 1} for a "
                         f"constrained method; got {warm_start} for {method!r}")
    if len(data["lab"]) == 0 and (supervised or warm_start):
        raise ValueError(f"without labelled graphs only constrained methods without a warm "
                         f"start run; got {method!r} with warm_start={warm_start}")
    with isolated_rng(torch_generator(seed)):  # initialise from the seed, global RNG untouched
        model = MinGNN() if MODEL == "gnn" else MLP()
    A, D, V = data["A"], data["D"], data["views"]
    gen = torch_generator(seed)
    lab, unl, va, te = data["lab"], data["unl"], data["val"], data["test"]
    matched = None
    if method == "supervised-matched" or warm_start:  # as many labelled batches as unlabelled
        lab_set = TensorDataset(A[lab], D[lab])
        sampler = RandomSampler(lab_set, num_samples=max(len(lab), len(unl)), generator=gen)
        matched = DataLoader(lab_set, batch_size=16, sampler=sampler, generator=gen)
    if method == "supervised-matched":
        labeled = matched
    elif len(lab) == 0:  # unsupervised: the constraint alone
        labeled = None
    else:
        labeled = DataLoader(TensorDataset(A[lab], D[lab]), batch_size=16, shuffle=True,
                             generator=gen)
    bellman = constraint_name == "bellman"  # needs the graph only, not the swapped views
    views = [A[unl]] if bellman else [A[unl], *V[:, unl]]
    unlabeled = DataLoader(ll.IndexedDataset(*views), batch_size=16, shuffle=True,
                           generator=gen)

    def neg_val_mse(m: torch.nn.Module) -> float:
        return -float(((m(A[va]) - D[va]) ** 2).mean())

    dual_params: dict[str, object] = {"lr": tau_step}
    if dual_step != DUAL_STEP:  # (the default rule: the encoding's own default, as before)
        dual_params["step"] = dual_step
    if bellman:  # masked τ: the non-edge atoms get weight 0 (see bellman_dual_store)
        dual_params["store"] = bellman_dual_store(A[unl])
    trainer = ll.LogicTrainer(
        model, None if supervised else bellman_constraint if bellman else constraint,
        encoding="dual" if supervised else method, loss="mse",
        constraint_weight=constraint_weight,
        lr=1e-3, encoding_params=dual_params if method == "dual" else None,
        sigma_init=1.0, sigma_target=sigma_target, random_state=seed, verbose=0,
    )
    t0 = time.perf_counter()
    warm_score, warm_state, warm_epoch = -np.inf, None, None
    if warm_start:  # supervised phase: the trainer skips the constraint without unlabelled data
        with warnings.catch_warnings():  # (and says so): here that is the intent
            warnings.filterwarnings("ignore", message=".*unlabeled is None.*")
            trainer.fit(matched, None, epochs=warm_start, val_metric=neg_val_mse)
        warm_score, warm_epoch = trainer.best_score_, trainer.best_epoch_
        warm_state = copy.deepcopy(model.state_dict())
    trainer.fit(labeled, None if supervised else unlabeled, epochs=epochs - warm_start,
                val_metric=neg_val_mse)
    best_epoch = None if trainer.best_epoch_ is None else trainer.best_epoch_ + warm_start
    if warm_state is not None and not trainer.best_score_ > warm_score:
        model.load_state_dict(warm_state)  # the supervised phase's checkpoint stays the best
        best_epoch = warm_epoch
    seconds = time.perf_counter() - t0
    s = data["scale"]
    with torch.no_grad():
        pred = model(A[te]) * s
        outs = [ll.term(pred)] + [ll.term(model(V[k, te]) * s) for k in range(N_NODES - 1)]
        sat = satisfaction_rates(outs, A[te] * s)
        val_mse = float(((model(A[va]) - D[va]) ** 2).mean()) * s ** 2  # the checkpoint's
    err = pred - D[te] * s
    return {"method": method_label(method, constraint_weight, warm_start, sigma_target,
                                   tau_step, dual_step), "seed": seed,
            "mse": float((err ** 2).mean()), "mae": float(err.abs().mean()),
            "bias": float(err.mean()), "val_mse": val_mse,
            "satisfied": sat["bellman" if bellman else "tri_sym"], **sat,
            "best_epoch": best_epoch, "seconds": seconds}


def satisfaction_rates(outs: Sequence[ll.Term], A: torch.Tensor,
                       tol: float = TOL) -> dict[str, float]:
    """% of graphs satisfying each constraint and part, atoms within ``tol`` (distance units).

    ``outs``: the predictions on the graphs ``A`` and on their 14 swapped views (Terms, in the
    units of ``A``). Keys: ``tri_sym`` (triangle constraint: all atoms), ``triangle``,
    ``symmetry`` (its two parts), ``bellman`` (Bellman constraint: all atoms), ``source``,
    ``upper``, ``tight`` (its parts, see :func:`bellman_formula`).
    """
    tri = constraint(outs)
    bel = bellman_formula(outs[0], A, false_cost=float("inf"))  # non-edge atoms: false
    parts = {"tri_sym": tri, "triangle": tri.children[0], "symmetry": tri.children[1],
             "bellman": bel, **{str(f.name): f for f in bel.children}}
    return {k: 100 * float(ll.satisfaction(f, tol=tol).rate) for k, f in parts.items()}


def label_mean_baseline(seed: int, data: dict) -> dict:
    """Reference row: predict each node's mean labelled distance, whatever the graph."""
    s, te = data["scale"], data["test"]
    pred = data["D"][data["lab"]].mean(0, keepdim=True).expand(len(te), -1) * s
    err = pred - data["D"][te] * s
    return {"method": "label mean (no model)", "seed": seed, "mse": float((err ** 2).mean()),
            "mae": float(err.abs().mean()), "bias": float(err.mean()), "satisfied": float("nan"),
            "triangle": float("nan"), "symmetry": float("nan"), "best_epoch": None,
            "seconds": 0.0}


def oracle_mean_baseline(seed: int, data: dict) -> dict:
    """Reference row without labelled graphs: predict each node's mean *test* distance (an
    oracle constant: its MSE is the mean per-node variance of the test distances)."""
    s, te = data["scale"], data["test"]
    truth = data["D"][te] * s
    err = truth.mean(0, keepdim=True) - truth
    return {"method": "test node mean (oracle, no model)", "seed": seed,
            "mse": float((err ** 2).mean()), "mae": float(err.abs().mean()),
            "bias": float(err.mean()), "satisfied": float("nan"), "best_epoch": None,
            "seconds": 0.0}


def _args(parser: argparse.ArgumentParser) -> None:
    add_verbose_argument(parser)
    parser.add_argument("--seeds", type=int, default=5,
                        help="number of seeds (0 with --merge: only rebuild the tables)")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="run seeds first-seed .. first-seed + seeds - 1")
    parser.add_argument("--merge", action="store_true",
                        help="add these runs to the folder's runs.csv (replacing the same method "
                             "and seed; same sizes and epochs required) and rebuild the tables")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--sizes", type=int, nargs=4, default=[20, 100, 150, 300],
                        metavar=("LABELLED", "UNLABELLED", "VALIDATION", "TEST"),
                        help="numbers of graphs")
    parser.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    parser.add_argument("--constraint-weights", type=float, nargs="+", default=[1.0],
                        metavar="LAMBDA",
                        help="constraint weights λ: every constrained method runs once per "
                             "weight (rows 'method λ=w'; λ = 1 keeps the bare method name); "
                             "the supervised methods run once")
    parser.add_argument("--warm-start", type=int, default=0, metavar="EPOCHS",
                        help="constrained methods: train on the labelled graphs alone (as "
                             "'supervised-matched') for the first EPOCHS epochs, then add the "
                             "constraint (rows '... warm EPOCHS'); checkpoint over all epochs")
    parser.add_argument("--constraint", choices=CONSTRAINTS, default="triangle",
                        help="triangle: triangle inequality and symmetry over the 14 swapped "
                             "views (Li et al. 2023); bellman: DL2's shortest-path constraint "
                             "on the graph itself, d_0 = 0 and d_i = min_j (d_j + w_ij)")
    parser.add_argument("--sigma-target", type=float, default=SIGMA_TARGET,
                        help="target of the σ schedule (from 1; dual's truncated Gaussian)")
    parser.add_argument("--tau-step", type=float, default=TAU_STEP,
                        help="step size of the dual encoding's τ update")
    parser.add_argument("--dual-step", choices=dual_module.STEP_RULES, default=DUAL_STEP,
                        help="the dual encoding's τ update rule: 'sgda' (the paper's) or "
                             "'hedge' (per-connective exponentiated-gradient steps, logits "
                             "clipped to ±5; see DualEncoding)")


def main(argv: list[str] | None = None) -> pd.DataFrame:
    import matplotlib.pyplot as plt

    args = parse_args(NAME, argv, __doc__.splitlines()[0], _args)
    for w in args.constraint_weights:
        if not (np.isfinite(w) and w >= 0):
            raise ValueError(f"--constraint-weights must be finite and >= 0, got {w}")
    if not 0 < args.sigma_target <= 1:
        raise ValueError(f"--sigma-target must be in (0, 1] (σ starts at 1), "
                         f"got {args.sigma_target}")
    if not (np.isfinite(args.tau_step) and args.tau_step > 0):
        raise ValueError(f"--tau-step must be finite and > 0, got {args.tau_step}")
    n_lab, n_unl, n_val, n_test = args.sizes
    if n_lab < 0 or min(n_unl, n_val, n_test) < 1:
        raise ValueError(f"--sizes must be >= 0 labelled and >= 1 unlabelled, validation and "
                         f"test graphs, got {args.sizes}")
    supervised = [m for m in args.methods if m.startswith("supervised")]
    if n_lab == 0 and (supervised or args.warm_start):
        raise ValueError(f"--sizes with 0 labelled graphs (unsupervised) runs constrained "
                         f"methods without --warm-start only; got methods {args.methods} and "
                         f"--warm-start {args.warm_start}")
    jobs = [(m, w) for m in args.methods
            for w in ([1.0] if m.startswith("supervised") else args.constraint_weights)]
    torch.set_num_threads(1)  # small models: one thread per run is fastest on a shared machine
    seeds = 1 if args.quick else args.seeds
    warm = min(args.warm_start, 1) if args.quick else args.warm_start
    epochs = 1 + warm if args.quick else args.epochs
    if not 0 <= warm < epochs:
        raise ValueError(f"--warm-start must be in 0..epochs - 1 = {epochs - 1}, got {warm}")
    sizes = (min(n_lab, 20), 20, 20, 20) if args.quick else tuple(args.sizes)
    rows = []
    first = 0 if args.quick else args.first_seed
    for s in progress(range(first, first + seeds), verbose=verbosity(args), desc=NAME):
        data = make_data(s, *sizes)
        rows += [run(m, s, data, epochs, w, 0 if m.startswith("supervised") else warm,
                     args.constraint, args.sigma_target, args.tau_step, args.dual_step)
                 for m, w in jobs]
        rows.append(label_mean_baseline(s, data) if sizes[0] else oracle_mean_baseline(s, data))
    previous = args.out / "runs.csv"
    if rows:
        df = pd.DataFrame(rows)
    elif args.merge and previous.exists():  # --seeds 0 --merge: rebuild the tables only
        df = pd.read_csv(previous).iloc[:0]
    else:
        raise ValueError(f"--seeds 0 needs --merge and an existing {previous}")
    df["epochs"], df["sizes"] = epochs, " ".join(map(str, sizes))
    df["constraint"] = args.constraint
    cmd_file = args.out / "COMMAND"
    command = cmd_file.read_text() if args.merge and previous.exists() and cmd_file.exists() else ""
    if args.merge and previous.exists():
        old = pd.read_csv(previous)
        if "constraint" not in old:  # folders written before --constraint: triangle
            old["constraint"] = "triangle"
        for col, val in (("epochs", epochs), ("sizes", " ".join(map(str, sizes))),
                         ("constraint", args.constraint)):
            if col not in old or (old[col].astype(str) != str(val)).any():
                raise ValueError(f"--merge: {previous} holds runs with other {col} than "
                                 f"{val!r}; use another --out")
        key = ["method", "seed"]
        old = old.merge(df[key], on=key, how="left", indicator=True)
        df = pd.concat([old[old.pop("_merge") == "left_only"], df], ignore_index=True)
        df = df.sort_values("seed", kind="stable").reset_index(drop=True)
    df.to_csv(previous, index=False)
    seeds = df["seed"].nunique()
    cols = ["mse", "mae", "bias", "satisfied", "triangle", "symmetry", "bellman", "val_mse"]
    if args.constraint == "bellman":
        cols = ["mse", "mae", "bias", "satisfied", "source", "upper", "tight", "tri_sym",
                "val_mse"]
    cols = [c for c in cols if c in df and df[c].notna().any()]  # older folders: no bellman
    g = df.groupby("method", sort=False)[cols]
    mean, std = g.mean(), g.std(ddof=1).fillna(0.0)
    summary = pd.DataFrame({"method": mean.index, "seeds": g.size().values})
    for c in cols:
        summary[c] = ["" if np.isnan(m) else f"{m:.3g} ± {v:.2g}" for m, v in zip(mean[c], std[c])]
    if args.constraint == "bellman":
        about = ("bias = mean of prediction - truth; constraint: DL2's Bellman equations on "
                 "the graph itself (d_0 = 0, d_i <= d_j + w_ij on every edge, and for every "
                 "node i != 0 OR over its neighbours j of d_i >= d_j + w_ij), which only the "
                 "true distances satisfy; satisfied = % of test graphs meeting all its atoms "
                 f"within tol = {TOL} ('source', 'upper', 'tight': its three parts; 'tri_sym': "
                 "the triangle + symmetry constraint of the parent folder)")
    else:
        about = ("bias = mean of prediction - truth (the constraint holds for every metric, "
                 "d = 0 included, so it does not pin the distances down); satisfaction = % of "
                 f"test graphs meeting all 196 atoms within tol = {TOL}")
    unsup = (" Unsupervised (0 labelled graphs): inputs scaled by the unlabelled graphs' "
             "mean edge weight; 'test node mean (oracle)' predicts each node's mean test "
             "distance." if sizes[0] == 0 else "")
    notes = (f"{seeds} seed(s), {epochs} epochs, graphs (labelled, unlabelled, validation, test) "
             f"= {sizes}; MSE/MAE in distance units (edge weights U(1, 10)); {about}. "
             "Checkpoint on validation "
             "MSE. Model: MinGNN (source indicator, 5 rounds of min-aggregated messages, "
             "hidden 32), Adam 1e-3, λ = 1 unless the row says 'λ=w', σ 1 → 0.1 unless the "
             "row says 'σ→s', τ step 1.0 unless the row says 'τ step t' "
             "(dual); 'warm k': the constraint starts after k epochs of step-matched supervised "
             "training. 'supervised': one pass "
             "over the labelled graphs per epoch; 'supervised-matched': as many labelled "
             "batches per epoch as there are unlabelled batches, i.e. the same number of "
             "optimizer steps on labelled batches as the constrained runs (identical to "
             "'supervised' when labelled >= unlabelled). 'label mean' predicts each node's mean "
             "labelled distance. val_mse: the checkpoint's validation MSE (what a choice of λ "
             "may look at)." + unsup)
    write_table(summary, args.out, "summary", "Shortest distance (15-node graphs)", notes)
    per_seed = df.pivot_table(index="method", columns="seed", values="mse", sort=False)
    per_seed.columns = [f"seed {c}" for c in per_seed.columns]
    write_table(per_seed.reset_index().round(3), args.out, "per_seed_mse",
                "Shortest distance: test MSE per seed", notes)
    per_seed = df.pivot_table(index="method", columns="seed", values="satisfied", sort=False)
    per_seed.columns = [f"seed {c}" for c in per_seed.columns]
    write_table(per_seed.reset_index().round(1), args.out, "per_seed_satisfied",
                "Shortest distance: % of test graphs satisfying the constraint, per seed", notes)
    fig, axes = plt.subplots(1, 2, figsize=(max(9.0, 0.9 * len(mean)), 3.6))
    for ax, c in zip(axes, ["mse", "satisfied"]):
        ax.bar(mean.index, mean[c], yerr=std[c], capsize=2)
        ax.set_title({"mse": "test MSE", "satisfied": "constraint satisfied (% graphs)"}[c])
        ax.set_xticks(range(len(mean)), mean.index, rotation=60 if len(mean) > 5 else 30,
                      ha="right")
    fig.tight_layout()
    save_figure(fig, args.out, "mse_satisfaction")
    fig, ax = plt.subplots(figsize=(6.5, 4.5))  # the trade-off: per seed (dots), mean (marker)
    for i, (m, rows) in enumerate(df[df["satisfied"].notna()].groupby("method", sort=False)):
        color = plt.get_cmap("tab20")(i % 20)
        marker = ("*" if m.startswith("supervised") else "s" if "warm" in m
                  else "D" if m.startswith("dl2") else "o")
        ax.scatter(rows["mse"], rows["satisfied"], s=10, alpha=0.4, color=color)
        ax.scatter(rows["mse"].mean(), rows["satisfied"].mean(), s=60, marker=marker,
                   color=color, label=m, edgecolors="k", linewidths=0.5)
    ax.set_xlabel("test MSE")
    ax.set_ylabel("constraint satisfied (% test graphs)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    save_figure(fig, args.out, "mse_vs_satisfied")
    path = write_command(args)
    if command:
        path.write_text(command + path.read_text(), encoding="utf-8")
    return df


if __name__ == "__main__":  # pragma: no cover
    main()
