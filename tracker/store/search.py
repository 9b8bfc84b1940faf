"""What claim search reads: a version stamp of the claim vectors, full-text matches, and hit details."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlite_utils

from tracker.store.vectors import marks


def vectors_version(db: sqlite_utils.Database, model: str) -> tuple[Any, ...]:
    """Changes whenever claims or ``model``'s vectors are added (so a cached matrix is reloaded)."""
    return tuple(db.execute("SELECT (SELECT max(id) FROM claims), (SELECT count(*) FROM embeddings WHERE model = ?)",
                            [model]).fetchone())


def fulltext(db: sqlite_utils.Database, match: str, limit: int) -> list[tuple[int, float]]:
    """``(claim id, BM25 relevance)`` of the claims matching an FTS5 query in claim search's index (stemmed text,
    and the title of whole-record claims), best first; relevance is positive, higher = better."""
    return [(int(r[0]), -float(r[1])) for r in db.execute(
        "SELECT rowid, bm25(claims_search) FROM claims_search WHERE claims_search MATCH ? "
        "ORDER BY bm25(claims_search) LIMIT ?", [match, limit])]


def hit_details(db: sqlite_utils.Database, claim_ids: Sequence[int]) -> list[tuple[Any, ...]]:
    """``(claim id, text, article id, title, outlet, published, url, narrative id, narrative label, verdict)``."""
    ids = list(claim_ids)
    return db.execute(
        f"""SELECT c.id, c.text, a.id, a.title, s.name, a.published, a.url, n.id, n.label, n.verdict
            FROM claims c JOIN articles a ON a.id = c.article_id LEFT JOIN sources s ON s.id = a.source_id
            LEFT JOIN narrative_claims nc ON nc.claim_id = c.id
            LEFT JOIN narratives n ON n.id = nc.narrative_id
            WHERE c.id IN ({marks(ids)})""", ids).fetchall()
