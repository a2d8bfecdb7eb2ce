"""Conditional randomization test (model-X CRT) of "feature j does not matter".

Candès, Fan, Janson & Lv (2018, JRSS-B), in the no-refit form of the holdout randomization
test (Tansey et al. 2022, JCGS): the fitted posterior stays fixed; for each feature j the
column x_j of the test rows is redrawn K times from a model of x_j | x_{-j}, and the test
statistic T (large = the feature helps) is recomputed on each copy. The p-value

    p_j = (1 + #{k : T(X̃⁽ᵏ⁾) ≥ T(X)}) / (K + 1)

is exactly valid (P(p ≤ α) ≤ α under H0: y ⊥ x_j | x_{-j}) when the conditional model is
right and the rows tested were not used to fit the network (``NFBST(holdout=...)``); on
the training rows it is an approximation whose calibration ``experiments/nfbst_calibration``
measures. Its Monte Carlo resolution is 1 / (K + 1).

Two statistics:

* ``"loss"`` — the predictive loss of the posterior-mean prediction (squared error for
  regression, log-loss of the posterior-mean class probabilities for classification):
  T = −mean loss over the rows. It uses y, so it sees every kind of effect (monotone,
  non-monotone, interactions).
* ``"rule"`` — the test's own attribution rule (``"mean"``: |posterior mean| / posterior sd
  of the row-averaged statistic; ``"aggregate"``: posterior mean of the mean squared
  statistic; ``"quantile"``: 1 − Q-GS evidence) recomputed at X̃. It does not use y: it
  compares the fitted function's sensitivity to x_j at the real and at resampled inputs,
  so it has no power against effects whose attribution does not depend on where x_j lies
  (a linear effect has the same gradient everywhere). Kept for completeness; the
  calibration experiment reports it beside ``"loss"``.

Conditional samplers: ``"gaussian"`` (x_j | x_{-j} from the multivariate normal fitted to
the reference rows: linear conditional mean, constant conditional variance) or
``"residual_permutation"`` (the same linear conditional mean plus a permutation of the
empirical residuals; exact for independent features whatever their marginal), or any
callable ``sampler(X, j, n_draws, rng) -> (n_draws, n)`` (e.g. model-X knockoffs).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, Protocol, TypeAlias, cast

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    from torch.types import Device

    from probconstraints._random import RandomStateLike

    from .functional_draws import FunctionalDraws

SAMPLERS = ("gaussian", "residual_permutation")
CRT_STATISTICS = ("loss", "rule")

class GroupModel(Protocol):
    """A fitted model of groups of columns given the others (:class:`GroupConditional`,
    :class:`nfbst.conditionals.TypedConditional`): ``columns[g]`` are the columns group g
    resamples (empty: not testable) and ``model(X, g, K, rng)`` draws them ``(K, n, |G|)``."""

    columns: list[NDArray[np.intp]]

    def __call__(self, X: NDArray[np.float64], g: int, n_draws: int,
                 rng: np.random.Generator) -> NDArray[np.float64]: ...


#: A conditional sampler ``f(X, j, n_draws, rng) -> (n_draws, n)`` of column j given the others.
ConditionalSampler: TypeAlias = Callable[
    [NDArray[np.float64], int, int, np.random.Generator], ArrayLike]


class LinearConditional:
    """x_j | x_{-j} from the least-squares regression of x_j on the other columns.

    Fitted on reference rows ``X_ref`` (n, d): the conditional mean is the regression of x_j on
    [1, x_{-j}] (for Gaussian features, the exact conditional mean) and the conditional sd
    is sqrt(RSS / (n − 1)). ``residuals="gaussian"`` draws N(0, sd²) noise;
    ``"permutation"`` permutes the reference residuals (resampled with replacement when the
    test rows are not the reference rows). A column that the others determine exactly
    (e.g. surface area = wall area + 2 × roof area) has a point-mass conditional: it is
    reproduced unchanged, so its CRT p-value is 1, with a warning naming it.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.multivariate_normal([0, 0], [[1, 0.8], [0.8, 1]], size=5000)
    >>> cond = LinearConditional(X)
    >>> round(float(cond.conditional_sd[0]), 1)   # sqrt(1 - 0.8²) = 0.6
    0.6
    >>> cond(X[:3], 0, 4, rng).shape
    (4, 3)
    """

    def __init__(self, X_ref: ArrayLike,
                 residuals: Literal["gaussian", "permutation"] = "gaussian") -> None:
        if residuals not in ("gaussian", "permutation"):
            raise ValueError(
                f"residuals must be 'gaussian' or 'permutation', got {residuals!r}"
            )
        X_ref = np.asarray(X_ref, dtype=np.float64)
        n, d = X_ref.shape
        if n < d + 2:
            raise ValueError(
                f"the conditional model of x_j | x_-j needs more rows than features + 1; "
                f"got {n} rows for {d} features"
            )
        sd = X_ref.std(0)
        const = np.flatnonzero(sd == 0)
        if const.size:
            raise ValueError(
                f"feature(s) {const.tolist()} are constant: a conditional randomization test "
                "cannot resample them"
            )
        self.residuals = residuals
        self.coef = np.zeros((d, d))  # row j: intercept, then the weights of the other columns
        self.resid = np.empty((n, d))
        for j in range(d):
            A = np.column_stack([np.ones(n), np.delete(X_ref, j, axis=1)])
            self.coef[j] = np.linalg.lstsq(A, X_ref[:, j], rcond=None)[0]
            self.resid[:, j] = X_ref[:, j] - A @ self.coef[j]
        self.conditional_sd = np.sqrt((self.resid**2).sum(0) / (n - 1))
        self.degenerate = np.flatnonzero(self.conditional_sd <= 1e-7 * sd)
        self.conditional_sd[self.degenerate] = 0.0
        if self.degenerate.size:
            warnings.warn(
                f"feature(s) {self.degenerate.tolist()} are determined by the other columns "
                "(linear dependence): their conditional distribution is a point mass, so the "
                "CRT reproduces them and their p-value is 1",
                UserWarning, stacklevel=3,
            )

    def conditional_mean(self, X: NDArray[np.float64], j: int) -> NDArray[np.float64]:
        A = np.column_stack([np.ones(len(X)), np.delete(X, j, axis=1)])
        return A @ self.coef[j]

    def __call__(self, X: NDArray[np.float64], j: int, n_draws: int,
                 rng: np.random.Generator) -> NDArray[np.float64]:
        n = X.shape[0]
        if j in self.degenerate:
            return np.repeat(X[None, :, j], n_draws, axis=0)
        mu = self.conditional_mean(X, j)
        if self.residuals == "gaussian":
            noise = rng.standard_normal((n_draws, n)) * self.conditional_sd[j]
        else:
            r = self.resid[:, j]
            if len(r) == n:
                noise = np.stack([r[rng.permutation(n)] for _ in range(n_draws)])
            else:
                noise = rng.choice(r, size=(n_draws, n), replace=True)
        return mu[None, :] + noise


class GroupConditional:
    """A block of columns x_G | x_{-G}, jointly: the linear (Gaussian) conditional of a group.

    Fitted on reference rows ``X_ref`` (n, d) for each group ``G`` of ``groups``: the
    multi-output least-squares regression of x_G on [1, x_{-G}] gives the conditional mean,
    and the covariance of its residuals (divided by n − 1) the conditional covariance.
    ``residuals="gaussian"`` draws N(0, Σ_G) noise (Σ_G through its eigendecomposition, so
    a one-hot block, whose columns sum to 1, stays on its plane); ``"permutation"`` permutes
    whole residual rows (resampled with replacement on other rows), which keeps the
    dependence inside the group. For a group of one column this is
    :class:`LinearConditional`.

    Columns constant in ``X_ref`` (e.g. a pixel never inked in the training rows) cannot be
    resampled: they are left out of every block (kept at their values) and of the
    predictors; a group of only such columns is *not testable* (``testable[g]`` is False).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2000, 3)); X[:, 1] += X[:, 0]
    >>> cond = GroupConditional(X, [np.array([0, 1]), np.array([2])])
    >>> cond(X[:4], 0, 5, rng).shape       # (K, n, columns of the group)
    (5, 4, 2)
    >>> np.round(cond.covariance[0], 1)    # x0, x1 | x2: their joint covariance
    array([[1., 1.],
           [1., 2.]])
    """

    def __init__(self, X_ref: ArrayLike, groups: list[NDArray[np.intp]],
                 residuals: Literal["gaussian", "permutation"] = "gaussian") -> None:
        if residuals not in ("gaussian", "permutation"):
            raise ValueError(
                f"residuals must be 'gaussian' or 'permutation', got {residuals!r}"
            )
        X_ref = np.asarray(X_ref, dtype=np.float64)
        n, d = X_ref.shape
        self.residuals = residuals
        self.constant = X_ref.std(0) == 0
        varying = np.flatnonzero(~self.constant)
        self.columns: list[NDArray[np.intp]] = []
        self.others: list[NDArray[np.intp]] = []
        self.coef: list[NDArray[np.float64]] = []
        self.resid: list[NDArray[np.float64]] = []
        self.covariance: list[NDArray[np.float64]] = []
        self.root: list[NDArray[np.float64]] = []
        for g in groups:
            cols = np.asarray([j for j in g if not self.constant[j]], dtype=np.intp)
            others = np.setdiff1d(varying, g)
            if cols.size and n < others.size + 2:
                raise ValueError(
                    f"the conditional model of a group given the other columns needs more "
                    f"rows than predictors + 1; got {n} rows for {others.size} predictors"
                )
            A = np.column_stack([np.ones(n), X_ref[:, others]])
            B = (np.linalg.lstsq(A, X_ref[:, cols], rcond=None)[0] if cols.size
                 else np.zeros((A.shape[1], 0)))
            R = X_ref[:, cols] - A @ B
            cov = R.T @ R / (n - 1)
            w, V = np.linalg.eigh(cov) if cols.size else (np.zeros(0), np.zeros((0, 0)))
            self.columns.append(cols)
            self.others.append(others)
            self.coef.append(B)
            self.resid.append(R)
            self.covariance.append(cov)
            self.root.append(V * np.sqrt(np.clip(w, 0, None)))

    @property
    def testable(self) -> NDArray[np.bool_]:
        """Per group: whether it has a column that varies in the reference rows."""
        return np.array([c.size > 0 for c in self.columns])

    def __call__(self, X: NDArray[np.float64], g: int, n_draws: int,
                 rng: np.random.Generator) -> NDArray[np.float64]:
        """``n_draws`` joint draws of group ``g``'s varying columns: ``(K, n, |G|)``."""
        n = X.shape[0]
        cols = self.columns[g]
        mu = np.column_stack([np.ones(n), X[:, self.others[g]]]) @ self.coef[g]  # (n, |G|)
        if self.residuals == "gaussian":
            noise = rng.standard_normal((n_draws, n, cols.size)) @ self.root[g].T
        else:
            R = self.resid[g]
            rows = (np.stack([rng.permutation(n) for _ in range(n_draws)]) if len(R) == n
                    else rng.integers(0, len(R), size=(n_draws, n)))
            noise = R[rows]
        return mu[None] + noise


