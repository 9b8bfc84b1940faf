"""Embeddings: float32 vectors keyed by content hash and model name (a text is embedded once per model)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import sqlite_utils

from tracker.store.base import blob_to_vector, blobs_to_matrix, content_hash, vector_to_blob

CHUNK = 500  # values bound per IN (...) list


def chunks(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def marks(values: Sequence[Any]) -> str:
    """``?,?,...`` for an IN list of ``values`` (``NULL`` when empty, so the SQL stays valid)."""
    return ",".join("?" * len(values)) or "NULL"


def stored_hashes(db: sqlite_utils.Database, model: str, hashes: Sequence[str]) -> set[str]:
    """The subset of ``hashes`` that already have an embedding for ``model``."""
    found: set[str] = set()
    for chunk in chunks(list(hashes)):
        found.update(r[0] for r in db.execute(
            f"SELECT content_hash FROM embeddings WHERE model = ? AND content_hash IN ({marks(chunk)})",
            [model, *chunk]))
    return found


def save(db: sqlite_utils.Database, model: str, hashes: Sequence[str], vectors: np.ndarray) -> None:
    """Store vectors (the caller holds the transaction); a hash already stored for ``model`` is left alone."""
    db.conn.executemany(
        "INSERT OR IGNORE INTO embeddings(content_hash, model, dim, vector) VALUES (?, ?, ?, ?)",
        [(h, model, int(v.shape[0]), vector_to_blob(v)) for h, v in zip(hashes, vectors)],
    )


def load(db: sqlite_utils.Database, model: str, hashes: Iterable[str]) -> dict[str, np.ndarray]:
    """Vectors of ``model`` for the hashes that have one."""
    out: dict[str, np.ndarray] = {}
    for chunk in chunks(list(dict.fromkeys(hashes))):
        for h, dim, blob in db.execute("SELECT content_hash, dim, vector FROM embeddings WHERE model = ? "
                                       f"AND content_hash IN ({marks(chunk)})", [model, *chunk]):
            out[h] = blob_to_vector(blob, dim)
    return out


def claim_vectors(db: sqlite_utils.Database, model: str, claim_ids: Sequence[int] | None = None) -> tuple[
    np.ndarray, np.ndarray
]:
    """Claim ids and their vectors for ``model`` (all embedded claims, or those in ``claim_ids``), by claim id."""
    sql = ("SELECT c.id, e.dim, e.vector FROM claims c JOIN embeddings e "
           "ON e.content_hash = c.text_hash AND e.model = ?")
    rows: list[tuple[int, int, bytes]] = []
    if claim_ids is not None:
        for chunk in chunks(sorted({int(c) for c in claim_ids})):
            rows += db.execute(sql + f" WHERE c.id IN ({marks(chunk)}) ORDER BY c.id", [model, *chunk]).fetchall()
    else:
        rows = db.execute(sql + " ORDER BY c.id", [model]).fetchall()
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    matrix = blobs_to_matrix([r[2] for r in rows], int(rows[0][1]))
    return np.asarray([r[0] for r in rows], dtype=np.int64), matrix


def claim_title_vectors(db: sqlite_utils.Database, model: str) -> tuple[np.ndarray, np.ndarray]:
    """Ids of the claims with a title (view ``claim_titles``: claims that are their record's whole text) whose title
    has a vector for ``model``, and those vectors, by claim id."""
    rows = db.execute("SELECT claim_id, title FROM claim_titles ORDER BY claim_id").fetchall()
    hashes = [content_hash(title) for _, title in rows]
    found = load(db, model, hashes)
    kept = [(claim_id, found[h]) for (claim_id, _), h in zip(rows, hashes) if h in found]
    if not kept:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    return (np.asarray([k[0] for k in kept], dtype=np.int64),
            np.stack([k[1] for k in kept]).astype(np.float32, copy=False))


def count(db: sqlite_utils.Database, model: str) -> int:
    """How many vectors ``model`` has in the store."""
    return int(db.execute("SELECT count(*) FROM embeddings WHERE model = ?", [model]).fetchone()[0])
