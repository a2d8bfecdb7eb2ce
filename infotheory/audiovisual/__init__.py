"""Audio-visual analysis: lexical ambiguity of visemes and clustering-based modality MI.

* :mod:`~infotheory.audiovisual.visemes` — published phoneme-to-viseme maps;
* :mod:`~infotheory.audiovisual.lexical` — H(word), H(word | phonemes), H(word | visemes),
  homophene rates over a CMUdict + wordfreq lexicon;
* :mod:`~infotheory.audiovisual.modality` — k-means units, I(A;T), I(V;T), I(A,V;T), I(A;V),
  co-information and PID against text units;
* :mod:`~infotheory.audiovisual.synthetic` — a corpus with a known information ordering;
* :mod:`~infotheory.audiovisual.rendering` — tables and figures.
"""

from infotheory.audiovisual.lexical import build_lexicon, lexical_information, unit_strings
from infotheory.audiovisual.modality import ModalityAnalysis, discretize, modality_information
from infotheory.audiovisual.rendering import plot_lexical_information, plot_modality_sweep
from infotheory.audiovisual.synthetic import AVCorpus, make_av_corpus
from infotheory.audiovisual.visemes import (
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
    "VISEME_MAPS",
    "VisemeMap",
    "build_lexicon",
    "discretize",
    "get_viseme_map",
    "lexical_information",
    "make_av_corpus",
    "modality_information",
    "normalize_phoneme",
    "plot_lexical_information",
    "plot_modality_sweep",
    "to_units",
    "unit_strings",
]
