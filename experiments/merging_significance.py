"""Merged-model significance: which relevant features each task keeps after six merge methods.

A shared base MLP (10 inputs, 3 outputs) is pre-trained by mean-field VI on a joint
regression task (output k predicts f_k + 0.5 Σ_{j≠k} f_j, a blend of the three task
functions, which together use features x0–x6). Three Bayesian experts are fine-tuned
from it, expert t on output t only, with the prior N(base mean, s_p²) shared by all
experts; task t depends on a known, partly overlapping feature set (A: x0 x1 x2,
B: x2 x3 x4, C: x4 x5 x6; x7–x9 are null for all). The experts are merged by every
method of :mod:`nfbst.merging` at a few strengths; we report each task's test RMSE
(expert vs merged) and the nFBST diagnosis (:func:`nfbst.merging.diagnose_merge`,
gradient statistic, Q-GS median, alpha 0.05): relevant features that lost significance
and null features that gained it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from experiments._common import parse_args, save_figure, write_command, write_table
from nfbst.merging import (
    MeanFieldPosterior,
    bayesian_merge,
    dare_merging,
    diagnose_merge,
    diagonal_fisher,
    fisher_merging,
    lore_merging,
    task_arithmetic,
    ties_merging,
)
from nfbst.variational import MeanFieldMLP
from probconstraints._progress import progress

NAME = "merging_significance"
D = 10
TASKS = ("A", "B", "C")
RELEVANT = ([0, 1, 2], [2, 3, 4], [4, 5, 6])
HIDDEN = (32, 32)
ACTIVATION = "tanh"


# ------------------------------------------------------------------------------- data
def task_function(t: int, X: np.ndarray) -> np.ndarray:
    """Noise-free target of task ``t`` (it uses only the features in ``RELEVANT[t]``)."""
    x = X
    if t == 0:
        return 1.2 * x[:, 0] - 0.9 * x[:, 1] + 0.7 * x[:, 2] + 0.5 * np.sin(2 * x[:, 0])
    if t == 1:
        return 0.9 * x[:, 2] + 0.8 * x[:, 3] - 0.8 * x[:, 4] + 0.4 * x[:, 2] * x[:, 3]
    return 0.9 * x[:, 4] + 1.0 * x[:, 5] - 0.8 * x[:, 6] + 0.5 * np.tanh(2 * x[:, 5])


def make_data(n: int, rng: np.random.Generator, noise: float = 0.1):
    """Inputs ``(n, D)`` ~ N(0, 1) and the three tasks' noisy targets ``(n, 3)``."""
    X = rng.normal(size=(n, D))
    Y = np.stack([task_function(t, X) for t in range(3)], axis=1)
    return X, Y + noise * rng.normal(size=Y.shape)


# ------------------------------------------------------------------------- training
def _settings(n_steps: int, lr: float) -> dict:
    return dict(batch_size=None, lr=lr, lr_step=None, lr_gamma=0.5, n_steps=n_steps,
                verbose=0)


def _kl_to(net: MeanFieldMLP, prior_mean: dict, prior_std: float) -> torch.Tensor:
    """KL(q ‖ N(prior_mean, prior_std²)) summed over all parameters (closed form)."""
    total = 0.0
    for l, layer in enumerate(net.layers):
        ws, bs = layer.scales()
        for loc, sd, key in ((layer.weight_loc, ws, f"{l}.weight"),
                             (layer.bias_loc, bs, f"{l}.bias")):
            total = total + (
                math.log(prior_std) - torch.log(sd)
                + (sd**2 + (loc - prior_mean[key]) ** 2) / (2 * prior_std**2) - 0.5
            ).sum()
    return total


def pretrain_base(X, Y, n_steps: int, seed: int) -> MeanFieldMLP:
    """Mean-field VI on the joint task: output k fits ``f_k + 0.5 Σ_{j≠k} f_j``."""
    joint = 0.5 * Y + 0.5 * Y.sum(1, keepdims=True)
    net = MeanFieldMLP((D, *HIDDEN, 3), ACTIVATION, "regression", 1.0, "learned", 0.01, seed)
    Z = torch.as_tensor(X, dtype=torch.float32)
    T = torch.as_tensor(joint, dtype=torch.float32)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    for _ in range(n_steps):
        out = net(Z)
        loss = sum(net.nll(out[:, [k]], T[:, k]) for k in range(3)) / 3 + net.kl() / len(Z)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net


