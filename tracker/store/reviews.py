"""Reviewer writes: the append-only review log, and the narrative fields only reviewers set (labels, verdicts,
review status, locks, stance corrections). Membership changes go through the planner and
:func:`tracker.store.narratives.apply_plan`. Every function runs inside the caller's transaction."""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from tracker import TrackerError
from tracker.store.base import now


def log(db: sqlite_utils.Database, reviewer: str, action: str, *, narrative_id: int | None = None,
        claim_id: int | None = None, payload: dict[str, Any] | None = None, note: str | None = None) -> int:
    """Append one reviewer action to the log."""
    if not reviewer or not reviewer.strip():
        raise TrackerError("a review action needs the reviewer's name")
    cursor = db.execute(
        "INSERT INTO reviews(at, reviewer, action, narrative_id, claim_id, payload, note) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [now(), reviewer.strip(), action, narrative_id, claim_id, json.dumps(payload or {}, ensure_ascii=False),
         note])
    return int(cursor.lastrowid)


def narrative(db: sqlite_utils.Database, narrative_id: int) -> dict[str, Any] | None:
    """A narrative's row (without its centroid), or None."""
    cursor = db.execute("SELECT * FROM narratives WHERE id = ?", [narrative_id])
    row = cursor.fetchone()
    if row is None:
        return None
    out = dict(zip([d[0] for d in cursor.description], row, strict=True))
    out.pop("centroid", None)
    return out


def rename(db: sqlite_utils.Database, narrative_id: int, label: str) -> None:
    db.execute("UPDATE narratives SET label = ?, label_locked = 1, updated_at = ? WHERE id = ?",
               [label, now(), narrative_id])


def set_locked(db: sqlite_utils.Database, narrative_id: int, locked: bool) -> None:
    db.execute("UPDATE narratives SET locked = ?, updated_at = ? WHERE id = ?", [int(locked), now(), narrative_id])


def set_verdict(db: sqlite_utils.Database, narrative_id: int, verdict: str, *, note: str | None, url: str | None,
                reviewer: str) -> None:
    """Record a verdict (its own, no longer inherited) and mark the narrative reviewed."""
    stamp = now()
    db.execute(
        "UPDATE narratives SET verdict = ?, verdict_note = ?, verdict_url = ?, verdict_by = ?, verdict_at = ?, "
        "verdict_from = NULL, review_status = 'reviewed', updated_at = ? WHERE id = ?",
        [verdict, note or None, url or None, reviewer, stamp, stamp, narrative_id])


def set_review_status(db: sqlite_utils.Database, narrative_id: int, status: str) -> None:
    db.execute("UPDATE narratives SET review_status = ?, updated_at = ? WHERE id = ?", [status, now(), narrative_id])


def target_id(db: sqlite_utils.Database, name: str) -> tuple[int, str] | None:
    row = db.execute("SELECT id, name FROM targets WHERE lower(name) = lower(?)", [name]).fetchone()
    return None if row is None else (int(row[0]), str(row[1]))


def subject_text(db: sqlite_utils.Database, subject: str, subject_id: int) -> str | None:
    table = {"claim": "claims", "article": "articles"}[subject]
    row = db.execute(f"SELECT text FROM {table} WHERE id = ?", [subject_id]).fetchone()
    return None if row is None else row[0]


def set_stance(db: sqlite_utils.Database, subject: str, subject_id: int, target_id: int, label: str,
               reviewer: str) -> None:
    """A reviewer's stance of a claim or article toward a target; no model run overwrites it."""
    db.execute(
        "INSERT INTO stances(subject, subject_id, target_id, label, score, model, source) "
        "VALUES (?, ?, ?, ?, 1.0, ?, 'reviewer') ON CONFLICT(subject, subject_id, target_id) DO UPDATE SET "
        "label = excluded.label, score = 1.0, model = excluded.model, source = 'reviewer'",
        [subject, subject_id, target_id, label, f"reviewer:{reviewer}"])


def set_narrative_stance(db: sqlite_utils.Database, claim_id: int, narrative_id: int, label: str,
                         reviewer: str) -> None:
    db.execute(
        "INSERT INTO narrative_stances(claim_id, narrative_id, label, score, model, source) "
        "VALUES (?, ?, ?, 1.0, ?, 'reviewer') ON CONFLICT(claim_id, narrative_id) DO UPDATE SET "
        "label = excluded.label, score = 1.0, model = excluded.model, source = 'reviewer'",
        [claim_id, narrative_id, label, f"reviewer:{reviewer}"])


def add_label(db: sqlite_utils.Database, task: str, target: str, text: str, label: str, *, origin: str,
              claim_id: int | None = None, created_by: str | None = None) -> None:
    """Keep a labelled example that stance models learn from."""
    db.execute(
        "INSERT INTO stance_labels(task, target, text, label, origin, claim_id, created_by, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [task, target, text, label, origin, claim_id, created_by, now()])


def log_rows(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """The whole review log, oldest first."""
    cursor = db.execute("SELECT * FROM reviews ORDER BY id")
    return [dict(zip([d[0] for d in cursor.description], r, strict=True)) for r in cursor.fetchall()]
