"""Exact and near-duplicate detection: a hash of the normalised text, and MinHash LSH over word shingles.

Agency copy (WAM, SPA, RT, Xinhua, TASS) is republished with a new headline, a changed first line or a
dropped paragraph; word shingles of the normalised body survive those edits while unrelated articles on
the same topic share few of them. The index lives in memory and is rebuilt from the stored signatures.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

from classifiers.normalize import normalize

logger = logging.getLogger(__name__)

#: Permutations per signature: 128 keeps the Jaccard estimate within ~0.04 and a signature at 512 bytes.
NUM_PERM = 128
#: Words per shingle. On 80 labelled pairs of the real corpus 2-word shingles separated copies from
#: same-topic articles better than 3 or 5 (best F1 0.86 vs 0.84 and 0.80; bench/results/storage.md):
#: outlets re-spell words (hamza, numerals) and every changed word breaks k shingles.
SHINGLE_WORDS = 2
#: Estimated Jaccard similarity at or above which two articles are one story. 0.5 gave precision 0.95,
#: recall 0.75 on the labelled pairs; 0.4 gains recall (0.82) but merges CNN pages that share only
#: boilerplate, and a wrong merge hides a hit while a missed one only shows it twice.
NEAR_DUP_THRESHOLD = 0.5
#: The LSH bands are tuned below the decision threshold so pairs just above it are not lost to banding.
LSH_MARGIN = 0.1
#: Texts shorter than this many words get no signature: a one-line brief shares its whole text by chance.
MIN_WORDS = 20
#: Seed shared by every signature ever stored; changing it invalidates all stored signatures.
SEED = 1

WORD_RE = re.compile(r"\w+")
_TEMPLATE = MinHash(num_perm=NUM_PERM, seed=SEED)  # permutations computed once, copied per article
#: datasketch 2 records how values were made; stored signatures must be read back with the same scheme.
SCHEME = _TEMPLATE.scheme


def words(text: str) -> list[str]:
    """The words of ``text`` after the classifier's Arabic normalisation (alef, ya, ta marbuta, digits)."""
    return WORD_RE.findall(normalize(text))


def content_hash(text: str) -> str:
    """sha1 of the normalised words: the same text under another URL, spacing or diacritics agrees."""
    return _hash_words(words(text))


def _hash_words(tokens: list[str]) -> str:
    return hashlib.sha1(" ".join(tokens).encode("utf-8")).hexdigest()


def fingerprint(text: str) -> tuple[str, np.ndarray | None]:
    """(content hash, MinHash signature or None) from one pass of normalisation over the text."""
    tokens = words(text)
    return _hash_words(tokens), _signature(tokens)


def url_hash(url: str) -> str:
    """sha1 hex of a URL: a fixed-size key that indexes on both engines whatever the URL's length."""
    return hashlib.sha1(url.encode("utf-8")).hexdigest()


def signature(text: str) -> np.ndarray | None:
    """MinHash values (uint32) of the text's word shingles, or None for a text too short to compare."""
    return _signature(words(text))


def _signature(tokens: list[str]) -> np.ndarray | None:
    if len(tokens) < MIN_WORDS:
        return None
    shingles = {" ".join(tokens[i : i + SHINGLE_WORDS]).encode("utf-8") for i in range(len(tokens) - SHINGLE_WORDS + 1)}
    minhash = _TEMPLATE.copy()
    minhash.update_batch(list(shingles))
    return minhash.hashvalues.astype(np.uint32)


def to_bytes(values: np.ndarray) -> bytes:
    return values.astype("<u4").tobytes()


def from_bytes(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<u4").astype(np.uint32)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity: the share of permutations on which the two minima agree."""
    return float(np.count_nonzero(a == b)) / len(a)


class NearDuplicateIndex:
    """MinHash LSH over stored articles: ``nearest`` answers in about a millisecond at 100k articles."""

    def __init__(self, threshold: float = NEAR_DUP_THRESHOLD) -> None:
        self.threshold = threshold
        self._lsh = MinHashLSH(threshold=max(0.05, threshold - LSH_MARGIN), num_perm=NUM_PERM)
        self._values: dict[int, np.ndarray] = {}
        self.last_id = 0  # highest article id loaded, so a refresh reads only newer signatures

    def __len__(self) -> int:
        return len(self._values)

    def add(self, article_id: int, values: np.ndarray) -> None:
        if article_id in self._values:
            return
        values = values.astype(np.uint32)  # kept at 4 bytes a value: 100k signatures in ~50 MB
        self._lsh.insert(article_id, LeanMinHash(seed=SEED, hashvalues=values, scheme=SCHEME), check_duplication=False)
        self._values[article_id] = values
        self.last_id = max(self.last_id, article_id)

    def add_many(self, rows: Iterable[tuple[int, bytes]]) -> int:
        """Load stored signatures; returns how many were new."""
        count = 0
        with self._lsh.insertion_session() as session:
            for article_id, blob in rows:
                if article_id in self._values:
                    continue
                values = from_bytes(blob)
                session.insert(article_id, LeanMinHash(seed=SEED, hashvalues=values, scheme=SCHEME), check_duplication=False)
                self._values[article_id] = values
                self.last_id = max(self.last_id, article_id)
                count += 1
        return count

    def remove(self, article_id: int) -> None:
        """Forget an article whose transaction rolled back."""
        if self._values.pop(article_id, None) is not None:
            self._lsh.remove(article_id)

    def nearest(self, values: np.ndarray) -> tuple[int, float] | None:
        """The most similar stored article at or above the threshold, with its similarity, or None."""
        values = values.astype(np.uint32)
        candidates = self._lsh.query(LeanMinHash(seed=SEED, hashvalues=values, scheme=SCHEME))
        best: tuple[int, float] | None = None
        for article_id in candidates:
            score = similarity(values, self._values[article_id])
            if score >= self.threshold and (best is None or score > best[1] or (score == best[1] and article_id < best[0])):
                best = (article_id, score)
        return best
