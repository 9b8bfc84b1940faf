"""Incremental clustering of claims into narratives.

The clusterer is an online *average-linkage* clusterer. Every cluster is stored as the sum of its members' feature
vectors and a member count, which is all average linkage needs: for L2-normalised features, the mean cosine between
an item ``z`` and the members of cluster ``c`` is ``z @ sums[c] / counts[c]``, and the mean cosine between the
members of two clusters is ``sums[a] @ sums[b] / (counts[a] * counts[b])``. Nothing per member is kept, so the
state is ``O(k * d)``.

``partial_fit`` assigns each new row, in order, to the cluster with the highest average similarity if that reaches
``threshold``, otherwise the row founds a new cluster of size one. Then clusters touched by the batch are merged
with any cluster whose cluster-to-cluster average similarity reaches ``merge_threshold`` (the older id survives;
the absorbed id forwards to it through ``parent_``). Clusters smaller than ``min_cluster_size`` are reported as
noise (label ``-1``), but they keep their id, so a later matching claim turns a noise claim into a real cluster.

Optionally the texts add lexical features: TF-IDF of character n-grams (document frequencies kept incrementally),
hashed to ``lexical_dim`` signed buckets, concatenated with the embedding so the similarity is
``(1 - w) * cosine(embedding) + w * cosine(tfidf)`` (up to hashing noise).

The state is split in two blocks of rows per cluster: the embedding block (``sums_``, in memory: every candidate
search needs all of it) and the lexical block (``lexical_``, a :class:`RowTable`). A :meth:`fit` keeps both in
memory; a clusterer continued from a store (:meth:`from_state` with a ``load_lexical`` function) reads only the
lexical rows of the clusters it scores and writes back only the rows it changed (:meth:`changes`), so an update of
a store with a million claims costs memory for the embedding block alone and I/O in proportion to the new claims.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

_TWEET_TRAILER = re.compile(r"\s*[—–-]\s*[^—–]{0,80}\(@\w+\)\s*\w+\s+\d{1,2},\s*\d{4}\s*$")
_URL = re.compile(r"(https?://\S+|pic\.twitter\.com/\S+|www\.\S+)")
_DF_FEATURES = 2**18
_LEXICAL_CHUNK = 8192  # texts turned into n-gram features at a time


def clean_text(text: str) -> str:
    """Lower-case a claim and drop URLs and a trailing tweet attribution ("— Name (@handle) Month d, yyyy")."""
    return _URL.sub(" ", _TWEET_TRAILER.sub(" ", text)).lower()


def _extend(owner: object, buffer_name: str, rows: np.ndarray, extra: int) -> np.ndarray:
    """``rows`` with ``extra`` zero rows appended, as a view of a buffer on ``owner`` that doubles when full."""
    buffer = getattr(owner, buffer_name, None)
    k, need = len(rows), len(rows) + extra
    if buffer is None or rows.base is not buffer or len(buffer) < need:
        buffer = np.zeros((max(need, 2 * k, 1024), rows.shape[1]), rows.dtype)
        buffer[:k] = rows
        setattr(owner, buffer_name, buffer)
    else:
        buffer[k:need] = 0
    return buffer[:need]


def _dots(A: np.ndarray, B: np.ndarray, top: np.ndarray, max_floats: float = 2e7) -> np.ndarray:
    """``out[i, j] = A[i] @ B[top[i, j]]``, in row blocks small enough to bound the temporary memory."""
    out = np.empty(top.shape, np.float32)
    step = max(1, int(max_floats // max(1, top.shape[1] * A.shape[1])))
    for start in range(0, len(A), step):
        block = slice(start, start + step)
        out[block] = np.einsum("id,ijd->ij", A[block], B[top[block]])
    return out


def _l2(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (rows / norms).astype(np.float32)


class RowTable:
    """Rows of a ``(k, dim)`` float32 matrix, by cluster id: all in memory (``load=None``), or read on first use
    with ``load(ids) -> (len(ids), dim)`` for ids below ``stored`` (ids at or above it are new: zero rows).

    ``dirty`` holds the ids whose rows changed, for writing back.
    """

    def __init__(self, dim: int, *, load: Any = None, stored: int = 0) -> None:
        self.dim = dim
        self.load = load
        self.stored = stored
        self.k = stored
        self.dense: np.ndarray | None = np.zeros((0, dim), np.float32) if load is None else None
        self.rows: dict[int, np.ndarray] = {}
        self.dirty: set[int] = set()

    def grow(self, extra: int) -> None:
        if self.dense is not None:
            self.dense = _extend(self, "_buffer", self.dense, extra)
        self.k += extra

    def _fetch(self, ids: np.ndarray) -> None:
        missing = [int(i) for i in np.unique(ids) if int(i) not in self.rows]
        old = [i for i in missing if i < self.stored]
        for i in missing:
            if i >= self.stored:
                self.rows[i] = np.zeros(self.dim, np.float32)
        if old:
            for i, row in zip(old, np.asarray(self.load(old), dtype=np.float32), strict=True):
                self.rows[i] = row.copy()

    def take(self, ids: np.ndarray) -> np.ndarray:
        """``(len(ids), dim)`` rows for ``ids`` (a copy)."""
        ids = np.asarray(ids, np.int64)
        if self.dense is not None:
            return self.dense[ids]
        self._fetch(ids)
        return np.stack([self.rows[int(i)] for i in ids]) if len(ids) else np.zeros((0, self.dim), np.float32)

    def add(self, ids: np.ndarray, values: np.ndarray) -> None:
        """``rows[ids] += values`` (repeated ids accumulate)."""
        ids = np.asarray(ids, np.int64)
        if self.dense is not None:
            np.add.at(self.dense, ids, values)
        else:
            self._fetch(ids)
            for i, v in zip(ids.tolist(), values, strict=True):
                self.rows[i] += v
        self.dirty.update(ids.tolist())

    def zero(self, i: int) -> None:
        if self.dense is not None:
            self.dense[i] = 0
        else:
            self.rows[int(i)] = np.zeros(self.dim, np.float32)
        self.dirty.add(int(i))


class IncrementalClusterer:
    """Online average-linkage clustering with a merge pass, persistable between runs.

    Args:
        threshold: Minimum mean similarity between a new item and a cluster's members to join it, when texts are
            given (similarity mixes embedding and lexical cosine).
        embedding_threshold: The same when the clusterer was started without texts (embedding cosine only).
        merge_threshold: Minimum mean similarity between the members of two clusters to merge them
            (``None``: the assignment threshold in use).
        lexical_weight: Weight ``w`` of the character n-gram TF-IDF cosine when texts are given (0 disables it).
        lexical_dim: Number of hashed buckets for the lexical features.
        min_cluster_size: Clusters smaller than this are reported as noise (-1).
        n_candidates: Existing clusters scored exactly per new item (found by an inner-product search over the
            cluster means' embedding block).
        chunk_size: Rows processed together; bounds the memory of the candidate search.
        refine_iter: Reassignment passes run by :meth:`fit` after the online pass.
        ivf_min_clusters: Above this many clusters the online pass finds candidates with a faiss IVF index over
            the cluster means (updated as clusters change) instead of brute force.
        n_probe: Inverted lists searched per query by the IVF index (``2 * sqrt(k)`` lists).
        random_state: Seed of the lexical hashing signs and of the IVF coarse centroids.
    """

    def __init__(self, threshold: float = 0.43, embedding_threshold: float = 0.55,
                 merge_threshold: float | None = None, lexical_weight: float = 0.3, lexical_dim: int = 1024,
                 min_cluster_size: int = 2, n_candidates: int = 10, chunk_size: int = 256, refine_iter: int = 1,
                 ivf_min_clusters: int = 20000, n_probe: int = 16, random_state: int = 0) -> None:
        self.threshold = threshold
        self.embedding_threshold = embedding_threshold
        self.merge_threshold = merge_threshold
        self.lexical_weight = lexical_weight
        self.lexical_dim = lexical_dim
        self.min_cluster_size = min_cluster_size
        self.n_candidates = n_candidates
        self.chunk_size = chunk_size
        self.refine_iter = refine_iter
        self.ivf_min_clusters = ivf_min_clusters
        self.n_probe = n_probe
        self.random_state = random_state

    # ------------------------------------------------------------------ features
    def _features(self, X: np.ndarray, texts: list[str] | None) -> tuple[np.ndarray, np.ndarray | None]:
        """The embedding block (scaled by sqrt(1 - w)) and the lexical block (scaled by sqrt(w)) of new rows."""
        X = _l2(np.asarray(X, dtype=np.float32))
        if not self.use_lexical_:
            return X, None
        if texts is not None and len(texts) != len(X):
            raise ValueError("texts and X differ in length")
        L = np.zeros((len(X), self.lexical_dim), np.float32)
        if texts is None:
            return X, L
        w = self.lexical_weight
        X *= np.float32(np.sqrt(1 - w))
        for start in range(0, len(texts), _LEXICAL_CHUNK):  # bounds the sparse n-gram matrices' memory
            L[start:start + _LEXICAL_CHUNK] = np.sqrt(w) * self._lexical(texts[start:start + _LEXICAL_CHUNK])
        return X, L

    def _lexical(self, texts: list[str]) -> np.ndarray:
        from sklearn.feature_extraction.text import HashingVectorizer

        vec = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), n_features=_DF_FEATURES,
                                alternate_sign=False, norm=None, preprocessor=clean_text)
        counts = vec.transform(list(texts)).tocsr()
        present = np.zeros(_DF_FEATURES, np.float64)
        np.add.at(present, counts.indices, 1.0)
        self.df_ += present.astype(np.float32)
        self.n_docs_ += len(texts)
        idf = np.log((1.0 + self.n_docs_) / (1.0 + self.df_)) + 1.0
        counts.data = np.log1p(counts.data) * idf[counts.indices]
        if getattr(self, "_hashing", None) is None:
            rng = np.random.default_rng(self.random_state)
            self._hashing = (rng.integers(0, self.lexical_dim, _DF_FEATURES),
                             rng.choice(np.array([-1.0, 1.0], np.float32), _DF_FEATURES))
        bucket, sign = self._hashing
        out = np.zeros((counts.shape[0], self.lexical_dim), np.float32)
        rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
        np.add.at(out, (rows, bucket[counts.indices]), counts.data * sign[counts.indices])
        return _l2(out)

    def _threshold(self) -> float:
        return self.threshold if self.use_lexical_ else self.embedding_threshold

    def _dot(self, E: np.ndarray, L: np.ndarray | None, ids: np.ndarray) -> np.ndarray:
        """``(len(E), len(ids))`` inner products of new rows (blocks ``E``, ``L``) with the sums of clusters ``ids``."""
        out = E @ self.sums_[ids].T
        if L is not None and len(ids):
            out += L @ self.lexical_.take(ids).T
        return out

    def _pair(self, a: int, b: int) -> float:
        """Inner product of the sums of clusters ``a`` and ``b``, over both blocks."""
        value = float(self.sums_[a] @ self.sums_[b])
        if self.use_lexical_:
            rows = self.lexical_.take(np.array([a, b]))
            value += float(rows[0] @ rows[1])
        return value

    # ------------------------------------------------------------------ search
    def _ivf_search(self, Q: np.ndarray, m: int) -> np.ndarray:
        """Approximate top-m over cluster means with a faiss IVF index kept in sync with the changed clusters."""
        import faiss

        k, d = self.sums_.shape
        if getattr(self, "_ivf", None) is None:
            # coarse centroids: a short spherical k-means on a sample of live cluster means
            live = np.flatnonzero(self.counts_ > 0)
            nlist = max(1, int(2 * np.sqrt(len(live))))
            rng = np.random.default_rng(self.random_state)
            sample = _l2(self.sums_[rng.choice(live, min(len(live), 20 * nlist), replace=False)])
            kmeans = faiss.Kmeans(d, nlist, niter=5, spherical=True, seed=self.random_state,
                                  min_points_per_centroid=1)
            kmeans.train(sample)
            quantizer = faiss.IndexFlatIP(d)
            quantizer.add(kmeans.centroids)
            ivf = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
            ivf.is_trained = True
            ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
            ivf.nprobe = self.n_probe
            self._ivf_keep = (ivf, quantizer)
            self._ivf, self._dirty, self._ivf_size = ivf, set(range(k)), 0
        if self._dirty or self._ivf_size != k:
            dirty = np.array(sorted(self._dirty | set(range(self._ivf_size, k))), np.int64)
            old = dirty[dirty < self._ivf_size]
            if len(old):
                self._ivf.remove_ids(faiss.IDSelectorArray(len(old), faiss.swig_ptr(old)))
            alive = dirty[self.counts_[dirty] > 0]
            for start in range(0, len(alive), 65536):  # means computed a block at a time: no full copy
                part = alive[start:start + 65536]
                means = self.sums_[part] / self.counts_[part, None].astype(np.float32)
                self._ivf.add_with_ids(np.ascontiguousarray(means, np.float32), part)
            self._dirty, self._ivf_size = set(), k
        _, top = self._ivf.search(np.ascontiguousarray(Q, np.float32), m)
        return np.where(top < 0, top[:, :1].clip(0), top).astype(np.int64)

    def _search(self, Q: np.ndarray, m: int) -> np.ndarray:
        """Ids of the ``m`` clusters with the highest embedding similarity ``Q @ mean`` per query row (brute force,
        or faiss IVF). Only the embedding block is searched: it carries most of the similarity, and the lexical
        block would make the search several times slower; candidates are then scored on all features."""
        k = len(self.counts_)
        m = min(m, k)
        if m == 0:
            return np.zeros((len(Q), 0), np.int64)
        if k > self.ivf_min_clusters:
            return self._ivf_search(Q, m)
        inverse = 1.0 / np.maximum(self.counts_, 1).astype(np.float32)
        out = np.empty((len(Q), m), np.int64)
        for start in range(0, len(Q), 1024):
            sc = (Q[start:start + 1024] @ self.sums_.T) * inverse
            out[start:start + 1024] = np.argpartition(-sc, m - 1, axis=1)[:, :m] if m < k else np.arange(k)
        return out

    def _changed(self, ids: Any) -> None:
        if getattr(self, "_ivf", None) is not None:
            self._dirty.update(int(i) for i in np.atleast_1d(ids))
        self._touched_ids.update(int(i) for i in np.atleast_1d(ids))

    # ------------------------------------------------------------------ state
    def _init_state(self, d_embed: int, with_texts: bool) -> None:
        self.use_lexical_ = bool(with_texts and self.lexical_weight > 0)
        self.d_embed_ = d_embed
        self.sums_ = np.zeros((0, d_embed), np.float32)
        self.lexical_ = RowTable(self.lexical_dim if self.use_lexical_ else 0)
        self.counts_ = np.zeros(0, np.int64)
        self.parent_ = np.zeros(0, np.int64)
        self.df_ = np.zeros(_DF_FEATURES if self.use_lexical_ else 0, np.float32)
        self.n_docs_ = 0
        self._ivf = None
        self._touched_ids: set[int] = set()

    def _grow(self, extra: int) -> None:
        """Add ``extra`` empty clusters. The (k, d) arrays are views of buffers that double when full, so adding
        clusters chunk after chunk costs amortised O(d) per cluster instead of copying every row each time."""
        k = len(self.counts_)
        self.sums_ = _extend(self, "_sums_buffer", self.sums_, extra)
        self.lexical_.grow(extra)
        self.counts_ = np.concatenate([self.counts_, np.zeros(extra, np.int64)])
        self.parent_ = np.concatenate([self.parent_, np.arange(k, k + extra)])

    @property
    def n_clusters_(self) -> int:
        """Number of live clusters (including those below ``min_cluster_size``)."""
        return int((self.counts_ > 0).sum())

    @property
    def centroids_(self) -> np.ndarray:
        """L2-normalised embedding centroids, one row per cluster id (zero rows for merged-away ids)."""
        return _l2(self.sums_)

    def get_state(self) -> dict[str, Any]:
        """The settings-level state (scalars and document frequencies); per-cluster rows come from
        :meth:`cluster_rows` (all of them) or :meth:`changes` (those this object changed)."""
        return {"df": self.df_, "n_docs": int(self.n_docs_), "use_lexical": bool(self.use_lexical_),
                "d_embed": int(self.d_embed_), "n_clusters": int(len(self.counts_))}

    def cluster_rows(self, ids: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(ids, counts, parents, embedding sums, lexical sums)`` of clusters ``ids`` (default: all)."""
        ids = np.arange(len(self.counts_)) if ids is None else np.asarray(sorted(ids), np.int64)
        lexical = self.lexical_.take(ids) if self.use_lexical_ else np.zeros((len(ids), 0), np.float32)
        return ids, self.counts_[ids], self.parent_[ids], self.sums_[ids], lexical

    def changes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`cluster_rows` of every cluster the last :meth:`partial_fit` or :meth:`fit` changed or created."""
        return self.cluster_rows(self._touched_ids | self.lexical_.dirty)

    @classmethod
    def from_state(cls, state: dict[str, Any], counts: np.ndarray, parent: np.ndarray, sums: np.ndarray, *,
                   lexical: np.ndarray | None = None, load_lexical: Any = None, **params: Any) -> IncrementalClusterer:
        """Continue a clusterer from :meth:`get_state` and its cluster rows (ids ``0..k-1``).

        Args:
            state: :meth:`get_state`.
            counts, parent, sums: per-cluster counts, merge parents and embedding-block sums.
            lexical: the lexical-block sums of every cluster, or (with ``load_lexical``) None.
            load_lexical: ``ids -> (len(ids), lexical_dim)`` reading lexical rows on first use.
            params: constructor parameters; must match those the state was built with.
        """
        self = cls(**params)
        self.use_lexical_ = bool(state["use_lexical"])
        self.d_embed_ = int(state["d_embed"])
        self.counts_ = np.array(counts, np.int64)
        self.parent_ = np.array(parent, np.int64)
        self.sums_ = np.array(sums, np.float32).reshape(len(self.counts_), self.d_embed_)
        dim = self.lexical_dim if self.use_lexical_ else 0
        if lexical is not None or not self.use_lexical_:
            self.lexical_ = RowTable(dim)
            self.lexical_.grow(len(self.counts_))
            if self.use_lexical_:
                self.lexical_.dense[:] = lexical
        else:
            self.lexical_ = RowTable(dim, load=load_lexical, stored=len(self.counts_))
        self.df_ = np.array(state["df"], np.float32)
        self.n_docs_ = int(state["n_docs"])
        self._ivf = None
        self._touched_ids = set()
        return self

    def resolve(self, ids: np.ndarray) -> np.ndarray:
        """Follow merges: map stored cluster ids (from ``cluster_ids_`` of any earlier call) to live ids."""
        ids = np.asarray(ids, np.int64).copy()
        valid = ids >= 0
        while True:
            nxt = self.parent_[ids[valid]]
            if np.array_equal(nxt, ids[valid]):
                return ids
            ids[valid] = nxt

    def labels_for(self, ids: np.ndarray) -> np.ndarray:
        """Public labels of stored cluster ids: live id, or -1 where the cluster is below ``min_cluster_size``."""
        live = self.resolve(ids)
        out = live.copy()
        out[(live < 0) | (self.counts_[np.maximum(live, 0)] < self.min_cluster_size)] = -1
        return out

    # ------------------------------------------------------------------ online pass
    def partial_fit(self, X: np.ndarray, texts: list[str] | None = None) -> np.ndarray:
        """Add a batch of items to the clustering.

        Args:
            X: (n, d) embeddings (L2-normalised here if not already).
            texts: The items' texts, used for lexical similarity if ``lexical_weight > 0``.

        Returns:
            (n,) labels of the new rows, -1 for noise. ``cluster_ids_`` holds the ids without the -1 masking
            (store those, then :meth:`labels_for` gives current labels), ``merged_`` maps ids absorbed by this call
            to the id that absorbed them.
        """
        X = np.asarray(X, dtype=np.float32)
        if not hasattr(self, "sums_"):
            self._init_state(X.shape[1], texts is not None)
        self._touched_ids = set()
        E, L = self._features(X, texts)
        ids, touched = self._online_pass(E, L)
        self.merged_ = self._merge(touched)
        self.cluster_ids_ = self.resolve(ids)
        return self.labels_for(self.cluster_ids_)

    def _online_pass(self, E: np.ndarray, L: np.ndarray | None) -> tuple[np.ndarray, set[int]]:
        """Assign rows in order, ``chunk_size`` at a time; returns their cluster ids and the clusters touched."""
        ids = np.empty(len(E), np.int64)
        touched: set[int] = set()
        for start in range(0, len(E), self.chunk_size):
            block = slice(start, start + self.chunk_size)
            ids[block] = self._assign_chunk(E[block], None if L is None else L[block], touched)
        return ids, touched

    def _assign_chunk(self, E: np.ndarray, L: np.ndarray | None, touched: set[int]) -> np.ndarray:
        b = len(E)
        k = len(self.counts_)
        cand = np.unique(self._search(E, self.n_candidates))
        cand = cand[self.counts_[cand] > 0]
        # local cluster table: pre-existing candidates first, then clusters founded in this chunk
        local_ids = list(cand)
        pre_dot = self._dot(E, L, cand) if len(cand) else np.zeros((b, 0), np.float32)
        local_counts = np.zeros(len(cand) + b)
        local_counts[: len(cand)] = self.counts_[cand]
        gram = E @ E.T
        if L is not None:
            gram += L @ L.T
        lab = np.empty(b, np.int64)
        for i in range(b):
            n_local = len(local_ids)
            dots = np.zeros(n_local)
            dots[: pre_dot.shape[1]] = pre_dot[i]
            if i:
                dots += np.bincount(lab[:i], weights=gram[i, :i], minlength=n_local)
            if n_local:
                score = dots / local_counts[:n_local]
                j = int(np.argmax(score))
                if score[j] >= self._threshold():
                    lab[i] = j
                    local_counts[j] += 1
                    continue
            lab[i] = n_local
            local_ids.append(k + n_local - len(cand))
            local_counts[n_local] = 1.0
        n_new = len(local_ids) - len(cand)
        self._grow(n_new)
        local_ids = np.asarray(local_ids, np.int64)
        ids = local_ids[lab]
        np.add.at(self.sums_, ids, E)
        if L is not None:
            self.lexical_.add(ids, L)
        np.add.at(self.counts_, ids, 1)
        self._changed(np.unique(ids))
        touched.update(int(c) for c in np.unique(ids))
        return ids

    def _merge(self, touched: set[int]) -> dict[int, int]:
        """Greedily merge touched clusters with clusters whose mean pairwise similarity reaches the threshold."""
        thr = self._threshold() if self.merge_threshold is None else self.merge_threshold
        merged: dict[int, int] = {}
        seeds = np.array(sorted(c for c in touched if self.counts_[c] > 0), np.int64)
        if len(seeds) == 0 or self.n_clusters_ < 2:
            return merged
        counts = np.maximum(self.counts_, 1).astype(np.float32)
        seed_means = self.sums_[seeds] / counts[seeds, None]
        top = self._search(seed_means, self.n_candidates + 1)
        sim = _dots(seed_means, self.sums_, top) / counts[top]
        if self.use_lexical_:  # the lexical block of the few clusters involved
            involved = np.unique(np.concatenate([seeds, top.ravel()]))
            rows = self.lexical_.take(involved) / counts[involved, None]
            where = np.searchsorted(involved, top)
            sim += _dots(rows[np.searchsorted(involved, seeds)], rows, where)
        ok = (sim >= thr) & (top != seeds[:, None]) & (self.counts_[top] > 0)
        r, c = np.nonzero(ok)
        order = np.argsort(-sim[r, c], kind="stable")
        for a, b in zip(seeds[r[order]], top[r[order], c[order]], strict=True):
            a, b = int(self.resolve(np.array([a]))[0]), int(self.resolve(np.array([b]))[0])
            if a == b:
                continue
            keep, gone = min(a, b), max(a, b)
            if self._pair(keep, gone) / (self.counts_[keep] * self.counts_[gone]) < thr:
                continue  # an earlier merge changed one side and it no longer qualifies
            self.sums_[keep] += self.sums_[gone]
            if self.use_lexical_:
                self.lexical_.add(np.array([keep]), self.lexical_.take(np.array([gone])))
                self.lexical_.zero(gone)
            self.counts_[keep] += self.counts_[gone]
            self.sums_[gone] = 0
            self.counts_[gone] = 0
            self.parent_[gone] = keep
            self._changed([keep, gone])
            merged[gone] = keep
        return {g: int(self.resolve(np.array([k]))[0]) for g, k in merged.items()}

    # ------------------------------------------------------------------ full rebuild
    def fit(self, X: np.ndarray, texts: list[str] | None = None) -> IncrementalClusterer:
        """Cluster everything from scratch: online pass, merge pass, then ``refine_iter`` reassignment passes.

        Sets ``labels_`` (-1 for noise) and ``cluster_ids_`` for all rows; ids are renumbered 0..k-1 by first row.
        """
        for attr in ("sums_", "counts_", "parent_"):
            if hasattr(self, attr):
                delattr(self, attr)
        X = np.asarray(X, dtype=np.float32)
        self._init_state(X.shape[1], texts is not None)
        E, L = self._features(X, texts)
        del X
        ids, touched = self._online_pass(E, L)
        self._merge(touched)
        ids = self.resolve(ids)
        for _ in range(self.refine_iter):
            ids = self._reassign(E, L, ids)
        self._rebuild(E, L, ids)
        self.merged_ = {}
        self.cluster_ids_ = self._renumber(E, L, ids)
        self.labels_ = self.labels_for(self.cluster_ids_)
        self._touched_ids = set(range(len(self.counts_)))
        return self

    def fit_predict(self, X: np.ndarray, texts: list[str] | None = None) -> np.ndarray:
        """:meth:`fit` and return ``labels_``."""
        return self.fit(X, texts).labels_

    def _reassign(self, E: np.ndarray, L: np.ndarray | None, ids: np.ndarray) -> np.ndarray:
        """Move each item to the cluster of highest mean similarity (itself excluded), or alone if none passes."""
        top = self._search(E, self.n_candidates)
        top = np.concatenate([top, ids[:, None]], axis=1)
        dots = _dots(E, self.sums_, top).astype(np.float64)
        own_norm = np.einsum("ij,ij->i", E, E)
        if L is not None:
            dots += _dots(L, self.lexical_.dense, top)
            own_norm += np.einsum("ij,ij->i", L, L)
        cnt = self.counts_[top].astype(np.float64)
        own = top == ids[:, None]
        dots -= own * own_norm[:, None]
        cnt -= own
        with np.errstate(divide="ignore", invalid="ignore"):
            score = np.where(cnt > 0, dots / cnt, -np.inf)
        best = np.argmax(score, axis=1)
        rows = np.arange(len(E))
        new = np.where(score[rows, best] >= self._threshold(), top[rows, best], -1)
        lone = np.flatnonzero(new < 0)
        new[lone] = len(self.counts_) + np.arange(len(lone))
        self._rebuild(E, L, new)
        return new

    def _rebuild(self, E: np.ndarray, L: np.ndarray | None, ids: np.ndarray) -> None:
        k = int(ids.max()) + 1 if len(ids) else 0
        self.sums_ = np.zeros((k, E.shape[1]), np.float32)
        np.add.at(self.sums_, ids, E)
        self.lexical_ = RowTable(self.lexical_.dim)
        self.lexical_.grow(k)
        if L is not None:
            np.add.at(self.lexical_.dense, ids, L)
        self.counts_ = np.bincount(ids, minlength=k).astype(np.int64)
        self.parent_ = np.arange(k)
        self._ivf = None

    def _renumber(self, E: np.ndarray, L: np.ndarray | None, ids: np.ndarray) -> np.ndarray:
        """Renumber clusters 0..k-1 in order of first appearance and drop empty ids."""
        _, first = np.unique(ids, return_index=True)
        order = ids[np.sort(first)]
        remap = np.empty(int(ids.max()) + 1 if len(ids) else 0, np.int64)
        remap[order] = np.arange(len(order))
        new = remap[ids]
        self._rebuild(E, L, new)
        return new


# ---------------------------------------------------------------------- id matching
def match_labels(old_labels: np.ndarray, new_labels: np.ndarray) -> dict[int, int]:
    """Map new cluster labels to old ones by overlap: each new label continues the old label it shares the most
    rows with, one to one, largest overlaps first (ties to the lower ids).

    Only the label pairs that occur are counted (a sparse contingency table), so matching 100k clusters on each
    side costs memory in proportion to the rows, not to the product of the label counts. Rows labelled -1 on
    either side are ignored; new labels that share no row with a still unmatched old label are left out (the
    caller gives them fresh ids).

    Returns:
        ``{new_label: old_label}``.
    """
    old = np.asarray(old_labels, dtype=np.int64)
    new = np.asarray(new_labels, dtype=np.int64)
    keep = (old >= 0) & (new >= 0)
    if not keep.any():
        return {}
    pairs, counts = np.unique(np.stack([new[keep], old[keep]], axis=1), axis=0, return_counts=True)
    order = np.lexsort((pairs[:, 1], pairs[:, 0], -counts))
    mapping: dict[int, int] = {}
    used: set[int] = set()
    for (n, o) in pairs[order].tolist():
        if n not in mapping and o not in used:
            mapping[n] = o
            used.add(o)
    return mapping
