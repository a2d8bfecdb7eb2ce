"""Neural variational estimators of mutual information (torch).

Bounds (critic f; p the joint, q the product of marginals; B the batch size):

``"mine"``  Donsker-Varadhan lower bound ``E_p f - log E_q e^f`` (Belghazi et al. 2018), trained
            with the moving-average correction of the biased gradient of ``log E_q e^f``.
``"nwj"``   Nguyen-Wainwright-Jordan lower bound ``E_p f - e^{-1} E_q e^f``.
``"infonce"`` Contrastive lower bound ``log B + E[f(x_i, y_i) - logsumexp_j f(x_i, y_j)]``
            (van den Oord et al. 2018); it can never exceed ``log B``, so it underestimates
            any MI above log(batch_size).
``"smile"`` DV bound with ``e^f`` clipped to [e^-tau, e^tau] in the partition term, critic trained
            with the Jensen-Shannon objective (Song & Ermon 2020). Lower variance than MINE/NWJ;
            clipping makes it biased, so it is not a bound.
``"doe"``   Difference of entropies ``H(Y) - H(Y|X)`` with Gaussian cross-entropy models
            (McAllester & Stratos 2020): a full-covariance Gaussian for Y and a Gaussian with an
            MLP mean and learned full covariance for Y given X. Each term is an upper bound on
            its entropy; the difference is neither an upper nor a lower bound.

MINE, NWJ and InfoNCE are lower bounds on I(X;Y) (in expectation, for the critic found);
McAllester & Stratos show no distribution-free high-confidence lower bound exceeds O(log n).

Critics are ``"separable"`` (f = g(x)^T h(y), all B x B pairs for one matrix product) or
``"joint"`` (an MLP on the concatenation [x, y], evaluated on all pairs). Training uses a
held-out split for early stopping; the reported value is the bound on the held-out rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypedDict, cast

import numpy as np
import torch
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from torch import Tensor, nn

from probconstraints._progress import progress
from probconstraints._random import (
    RandomStateLike,
    check_random_state,
    check_random_state_arg,
    isolated_rng,
    torch_generator,
)
from probconstraints._validation import check_choice, check_float, check_int, check_verbose

from ._validation import check_continuous, check_n_jobs, check_same_length, finite_scale

__all__ = ["BOUNDS", "NeuralMIEstimator", "neural_mutual_information"]

BOUNDS = ("mine", "nwj", "infonce", "smile", "doe")

if TYPE_CHECKING:
    from typing_extensions import Unpack


class NeuralOptions(TypedDict, total=False):
    """The options of :class:`NeuralMIEstimator` that ``mutual_information`` passes on."""

    critic: str
    hidden: Sequence[int]
    embed_dim: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    max_steps: int
    eval_every: int
    patience: int
    test_size: float
    clip: float
    ema_rate: float
    device: str | torch.device


class NeuralFitOptions(NeuralOptions, total=False):
    """Every option of :class:`NeuralMIEstimator` but ``bound``."""

    n_jobs: int | None
    random_state: RandomStateLike
    verbose: int


def _mlp(d_in: int, hidden: Sequence[int], d_out: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    prev = d_in
    for h in hidden:
        layers += [nn.Linear(prev, h), nn.ReLU()]
        prev = h
    layers.append(nn.Linear(prev, d_out))
    return nn.Sequential(*layers)


class _SeparableCritic(nn.Module):
    def __init__(self, dx: int, dy: int, hidden: Sequence[int], embed_dim: int) -> None:
        super().__init__()
        self.g, self.h = _mlp(dx, hidden, embed_dim), _mlp(dy, hidden, embed_dim)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:  # scores (B, B): f(x_i, y_j)
        return self.g(x) @ self.h(y).T


class _JointCritic(nn.Module):
    def __init__(self, dx: int, dy: int, hidden: Sequence[int]) -> None:
        super().__init__()
        self.f = _mlp(dx + dy, hidden, 1)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        b = x.shape[0]
        pairs = torch.cat([x.repeat_interleave(b, 0), y.repeat(b, 1)], dim=1)
        return self.f(pairs).view(b, b)


class _GaussianDoE(nn.Module):
    """Cross-entropy models: q(y) = N(mu, LL^T) and q(y|x) = N(m(x), MM^T)."""

    def __init__(self, dx: int, dy: int, hidden: Sequence[int]) -> None:
        super().__init__()
        self.mean_x = _mlp(dx, hidden, dy)
        self.mu = nn.Parameter(torch.zeros(dy))
        self.raw_l = nn.Parameter(torch.zeros(dy, dy))
        self.raw_m = nn.Parameter(torch.zeros(dy, dy))

    @staticmethod
    def _chol(raw: Tensor) -> Tensor:
        return torch.tril(raw, -1) + torch.diag(torch.exp(torch.diagonal(raw)))

    def cross_entropies(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """Per-sample -log q(y) and -log q(y|x), each of shape (B,)."""
        marg = torch.distributions.MultivariateNormal(self.mu, scale_tril=self._chol(self.raw_l))
        cond = torch.distributions.MultivariateNormal(self.mean_x(x),
                                                      scale_tril=self._chol(self.raw_m))
        return -marg.log_prob(y), -cond.log_prob(y)


def _logmeanexp_offdiag(scores: Tensor) -> Tensor:
    b = scores.shape[0]
    mask = ~torch.eye(b, dtype=torch.bool, device=scores.device)
    return torch.logsumexp(scores[mask], 0) - math.log(b * (b - 1))


def _bound_value(bound: str, scores: Tensor, clip: float) -> Tensor:
    """The estimate (not the training loss) of a bound on one batch of scores (B, B)."""
    joint = torch.diagonal(scores).mean()
    if bound == "infonce":
        return (torch.diagonal(scores) - torch.logsumexp(scores, 1)).mean() + math.log(
            scores.shape[0])
    if bound == "nwj":
        return joint - torch.exp(_logmeanexp_offdiag(scores - 1.0))
    if bound == "smile":
        return joint - _logmeanexp_offdiag(torch.clamp(scores, -clip, clip))
    return joint - _logmeanexp_offdiag(scores)  # mine: Donsker-Varadhan


class NeuralMIEstimator(BaseEstimator):
    """Train a critic on (X, Y) and report a variational MI estimate on held-out rows.

    Parameters
    ----------
    bound : {"mine", "nwj", "infonce", "smile", "doe"}, default="infonce"
        Objective; see the module docstring for which are lower bounds.
    critic : {"separable", "joint"}, default="separable"
        Critic architecture (ignored by ``"doe"``).
    hidden : tuple of int, default=(16,)
        Hidden layer widths of every MLP. Small critics with weight decay overfit least at a
        few thousand samples (tuned on the 25 x 25 2-pair task of :mod:`infotheory.tasks`).
    embed_dim : int, default=8
        Embedding size of the separable critic.
    batch_size : int, default=256
        Also the number of negatives; InfoNCE is capped at log(batch_size).
    learning_rate : float, default=3e-3
        AdamW step size.
    weight_decay : float, default=0.1
        AdamW decoupled weight decay (regularises the critic against overfitting).
    max_steps : int, default=3000
        Maximum optimisation steps.
    eval_every : int, default=100
        Steps between held-out evaluations.
    patience : int, default=8
        Evaluations without improvement before stopping; the best critic is restored.
    test_size : float, default=0.2
        Held-out fraction (early stopping and the reported estimate).
    clip : float, default=5.0
        SMILE clipping threshold tau.
    ema_rate : float, default=0.01
        MINE moving-average rate.
    device : str, default="cpu"
    n_jobs : int or None, default=None
        torch CPU threads during ``fit`` (restored afterwards): None means 1, -1 all cores;
        small critics run fastest on one thread, and many threads on a loaded machine are
        much slower.
    random_state : None, int, RandomState or Generator
        Seeds the split, the batches and the initialisation (through a local
        ``torch.Generator``; torch's, numpy's and ``random``'s global states are left as they
        were).
    verbose : int, default=0
        1: a progress bar on a terminal; 2: also in a non-terminal log, redrawn at most every
        10 s (``probconstraints._progress``).

    Attributes
    ----------
    estimate_ : float
        Held-out estimate in nats.
    history_ : list of (step, held-out value)
    n_steps_ : int
    n_test_ : int

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((2000, 2))
    >>> y = x + 0.5 * rng.standard_normal((2000, 2))
    >>> est = NeuralMIEstimator(bound="infonce", max_steps=300, random_state=0).fit(x, y)
    >>> bool(0.5 < est.estimate_ < np.log(5) + 0.2)      # true MI: log 5
    True
    """

    model_: nn.Module
    x_test_: Tensor
    y_test_: Tensor
    history_: list[tuple[int, float]]
    n_steps_: int
    n_test_: int
    estimate_: float
    _ema: Tensor | None
    _scaling: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]

    def __init__(self, bound: str = "infonce", critic: str = "separable",
                 hidden: Sequence[int] = (16,), embed_dim: int = 8, batch_size: int = 256,
                 learning_rate: float = 3e-3, weight_decay: float = 0.1, max_steps: int = 3000,
                 eval_every: int = 100, patience: int = 8, test_size: float = 0.2,
                 clip: float = 5.0, ema_rate: float = 0.01, device: str | torch.device = "cpu",
                 n_jobs: int | None = None, random_state: RandomStateLike = None,
                 verbose: int = 0) -> None:
        self.bound = bound
        self.critic = critic
        self.hidden = hidden
        self.embed_dim = embed_dim
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.max_steps = max_steps
        self.eval_every = eval_every
        self.patience = patience
        self.test_size = test_size
        self.clip = clip
        self.ema_rate = ema_rate
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # -- checks and data -------------------------------------------------------------------
    def _check_params(self, n: int) -> int:
        for name in ("embed_dim", "max_steps", "eval_every", "patience"):
            check_int(getattr(self, name), name, 1)
        check_int(self.batch_size, "batch_size", 2)
        for name in ("learning_rate", "clip"):
            check_float(getattr(self, name), name, 0.0)
        check_float(self.weight_decay, "weight_decay", 0.0, low_inclusive=True)
        check_float(self.ema_rate, "ema_rate", 0.0, 1.0, high_inclusive=True)
        hidden = self.hidden
        if isinstance(hidden, int | np.integer) or not all(
                isinstance(h, int | np.integer) and not isinstance(h, bool) and h >= 1
                for h in hidden):
            raise ValueError(f"hidden must be a tuple of positive ints (layer widths); "
                             f"got {hidden!r}")
        check_random_state_arg(self.random_state)
        check_verbose(self.verbose)
        check_choice(self.bound, "bound", BOUNDS)
        check_choice(self.critic, "critic", ("separable", "joint"))
        check_float(self.test_size, "test_size", 0.0, 1.0)
        n_test = int(round(n * self.test_size))
        if min(n_test, n - n_test) < 4 or self.batch_size < 2:
            raise ValueError(f"too few samples for a train/test split with batch_size "
                             f"{self.batch_size}: got n={n}")
        return n_test

    def _tensor(self, a: ArrayLike) -> Tensor:
        return torch.as_tensor(a, dtype=torch.float32, device=self.device)

    # -- model -----------------------------------------------------------------------------
    def _build(self, dx: int, dy: int) -> nn.Module:
        if self.bound == "doe":
            return _GaussianDoE(dx, dy, tuple(self.hidden))
        if self.critic == "separable":
            return _SeparableCritic(dx, dy, tuple(self.hidden), self.embed_dim)
        return _JointCritic(dx, dy, tuple(self.hidden))

    def _train_loss(self, x: Tensor, y: Tensor) -> Tensor:
        if self.bound == "doe":
            h_y, h_y_x = cast(_GaussianDoE, self.model_).cross_entropies(x, y)
            return h_y.mean() + h_y_x.mean()
        scores = self.model_(x, y)
        if self.bound == "mine":
            joint = torch.diagonal(scores).mean()
            mean_exp = torch.exp(_logmeanexp_offdiag(scores))
            self._ema = mean_exp.detach() if self._ema is None else (
                (1 - self.ema_rate) * self._ema + self.ema_rate * mean_exp.detach())
            # gradient of log E_q e^f with the denominator replaced by its moving average
            return -(joint - mean_exp / self._ema)
        if self.bound == "smile":
            joint = -nn.functional.softplus(-torch.diagonal(scores)).mean()
            b = scores.shape[0]
            mask = ~torch.eye(b, dtype=torch.bool, device=scores.device)
            marg = nn.functional.softplus(scores[mask]).mean()
            return -(joint - marg)  # Jensen-Shannon (f-GAN) critic objective
        return -_bound_value(self.bound, scores, self.clip)

    def _evaluate(self, x: Tensor, y: Tensor) -> float:
        """Held-out estimate on tensors x, y, in fixed consecutive batches."""
        b = self.batch_size
        n_batches = max(1, x.shape[0] // b)
        vals: list[float] = []
        with torch.no_grad():
            for i in range(n_batches):
                xb, yb = x[i * b:(i + 1) * b], y[i * b:(i + 1) * b]
                if self.bound == "doe":
                    h_y, h_y_x = cast(_GaussianDoE, self.model_).cross_entropies(xb, yb)
                    vals.append(float((h_y - h_y_x).mean()))
                else:
                    vals.append(float(_bound_value(self.bound, self.model_(xb, yb), self.clip)))
        return float(np.mean(vals))

    def fit(self, X: ArrayLike, Y: ArrayLike) -> NeuralMIEstimator:
        """Split, train with early stopping, and store the held-out estimate; returns self."""
        threads = torch.get_num_threads()
        torch.set_num_threads(check_n_jobs(self.n_jobs))
        try:
            return self._fit(X, Y)
        finally:
            torch.set_num_threads(threads)

    def _fit(self, X_in: ArrayLike, Y_in: ArrayLike) -> NeuralMIEstimator:
        X = check_continuous(X_in, "X", min_samples=8)
        Y = check_continuous(Y_in, "Y", min_samples=8)
        n = check_same_length(X=X, Y=Y)
        n_test = self._check_params(n)
        rng = check_random_state(self.random_state)
        # initialisation from a local generator; torch's global state is restored afterwards
        gen = torch_generator(int(rng.randint(2**31))) if self.random_state is not None \
            else None
        perm = rng.permutation(n)
        test, train = perm[:n_test], perm[n_test:]
        X, cx = finite_scale(X)          # data near the float range: no overflow in std
        Y, cy = finite_scale(Y)
        mx, sx = X[train].mean(0), X[train].std(0) + 1e-12
        my, sy = Y[train].mean(0), Y[train].std(0) + 1e-12
        xt, yt = self._tensor((X - mx) / sx), self._tensor((Y - my) / sy)
        self.x_test_, self.y_test_ = xt[test], yt[test]
        x_tr, y_tr = xt[train], yt[train]
        with isolated_rng(gen):
            self.model_ = self._build(X.shape[1], Y.shape[1]).to(self.device)
        opt = torch.optim.AdamW(self.model_.parameters(), lr=self.learning_rate,
                                weight_decay=self.weight_decay)
        self._ema = None
        b = min(self.batch_size, len(train))
        best, bad, self.history_ = -np.inf, 0, []
        best_state: dict[str, Tensor] | None = None
        bar = progress(range(1, self.max_steps + 1), verbose=check_verbose(self.verbose),
                       desc=self.bound)
        step = 0
        for step in bar:
            idx = torch.as_tensor(rng.randint(0, len(train), size=b), device=self.device)
            loss = self._train_loss(x_tr[idx], y_tr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step % self.eval_every == 0 or step == self.max_steps:
                value = self._evaluate(self.x_test_, self.y_test_)
                self.history_.append((step, value))
                bar.set_postfix(held_out=f"{value:.3f}")
                if value > best + 1e-4:
                    best, bad = value, 0
                    best_state = {k: v.detach().clone()
                                  for k, v in self.model_.state_dict().items()}
                else:
                    bad += 1
                    if bad >= self.patience:
                        break
        if best_state is not None:
            self.model_.load_state_dict(best_state)
        self.n_steps_ = step
        self.n_test_ = n_test
        self.estimate_ = self._evaluate(self.x_test_, self.y_test_)
        self._scaling = (mx * cx, sx * cx, my * cy, sy * cy)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "estimate_"):
            raise NotFittedError("this NeuralMIEstimator is not fitted yet; call fit(X, Y)")

    def held_out_statistic(self, idx: ArrayLike) -> float:
        """The estimate on the held-out rows ``idx`` (for bootstrap intervals)."""
        self._check_fitted()
        rows = torch.as_tensor(np.asarray(idx), device=self.device)
        return self._evaluate(self.x_test_[rows], self.y_test_[rows])

    def embed(self, X: ArrayLike, Y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Critic embeddings ``(g(X), h(Y))`` of a separable critic, as float64 arrays.

        Any functions of X and of Y carry at most I(X;Y) (data processing), so the MI of the
        embeddings, estimated on rows the critic never saw, is a lower bound that low-dimensional
        estimators handle well.

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> x = rng.standard_normal((500, 3)); y = x + rng.standard_normal((500, 3))
        >>> est = NeuralMIEstimator(max_steps=20, embed_dim=2, random_state=0).fit(x, y)
        >>> [a.shape for a in est.embed(x, y)]
        [(500, 2), (500, 2)]
        """
        self._check_fitted()
        if not isinstance(self.model_, _SeparableCritic):
            raise ValueError(f"embed needs critic='separable' and a critic bound; this estimator "
                             f"has bound={self.bound!r}, critic={self.critic!r}")
        x = check_continuous(X, "X")
        y = check_continuous(Y, "Y")
        mx, sx, my, sy = self._scaling
        with torch.no_grad():
            gx = self.model_.g(self._tensor((x - mx) / sx)).cpu().numpy()
            hy = self.model_.h(self._tensor((y - my) / sy)).cpu().numpy()
        return gx.astype(np.float64), hy.astype(np.float64)

    def score(self, X: ArrayLike, Y: ArrayLike) -> float:
        """Evaluate the trained critic's estimate on new samples (X, Y)."""
        self._check_fitted()
        x = check_continuous(X, "X")
        y = check_continuous(Y, "Y")
        check_same_length(X=x, Y=y)
        mx, sx, my, sy = self._scaling
        return self._evaluate(self._tensor((x - mx) / sx), self._tensor((y - my) / sy))


def neural_mutual_information(X: ArrayLike, Y: ArrayLike, bound: str = "infonce",
                              **options: Unpack[NeuralFitOptions]) -> float:
    """Held-out neural estimate of I(X;Y) in nats (see :class:`NeuralMIEstimator`).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(2000)
    >>> y = x + rng.standard_normal(2000)
    >>> mi = neural_mutual_information(x, y, "nwj", max_steps=300, random_state=0)
    >>> bool(abs(mi - 0.5 * np.log(2)) < 0.15)
    True
    """
    return NeuralMIEstimator(bound=bound, **options).fit(X, Y).estimate_
