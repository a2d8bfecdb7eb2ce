"""Audio-visual analysis: lexical ambiguity of visemes and clustering-based modality MI.

* :mod:`~infotheory.audiovisual.visemes` — published phoneme-to-viseme maps;
* :mod:`~infotheory.audiovisual.lexical` — H(word), H(word | phonemes), H(word | visemes),
  homophene rates over a CMUdict + wordfreq lexicon;
* :mod:`~infotheory.audiovisual.modality` — k-means units, I(A;T), I(V;T), I(A,V;T), I(A;V),
  co-information and PID against text units;
* :mod:`~infotheory.audiovisual.synthetic` — a corpus with a known information ordering;
* :mod:`~infotheory.audiovisual.speech` — eSpeak NG speech with a frame-level phoneme
  alignment and librosa features (optional extra ``[audio]``);
* :mod:`~infotheory.audiovisual.articulatory` — a lip-parameter stream driven by that
  alignment (an articulatory model with coarticulation, not video);
* :mod:`~infotheory.audiovisual.rendering` — tables and figures.
"""

from .articulatory import articulatory_stream
from .lexical import build_lexicon, lexical_information, unit_strings
from .modality import ModalityAnalysis, discretize, modality_information
from .rendering import plot_lexical_information, plot_modality_sweep
from .speech import SpeechCorpus, make_speech_corpus, synthesize
from .synthetic import AVCorpus, make_av_corpus
from .visemes import (
    CMU_PHONEMES,
    VISEME_MAPS,
    VisemeMap,
    get_viseme_map,
    normalize_phoneme,
    to_units,
)

__all__ = [
    "AVCorpus",
    "CMU_PHONEMES",
    "ModalityAnalysis",
    "SpeechCorpus",
    "VISEME_MAPS",
    "VisemeMap",
    "articulatory_stream",
    "build_lexicon",
    "discretize",
    "get_viseme_map",
    "lexical_information",
    "make_av_corpus",
    "make_speech_corpus",
    "modality_information",
    "normalize_phoneme",
    "plot_lexical_information",
    "plot_modality_sweep",
    "synthesize",
    "to_units",
    "unit_strings",
]