def make_sampler(sampler: str | ConditionalSampler, X_ref: ArrayLike) -> ConditionalSampler:
    """A conditional sampler ``f(X, j, n_draws, rng) -> (n_draws, n)`` from a name or callable."""
    if callable(sampler):
        return sampler
    if sampler == "gaussian":
        return LinearConditional(X_ref, residuals="gaussian")
    if sampler == "residual_permutation":
        return LinearConditional(X_ref, residuals="permutation")
    raise ValueError(f"sampler must be one of {SAMPLERS} or a callable, got {sampler!r}")


def draw_column(sampler: ConditionalSampler, X: NDArray[np.float64], j: int, n_draws: int,
                rng: np.random.Generator) -> NDArray[np.float64]:
    """``n_draws`` resampled copies of column j for the rows of X, validated: ``(K, n)``."""
    xj = np.asarray(sampler(X, j, n_draws, rng), dtype=np.float64)
    if xj.shape != (n_draws, X.shape[0]):
        raise ValueError(
            f"sampler returned shape {xj.shape} for feature {j}, expected "
            f"(n_randomizations, n_rows) = {(n_draws, X.shape[0])}"
        )
    if not np.all(np.isfinite(xj)):
        raise ValueError(f"sampler returned NaN or infinite values for feature {j}")
    return xj


