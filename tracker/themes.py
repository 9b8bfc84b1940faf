"""Themes: narratives that tell one storyline, grouped one level above them.

A narrative is a claim said in many wordings ("CPEC loans are a debt trap"); a theme gathers the narratives of
one storyline ("debt": the debt-trap claim, the repayment figures, the Hambantota comparison, the rebuttals).
Sentence embeddings place paraphrases close together but put the different claims of one storyline only
moderately close, so themes are a second, coarser clustering over narrative centroids.

Themes are recomputed from the current narratives on every run (average linkage over the centroids of the
``max_core`` largest narratives, the rest joining their nearest theme), then matched to the previous themes by
shared narratives, so a theme keeps its id while its storyline lasts. A theme exists only with two or more
narratives; a narrative with no close neighbour has no theme. A reviewer's name for a theme is kept
(:func:`tracker.review.rename_theme`), and so is a reviewer's choice of theme for a narrative
(:func:`tracker.review.set_theme`): such narratives are left out of the grouping and their themes stay.
"""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import sqlite_utils

from tracker import db as store
from tracker.cluster import match_clusters


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


def run_themes(db: sqlite_utils.Database, *, threshold: float, max_core: int = 3000) -> dict[str, int]:
    """Regroup the active narratives into themes, keeping theme ids stable; returns counts."""
    rows = db.execute(
        "SELECT id, centroid, size, theme_id FROM narratives WHERE status = 'active' AND centroid IS NOT NULL "
        "AND theme_locked = 0 ORDER BY id").fetchall()
    pinned = {t for (t,) in db.execute(  # themes a reviewer put narratives in stay, whatever the grouping finds
        "SELECT DISTINCT n.theme_id FROM narratives n JOIN themes t ON t.id = n.theme_id "
        "WHERE n.status = 'active' AND n.theme_locked = 1 AND t.status = 'active'")}
    dims = Counter(len(r[1]) for r in rows)
    if dims:  # centroids of an earlier embedding model (before a rebuild) cannot be compared with the rest
        width = dims.most_common(1)[0][0]
        rows = [r for r in rows if len(r[1]) == width]
    ids = [r[0] for r in rows]
    old = np.array([r[3] if r[3] is not None else -1 for r in rows], dtype=np.int64)
    if rows:
        centroids = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(len(rows), -1)
        new = group_narratives(centroids, np.array([r[2] for r in rows]), threshold=threshold, max_core=max_core)
    else:
        new = np.zeros(0, dtype=np.int64)
    kept = match_clusters(old, new)
    now = store.now()
    with db.atomic():
        theme_of: dict[int, int] = {}
        created = 0
        for label in sorted(set(new.tolist()) - {-1}):
            if label in kept:
                theme_of[label] = kept[label]
                db.execute("UPDATE themes SET status = 'active', updated_at = ? WHERE id = ?", [now, kept[label]])
            else:
                created += 1
                theme_of[label] = int(db.execute(
                    "INSERT INTO themes(status, created_at, updated_at) VALUES ('active', ?, ?)", [now, now]
                ).lastrowid)
        db.execute("UPDATE narratives SET theme_id = NULL WHERE theme_id IS NOT NULL AND theme_locked = 0")
        db.conn.executemany("UPDATE narratives SET theme_id = ? WHERE id = ?",
                            [(theme_of[int(k)], n) for n, k in zip(ids, new.tolist()) if k >= 0])
        live = sorted(set(theme_of.values()) | pinned)
        marks = ",".join("?" * len(live))
        dissolved = db.execute(
            f"UPDATE themes SET status = 'dissolved', updated_at = ? WHERE status = 'active' AND id NOT IN ({marks})",
            [now, *live]).rowcount
        describe_themes(db, live)
    return {"themes": len(live), "new": created, "dissolved": dissolved,
            "narratives_in_themes": int((new >= 0).sum())}


def describe_themes(db: sqlite_utils.Database, theme_ids: list[int], *, n_keywords: int = 6) -> None:
    """Recompute counts, dates, c-TF-IDF keywords and (unless a reviewer named it) the label of themes."""
    from tracker.narratives import _document_frequency, distinctive_keywords

    if not theme_ids:
        return
    total_claims = max(db.execute("SELECT count(*) FROM claims").fetchone()[0], 1)
    document_frequency = _document_frequency(db)
    for theme_id in theme_ids:
        stats = db.execute(
            """SELECT count(DISTINCT n.id), count(c.id), count(DISTINCT coalesce(orig.source_id, a.source_id)),
                      min(a.published), max(a.published)
               FROM narratives n JOIN narrative_claims nc ON nc.narrative_id = n.id
               JOIN claims c ON c.id = nc.claim_id JOIN articles a ON a.id = c.article_id
               LEFT JOIN articles orig ON orig.id = a.duplicate_of
               WHERE n.theme_id = ? AND n.status = 'active'""", [theme_id]).fetchone()
        texts = [text for (text,) in db.execute(
            "SELECT c.text FROM narratives n JOIN narrative_claims nc ON nc.narrative_id = n.id "
            "JOIN claims c ON c.id = nc.claim_id WHERE n.theme_id = ? AND n.status = 'active'", [theme_id])]
        keywords = distinctive_keywords(texts, total_claims, document_frequency, n_keywords)
        locked = db.execute("SELECT label_locked FROM themes WHERE id = ?", [theme_id]).fetchone()[0]
        db.execute(
            "UPDATE themes SET keywords = ?, n_narratives = ?, size = ?, n_sources = ?, first_seen = ?, "
            "last_seen = ?" + ("" if locked else ", label = ?") + " WHERE id = ?",
            [json.dumps(keywords), *stats] + ([] if locked else [" · ".join(keywords[:4]) or None]) + [theme_id],
        )


def theme_members(db: sqlite_utils.Database) -> dict[int, list[int]]:
    """Narrative ids of every active theme."""
    out: dict[int, list[int]] = {}
    for narrative_id, theme_id in db.execute(
        "SELECT n.id, n.theme_id FROM narratives n JOIN themes t ON t.id = n.theme_id "
        "WHERE n.status = 'active' AND t.status = 'active' ORDER BY n.id"
    ):
        out.setdefault(theme_id, []).append(narrative_id)
    return out

