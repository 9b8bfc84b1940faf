"""Articles and outlets: storing an article with its near-duplicate link, and reading articles back."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from urllib.parse import urlparse

import sqlite_utils

from tracker.records import Article
from tracker.store.base import content_hash, now, source_id

CANDIDATES = 50  # articles sharing a MinHash band that are compared in full


def article_hash(article: Article) -> str:
    """What makes an article an exact duplicate: the same outlet and the same normalised text."""
    return content_hash((article.source or "") + "\x00" + article.text)


def store_article(db: sqlite_utils.Database, article: Article, *, band_keys: Sequence[str],
                  similarity: Callable[[str], float], threshold: float) -> tuple[str, int]:
    """Store one article (inside the caller's transaction).

    Args:
        article: the article.
        band_keys: its MinHash LSH band keys (candidates for near-duplicates share one).
        similarity: estimated similarity of the article to a stored article's text.
        threshold: similarity from which the article is linked to the earlier copy as a near-duplicate.

    Returns:
        ``("duplicate", existing_id)`` when the same outlet already has this exact text (nothing changes),
        ``("near-duplicate", id)`` when stored and linked to an earlier near-identical copy, else ``("new", id)``.
    """
    digest = article_hash(article)
    row = db.execute("SELECT id FROM articles WHERE content_hash = ?", [digest]).fetchone()
    if row is not None:
        return "duplicate", int(row[0])
    domain = urlparse(article.url).hostname if article.url else None
    outlet = source_id(db, article.source, domain=domain, country=article.source_country)
    duplicate_of, best = None, None
    if threshold <= 1.0 and band_keys:
        marks = ",".join("?" * len(band_keys))
        for text, root in db.execute(
                f"SELECT a.text, coalesce(a.duplicate_of, a.id) FROM articles a WHERE a.id IN ("
                f"SELECT DISTINCT article_id FROM article_lsh WHERE band IN ({marks}) ORDER BY article_id LIMIT ?) "
                f"ORDER BY a.id", [*band_keys, CANDIDATES]).fetchall():
            score = similarity(text)
            if score >= threshold and (best is None or score > best):
                duplicate_of, best = int(root), round(score, 4)
    cursor = db.execute(
        "INSERT INTO articles(source_id, url, title, published, language, author, text, content_hash, "
        "duplicate_of, duplicate_similarity, external_id, origin, ingested_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [outlet, article.url, article.title, article.published, article.language, article.author,
         article.text, digest, duplicate_of, best, article.external_id, article.origin, now()],
    )
    article_id = int(cursor.lastrowid)
    db.conn.executemany("INSERT INTO article_lsh(band, article_id) VALUES (?, ?)",
                        [(k, article_id) for k in band_keys])
    return ("near-duplicate" if duplicate_of else "new"), article_id


def text(db: sqlite_utils.Database, article_id: int) -> str | None:
    row = db.execute("SELECT text FROM articles WHERE id = ?", [article_id]).fetchone()
    return None if row is None else row[0]


def after(db: sqlite_utils.Database, last_id: int, limit: int) -> list[tuple[int, str, str | None, str | None]]:
    """``(id, text, language, title)`` of up to ``limit`` articles with an id above ``last_id``, in id order."""
    return db.execute("SELECT id, text, language, title FROM articles WHERE id > ? ORDER BY id LIMIT ?",
                      [last_id, limit]).fetchall()
