"""Themes in the store: what regrouping reads, writing a regrouping with stable ids, and theme descriptions."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import sqlite_utils

from tracker.store.base import blobs_to_matrix, now
from tracker.store.narratives import _in
from tracker.store.vectors import chunks, marks


def grouping_inputs(db: sqlite_utils.Database, model: str) -> tuple[list[int], np.ndarray, np.ndarray, np.ndarray]:
    """Active narratives with a centroid of ``model`` that no reviewer placed in a theme: ids, centroids, sizes
    and current theme (-1 for none)."""
    rows = db.execute(
        "SELECT id, centroid, size, theme_id FROM narratives WHERE status = 'active' AND centroid IS NOT NULL "
        "AND centroid_model = ? AND theme_locked = 0 ORDER BY id", [model]).fetchall()
    if not rows:
        return [], np.zeros((0, 0), np.float32), np.zeros(0, np.int64), np.zeros(0, np.int64)
    width = Counter(len(r[1]) for r in rows).most_common(1)[0][0]
    rows = [r for r in rows if len(r[1]) == width]  # a centroid of another width cannot be one of this model's
    dim = width // 4
    return ([r[0] for r in rows], blobs_to_matrix([r[1] for r in rows], dim),
            np.array([r[2] for r in rows], np.int64), np.array([-1 if r[3] is None else r[3] for r in rows]))


def pinned(db: sqlite_utils.Database) -> set[int]:
    """Active themes a reviewer put a narrative in: they stay whatever the grouping finds."""
    return {t for (t,) in db.execute(
        "SELECT DISTINCT n.theme_id FROM narratives n JOIN themes t ON t.id = n.theme_id "
        "WHERE n.status = 'active' AND n.theme_locked = 1 AND t.status = 'active'")}


def narrative_texts(db: sqlite_utils.Database, narrative_ids: Sequence[int], per_narrative: int,
                    languages: Sequence[str] | None = None) -> list[list[str]]:
    """Per narrative (in the order given): the texts of its ``per_narrative`` most central members in ``languages``
    (None or empty: any). Claims placed from other languages are left out: their similarity comes from another
    model, on another scale, and their words are not the narrative's words."""
    texts: dict[int, list[str]] = {n: [] for n in narrative_ids}
    languages = list(languages or [])
    clause = f"(a.language IS NULL OR a.language IN ({marks(languages)})) AND" if languages else ""
    for n, text in _in(db, f"""
            SELECT narrative_id, text FROM (
                SELECT nc.narrative_id, c.text, row_number() OVER (
                    PARTITION BY nc.narrative_id ORDER BY nc.similarity DESC, c.id) AS rank
                FROM narrative_claims nc JOIN claims c ON c.id = nc.claim_id JOIN articles a ON a.id = c.article_id
                WHERE {clause} nc.narrative_id IN ({{marks}}))
            WHERE rank <= {int(per_narrative)}""", narrative_ids, languages):
        texts[n].append(text)
    return [texts[n] for n in narrative_ids]


def active_narratives(db: sqlite_utils.Database) -> int:
    return int(db.execute("SELECT count(*) FROM narratives WHERE status = 'active'").fetchone()[0])


def apply_grouping(db: sqlite_utils.Database, narrative_ids: Sequence[int], labels: Sequence[int],
                   kept: dict[int, int], old: Sequence[int]) -> tuple[list[int], int, int, set[int]]:
    """Write a regrouping: label ``k`` of the grouping continues theme ``kept[k]`` or founds a new theme; only
    narratives whose theme changed are written; themes left with no narrative (and no reviewer-placed one)
    dissolve. Returns (live theme ids, created, dissolved, themes whose narratives changed)."""
    stamp = now()
    theme_of: dict[int, int] = {}
    created = 0
    for label in sorted(set(labels) - {-1}):
        if label in kept:
            theme_of[label] = kept[label]
        else:
            created += 1
            theme_of[label] = int(db.execute("INSERT INTO themes(status, created_at, updated_at) "
                                             "VALUES ('active', ?, ?)", [stamp, stamp]).lastrowid)
    changes = [(theme_of.get(int(k)), n, int(o)) for n, k, o in zip(narrative_ids, labels, old)
               if theme_of.get(int(k), -1) != int(o)]
    db.conn.executemany("UPDATE narratives SET theme_id = ? WHERE id = ?", [(t, n) for t, n, _ in changes])
    db.conn.executemany("UPDATE themes SET status = 'active', updated_at = ? WHERE id = ? AND status != 'active'",
                        [(stamp, t) for t in theme_of.values()])
    live = sorted(set(theme_of.values()) | pinned(db))
    dissolved = db.execute(
        f"UPDATE themes SET status = 'dissolved', updated_at = ? WHERE status = 'active' AND id NOT IN "
        f"({','.join('?' * len(live)) or 'NULL'})", [stamp, *live]).rowcount
    changed = {t for t, _, o in changes for t in (t, o) if t is not None and t >= 0}
    return live, created, dissolved, changed & set(live)


