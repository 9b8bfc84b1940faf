"""Claim search: a fact-checker pastes a claim (or a tweet) and gets the closest stored claims and narratives.

``tracker search``, the dashboard's Search page and ``tracker eval match`` all rank with :func:`rank_claims`:

1. **Clean the query** (:func:`clean_query`): links and ``pic.twitter.com`` images out, ``@handles`` and
   ``#HashTags`` read as words ("@RealDonaldTrump" -> "Real Donald Trump"), and the signature of an embedded tweet
   ("— Ilhan Omar (@IlhanMN) January 6, 2020") reduced to the author's name, who is often the claim's subject.
2. **Two candidate pools**: the ``POOL`` claims with the best embedding score and the ``POOL`` best full-text
   matches.
3. **Embedding score**: the mean of cos(query as written, claim), cos(cleaned query, claim) and, for a claim that is
   its record's whole text and has a title (a fact-check's headline), cos(cleaned query, title). The raw view
   keeps what cleaning may have removed; the title is a second wording of the same claim.
4. **Text score**: SQLite FTS5 BM25 over ``claims_search`` (Porter-stemmed words of the claim and of that title) for
   the cleaned query's words without English stop words (:func:`fts_query`), divided by the best BM25 of this
   query; 0 for a claim outside the full-text pool.
5. **Score fusion**: ``(1 - w) * embedding + w * text``, ``w`` = the ``search_text_weight`` setting (0.15). A word
   match moves a claim only as far as its cosine margin allows; reciprocal-rank fusion, used before, swapped
   claims whatever their cosine gap and broke queries that cosine alone had right.

On the CheckThat! 2020 claim-matching dev set (``tracker eval match``, MAP@5) cosine alone gives 0.813 and the
earlier reciprocal-rank fusion 0.830; this ranking gives 0.88 (0.87 on a corpus without titles).
"""

from __future__ import annotations

import html
import re
import threading
from dataclasses import dataclass
from functools import cache

import numpy as np

from tracker.embed import Embedder, get_embedder
from tracker.store import Store
from tracker.store import narratives as store_narratives
from tracker.store import search as store_search
from tracker.store import vectors as store_vectors

POOL = 100  # candidates taken from each ranking (embedding, full text)


@dataclass(frozen=True)
class SearchHit:
    """One matching claim with its provenance and, if clustered, its narrative and verdict.

    ``score`` is the fused ranking score; ``similarity`` the cosine of the query as written and the claim text.
    """

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


# --- the query ---------------------------------------------------------------------------------------------------

_URL = re.compile(r"(?:https?://|www\.)\S+|pic\.twitter\.com/\S+|\bt\.co/\S+", re.IGNORECASE)
# the signature an embedded tweet ends with: "— Name (@handle) January 6, 2020"
_SIGNATURE = re.compile(r"\s*(?:[—–]|\s-{1,2})\s*([^—–\n]{0,80}?)\s*\(@\w+\)\s*"
                        r"(?:[A-Z][a-z]+\.? \d{1,2}, \d{2,4})?\W*$")
_HANDLE = re.compile(r"(?<!\w)\.?@(\w+)")
_HASHTAG = re.compile(r"#(\w+)")
_WORD_BREAK = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")
_SPACES = re.compile(r"\s+")
_FTS_TOKEN = re.compile(r"\w+", re.UNICODE)


def split_words(token: str) -> str:
    """'RealDonaldTrump' -> 'Real Donald Trump', 'Iran2020' -> 'Iran 2020', 'fire_the_fool' -> 'fire the fool'."""
    return _WORD_BREAK.sub(" ", token.replace("_", " "))


def _undo_csv_quotes(text: str) -> str:
    """Text quoted for CSV twice ('"A ""quoted"" word"') as it was written ('A "quoted" word'); other text as is."""
    if '""' not in text:
        return text
    stripped = text.strip()
    if len(stripped) > 1 and stripped[0] == stripped[-1] == '"':
        stripped = stripped[1:-1]
    return stripped.replace('""', '"')


def clean_query(text: str) -> str:
    """The query as matched by words and as the second embedding view: HTML entities and CSV quotes undone, links
    removed, handles and hashtags split into words, a trailing tweet signature reduced to the author's name.
    Ordinary sentences pass through unchanged."""
    cleaned = _undo_csv_quotes(html.unescape(text))
    signature = _SIGNATURE.search(cleaned)
    if signature:
        name = signature.group(1).strip()
        cleaned = cleaned[:signature.start()].rstrip() + (" — " + name if name else "")
    cleaned = _URL.sub(" ", cleaned)
    cleaned = _HANDLE.sub(lambda m: split_words(m.group(1)), cleaned)
    cleaned = _HASHTAG.sub(lambda m: split_words(m.group(1)), cleaned)
    return _SPACES.sub(" ", cleaned).strip() or text.strip()


