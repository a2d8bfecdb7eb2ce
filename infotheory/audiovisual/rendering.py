"""Figures of the audio-visual analyses (matplotlib, imported when a figure is drawn; figures
are returned)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .modality import ModalityAnalysis

__all__ = ["plot_lexical_information", "plot_modality_sweep"]


def plot_lexical_information(df: pd.DataFrame, unit: str = "bits") -> Figure:
    """Bars of H(word | units) and homophene rate per viseme map.

    Parameters
    ----------
    df : DataFrame
        Output of :func:`~infotheory.audiovisual.lexical.lexical_information`.
    unit : str
        Axis label unit.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> df = pd.DataFrame({"map": ["phoneme", "lee"], "H(word|units)": [0.1, 0.8],
    ...                    "H(word|phonemes)": [0.1, 0.1], "homophene_rate": [0.3, 0.7],
    ...                    "H(phoneme|unit)": [0.0, 1.5]})
    >>> fig = plot_lexical_information(df)
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
    x = np.arange(len(df))
    labels = df["map"].tolist()
    axes[0].bar(x, df["H(word|units)"], color="#29b6f6", label="H(word | units)")
    axes[0].axhline(df["H(word|phonemes)"].iloc[0], color="#e4572e", ls="--",
                    label="H(word | phonemes)")
    axes[0].set_ylabel(f"word uncertainty ({unit})")
    axes[0].legend(fontsize=9, loc="upper left")
    axes[1].bar(x, df["homophene_rate"], color="#7b68ee")
    axes[1].set_ylabel("homophene rate (running words)")
    axes[1].set_ylim(0, 1)
    axes[2].bar(x, df["H(phoneme|unit)"], color="#76b041")
    axes[2].set_ylabel(f"H(phoneme | unit) ({unit})")
    for ax in axes:
        ax.set_xticks(x, labels, rotation=25, ha="right")
    fig.suptitle("What a lip-reader loses against a listener, per phoneme-to-viseme map")
    fig.tight_layout()
    return fig


def plot_modality_sweep(analysis: ModalityAnalysis, measure: str | None = None) -> Figure:
    """The figure of a modality sweep: :meth:`ModalityAnalysis.plot
    <infotheory.audiovisual.modality.ModalityAnalysis.plot>` (the result draws itself).

    Parameters
    ----------
    analysis : ModalityAnalysis
    measure : str, optional
        PID measure to draw (default the first in alphabetical order of those computed).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from infotheory.audiovisual import modality_information
    >>> t = np.arange(200) % 4
    >>> res = modality_information(t, t // 2, t, pid_measures=("imin",))
    >>> len(plot_modality_sweep(res).axes)
    3
    """
    return analysis.plot(measure=measure)
