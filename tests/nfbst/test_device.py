"""The device path: a clear error without CUDA, and the CUDA-vs-CPU check run CPU-vs-CPU."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from nfbst import BayesianMLP
from nfbst.evidence import evidence_value, kde_bandwidth

ROOT = Path(__file__).resolve().parents[2]
NO_CUDA = not torch.cuda.is_available()


def _device_check():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import device_check
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return device_check


@pytest.mark.skipif(not NO_CUDA, reason="the 'no CUDA' mode needs a machine without CUDA")
def test_device_check_says_cuda_is_unavailable_and_exits_2():
    out = subprocess.run(["bash", str(ROOT / "benchmarks" / "device_check.sh")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert "CUDA is unavailable on this machine" in out.stdout


@pytest.mark.skipif(not NO_CUDA, reason="checks the error raised on machines without CUDA")
def test_cuda_without_cuda_is_a_value_error_naming_the_argument():
    eta = np.random.default_rng(0).normal(size=(50, 3))
    with pytest.raises(ValueError, match=r"device='cuda' but CUDA is not available"):
        evidence_value(eta, device="cuda")
    with pytest.raises(ValueError, match=r"device='cuda:1' but CUDA is not available"):
        kde_bandwidth(eta, device="cuda:1")
    with pytest.raises(ValueError, match=r"device must be a torch device.*got 'gpu0'"):
        evidence_value(eta, device="gpu0")
    X = np.random.default_rng(0).normal(size=(30, 2))
    with pytest.raises(ValueError, match=r"device='cuda' but CUDA is not available"):
        BayesianMLP(device="cuda", n_steps=5).fit(X, X[:, 0])  # before any work
    with pytest.raises(ValueError, match=r"n_jobs must be None or a non-zero int.*got 0"):
        BayesianMLP(n_jobs=0, n_steps=5).fit(X, X[:, 0])


def test_device_comparison_cpu_against_cpu_is_exact_for_every_check():
    # the comparison code of device_check.py, with the CPU on both sides: every statistic,
    # the evidence, the CRT and two backends must agree exactly (same machine, same seeds)
    dc = _device_check()
    rows = dc.compare_devices("cpu", "cpu", quick=True, backends=("vi", "anchored"))
    names = [r[0] for r in rows]
    assert {"backend vi", "backend anchored", "statistic grad", "statistic lime",
            "evidence (silverman)", "CRT p-values (loss)"} <= set(names)
    for check, diff, tol, ratio in rows:
        assert diff == 0, check
        assert tol >= 0 and ratio > 0
