"""Hypothesis strategies: random formulas over a batch of random assignments."""

import numpy as np
import torch
from hypothesis import strategies as st

import logiclearn as ll

N_VARS, BATCH = 3, 6


def values_strategy(boundary_free: bool):
    """Assignments (BATCH, N_VARS) of integers; even ones when boundary-free.

    Boundary-free atoms compare even values with odd thresholds, so ``|e| >= 1``: no atom sits
    on its boundary and every atom is crisp (cost 0 or >= 1).
    """
    scale = 2 if boundary_free else 1
    return st.lists(st.integers(-3, 3), min_size=BATCH * N_VARS, max_size=BATCH * N_VARS).map(
        lambda v: torch.tensor(scale * np.array(v, dtype=np.float32).reshape(BATCH, N_VARS))
    )


def atom_specs(boundary_free: bool):
    """(kind, var, const, margin); boundary-free atoms never have e == 0 or e + m == 0."""
    kinds = ["le", "ge", "lt", "gt"] + ([] if boundary_free else ["eq"])
    const = st.integers(-3, 3).map(lambda c: 2 * c + 1 if boundary_free else c)
    return st.tuples(st.sampled_from(kinds), st.integers(0, N_VARS - 1), const,
                     st.sampled_from([0.0, 0.25]))


def formula_specs(boundary_free: bool):
    leaves = atom_specs(boundary_free).map(lambda a: ("atom", a))
    return st.recursive(
        leaves,
        lambda kids: st.one_of(
            st.tuples(st.just("and"), st.lists(kids, min_size=1, max_size=3)),
            st.tuples(st.just("or"), st.lists(kids, min_size=1, max_size=3)),
            st.tuples(st.just("not"), kids),
            st.tuples(st.just("implies"), st.tuples(kids, kids)),
        ),
        max_leaves=8,
    )


def build(spec, x: ll.Term):
    """Formula from a spec over the term x of shape (BATCH, N_VARS)."""
    tag, body = spec
    if tag == "atom":
        kind, var, c, m = body
        v = x[:, var]
        return {"le": lambda: v <= c, "ge": lambda: v >= c, "eq": lambda: v == c,
                "lt": lambda: ll.lt(v, c, margin=m), "gt": lambda: ll.gt(v, c, margin=m)}[kind]()
    if tag == "and":
        return ll.all_of([build(s, x) for s in body])
    if tag == "or":
        return ll.any_of([build(s, x) for s in body])
    if tag == "not":
        return ~build(body, x)
    a, b = body
    return build(a, x) >> build(b, x)


def reference_truth(spec, X: np.ndarray) -> np.ndarray:
    """Truth per row computed with numpy, independently of logiclearn."""
    tag, body = spec
    if tag == "atom":
        kind, var, c, m = body
        v = X[:, var]
        if kind == "le":
            return v <= c
        if kind == "ge":
            return v >= c
        if kind == "eq":
            return v == c
        if kind == "lt":
            return (v <= c - m) if m > 0 else (v < c)
        return (v >= c + m) if m > 0 else (v > c)
    if tag == "and":
        return np.all([reference_truth(s, X) for s in body], axis=0)
    if tag == "or":
        return np.any([reference_truth(s, X) for s in body], axis=0)
    if tag == "not":
        return ~reference_truth(body, X)
    a, b = body
    return ~reference_truth(a, X) | reference_truth(b, X)
