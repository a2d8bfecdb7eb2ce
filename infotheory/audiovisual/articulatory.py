"""A lip-parameter stream driven by a phoneme alignment: an articulatory *model*, not video.

No video is recorded or rendered here. For every phoneme the model has a target for four
visible articulatory parameters, each in [0, 1]:

``opening``  vertical lip aperture (0: lips closed, as in /p b m/; 1: wide open /aa/);
``width``    horizontal lip spreading (high for /iy/, low for rounded /uw w/);
``rounding`` lip protrusion and rounding (/uw w ow r sh/);
``tongue``   teeth or tongue tip visible (/th dh/ tongue between teeth, /f v/ teeth on the
             lower lip, /s z sh l/ partly).

Targets follow textbook articulatory descriptions of English phonemes, grouped as the
viseme classes group them. Coarticulation is the dominance model of Cohen & Massaro (1993,
"Modeling coarticulation in synthetic visual speech", in *Models and Techniques in Computer
Animation*, Springer): segment s with target T_s, centre c_s and dominance
``D_s(t) = alpha_s exp(-|t - c_s| / tau_s)`` contributes ``F(t) = sum_s D_s T_s / sum_s D_s``.
Phonemes whose lip shape is free (/k g ng hh/, low alpha) take the shape of their neighbours;
bilabials and labiodentals dominate strongly with short time constants. Then each speaker
(voice) scales and shifts every parameter (its own mouth), the trajectory is sampled at the
video frame rate and held (25 fps: every 4th 10 ms frame), and tracking noise is added.

Because every parameter is a function of the phoneme sequence, timing and voice only, the
information this stream carries about phonemes is bounded by what the targets separate: the
model encodes the viseme hypothesis, and its numbers say how much that hypothesis leaves to
the lips, not how much real lips show.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from probconstraints._random import RandomStateLike

if TYPE_CHECKING:
    from .speech import SpeechCorpus

__all__ = ["ARTICULATORY_TARGETS", "PARAMETERS", "articulatory_stream"]

PARAMETERS = ("opening", "width", "rounding", "tongue")

#: phoneme -> (opening, width, rounding, tongue, dominance alpha, time constant tau in s)
ARTICULATORY_TARGETS = {
    # bilabials: lips closed, strongly dominant
    "P": (0.00, 0.50, 0.20, 0.0, 1.0, 0.030), "B": (0.00, 0.50, 0.20, 0.0, 1.0, 0.030),
    "M": (0.00, 0.50, 0.20, 0.0, 1.0, 0.030),
    # labiodentals: lower lip to upper teeth
    "F": (0.12, 0.55, 0.10, 0.8, 1.0, 0.030), "V": (0.12, 0.55, 0.10, 0.8, 1.0, 0.030),
    # dentals: tongue between the teeth
    "TH": (0.30, 0.55, 0.10, 1.0, 0.9, 0.030), "DH": (0.30, 0.55, 0.10, 1.0, 0.9, 0.030),
    # alveolars
    "T": (0.28, 0.55, 0.20, 0.3, 0.5, 0.035), "D": (0.28, 0.55, 0.20, 0.3, 0.5, 0.035),
    "N": (0.28, 0.55, 0.20, 0.3, 0.5, 0.035), "L": (0.35, 0.55, 0.20, 0.5, 0.5, 0.035),
    "S": (0.15, 0.70, 0.10, 0.6, 0.7, 0.035), "Z": (0.15, 0.70, 0.10, 0.6, 0.7, 0.035),
    # post-alveolars: protruded lips
    "SH": (0.20, 0.35, 0.80, 0.4, 0.8, 0.035), "ZH": (0.20, 0.35, 0.80, 0.4, 0.8, 0.035),
    "CH": (0.20, 0.35, 0.80, 0.4, 0.8, 0.035), "JH": (0.20, 0.35, 0.80, 0.4, 0.8, 0.035),
    # velars and /h/: lips unspecified (weak dominance, take the neighbours' shape)
    "K": (0.35, 0.50, 0.20, 0.0, 0.15, 0.035), "G": (0.35, 0.50, 0.20, 0.0, 0.15, 0.035),
    "NG": (0.35, 0.50, 0.20, 0.0, 0.15, 0.035), "HH": (0.45, 0.50, 0.20, 0.0, 0.10, 0.035),
    # glides and /r/
    "Y": (0.20, 0.75, 0.00, 0.0, 0.6, 0.035), "W": (0.10, 0.20, 1.00, 0.0, 1.0, 0.040),
    "R": (0.25, 0.35, 0.70, 0.0, 0.7, 0.040),
    # vowels (front spread, back rounded, low open)
    "IY": (0.25, 0.90, 0.00, 0.1, 0.8, 0.060), "IH": (0.35, 0.80, 0.05, 0.1, 0.8, 0.060),
    "EY": (0.45, 0.80, 0.05, 0.1, 0.8, 0.060), "EH": (0.50, 0.75, 0.05, 0.1, 0.8, 0.060),
    "AE": (0.70, 0.80, 0.00, 0.1, 0.8, 0.060), "AA": (0.90, 0.55, 0.10, 0.0, 0.8, 0.060),
    "AH": (0.60, 0.55, 0.15, 0.0, 0.6, 0.060), "AO": (0.70, 0.35, 0.70, 0.0, 0.8, 0.060),
    "OW": (0.50, 0.30, 0.85, 0.0, 0.8, 0.060), "OY": (0.60, 0.35, 0.75, 0.0, 0.8, 0.060),
    "UH": (0.35, 0.30, 0.80, 0.0, 0.8, 0.060), "UW": (0.20, 0.20, 1.00, 0.0, 0.8, 0.060),
    "ER": (0.35, 0.40, 0.60, 0.0, 0.8, 0.060), "AY": (0.85, 0.60, 0.05, 0.0, 0.8, 0.060),
    "AW": (0.80, 0.45, 0.50, 0.0, 0.8, 0.060),
    # silence: lips at rest
    "SIL": (0.05, 0.50, 0.20, 0.0, 0.5, 0.060),
}


def _speaker(voice: str, spread: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-voice scale and offset of every parameter (deterministic for voice and seed)."""
    rng = np.random.default_rng([zlib.crc32(voice.encode()), seed])
    return 1.0 + spread * rng.standard_normal(4), 0.5 * spread * rng.standard_normal(4)


