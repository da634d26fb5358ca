"""Stored text made safe for where it is shown: no terminal control sequences, no live spreadsheet formulas.

Titles, sources and evidence come from crawled pages, so they are hostile input however they were stored.
Pure functions of strings, used by the exports here and by the CLI's tables and messages.
"""

from __future__ import annotations

import re

#: ESC-introduced sequences as terminals read them: CSI (``ESC [ ... final``), OSC/DCS/PM/APC strings
#: (``ESC ] ... BEL`` or ``ESC \\``, e.g. an OSC 8 hyperlink), and two-character escapes.
_ESCAPE_SEQUENCE_RE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, screen clears
    r"|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC, DCS, SOS, PM, APC up to BEL or ST
    r"|\x1b[@-Z\\-_]"  # other two-character escapes
    r"|\x9b[0-?]*[ -/]*[@-~]"  # the 8-bit CSI
)
#: C0 controls but tab and newline, DEL, and C1 controls: what is left of a sequence once cut, or alone.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: Cells a spreadsheet would read as a formula (OWASP "CSV injection"): they get a leading apostrophe.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def strip_controls(text: str) -> str:
    """``text`` without terminal escape sequences and control characters (tab and newline are kept)."""
    return _CONTROL_RE.sub("", _ESCAPE_SEQUENCE_RE.sub("", text))


def one_line(text: str) -> str:
    """``strip_controls`` and every run of whitespace (newlines included) as one space: for a table cell."""
    return " ".join(strip_controls(text).split())


def inert_cell(value: object) -> object:
    """A CSV cell a spreadsheet shows as text: a string starting with = + - @ tab or CR gets a leading ``'``.

    Numbers stay numbers (a negative score is not a formula); only strings can carry one.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value
