"""Feature groups: testing image patches or one-hot blocks as one feature each.

A *group* is a name and the columns it covers. ``NFBST(groups=...)`` tests "the group does
not matter": its evidence uses the group statistic (the sum of the group's attributions per
draw and row; for the gradient, the directional derivative along the group's all-ones
direction) and its CRT resamples the group's columns jointly given the other columns
(:class:`nfbst.crt.GroupConditional`). Results are indexed by the group names. Groups must
cover every column exactly once (a partition): :func:`check_groups` names any column that is
in two groups or in none.

Helpers: :func:`image_patches` (square or rectangular patches of a flattened image) and
:func:`prefix_groups` (one-hot blocks named ``<prefix><sep><level>``, e.g. from
``pandas.get_dummies``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

#: Groups as given by the user: name -> column indices (ints) or column names.
GroupsLike = Mapping[str, Sequence[int] | Sequence[str]]


def image_patches(shape: Sequence[int], patch: int | Sequence[int]) -> dict[str, list[int]]:
    """Non-overlapping patches of a flattened image as groups of column indices.

    Parameters
    ----------
    shape : (height, width) or (channels, height, width)
        The image shape; columns are its C-order flattening (as ``X.reshape(n, -1)``). All
        channels of a pixel belong to its patch.
    patch : int or (ph, pw)
        Patch size; it must divide the height and the width.

    Returns
    -------
    dict ``"patch(r,c)" -> columns``, ``r, c`` the patch's row and column (from 0).

    Examples
    --------
    >>> groups = image_patches((4, 4), 2)
    >>> list(groups)
    ['patch(0,0)', 'patch(0,1)', 'patch(1,0)', 'patch(1,1)']
    >>> groups["patch(0,1)"]
    [2, 3, 6, 7]
    """
    shape = tuple(int(v) for v in shape)
    if len(shape) == 2:
        shape = (1, *shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"shape must be (height, width) or (channels, height, width), got "
                         f"{shape!r}")
    ph, pw = (int(patch), int(patch)) if isinstance(patch, (int, np.integer)) else \
        tuple(int(v) for v in patch)
    c, h, w = shape
    if ph < 1 or pw < 1 or h % ph or w % pw:
        raise ValueError(f"patch {(ph, pw)} must divide the image's height and width "
                         f"{(h, w)}")
    index = np.arange(c * h * w).reshape(c, h, w)
    return {f"patch({r},{q})": sorted(index[:, r * ph:(r + 1) * ph, q * pw:(q + 1) * pw]
                                      .ravel().tolist())
            for r in range(h // ph) for q in range(w // pw)}


def prefix_groups(feature_names: Sequence[str], sep: str = "_") -> dict[str, list[int]]:
    """One-hot blocks: columns named ``<prefix><sep><level>`` sharing a prefix form a group.

    A column without ``sep`` or whose prefix is its own is a group of one.

    Examples
    --------
    >>> prefix_groups(["age", "color_red", "color_blue", "size"])
    {'age': [0], 'color': [1, 2], 'size': [3]}
    """
    groups: dict[str, list[int]] = {}
    for j, name in enumerate(feature_names):
        prefix = str(name).rsplit(sep, 1)[0] if sep in str(name) else str(name)
        groups.setdefault(prefix, []).append(j)
    return groups


def check_groups(groups: GroupsLike, feature_names: Sequence[str]
                 ) -> tuple[list[str], list[NDArray[np.intp]]]:
    """Validate ``groups`` as a partition of the columns: names and index arrays.

    Columns may be given by index or by name. Overlapping groups, columns in no group,
    unknown names, out-of-range indices or an empty group are ``ValueError``\\ s naming them.

    Examples
    --------
    >>> check_groups({"a": [0, 2], "b": ["x1"]}, ["x0", "x1", "x2"])[1]
    [array([0, 2]), array([1])]
    >>> check_groups({"a": [0, 1], "b": [1, 2]}, ["x0", "x1", "x2"])
    Traceback (most recent call last):
    ...
    ValueError: groups overlap: column 1 ('x1') is in 'a' and 'b'
    """
    if not isinstance(groups, Mapping) or not groups:
        raise TypeError(f"groups must be a non-empty dict of name -> columns, got "
                        f"{type(groups).__name__}")
    names = list(feature_names)
    position = {str(n): j for j, n in enumerate(names)}
    d = len(names)
    owner: dict[int, str] = {}
    out: list[NDArray[np.intp]] = []
    for g, cols in groups.items():
        if isinstance(cols, (str, bytes)) or not isinstance(cols, Sequence | np.ndarray):
            raise TypeError(f"groups[{g!r}] must be a list of columns, got {cols!r}")
        idx: list[int] = []
        for c in cols:
            if isinstance(c, (int, np.integer)) and not isinstance(c, bool):
                if not 0 <= int(c) < d:
                    raise ValueError(f"groups[{g!r}] has column {int(c)}, outside the {d} "
                                     "features")
                idx.append(int(c))
            elif str(c) in position:
                idx.append(position[str(c)])
            else:
                raise ValueError(f"groups[{g!r}] names column {c!r}, which is not a feature "
                                 f"(features: {names[:5]}{' ...' if d > 5 else ''})")
        if not idx:
            raise ValueError(f"groups[{g!r}] is empty")
        for j in idx:
            if j in owner:
                raise ValueError(f"groups overlap: column {j} ({names[j]!r}) is in "
                                 f"{owner[j]!r} and {str(g)!r}")
            owner[j] = str(g)
        out.append(np.asarray(sorted(set(idx)), dtype=np.intp))
    missing = sorted(set(range(d)) - set(owner))
    if missing:
        shown = ", ".join(f"{j} ({names[j]!r})" for j in missing[:5])
        raise ValueError(f"groups are incomplete: {len(missing)} column(s) are in no group: "
                         f"{shown}{' ...' if len(missing) > 5 else ''}; give every column a "
                         "group (a group of one is fine)")
    return [str(g) for g in groups], out