def finetune_expert(base: MeanFieldMLP, X, y, t: int, prior_std: float, n_steps: int,
                    seed: int) -> MeanFieldMLP:
    """Fine-tune output ``t`` from the base means under the prior N(base mean, prior_std²)."""
    net = MeanFieldMLP((D, *HIDDEN, 3), ACTIVATION, "regression", prior_std, "learned",
                       0.01, seed)
    with torch.no_grad():
        for mine, theirs in zip(net.layers, base.layers):
            mine.weight_loc.copy_(theirs.weight_loc)
            mine.bias_loc.copy_(theirs.bias_loc)
        net.log_noise.copy_(base.log_noise)
    prior = {k: v[0].clone() for k, v in base.posterior_params().items()}
    Z = torch.as_tensor(X, dtype=torch.float32)
    target = torch.as_tensor(y, dtype=torch.float32)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    for _ in range(n_steps):
        loss = net.nll(net(Z)[:, [t]], target) + _kl_to(net, prior, prior_std) / len(Z)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net


def posterior(net: MeanFieldMLP) -> MeanFieldPosterior:
    p = net.posterior_params()
    return MeanFieldPosterior(
        {k: v[0].clone() for k, v in p.items()}, {k: v[1].clone() for k, v in p.items()},
        ACTIVATION, "regression", None, float(torch.exp(net.log_noise.detach())),
    )


def fisher_of(post: MeanFieldPosterior, X, t: int) -> dict:
    """Diagonal Fisher of output ``t`` of the expert's mean network on its task data."""
    module = post.point().module(0)
    linear_names = [n for n, m in module.named_modules() if isinstance(m, torch.nn.Linear)]
    F = diagonal_fisher(module, torch.as_tensor(X, dtype=torch.float32),
                        noise_scale=post.noise_scale, output=t)
    rename = {}
    for l, name in enumerate(linear_names):
        rename[f"{name}.weight"] = f"{l}.weight"
        rename[f"{name}.bias"] = f"{l}.bias"
    return {rename[k]: v for k, v in F.items()}


def rmse(post_or_state, like: MeanFieldPosterior, X, y, t: int) -> float:
    state = post_or_state.mean if isinstance(post_or_state, MeanFieldPosterior) else post_or_state
    draws = like.with_mean(state).point()
    with torch.no_grad():
        pred = draws.forward(torch.as_tensor(X, dtype=torch.float32))[0, :, t].double().numpy()
    return float(np.sqrt(np.mean((pred - y) ** 2)))


# -------------------------------------------------------------------------- merges
def merges(base: MeanFieldPosterior, experts, fishers, prior_std, quick: bool, seed: int):
    """``(method, strength label, merged)`` for every method and strength."""
    b = base.mean
    means = [e.mean for e in experts]
    out = []
    for lam in ((1.0,) if quick else (0.5, 1.0)):
        out.append(("task_arithmetic", f"lambda={lam:g}",
                    task_arithmetic(b, means, scaling=lam)))
    for dens in ((0.2,) if quick else (0.2, 0.5)):
        out.append(("ties", f"density={dens:g}",
                    ties_merging(b, means, density=dens, scaling=1.0)))
    for p in ((0.5,) if quick else (0.3, 0.7)):
        out.append(("dare_ta", f"p={p:g}", dare_merging(
            b, means, drop_rate=p, scaling=1.0, combine="ta", random_state=seed)))
    out.append(("dare_ties", "p=0.5", dare_merging(
        b, means, drop_rate=0.5, scaling=1.0, combine="ties", random_state=seed)))
    for mu in ((0.02,) if quick else (0.005, 0.02)):
        out.append(("lore", f"mu={mu:g}", lore_merging(means, mu=mu, n_iter=30)))
    out.append(("fisher", "weights=1", fisher_merging(means, fishers, min_fisher=1e-8)))
    stds = [e.std for e in experts]
    m, s = bayesian_merge(means, stds, prior_mean=b, prior_std=prior_std)
    out.append(("bayesian", "product", base.with_mean(m, s)))
    if not quick:
        m, s = bayesian_merge(means, stds, prior_mean=b, prior_std=prior_std,
                              weights=[1 / 3] * 3)
        out.append(("bayesian", "weights=1/3", base.with_mean(m, s)))
    return out


