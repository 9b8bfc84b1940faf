"""Stance in the store: targets, stance rows, labelled examples and fitted models (JSON state plus arrays)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import sqlite_utils

from tracker.store.base import BadBlob, arrays_to_blob, blob_to_arrays, get_meta, now, set_meta
from tracker.store.narratives import _in

# --- targets ----------------------------------------------------------------------------------------------------


def upsert_target(db: sqlite_utils.Database, name: str, *, aliases: list[str], description: str,
                  examples: dict[str, list[str]], related: list[str] | None = None) -> int:
    db.execute(
        "INSERT INTO targets(name, aliases, description, examples, related) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(name) DO UPDATE SET aliases = excluded.aliases, description = excluded.description, "
        "examples = excluded.examples, related = excluded.related",
        [name, json.dumps(aliases, ensure_ascii=False), description, json.dumps(examples, ensure_ascii=False),
         json.dumps(related or [], ensure_ascii=False)])
    return int(db.execute("SELECT id FROM targets WHERE name = ?", [name]).fetchone()[0])


def has_target(db: sqlite_utils.Database, name: str) -> bool:
    return db.execute("SELECT 1 FROM targets WHERE name = ?", [name]).fetchone() is not None


def target(db: sqlite_utils.Database, name: str) -> dict[str, Any] | None:
    """Target ``name`` (case-insensitive) with aliases and examples decoded, or None."""
    row = db.execute("SELECT id, name, aliases, description, examples, related FROM targets "
                     "WHERE lower(name) = lower(?)", [name]).fetchone()
    if row is None:
        return None
    return {"id": row[0], "name": row[1], "aliases": _json(row[2], []), "description": row[3],
            "examples": _json(row[4], {}), "related": _json(row[5], [])}


def _json(raw: Any, default: Any) -> Any:
    try:
        return json.loads(raw) if raw else default
    except ValueError:
        return default


def target_names(db: sqlite_utils.Database) -> list[str]:
    return [r[0] for r in db.execute("SELECT name FROM targets ORDER BY id")]


def targets(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return [t for name in target_names(db) if (t := target(db, name)) is not None]


def article_texts_after(db: sqlite_utils.Database, after: int, limit: int) -> list[tuple[int, str | None, str]]:
    """``(id, title, text)`` of up to ``limit`` articles with an id above ``after``."""
    return db.execute("SELECT id, title, text FROM articles WHERE id > ? ORDER BY id LIMIT ?",
                      [after, limit]).fetchall()


# --- labels -----------------------------------------------------------------------------------------------------


def labels(db: sqlite_utils.Database, target_name: str) -> list[tuple[str, str]]:
    """``(text, label)`` of every user or reviewer label toward ``target_name``, oldest first; a claim labelled
    more than once counts with its latest label."""
    return db.execute("""
        SELECT text, label FROM stance_labels l WHERE task = 'target' AND lower(target) = lower(?)
          AND (claim_id IS NULL OR id = (SELECT max(id) FROM stance_labels m WHERE m.task = 'target'
                                         AND lower(m.target) = lower(l.target) AND m.claim_id = l.claim_id))
        ORDER BY id""", [target_name]).fetchall()


def add_labels(db: sqlite_utils.Database, rows: Iterable[tuple[str, str, str]], *, origin: str,
               created_by: str) -> int:
    """Store ``(target, text, label)`` examples; returns how many."""
    values = [(t, text, label, origin, created_by, now()) for t, text, label in rows]
    db.conn.executemany("INSERT INTO stance_labels(task, target, text, label, origin, created_by, created_at) "
                        "VALUES ('target', ?, ?, ?, ?, ?, ?)", values)
    return len(values)


# --- models -----------------------------------------------------------------------------------------------------


def save_model(db: sqlite_utils.Database, kind: str, *, params: dict[str, Any], metrics: dict[str, Any],
               n_train: int, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> str:
    """Record a fitted model; returns its version (``<kind>:v<n>``)."""
    n = db.execute("SELECT count(*) FROM models WHERE kind = ?", [kind]).fetchone()[0]
    version = f"{kind}:v{n + 1}"
    while db.execute("SELECT 1 FROM models WHERE version = ?", [version]).fetchone():
        n += 1
        version = f"{kind}:v{n + 1}"
    db.execute("INSERT INTO models(kind, version, params, metrics, n_train, state, arrays, created_at) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               [kind, version, json.dumps(params), json.dumps(metrics), n_train, json.dumps(state),
                arrays_to_blob(arrays), now()])
    return version


def latest_model(db: sqlite_utils.Database, kind: str) -> tuple[str, dict[str, Any], dict[str, np.ndarray]] | None:
    """The newest stored model of ``kind`` as (version, state, arrays); models of earlier versions that were
    pickled (no state) are skipped, never read.

    Raises:
        BadBlob: the newest model's state or arrays are not what tracker writes.
    """
    row = db.execute("SELECT version, state, arrays FROM models WHERE kind = ? AND state IS NOT NULL "
                     "ORDER BY id DESC LIMIT 1", [kind]).fetchone()
    if row is None:
        return None
    try:
        state = json.loads(row[1])
    except ValueError as exc:
        raise BadBlob(f"model {row[0]}: stored state is not JSON") from exc
    return row[0], state, blob_to_arrays(row[2]) if row[2] is not None else {}


def models(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Every stored model: kind, version, params, metrics, n_train, created_at (newest first)."""
    cursor = db.execute("SELECT kind, version, params, metrics, n_train, created_at FROM models ORDER BY id DESC")
    return [dict(zip([d[0] for d in cursor.description], r, strict=True)) for r in cursor.fetchall()]


