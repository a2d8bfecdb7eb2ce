"""A speech corpus from real synthesis: espeak-ng audio with a frame-level phoneme alignment.

Words (the ``n_words`` most frequent CMUdict words, :func:`~infotheory.audiovisual.build_lexicon`)
and short phrases of them are spoken by the eSpeak NG formant synthesiser (the library and its
voice data ship in the ``espeakng-loader`` wheel) in several voices and at several speaking
rates. eSpeak reports an event for every phoneme and word with its sample position, so the
audio comes with an exact alignment: the phoneme sounding at every sample is the one eSpeak
was producing there. Phonemes (eSpeak's IPA names) are mapped to the 39 CMUdict/ARPAbet
symbols of :data:`~infotheory.audiovisual.CMU_PHONEMES` (``"SIL"`` for pauses), so the viseme
maps of :mod:`~infotheory.audiovisual.visemes` apply to the frame labels. Acoustic features
are librosa log-mel spectra and MFCCs (25 ms windows, 10 ms hop).

Needs the optional extra: ``pip install "probconstraints[audio]"``.

Cache
-----
A corpus is stored (``.npz``, no pickle) under ``$INFOTHEORY_SPEECH_CACHE`` if set, else
``$XDG_CACHE_HOME/probconstraints/speech`` (``~/.cache/probconstraints/speech`` by default);
``cache_dir=`` overrides both and ``cache_dir=False`` disables caching. The file name is a
hash of every setting and of the eSpeak NG library, so changing anything builds a new one.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar, Literal, TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.fft import dct

from probconstraints._progress import progress
from probconstraints._random import RandomStateLike
from probconstraints._validation import check_int, check_verbose

__all__ = [
    "DEFAULT_RATES",
    "DEFAULT_VOICES",
    "IPA_TO_ARPABET",
    "SpeechCorpus",
    "acoustic_features",
    "add_noise",
    "default_cache_dir",
    "make_speech_corpus",
    "synthesize",
]

SILENCE = "SIL"
#: eSpeak NG voices (language + "+variant") of the default corpus
#: (``+f2`` is left out: it draws noise from a source that cannot be seeded)
DEFAULT_VOICES = ("en-us", "en-us+f1", "en-us+m3", "en-gb-x-rp+f4")
#: speaking rates in words per minute (eSpeak's default is 175)
DEFAULT_RATES = (130, 175, 230)
HOP = 220          # 10 ms at 22,050 Hz
N_FFT = 552        # 25 ms window
_EXTRA = 'the optional extra "audio": pip install "probconstraints[audio]"'

#: eSpeak NG IPA phoneme names (stress and length marks removed) -> ARPAbet symbols. A name
#: mapping to two symbols (r-coloured vowels) has its duration split between them.
IPA_TO_ARPABET = {
    # vowels and diphthongs
    "i": ("IY",), "ɪ": ("IH",), "ᵻ": ("IH",), "e": ("EH",), "ɛ": ("EH",), "æ": ("AE",),
    "a": ("AE",), "ɑ": ("AA",), "ɒ": ("AA",), "ɔ": ("AO",), "ʌ": ("AH",), "ə": ("AH",),
    "ɐ": ("AH",), "ʊ": ("UH",), "u": ("UW",), "ɜ": ("ER",), "ɚ": ("ER",), "eɪ": ("EY",),
    "aɪ": ("AY",), "ɔɪ": ("OY",), "aʊ": ("AW",), "oʊ": ("OW",), "əʊ": ("OW",), "o": ("OW",),
    "ɑɹ": ("AA", "R"), "ɔɹ": ("AO", "R"), "oɹ": ("AO", "R"), "ɪɹ": ("IH", "R"),
    "iɹ": ("IY", "R"), "ɛɹ": ("EH", "R"), "eɹ": ("EH", "R"), "ʊɹ": ("UH", "R"),
    "ɜɹ": ("ER",), "aɪɚ": ("AY", "ER"), "aɪə": ("AY", "AH"), "aʊɚ": ("AW", "ER"),
    "aʊə": ("AW", "AH"), "ɪə": ("IH", "AH"), "eə": ("EH", "AH"), "ʊə": ("UH", "AH"),
    "əl": ("AH", "L"),
    # consonants
    "p": ("P",), "b": ("B",), "t": ("T",), "d": ("D",), "k": ("K",), "g": ("G",),
    "ɡ": ("G",), "f": ("F",), "v": ("V",), "θ": ("TH",), "ð": ("DH",), "s": ("S",),
    "z": ("Z",), "ʃ": ("SH",), "ʒ": ("ZH",), "h": ("HH",), "tʃ": ("CH",), "dʒ": ("JH",),
    "m": ("M",), "n": ("N",), "ŋ": ("NG",), "l": ("L",), "ɹ": ("R",), "r": ("R",),
    "w": ("W",), "ʍ": ("W",), "j": ("Y",), "ɾ": ("T",), "ʔ": ("T",), "x": ("HH",),
    "ç": ("HH",), "ɬ": ("L",), "ɫ": ("L",),
}
_MARKS = "ˈˌːˑ'\u0329\u0361\u035c"       # stress, length, syllabic and tie marks
#: one utterance to synthesise: (text, voice, rate), and what it gives (audio, segments, rate)
_Job: TypeAlias = tuple[str, str, int]
_Spoken: TypeAlias = tuple[np.ndarray, pd.DataFrame, int]


def _require_audio() -> tuple[ModuleType, ModuleType]:
    """Import the audio extra's modules, or explain how to install them."""
    try:
        import espeakng_loader
        import librosa
    except ImportError as exc:
        raise ImportError(f"infotheory.audiovisual.speech needs {_EXTRA} "
                          f"(missing module: {exc.name})") from None
    return espeakng_loader, librosa