def run_replicate(rep: int, quick: bool, verbose: int, prior_std: float = 0.05):
    rng = np.random.default_rng(1000 + rep)
    n_pre, n_task, n_eval = (300, 120, 30) if quick else (3000, 600, 150)
    steps_pre, steps_ft = (150, 100) if quick else (2500, 2000)
    n_draws = 50 if quick else 300
    Xp, Yp = make_data(n_pre, rng)
    base_net = pretrain_base(Xp, Yp, steps_pre, seed=rep)
    base = posterior(base_net)
    data = [make_data(n_task, rng) for _ in range(3)]
    test = [make_data(n_eval, rng) for _ in range(3)]
    experts = [
        posterior(finetune_expert(base_net, data[t][0], data[t][1][:, t], t, prior_std,
                                  steps_ft, seed=100 * rep + t))
        for t in range(3)
    ]
    fishers = [fisher_of(experts[t], data[t][0], t) for t in range(3)]
    X_eval = [test[t][0] for t in range(3)]
    err_rows, diag_rows, diag_objects = [], [], []
    base_err = [rmse(base, base, test[t][0], test[t][1][:, t], t) for t in range(3)]
    exp_err = [rmse(experts[t], experts[t], test[t][0], test[t][1][:, t], t) for t in range(3)]
    for method, strength, merged in progress(merges(base, experts, fishers, prior_std, quick, rep),
                                             verbose=verbose, desc=f"rep {rep}"):
        diag = diagnose_merge(base, experts, merged, X_eval, n_draws=n_draws,
                              relevant=list(RELEVANT), task_names=list(TASKS),
                              random_state=rep)
        for t in range(3):
            err_rows.append(dict(
                rep=rep, method=method, strength=strength, task=TASKS[t],
                rmse_base=base_err[t], rmse_expert=exp_err[t],
                rmse_merged=rmse(merged, experts[t], test[t][0], test[t][1][:, t], t),
            ))
        tab = diag.to_frame()
        tab.insert(0, "strength", strength)
        tab.insert(0, "method", method)
        tab.insert(0, "rep", rep)
        diag_rows.append(tab)
        diag_objects.append((method, strength, diag))
    return pd.DataFrame(err_rows), diag_rows, diag_objects


def summarise(errors: pd.DataFrame, diag: pd.DataFrame) -> pd.DataFrame:
    """Per method and strength (means over tasks and replicates)."""
    d = diag.copy()
    d["relevant_lost"] = d["relevant"] & d["significant_expert"] & ~d["significant_merged"]
    d["null_gained"] = ~d["relevant"] & ~d["significant_expert"] & d["significant_merged"]
    d["rel_sig_merged"] = d["relevant"] & d["significant_merged"]
    d["null_sig_merged"] = ~d["relevant"] & d["significant_merged"]
    d["rel_sig_expert"] = d["relevant"] & d["significant_expert"]
    d["null_sig_expert"] = ~d["relevant"] & d["significant_expert"]
    d["agree"] = d["significant_expert"] == d["significant_merged"]
    per_task = d.groupby(["method", "strength", "rep", "task"], sort=False).agg(
        relevant_lost=("relevant_lost", "sum"), null_gained=("null_gained", "sum"),
        recall_expert=("rel_sig_expert", "sum"), recall_merged=("rel_sig_merged", "sum"),
        false_pos_expert=("null_sig_expert", "sum"),
        false_pos_merged=("null_sig_merged", "sum"), agreement=("agree", "mean"),
    ).reset_index()
    n_rel = 3
    per_task["recall_expert"] /= n_rel
    per_task["recall_merged"] /= n_rel
    e = errors.copy()
    e["rmse_ratio"] = e["rmse_merged"] / e["rmse_expert"]
    both = per_task.merge(e, on=["method", "strength", "rep", "task"])
    out = both.groupby(["method", "strength"], sort=False).agg(
        rmse_expert=("rmse_expert", "mean"), rmse_merged=("rmse_merged", "mean"),
        rmse_base=("rmse_base", "mean"), rmse_ratio=("rmse_ratio", "mean"),
        recall_expert=("recall_expert", "mean"), recall_merged=("recall_merged", "mean"),
        relevant_lost=("relevant_lost", "mean"), null_gained=("null_gained", "mean"),
        false_pos_expert=("false_pos_expert", "mean"),
        false_pos_merged=("false_pos_merged", "mean"), agreement=("agreement", "mean"),
    ).reset_index()
    return out, both


