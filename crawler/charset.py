"""Turn a page's bytes into the right Arabic text, or refuse: mojibake is never stored.

Older Arabic outlets serve windows-1256 (sometimes ISO-8859-6), with or without a declared charset, and
some declare one thing while sending another. Order of trust: a BOM, then the HTTP header, then
``<meta charset>`` -- each verified by a strict decode -- then UTF-8, windows-1256, ISO-8859-6 and
charset-normalizer's guess. Bytes that are valid UTF-8 beat a declared single-byte charset: Arabic in windows-1256 essentially
never forms valid multi-byte UTF-8, while UTF-8 Arabic read as windows-1256 always decodes (to junk).
"""

from __future__ import annotations

import codecs
import re

from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom, resolve_encoding

#: Arabic letters proper (hamza .. yeh), used to judge whether a decoded text reads as Arabic.
ARABIC_LETTER_RE = re.compile(r"[\u0621-\u064a]")
#: UTF-8 Arabic read as latin-1/cp1252: every letter becomes Ø or Ù plus a symbol ("Ø§Ù„" for "ال").
LATIN_MOJIBAKE_RE = re.compile(
    r"[ØÙ][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u2122]"
)
#: The same bytes read as windows-1256: every letter becomes ط or ظ plus a symbol ("ط§ظ„" for "ال").
ARABIC_MOJIBAKE_RE = re.compile(
    r"[طظ][\u0080-\u00bf\u067e\u0679\u0686\u0698\u0688\u06af\u06a9\u0691\u06ba\u06be\u06c1\u0152\u0153\u0192\u02c6\u2013-\u2122]"
)
#: ISO-8859-6 Arabic read as windows-1256: the letters from feh to yeh become accented Latin letters
#: (à, ç, é...) glued to Arabic ones; Maghreb outlets' French words put accents beside Latin letters only.
ISO_AS_CP1256_RE = re.compile(r"[\u0621-\u064a][àâçèéêëîïôùûü]|[àâçèéêëîïôùûü][\u0621-\u064a]")
#: windows-1256 Arabic read as Latin-1/cp1252: whole words of accented capitals ("ÑæÓíÇ" for "روسيا"),
#: which French or Spanish text (one accent in a Latin word) never has.
CP1256_AS_LATIN_RE = re.compile(r"[\u00c0-\u00ff]{3,}")
#: Share of mojibake pairs among Arabic-looking characters above which a text is junk; real Arabic
#: has none of these pairs (a Persian letter after ط is possible but rare), mojibake has one per letter.
MOJIBAKE_SHARE = 0.2
#: Replacement characters tolerated (one broken byte in a long page) before a text counts as junk.
MAX_REPLACEMENT_SHARE = 0.005


class UndecodableError(ValueError):
    """No candidate charset gives clean text; ``str(exc)`` says what was declared and tried."""


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """The page's text and the charset it was read in; raises ``UndecodableError`` rather than return junk."""
    bom_encoding, bom = read_bom(body)
    if bom_encoding and bom:
        text = body[len(bom) :].decode(bom_encoding, errors="replace")
        if not looks_like_mojibake(text):
            return text, bom_encoding
    declared = [
        enc
        for enc in (
            http_content_type_encoding(content_type) if content_type else None,
            html_body_declared_encoding(body),
        )
        if enc
    ]
    declared = [_python_name(enc) for enc in declared]
    candidates = [*declared]
    if body.isascii() or _is_utf8(body):
        # Valid UTF-8 with non-ASCII bytes is UTF-8, whatever a single-byte declaration claims.
        candidates.insert(0, "utf-8")
    candidates += ["utf-8", "cp1256", "iso8859-6"]
    tried: list[str] = []
    for encoding in dict.fromkeys(candidates):
        tried.append(encoding)
        try:
            text = body.decode(encoding, errors="strict")
        except (UnicodeDecodeError, LookupError):
            continue
        if not looks_like_mojibake(text):
            return text, encoding
    # A page declared UTF-8 with a few broken bytes (a multi-byte letter cut in a CMS field) keeps its text:
    # looks_like_mojibake refuses it once the replacement characters are more than a handful.
    if "utf-8" in declared:
        text = body.decode("utf-8", errors="replace")
        if not looks_like_mojibake(text):
            return text.replace("\ufffd", ""), "utf-8"  # the broken bytes carried no letter worth keeping
    guessed = _normalizer_guess(body)
    if guessed and guessed not in tried:
        tried.append(guessed)
        text = body.decode(guessed, errors="replace")
        if not looks_like_mojibake(text):
            return text, guessed
    said = f"declared {', '.join(declared)}" if declared else "no charset declared"
    raise UndecodableError(f"undecodable body, {said}; tried {', '.join(tried)}")


def looks_like_mojibake(text: str) -> bool:
    """True for text that is UTF-8 Arabic misread as a single-byte charset, or riddled with U+FFFD."""
    if not text:
        return False
    replacements = text.count("\ufffd")
    if replacements > 20 or replacements > MAX_REPLACEMENT_SHARE * len(text):
        return True
    letters = len(ARABIC_LETTER_RE.findall(text))
    latin = len(LATIN_MOJIBAKE_RE.findall(text))
    if latin >= 10 and latin > MOJIBAKE_SHARE * (letters + latin):
        return True
    misread = len(ARABIC_MOJIBAKE_RE.findall(text))
    if misread >= 10 and misread > MOJIBAKE_SHARE * letters:
        return True
    accented = len(ISO_AS_CP1256_RE.findall(text))
    if accented >= 10 and accented > 0.05 * letters:
        return True
    latin_words = len(CP1256_AS_LATIN_RE.findall(text))
    return latin_words >= 10 and latin_words > letters


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        return False
    return True


def _python_name(encoding: str) -> str:
    """w3lib's resolved name (it maps e.g. 'iso-8859-1' to cp1252 as browsers do) in Python's spelling."""
    resolved = resolve_encoding(encoding) or encoding
    try:
        return codecs.lookup(resolved).name
    except LookupError:
        return resolved


def _normalizer_guess(body: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(body[:200_000], cp_isolation=["cp1256", "iso8859_6", "utf_8", "cp720"]).best()
    return best.encoding if best is not None else None
