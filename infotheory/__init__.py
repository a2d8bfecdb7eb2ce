"""Entropy and mutual-information estimators (discrete, k-NN, Gaussian, neural).

Results are in nats unless a base is requested. See :mod:`infotheory.api` for the front doors;
the neural estimators (torch) live in :mod:`infotheory.neural` and load on first use.
"""

from infotheory.api import conditional_mutual_information, entropy, mutual_information
from infotheory.discrete import (
    discrete_conditional_mutual_information,
    discrete_entropy,
    discrete_joint_entropy,
    discrete_mutual_information,
    encode_labels,
)
from infotheory.estimate import Estimate
from infotheory.gaussian import (
    copula_normalize,
    gaussian_conditional_mutual_information,
    gaussian_entropy,
    gaussian_mutual_information,
)
from infotheory.knn import (
    kl_entropy,
    ksg_conditional_mutual_information,
    ksg_mutual_information,
    mixed_mutual_information,
)
from infotheory.tasks import BENCHMARK_TASKS

# --- co-information / PID (infotheory.decomposition) is wired here by the lead engineer ---

__all__ = [
    "BENCHMARK_TASKS",
    "Estimate",
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
    # "co_information", ...  <- added by the lead engineer with infotheory.decomposition
]
