"""Published phoneme-to-viseme maps over the 39 ARPAbet phonemes of the CMU dictionary.

A viseme is a class of phonemes that look alike on the lips; a map is many-to-one. Maps differ
in how finely they split (Cappelletta & Harte 2012, ICPRAM, compare them for lip-reading;
Bear & Harvey 2017 too). Each map below is cited where it is defined. They are transcribed in
the TIMIT/ARPAbet labels used by Cappelletta & Harte's tables; symbols absent from CMUdict
(EL, EN, EM, AXR, IX, ...) are kept out.

CMUdict writes the schwa as ``AH0``; :func:`normalize_phoneme` turns it into ``AX`` for maps
that give the schwa its own class, and into ``AH`` otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeAlias

__all__ = [
    "CMU_PHONEMES",
    "VISEME_MAPS",
    "VisemeMap",
    "get_viseme_map",
    "normalize_phoneme",
    "to_units",
]

#: The 39 phonemes of the CMU Pronouncing Dictionary (stress digits removed).
CMU_PHONEMES = (
    "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G",
    "HH", "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T",
    "TH", "UH", "UW", "V", "W", "Y", "Z", "ZH",
)


@dataclass(frozen=True)
class VisemeMap:
    """A many-to-one phoneme-to-viseme map.

    Attributes
    ----------
    name : str
        Short key (``"lee"``, ``"neti"``, ...).
    classes : dict
        Viseme label -> tuple of ARPAbet phonemes (``"AX"`` allowed for the schwa).
    citation : str
        Where the map is published.
    note : str
        How it was transcribed to CMUdict phonemes.
    """

    name: str
    classes: dict[str, tuple[str, ...]]
    citation: str
    note: str = ""

    @property
    def mapping(self) -> dict[str, str]:
        """Phoneme -> viseme label."""
        return {ph: vis for vis, phs in self.classes.items() for ph in phs}

    @property
    def n_visemes(self) -> int:
        """Number of viseme classes."""
        return len(self.classes)

    @property
    def has_schwa(self) -> bool:
        """Whether the map lists the schwa ``AX`` (CMUdict ``AH0``) separately."""
        return "AX" in self.mapping

    def __post_init__(self) -> None:
        mapping = self.mapping
        missing = [p for p in CMU_PHONEMES if p not in mapping]
        if missing:
            raise ValueError(f"viseme map {self.name!r} must cover all 39 CMU phonemes; "
                             f"missing {missing}")
        n_listed = sum(len(v) for v in self.classes.values())
        if n_listed != len(mapping):
            raise ValueError(f"viseme map {self.name!r} lists a phoneme in two classes")


VISEME_MAPS: dict[str, VisemeMap] = {
    "phoneme": VisemeMap(
        "phoneme", {p: (p,) for p in CMU_PHONEMES},
        "identity map (one class per CMUdict phoneme): the listener's baseline"),
    # Lee, S. & Yook, D. (2002). Audio-to-visual conversion using hidden Markov models.
    # PRICAI 2002, LNAI 2417, pp. 563-570. Springer. As tabulated by Cappelletta & Harte (2012).
    "lee": VisemeMap(
        "lee",
        {"P": ("B", "P", "M"), "T": ("D", "T", "S", "Z", "TH", "DH"),
         "K": ("G", "K", "N", "NG", "L", "Y", "HH"), "CH": ("JH", "CH", "SH", "ZH"),
         "F": ("F", "V"), "W": ("R", "W"), "IY": ("IY", "IH"), "EH": ("EH", "EY", "AE"),
         "AA": ("AA", "AW", "AY"), "AH": ("AH",), "AO": ("AO", "OY", "OW"),
         "UH": ("UH", "UW"), "ER": ("ER",)},
        "Lee & Yook (2002), PRICAI, LNAI 2417:563-570",
        "the map lists no schwa; CMUdict AH0 joins AH"),
    # Jeffers, J. & Barley, M. (1971). Speechreading (Lipreading). Charles C. Thomas,
    # Springfield, IL. As tabulated by Cappelletta & Harte (2012).
    "jeffers_barley": VisemeMap(
        "jeffers_barley",
        {"lip-to-teeth": ("F", "V"),
         "lips-puckered": ("ER", "OW", "R", "W", "UH", "UW"),
         "lips-together": ("B", "P", "M"),
         "lips-relaxed-to-puckered": ("AW",),
         "tongue-between-teeth": ("DH", "TH"),
         "lips-forward": ("CH", "JH", "SH", "ZH"),
         "lips-rounded": ("OY", "AO"),
         "teeth-approximated": ("S", "Z"),
         "lips-relaxed-narrow": ("AA", "AE", "AH", "AX", "AY", "EY", "IH", "IY", "Y", "EH"),
         "tongue-up-or-down": ("D", "L", "N", "T"),
         "tongue-back": ("G", "K", "NG"),
         "HH": ("HH",)},
        "Jeffers & Barley (1971), Speechreading (Lipreading), C. C. Thomas",
        "/h/ has no class in the source (it takes the shape of the next vowel); it is kept "
        "as its own class so that it creates no homophenes"),
    # Neti, C., Potamianos, G., Luettin, J., Matthews, I., Glotin, H., Vergyri, D., Sison, J.,
    # Mashari, A. & Zhou, J. (2000). Audio-visual speech recognition. Final Workshop 2000
    # Report, CLSP, Johns Hopkins University; also Potamianos et al. (2003), Proc. IEEE 91(9).
    "neti": VisemeMap(
        "neti",
        {"V1": ("AO", "AH", "AA", "ER", "OY", "AW", "HH"), "V2": ("UW", "UH", "OW"),
         "V3": ("AE", "EH", "EY", "AY"), "V4": ("IH", "IY", "AX"),
         "A": ("L", "R", "Y"), "B": ("S", "Z"), "C": ("T", "D", "N"),
         "D": ("SH", "ZH", "CH", "JH"), "E": ("P", "B", "M"), "F": ("TH", "DH"),
         "G": ("F", "V"), "H": ("NG", "G", "K", "W")},
        "Neti et al. (2000), JHU CLSP Workshop 2000 report; Potamianos et al. (2003), "
        "Proc. IEEE 91(9):1306-1326",
        "silence class omitted; the schwa AX (CMUdict AH0) is in V4 as in the source"),
    # Bozkurt, E., Erdem, C. E., Erzin, E., Erdem, T. & Ozkan, M. (2007). Comparison of phoneme
    # and viseme based acoustic units for speech driven realistic lip animation. 3DTV-CON 2007.
    # As tabulated by Cappelletta & Harte (2012).
    "bozkurt": VisemeMap(
        "bozkurt",
        {"V2": ("AY", "AH"), "V3": ("EY", "EH", "AE"), "V4": ("ER",),
         "V5": ("IY", "IH", "AX", "Y"), "V6": ("UW", "UH", "W"),
         "V7": ("AO", "AA", "OY", "OW"), "V8": ("AW",), "V9": ("G", "HH", "K", "NG"),
         "V10": ("R",), "V11": ("L", "D", "N", "T"), "V12": ("S", "Z"),
         "V13": ("CH", "SH", "JH", "ZH"), "V14": ("TH", "DH"), "V15": ("F", "V"),
         "V16": ("M", "B", "P")},
        "Bozkurt et al. (2007), 3DTV-CON, Kos",
        "silence class V1 omitted; TIMIT-only symbols (IX, AXR, EL, EN, EM) dropped"),
}

_STRESS = re.compile(r"\d$")

#: a viseme map: a name in :data:`VISEME_MAPS`, a :class:`VisemeMap`, or phoneme -> viseme
VisemeMapLike: TypeAlias = "str | VisemeMap | dict[str, str]"


def get_viseme_map(viseme_map: VisemeMapLike) -> VisemeMap:
    """Return a :class:`VisemeMap` from a name in :data:`VISEME_MAPS`, a map or a dict.

    A dict is read as phoneme -> viseme label and must cover the 39 CMU phonemes.

    Examples
    --------
    >>> get_viseme_map("neti").n_visemes
    12
    """
    if isinstance(viseme_map, VisemeMap):
        return viseme_map
    if isinstance(viseme_map, str):
        if viseme_map not in VISEME_MAPS:
            raise ValueError(f"viseme_map must be one of {sorted(VISEME_MAPS)} or a dict; "
                             f"got {viseme_map!r}")
        return VISEME_MAPS[viseme_map]
    if isinstance(viseme_map, dict):
        classes: dict[str, list[str]] = {}
        for ph, vis in viseme_map.items():
            classes.setdefault(str(vis), []).append(str(ph).upper())
        return VisemeMap("custom", {k: tuple(v) for k, v in classes.items()}, "user map")
    raise TypeError(f"viseme_map must be a name, a VisemeMap or a dict; "
                    f"got {type(viseme_map).__name__}")


def normalize_phoneme(phone: str, schwa: bool = False) -> str:
    """Strip the CMUdict stress digit; ``AH0`` becomes ``AX`` when ``schwa`` is true.

    Examples
    --------
    >>> normalize_phoneme("AH0"), normalize_phoneme("AH0", schwa=True), normalize_phoneme("EY1")
    ('AH', 'AX', 'EY')
    """
    if schwa and phone == "AH0":
        return "AX"
    return _STRESS.sub("", phone)


def to_units(pronunciation: Iterable[str],
             viseme_map: VisemeMapLike = "phoneme") -> tuple[str, ...]:
    """Map a CMUdict pronunciation (list of stressed ARPAbet symbols) to viseme labels.

    Examples
    --------
    >>> to_units(["B", "AE1", "T"], "lee"), to_units(["M", "AE1", "T"], "lee")
    (('P', 'EH', 'T'), ('P', 'EH', 'T'))
    """
    vm = get_viseme_map(viseme_map)
    mapping = vm.mapping
    schwa = vm.has_schwa
    try:
        return tuple(mapping[normalize_phoneme(p, schwa)] for p in pronunciation)
    except KeyError as exc:
        raise ValueError(f"pronunciation contains {exc.args[0]!r}, not a CMU phoneme "
                         f"covered by viseme map {vm.name!r}") from None
