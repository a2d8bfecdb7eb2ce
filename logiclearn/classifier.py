"""scikit-learn style classifier trained with a logical constraint on unlabelled data."""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from probconstraints._random import (
    RandomStateLike,
    isolated_rng,
    torch_generator,
)
from probconstraints._validation import Constraint, Int, validate_params

from .data import IndexedDataset
from .encodings import Encoding
from .enforce import most_probable_satisfying
from .trainer import TRAINING_PARAMETERS, ConstraintFn, LogicTrainer, describe_constraint

__all__ = ["ConstrainedClassifier"]

#: hidden width of the default network (``module=None``)
DEFAULT_HIDDEN = 64


def _reset(module: torch.nn.Module) -> None:
    for m in module.modules():
        reset = getattr(m, "reset_parameters", None)
        if callable(reset):
            reset()


def default_module(n_features: int, n_classes: int) -> torch.nn.Module:
    """The network of ``ConstrainedClassifier(module=None)``: flatten, 64 ReLU units, logits.

    Examples
    --------
    >>> from logiclearn.classifier import default_module
    >>> default_module(4, 3)[-1].out_features
    3
    """
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(n_features, DEFAULT_HIDDEN),
                               torch.nn.ReLU(), torch.nn.Linear(DEFAULT_HIDDEN, n_classes))


def _as_input(X: Any, name: str) -> Any:
    """``X`` ready for scikit-learn's conversion: a torch tensor detached to numpy (one that
    requires grad would fail inside numpy), pandas columns that are not numbers (text,
    category) or hold missing values refused, naming them, before scikit-learn's conversion
    gives a less specific message."""
    if isinstance(X, torch.Tensor):
        return X.detach().cpu().numpy()
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(X, "columns"):
        return X
    import pandas as pd

    bad = [str(c) for c, t in zip(X.columns, dtypes)
           if not (pd.api.types.is_numeric_dtype(t) or pd.api.types.is_bool_dtype(t))]
    if bad:
        kinds = sorted({str(t) for c, t in zip(X.columns, dtypes) if str(c) in bad})
        raise ValueError(
            f"{name} must hold numbers only; columns {bad} have dtype {', '.join(kinds)} "
            "(encode text and categories as numbers first)"
        )
    missing = [str(c) for c in X.columns if bool(X[c].isna().any())]
    if missing:
        raise ValueError(f"{name} has missing values (NaN/NA) in columns {missing}")
    return X


def _input_mismatch(module: torch.nn.Module, row_shape: tuple[int, ...],
                    exc: RuntimeError) -> str:
    """The message for a module that cannot take X's rows: the feature count its first layer
    expects (when it has one that says) and the one X has."""
    n_in = int(math.prod(row_shape))
    firsts = [(m, k) for m in module.modules()
              if isinstance(k := getattr(m, "in_features", None), int) and k > 0]
    head = (f"module expects {firsts[0][1]} input features (its first layer, "
            f"{type(firsts[0][0]).__name__}), but X has {n_in}" if firsts
            else f"module cannot take X's rows of shape {row_shape} ({n_in} features)")
    return (f"{head}; build the module for X's features (or pass module=None or a callable "
            f"(n_features, n_classes) -> Module). torch said: {exc}")


