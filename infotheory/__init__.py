"""Entropy and mutual-information estimators (discrete, k-NN, Gaussian, neural).

Results are in nats unless a base is requested. See :mod:`infotheory.api` for the front doors.
"""

from infotheory.discrete import (
    discrete_conditional_mutual_information,
    discrete_entropy,
    discrete_joint_entropy,
    discrete_mutual_information,
    encode_labels,
)

# --- co-information / PID (infotheory.decomposition) is wired here by the lead engineer ---

__all__ = [
    "discrete_conditional_mutual_information",
    "discrete_entropy",
    "discrete_joint_entropy",
    "discrete_mutual_information",
    "encode_labels",
]