def ipa_to_arpabet(name: str) -> tuple[str, ...]:
    """ARPAbet symbols of one eSpeak IPA phoneme name; ``("SIL",)`` for pauses.

    Unknown names are split greedily into the longest known prefixes; a remainder that
    matches nothing raises ``ValueError``.

    Examples
    --------
    >>> ipa_to_arpabet("ˈæ"), ipa_to_arpabet("oʊ"), ipa_to_arpabet("ɑːɹ"), ipa_to_arpabet("_:")
    (('AE',), ('OW',), ('AA', 'R'), ('SIL',))
    """
    clean = "".join(c for c in unicodedata.normalize("NFC", name) if c not in _MARKS)
    clean = clean.replace("_", "").replace(":", "").strip()
    if not clean:
        return (SILENCE,)
    if clean in IPA_TO_ARPABET:
        return IPA_TO_ARPABET[clean]
    out: list[str] = []
    rest = clean
    while rest:
        for size in range(min(4, len(rest)), 0, -1):
            if rest[:size] in IPA_TO_ARPABET:
                out.extend(IPA_TO_ARPABET[rest[:size]])
                rest = rest[size:]
                break
        else:
            raise ValueError(f"eSpeak phoneme {name!r} has no ARPAbet equivalent in "
                             "IPA_TO_ARPABET; add it there")
    return tuple(out)


# ----------------------------------------------------------------------------- eSpeak NG
class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p),
                ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    # espeak_EVENT of speak_lib.h
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint),
                ("text_position", ctypes.c_int), ("length", ctypes.c_int),
                ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _EventId)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.POINTER(_Event))
_EV_WORD, _EV_PHONEME, _EV_END = 1, 7, 5
_LOCK = threading.Lock()
#: an eSpeak event: (kind, sample, payload); the payload is the IPA name of a "phoneme", the
#: word number of a "word" and None at the "end"
_SpeechEvent: TypeAlias = tuple[str, int, "str | int | None"]