class ConstrainedClassifier(ClassifierMixin, BaseEstimator):
    """Classifier = a torch module trained on labelled data plus a constraint on unlabelled data.

    Parameters
    ----------
    module : torch.nn.Module, callable or None
        Maps a float batch of X's rows to class logits; copied and re-initialised in ``fit``.
        A callable is called as ``module(n_features_in, n_classes)`` in ``fit`` and must
        return the module; ``None`` (default) is :func:`default_module` (one hidden layer of
        64 ReLU units on the flattened rows).
    constraint : callable or None
        ``constraint(outputs, batch) -> Formula`` as in :class:`LogicTrainer`; ``outputs`` are
        logits (Term), one per view of the unlabelled data.
    encoding : str or Encoding
        See :func:`logiclearn.get_encoding`; an encoding object is copied in ``fit``.
    encoding_params : dict, optional
        Constructor arguments of a named encoding (e.g. ``{'lr': 1.0}`` for ``'dual'``).
    constraint_weight : float
        Weight λ of the constraint term.
    epochs, batch_size, lr, weight_decay, sigma_init, sigma_target :
        Training settings, as in :class:`LogicTrainer`.
    classes : array-like or None
        Every class label the model predicts, including classes with no labelled row — a class
        learned only through the constraint, like the hidden digit of the rotated-digits
        experiment. ``None`` (default): the labels present in ``y``. The constraint indexes
        the module's outputs in the sorted order of these labels.
    random_state : None, int, numpy RandomState or Generator
        Seeds the re-initialisation of the module, the data order and the training (through
        ``torch.Generator`` objects; torch's global generator is left as it was).
    verbose : int
        0 (default): silent; 1: a progress bar over epochs on a terminal; 2: also in a log
        (as in :class:`LogicTrainer`).

    Attributes
    ----------
    classes_ : ndarray
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X was a DataFrame with string column names.
    module_ : torch.nn.Module
        The fitted copy of ``module``.
    trainer_ : LogicTrainer

    Examples
    --------
    >>> import numpy as np, torch
    >>> import logiclearn as ll
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 2)); y = (X[:, 0] > 0).astype(int)
    >>> fn = lambda out, b: ll.any_of(out.softmax(-1) == 1.0)   # confident predictions
    >>> clf = ll.ConstrainedClassifier(torch.nn.Linear(2, 2), fn, epochs=30, lr=0.05,
    ...                                random_state=0)
    >>> clf.fit(X, y, X_unlabeled=rng.normal(size=(40, 2))).score(X, y) > 0.8
    True
    """

    def __init__(self,
                 module: torch.nn.Module | Callable[[int, int], torch.nn.Module] | None = None,
                 constraint: ConstraintFn | None = None, *, encoding: str | Encoding = "dual",
                 encoding_params: dict[str, Any] | None = None,
                 constraint_weight: float = 1.0, epochs: int = 20, batch_size: int = 64,
                 lr: float = 1e-3, weight_decay: float = 0.0, sigma_init: float = 0.5,
                 sigma_target: float = 0.5, classes: ArrayLike | None = None,
                 random_state: RandomStateLike = None,
                 verbose: int = 0) -> None:
        self.module = module
        self.constraint = constraint
        self.encoding = encoding
        self.encoding_params = encoding_params
        self.constraint_weight = constraint_weight
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.sigma_init = sigma_init
        self.sigma_target = sigma_target
        self.classes = classes
        self.random_state = random_state
        self.verbose = verbose

    #: the hyper-parameters checked by fit, declared once (the trainer's, plus the loop's)
    _parameter_checks: dict[str, Constraint] = {
        **TRAINING_PARAMETERS, "epochs": Int(1), "batch_size": Int(1)}

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags

    def _check_params(self) -> None:
        if not (self.module is None or isinstance(self.module, torch.nn.Module)
                or callable(self.module)):
            raise TypeError("module must be a torch.nn.Module, a callable "
                            "(n_features, n_classes) -> Module or None, got "
                            f"{type(self.module).__name__}")
        if self.constraint is not None and not callable(self.constraint):
            raise TypeError(f"constraint must be callable or None, got "
                            f"{type(self.constraint).__name__}")
        validate_params(self.get_params(deep=False), self._parameter_checks)

    def _build(self, n_features: int, n_classes: int) -> torch.nn.Module:
        if self.module is None:
            return default_module(n_features, n_classes)
        if isinstance(self.module, torch.nn.Module):
            return copy.deepcopy(self.module)
        module = self.module(n_features, n_classes)
        if not isinstance(module, torch.nn.Module):
            raise TypeError(f"module(n_features, n_classes) must return a torch.nn.Module, got "
                            f"{type(module).__name__}")
        return module

    def _unlabeled(self, X_unlabeled: ArrayLike | tuple[ArrayLike, ...] | list[ArrayLike],
                   n_features: tuple[int, ...]) -> list[torch.Tensor]:
        views = X_unlabeled if isinstance(X_unlabeled, (tuple, list)) else (X_unlabeled,)
        if not views:
            raise ValueError("X_unlabeled must be an array or a non-empty tuple of views, got "
                             "an empty tuple")
        out = []
        for i, v in enumerate(views):
            name = "X_unlabeled" if len(views) == 1 else f"X_unlabeled view {i}"
            v = _as_input(v, name)
            v = check_array(v, allow_nd=True, dtype=np.float32, input_name=name)
            if v.shape[1:] != n_features:
                raise ValueError(f"{name} has rows of shape {v.shape[1:]}, but X has rows of "
                                 f"shape {n_features}")
            out.append(torch.as_tensor(v))
        sizes = [len(v) for v in out]
        if len(set(sizes)) > 1:
            raise ValueError(f"the views of X_unlabeled must have the same number of rows, "
                             f"got {sizes}")
        return out

    def _encode_labels(self, y: NDArray[Any]) -> tuple[NDArray[Any], NDArray[np.intp]]:
        """``(classes_, y as indices into classes_)``, from ``y`` or the ``classes`` given."""
        if self.classes is None:
            return np.unique(y, return_inverse=True)
        classes = np.asarray(self.classes)
        if classes.ndim != 1 or len(classes) == 0:
            raise ValueError(f"classes must be a non-empty 1-D list of labels, "
                             f"got {self.classes!r}")
        classes = np.unique(classes)
        unknown = [v.item() if hasattr(v, "item") else v
                   for v in np.setdiff1d(np.unique(y), classes)]
        if unknown:
            raise ValueError(f"y has labels {unknown} that are not in classes={classes.tolist()}")
        return classes, np.searchsorted(classes, y)

    def fit(self, X: ArrayLike, y: ArrayLike,
            X_unlabeled: ArrayLike | tuple[ArrayLike, ...] | list[ArrayLike] | None = None,
            ) -> ConstrainedClassifier:
        """Fit on labelled ``(X, y)`` and unlabelled ``X_unlabeled`` (array or tuple of views).

        Returns
        -------
        self
        """
        self._check_params()
        X, y = _as_input(X, "X"), _as_input(y, "y")
        Xv: NDArray[np.float32]
        yv: NDArray[Any]
        Xv, yv = validate_data(self, X, y, allow_nd=True, dtype=np.float32)
        check_classification_targets(yv)
        self.classes_, y_enc = self._encode_labels(yv)
        if len(self.classes_) < 2:
            raise ValueError(f"ConstrainedClassifier needs samples of at least 2 classes in y, "
                             f"got 1 class: {self.classes_[0]!r}")
        if self.constraint is not None and X_unlabeled is None:
            name = describe_constraint(self.constraint)
            warnings.warn(
                f"ConstrainedClassifier.fit: the constraint {name} is not trained on: it is "
                f"learnt from unlabelled data, and X_unlabeled is None (it still serves "
                f"predict(enforce=True)). Pass fit(X, y, X_unlabeled=...) to train with it",
                UserWarning, stacklevel=2)
        elif self.constraint is None and X_unlabeled is not None:
            warnings.warn(
                "ConstrainedClassifier.fit: X_unlabeled is ignored: unlabelled data only "
                "enters through a constraint, and constraint is None",
                UserWarning, stacklevel=2)
        views = (self._unlabeled(X_unlabeled, Xv.shape[1:])
                 if X_unlabeled is not None and self.constraint is not None else None)
        gen = torch_generator(self.random_state)
        if gen is None:
            gen = torch_generator(np.random.default_rng())
        n_in = int(math.prod(Xv.shape[1:]))
        with isolated_rng(gen):
            self.module_ = self._build(n_in, len(self.classes_))
            _reset(self.module_)
        Xt, yt = torch.as_tensor(Xv), torch.as_tensor(y_enc, dtype=torch.int64)
        with torch.no_grad(), isolated_rng(torch_generator(0)):
            try:
                probe = self.module_.eval()(Xt[:2])
            except RuntimeError as exc:
                raise ValueError(_input_mismatch(self.module_, Xv.shape[1:], exc)) from exc
        if probe.ndim != 2 or probe.shape[1] != len(self.classes_):
            raise ValueError(f"module must return logits of shape (n, {len(self.classes_)}) for "
                             f"the {len(self.classes_)} classes of y, got shape "
                             f"{tuple(probe.shape)}")
        labeled = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(Xt, yt),
                                              batch_size=self.batch_size, shuffle=True,
                                              generator=gen)
        unlabeled = None
        if views is not None:
            unlabeled = torch.utils.data.DataLoader(IndexedDataset(*views),
                                                    batch_size=self.batch_size, shuffle=True,
                                                    generator=gen)
        self.trainer_ = LogicTrainer(
            self.module_, self.constraint if unlabeled is not None else None,
            encoding=(self.encoding if isinstance(self.encoding, str)
                      else copy.deepcopy(self.encoding)),
            encoding_params=self.encoding_params, constraint_weight=self.constraint_weight,
            lr=self.lr, weight_decay=self.weight_decay, sigma_init=self.sigma_init,
            sigma_target=self.sigma_target,
            random_state=int(torch.randint(2**31 - 1, (), generator=gen)),
            verbose=self.verbose,
        ).fit(labeled, unlabeled, epochs=self.epochs)
        return self

    def predict_proba(self, X: ArrayLike) -> NDArray[np.float64]:
        """Class probabilities, shape ``(n, n_classes)``."""
        check_is_fitted(self, "module_")
        X = _as_input(X, "X")
        X = validate_data(self, X, reset=False, allow_nd=True, dtype=np.float32)
        self.module_.eval()
        with torch.no_grad():
            return torch.softmax(self.module_(torch.as_tensor(X)), -1).numpy().astype(np.float64)

    def predict(self, X: ArrayLike | tuple[ArrayLike, ...], enforce: bool = False, *,
                exact: bool = True, max_assignments: int = 2 ** 16) -> NDArray[Any]:
        """Predicted class labels; with ``enforce=True``, labels that satisfy the constraint.

        Parameters
        ----------
        X : array-like, or a tuple of views with ``enforce=True``
            Rows to classify. With ``enforce=True`` and a constraint over several views (as
            ``X_unlabeled`` in :meth:`fit`), give the views as a tuple; the labels of the
            first view are returned.
        enforce : bool
            False (default): the argmax class. True: the most probable joint assignment of
            classes (one per view) whose one-hot outputs satisfy the constraint, by
            :func:`logiclearn.most_probable_satisfying` (the constraint's batch is the views
            followed by the row ids ``0 .. n-1``).
        exact, max_assignments :
            As in :func:`logiclearn.most_probable_satisfying`: exact enumeration of the
            ``n_classes ** n_views`` joint assignments, or its top-r approximation.

        Returns
        -------
        ndarray of shape (n,)

        Examples
        --------
        >>> import numpy as np, torch
        >>> import logiclearn as ll
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(40, 2)); y = (X[:, 0] > 0).astype(int)
        >>> never_1 = lambda out, b: out.softmax(-1)[:, 1] <= 0.0   # class 1 is forbidden
        >>> clf = ll.ConstrainedClassifier(torch.nn.Linear(2, 2), never_1, epochs=5,
        ...                                random_state=0).fit(X, y)
        >>> bool((clf.predict(X) == 1).any()), bool((clf.predict(X, enforce=True) == 1).any())
        (True, False)
        """
        if not isinstance(enforce, bool):
            raise TypeError(f"enforce must be a bool, got {enforce!r}")
        if not enforce:
            if isinstance(X, tuple):
                raise TypeError("X is a tuple of views, which only predict(..., enforce=True) "
                                "takes; pass one array")
            proba = self.predict_proba(X)
            return self.classes_[proba.argmax(1)]
        check_is_fitted(self, "module_")
        if self.constraint is None:
            raise ValueError("predict(..., enforce=True) needs a constraint; this classifier "
                             "has constraint=None")
        views = X if isinstance(X, tuple) else (X,)
        if not views:
            raise ValueError("X must be an array or a non-empty tuple of views")
        arrays = []
        for i, v in enumerate(views):
            v = _as_input(v, "X" if len(views) == 1 else f"X view {i}")
            arrays.append(torch.as_tensor(validate_data(self, v, reset=False, allow_nd=True,
                                                        dtype=np.float32)))
        sizes = {len(a) for a in arrays}
        if len(sizes) > 1:
            raise ValueError(f"the views of X must have the same number of rows, got "
                             f"{[len(a) for a in arrays]}")
        self.module_.eval()
        with torch.no_grad():
            logits = [self.module_(a) for a in arrays]
        batch = (*arrays, torch.arange(len(arrays[0])))  # as in fit: the views, then row ids
        res = most_probable_satisfying(logits, self.constraint, batch, exact=exact,
                                       max_assignments=max_assignments)
        return self.classes_[res.assignment[:, 0].numpy()]