# --- stances ----------------------------------------------------------------------------------------------------


def claims_without_stance(db: sqlite_utils.Database, target_id: int, *, recompute: bool) -> tuple[
    list[tuple[int, str, int, str | None]], int
]:
    """``(claim id, text, article id, article language)`` of claims past the target's stance watermark with no
    stance toward it yet (all claims with ``recompute``), in id order; and the watermark to set once done."""
    after = 0 if recompute else int(get_meta(db, f"stance.{target_id}.last_claim_id", 0) or 0)
    top = int(db.execute("SELECT coalesce(max(id), 0) FROM claims").fetchone()[0])
    where = "" if recompute else (
        "AND NOT EXISTS (SELECT 1 FROM stances s WHERE s.subject = 'claim' AND s.subject_id = c.id "
        "AND s.target_id = ?)")
    rows = db.execute(f"SELECT c.id, c.text, c.article_id, a.language FROM claims c "
                      f"JOIN articles a ON a.id = c.article_id WHERE c.id > ? {where} ORDER BY c.id",
                      [after] + ([] if recompute else [target_id])).fetchall()
    return rows, top


def set_stance_upto(db: sqlite_utils.Database, target_id: int, claim_id: int) -> None:
    set_meta(db, f"stance.{target_id}.last_claim_id", int(claim_id))


def article_headers(db: sqlite_utils.Database, article_ids: Iterable[int]) -> dict[int, tuple[str | None, str]]:
    """``article id -> (title, text)``."""
    return {r[0]: (r[1], r[2]) for r in _in(db, "SELECT id, title, text FROM articles WHERE id IN ({marks})",
                                            article_ids)}


def claim_spans_of_articles(db: sqlite_utils.Database, article_ids: Iterable[int]) -> dict[
    int, list[tuple[int, int, int, str]]
]:
    """``article id -> [(claim id, start, end, text)]``, each article's claims in reading order."""
    out: dict[int, list[tuple[int, int, int, str]]] = {}
    for article_id, claim_id, start, end, text in _in(
            db, "SELECT article_id, id, start, end, text FROM claims WHERE article_id IN ({marks}) "
                "ORDER BY article_id, idx", article_ids):
        out.setdefault(article_id, []).append((claim_id, start, end, text))
    return out


