"""Near-duplicate detection on the real corpus: quality on labelled pairs, syndicated pairs found, and cost.

    python -m bench.dedup [--data ../shared/data] [--sizes 10000,100000]

1. Precision/recall of the near-copy decision at several thresholds on the hand-labelled pairs in
   tests/storage/fixtures/near_dup_pairs.jsonl (80 pairs sampled by exact 3-shingle containment band from
   pairs sharing >= 3 five-word runs; also weighted by how many corpus pairs each band holds).
2. How many near-copy pairs the stored threshold finds in articles.jsonl, and how many cross outlets.
3. Cost of checking one new article against 10k and 100k stored ones (signature + LSH lookup), and of
   rebuilding the in-memory index from stored signature bytes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
from datasketch import LeanMinHash, MinHashLSH

from config.settings import DEFAULT_SHARED_DATA
from storage import dedup

PAIRS_FILE = (
    Path(__file__).resolve().parent.parent / "tests" / "storage" / "fixtures" / "near_dup_pairs.jsonl"
)
#: Corpus pairs (sharing >= 3 five-word runs) per containment band, counted when the sample was drawn.
BAND_POPULATION = {"0.0-0.2": 11149, "0.2-0.4": 1816, "0.4-0.6": 794, "0.6-0.8": 392, "0.8-1.0": 523}
BAND_SAMPLED = {"0.0-0.2": 10, "0.2-0.4": 20, "0.4-0.6": 20, "0.6-0.8": 15, "0.8-1.0": 15}


def load_articles(data: Path) -> dict[str, dict]:
    with (data / "articles.jsonl").open(encoding="utf-8") as handle:
        return {a["id"]: a for a in map(json.loads, handle)}


def labelled_quality(articles: dict[str, dict], thresholds: list[float]) -> list[dict]:
    pairs = [json.loads(line) for line in PAIRS_FILE.open(encoding="utf-8")]
    scored = []
    for pair in pairs:
        a, b = dedup.signature(articles[pair["a"]]["text"]), dedup.signature(articles[pair["b"]]["text"])
        score = dedup.similarity(a, b) if a is not None and b is not None else 0.0
        scored.append((score, pair["near_copy"], BAND_POPULATION[pair["band"]] / BAND_SAMPLED[pair["band"]]))
    rows = []
    for t in thresholds:
        tp = sum(1 for s, y, _ in scored if s >= t and y)
        fp = sum(1 for s, y, _ in scored if s >= t and not y)
        fn = sum(1 for s, y, _ in scored if s < t and y)
        wtp = sum(w for s, y, w in scored if s >= t and y)
        wfp = sum(w for s, y, w in scored if s >= t and not y)
        wfn = sum(w for s, y, w in scored if s < t and y)
        rows.append(
            {
                "threshold": t,
                "tp": tp,
                "fp": fp,
                "fn": fn,
                "precision": tp / (tp + fp) if tp + fp else 1.0,
                "recall": tp / (tp + fn) if tp + fn else 1.0,
                "weighted_precision": wtp / (wtp + wfp) if wtp + wfp else 1.0,
                "weighted_recall": wtp / (wtp + wfn) if wtp + wfn else 1.0,
            }
        )
    return rows


def corpus_pairs(articles: dict[str, dict]) -> tuple[dict[str, np.ndarray], int, int, float]:
    start = time.perf_counter()
    signatures = {k: s for k, a in articles.items() if (s := dedup.signature(a["text"])) is not None}
    per_article = (time.perf_counter() - start) / len(articles)
    cross = 0
    lsh = MinHashLSH(threshold=dedup.NEAR_DUP_THRESHOLD - dedup.LSH_MARGIN, num_perm=dedup.NUM_PERM)
    keys = list(signatures)
    for key in keys:
        lsh.insert(key, LeanMinHash(seed=dedup.SEED, hashvalues=signatures[key], scheme=dedup.scheme()))
    seen = set()
    for key in keys:
        for other in lsh.query(
            LeanMinHash(seed=dedup.SEED, hashvalues=signatures[key], scheme=dedup.scheme())
        ):
            pair = tuple(sorted((key, other)))
            if other == key or pair in seen:
                continue
            if dedup.similarity(signatures[key], signatures[other]) >= dedup.NEAR_DUP_THRESHOLD:
                seen.add(pair)
                cross += articles[key]["source"] != articles[other]["source"]
    return signatures, len(seen), cross, per_article


def lookup_cost(
    signatures: dict[str, np.ndarray], articles: dict[str, dict], size: int, probes: int = 500
) -> dict:
    """Index of ``size`` signatures (real ones plus random fillers); time to check held-out real articles."""
    keys = list(signatures)
    held_out = keys[:probes]
    rng = np.random.default_rng(42)
    index = dedup.NearDuplicateIndex()
    blobs = [(i + 1, dedup.to_bytes(signatures[k])) for i, k in enumerate(keys[probes:])]
    filler = size - len(blobs)
    # Random signatures stand in for unseen articles: they collide with nothing, as most news does not.
    blobs += [
        (len(blobs) + j + 1, dedup.to_bytes(rng.integers(0, 2**32 - 1, dedup.NUM_PERM, dtype=np.uint32)))
        for j in range(max(0, filler))
    ]
    blobs = blobs[:size]
    start = time.perf_counter()
    index.add_many(blobs)
    rebuild = time.perf_counter() - start
    # the same load into datasketch's MinHashLSH, which the index replaced for its rebuild cost
    lsh = MinHashLSH(threshold=dedup.NEAR_DUP_THRESHOLD - dedup.LSH_MARGIN, num_perm=dedup.NUM_PERM)
    start = time.perf_counter()
    with lsh.insertion_session() as session:
        for key, blob in blobs:
            values = dedup.from_bytes(blob)
            session.insert(
                key,
                LeanMinHash(seed=dedup.SEED, hashvalues=values, scheme=dedup.scheme()),
                check_duplication=False,
            )
    datasketch_rebuild = time.perf_counter() - start
    sig_times, lookup_times = [], []
    for key in held_out:
        text = articles[key]["text"]
        t0 = time.perf_counter()
        values = dedup.signature(text)
        t1 = time.perf_counter()
        index.nearest(values)
        t2 = time.perf_counter()
        sig_times.append(t1 - t0)
        lookup_times.append(t2 - t1)
    total = [a + b for a, b in zip(sig_times, lookup_times, strict=True)]
    return {
        "stored": len(index),
        "rebuild_s": rebuild,
        "datasketch_rebuild_s": datasketch_rebuild,
        "signature_ms_median": statistics.median(sig_times) * 1000,
        "lookup_ms_median": statistics.median(lookup_times) * 1000,
        "check_ms_median": statistics.median(total) * 1000,
        "check_ms_p95": sorted(total)[int(len(total) * 0.95)] * 1000,
        "lookup_ms_p95": sorted(lookup_times)[int(len(lookup_times) * 0.95)] * 1000,
        "signature_ms_p95": sorted(sig_times)[int(len(sig_times) * 0.95)] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_SHARED_DATA)
    parser.add_argument("--sizes", default="10000,100000")
    args = parser.parse_args()
    articles = load_articles(args.data)
    print(
        f"articles: {len(articles)}; shingles of {dedup.SHINGLE_WORDS} words, {dedup.NUM_PERM} permutations"
    )
    print("\nlabelled pairs (sample / weighted by band population):")
    print("threshold  tp fp fn  precision recall   w.precision w.recall")
    for r in labelled_quality(articles, [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8]):
        mark = " <- stored" if abs(r["threshold"] - dedup.NEAR_DUP_THRESHOLD) < 1e-9 else ""
        print(
            f"{r['threshold']:>9.2f} {r['tp']:>3} {r['fp']:>2} {r['fn']:>2}"
            f"  {r['precision']:>9.2f} {r['recall']:>6.2f}"
            f"   {r['weighted_precision']:>11.2f} {r['weighted_recall']:>8.2f}{mark}"
        )
    signatures, pairs, cross, per_article = corpus_pairs(articles)
    print(f"\nsignature per article (corpus mean): {per_article * 1000:.2f} ms")
    print(
        f"near-copy pairs at threshold {dedup.NEAR_DUP_THRESHOLD}: {pairs}, of which across outlets: {cross}"
    )
    print("\ncheck of one new article (signature + LSH lookup), 500 held-out real articles:")
    for size in (int(s) for s in args.sizes.split(",")):
        r = lookup_cost(signatures, articles, size)
        print(
            f"  {r['stored']:>7} stored: check median {r['check_ms_median']:.2f} ms"
            f" (signature {r['signature_ms_median']:.2f},"
            f" lookup {r['lookup_ms_median']:.3f}), p95 {r['check_ms_p95']:.2f} ms"
            f" (signature {r['signature_ms_p95']:.2f}, lookup {r['lookup_ms_p95']:.3f});"
            f" rebuild from bytes {r['rebuild_s']:.2f} s"
            f" (datasketch MinHashLSH: {r['datasketch_rebuild_s']:.1f} s)"
        )


if __name__ == "__main__":
    main()