class _Espeak:
    """Process-wide eSpeak NG engine (the C library keeps global state)."""

    _instance: ClassVar[_Espeak | None] = None

    def __init__(self) -> None:
        loader, _ = _require_audio()
        path = loader.get_library_path()
        self.lib = ctypes.CDLL(path)
        self.library_id = f"{Path(path).stat().st_size}-{getattr(loader, '__version__', '')}"
        self.lib.espeak_Initialize.restype = ctypes.c_int
        # AUDIO_OUTPUT_SYNCHRONOUS = 2; options: phoneme events (1) | IPA names (2) |
        # do not exit on error (0x8000)
        self.sample_rate = self.lib.espeak_Initialize(
            2, 0, loader.get_data_path().encode(), 0x8003)
        if self.sample_rate <= 0:
            raise RuntimeError(f"espeak_Initialize failed (returned {self.sample_rate})")
        self._chunks: list[np.ndarray] = []
        self._events: list[_SpeechEvent] = []
        self._callback = _CALLBACK(self._collect)      # kept alive on the instance
        self.lib.espeak_SetSynthCallback(self._callback)
        self.voice: str | None = None

    @classmethod
    def get(cls) -> _Espeak:
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def _collect(self, wav: ctypes._Pointer[ctypes.c_short], n: int,
                 events: ctypes._Pointer[_Event]) -> int:
        if n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        i = 0
        while events[i].type != 0:
            ev = events[i]
            if ev.type == _EV_PHONEME:
                self._events.append(("phoneme", ev.sample, ev.id.string.decode("utf-8", "replace")))
            elif ev.type == _EV_WORD:
                self._events.append(("word", ev.sample, int(ev.id.number)))
            elif ev.type == _EV_END:
                self._events.append(("end", ev.sample, None))
            i += 1
        return 0

    def synth(self, text: str, voice: str,
              rate: int) -> tuple[np.ndarray, list[_SpeechEvent]]:
        if voice != self.voice:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise ValueError(f"voice must be an eSpeak NG voice name such as 'en-us' or "
                                 f"'en-us+f2'; got {voice!r}")
            self.voice = voice
        self.lib.espeak_SetParameter(1, int(rate), 0)           # espeakRATE
        self._chunks, self._events = [], []
        data = text.encode("utf-8")
        # POS_CHARACTER = 1, espeakCHARS_UTF8 = 1
        err = self.lib.espeak_Synth(data, len(data) + 1, 0, 1, 0, 1, None, None)
        self.lib.espeak_Synchronize()
        if err != 0:
            raise RuntimeError(f"espeak_Synth failed with error {err} on {text!r}")
        audio = (np.concatenate(self._chunks) if self._chunks
                 else np.zeros(0, dtype=np.int16)).astype(np.int16)
        return audio, list(self._events)