def set_themes(db: sqlite_utils.Database, assignments: Sequence[tuple[int, int]]) -> None:
    """``(narrative id, theme id)`` placements made between full groupings."""
    db.conn.executemany("UPDATE narratives SET theme_id = ? WHERE id = ?", [(t, n) for n, t in assignments])


def largest_share(db: sqlite_utils.Database) -> float:
    """The share of active narratives in the largest active theme."""
    row = db.execute("SELECT max(k) FROM (SELECT count(*) AS k FROM narratives n JOIN themes t ON t.id = n.theme_id "
                     "WHERE n.status = 'active' AND t.status = 'active' GROUP BY n.theme_id)").fetchone()
    return (row[0] or 0) / max(active_narratives(db), 1)


def description_inputs(db: sqlite_utils.Database, theme_id: int, *,
                       per_narrative: int = 20) -> tuple[tuple[Any, ...], list[str]]:
    """A theme's counts (narratives, claims, outlets, first and last date) and the texts of up to
    ``per_narrative`` claims of each of its narratives (the first ones: a theme's words are its narratives' words,
    and a narrative of thousands of claims is read no longer than one of twenty)."""
    stats = db.execute(
        """SELECT count(DISTINCT n.id), count(c.id), count(DISTINCT coalesce(orig.source_id, a.source_id)),
                  min(a.published), max(a.published)
           FROM narratives n JOIN narrative_claims nc ON nc.narrative_id = n.id
           JOIN claims c ON c.id = nc.claim_id JOIN articles a ON a.id = c.article_id
           LEFT JOIN articles orig ON orig.id = a.duplicate_of
           WHERE n.theme_id = ? AND n.status = 'active'""", [theme_id]).fetchone()
    texts = [t for (t,) in db.execute(
        """SELECT c.text FROM (
               SELECT nc.claim_id, row_number() OVER (PARTITION BY nc.narrative_id ORDER BY nc.claim_id) AS k
               FROM narratives n JOIN narrative_claims nc ON nc.narrative_id = n.id
               WHERE n.theme_id = ? AND n.status = 'active') m
           JOIN claims c ON c.id = m.claim_id WHERE m.k <= ?""", [theme_id, per_narrative])]
    return tuple(stats), texts


def day_volume(db: sqlite_utils.Database, theme_ids: Sequence[int],
               days: Sequence[str] | None = None) -> dict[int, dict[str, list[Any]]]:
    """Articles carrying each theme per day: ``{theme_id: {"day": [...], "articles": [...]}}``, on every day or
    only on ``days``.

    An article counts once per theme however many of its claims belong to it, and a near-duplicate counts as its
    original, on the original's date (a syndicated story is one article). Days are additive, so any period's count
    is the sum of its days. Undated articles are left out. The CROSS JOINs fix the order SQLite walks in: from the
    themes to their claims, or from the days' articles to theirs, never through every membership row.
    """
    volume: dict[int, dict[str, list[Any]]] = {int(t): {"day": [], "articles": []} for t in theme_ids}
    if not theme_ids:
        return volume
    if days is None:
        rows = db.execute(f"""
            SELECT theme_id, day, count(*) FROM (
                SELECT DISTINCT n.theme_id, coalesce(orig.id, a.id) AS unit,
                       coalesce(orig.published, a.published) AS day
                FROM narratives n CROSS JOIN narrative_claims nc ON nc.narrative_id = n.id
                CROSS JOIN claims c ON c.id = nc.claim_id CROSS JOIN articles a ON a.id = c.article_id
                LEFT JOIN articles orig ON orig.id = a.duplicate_of
                WHERE n.theme_id IN ({marks(theme_ids)}) AND n.status = 'active')
            WHERE day IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2""", list(theme_ids)).fetchall()
    else:
        rows = []
        for chunk in chunks(sorted(set(days))):
            rows += db.execute(f"""
                WITH units AS (
                    SELECT id AS article_id, id AS unit, published AS day FROM articles
                    WHERE published IN ({marks(chunk)}) AND duplicate_of IS NULL
                    UNION ALL
                    SELECT a.id, o.id, o.published FROM articles o CROSS JOIN articles a ON a.duplicate_of = o.id
                    WHERE o.published IN ({marks(chunk)}) AND o.duplicate_of IS NULL)
                SELECT n.theme_id, u.day, count(DISTINCT u.unit)
                FROM units u CROSS JOIN claims c ON c.article_id = u.article_id
                CROSS JOIN narrative_claims nc ON nc.claim_id = c.id CROSS JOIN narratives n ON n.id = nc.narrative_id
                WHERE n.status = 'active' AND n.theme_id IN ({marks(theme_ids)}) GROUP BY 1, 2""",
                [*chunk, *chunk, *theme_ids]).fetchall()
        rows.sort()
    for theme_id, day, k in rows:
        volume[theme_id]["day"].append(day[:10])
        volume[theme_id]["articles"].append(k)
    return volume


