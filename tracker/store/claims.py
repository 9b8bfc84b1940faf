"""Claims: inserting extracted claims, and the set-wise reads of the claim, embedding and scoring stages."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlite_utils

from tracker.records import Claim
from tracker.store.base import content_hash, get_meta, set_meta
from tracker.store.vectors import chunks, marks, stored_hashes

LAST_ARTICLE_KEY = "claims.last_article_id"


def last_article(db: sqlite_utils.Database) -> int:
    """The highest article id the claims stage has processed."""
    return int(get_meta(db, LAST_ARTICLE_KEY, 0) or 0)


def insert(db: sqlite_utils.Database, claims: Sequence[Claim], *, extractor: str, last_article_id: int) -> None:
    """Store claims and move the claims stage's watermark (inside the caller's transaction)."""
    db.conn.executemany(
        "INSERT OR IGNORE INTO claims(article_id, idx, start, end, text, text_hash, claimant, attribution, "
        "checkworthy, extractor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(c.article_id, c.idx, c.start, c.end, c.text, content_hash(c.text), c.claimant, c.attribution,
          None if c.checkworthy is None else round(c.checkworthy, 4), extractor) for c in claims])
    set_meta(db, LAST_ARTICLE_KEY, last_article_id)


def insert_whole(db: sqlite_utils.Database, article_id: int, idx: int, text: str) -> int:
    """Store ``text`` as one claim that is the whole article (records that are themselves one claim)."""
    cursor = db.execute(
        "INSERT INTO claims(article_id, idx, start, end, text, text_hash, claimant, attribution, checkworthy, "
        "extractor) VALUES (?, ?, 0, ?, ?, ?, 'the outlet', 'assert', NULL, 'whole-text')",
        [article_id, idx, len(text), text, content_hash(text)])
    return int(cursor.lastrowid)


def embedded_upto(db: sqlite_utils.Database, model: str) -> int:
    """The highest claim id whose text the embed stage has seen for ``model`` (every claim up to it has a vector)."""
    return int(get_meta(db, f"embed.{model}.last_claim_id", 0) or 0)


def unembedded(db: sqlite_utils.Database, model: str) -> tuple[list[tuple[str, str]], int]:
    """``(text hash, text)`` of each distinct text of the claims past the embed stage's watermark that has no
    vector for ``model`` (oldest claims first), then of each title of those claims that has a title (view
    ``claim_titles``: claims that are their record's whole text), and the watermark to set once all are embedded."""
    after = embedded_upto(db, model)
    top = int(db.execute("SELECT coalesce(max(id), 0) FROM claims").fetchone()[0])
    rows = db.execute(
        "SELECT text_hash, min(text) FROM claims WHERE id > ? AND text_hash NOT IN "
        "(SELECT content_hash FROM embeddings WHERE model = ?) GROUP BY text_hash ORDER BY min(id)", [after, model],
    ).fetchall()
    titles: dict[str, str] = {}
    for (title,) in db.execute("SELECT title FROM claim_titles WHERE claim_id > ? ORDER BY claim_id", [after]):
        titles.setdefault(content_hash(title), title)
    queued = {h for h, _ in rows}
    new = [h for h in titles if h not in queued]
    stored = stored_hashes(db, model, new)
    return rows + [(h, titles[h]) for h in new if h not in stored], top


def set_embedded_upto(db: sqlite_utils.Database, model: str, claim_id: int) -> None:
    set_meta(db, f"embed.{model}.last_claim_id", int(claim_id))


def unscored(db: sqlite_utils.Database, limit: int | None = None) -> list[tuple[int, str, int]]:
    """``(claim id, text, article id)`` of claims with no check-worthiness score yet, article by article, each
    article's claims in reading order."""
    # through idx_claims_unscored (the few unscored claims), not a walk of every claim in article order
    sql = ("SELECT id, text, article_id FROM claims WHERE id IN (SELECT id FROM claims WHERE checkworthy IS NULL) "
           "ORDER BY article_id, idx")
    return db.execute(sql + (" LIMIT ?" if limit else ""), [limit] if limit else []).fetchall()


def set_checkworthy(db: sqlite_utils.Database, scores: Iterable[tuple[int, float]]) -> None:
    rows = [(round(float(s), 4), int(c)) for c, s in scores]
    db.conn.executemany("UPDATE claims SET checkworthy = ? WHERE id = ?", rows)
    for chunk in chunks([c for _, c in rows]):  # a narrative whose member was scored after joining: its mean and
        db.execute(  # count of scored members are counted again from all members at its next change
            f"UPDATE narratives SET scored = NULL WHERE id IN (SELECT narrative_id FROM narrative_claims "
            f"WHERE claim_id IN ({marks(chunk)}))", chunk)


def texts(db: sqlite_utils.Database, claim_ids: Iterable[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for chunk in chunks(sorted({int(c) for c in claim_ids})):
        out.update(db.execute(f"SELECT id, text FROM claims WHERE id IN ({marks(chunk)})", chunk).fetchall())
    return out


def get(db: sqlite_utils.Database, claim_id: int) -> dict[str, Any] | None:
    cursor = db.execute("SELECT * FROM claims WHERE id = ?", [claim_id])
    row = cursor.fetchone()
    return None if row is None else dict(zip([d[0] for d in cursor.description], row, strict=True))
