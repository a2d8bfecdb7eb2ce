"""scikit-learn style classifier trained with a logical constraint on unlabelled data."""

from __future__ import annotations

import copy

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y

from probconstraints._random import isolated_rng, torch_generator

from .data import IndexedDataset
from .trainer import LogicTrainer

__all__ = ["ConstrainedClassifier"]


def _reset(module: torch.nn.Module) -> None:
    for m in module.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()


class ConstrainedClassifier(ClassifierMixin, BaseEstimator):
    """Classifier = a torch module trained on labelled data plus a constraint on unlabelled data.

    Parameters
    ----------
    module : torch.nn.Module
        Maps a float batch of X's rows to class logits; copied and re-initialised in ``fit``.
    constraint : callable or None
        ``constraint(outputs, batch) -> Formula`` as in :class:`LogicTrainer`; ``outputs`` are
        logits (Term), one per view of the unlabelled data.
    encoding : str or Encoding
        See :func:`logiclearn.get_encoding`; an encoding object is copied in ``fit``.
    encoding_params : dict, optional
        Constructor arguments of a named encoding (e.g. ``{'lr': 1.0}`` for ``'dual'``).
    constraint_weight : float
        Weight of the constraint.
    epochs, batch_size, lr, weight_decay, sigma_init, sigma_target :
        Training settings, as in :class:`LogicTrainer`.
    random_state : None, int, numpy RandomState or Generator
        Seeds the re-initialisation of the module, the data order and the training (through
        ``torch.Generator`` objects; torch's global generator is left as it was).
    verbose : int

    Attributes
    ----------
    classes_ : ndarray
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

    def __init__(self, module, constraint=None, encoding="dual", encoding_params=None,
                 constraint_weight=1.0, epochs=20, batch_size=64, lr=1e-3, weight_decay=0.0,
                 sigma_init=0.5, sigma_target=0.5, random_state=None, verbose=0):
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
        self.random_state = random_state
        self.verbose = verbose

    def _tensor(self, X):
        X = check_array(X, allow_nd=True, dtype=np.float32, input_name="X")
        return torch.as_tensor(X)

    def fit(self, X, y, X_unlabeled=None):
        """Fit on labelled ``(X, y)`` and unlabelled ``X_unlabeled`` (array or tuple of views).

        Returns
        -------
        self
        """
        if not isinstance(self.module, torch.nn.Module):
            raise TypeError(f"module must be a torch.nn.Module, got {type(self.module).__name__}")
        X, y = check_X_y(X, y, allow_nd=True, dtype=np.float32)
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        gen = torch_generator(self.random_state)
        if gen is None:
            gen = torch_generator(np.random.default_rng())
        self.module_ = copy.deepcopy(self.module)
        with isolated_rng(gen):
            _reset(self.module_)
        Xt, yt = torch.as_tensor(X), torch.as_tensor(y_enc, dtype=torch.int64)
        labeled = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(Xt, yt),
                                              batch_size=self.batch_size, shuffle=True,
                                              generator=gen)
        unlabeled = None
        if X_unlabeled is not None and self.constraint is not None:
            views = X_unlabeled if isinstance(X_unlabeled, (tuple, list)) else (X_unlabeled,)
            views = [self._tensor(v) for v in views]
            unlabeled = torch.utils.data.DataLoader(IndexedDataset(*views),
                                                    batch_size=self.batch_size, shuffle=True,
                                                    generator=gen)
        self.trainer_ = LogicTrainer(
            self.module_, self.constraint if unlabeled is not None else None,
            encoding=(self.encoding if isinstance(self.encoding, str)
                      else copy.deepcopy(self.encoding)),
            encoding_params=self.encoding_params, constraint_weight=self.constraint_weight, lr=self.lr,
            weight_decay=self.weight_decay, sigma_init=self.sigma_init,
            sigma_target=self.sigma_target,
            random_state=int(torch.randint(2**31 - 1, (), generator=gen)),
            verbose=self.verbose,
        ).fit(labeled, unlabeled, epochs=self.epochs)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape ``(n, n_classes)``."""
        check_is_fitted(self, "module_")
        self.module_.eval()
        with torch.no_grad():
            return torch.softmax(self.module_(self._tensor(X)), -1).numpy()

    def predict(self, X) -> np.ndarray:
        """Predicted class labels."""
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(1)]