def synthesize(text: str, voice: str = "en-us",
               rate: int = 175) -> tuple[np.ndarray, pd.DataFrame, int]:
    """Speak ``text`` with eSpeak NG; return the audio and its phoneme alignment.

    Parameters
    ----------
    text : str
        English words separated by spaces.
    voice : str, default="en-us"
        eSpeak NG voice, optionally with a variant (``"en-us+f2"``, ``"en-gb-x-rp+m3"``).
    rate : int, default=175
        Speaking rate in words per minute (80 to 450).

    Returns
    -------
    audio : ndarray of int16, shape (n_samples,)
        22,050 Hz mono.
    segments : DataFrame
        One row per phoneme: ``phoneme`` (ARPAbet or ``"SIL"``), ``ipa`` (eSpeak's name),
        ``start``, ``stop`` (samples) and ``word`` (1-based index of the word of ``text``,
        0 before the first word).
    sample_rate : int

    Raises
    ------
    ValueError
        If ``text`` is empty or eSpeak produces no phoneme for it (nothing it can voice).

    Notes
    -----
    eSpeak NG carries state from one utterance to the next (the phase of its pitch
    flutter), so within one process the same text can come out a few samples different;
    :func:`make_speech_corpus` synthesises each corpus in a fresh process for that reason.

    Examples
    --------
    >>> audio, seg, sr = synthesize("cat")
    >>> sr, list(seg.loc[seg.phoneme != "SIL", "phoneme"])
    (22050, ['K', 'AE', 'T'])
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str; got {type(text).__name__}")
    if not text.strip():
        raise ValueError(f"text must contain something to speak; got {text!r}")
    if isinstance(rate, bool) or not isinstance(rate, int | np.integer) or not 80 <= rate <= 450:
        raise ValueError(f"rate must be an integer in [80, 450] words per minute; "
                         f"got {rate!r}")
    with _LOCK:
        engine = _Espeak.get()
        audio, events = engine.synth(text, voice, int(rate))
        sr = engine.sample_rate
    end = max([s for kind, s, _ in events if kind == "end"] + [len(audio)])
    audio = audio[:end] if len(audio) >= end else np.pad(audio, (0, end - len(audio)))
    rows: list[tuple[str, str, int, int, int]] = []
    word = 0
    phonemes = [(s, name) for kind, s, name in events
                if kind == "phoneme" and isinstance(name, str)]
    words = [(s, num) for kind, s, num in events if kind == "word" and isinstance(num, int)]
    wi = 0
    for j, (start, name) in enumerate(phonemes):
        stop = phonemes[j + 1][0] if j + 1 < len(phonemes) else end
        while wi < len(words) and words[wi][0] <= start:
            word = words[wi][1]
            wi += 1
        if stop <= start:
            continue
        symbols = ipa_to_arpabet(name)
        edges = np.linspace(start, stop, len(symbols) + 1).round().astype(int)
        for sym, a, b in zip(symbols, edges[:-1], edges[1:]):
            rows.append((sym, name, int(a), int(b), word if sym != SILENCE else 0))
    seg = pd.DataFrame(rows, columns=["phoneme", "ipa", "start", "stop", "word"])
    if not (seg["phoneme"] != SILENCE).any() or not np.any(audio):
        raise ValueError(f"eSpeak NG produced no speech for text {text!r} with voice "
                         f"{voice!r}; it cannot voice this text")
    return audio, seg, sr


# ----------------------------------------------------------------------------- features
@lru_cache(maxsize=8)
def _mel_basis(sample_rate: int, n_mels: int) -> np.ndarray:
    _, librosa = _require_audio()
    return librosa.filters.mel(sr=sample_rate, n_fft=N_FFT, n_mels=n_mels, fmin=50.0,
                               fmax=sample_rate / 2)


def acoustic_features(audio: ArrayLike, sample_rate: int = 22050, *, n_mels: int = 40,
                      n_mfcc: int = 13) -> tuple[np.ndarray, np.ndarray]:
    """Log-mel spectrum (dB) and MFCCs of one utterance, 25 ms windows every 10 ms.

    Power STFT (librosa, Hann window of 552 samples, centred frames) through a librosa mel
    filter bank (50 Hz to Nyquist), in dB; MFCCs are its orthonormal DCT-II, as in
    ``librosa.feature.mfcc``.

    Frame ``i`` is centred on sample ``i * 220``.

    Returns
    -------
    logmel : ndarray of shape (n_frames, n_mels)
    mfcc : ndarray of shape (n_frames, n_mfcc)

    Examples
    --------
    >>> t = np.arange(22050) / 22050
    >>> logmel, mfcc = acoustic_features(np.sin(2 * np.pi * 440 * t))
    >>> logmel.shape, mfcc.shape
    ((101, 40), (101, 13))
    """
    _, librosa = _require_audio()
    x = np.asarray(audio)
    y = (x / 32768.0 if np.issubdtype(x.dtype, np.integer) else x).astype(np.float32)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"audio must be a non-empty 1-D signal; got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("audio contains NaN or inf; expected finite samples")
    spec = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP, center=True)) ** 2
    logmel = 10.0 * np.log10(np.maximum(_mel_basis(sample_rate, n_mels) @ spec, 1e-10))
    mfcc = dct(logmel, type=2, norm="ortho", axis=0)[:n_mfcc]
    # float32 precision, so that a corpus read from the cache equals a fresh one
    return (logmel.T.astype(np.float32).astype(np.float64),
            mfcc.T.astype(np.float32).astype(np.float64))


def add_noise(audio: ArrayLike, snr_db: float, active: ArrayLike | None = None, *,
              random_state: RandomStateLike = None) -> np.ndarray:
    """White Gaussian noise at ``snr_db`` dB below the speech power; returns float audio.

    Parameters
    ----------
    audio : array of shape (n,)
        int16 (scaled by 1/32768) or float samples.
    snr_db : float
        Signal-to-noise ratio in dB; ``np.inf`` returns the clean signal.
    active : bool array of shape (n,), optional
        Samples where speech sounds (power is measured there); default all.
    random_state : int, Generator or None

    Examples
    --------
    >>> x = np.sin(np.arange(20000) / 5.0)
    >>> y = add_noise(x, 0.0, random_state=0)
    >>> round(float(np.mean((y - x) ** 2) / np.mean(x ** 2)), 1)
    1.0
    """
    x = np.asarray(audio)
    x = x / 32768.0 if np.issubdtype(x.dtype, np.integer) else x.astype(np.float64)
    try:
        snr = float(snr_db)
    except (TypeError, ValueError):
        snr = float("nan")
    if np.isnan(snr) or isinstance(snr_db, bool | str):
        raise ValueError(f"snr_db must be a number or inf; got {snr_db!r}")
    if np.isinf(snr):
        return x
    ref = x if active is None else x[np.asarray(active, bool)]
    power = float(np.mean(ref**2)) if ref.size else 0.0
    if power <= 0:
        raise ValueError("audio is silent; the SNR is undefined")
    rng = np.random.default_rng(random_state)
    return x + rng.standard_normal(x.shape) * np.sqrt(power / 10 ** (snr / 10))


# ----------------------------------------------------------------------------- corpus
@dataclass
class SpeechCorpus:
    """Synthesised utterances with frame-level labels and acoustic features.

    Attributes
    ----------
    frames : DataFrame
        One row per 10 ms frame: ``utterance``, ``phoneme`` (ARPAbet or ``"SIL"``), ``word``
        (the word sounding, ``"SIL"`` in pauses), ``voice``, ``rate``, ``position``
        (frame index inside its utterance).
    logmel : ndarray of shape (n_frames, n_mels)
    mfcc : ndarray of shape (n_frames, n_mfcc)
    utterances : DataFrame
        ``text``, ``voice``, ``rate``, ``audio_start``, ``audio_stop``, ``frame_start``,
        ``frame_stop``.
    segments : DataFrame
        Phoneme segments (:func:`synthesize`) with their ``utterance``; samples are relative
        to the utterance.
    audio : ndarray of int16
        All utterances concatenated (see ``utterances.audio_start/stop``).
    sample_rate : int
    settings : dict
        The arguments that built it (the cache key).
    """

    frames: pd.DataFrame
    logmel: np.ndarray
    mfcc: np.ndarray
    utterances: pd.DataFrame
    segments: pd.DataFrame
    audio: np.ndarray
    sample_rate: int
    settings: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.frames)

    def utterance_audio(self, i: int) -> np.ndarray:
        """The int16 samples of utterance ``i``."""
        row = self.utterances.iloc[int(i)]
        return self.audio[int(row.audio_start):int(row.audio_stop)]

    def subset(self, utterances: ArrayLike) -> SpeechCorpus:
        """A corpus of the given utterance indices only (renumbered from 0, in that order).

        Examples
        --------
        >>> c = make_speech_corpus(texts=["yes", "no"], voices=["en-us"], rates=[175],
        ...                        cache_dir=False)
        >>> list(c.subset([1]).utterances.text)
        ['no']
        """
        idx = np.asarray(utterances, dtype=int).ravel()
        if idx.size == 0 or idx.min() < 0 or idx.max() >= len(self.utterances):
            raise ValueError(f"utterances must be indices in [0, {len(self.utterances)}); "
                             f"got {utterances!r}")
        frames: list[pd.DataFrame] = []
        segs: list[pd.DataFrame] = []
        mels: list[np.ndarray] = []
        mfccs: list[np.ndarray] = []
        audio: list[np.ndarray] = []
        rows: list[tuple[object, ...]] = []
        a0 = f0 = 0
        for new, old in enumerate(idx):
            utt = self.utterances.iloc[old]
            fs = slice(int(utt.frame_start), int(utt.frame_stop))
            frames.append(self.frames.iloc[fs].assign(utterance=new))
            mels.append(self.logmel[fs])
            mfccs.append(self.mfcc[fs])
            segs.append(self.segments[self.segments.utterance == old].assign(utterance=new))
            x = self.utterance_audio(old)
            audio.append(x)
            n = fs.stop - fs.start
            rows.append((utt.text, utt.voice, utt.rate, a0, a0 + len(x), f0, f0 + n))
            a0 += len(x)
            f0 += n
        utts = pd.DataFrame(rows, columns=self.utterances.columns)
        return SpeechCorpus(pd.concat(frames, ignore_index=True), np.vstack(mels),
                            np.vstack(mfccs), utts, pd.concat(segs, ignore_index=True),
                            np.concatenate(audio), self.sample_rate,
                            dict(self.settings, subset=idx.tolist()))

    def windows(self, X: ArrayLike, width: int = 2) -> np.ndarray:
        """Stack frames ``t - width .. t + width`` of ``X`` (edges repeated within utterances).

        Parameters
        ----------
        X : ndarray of shape (n_frames, d)
        width : int, default=2

        Returns
        -------
        ndarray of shape (n_frames, (2 * width + 1) * d)
        """
        x = np.asarray(X, dtype=float)
        if x.ndim != 2 or len(x) != len(self.frames):
            raise ValueError(f"X must have shape (n_frames={len(self.frames)}, d); got "
                             f"{x.shape}")
        width = check_int(width, "width", 0)
        start = self.utterances["frame_start"].to_numpy()[self.frames["utterance"].to_numpy()]
        stop = self.utterances["frame_stop"].to_numpy()[self.frames["utterance"].to_numpy()]
        rows = np.arange(len(x))
        return np.hstack([x[np.clip(rows + off, start, stop - 1)]
                          for off in range(-width, width + 1)])

    def features(self, kind: str = "mfcc", snr_db: float = np.inf, *,
                 random_state: RandomStateLike = None) -> np.ndarray:
        """Acoustic features of every frame, after white noise at ``snr_db`` dB if finite.

        Noise is drawn per utterance at the given SNR relative to the power of its voiced
        (non-silence) samples; the features are recomputed from the noisy waveform.

        Parameters
        ----------
        kind : {"mfcc", "logmel"}
        snr_db : float, default=inf
        random_state : int, Generator or None

        Returns
        -------
        ndarray of shape (n_frames, n_features)
        """
        if kind not in ("mfcc", "logmel"):
            raise ValueError(f"kind must be 'mfcc' or 'logmel'; got {kind!r}")
        if np.isinf(snr_db) and snr_db > 0:
            return self.mfcc if kind == "mfcc" else self.logmel
        rng = np.random.default_rng(random_state)
        parts: list[np.ndarray] = []
        n_mels, n_mfcc = self.logmel.shape[1], self.mfcc.shape[1]
        segs = {u: g for u, g in self.segments.groupby("utterance", sort=False)}
        for i in range(len(self.utterances)):
            seg = segs[i]
            x = self.utterance_audio(i)
            active = np.zeros(len(x), bool)
            for s in seg[seg.phoneme != SILENCE].itertuples():
                active[s.start:s.stop] = True
            noisy = add_noise(x, snr_db, active, random_state=rng)
            logmel, mfcc = acoustic_features(noisy, self.sample_rate, n_mels=n_mels,
                                             n_mfcc=n_mfcc)
            parts.append(mfcc if kind == "mfcc" else logmel)
        return np.vstack(parts)


def default_cache_dir() -> Path:
    """``$INFOTHEORY_SPEECH_CACHE``, else ``$XDG_CACHE_HOME/probconstraints/speech``.

    Examples
    --------
    >>> default_cache_dir().name
    'speech'
    """
    env = os.environ.get("INFOTHEORY_SPEECH_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "probconstraints" / "speech"


def _texts(n_words: int, n_phrases: int, phrase_length: tuple[int, int],
           rng: np.random.Generator) -> list[str]:
    from .lexical import build_lexicon

    lex = build_lexicon(max(n_words, 2))
    words = list(lex["word"][:n_words])
    prob = lex["probability"].to_numpy()[:n_words]
    prob = prob / prob.sum()
    texts = list(words)
    lo, hi = phrase_length
    for _ in range(n_phrases):
        size = int(rng.integers(lo, hi + 1))
        texts.append(" ".join(rng.choice(words, size=size, p=prob)))
    return texts


def make_speech_corpus(n_words: int = 200, *, n_phrases: int = 0,
                       phrase_length: tuple[int, int] = (2, 4),
                       voices: Iterable[str] = DEFAULT_VOICES,
                       rates: Iterable[int] = DEFAULT_RATES, texts: Iterable[str] | None = None,
                       n_mels: int = 40, n_mfcc: int = 13, random_state: RandomStateLike = 0,
                       cache_dir: str | os.PathLike[str] | Literal[False] | None = None,
                       verbose: int = 0) -> SpeechCorpus:
    """Synthesise a corpus of words and phrases in several voices and speaking rates.

    Parameters
    ----------
    n_words : int, default=200
        The ``n_words`` most frequent CMUdict words, each spoken alone.
    n_phrases : int, default=0
        Extra utterances of ``phrase_length`` words drawn with their wordfreq frequency
        from those words.
    phrase_length : (int, int), default=(2, 4)
        Smallest and largest phrase length.
    voices : sequence of str
        eSpeak NG voices (see :data:`DEFAULT_VOICES`).
    rates : sequence of int
        Speaking rates in words per minute.
    texts : sequence of str, optional
        Speak these instead of the lexicon words and phrases.
    n_mels, n_mfcc : int
        Feature sizes.
    random_state : int, default=0
        Seed of the phrase draws and of eSpeak's noise generator (the synthesis runs in a
        fresh process, so a corpus depends on its settings and this seed only).
    cache_dir : path, None or False
        Where the corpus is cached (None: :func:`default_cache_dir`; False: no cache).
    verbose : int
        Progress bar over utterances when > 0.

    Returns
    -------
    SpeechCorpus

    Examples
    --------
    >>> c = make_speech_corpus(texts=["yes", "no"], voices=["en-us"], rates=[175],
    ...                        cache_dir=False)
    >>> list(c.utterances.text), c.mfcc.shape[1], set(c.frames.word) == {"yes", "no", "SIL"}
    (['yes', 'no'], 13, True)
    """
    _require_audio()
    n_words = check_int(n_words, "n_words", 0)
    verbose = check_verbose(verbose)
    n_phrases = check_int(n_phrases, "n_phrases", 0)
    lo, hi = (int(v) for v in phrase_length)
    if not 1 <= lo <= hi:
        raise ValueError(f"phrase_length must be (low, high) with 1 <= low <= high; "
                         f"got {phrase_length!r}")
    voice_list, rate_list = [str(v) for v in voices], [int(r) for r in rates]
    if not voice_list or not rate_list:
        raise ValueError(f"voices and rates must be non-empty; got voices={voice_list!r}, "
                         f"rates={rate_list!r}")
    n_mels, n_mfcc = check_int(n_mels, "n_mels", 2), check_int(n_mfcc, "n_mfcc", 1)
    if n_mfcc > n_mels:
        raise ValueError(f"n_mfcc must be <= n_mels={n_mels}; got {n_mfcc}")
    rng = np.random.default_rng(random_state)
    if texts is None:
        text_list = _texts(n_words, n_phrases, (lo, hi), rng) if n_words else []
    else:
        text_list = [str(t) for t in texts]
    if not text_list:
        raise ValueError("the corpus is empty: give n_words >= 1 or a non-empty texts list")
    seed = int(np.random.default_rng(random_state).integers(2**31 - 1))
    settings: dict[str, Any] = dict(texts=text_list, voices=voice_list, rates=rate_list,
                                    n_mels=n_mels, n_mfcc=n_mfcc, hop=HOP, n_fft=N_FFT,
                                    seed=seed, version=1)
    path = None
    if cache_dir is not False:
        engine_id = _Espeak.get().library_id
        key = hashlib.sha256(json.dumps([settings, engine_id]).encode()).hexdigest()[:20]
        path = Path(cache_dir or default_cache_dir()) / f"corpus-{key}.npz"
        if path.exists():
            return _load(path, settings)
    corpus = _build(settings, verbose)
    if path is not None:
        _save(corpus, path)
    return corpus


def _synthesize_jobs(jobs: Sequence[_Job], seed: int) -> list[_Spoken]:
    _Espeak.get()
    # eSpeak NG seeds the C library's rand() from the clock when it starts (breathy voice
    # variants draw noise from it): reseed it so that the corpus depends on ``seed`` only
    ctypes.CDLL(None).srand(ctypes.c_uint(seed))
    return [synthesize(text, voice, rate) for text, voice, rate in jobs]


def _fresh_synthesis(jobs: Sequence[_Job], seed: int) -> list[_Spoken]:
    """Synthesise ``jobs`` in a new Python process, so the engine starts from its initial state.

    eSpeak NG keeps state between utterances (its pitch-flutter phase), so the same text
    comes out a few samples different depending on what was spoken before in the process; a
    fresh process per corpus makes a corpus depend on its settings only.
    """
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = Path(tmp) / "jobs.json", Path(tmp) / "out.pkl"
        inp.write_text(json.dumps({"jobs": jobs, "seed": seed}), encoding="utf-8")
        proc = subprocess.run([sys.executable, "-m", "infotheory.audiovisual.speech", str(inp),
                               str(out)], capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(f"the eSpeak NG worker failed:\n{proc.stderr[-2000:]}")
        with open(out, "rb") as fh:
            result: list[_Spoken] | dict[str, str] = pickle.load(fh)  # by our own worker
    if isinstance(result, dict):
        raise {"ValueError": ValueError, "TypeError": TypeError}.get(
            result["type"], RuntimeError)(result["message"])
    return result


def _worker(inp: str, out: str) -> None:
    spec = json.loads(Path(inp).read_text(encoding="utf-8"))
    result: list[_Spoken] | dict[str, str]
    try:
        result = _synthesize_jobs([(str(t), str(v), int(r)) for t, v, r in spec["jobs"]],
                                  int(spec["seed"]))
    except (ValueError, TypeError) as exc:
        result = {"type": type(exc).__name__, "message": str(exc)}
    with open(out, "wb") as fh:
        pickle.dump(result, fh)


def _build(settings: dict[str, Any], verbose: int) -> SpeechCorpus:
    jobs = [(t, v, r) for v in settings["voices"] for r in settings["rates"]
            for t in settings["texts"]]
    audio_parts: list[np.ndarray] = []
    seg_parts: list[pd.DataFrame] = []
    frame_parts: list[pd.DataFrame] = []
    utt_rows: list[tuple[object, ...]] = []
    mels: list[np.ndarray] = []
    mfccs: list[np.ndarray] = []
    a0 = f0 = 0
    spoken = _fresh_synthesis(jobs, settings["seed"])
    for u, ((text, voice, rate), (audio, seg, sr)) in enumerate(
            progress(list(zip(jobs, spoken)), verbose=verbose, desc="features")):
        logmel, mfcc = acoustic_features(audio, sr, n_mels=settings["n_mels"],
                                         n_mfcc=settings["n_mfcc"])
        if not (np.all(np.isfinite(logmel)) and np.all(np.isfinite(mfcc))):
            raise ValueError(f"features of {text!r} ({voice}, {rate} wpm) contain NaN/inf")
        centres = np.arange(len(mfcc)) * HOP
        idx = np.searchsorted(seg["start"].to_numpy(), centres, side="right") - 1
        inside = (idx >= 0) & (centres < seg["stop"].to_numpy()[np.maximum(idx, 0)])
        phon = np.where(inside, seg["phoneme"].to_numpy()[np.maximum(idx, 0)], SILENCE)
        words = text.split()
        wnum = np.where(inside, seg["word"].to_numpy()[np.maximum(idx, 0)], 0)
        word = np.array([words[w - 1] if 0 < w <= len(words) and p != SILENCE else SILENCE
                         for w, p in zip(wnum, phon)], dtype=object)
        frame_parts.append(pd.DataFrame({"utterance": u, "phoneme": phon, "word": word,
                                         "voice": voice, "rate": rate,
                                         "position": np.arange(len(mfcc))}))
        seg = seg.assign(utterance=u)
        seg_parts.append(seg)
        utt_rows.append((text, voice, rate, a0, a0 + len(audio), f0, f0 + len(mfcc)))
        audio_parts.append(audio)
        mels.append(logmel)
        mfccs.append(mfcc)
        a0 += len(audio)
        f0 += len(mfcc)
    frames = pd.concat(frame_parts, ignore_index=True)
    frames["phoneme"] = frames["phoneme"].astype(str)
    frames["word"] = frames["word"].astype(str)
    utts = pd.DataFrame(utt_rows, columns=["text", "voice", "rate", "audio_start", "audio_stop",
                                           "frame_start", "frame_stop"])
    return SpeechCorpus(frames, np.vstack(mels), np.vstack(mfccs), utts,
                        pd.concat(seg_parts, ignore_index=True), np.concatenate(audio_parts),
                        sr, settings)


def _save(corpus: SpeechCorpus, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {"logmel": corpus.logmel.astype(np.float32), "mfcc": corpus.mfcc.astype(np.float32),
              "audio": corpus.audio, "sample_rate": np.array(corpus.sample_rate)}
    for prefix, df in (("frames", corpus.frames), ("utterances", corpus.utterances),
                       ("segments", corpus.segments)):
        for col in df.columns:
            values = df[col].to_numpy()
            arrays[f"{prefix}:{col}"] = values.astype(str) if values.dtype == object else values
    tmp = path.with_suffix(".tmp.npz")
    # the keys are "prefix:column" names and four fixed names, never savez's own allow_pickle
    np.savez_compressed(tmp, **arrays)  # type: ignore[arg-type]
    tmp.replace(path)


def _load(path: Path, settings: dict[str, Any]) -> SpeechCorpus:
    with np.load(path, allow_pickle=False) as data:
        tables: dict[str, dict[str, np.ndarray]] = {}
        for key in data.files:
            if ":" in key:
                prefix, col = key.split(":", 1)
                tables.setdefault(prefix, {})[col] = data[key]
        return SpeechCorpus(
            pd.DataFrame(tables["frames"]), data["logmel"].astype(np.float64),
            data["mfcc"].astype(np.float64), pd.DataFrame(tables["utterances"]),
            pd.DataFrame(tables["segments"]), data["audio"], int(data["sample_rate"]),
            settings)


if __name__ == "__main__":           # worker of _fresh_synthesis
    _worker(sys.argv[1], sys.argv[2])
