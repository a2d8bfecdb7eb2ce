"""Task Arithmetic: θ_M = θ_0 + λ Σ_t τ_t with τ_t = θ_t − θ_0 (Ilharco et al., ICLR 2023)."""

from __future__ import annotations

from collections.abc import Sequence

from ._state import (
    Patterns,
    StateDict,
    StateLike,
    assemble,
    check_experts,
    check_scaling,
    select_names,
    tensor_sum,
)


def task_vectors(base: StateLike, experts: Sequence[StateLike], include: Patterns = None,
                 exclude: Patterns = None) -> list[StateDict]:
    """Task vectors ``τ_t = θ_t − θ_0`` of the selected parameters, one dict per expert.

    Parameters
    ----------
    base : dict[str, Tensor]
        The shared pre-trained parameters ``θ_0``.
    experts : list of dict[str, Tensor]
        Fine-tuned parameters ``θ_t`` with the keys and shapes of ``base``.
    include, exclude : str or list of str, optional
        Shell-style parameter-name patterns (see :func:`nfbst.merging.select_names`).

    Returns
    -------
    list of dict[str, Tensor]
        New tensors; the inputs are not modified.

    Examples
    --------
    >>> import torch
    >>> tv = task_vectors({"w": torch.zeros(2)}, [{"w": torch.tensor([1.0, -1.0])}])
    >>> tv[0]["w"]
    tensor([ 1., -1.])
    """
    base, experts = check_experts(experts, base)
    names = select_names(base, include, exclude)
    return [{k: e[k].detach() - base[k].detach() for k in names} for e in experts]


def add_task_vector(base: StateLike, merged_vector: StateLike,
                    scaling: float = 1.0) -> StateDict:
    """``θ_0 + λ τ`` for the parameters present in ``merged_vector``; others copied from base.

    Examples
    --------
    >>> import torch
    >>> add_task_vector({"w": torch.ones(2)}, {"w": torch.ones(2)}, 0.5)["w"]
    tensor([1.5000, 1.5000])
    """
    merged = {k: base[k].detach() + scaling * v for k, v in merged_vector.items()}
    return assemble(base, merged)


def task_arithmetic(base: StateLike, experts: Sequence[StateLike],
                    scaling: float | Sequence[float] = 0.3, include: Patterns = None,
                    exclude: Patterns = None) -> StateDict:
    """Merge fine-tuned models by adding their scaled task vectors to the base.

    ``θ_M = θ_0 + Σ_t λ_t (θ_t − θ_0)`` (Ilharco et al. 2023, "Editing models with task
    arithmetic"); with a single ``λ`` for every expert, ``λ = 1/T`` is plain averaging.

    Parameters
    ----------
    base : dict[str, Tensor]
        Pre-trained parameters ``θ_0``.
    experts : list of dict[str, Tensor]
        Fine-tuned parameters with the keys and shapes of ``base``.
    scaling : float or sequence of float, default 0.3
        ``λ`` for all experts, or one ``λ_t`` per expert (negative values negate a task).
    include, exclude : str or list of str, optional
        Shell-style patterns of the parameter names to merge; the others are copied from
        ``base``.

    Returns
    -------
    dict[str, Tensor]
        The merged state dict (new tensors, the keys of ``base`` in its order).

    Examples
    --------
    >>> import torch
    >>> base = {"w": torch.zeros(3)}
    >>> experts = [{"w": torch.tensor([1.0, 0.0, 2.0])}, {"w": torch.tensor([1.0, 4.0, 0.0])}]
    >>> task_arithmetic(base, experts, scaling=0.5)["w"]
    tensor([1., 2., 1.])
    """
    base, experts = check_experts(experts, base)
    lam = check_scaling(scaling, n=len(experts))
    lams = lam if isinstance(lam, list) else [lam] * len(experts)
    taus = task_vectors(base, experts, include, exclude)
    total = {k: tensor_sum(l * t[k] for l, t in zip(lams, taus)) for k in taus[0]}
    return add_task_vector(base, total, 1.0)
