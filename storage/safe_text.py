"""Stored text made safe for where it is shown: no terminal control sequences, no live spreadsheet formulas.

Titles, sources and evidence come from crawled pages, so they are hostile input however they were stored.
Pure functions of strings, used by the exports here, the CLI's tables and messages, the web pages and
the digest.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

#: ESC-introduced sequences as terminals read them: CSI (``ESC [ ... final``), OSC/DCS/PM/APC strings
#: (``ESC ] ... BEL`` or ``ESC \\``, e.g. an OSC 8 hyperlink), and two-character escapes.
_ESCAPE_SEQUENCE_RE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, screen clears
    r"|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC, DCS, SOS, PM, APC up to BEL or ST
    r"|\x1b[@-Z\\-_]"  # other two-character escapes
    r"|\x9b[0-?]*[ -/]*[@-~]"  # the 8-bit CSI
)
#: C0 controls but tab and newline, DEL, and C1 controls: what is left of a sequence once cut, or alone;
#: and the invisible direction marks, embeddings, overrides and isolates and the BOM, since an RLO (U+202E)
#: in a headline or a file name reverses what follows it on screen.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
#: Cells a spreadsheet would read as a formula (OWASP "CSV injection"): they get a leading apostrophe.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def strip_controls(text: str) -> str:
    """``text`` without escape sequences, control and bidi-override characters (tab and newline are kept).

    The one cleaning of crawled text wherever it is shown: terminal, CSV, Atom, web pages and the digest.
    """
    return _CONTROL_RE.sub("", _ESCAPE_SEQUENCE_RE.sub("", text))


def one_line(text: str) -> str:
    """``strip_controls`` and every run of whitespace (newlines included) as one space: for a table cell."""
    return " ".join(strip_controls(text).split())


def http_url(url: str | None) -> str | None:
    """The URL if it is an absolute http(s) link, else None: ``javascript:``, ``data:``, scheme-relative
    links and ones hiding control or bidi characters never become a link (web pages, digest, Atom feed)."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or _CONTROL_RE.search(url):
        return None
    return url


def inert_cell(value: object) -> object:
    """A CSV cell a spreadsheet shows as text: a string starting with = + - @ tab or CR gets a leading ``'``.

    Numbers stay numbers (a negative score is not a formula); only strings can carry one.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value