_STANCE_COLUMNS = "label, score, model, relevance, p_favor, p_against, p_none"
_SHARED_COLUMNS = "shared_favor, shared_against, shared_none"


def _save(db: sqlite_utils.Database, subject: str, target_id: int, rows: Sequence[tuple[Any, ...]],
          columns: str) -> None:
    names = [c.strip() for c in columns.split(",")]
    db.conn.executemany(
        f"INSERT INTO stances(subject, subject_id, target_id, {columns}, source) "
        f"VALUES (?, ?, ?, {', '.join('?' * len(names))}, 'model') ON CONFLICT(subject, subject_id, target_id) "
        f"DO UPDATE SET {', '.join(f'{n} = excluded.{n}' for n in names)} WHERE stances.source = 'model'",
        [(subject, row[0], target_id, *row[1:]) for row in rows])


def save_claim_stances(db: sqlite_utils.Database, target_id: int, rows: Sequence[tuple[Any, ...]]) -> None:
    """``(claim id, label, score, model, relevance, p_favor, p_against, p_none, shared_favor, shared_against,
    shared_none)`` rows (``shared_*``: the shared heads' probabilities before the target's adapter, from which the
    adapter is refitted without a transformer pass). A reviewer's stance is never overwritten."""
    _save(db, "claim", target_id, rows, f"{_STANCE_COLUMNS}, {_SHARED_COLUMNS}")


def claim_probabilities_of_articles(db: sqlite_utils.Database, target_id: int,
                                    article_ids: Iterable[int]) -> list[tuple[int, float, float, float, float]]:
    """``(article id, relevance, p_favor, p_against, p_none)`` of the claims of those articles that have a stance
    toward the target: the model's probabilities, or a reviewer's label as certainty."""
    return _in(db, """
        SELECT c.article_id, coalesce(s.relevance, 1.0),
               CASE WHEN s.source = 'reviewer' THEN s.label = 'favor' ELSE s.p_favor END,
               CASE WHEN s.source = 'reviewer' THEN s.label = 'against' ELSE s.p_against END,
               CASE WHEN s.source = 'reviewer' THEN s.label = 'none' ELSE s.p_none END
        FROM claims c CROSS JOIN stances s ON s.subject = 'claim' AND s.subject_id = c.id AND s.target_id = ?
        WHERE (s.p_favor IS NOT NULL OR s.source = 'reviewer') AND c.article_id IN ({marks})""",
               article_ids, [target_id])  # from the articles' claims: the target's stances are every claim's


def save_article_stances(db: sqlite_utils.Database, target_id: int, rows: Sequence[tuple[Any, ...]]) -> None:
    """``(article id, label, score, model, relevance, p_favor, p_against, p_none)`` rows; a reviewer's stance is
    never overwritten."""
    _save(db, "article", target_id, rows, _STANCE_COLUMNS)


def article_probabilities(db: sqlite_utils.Database) -> list[tuple[int, str, float | None, float | None,
                                                                   float | None]]:
    """``(article id, target name, p_favor, p_against, p_none)`` of every article stance (None off-target)."""
    return db.execute("SELECT s.subject_id, t.name, s.p_favor, s.p_against, s.p_none FROM stances s "
                      "JOIN targets t ON t.id = s.target_id WHERE s.subject = 'article'").fetchall()


def adaptable_claims(db: sqlite_utils.Database, target_id: int) -> list[tuple[int, str, int, str | None, float,
                                                                             float, float]]:
    """``(claim id, text, article id, article language, shared_favor, shared_against, shared_none)`` of the
    model's claim stances toward the target that keep their shared probabilities (the adapter reads those)."""
    return db.execute("""
        SELECT c.id, c.text, c.article_id, a.language, s.shared_favor, s.shared_against, s.shared_none
        FROM stances s JOIN claims c ON c.id = s.subject_id JOIN articles a ON a.id = c.article_id
        WHERE s.subject = 'claim' AND s.target_id = ? AND s.source = 'model' AND s.shared_favor IS NOT NULL
        ORDER BY c.article_id, c.id""", [target_id]).fetchall()