def stale_days(db: sqlite_utils.Database) -> list[str]:
    """Days whose stored theme counts may be out of date (claims dated then changed narrative since)."""
    return [d for (d,) in db.execute("SELECT day FROM theme_volume_days ORDER BY day")]


def volume_json(volume: dict[str, list[Any]]) -> str:
    """A theme's day counts as stored in ``themes.volume``."""
    return json.dumps(volume, separators=(",", ":"))


def _with_days(stored: dict[str, list[Any]], days: Sequence[str], fresh: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """``stored`` day counts with those of ``days`` replaced by ``fresh`` ones."""
    counts = {d: k for d, k in zip(stored["day"], stored["articles"], strict=True)}
    for day in days:
        counts.pop(day[:10], None)
    counts.update(zip(fresh["day"], fresh["articles"], strict=True))
    ordered = sorted(counts.items())
    return {"day": [d for d, _ in ordered], "articles": [k for _, k in ordered]}


def current_volume(db: sqlite_utils.Database, stored: Mapping[int, str | None],
                   days: Sequence[str]) -> dict[int, dict[str, list[Any]]]:
    """Each theme's day counts as they stand, from its stored ``volume`` (theme id -> JSON) with the ``days`` whose
    counts may be out of date recounted; a theme with none stored is counted whole."""
    whole = day_volume(db, [t for t, v in stored.items() if v is None])
    fresh = day_volume(db, [t for t, v in stored.items() if v is not None], days) if days else {}
    return {t: whole[t] if v is None else _with_days(json.loads(v), days, fresh[t]) if days else json.loads(v)
            for t, v in stored.items()}


def settle_volume(db: sqlite_utils.Database) -> int:
    """Recount every active theme's articles on the stale days and clear the list (inside the caller's
    transaction); returns how many days. The cost is the claims of those days, not of the themes."""
    days = stale_days(db)
    if not days:
        return 0
    stored = dict(db.execute("SELECT id, volume FROM themes WHERE status = 'active'").fetchall())
    for theme_id, volume in current_volume(db, stored, days).items():
        db.execute("UPDATE themes SET volume = ? WHERE id = ?", [volume_json(volume), theme_id])
    db.execute("DELETE FROM theme_volume_days")
    return len(days)


def save_description(db: sqlite_utils.Database, theme_id: int, stats: Sequence[Any], keywords: list[str],
                     label: str | None) -> None:
    """Store a theme's counts, keywords, articles per day and (unless a reviewer named it) label."""
    volume = volume_json(day_volume(db, [theme_id])[theme_id])
    db.execute(
        "UPDATE themes SET keywords = ?, n_narratives = ?, size = ?, n_sources = ?, first_seen = ?, last_seen = ?, "
        "volume = ?, label = CASE WHEN label_locked THEN label ELSE ? END WHERE id = ?",
        [json.dumps(keywords, ensure_ascii=False), *stats, volume, label, theme_id])


def get(db: sqlite_utils.Database, theme_id: int) -> dict[str, Any] | None:
    cursor = db.execute("SELECT * FROM themes WHERE id = ?", [theme_id])
    row = cursor.fetchone()
    return None if row is None else dict(zip([d[0] for d in cursor.description], row, strict=True))


def rename(db: sqlite_utils.Database, theme_id: int, label: str) -> None:
    db.execute("UPDATE themes SET label = ?, label_locked = 1, updated_at = ? WHERE id = ?", [label, now(), theme_id])


def place_narrative(db: sqlite_utils.Database, narrative_id: int, theme_id: int | None) -> None:
    """A reviewer's choice of theme for a narrative (None: no theme); regrouping leaves it there."""
    db.execute("UPDATE narratives SET theme_id = ?, theme_locked = 1, updated_at = ? WHERE id = ?",
               [theme_id, now(), narrative_id])


def members(db: sqlite_utils.Database) -> dict[int, list[int]]:
    """Narrative ids of every active theme."""
    out: dict[int, list[int]] = {}
    for narrative_id, theme_id in db.execute(
            "SELECT n.id, n.theme_id FROM narratives n JOIN themes t ON t.id = n.theme_id "
            "WHERE n.status = 'active' AND t.status = 'active' ORDER BY n.id"):
        out.setdefault(theme_id, []).append(narrative_id)
    return out


def active(db: sqlite_utils.Database, theme_ids: Iterable[int]) -> set[int]:
    return {r[0] for r in _in(db, "SELECT id FROM themes WHERE status = 'active' AND id IN ({marks})", theme_ids)}
