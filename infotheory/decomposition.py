"""Co-information and partial information decomposition (PID) of I(A,V;T).

Two sources A and V (audio and video, say) and a target T (text). Shannon's quantities give

    I(A,V;T) = R + U_A + U_V + S,   I(A;T) = R + U_A,   I(V;T) = R + U_V,

one equation short of the four atoms: redundancy R (what both sources tell about T), unique
information U_A and U_V (what only one source tells), and synergy S (what only the pair tells).
A redundancy measure closes the system (Williams & Beer 2010, arXiv:1004.2515). Implemented:

``"imin"``
    Williams & Beer's I_min: the expected minimum over sources of the specific information
    I(T=t; source). Known to credit two independent bits copied into T = (A, V) with one bit of
    redundancy and one of synergy (Harder, Salge & Polani 2013, Phys. Rev. E 87:012130).
``"broja"``
    Bertschinger, Rauh, Olbrich, Jost & Ay 2014 (Entropy 16:2161): unique information
    U_A = min over Q in Delta_P of I_Q(T;A|V), Delta_P the joint distributions with the same
    (A,T) and (V,T) marginals as P. Solved by alternating KL minimisation (Csiszar & Tusnady
    1984; the idea of Banerjee et al. 2018, "Computing the unique information", ISIT):
    I_Q(T;A,V) = min_R KL(Q || R(a,v) P(t)), alternating the R step with an I-projection onto
    Delta_P by iterative proportional fitting (warm-started, one sweep per step).
``"mmi"``
    Minimum mutual information, R = min(I(A;T), I(V;T)) (Barrett 2015, Phys. Rev. E 91:052802).

Co-information follows Bell (2003) and McGill (1954): I(X;Y;Z) = I(X;Y) - I(X;Y|Z), symmetric
in its arguments, positive when redundancy dominates and negative when synergy dominates
(XOR: -1 bit). For any PID, co-information = R - S. Jakulin & Bratko's "interaction
information" is the same quantity with the opposite sign.

Tables (``*_pmf`` functions, :func:`pid_pmf`) are exact; sample functions estimate the table
by relative frequencies (PID) or use the discrete estimators of :mod:`infotheory.discrete`
(co-information).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.optimize import brentq

from probconstraints._validation import check_choice

from ._validation import (
    check_base,
    check_discrete_labels,
    check_labels,
    check_same_length,
    convert_base,
)
from .discrete import (
    discrete_conditional_mutual_information,
    discrete_mutual_information,
    encode_labels,
)

__all__ = [
    "PID_MEASURES",
    "PIDResult",
    "co_information",
    "co_information_pmf",
    "conditional_mutual_information_pmf",
    "draw_pid_venn",
    "empirical_pmf",
    "entropy_pmf",
    "mutual_information_pmf",
    "partial_information_decomposition",
    "pid_pmf",
]

PID_MEASURES = ("imin", "broja", "mmi")

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from typing_extensions import Unpack


class PIDSolverOptions(TypedDict, total=False):
    """The BROJA solver options of :func:`pid_pmf`."""

    tol: float
    max_iter: int


class PIDOptions(PIDSolverOptions, total=False):
    """The keyword options that :func:`partial_information_decomposition` passes on."""

    source_names: Sequence[str]
    target_name: str


# ----------------------------------------------------------------------------- pmf tables
def _check_pmf(p: ArrayLike, name: str, ndim: int | None = None) -> np.ndarray:
    try:
        arr = np.asarray(p, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a numeric array (a probability table); "
                        f"got {type(p).__name__}") from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D probability table; "
                         f"got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf; expected finite probabilities")
    if np.any(arr < 0):
        raise ValueError(f"{name} must be non-negative; got minimum {arr.min()}")
    total = arr.sum()
    if abs(total - 1.0) > 1e-8:
        raise ValueError(f"{name} must sum to 1; got a table summing to {total!r} "
                         "(divide a count table by its sum)")
    return arr / total


def _h(p: np.ndarray) -> float:
    """Entropy in nats of an already validated table (any shape)."""
    q = p[p > 0]
    return float(-np.sum(q * np.log(q)))


def _mi2(p_xy: np.ndarray) -> float:
    """I(X;Y) in nats of a validated 2-D table."""
    return _h(p_xy.sum(1)) + _h(p_xy.sum(0)) - _h(p_xy)


def entropy_pmf(p: ArrayLike, base: float | None = None) -> float:
    """Entropy of a probability table, -sum p log p (the table may have any shape).

    Parameters
    ----------
    p : array-like
        Non-negative probabilities summing to one; a joint table gives the joint entropy.
    base : float, optional
        Logarithm base; None for nats, 2 for bits.

    Returns
    -------
    float

    Examples
    --------
    >>> entropy_pmf([0.5, 0.25, 0.25], base=2)
    1.5
    """
    return convert_base(_h(_check_pmf(p, "p")), base)


def mutual_information_pmf(p_xy: ArrayLike, base: float | None = None) -> float:
    """Mutual information I(X;Y) of a 2-D joint probability table p[x, y].

    Parameters
    ----------
    p_xy : array-like of shape (n_x, n_y)
        Joint probabilities.
    base : float, optional
        Logarithm base; None for nats.

    Returns
    -------
    float

    Examples
    --------
    >>> mutual_information_pmf([[0.5, 0.0], [0.0, 0.5]], base=2)
    1.0
    """
    return convert_base(_mi2(_check_pmf(p_xy, "p_xy", ndim=2)), base)


def conditional_mutual_information_pmf(p_xyz: ArrayLike, base: float | None = None) -> float:
    """Conditional mutual information I(X;Y|Z) of a 3-D joint table p[x, y, z].

    Parameters
    ----------
    p_xyz : array-like of shape (n_x, n_y, n_z)
    base : float, optional
        Logarithm base; None for nats.

    Returns
    -------
    float

    Examples
    --------
    >>> p = np.zeros((2, 2, 2))
    >>> for x in range(2):
    ...     for z in range(2):
    ...         p[x, x ^ z, z] = 0.25          # y = x XOR z
    >>> round(conditional_mutual_information_pmf(p, base=2), 12)
    1.0
    """
    p = _check_pmf(p_xyz, "p_xyz", ndim=3)
    val = _h(p.sum(1)) + _h(p.sum(0)) - _h(p) - _h(p.sum((0, 1)))
    return convert_base(val, base)


def co_information_pmf(p_xyz: ArrayLike, base: float | None = None) -> float:
    """Co-information I(X;Y;Z) = I(X;Y) - I(X;Y|Z) of a 3-D joint table (Bell 2003).

    Symmetric in X, Y, Z; positive for redundancy, negative for synergy. Equals
    H(X)+H(Y)+H(Z)-H(X,Y)-H(X,Z)-H(Y,Z)+H(X,Y,Z).

    Parameters
    ----------
    p_xyz : array-like of shape (n_x, n_y, n_z)
    base : float, optional
        Logarithm base; None for nats.

    Returns
    -------
    float

    Examples
    --------
    >>> p = np.zeros((2, 2, 2))
    >>> for x in range(2):
    ...     for y in range(2):
    ...         p[x, y, x ^ y] = 0.25          # z = x XOR y
    >>> round(co_information_pmf(p, base=2), 12)
    -1.0
    """
    p = _check_pmf(p_xyz, "p_xyz", ndim=3)
    val = (_h(p.sum((1, 2))) + _h(p.sum((0, 2))) + _h(p.sum((0, 1)))
           - _h(p.sum(2)) - _h(p.sum(1)) - _h(p.sum(0)) + _h(p))
    return convert_base(val, base)


def empirical_pmf(*xs: ArrayLike) -> np.ndarray:
    """Joint relative-frequency table of several label arrays, one axis per array.

    Parameters
    ----------
    *xs : array-like of shape (n,) or (n, d)
        Labels of any dtype, equal length; the rows of a 2-D array are one joint label.

    Returns
    -------
    ndarray of shape (m_1, ..., m_k)
        ``p[i1, ..., ik]`` is the fraction of samples whose labels have codes i1, ..., ik
        (codes in order of first appearance, as :func:`infotheory.discrete.encode_labels`).

    Examples
    --------
    >>> empirical_pmf(["a", "a", "b", "b"], [0, 1, 1, 1])
    array([[0.25, 0.25],
           [0.  , 0.5 ]])
    """
    if len(xs) == 0:
        raise ValueError("empirical_pmf needs at least one label array; got none")
    arrays = [check_labels(x, f"xs[{i}]") for i, x in enumerate(xs)]
    check_same_length(**{f"xs[{i}]": a for i, a in enumerate(arrays)})
    codes = [encode_labels(a) for a in arrays]
    shape = tuple(int(c.max()) + 1 for c in codes)
    flat = np.ravel_multi_index(tuple(codes), shape)
    counts = np.bincount(flat, minlength=int(np.prod(shape))).astype(np.float64)
    return (counts / counts.sum()).reshape(shape)


# ----------------------------------------------------------------------------- PID result
@dataclass(frozen=True)
class PIDResult:
    """The four PID atoms of I(A,V;T) and the mutual informations they add up to.

    Attributes
    ----------
    redundancy, unique_a, unique_v, synergy : float
        The atoms, in ``unit``.
    mi_a, mi_v, mi_av : float
        I(A;T), I(V;T) and I(A,V;T); ``mi_a == redundancy + unique_a`` and
        ``mi_av == redundancy + unique_a + unique_v + synergy`` up to rounding.
    measure : str
        Redundancy measure used (``"imin"``, ``"broja"`` or ``"mmi"``).
    unit : str
        ``"nats"``, ``"bits"`` or ``"log base b"``.
    source_names : tuple of str
        Display names of the two sources (default ``("A", "V")``).
    target_name : str
        Display name of the target.
    info : dict
        Solver details (BROJA: ``n_iter``, ``converged``, ``marginal_error``).

    Examples
    --------
    >>> r = PIDResult(0.2, 0.3, 0.1, 0.05, 0.5, 0.3, 0.65, "imin")
    >>> round(r.co_information, 2), list(r.atoms)
    (0.15, ['redundancy', 'unique A', 'unique V', 'synergy'])
    """

    redundancy: float
    unique_a: float
    unique_v: float
    synergy: float
    mi_a: float
    mi_v: float
    mi_av: float
    measure: str
    unit: str = "nats"
    source_names: tuple[str, str] = ("A", "V")
    target_name: str = "T"
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def co_information(self) -> float:
        """Co-information I(A;V;T) = redundancy - synergy."""
        return self.redundancy - self.synergy

    @property
    def atoms(self) -> dict[str, float]:
        """The four atoms keyed by display label."""
        a, v = self.source_names
        return {"redundancy": self.redundancy, f"unique {a}": self.unique_a,
                f"unique {v}": self.unique_v, "synergy": self.synergy}

    def to_dict(self) -> dict[str, Any]:
        """All fields plus the co-information, as a flat dictionary."""
        d = asdict(self)
        d.pop("info")
        d["source_names"] = "/".join(self.source_names)
        d["co_information"] = self.co_information
        return d

    def to_frame(self) -> pd.DataFrame:
        """One-row DataFrame of :meth:`to_dict`."""
        return pd.DataFrame([self.to_dict()])

    def plot(self, ax: Axes | None = None, kind: str = "bar") -> Axes:
        """Draw the decomposition: ``kind="bar"`` (four atoms) or ``"venn"`` (two circles).

        In the Venn-style diagram the circle areas are I(A;T) and I(V;T), their overlap is
        the redundancy, and synergy is written below (it belongs to neither source alone).

        Returns
        -------
        matplotlib.axes.Axes

        Examples
        --------
        >>> r = PIDResult(0.2, 0.3, 0.1, 0.05, 0.5, 0.3, 0.65, "imin")
        >>> len(r.plot(kind="bar").patches)
        4
        """
        import matplotlib.pyplot as plt

        if kind not in ("bar", "venn"):
            raise ValueError(f"kind must be 'bar' or 'venn'; got {kind!r}")
        if ax is None:
            _, ax = plt.subplots(figsize=(4.5, 3.2))
        if kind == "bar":
            labels = list(self.atoms)
            values = list(self.atoms.values())
            colors = ["#7b68ee", "#e4572e", "#29b6f6", "#76b041"]
            ax.bar(labels, values, color=colors)
            ax.set_ylabel(f"information ({self.unit})")
            ax.set_title(f"PID of I({self.source_names[0]},{self.source_names[1]};"
                         f"{self.target_name}) [{self.measure}]")
            ax.axhline(0, color="k", lw=0.5)
            ax.tick_params(axis="x", labelrotation=20)
        else:
            draw_pid_venn(self, ax)
        return ax


def _lens_area(r1: float, r2: float, d: float) -> float:
    if d >= r1 + r2:
        return 0.0
    if d <= abs(r1 - r2):
        return float(np.pi * min(r1, r2) ** 2)
    c1 = np.clip((d * d + r1 * r1 - r2 * r2) / (2 * d * r1), -1, 1)
    c2 = np.clip((d * d + r2 * r2 - r1 * r1) / (2 * d * r2), -1, 1)
    k = (-d + r1 + r2) * (d + r1 - r2) * (d - r1 + r2) * (d + r1 + r2)
    return float(r1 * r1 * np.arccos(c1) + r2 * r2 * np.arccos(c2) - 0.5 * np.sqrt(max(k, 0)))


def draw_pid_venn(result: PIDResult, ax: Axes) -> Axes:
    """Area-proportional two-circle diagram of a :class:`PIDResult` on ``ax``.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> r = PIDResult(0.2, 0.3, 0.1, 0.05, 0.5, 0.3, 0.65, "imin")
    >>> ax = draw_pid_venn(r, plt.subplots()[1])
    """
    from matplotlib.patches import Circle

    ia, iv = max(result.mi_a, 0.0), max(result.mi_v, 0.0)
    scale = max(ia, iv, result.mi_av, 1e-12)
    r1 = np.sqrt(ia / scale / np.pi)
    r2 = np.sqrt(iv / scale / np.pi)
    overlap = float(np.clip(result.redundancy / scale, 0.0, np.pi * min(r1, r2) ** 2))
    if r1 == 0 or r2 == 0 or overlap <= 0:
        d = r1 + r2 + 0.05
    elif overlap >= np.pi * min(r1, r2) ** 2 * (1 - 1e-9):
        d = abs(r1 - r2)
    else:
        d = brentq(lambda s: _lens_area(r1, r2, s) - overlap, abs(r1 - r2) + 1e-12,
                   r1 + r2 - 1e-12)
    c1, c2 = (-d / 2, 0.0), (d / 2, 0.0)
    ax.add_patch(Circle(c1, r1, alpha=0.45, color="#e4572e", lw=0))
    ax.add_patch(Circle(c2, r2, alpha=0.45, color="#29b6f6", lw=0))
    a, v = result.source_names

    def fmt(x: float) -> str:
        return "0" if abs(x) < 1e-9 else f"{x:.3g}"

    left_a, right_a = c1[0] - r1, c1[0] + r1
    left_v, right_v = c2[0] - r2, c2[0] + r2
    lens_lo, lens_hi = max(left_a, left_v), min(right_a, right_v)
    wide_a = left_v - left_a > max(0.3 * r1, 0.25)      # room for a label in the crescent
    wide_v = right_v - right_a > max(0.3 * r2, 0.25)
    ax.text((left_a + lens_lo) / 2 if wide_a else left_a - 0.02, 0,
            f"U_{a}\n{fmt(result.unique_a)}", ha="center" if wide_a else "right",
            va="center", fontsize=9)
    ax.text((right_v + lens_hi) / 2 if wide_v else right_v + 0.02, 0,
            f"U_{v}\n{fmt(result.unique_v)}", ha="center" if wide_v else "left",
            va="center", fontsize=9)
    if overlap > 0:
        inside = lens_hi - lens_lo > 0.25
        ax.text((lens_lo + lens_hi) / 2, 0 if inside else -min(r1, r2) - 0.03,
                f"R\n{fmt(result.redundancy)}", ha="center",
                va="center" if inside else "top", fontsize=9, fontweight="bold")
    ax.text(0.02, 0.98, f"I({a};{result.target_name}) = {fmt(result.mi_a)}",
            transform=ax.transAxes, ha="left", va="top", fontsize=9, color="#b03a1a")
    ax.text(0.02, 0.91, f"I({v};{result.target_name}) = {fmt(result.mi_v)}",
            transform=ax.transAxes, ha="left", va="top", fontsize=9, color="#0277bd")
    lim = max(r1 + d / 2, r2 + d / 2, 0.3) * 1.45
    ax.text(0, -lim * 0.95, f"synergy S = {fmt(result.synergy)}   "
            f"I({a},{v};{result.target_name}) = {fmt(result.mi_av)} {result.unit}",
            ha="center", va="bottom", fontsize=9,
            bbox={"boxstyle": "round", "fc": "#e8f5e9", "ec": "#76b041", "ls": "--"})
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"shared and unique information [{result.measure}]", fontsize=10)
    return ax


# ----------------------------------------------------------------------------- measures
def _specific_information(p_st: np.ndarray) -> np.ndarray:
    """I(T=t; S) = sum_s p(s|t) log(p(t|s) / p(t)) for each t, from a table p[s, t]."""
    p_t = p_st.sum(0)
    p_s = p_st.sum(1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = p_st / (p_s * p_t[None, :])
        term = np.where(p_st > 0, p_st * np.log(np.where(p_st > 0, ratio, 1.0)), 0.0)
        return np.where(p_t > 0, term.sum(0) / np.where(p_t > 0, p_t, 1.0), 0.0)


def _imin(p: np.ndarray) -> float:
    spec = np.vstack([_specific_information(p.sum(1)), _specific_information(p.sum(0))])
    return float(np.sum(p.sum((0, 1)) * spec.min(0)))


def _mi_t_av(q: np.ndarray) -> float:
    """I_Q(T; A,V) in nats for a table q[a, v, t]."""
    return _mi2(q.reshape(-1, q.shape[2]))


def _broja_min_mi(p: np.ndarray, tol: float,
                  max_iter: int) -> tuple[float, dict[str, Any]]:
    """min over Q in Delta_P of I_Q(T; A,V).

    The optimum has the form Q(a,v,t) = R(a,v) P(t) alpha(a,t) beta(v,t) with R = Q(a,v)
    (stationarity of the Lagrangian). Alternating KL minimisation (Csiszar & Tusnady 1984)
    sets R = Q(a,v), then I-projects R(a,v) P(t) onto Delta_P by iterative proportional
    fitting; here each I-projection is a single warm-started IPF sweep on the scalings
    alpha, beta, which converges far faster on boundary optima than a fresh projection.
    A final IPF polish with R fixed restores the marginals to machine precision.
    """
    p_at = p.sum(1, keepdims=True)
    p_vt = p.sum(0, keepdims=True)
    p_t = p.sum((0, 1), keepdims=True)
    q = np.where(p_t > 0, p_at * p_vt / np.where(p_t > 0, p_t, 1.0), 0.0)
    r = q.sum(2, keepdims=True)                     # start: conditionally independent coupling
    alpha = np.ones_like(p_at)
    beta = np.ones_like(p_vt)

    def sweep(alpha: np.ndarray, beta: np.ndarray,
              r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = (r * p_t * beta).sum(1, keepdims=True)
        alpha = np.divide(p_at, s, out=np.zeros_like(s), where=s > 0)
        s = (r * p_t * alpha).sum(0, keepdims=True)
        beta = np.divide(p_vt, s, out=np.zeros_like(s), where=s > 0)
        return alpha, beta

    f_old = np.inf
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007
        alpha, beta = sweep(alpha, beta, r)
        q = r * p_t * alpha * beta
        r = q.sum(2, keepdims=True)
        if n_iter % 10 == 0:
            f = _mi_t_av(q)
            if abs(f_old - f) < tol:
                converged = True
                break
            f_old = f
    for _ in range(2000):                           # polish the marginals, R fixed
        alpha, beta = sweep(alpha, beta, r)
        q = r * p_t * alpha * beta
        if np.abs(q.sum(1, keepdims=True) - p_at).sum() < 1e-14:
            break
    err = float(np.abs(q.sum(1, keepdims=True) - p_at).sum()
                + np.abs(q.sum(0, keepdims=True) - p_vt).sum())
    return _mi_t_av(q), {"n_iter": n_iter, "converged": converged, "marginal_error": err}


def _clean(x: float) -> float:
    return 0.0 if abs(x) < 1e-12 else float(x)


def pid_pmf(p_avt: ArrayLike, measure: str = "imin", base: float | None = None, *,
            source_names: Sequence[str] = ("A", "V"), target_name: str = "T",
            tol: float = 1e-9, max_iter: int = 200_000) -> PIDResult:
    """Partial information decomposition of I(A,V;T) for a known joint table p[a, v, t].

    Parameters
    ----------
    p_avt : array-like of shape (n_a, n_v, n_t)
        Joint probabilities of the two sources and the target.
    measure : {"imin", "broja", "mmi"}
        Redundancy measure (see the module docstring).
    base : float, optional
        Logarithm base of the atoms; None for nats, 2 for bits.
    source_names : (str, str)
        Display names of the sources.
    target_name : str
        Display name of the target.
    tol : float
        BROJA only: stop when ten iterations change I_Q(T;A,V) by less than ``tol`` nats
        (a stalling test, not a certified gap; the textbook gates converge to 1e-12).
    max_iter : int
        BROJA only: iteration cap (``result.info["converged"]`` says whether it was hit).

    Returns
    -------
    PIDResult

    Examples
    --------
    >>> p = np.zeros((2, 2, 2))
    >>> for a in range(2):
    ...     for v in range(2):
    ...         p[a, v, a & v] = 0.25            # AND gate
    >>> r = pid_pmf(p, "imin", base=2)
    >>> round(r.redundancy, 3), round(r.synergy, 3)
    (0.311, 0.5)
    """
    check_choice(measure, "measure", PID_MEASURES)
    if len(source_names) != 2:
        raise ValueError(f"source_names must hold two names; got {source_names!r}")
    p = _check_pmf(p_avt, "p_avt", ndim=3)
    log_b = check_base(base)
    i_a, i_v = _mi2(p.sum(1)), _mi2(p.sum(0))
    i_av = _mi_t_av(p)
    info: dict[str, Any] = {}
    if measure == "broja":
        f_min, info = _broja_min_mi(p, tol, max_iter)
        f_min = min(f_min, i_av)
        u_a, u_v = f_min - i_v, f_min - i_a
        red = i_a - u_a
        syn = i_av - f_min
    else:
        red = _imin(p) if measure == "imin" else min(i_a, i_v)
        u_a, u_v = i_a - red, i_v - red
        syn = i_av - red - u_a - u_v
    unit = {1.0: "nats", float(np.log(2)): "bits"}.get(log_b, f"log base {np.exp(log_b):g}")
    c = [_clean(x) / log_b for x in (red, u_a, u_v, syn, i_a, i_v, i_av)]
    name_a, name_v = source_names
    return PIDResult(c[0], c[1], c[2], c[3], c[4], c[5], c[6], measure=measure, unit=unit,
                     source_names=(name_a, name_v), target_name=target_name, info=info)


def partial_information_decomposition(a: ArrayLike, v: ArrayLike, t: ArrayLike,
                                      measure: str = "imin", base: float | None = None,
                                      **kwargs: Unpack[PIDOptions]) -> PIDResult:
    """PID of I(A,V;T) from samples, on the relative-frequency (plug-in) joint table.

    Plug-in tables overstate every mutual information when the joint alphabet is large
    compared with the sample (bias about (cells - 1) / 2n nats); synergy absorbs most of it.

    Parameters
    ----------
    a, v, t : array-like of shape (n,) or (n, d)
        Labels of any dtype, equal length; a 2-D array is one multivariate variable.
    measure : {"imin", "broja", "mmi"}
        Redundancy measure.
    base : float, optional
        Logarithm base; None for nats.
    **kwargs
        Passed to :func:`pid_pmf` (``source_names``, ``target_name``, ``tol``, ``max_iter``).

    Returns
    -------
    PIDResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a, v = rng.integers(0, 2, 4000), rng.integers(0, 2, 4000)
    >>> r = partial_information_decomposition(a, v, a ^ v, base=2)      # XOR
    >>> round(r.synergy, 2), round(r.redundancy, 2)
    (1.0, 0.0)
    """
    arrays = [check_discrete_labels(check_labels(x, name), name, "the plug-in PID")
              for x, name in zip((a, v, t), "avt")]
    return pid_pmf(empirical_pmf(*arrays), measure=measure, base=base, **kwargs)


def co_information(x: ArrayLike, y: ArrayLike, z: ArrayLike, method: str = "plugin", *,
                   base: float | None = None) -> float:
    """Co-information I(X;Y;Z) = I(X;Y) - I(X;Y|Z) estimated from discrete samples.

    Sign convention of Bell (2003) / McGill (1954): positive when the three variables share
    redundant information, negative when synergy dominates (Z = X XOR Y gives -log 2). It is
    symmetric in its arguments and equals redundancy - synergy of any PID. (Jakulin & Bratko's
    interaction information is its negative.)

    Parameters
    ----------
    x, y, z : array-like of shape (n,) or (n, d)
        Labels of any dtype, equal length.
    method : {"plugin", "miller_madow", "james_stein", "nsb"}
        Entropy estimator of :mod:`infotheory.discrete`, used for both terms.
    base : float, optional
        Logarithm base; None for nats, 2 for bits.

    Returns
    -------
    float

    Examples
    --------
    >>> x = [0, 0, 1, 1]
    >>> y = [0, 1, 0, 1]
    >>> z = [0, 1, 1, 0]                  # XOR
    >>> round(co_information(x, y, z, base=2), 12)
    -1.0
    """
    i_xy = discrete_mutual_information(x, y, method=method)
    i_xy_z = discrete_conditional_mutual_information(x, y, z, method=method)
    return convert_base(i_xy - i_xy_z, base)
