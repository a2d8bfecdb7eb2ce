"""logiclearn: train networks whose outputs satisfy logical formulas, without shortcuts.

Formula language over tensors (``term``, atoms ``<= >= ==``, ``& | ~ >>``, ``all_of``/``any_of``,
``forall``/``exists``), encodings into costs (``dual`` — Li et al., ICLR 2023 — plus ``dl2``,
fuzzy t-norms, ``pd`` and ``semantic``), the truncated-Gaussian distributional loss with its σ
schedule, the SGDA :class:`LogicTrainer`, the scikit-learn :class:`ConstrainedClassifier` and
per-branch satisfaction diagnostics.
"""

import importlib.metadata as _metadata

from .classifier import ConstrainedClassifier
from .data import IndexedDataset
from .diagnostics import Satisfaction, satisfaction
from .encodings import (
    ENCODINGS,
    DL2Encoding,
    DualEncoding,
    DualStore,
    Encoding,
    FuzzyEncoding,
    Penalty,
    PrimalDualEncoding,
    SemanticEncoding,
    get_encoding,
    register_encoding,
)
from .enforce import Enforced, most_probable_satisfying, project_linear
from .formula import (
    And,
    Atom,
    Exists,
    ForAll,
    Formula,
    Not,
    Or,
    Term,
    all_of,
    any_of,
    check_formula,
    eq,
    exists,
    forall,
    ge,
    gt,
    implies,
    le,
    lt,
    term,
)
from .loss import SigmaSchedule, constraint_loss, gaussian_nll, truncated_gaussian_nll
from .report import Report, concept_metrics, report
from .trainer import LogicTrainer

__all__ = [
    "Term", "term", "Formula", "Atom", "And", "Or", "Not", "ForAll", "Exists",
    "le", "ge", "lt", "gt", "eq", "all_of", "any_of", "implies", "forall", "exists",
    "check_formula", "Penalty", "register_encoding",
    "Encoding", "DualEncoding", "DualStore", "DL2Encoding", "FuzzyEncoding",
    "PrimalDualEncoding", "SemanticEncoding", "ENCODINGS", "get_encoding",
    "truncated_gaussian_nll", "gaussian_nll", "constraint_loss", "SigmaSchedule",
    "LogicTrainer", "IndexedDataset", "ConstrainedClassifier", "Satisfaction", "satisfaction",
    "Report", "report", "concept_metrics",
    "Enforced", "most_probable_satisfying", "project_linear",
]

try:  # one source of truth: the version in pyproject.toml, read from the installed metadata
    __version__ = _metadata.version("probconstraints")
except _metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
