"""Claim search: a fact-checker pastes a claim and gets the closest stored claims and narratives.

Two rankings are fused: vector similarity (cosine of claim embeddings, exact, over an in-memory matrix cached per
store) and full-text relevance (SQLite FTS5 BM25 over claim text), by weighted reciprocal-rank fusion. On the
CheckThat! 2020 claim-matching dev set (``tracker eval match``) vectors alone give MAP@5 0.812; fusing BM25 at
weight 0.3 with k=20 gives 0.830, and heavier text weights do worse.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import numpy as np

from tracker.embed import Embedder, get_embedder
from tracker.store import Store
from tracker.store import narratives as store_narratives
from tracker.store import search as store_search
from tracker.store import vectors as store_vectors

RRF_K = 20
VECTOR_WEIGHT = 1.0
TEXT_WEIGHT = 0.3
POOL = 100


@dataclass(frozen=True)
class SearchHit:
    """One matching claim with its provenance and, if clustered, its narrative and verdict."""

    claim_id: int
    text: str
    score: float
    similarity: float
    article_id: int
    title: str | None
    source: str | None
    published: str | None
    url: str | None
    narrative_id: int | None
    narrative_label: str | None
    verdict: str | None


@dataclass(frozen=True)
class NarrativeHit:
    narrative_id: int
    label: str | None
    score: float
    size: int
    verdict: str | None


class _VectorCache:
    """Claim ids and vectors of one store and model, reloaded when claims or embeddings change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[tuple[object, ...], np.ndarray, np.ndarray]] = {}

    def get(self, store: Store, model: str) -> tuple[np.ndarray, np.ndarray]:
        version = store_search.vectors_version(store.db, model)
        key = (store.path if not store.memory else f"memory:{id(store)}", model)
        with self._lock:
            cached = self._entries.get(key)
            if cached and cached[0] == version:
                return cached[1], cached[2]
            ids, vectors = store_vectors.claim_vectors(store.db, model)
            self._entries[key] = (version, ids, vectors)
            return ids, vectors


_cache = _VectorCache()
_FTS_TOKEN = re.compile(r"\w+", re.UNICODE)


def fts_query(text: str) -> str | None:
    """An FTS5 query matching any word of ``text`` (words quoted, so no FTS syntax leaks in)."""
    words = [w for w in _FTS_TOKEN.findall(text.lower()) if len(w) > 2]
    if not words:
        return None
    return " OR ".join(f'"{w}"' for w in dict.fromkeys(words))


def rank_claims(store: Store, query: str, embedder: Embedder, *, pool: int = POOL,
                vector_weight: float = VECTOR_WEIGHT, text_weight: float = TEXT_WEIGHT,
                query_vector: np.ndarray | None = None) -> list[tuple[int, float, float]]:
    """Claim ids ranked for ``query``: ``(claim_id, fused score, cosine similarity)``, best first.

    ``query_vector`` may be given when the caller embedded many queries in one batch.
    """
    ids, vectors = _cache.get(store, embedder.name)
    fused: dict[int, float] = {}
    cosine: dict[int, float] = {}
    if len(ids):
        q = embedder.encode([query])[0] if query_vector is None else query_vector
        sims = vectors @ q
        top = np.argsort(-sims)[:pool]
        for rank, i in enumerate(top):
            claim_id = int(ids[i])
            cosine[claim_id] = float(sims[i])
            fused[claim_id] = fused.get(claim_id, 0.0) + vector_weight / (RRF_K + rank + 1)
    match = fts_query(query)
    if match and text_weight > 0:
        for rank, claim_id in enumerate(store_search.fulltext(store.db, match, pool)):
            fused[claim_id] = fused.get(claim_id, 0.0) + text_weight / (RRF_K + rank + 1)
    ordered = sorted(fused.items(), key=lambda kv: (-kv[1], -cosine.get(kv[0], -1.0)))
    return [(claim_id, score, cosine.get(claim_id, float("nan"))) for claim_id, score in ordered]


def search(store: Store, query: str, k: int = 10, embedder: Embedder | None = None) -> list[
    SearchHit
]:
    """The ``k`` stored claims closest to ``query``, with provenance, narrative and verdict."""
    from tracker import settings

    embedder = embedder or get_embedder(settings.get("embedding_model"))
    ranked = rank_claims(store, query, embedder)[:k]
    if not ranked:
        return []
    by_id = {r[0]: r for r in ranked}
    rows = store_search.hit_details(store.db, list(by_id))
    hits = [SearchHit(claim_id=r[0], text=r[1], score=round(by_id[r[0]][1], 6),
                      similarity=round(by_id[r[0]][2], 4), article_id=r[2], title=r[3], source=r[4],
                      published=r[5], url=r[6], narrative_id=r[7], narrative_label=r[8], verdict=r[9])
            for r in rows]
    return sorted(hits, key=lambda h: -h.score)


def search_narratives(store: Store, query: str, k: int = 5, embedder: Embedder | None = None) -> list[NarrativeHit]:
    """Active narratives whose centroid (computed with the same model) is closest to ``query``."""
    from tracker import settings

    embedder = embedder or get_embedder(settings.get("embedding_model"))
    rows, centroids = store_narratives.centroids(store.db, embedder.name)
    if not rows or centroids.shape[1] != embedder.dim:
        return []
    sims = centroids @ embedder.encode([query])[0]
    order = np.argsort(-sims)[:k]
    return [NarrativeHit(narrative_id=rows[i][0], label=rows[i][1], score=round(float(sims[i]), 4),
                         size=rows[i][2], verdict=rows[i][3]) for i in order]
