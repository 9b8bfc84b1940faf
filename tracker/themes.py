"""Themes: narratives that tell one storyline, grouped one level above them.

A narrative is a claim said in many wordings ("CPEC loans are a debt trap"); a theme gathers the narratives of one
storyline ("debt": the debt-trap claim, the repayment figures, the rebuttals). Sentence embeddings put paraphrases
close together but the different claims of one storyline only moderately close, so themes are a second grouping,
over narrative centroids, chosen by measurement (tests/benchmarks/cpec_groundtruth.py and the dev headline stories):

1. a sparse graph: each narrative keeps its ``k`` most similar others, ranked by an even blend of the centred
   centroid cosine (the store's mean centroid subtracted: what every narrative of a one-subject store shares says
   nothing about storylines) and the cosine of an LSA projection of the narratives' own words, among those whose
   raw centroid cosine reaches ``floor``, so that unrelated stories of a news stream stay apart;
2. Leiden communities (modularity, fixed seed), warm-started from the previous themes so an update moves only
   what the new data asks for;
3. a cap that holds by construction: a community above ``max_share`` of the narratives is split again on its own
   subgraph, recursively. A narrative with no close neighbour has no theme.

:func:`attach` is the incremental step between full groupings: a new narrative joins the theme its nearest themed
neighbours (above the floor) share. Narratives a reviewer placed in a theme are left out of both.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

__all__ = ["group_narratives", "narrative_graph", "attach"]


def _unit(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)


def _lexical_vectors(texts: Sequence[Sequence[str] | str], dim: int, random_state: int) -> np.ndarray | None:
    """Unit LSA vectors (TF-IDF of each narrative's words, TruncatedSVD to ``dim``), or None if too little text."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    docs = [t if isinstance(t, str) else " ".join(t) for t in texts]
    if len(docs) < 3:
        return None
    try:
        V = TfidfVectorizer(stop_words="english", sublinear_tf=True, min_df=2, max_df=0.5,
                            token_pattern=r"(?u)\b[^\W\d_][\w'-]+\b").fit_transform(docs)
    except ValueError:  # empty vocabulary
        return None
    dim = min(dim, V.shape[1] - 1, V.shape[0] - 1)
    if dim < 2:
        return None
    return _unit(TruncatedSVD(dim, random_state=random_state).fit_transform(V))


def _top_candidates(Y: np.ndarray, m: int, block: int) -> np.ndarray:
    """Indices of the ``m`` most similar other rows of unit ``Y`` (exact, blocked matrix products)."""
    n = len(Y)
    m = min(m, n - 1)
    block = max(16, min(block, int(5e7 // n)))        # about 200 MB of similarities per block
    out = np.empty((n, m), dtype=np.int64)
    for s in range(0, n, block):
        S = Y[s:s + block] @ Y.T
        rows = np.arange(S.shape[0])
        S[rows, s + rows] = -np.inf
        out[s:s + block] = np.argpartition(-S, m - 1, axis=1)[:, :m]
    return out


def _pair_dots(A: np.ndarray, C: np.ndarray, block: int) -> np.ndarray:
    """(n, m) dot products of each row of ``A`` with the rows ``C[i]`` (blocked, so memory stays O(block * m * d))."""
    out = np.empty(C.shape, dtype=np.float32)
    for s in range(0, len(C), block):
        out[s:s + block] = np.einsum("id,imd->im", A[s:s + block], A[C[s:s + block]])
    return out


def narrative_graph(centroids: np.ndarray, texts: Sequence[Sequence[str] | str] | None = None, *, k: int = 5,
                    floor: float = 0.6, alpha: float = 0.5, lsa_dim: int = 100, candidates: int = 50,
                    neighbours: np.ndarray | None = None, block: int = 2048,
                    random_state: int = 0) -> sp.csr_matrix:
    """Symmetric sparse similarity graph over narratives (the first half of :func:`group_narratives`).

    Each narrative keeps its ``k`` best candidates by ``alpha * cos(centred centroids) + (1 - alpha) *
    cos(LSA of texts)`` among those whose raw centroid cosine is at least ``floor``; the graph is the union of
    these choices (weight: the blended similarity, kept positive).
    """
    X = _unit(centroids)
    n = len(X)
    if n < 2:
        return sp.csr_matrix((n, n))
    Y = _unit(X - X.mean(axis=0))                      # centring removes what every narrative of the store shares
    L = _lexical_vectors(texts, lsa_dim, random_state) if texts is not None and alpha < 1 else None
    a = alpha if L is not None else 1.0
    C = np.asarray(neighbours, dtype=np.int64) if neighbours is not None else _top_candidates(Y, max(candidates, k),
                                                                                               block)
    safe = np.maximum(C, 0)
    raw = _pair_dots(X, safe, block)
    blend = a * _pair_dots(Y, safe, block)
    if L is not None:
        blend += (1 - a) * _pair_dots(L, safe, block)
    rows = np.repeat(np.arange(n), C.shape[1])
    cols, raw, blend = C.ravel(), raw.ravel(), blend.ravel()
    valid = (cols >= 0) & (cols != rows)
    rows, cols, raw, blend = rows[valid], cols[valid], raw[valid], blend[valid]
    keep = raw >= floor
    rows, cols, blend = rows[keep], cols[keep], blend[keep]
    # the k best per row: sort by (row, -blend, col) and take the first k of each row
    order = np.lexsort((cols, -blend, rows))
    rows, cols, blend = rows[order], cols[order], blend[order]
    starts = np.searchsorted(rows, np.arange(n))
    rank = np.arange(len(rows)) - starts[rows]
    take = rank < k
    A = sp.csr_matrix((np.maximum(blend[take], 1e-6).astype(np.float64), (rows[take], cols[take])), shape=(n, n))
    W = A.maximum(A.T).tocsr()
    W.eliminate_zeros()
    return W


def _communities(W: sp.csr_matrix, resolution: float, random_state: int,
                 initial: np.ndarray | None = None) -> np.ndarray:
    """Leiden community of each node of the symmetric graph ``W`` (modularity with ``resolution``; isolated nodes
    get their own); ``initial`` is a starting partition, e.g. the previous run's themes (-1: none)."""
    import igraph as ig
    import leidenalg as la

    n = W.shape[0]
    U = sp.triu(W, k=1).tocoo()
    g = ig.Graph(n=n, edges=np.column_stack([U.row, U.col]).tolist())
    g.es["weight"] = U.data.tolist()
    extra = {}
    if initial is not None:
        start = np.asarray(initial, dtype=np.int64).copy()
        fresh = np.flatnonzero(start < 0)
        start[fresh] = start.max(initial=-1) + 1 + np.arange(len(fresh))
        extra["initial_membership"] = start.tolist()
    part = la.find_partition(g, la.RBConfigurationVertexPartition, weights="weight",
                             resolution_parameter=resolution, seed=random_state, n_iterations=-1, **extra)
    return np.asarray(part.membership, dtype=np.int64)


def group_narratives(centroids: np.ndarray, sizes: np.ndarray | None = None, *,
                     texts: Sequence[Sequence[str] | str] | None = None, k: int = 5, floor: float = 0.6,
                     alpha: float = 0.5, lsa_dim: int = 100, resolution: float = 0.5, max_share: float = 0.15,
                     n_total: int | None = None, min_size: int = 2, candidates: int = 50,
                     neighbours: np.ndarray | None = None, previous: np.ndarray | None = None,
                     random_state: int = 0, max_depth: int = 12) -> np.ndarray:
    """Theme label per narrative, ``-1`` for a narrative without a theme.

    Args:
        centroids: (n, d) narrative centroids (all-MiniLM-L6-v2 in the benchmarks; ``floor`` depends on the model).
        sizes: claims per narrative; not used (weighting communities by size did not help on the benchmarks).
        texts: per narrative, its member claim texts (or one string); adds the lexical (LSA) part of the
            similarity. Without texts the similarity is the centred embedding cosine alone.
        k: neighbours kept per narrative.
        floor: raw centroid cosine below which two narratives are never linked: in a corpus about many
            subjects most narratives then stay without a theme instead of being pulled into loose ones.
        alpha: weight of the embedding cosine against the LSA cosine.
        lsa_dim: LSA dimensions.
        resolution: Leiden (modularity) resolution; higher gives more, smaller themes.
        max_share: no theme may hold more than this share of ``n_total`` narratives (enforced by recursive
            splitting of larger communities, with the resolution raised 1.25x per level, then 2-means).
        n_total: number of narratives the cap refers to (default ``len(centroids)``; pass the count including
            narratives a reviewer pinned, which are left out of ``centroids``).
        min_size: smallest theme; smaller communities get ``-1``.
        candidates: neighbours examined per narrative (exact search) before the floor and the top-``k`` cut.
        neighbours: optional (n, m) candidate indices from an approximate index (``-1`` = none); replaces the
            exact search, for very large stores.
        previous: optional (n,) theme of each narrative before this update (``-1``: none or new). Leiden starts
            from it, so an update moves only what the new data asks for (theme ids, matched by overlap, churn
            less).
        random_state: seed of every randomised step.

    Returns:
        (n,) int64 labels ``0..t-1`` (0 the largest theme), ``-1`` where a narrative has no theme.

    >>> rng = np.random.default_rng(0)
    >>> topics = rng.normal(size=(4, 32))
    >>> X = np.vstack([t + 0.35 * rng.normal(size=(30, 32)) for t in topics])
    >>> labels = group_narratives(X, floor=0.3, max_share=0.3)
    >>> int(np.bincount(labels[labels >= 0]).max()) <= 0.3 * len(X)
    True
    >>> len({tuple(sorted(set(labels[i * 30:(i + 1) * 30]) - {-1})) for i in range(4)})  # no theme mixes topics
    4
    >>> group_narratives(np.eye(3, 8), floor=0.6).tolist()   # nothing similar enough: no themes
    [-1, -1, -1]
    """
    X = np.asarray(centroids, dtype=np.float32)
    n = len(X)
    labels = np.full(n, -1, dtype=np.int64)
    if n < max(2, min_size):
        return labels
    cap = max(min_size, int(max_share * (n_total if n_total is not None else n)))
    W = narrative_graph(X, texts, k=k, floor=floor, alpha=alpha, lsa_dim=lsa_dim, candidates=candidates,
                        neighbours=neighbours, random_state=random_state)
    labels = _communities(W, resolution, random_state, previous)
    labels = _connected(labels, W)
    labels = _split_oversized(labels, W, X, cap, resolution, random_state, max_depth)
    counts = Counter(labels.tolist())
    keep = sorted((c for c, m in counts.items() if m >= min_size),
                  key=lambda c: (-counts[c], int(np.flatnonzero(labels == c)[0])))
    renumber = {c: i for i, c in enumerate(keep)}
    return np.array([renumber.get(int(c), -1) for c in labels], dtype=np.int64)


def _connected(labels: np.ndarray, W: sp.csr_matrix) -> np.ndarray:
    """Communities split into their connected parts: a warm start can leave narratives that lost every link
    (a storyline that drifted apart) in their old community, and a theme must hang together."""
    from scipy.sparse.csgraph import connected_components

    rows, cols = W.nonzero()
    inside = labels[rows] == labels[cols]
    graph = sp.csr_matrix((np.ones(int(inside.sum())), (rows[inside], cols[inside])), shape=W.shape)
    _, parts = connected_components(graph, directed=False)
    return parts.astype(np.int64)


def _split_oversized(labels: np.ndarray, W: sp.csr_matrix, X: np.ndarray, cap: int, resolution: float,
                     random_state: int, max_depth: int) -> np.ndarray:
    """Split every community above ``cap`` nodes: Leiden on its subgraph (resolution x1.25 per failed or
    repeated level), 2-means on its centroids when the graph cannot split it."""
    labels = labels.copy()
    next_label = int(labels.max()) + 1
    stack = [(int(c), 0) for c in np.unique(labels)]
    while stack:
        c, depth = stack.pop()
        members = np.flatnonzero(labels == c)
        if len(members) <= cap:
            continue
        if depth < max_depth:
            sub = _communities(W[members][:, members], resolution * 1.25 ** depth, random_state)
            if len(np.unique(sub)) < 2:
                stack.append((c, depth + 1))
                continue
        else:
            from sklearn.cluster import KMeans
            sub = KMeans(2, n_init=1, random_state=random_state).fit_predict(_unit(X[members]))
            if len(np.unique(sub)) < 2:                  # identical centroids: halve by index
                sub = (np.arange(len(members)) >= len(members) // 2).astype(np.int64)
        for s in np.unique(sub):
            labels[members[sub == s]] = next_label
            stack.append((next_label, depth + 1))
            next_label += 1
    return labels


def attach(centroids: np.ndarray, themes: np.ndarray, new: np.ndarray, *, k: int = 5,
           floor: float = 0.6) -> np.ndarray:
    """Themes for the narratives ``new`` (indices into ``centroids``) from their ``k`` nearest narratives that have
    a theme and a raw centroid cosine of at least ``floor``: the theme with the largest summed similarity, or
    ``-1`` when no such neighbour exists.

    >>> X = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.95, 0.05]], dtype=np.float32)
    >>> attach(X, np.array([7, 7, 3, -1]), np.array([3])).tolist()
    [7]
    """
    X = _unit(centroids)
    themed = np.flatnonzero(np.asarray(themes) >= 0)
    out = np.full(len(new), -1, dtype=np.int64)
    if not len(themed) or not len(new):
        return out
    for start in range(0, len(new), 1024):
        rows = np.asarray(new[start:start + 1024])
        sims = X[rows] @ X[themed].T
        sims[themed[None, :] == rows[:, None]] = -np.inf
        top = np.argsort(-sims, axis=1)[:, :k]
        for i, cand in enumerate(top):
            votes: Counter[int] = Counter()
            for j in cand:
                if sims[i, j] >= floor:
                    votes[int(themes[themed[j]])] += float(sims[i, j])
            if votes:
                out[start + i] = max(votes.items(), key=lambda kv: (kv[1], -kv[0]))[0]
    return out
