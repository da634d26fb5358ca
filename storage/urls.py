"""Canonical URLs: one spelling per article, whatever variant of its address a feed or a share gave us.

The crawler calls ``canonicalize_url`` on the page's ``<link rel=canonical>``/``og:url`` when present and
on the final URL otherwise; storage keeps one article per result. courlan drops tracking parameters
(``utm_*``, ``fbclid``, ``gclid``...), default ports and sorts the query; w3lib fixes percent-encoding
(Arabic paths, raw or encoded, become one upper-case UTF-8 spelling) and drops the fragment. What is left
is ours: the AMP and mobile variants Arabic outlets serve, and ``www.``/``http`` spellings of the same page.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

import courlan
from w3lib.url import canonicalize_url as _w3lib_canonicalize

logger = logging.getLogger(__name__)

#: Host prefixes of mobile/AMP/"www" twins of the same site: m.alarabiya.net, amp.aawsat.com, www.sana.sy.
HOST_PREFIX_RE = re.compile(r"^(?:www\d?|m|mobile|amp|mobi)\.(?=[^.]+\.)")
#: AMP path forms: /amp/ch/..., /ar/amp/..., .../article-123/amp, .../article.amp, .../article.amp.html
AMP_SEGMENT_RE = re.compile(r"(?:^|/)amp(?=/|$)")
AMP_SUFFIX_RE = re.compile(r"\.amp(?=\.html?$|$)")
#: Query parameters that only switch the AMP/mobile rendering (?amp, ?amp=1, ?outputType=amp, ?mobile=1).
VARIANT_PARAMS = frozenset({"amp", "amp_js_v", "usqp", "outputtype", "mobile", "m", "platform"})
#: Extra trackers seen on Arabic outlets' share links that courlan's list does not cover.
EXTRA_TRACKERS = frozenset({"ocid", "ito", "cmpid", "s_cid", "ns_mchannel", "ns_source", "share"})


@lru_cache(maxsize=50_000)  # the same URL is canonicalised when listed, marked seen and stored
def canonicalize_url(url: str) -> str:
    """The one spelling of ``url`` that every AMP, mobile, tracking and encoding variant maps to.

    Pure and fast (no network); a string that is not an http(s) URL comes back stripped but unchanged,
    so a bad link never costs the page.
    """
    raw = url.strip()
    if not raw.lower().startswith(("http://", "https://")):
        return raw
    try:
        cleaned = courlan.normalize_url(raw, trailing_slash=False)
        cleaned = _w3lib_canonicalize(cleaned, keep_fragments=False)
        parts = urlsplit(cleaned)
    except ValueError as exc:  # courlan/urllib reject malformed netlocs such as "http://[::1"
        logger.debug("cannot canonicalise %r: %s", raw, exc)
        return raw
    host = (parts.hostname or "").rstrip(".")
    host = HOST_PREFIX_RE.sub("", host)
    netloc = host if parts.port in (None, 80, 443) else f"{host}:{parts.port}"
    path = AMP_SUFFIX_RE.sub("", AMP_SEGMENT_RE.sub("", parts.path))
    path = re.sub(r"/{2,}", "/", path).rstrip("/") or "/"
    query = "&".join(
        pair for pair in parts.query.split("&") if pair and not _is_variant_or_tracker(pair.split("=", 1)[0])
    )
    # http and https serve the same article on every outlet we crawl; https is the spelling they link.
    # A server on its own port (the offline snapshot, a test server) keeps its scheme so links still open.
    scheme = "https" if parts.port in (None, 80, 443) else parts.scheme
    return urlunsplit((scheme, netloc, path, query, ""))


def _is_variant_or_tracker(name: str) -> bool:
    lowered = name.lower()
    return lowered in VARIANT_PARAMS or lowered in EXTRA_TRACKERS or lowered.startswith("utm_")


def url_forms(url: str) -> tuple[str, ...]:
    """The raw and canonical spellings of ``url`` (one if they agree), as seen-URL lookups compare both."""
    raw = url.strip()
    canonical = canonicalize_url(raw)
    return (raw,) if canonical == raw else (raw, canonical)
