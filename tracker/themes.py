"""Themes: narratives that tell one storyline, grouped one level above them.

A narrative is a claim said in many wordings ("CPEC loans are a debt trap"); a theme gathers the narratives of
one storyline ("debt": the debt-trap claim, the repayment figures, the Hambantota comparison, the rebuttals).
Sentence embeddings place paraphrases close together but put the different claims of one storyline only
moderately close, so themes are a second, coarser clustering over narrative centroids.

The pipeline regroups the current narratives on every run and matches the groups to the previous themes by shared
narratives, so a theme keeps its id while its storyline lasts. A theme exists only with two or more narratives; a
narrative with no close neighbour has no theme. Narratives a reviewer placed in a theme are left out of the
grouping and their themes stay.
"""

from __future__ import annotations

from collections import Counter

import numpy as np


def group_narratives(centroids: np.ndarray, sizes: np.ndarray, *, threshold: float,
                     max_core: int = 3000) -> np.ndarray:
    """Theme label per narrative (``-1``: no theme).

    Args:
        centroids: (n, d) narrative centroids.
        sizes: (n,) claims per narrative; the ``max_core`` largest are clustered with average linkage.
        threshold: Minimum mean cosine between the narratives of two groups to merge them, and between a
            remaining narrative and a theme's centroid to join it.
        max_core: Bound on the all-pairs step (memory and time grow with its square).

    Returns:
        (n,) labels ``0..k-1`` for themes of two or more narratives, ``-1`` elsewhere.
    """
    from sklearn.cluster import AgglomerativeClustering

    n = len(centroids)
    labels = np.full(n, -1, dtype=np.int64)
    if n < 2:
        return labels
    X = centroids / np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    core = np.argsort(-np.asarray(sizes), kind="stable")[:max_core]
    distances = np.clip(1.0 - X[core] @ X[core].T, 0.0, None)
    np.fill_diagonal(distances, 0.0)
    core_labels = AgglomerativeClustering(
        n_clusters=None, metric="precomputed", linkage="average", distance_threshold=1.0 - threshold,
    ).fit_predict(distances)
    labels[core] = core_labels
    rest = np.setdiff1d(np.arange(n), core)
    if len(rest):
        means = np.stack([X[core[core_labels == k]].mean(axis=0) for k in range(core_labels.max() + 1)])
        sims = X[rest] @ means.T
        best = sims.argmax(axis=1)
        labels[rest] = np.where(sims[np.arange(len(rest)), best] >= threshold, best, -1)
    counts = Counter(labels[labels >= 0].tolist())
    keep = sorted(k for k, c in counts.items() if c >= 2)
    renumber = {k: i for i, k in enumerate(keep)}
    return np.array([renumber.get(int(k), -1) for k in labels], dtype=np.int64)