def row_losses(draws: FunctionalDraws, X: torch.Tensor, y: ArrayLike,
               classes: ArrayLike | None = None, max_elements: int = 2**24) -> torch.Tensor:
    """Per-row loss of the posterior-mean prediction for a batch of inputs.

    ``X`` is ``(..., n, d)``; returns ``(..., n)``: squared error of the mean over draws of
    the output (regression) or −log of the mean over draws of the class probability of
    ``y`` (classification; ``classes`` maps labels to output columns). Rows are pushed
    through the draws in blocks of at most ``max_elements`` hidden activations.
    """
    from .posterior import PosteriorDraws

    lead, (n, d) = X.shape[:-2], X.shape[-2:]
    flat = X.reshape(-1, d)
    if isinstance(draws, PosteriorDraws):
        width = max(max(w.shape[1] for w in draws.weights), draws.n_outputs)
    else:  # any module: every activation of one row
        from .statistics._functional import activation_size

        width = max(activation_size(draws), draws.n_outputs)
    block = max(1, max_elements // (len(draws) * width))
    outs: list[torch.Tensor] = []
    with torch.no_grad():
        for start in range(0, flat.shape[0], block):
            out = draws.forward(flat[start:start + block])  # (S, b, k)
            if draws.task == "regression":
                outs.append(out[..., 0].double().mean(0))
            else:
                outs.append(torch.softmax(out.double(), -1).mean(0))
    pred = torch.cat(outs).reshape(*lead, n, -1)
    if draws.task == "regression":
        yt = torch.as_tensor(np.asarray(y), dtype=torch.float64, device=pred.device)
        return (pred[..., 0] - yt) ** 2
    idx = torch.as_tensor(np.searchsorted(classes, y) if classes is not None else y,
                          device=pred.device)
    p = pred.gather(-1, idx.expand(*lead, n)[..., None])[..., 0]
    return -torch.log(p.clamp_min(1e-300))


def crt_pvalues(T_obs: NDArray[np.float64], T_null: NDArray[np.float64],
                rtol: float = 1e-5) -> NDArray[np.float64]:
    """p = (1 + #{T̃ ≥ T}) / (K + 1) along the first axis of ``T_null`` (K, ...).

    Differences within ``rtol`` (float32 rounding of the network's forward pass, which
    depends on the batch shape) count as ties, so an unchanged column gives p = 1.
    """
    K = T_null.shape[0]
    tol = rtol * np.maximum(np.abs(T_obs), 1e-12)
    return (1.0 + (T_null >= (T_obs - tol)[None]).sum(0)) / (K + 1.0)


def pvalue_mc_sd(p: NDArray[np.float64], n_randomizations: int) -> NDArray[np.float64]:
    """Monte Carlo sd of a randomization p-value: sqrt(p (1 − p) / K)."""
    return np.sqrt(np.clip(p * (1 - p), 0, None) / n_randomizations)


def _loss_feature_pvalue(
    draws: FunctionalDraws, X: NDArray[np.float64], y: ArrayLike, masks: NDArray[np.bool_],
    sampler: ConditionalSampler, j: int, K: int, seed: np.random.SeedSequence,
    classes: ArrayLike | None, device: torch.device,
) -> NDArray[np.float64]:
    """One feature's CRT p-values ``(r,)`` with the loss statistic (a task of
    :func:`loss_crt_pvalues`); ``seed`` is that feature's own stream."""
    rng = np.random.default_rng(seed)
    xj = draw_column(sampler, X, j, K, rng)  # (K, n)
    Xt = torch.as_tensor(X, dtype=torch.float32, device=device)
    Xk = Xt[None].repeat(K, 1, 1)
    Xk[..., j] = torch.as_tensor(xj, dtype=torch.float32, device=device)
    m = _region_weights(masks, device)
    T_obs = -(row_losses(draws, Xt, y, classes) @ m.T)  # (r,)
    T_null = -(row_losses(draws, Xk, y, classes) @ m.T)  # (K, r)
    return crt_pvalues(T_obs.cpu().numpy(), T_null.cpu().numpy())


def _loss_group_pvalue(
    draws: FunctionalDraws, X: NDArray[np.float64], y: ArrayLike, masks: NDArray[np.bool_],
    cond: GroupModel, g: int, K: int, seed: np.random.SeedSequence,
    classes: ArrayLike | None, device: torch.device,
) -> NDArray[np.float64]:
    """One group's CRT p-values ``(r,)`` (NaN when it is not testable)."""
    cols = cond.columns[g]
    if cols.size == 0:
        return np.full(masks.shape[0], np.nan)
    rng = np.random.default_rng(seed)
    xg = cond(X, g, K, rng)  # (K, n, |G|)
    if not np.all(np.isfinite(xg)):
        raise ValueError(f"the conditional sampler returned NaN or infinite values for group {g}")
    Xt = torch.as_tensor(X, dtype=torch.float32, device=device)
    Xk = Xt[None].repeat(K, 1, 1)
    Xk[..., torch.as_tensor(cols, device=device)] = torch.as_tensor(
        xg, dtype=torch.float32, device=device)
    m = _region_weights(masks, device)
    T_obs = -(row_losses(draws, Xt, y, classes) @ m.T)  # (r,)
    T_null = -(row_losses(draws, Xk, y, classes) @ m.T)  # (K, r)
    return crt_pvalues(T_obs.cpu().numpy(), T_null.cpu().numpy())


def _region_weights(masks: NDArray[np.bool_], device: torch.device) -> torch.Tensor:
    m = torch.as_tensor(masks, dtype=torch.float64, device=device)
    return m / m.sum(1, keepdim=True)  # (r, n) row averages per region


def loss_crt_pvalues(
    draws: FunctionalDraws, X: ArrayLike, y: ArrayLike, masks: ArrayLike | None = None, *,
    sampler: str | ConditionalSampler | GroupModel = "gaussian",
    X_ref: ArrayLike | None = None,
    n_randomizations: int = 100, random_state: RandomStateLike = None,
    classes: ArrayLike | None = None, n_jobs: int | None = None, device: Device = None,
    verbose: int = 0, groups: list[NDArray[np.intp]] | None = None,
) -> NDArray[np.float64]:
    """CRT p-values ``(r, d)`` of the predictive-loss statistic, one joblib task per feature.

    The statistic of region ``r`` is minus the mean loss of the posterior-mean prediction
    over its rows (:func:`row_losses`); feature j's column is redrawn ``n_randomizations``
    times from ``sampler`` (x_j | x_-j fitted on ``X_ref``, default ``X``). Feature j draws
    from the j-th stream of ``generators(random_state, d)``, so the p-values do not depend
    on ``n_jobs`` or the joblib backend (``joblib.parallel_config(backend="dask")`` runs the
    features on a Dask cluster).

    Parameters
    ----------
    draws : FunctionalDraws
        Posterior draws of any module (only each draw's prediction is used).
    X : ndarray (n, d)
        Rows tested (held out from the fit for an exactly valid test).
    y : ndarray (n,)
    masks : bool ndarray (r, n), optional
        Regions (default: one region, every row: the global test).
    sampler : {"gaussian", "residual_permutation"}, callable, or a fitted group model
        A name or a one-column callable; with ``groups`` also a fitted model of the groups
        (:class:`GroupConditional`, :class:`nfbst.conditionals.TypedConditional`).
    X_ref : ndarray, optional
        Rows the conditional model is fitted on (default ``X``).
    n_randomizations : int
    random_state : None, int, RandomState or Generator
    classes : ndarray, optional
        Class labels in output order (classification).
    n_jobs : int, optional
        Features computed side by side (scikit-learn convention; see :mod:`nfbst._parallel`).
    device : str or torch.device, optional
        Where the network runs (default: the draws' device). The draws are moved there.
    verbose : int
    groups : list of int arrays, optional
        Test groups of columns instead of single columns: each group is resampled jointly
        given the other columns (:class:`GroupConditional`; ``sampler`` must be a name),
        and the result is ``(r, G)``. Groups of columns constant in ``X_ref`` get NaN.

    Returns
    -------
    ndarray (r, d) (or (r, G)) of p-values, multiples of 1 / (n_randomizations + 1).

    Examples
    --------
    >>> import numpy as np, torch
    >>> from nfbst.posterior import PosteriorDraws
    >>> W = [torch.tensor([[[1.0, 0.0]]]).repeat(4, 1, 1)]     # y = x0: only x0 matters
    >>> draws = PosteriorDraws(W, [torch.zeros(4, 1)])
    >>> X = np.random.default_rng(0).normal(size=(100, 2)); y = X[:, 0]
    >>> p = loss_crt_pvalues(draws, X, y, n_randomizations=19, random_state=0)
    >>> p.round(2).tolist()
    [[0.05, 1.0]]
    """
    from probconstraints._random import seed_sequence

    from ._device import check_device
    from ._parallel import parallel_map
    from ._validation import check_choice

    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-d (n, d), got shape {X.shape}")
    n, d = X.shape
    masks = np.ones((1, n), dtype=bool) if masks is None else np.asarray(masks, dtype=bool)
    if masks.ndim != 2 or masks.shape[1] != n:
        raise ValueError(f"masks must have shape (r, {n}), got {masks.shape}")
    if (masks.sum(1) == 0).any():
        raise ValueError("every region in masks needs at least one row")
    if isinstance(n_randomizations, bool) or not isinstance(n_randomizations, (int, np.integer)) \
            or n_randomizations < 1:
        raise ValueError(f"n_randomizations must be an int >= 1, got {n_randomizations!r}")
    dev = draws.device if device is None else check_device(device)
    draws = draws.to(device=dev)
    n_jobs = n_jobs if dev.type == "cpu" else 1
    if groups is not None:
        gcond: GroupModel
        if hasattr(sampler, "columns"):  # a fitted model of the groups
            gcond = cast("GroupModel", sampler)
        else:
            if callable(sampler):
                raise TypeError("a callable sampler resamples one column; with groups use "
                                f"sampler='gaussian' or 'residual_permutation', got "
                                f"{sampler!r}")
            check_choice(sampler, "sampler", SAMPLERS)
            residuals: Literal["gaussian", "permutation"] = (
                "gaussian" if sampler == "gaussian" else "permutation")
            gcond = GroupConditional(X if X_ref is None else X_ref, groups, residuals)
        gseeds = seed_sequence(random_state).spawn(len(groups))
        gparts = parallel_map(
            _loss_group_pvalue,
            [(draws, X, y, masks, gcond, g, int(n_randomizations), gseeds[g], classes, dev)
             for g in range(len(groups))],
            n_jobs=n_jobs, names=[f"CRT group {g}" for g in range(len(groups))],
            desc="CRT groups", verbose=verbose)
        return np.stack(gparts, axis=1)
    cond = make_sampler(sampler, X if X_ref is None else X_ref)
    seeds = seed_sequence(random_state).spawn(d)  # one stream per feature
    # worker processes get the draws on the CPU; a CUDA run stays in this process
    parts = parallel_map(
        _loss_feature_pvalue,
        [(draws, X, y, masks, cond, j, int(n_randomizations), seeds[j], classes, dev)
         for j in range(d)],
        n_jobs=n_jobs, names=[f"CRT feature {j}" for j in range(d)], desc="CRT features",
        verbose=verbose)
    return np.stack(parts, axis=1)
