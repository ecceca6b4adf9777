"""Fictional name stock built from syllables, so no real person's name is implied."""

from __future__ import annotations

from itertools import product

_ONSETS = ["ka", "ma", "so", "ri", "da", "ne", "lu", "te", "bo", "vi", "ha", "ji", "pa", "ro",
           "sa", "ti", "na", "ze", "mo", "ku", "le", "fa", "di", "yo"]
_MALE_ENDS = ["n", "r", "l", "k", "m", "to", "ro", "des", "vin", "ram"]
_FEMALE_ENDS = ["a", "na", "ri", "la", "ya", "e", "lie", "ssa", "mi", "tha"]
_FAMILY_MIDS = ["ban", "cha", "dor", "ven", "mar", "tes", "kol", "ran", "sul", "phe", "ngo", "lim"]
_FAMILY_ENDS = ["", "a", "o", "ez", "son", "ak", "ou", "ian", "ito", "eng"]


def _words(parts: list[list[str]]) -> list[str]:
    words = {"".join(p).capitalize() for p in product(*parts)}
    return sorted(w for w in words if not any(v * 2 in w for v in "aeiou"))


MALE_GIVEN = _words([_ONSETS, _MALE_ENDS])
FEMALE_GIVEN = _words([_ONSETS, _FEMALE_ENDS])
FAMILY = _words([_ONSETS[:16], _FAMILY_MIDS, _FAMILY_ENDS])
PLACE_PARTS = _words([_ONSETS, ["ville", "pur", "bad", "kong", "dara", "ton", "mbe", "ra"]])
