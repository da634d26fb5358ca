"""Exact and near-duplicate detection: a hash of the normalised text, and MinHash LSH over word shingles.

Agency copy (WAM, SPA, RT, Xinhua, TASS) is republished with a new headline, a changed first line or a
dropped paragraph; word shingles of the normalised body survive those edits while unrelated articles on
the same topic share few of them. The index lives in memory and is rebuilt from the stored signatures.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING

import numpy as np

from classifiers.normalize import normalize

if TYPE_CHECKING:
    from datasketch import MinHash

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
#: Articles fetched longer ago than this are not compared with new ones (``near_duplicate_window``): copies
#: of one agency text appear within days, and the in-memory index must not grow with the database.
NEAR_DUP_WINDOW = timedelta(days=30)
#: Seed shared by every signature ever stored; changing it invalidates all stored signatures.
SEED = 1

WORD_RE = re.compile(r"\w+")


@functools.cache
def _template() -> MinHash:
    """The permutations, computed once and copied per article. datasketch loads scipy under it (0.4 s), so
    it is imported on first use: a crawl that stores no new article (most re-crawls) never pays for it."""
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=SEED)


def scheme() -> str:
    """How datasketch 2 made the values; stored signatures must be read back with the same scheme."""
    return str(_template().scheme)


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
    shingles = {
        " ".join(tokens[i : i + SHINGLE_WORDS]).encode("utf-8")
        for i in range(len(tokens) - SHINGLE_WORDS + 1)
    }
    minhash = _template().copy()
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
    """MinHash LSH over stored articles, banded as datasketch's MinHashLSH bands them, held in numpy arrays.

    datasketch's MinHashLSH keeps a Python set per band bucket: 32 dictionary inserts per article made
    rebuilding 100k stored signatures take 13-19 s (bench/results/storage.md). Here every band key sits
    in one sorted uint64 array, built with one argsort and looked up with one ``searchsorted``; articles
    added since the last build wait in a small dict until the next merge. Band count and width come from
    datasketch's own false-positive/false-negative optimiser, so candidates match what MinHashLSH returns.
    """

    def __init__(self, threshold: float = NEAR_DUP_THRESHOLD) -> None:
        self.threshold = threshold
        from datasketch import MinHashLSH

        # datasketch's own choice of bands and rows for this threshold (its public b and r attributes).
        tuned = MinHashLSH(threshold=max(0.05, threshold - LSH_MARGIN), num_perm=NUM_PERM)
        self.bands, self.rows = tuned.b, tuned.r
        mixer = np.random.default_rng(SEED)
        # A random odd multiplier per value turns a band of ``rows`` values into one 64-bit key, and a
        # random offset per band keeps equal values in different bands apart, so all bands share one array.
        self._mix = mixer.integers(1, 2**63 - 1, size=(self.bands, self.rows), dtype=np.uint64) | np.uint64(1)
        self._band_offset = mixer.integers(1, 2**63 - 1, size=self.bands, dtype=np.uint64)
        self._ids = np.zeros(0, dtype=np.int64)
        self._matrix = np.zeros((0, NUM_PERM), dtype=np.uint32)
        self._sorted_keys = np.zeros(0, dtype=np.uint64)  # every band's keys in one sorted array
        self._sorted_rows = np.zeros(0, dtype=np.int64)
        self._pending: dict[int, np.ndarray] = {}  # article id -> values, not yet merged into the arrays
        self._pending_keys: dict[tuple[int, int], list[int]] = {}
        self._dead_rows: set[int] = set()  # rows of the arrays whose article rolled back
        self._known: set[int] = set()
        self.last_id = 0  # highest article id loaded, so a refresh reads only newer signatures

    def __len__(self) -> int:
        return len(self._known)

    def _keys(self, matrix: np.ndarray) -> np.ndarray:
        """Band keys, shape (n, bands): each band's values mixed into one uint64 (wrapping arithmetic)."""
        banded = (
            matrix[:, : self.bands * self.rows].astype(np.uint64).reshape(len(matrix), self.bands, self.rows)
        )
        with np.errstate(over="ignore"):
            return (banded * self._mix).sum(axis=2, dtype=np.uint64) + self._band_offset

    def add(self, article_id: int, values: np.ndarray) -> None:
        if article_id in self._known:
            return
        values = values.astype(np.uint32)
        self._pending[article_id] = values
        for band, key in enumerate(self._keys(values[None, :])[0]):
            self._pending_keys.setdefault((band, int(key)), []).append(article_id)
        self._known.add(article_id)
        self.last_id = max(self.last_id, article_id)
        if len(self._pending) > max(2000, len(self._ids) // 10):
            self._merge()

    def add_many(self, rows: Iterable[tuple[int, bytes]]) -> int:
        """Load stored signatures in bulk; returns how many were new."""
        ids, blobs = [], []
        for article_id, blob in rows:
            if article_id not in self._known:
                ids.append(article_id)
                blobs.append(blob)
                self._known.add(article_id)
        if not ids:
            return 0
        matrix = np.frombuffer(b"".join(blobs), dtype="<u4").reshape(len(ids), NUM_PERM).astype(np.uint32)
        self.last_id = max(self.last_id, max(ids))
        self._merge(np.asarray(ids, dtype=np.int64), matrix)
        return len(ids)

    def _merge(self, ids: np.ndarray | None = None, matrix: np.ndarray | None = None) -> None:
        """Fold pending and new signatures into the sorted band arrays (one argsort per band)."""
        parts_ids, parts_matrix = [self._ids], [self._matrix]
        if self._pending:
            parts_ids.append(np.fromiter(self._pending, dtype=np.int64, count=len(self._pending)))
            parts_matrix.append(np.stack(list(self._pending.values())))
        if ids is not None and matrix is not None:
            parts_ids.append(ids)
            parts_matrix.append(matrix)
        self._ids = np.concatenate(parts_ids)
        self._matrix = np.concatenate(parts_matrix)
        if self._dead_rows:  # drop retired rows for good while rebuilding anyway
            keep = np.ones(len(self._ids), dtype=bool)
            keep[list(self._dead_rows)] = False
            self._ids, self._matrix = self._ids[keep], self._matrix[keep]
            self._dead_rows.clear()
        self._pending.clear()
        self._pending_keys.clear()
        keys = self._keys(self._matrix).ravel()  # row-major: entry i belongs to row i // bands
        order = np.argsort(keys)
        self._sorted_keys = keys[order]
        self._sorted_rows = order // self.bands

    def remove(self, article_id: int) -> None:
        """Forget an article whose transaction rolled back."""
        if article_id in self._known:
            self._known.discard(article_id)
            if (
                self._pending.pop(article_id, None) is None
            ):  # merged already: retire its rows (SQLite reuses ids)
                self._dead_rows.update(int(row) for row in np.flatnonzero(self._ids == article_id))

    def nearest(self, values: np.ndarray) -> tuple[int, float] | None:
        """The most similar stored article at or above the threshold, with its similarity, or None."""
        values = values.astype(np.uint32)
        keys = self._keys(values[None, :])[0]
        lows = np.searchsorted(self._sorted_keys, keys, side="left")
        highs = np.searchsorted(self._sorted_keys, keys, side="right")
        rows = [self._sorted_rows[lo:hi] for lo, hi in zip(lows, highs, strict=True) if hi > lo]
        candidates: dict[int, float] = {}
        if rows:
            unique = np.unique(np.concatenate(rows))
            if self._dead_rows:
                unique = np.array([row for row in unique if int(row) not in self._dead_rows], dtype=np.int64)
            scores = (self._matrix[unique] == values).mean(axis=1)
            for row, score in zip(unique, scores, strict=True):
                candidates[int(self._ids[row])] = score
        for band, key in enumerate(keys):
            for article_id in self._pending_keys.get((band, int(key)), ()):
                if article_id in self._pending:
                    candidates[article_id] = similarity(values, self._pending[article_id])
        best: tuple[int, float] | None = None
        for article_id, score in sorted(candidates.items()):
            if score >= self.threshold and (best is None or score > best[1]):
                best = (article_id, float(score))
        return best
