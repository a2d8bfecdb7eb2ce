"""Shared test configuration: one torch thread per xdist worker, headless matplotlib."""

import os

import matplotlib
import torch

matplotlib.use("Agg")
torch.set_num_threads(1)

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared")
