"""Arabic normalisation for matching, at C speed: one regex pass deletes marks, then one ``str.replace``
per fold that actually occurs (``str.translate`` with a dict costs a Python-level lookup per character,
five times slower on Arabic text; speed matters because every crawled article passes through here).

Letters are folded one to one (alef forms, ya, ta marbuta, Persian letters, digits, quotes), and only
diacritics and tatweel are deleted; the deletions are the only thing that moves offsets, so
:func:`offset_map` can send a match on the normalised text back to the words of the original.
"""

from __future__ import annotations

import bisect
import re

#: Characters removed before matching: tashkeel (fathatan..sukun, superscript alef), Quranic marks, tatweel.
DELETED = (
    "".join(chr(c) for c in range(0x064B, 0x0660))  # tashkeel, hamza above/below, small marks
    + "\u0670"  # superscript alef
    + "".join(chr(c) for c in range(0x06D6, 0x06EE))  # Quranic annotation marks
    + "\u0640"  # tatweel
    + "\u200c\u200d\u200e\u200f\u061c\ufeff"  # ZWNJ/ZWJ, direction marks, BOM: invisible, split no words
)

#: One-to-one folds. Alef forms to bare alef and ى to ي because outlets spell the same name both ways
#: (إيران/ايران, موسى/موسي); ة to ه because the ta marbuta is dropped or dotted at random in headlines;
#: Persian keheh/yeh/heh appear in Iranian outlets' Arabic; quotes become '"' so a term in «» still matches.
FOLDS = {
    "أ": "ا",
    "إ": "ا",
    "آ": "ا",
    "ٱ": "ا",
    "ى": "ي",
    "ی": "ي",
    "ې": "ي",
    "ة": "ه",
    "ۀ": "ه",
    "ہ": "ه",
    "ھ": "ه",
    "ک": "ك",
    "ڪ": "ك",
    "«": '"',
    "»": '"',
    "“": '"',
    "”": '"',
    "„": '"',
    "‹": '"',
    "›": '"',
    "،": ",",
    "؛": ";",
    "؟": "?",
    "\u00a0": " ",
}
FOLDS.update({chr(0x0660 + d): str(d) for d in range(10)})  # Arabic-Indic digits
FOLDS.update({chr(0x06F0 + d): str(d) for d in range(10)})  # Persian (extended Arabic-Indic) digits
# ASCII case folded here rather than with str.lower(), which can lengthen some letters and move offsets.
FOLDS.update({chr(c): chr(c + 32) for c in range(ord("A"), ord("Z") + 1)})

DELETED_RE = re.compile("[" + re.escape(DELETED) + "]")
#: Folds found in nearly every Arabic article (hamza alefs, alef maqsura, ta marbuta, the Arabic comma) are
#: applied unconditionally; the rest are looked for in one regex pass, which beats ~60 ``in`` tests.
_COMMON = "ةأىإ،آ"
_COMMON_ITEMS = tuple((char, FOLDS[char]) for char in _COMMON)
_RARE_RE = re.compile("[" + re.escape("".join(char for char in FOLDS if char not in _COMMON)) + "]")


def normalize(text: str) -> str:
    """The text as the matcher sees it: folded letters and digits, no marks, ASCII lower case."""
    text = DELETED_RE.sub("", text)
    for char, folded in _COMMON_ITEMS:
        text = text.replace(char, folded)
    for char in set(_RARE_RE.findall(text)):
        text = text.replace(char, FOLDS[char])
    return text


class OffsetMap:
    """Sends offsets in the normalised text back to the original, past the deleted diacritics.

    Holds one entry per run of deleted marks (not per character), so building it costs one C-level regex
    pass plus a few Python steps even on a fully vocalised text.
    """

    __slots__ = ("_starts", "_shifts")

    def __init__(self, original: str) -> None:
        self._starts: list[int] = []  # normalised offset at which each deleted run sat
        self._shifts: list[int] = []  # characters deleted up to and including that run
        deleted = 0
        for match in DELETED_RE.finditer(original):
            deleted += match.end() - match.start()
            self._starts.append(match.start() - (deleted - (match.end() - match.start())))
            self._shifts.append(deleted)

    def __call__(self, pos: int) -> int:
        """Original offset of normalised ``pos``; marks sitting at ``pos`` stay with the letter before."""
        index = bisect.bisect_right(self._starts, pos) - 1
        return pos + (self._shifts[index] if index >= 0 else 0)


def offset_map(original: str, normalized: str) -> OffsetMap | None:
    """The way back from ``normalized`` offsets to ``original`` ones, or None when they coincide."""
    if len(original) == len(normalized):
        return None
    return OffsetMap(original)
