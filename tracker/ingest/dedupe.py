"""Near-duplicate detection with MinHash over word shingles, and LSH bands to find candidates in the store.

Syndicated wire stories reappear with small edits (a new headline, a trimmed paragraph). Such copies are linked to
the first stored copy with ``articles.duplicate_of`` rather than dropped, so attention can be counted both ways.
"""

from __future__ import annotations

import re
import zlib

import numpy as np

NUM_PERM = 64
BANDS = 16
ROWS = NUM_PERM // BANDS
SHINGLE = 3
_PRIME = np.uint64((1 << 61) - 1)
_rng = np.random.default_rng(20240222)
_A = _rng.integers(1, (1 << 61) - 1, size=NUM_PERM, dtype=np.uint64)
_B = _rng.integers(0, (1 << 61) - 1, size=NUM_PERM, dtype=np.uint64)
_WORD = re.compile(r"\w+", re.UNICODE)


def shingles(text: str) -> set[str]:
    """Word 3-shingles of the lower-cased text; character 4-grams for scripts written without spaces."""
    words = _WORD.findall(text.lower())
    if len(words) < 0.05 * max(len(text), 1):  # e.g. Chinese: few "words", long runs of characters
        compact = "".join(words)
        return {compact[i : i + 4] for i in range(max(len(compact) - 3, 1))}
    if len(words) < SHINGLE:
        return {" ".join(words)}
    return {" ".join(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def signature(shingle_set: set[str]) -> np.ndarray:
    """MinHash signature (NUM_PERM uint64 values) of a shingle set."""
    hashes = np.fromiter((zlib.crc32(s.encode("utf-8")) for s in shingle_set), dtype=np.uint64,
                         count=len(shingle_set))
    if hashes.size == 0:
        return np.zeros(NUM_PERM, dtype=np.uint64)
    # a * x + b wraps modulo 2^64 before the reduction; the result is still a good random hash per row.
    with np.errstate(over="ignore"):
        values = (_A[:, None] * hashes[None, :] + _B[:, None]) % _PRIME
    return values.min(axis=1)


def band_keys(sig: np.ndarray) -> list[str]:
    """One key per LSH band; articles sharing a key are near-duplicate candidates."""
    return [
        f"{band}:{zlib.crc32(sig[band * ROWS:(band + 1) * ROWS].tobytes()):08x}" for band in range(BANDS)
    ]