def best_per_task(per_task: pd.DataFrame) -> pd.DataFrame:
    """Per task, the merge whose significance decisions agree most with the expert's
    (ties broken by the lower RMSE ratio); means over replicates."""
    g = per_task.groupby(["task", "method", "strength"], sort=False).agg(
        agreement=("agreement", "mean"), recall_merged=("recall_merged", "mean"),
        null_gained=("null_gained", "mean"), rmse_ratio=("rmse_ratio", "mean"),
    ).reset_index()
    g = g.sort_values(["task", "agreement", "rmse_ratio"], ascending=[True, False, True])
    return g.groupby("task", sort=False).head(1).reset_index(drop=True)


def _bar_figure(summary: pd.DataFrame):
    import matplotlib.pyplot as plt

    labels = [f"{m} {s}" for m, s in zip(summary["method"], summary["strength"])]
    x = np.arange(len(labels))
    fig, axes = plt.subplots(2, 1, figsize=(max(6, 0.75 * len(labels)), 6), sharex=True)
    axes[0].bar(x - 0.2, summary["recall_merged"], 0.4, label="relevant significant (merged)")
    axes[0].bar(x + 0.2, summary["null_gained"] / 7, 0.4,
                label="null features gained / 7 (merged)")
    axes[0].axhline(summary["recall_expert"].mean(), color="k", ls="--", lw=1,
                    label="relevant significant (experts)")
    axes[0].set_ylabel("fraction per task")
    axes[0].legend(fontsize=7)
    axes[1].bar(x, summary["rmse_ratio"], 0.6, color="tab:gray")
    axes[1].axhline(1.0, color="k", lw=1)
    axes[1].set_ylabel("RMSE merged / expert")
    axes[1].set_yscale("log")
    axes[1].set_xticks(x)
    axes[1].set_xticklabels(labels, fontsize=7, rotation=45, ha="right")
    fig.tight_layout()
    return fig


def main(argv=None):
    """Run the experiment; writes CSV/markdown tables and PNG figures to ``--out``."""
    args = parse_args(
        NAME, argv, __doc__.splitlines()[0],
        lambda p: (p.add_argument("--reps", type=int, default=None,
                                  help="replicates (new data and networks; default 3, quick 1)"),
                   p.add_argument("--prior-std", type=float, default=0.05,
                                  help="sd of the experts' shared prior around the base"),
                   p.add_argument("--verbose", type=int, default=0,
                                  help="0: silent; 1: a bar on a terminal; 2: also in logs")),
    )
    reps = args.reps or (1 if args.quick else 3)
    errors, diags = [], []
    figures = []
    for rep in range(reps):
        e, tables, objects = run_replicate(rep, args.quick, args.verbose, args.prior_std)
        errors.append(e)
        diags.extend(tables)
        if rep == 0:
            figures = objects
    errors = pd.concat(errors, ignore_index=True)
    diag = pd.concat(diags, ignore_index=True)
    summary, per_task = summarise(errors, diag)
    out = args.out
    diag.to_csv(out / "diagnosis.csv", index=False)
    errors.to_csv(out / "errors_by_rep.csv", index=False)
    err_tab = errors.groupby(["method", "strength", "task"], sort=False)[
        ["rmse_base", "rmse_expert", "rmse_merged"]].mean().reset_index()
    write_table(err_tab, out, "errors",
                title=f"Test RMSE per task (mean over {reps} replicate(s))")
    notes = (
        "recall = fraction of a task's 3 relevant features with global evidence < 0.05; "
        "relevant_lost = relevant features significant for the expert but not after the "
        "merge; null_gained = null features (7 per task) not significant for the expert "
        "but significant after the merge; false_pos = null features significant; agreement = "
        "fraction of the 10 features with the same decision for expert and merged model. Means "
        f"over 3 tasks and {reps} replicate(s)."
    )
    write_table(summary, out, "summary", title="Merged-model significance per method",
                notes=notes)
    write_table(best_per_task(per_task), out, "best_per_task",
                title="Per task: the merge whose significance decisions agree most with the expert",
                notes="agreement = fraction of the 10 features with the same decision (evidence "
                      "< 0.05 or not) for the expert and the merged model.")
    save_figure(_bar_figure(summary), out, "summary")
    keep = {"task_arithmetic", "ties", "lore", "bayesian"}
    seen = set()
    for method, strength, dg in figures:
        if method in keep and method not in seen:
            seen.add(method)
            fig = dg.plot(title=f"{method} ({strength}): evidence, * < 0.05")
            save_figure(fig, out, f"heatmap_{method}")
    write_command(args)
    return summary