@cache
def stop_words() -> frozenset[str]:
    """English stop words left out of full-text queries (scikit-learn's list, with which the ranking was tuned)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


def fts_query(text: str) -> str | None:
    """An FTS5 query matching any content word of ``text``: words of three or more characters that are not stop
    words, each quoted (so no FTS syntax leaks in), OR-ed; None when no word is left. A word with ``_`` would be an
    FTS5 phrase that practically never matches (:func:`clean_query` has split handles), so it is left out."""
    stop = stop_words()
    words = [w for w in _FTS_TOKEN.findall(text.lower()) if len(w) > 2 and w not in stop and "_" not in w]
    if not words:
        return None
    return " OR ".join(f'"{w}"' for w in dict.fromkeys(words))


def embed_queries(embedder: Embedder, queries: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The vectors of ``queries`` as written and of their :func:`clean_query` forms, in one embedder call."""
    cleaned = [clean_query(q) for q in queries]
    texts = list(dict.fromkeys([*queries, *cleaned]))
    vectors = np.asarray(embedder.encode(texts), dtype=np.float32)
    row = {t: i for i, t in enumerate(texts)}
    return vectors[[row[q] for q in queries]], vectors[[row[c] for c in cleaned]]


# --- the claims --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClaimVectors:
    """The claim vectors of one store and model: text vectors by claim id, and the title vectors of the claims that
    have a title (``title_rows``: their positions in ``ids``)."""

    ids: np.ndarray
    texts: np.ndarray
    title_rows: np.ndarray
    titles: np.ndarray

    def dense_scores(self, raw: np.ndarray, clean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per claim: the embedding score (mean of the query views' cosines, see the module docstring) and the
        cosine of the query as written and the claim text."""
        similarity = self.texts @ raw
        total = similarity + self.texts @ clean
        count = np.full(len(self.ids), 2.0, dtype=np.float32)
        if len(self.title_rows):
            total[self.title_rows] += self.titles @ clean
            count[self.title_rows] += 1.0
        return total / count, similarity


class _VectorCache:
    """Claim vectors of each store and model, reloaded when claims or embeddings change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[tuple[object, ...], ClaimVectors]] = {}

    def get(self, store: Store, model: str) -> ClaimVectors:
        version = store_search.vectors_version(store.db, model)
        key = (store.path if not store.memory else f"memory:{id(store)}", model)
        with self._lock:
            cached = self._entries.get(key)
            if cached and cached[0] == version:
                return cached[1]
            ids, texts = store_vectors.claim_vectors(store.db, model)
            title_ids, titles = store_vectors.claim_title_vectors(store.db, model)
            keep = np.isin(title_ids, ids)  # a title counts only beside its claim's own vector
            claim_vectors = ClaimVectors(ids=ids, texts=texts, title_rows=np.searchsorted(ids, title_ids[keep]),
                                         titles=titles[keep] if keep.any() else np.zeros((0, 0), np.float32))
            self._entries[key] = (version, claim_vectors)
            return claim_vectors


_cache = _VectorCache()


# --- ranking -----------------------------------------------------------------------------------------------------

def fuse(dense: dict[int, float], relevance: dict[int, float], text_weight: float) -> dict[int, float]:
    """Score fusion of the candidates: ``(1 - text_weight) * dense + text_weight * relevance / best relevance``;
    a claim missing from ``relevance`` (outside the full-text pool) has text score 0, one missing from ``dense``
    (no vector yet) embedding score 0."""
    best = max(relevance.values(), default=0.0)
    scale = text_weight / best if best > 0 else 0.0
    return {c: (1.0 - text_weight) * dense.get(c, 0.0) + scale * relevance.get(c, 0.0)
            for c in dict.fromkeys([*dense, *relevance])}


def rank_claims(store: Store, query: str, embedder: Embedder, *, pool: int = POOL, text_weight: float | None = None,
                query_vectors: tuple[np.ndarray, np.ndarray] | None = None) -> list[tuple[int, float, float]]:
    """Claim ids ranked for ``query``: ``(claim_id, fused score, cosine similarity)``, best first.

    Args:
        store: the store to search.
        query: the text pasted (a claim, a tweet).
        embedder: the model whose stored vectors are searched.
        pool: candidates taken from each of the embedding and full-text rankings.
        text_weight: share of the text score (default: the ``search_text_weight`` setting; 0 = embeddings only,
            1 = full text only).
        query_vectors: ``(as written, cleaned)`` query vectors from :func:`embed_queries`, when the caller embedded
            many queries in one batch.
    """
    from tracker import settings

    weight = float(settings.get("search_text_weight") if text_weight is None else text_weight)
    claims = _cache.get(store, embedder.name)
    scores = similarity = np.zeros(0, dtype=np.float32)
    rows: dict[int, int] = {}  # candidate claim id -> its row in ``claims`` (claims with a vector)
    if len(claims.ids):
        raw, clean = embed_queries(embedder, [query]) if query_vectors is None else query_vectors
        scores, similarity = claims.dense_scores(np.ravel(raw), np.ravel(clean))
        top = np.argpartition(-scores, min(pool, len(scores)) - 1)[:pool]
        rows = {int(claims.ids[i]): int(i) for i in top}
    relevance: dict[int, float] = {}
    match = fts_query(clean_query(query))
    if match and weight > 0.0:
        relevance = dict(store_search.fulltext(store.db, match, pool))
        for claim_id, i in zip(relevance, np.searchsorted(claims.ids, list(relevance))):
            if i < len(claims.ids) and claims.ids[i] == claim_id:
                rows.setdefault(claim_id, int(i))
    dense = {c: float(scores[i]) for c, i in rows.items()}
    cosine = {c: float(similarity[i]) for c, i in rows.items()}
    fused = fuse(dense, relevance, weight)
    ordered = sorted(fused.items(), key=lambda kv: (-kv[1], -cosine.get(kv[0], -1.0), kv[0]))
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