def articulatory_stream(corpus: SpeechCorpus, *, fps: float = 25.0, noise: float = 0.05,
                        speaker_spread: float = 0.1,
                        random_state: RandomStateLike = 0) -> np.ndarray:
    """Lip parameters for every 10 ms frame of a :class:`~.speech.SpeechCorpus`.

    Parameters
    ----------
    corpus : SpeechCorpus
        Supplies the phoneme segments (sample positions), voices and frame grid.
    fps : float, default=25.0
        Video frame rate; each video frame's value is held over the 10 ms frames it covers.
        ``fps=100`` gives one value per audio frame.
    noise : float, default=0.05
        Standard deviation of the tracking noise added to each parameter of each video frame.
    speaker_spread : float, default=0.1
        Relative spread of the per-voice scale (and half of it, the offset) of each parameter.
    random_state : int, default=0
        Seed of the speaker parameters and the tracking noise.

    Returns
    -------
    ndarray of shape (n_frames, 4)
        Columns :data:`PARAMETERS`.

    Examples
    --------
    >>> from infotheory.audiovisual.speech import make_speech_corpus
    >>> c = make_speech_corpus(texts=["map", "see"], voices=["en-us"], rates=[175],
    ...                        cache_dir=False)
    >>> v = articulatory_stream(c, noise=0.0, speaker_spread=0.0, fps=100)
    >>> m = c.frames.phoneme.to_numpy()
    >>> bool(v[m == "M", 0].mean() < v[m == "AE", 0].mean())   # lips closed for /m/
    True
    """
    fps = float(fps)
    if not 0 < fps <= 100:
        raise ValueError(f"fps must be in (0, 100]; got {fps!r}")
    if not noise >= 0 or not speaker_spread >= 0:
        raise ValueError(f"noise and speaker_spread must be >= 0; got noise={noise!r}, "
                         f"speaker_spread={speaker_spread!r}")
    seed = int(np.random.default_rng(random_state).integers(2**31 - 1))
    rng = np.random.default_rng(seed + 1)
    from .speech import HOP

    sr = corpus.sample_rate
    out = np.empty((len(corpus.frames), 4))
    segs = {u: g for u, g in corpus.segments.groupby("utterance", sort=False)}
    hold = max(1, int(round(100.0 / fps)))
    for u, utt in enumerate(corpus.utterances.itertuples()):
        seg = segs.get(u, pd.DataFrame(columns=corpus.segments.columns))
        n = int(utt.frame_stop - utt.frame_start)
        t = np.arange(n) * HOP / sr                                     # frame centres (s)
        params = np.array([ARTICULATORY_TARGETS[p] for p in seg["phoneme"]])   # (S, 6)
        centres = 0.5 * (seg["start"].to_numpy() + seg["stop"].to_numpy()) / sr
        dom = params[:, 4] * np.exp(-np.abs(t[:, None] - centres[None, :]) / params[:, 5])
        traj = dom @ params[:, :4] / np.maximum(dom.sum(axis=1, keepdims=True), 1e-300)
        scale, shift = _speaker(str(utt.voice), speaker_spread, seed)
        traj = traj * scale + shift
        video_frame = np.arange(n) // hold                              # sample and hold
        held = traj[video_frame * hold]
        held = held + noise * rng.standard_normal((video_frame[-1] + 1, 4))[video_frame]
        out[utt.frame_start:utt.frame_stop] = held
    return out
