"""Synthetic audio-visual speech corpus whose information ordering is known by construction.

Words are drawn by frequency from the CMUdict/wordfreq lexicon and spoken as phoneme
sequences, each phoneme lasting a few frames, with optional silence between words. Per frame:

* the *audio* stream is a phoneme-specific prototype (acoustic-like: every phoneme has its own
  spectrum-like vector) plus Gaussian noise of scale ``audio_noise``;
* the *video* stream is a prototype of the phoneme's *viseme* (the mouth shape; phonemes of one
  viseme class share it) plus noise of scale ``video_noise``;
* both clean trajectories are smoothed by a first-order recursion (coarticulation).

The video therefore depends on the text only through the viseme, so
I(video; phoneme) <= H(viseme) < H(phoneme) (data processing), while clean audio carries the
phoneme itself: I(A;T) > I(V;T) for moderate audio noise, and the order flips when the audio
is drowned in noise. Text units are the frame-level phoneme labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from probconstraints._random import RandomStateLike
from probconstraints._validation import check_float

from ..decomposition import empirical_pmf, entropy_pmf
from .lexical import build_lexicon
from .visemes import VisemeMapLike, get_viseme_map, normalize_phoneme

__all__ = ["AVCorpus", "make_av_corpus"]

SILENCE = "SIL"


@dataclass
class AVCorpus:
    """Frame-aligned audio, video and text of a synthetic corpus.

    Attributes
    ----------
    audio : ndarray of shape (n_frames, d_audio)
    video : ndarray of shape (n_frames, d_video)
    phonemes : ndarray of shape (n_frames,)
        Text unit of each frame (CMU phoneme without stress, or ``"SIL"``).
    visemes : ndarray of shape (n_frames,)
        Viseme class of each frame under ``viseme_map``.
    words : ndarray of shape (n_frames,)
        The word each frame belongs to (``"SIL"`` between words).
    viseme_map : str
    params : dict
        The generator's settings.
    """

    audio: np.ndarray
    video: np.ndarray
    phonemes: np.ndarray
    visemes: np.ndarray
    words: np.ndarray
    viseme_map: str
    params: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.phonemes)

    def ceilings(self, base: float | None = None) -> dict[str, float]:
        """Exact entropies of the frame labels: upper bounds the estimates must respect.

        ``H(phoneme)`` bounds every I(.;T); ``H(viseme)`` = I(viseme; phoneme) bounds
        I(video; phoneme), since the video sees the text only through the viseme.
        """
        log_b = 1.0 if base is None else np.log(base)
        return {"H(phoneme)": float(entropy_pmf(empirical_pmf(self.phonemes)) / log_b),
                "H(viseme)": float(entropy_pmf(empirical_pmf(self.visemes)) / log_b)}

    def to_frame(self) -> pd.DataFrame:
        """Labels of each frame as a DataFrame (features not included)."""
        return pd.DataFrame({"word": self.words, "phoneme": self.phonemes,
                             "viseme": self.visemes})


@lru_cache(maxsize=4)
def _lexicon(n_words: int) -> pd.DataFrame:
    return build_lexicon(n_words)


def _smooth(x: np.ndarray, s: float) -> np.ndarray:
    if s == 0:
        return x
    out = np.empty_like(x)
    out[0] = x[0]
    for i in range(1, len(x)):
        out[i] = (1 - s) * x[i] + s * out[i - 1]
    return out


def make_av_corpus(n_frames: int = 20000, *, viseme_map: VisemeMapLike = "lee",
                   d_audio: int = 12, d_video: int = 6, audio_noise: float = 0.6,
                   video_noise: float = 0.6, frames_per_phoneme: tuple[int, int] = (2, 6),
                   coarticulation: float = 0.3, silence_frames: tuple[int, int] = (0, 3),
                   n_words: int = 2000, random_state: RandomStateLike = None) -> AVCorpus:
    """Generate a synthetic audio-visual corpus (see the module docstring).

    Parameters
    ----------
    n_frames : int
        Number of frames.
    viseme_map : str, VisemeMap or dict
        Map deciding which phonemes look alike (:mod:`~infotheory.audiovisual.visemes`).
    d_audio, d_video : int
        Feature dimensions of the two streams.
    audio_noise, video_noise : float
        Standard deviation of the per-frame Gaussian noise (prototypes have unit variance).
    frames_per_phoneme : (int, int)
        Inclusive range of phoneme durations in frames (uniform).
    coarticulation : float in [0, 1)
        Smoothing of the clean trajectories, x_t <- (1 - c) x_t + c x_{t-1}.
    silence_frames : (int, int)
        Inclusive range of silent frames between words.
    n_words : int
        Size of the lexicon the words are drawn from (by frequency).
    random_state : int, numpy Generator or None
        Seed of all randomness.

    Returns
    -------
    AVCorpus

    Examples
    --------
    >>> c = make_av_corpus(2000, random_state=0)
    >>> c.audio.shape, c.video.shape, len(c.phonemes)
    ((2000, 12), (2000, 6), 2000)
    """
    for name, val in (("n_frames", n_frames), ("d_audio", d_audio), ("d_video", d_video)):
        if isinstance(val, bool) or not isinstance(val, int | np.integer) or val < 1:
            raise ValueError(f"{name} must be a positive integer; got {val!r}")
    audio_noise = check_float(audio_noise, "audio_noise", 0.0, low_inclusive=True)
    video_noise = check_float(video_noise, "video_noise", 0.0, low_inclusive=True)
    coarticulation = check_float(coarticulation, "coarticulation", 0.0, 1.0, low_inclusive=True)
    lo, hi = frames_per_phoneme
    if not 1 <= lo <= hi:
        raise ValueError(f"frames_per_phoneme must be (lo, hi) with 1 <= lo <= hi; "
                         f"got {frames_per_phoneme!r}")
    s_lo, s_hi = silence_frames
    if not 0 <= s_lo <= s_hi:
        raise ValueError(f"silence_frames must be (lo, hi) with 0 <= lo <= hi; "
                         f"got {silence_frames!r}")
    vm = get_viseme_map(viseme_map)
    rng = np.random.default_rng(random_state)
    lex = _lexicon(int(n_words))

    phoneme_list: list[str] = []
    word_list: list[str] = []
    prob = lex["probability"].to_numpy()
    while len(phoneme_list) < n_frames:
        for w in rng.choice(len(lex), size=max(16, n_frames // 10), p=prob):
            for ph in lex["pronunciation"].iat[w]:
                phoneme_list += [normalize_phoneme(ph)] * int(rng.integers(lo, hi + 1))
                word_list += [lex["word"].iat[w]] * (len(phoneme_list) - len(word_list))
            n_sil = int(rng.integers(s_lo, s_hi + 1))
            phoneme_list += [SILENCE] * n_sil
            word_list += [SILENCE] * n_sil
            if len(phoneme_list) >= n_frames:
                break
    phonemes = np.array(phoneme_list[:n_frames])
    words = np.array(word_list[:n_frames])
    mapping = {**vm.mapping, SILENCE: SILENCE}
    visemes = np.array([mapping[p] for p in phonemes])

    units_a = sorted(set(vm.mapping) | {SILENCE})
    units_v = sorted(set(vm.mapping.values()) | {SILENCE})
    proto_a = dict(zip(units_a, rng.standard_normal((len(units_a), d_audio))))
    proto_v = dict(zip(units_v, rng.standard_normal((len(units_v), d_video))))
    clean_a = _smooth(np.array([proto_a[p] for p in phonemes]), coarticulation)
    clean_v = _smooth(np.array([proto_v[v] for v in visemes]), coarticulation)
    audio = clean_a + audio_noise * rng.standard_normal(clean_a.shape)
    video = clean_v + video_noise * rng.standard_normal(clean_v.shape)
    params = {"n_frames": n_frames, "viseme_map": vm.name, "d_audio": d_audio,
              "d_video": d_video, "audio_noise": audio_noise, "video_noise": video_noise,
              "frames_per_phoneme": (lo, hi), "coarticulation": coarticulation,
              "silence_frames": (s_lo, s_hi), "n_words": n_words}
    return AVCorpus(audio, video, phonemes, visemes, words, vm.name, params)
