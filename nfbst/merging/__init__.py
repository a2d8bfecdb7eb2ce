"""Model merging for torch state dicts, and the nFBST diagnosis of what a merge keeps.

Merging functions take state dicts (``dict[str, Tensor]``), select parameters by
shell-style include/exclude patterns, check keys and shapes, and never modify their inputs:

* :func:`task_arithmetic` — ``θ_0 + λ Σ τ_t`` (Ilharco et al. 2023)
* :func:`ties_merging` — trim, elect sign, disjoint mean (Yadav et al. 2023)
* :func:`dare_merging` — drop and rescale, then TA or TIES (Yu et al. 2024)
* :func:`lore_merging` — estimated base + low-rank task vectors (Liu et al. 2025)
* :func:`fisher_merging` — diagonal-Fisher-weighted average (Matena & Raffel 2022)
* :func:`bayesian_merge` — product of mean-field Gaussian posteriors over a shared prior

:func:`diagnose_merge` compares, task by task, the nFBST evidence of every input feature
for the expert and for the merged network (shared/papers/merging.md §6).

Examples
--------
>>> import torch
>>> from nfbst.merging import task_arithmetic
>>> base = {"w": torch.zeros(2)}
>>> task_arithmetic(base, [{"w": torch.ones(2)}], scaling=0.5)["w"]
tensor([0.5000, 0.5000])
"""

from ._state import select_names
from .bayesian_merge import bayesian_merge
from .dare_merging import dare_merging, drop_and_rescale
from .diagnosis import MergeDiagnosis, diagnose_merge
from .fisher_merging import diagonal_fisher, fisher_merging
from .lore_merging import LoReInfo, lore_merging, singular_value_threshold
from .posteriors import MeanFieldPosterior, layer_keys
from .task_arithmetic import task_arithmetic, task_vectors
from .ties_merging import disjoint_merge, elect_sign, ties_merging, trim_top_k

__all__ = [
    "task_arithmetic", "task_vectors", "ties_merging", "trim_top_k", "elect_sign",
    "disjoint_merge", "dare_merging", "drop_and_rescale", "lore_merging", "LoReInfo",
    "singular_value_threshold", "fisher_merging", "diagonal_fisher", "bayesian_merge",
    "MeanFieldPosterior", "layer_keys", "select_names", "diagnose_merge", "MergeDiagnosis",
]