def update_probabilities(db: sqlite_utils.Database, target_id: int,
                         rows: Sequence[tuple[int, str, float, str, float, float, float]]) -> None:
    """``(claim id, label, score, model, p_favor, p_against, p_none)`` for model rows (never a reviewer's)."""
    db.conn.executemany(
        "UPDATE stances SET label = ?, score = ?, model = ?, p_favor = ?, p_against = ?, p_none = ? "
        "WHERE subject = 'claim' AND subject_id = ? AND target_id = ? AND source = 'model'",
        [(label, score, model, pf, pa, pn, c, target_id) for c, label, score, model, pf, pa, pn in rows])


def article_relevance(db: sqlite_utils.Database, target_id: int, article_ids: Iterable[int]) -> dict[
    int, tuple[bool, float]
]:
    """``article id -> (about the target, relevance)`` as the stance stage judged it."""
    return {r[0]: (not str(r[1]).endswith(("+off-target", "+no-mention")), float(r[2] or 0.0)) for r in _in(
        db, "SELECT subject_id, model, relevance FROM stances WHERE subject = 'article' AND target_id = ? "
            "AND subject_id IN ({marks})", article_ids, [target_id])}


def stance_queue_candidates(db: sqlite_utils.Database, target_id: int, limit: int) -> list[dict[str, Any]]:
    """The model's on-target claim stances toward the target that nobody has labelled, least certain first
    (``limit`` rows), with outlet and date."""
    cursor = db.execute("""
        SELECT c.id AS claim_id, c.text, c.text_hash, s.label, s.score, s.p_favor, s.p_against, s.p_none,
               s.relevance, src.name AS source, a.published, a.title
        FROM stances s JOIN claims c ON c.id = s.subject_id JOIN articles a ON a.id = c.article_id
        LEFT JOIN sources src ON src.id = a.source_id
        WHERE s.subject = 'claim' AND s.target_id = ? AND s.source = 'model' AND s.p_favor IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM stance_labels l WHERE l.task = 'target' AND l.claim_id = c.id)
        ORDER BY s.score ASC, c.id LIMIT ?""", [target_id, limit])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def members_without_narrative_stance(db: sqlite_utils.Database) -> tuple[
    list[tuple[int, int, str | None, str, str | None]], str
]:
    """``(claim id, narrative id, attribution, claim text, central claim text)`` of claims placed in a narrative
    since the last narrative-stance run that have no stance toward it, and the time to remember as that run's
    start."""
    since = get_meta(db, "stance.narrative.since", "") or ""
    started = now()
    rows = db.execute(
        """SELECT nc.claim_id, nc.narrative_id, c.attribution, c.text, central.text FROM narrative_claims nc
           JOIN claims c ON c.id = nc.claim_id JOIN narratives n ON n.id = nc.narrative_id
           LEFT JOIN claims central ON central.id = n.central_claim_id
           LEFT JOIN narrative_stances ns ON ns.claim_id = nc.claim_id AND ns.narrative_id = nc.narrative_id
           WHERE nc.assigned_at >= ? AND ns.claim_id IS NULL""", [since]).fetchall()
    return rows, started


def save_narrative_stances(db: sqlite_utils.Database, rows: Sequence[tuple[int, int, str, float, str]], *,
                           since: str) -> None:
    """``(claim id, narrative id, label, score, model)`` rows, and ``since`` as the start of this run. (Model
    rows of claims that left a narrative are removed when they leave it.)"""
    db.conn.executemany("INSERT OR IGNORE INTO narrative_stances(claim_id, narrative_id, label, score, model, "
                        "source) VALUES (?, ?, ?, ?, ?, 'model')", rows)
    set_meta(db, "stance.narrative.since", since)
