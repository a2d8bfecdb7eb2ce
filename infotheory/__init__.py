"""Entropy and mutual-information estimators (discrete, k-NN, Gaussian, neural), co-information
and partial information decomposition; the audio-visual analysis is in
:mod:`infotheory.audiovisual`.

Results are in nats unless a base is requested. See :mod:`infotheory.api` for the front doors;
the neural estimators (torch) live in :mod:`infotheory.neural` and load on first use.
"""

import importlib.metadata as _metadata

from .api import conditional_mutual_information, entropy, mutual_information
from .decomposition import (
    PIDResult,
    co_information,
    co_information_pmf,
    partial_information_decomposition,
    pid_pmf,
)
from .discrete import (
    discrete_conditional_mutual_information,
    discrete_entropy,
    discrete_joint_entropy,
    discrete_mutual_information,
    encode_labels,
)
from .estimate import Estimate
from .gaussian import (
    copula_normalize,
    gaussian_conditional_mutual_information,
    gaussian_entropy,
    gaussian_mutual_information,
)
from .knn import (
    kl_entropy,
    ksg_conditional_mutual_information,
    ksg_mutual_information,
    mixed_mutual_information,
)
from .tasks import BENCHMARK_TASKS

__all__ = [
    "BENCHMARK_TASKS",
    "Estimate",
    "PIDResult",
    "co_information",
    "co_information_pmf",
    "conditional_mutual_information",
    "copula_normalize",
    "discrete_conditional_mutual_information",
    "discrete_entropy",
    "discrete_joint_entropy",
    "discrete_mutual_information",
    "encode_labels",
    "entropy",
    "gaussian_conditional_mutual_information",
    "gaussian_entropy",
    "gaussian_mutual_information",
    "kl_entropy",
    "ksg_conditional_mutual_information",
    "ksg_mutual_information",
    "mixed_mutual_information",
    "mutual_information",
    "partial_information_decomposition",
    "pid_pmf",
]

try:  # one source of truth: the version in pyproject.toml, read from the installed metadata
    __version__ = _metadata.version("probconstraints")
except _metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
