"""Mean-field Gaussian VI (``inference="vi"``) and pooled VI runs (``inference="ensemble"``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from .._parallel import parallel_map
from ..variational import MeanFieldMLP, fit_mean_field
from .base import Backend, Settings, WeightSets


def _fit_run(layer_sizes: Sequence[int], s: Settings, seed: int, Z: torch.Tensor,
             t: torch.Tensor) -> tuple[MeanFieldMLP, NDArray[np.float32]]:
    """One VI run (a task of :func:`~nfbst._parallel.parallel_map`): ``(net, losses)``."""
    net = MeanFieldMLP(layer_sizes, s["activation"], s["task"], s["prior_scale"], s["noise"],
                       s["init_scale"], seed=seed, reparam=s["reparam"]).to(Z.device)
    return net, fit_mean_field(net, Z, t, s)


class VIBackend(Backend):
    """One mean-field VI run (Bayes-by-backprop, :mod:`nfbst.variational`)."""

    name = "vi"
    nets: list[MeanFieldMLP]
    loss_history: list[NDArray[np.float32]]

    def _runs(self) -> int:
        return 1

    def _net(self, seed: int) -> MeanFieldMLP:
        s = self.s
        return MeanFieldMLP(
            self.layer_sizes, s["activation"], s["task"], s["prior_scale"], s["noise"],
            s["init_scale"], seed=seed, reparam=s["reparam"],
        )

    def fit(self, Z: torch.Tensor, t: torch.Tensor, seed: np.random.SeedSequence
            ) -> VIBackend:
        """Fit the runs, side by side on ``n_jobs`` joblib workers (one seed per run, so the
        result does not depend on ``n_jobs`` or the backend)."""
        runs = self._runs()
        seeds = [int(child.generate_state(1)[0]) for child in seed.spawn(runs)]
        # worker processes get CPU tensors; a CUDA fit stays in this process
        n_jobs = self.s.get("n_jobs") if Z.device.type == "cpu" else 1
        fitted = parallel_map(_fit_run, [(self.layer_sizes, self.s, sd, Z, t) for sd in seeds],
                              n_jobs=n_jobs, names=[f"{self.name} run {r}" for r in range(runs)],
                              desc=f"{self.name} runs", verbose=self.s["verbose"])
        self.nets = [net for net, _ in fitted]
        self.loss_history = [losses for _, losses in fitted]
        return self

    def draws(self, n: int, gen: torch.Generator) -> WeightSets:
        """Split ``n`` as evenly as possible among the runs and sample each Gaussian."""
        k = len(self.nets)
        sizes = [n // k + (i < n % k) for i in range(k)]
        parts = [net.sample(m, gen) for net, m in zip(self.nets, sizes) if m > 0]
        L = len(parts[0][0])
        W = [torch.cat([p[0][l] for p in parts]) for l in range(L)]
        b = [torch.cat([p[1][l] for p in parts]) for l in range(L)]
        return W, b, torch.cat([p[2] for p in parts])

    def state_dict(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors: dict[str, torch.Tensor] = {}
        for r, net in enumerate(self.nets):
            tensors.update({f"run{r}.{k}": v for k, v in net.state_dict().items()})
        return tensors, {"n_runs": len(self.nets)}

    def load_state_dict(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
                        ) -> VIBackend:
        self.nets, self.loss_history = [], []
        for r in range(meta["n_runs"]):
            net = self._net(seed=0)
            prefix = f"run{r}."
            net.load_state_dict(
                {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
            self.nets.append(net)
        return self

    def estimator_attributes(self) -> dict[str, Any]:
        return {"mean_field_": self.nets, "loss_history_": self.loss_history}


class EnsembleBackend(VIBackend):
    """``n_ensemble`` independent VI runs whose draws are pooled (the nFBST paper's setup)."""

    name = "ensemble"

    def _runs(self) -> int:
        return int(self.s["n_ensemble"])
