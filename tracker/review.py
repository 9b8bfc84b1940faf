"""Reviewer actions: every write a fact-checker makes from the dashboard or ``tracker review``.

Each action is one transaction that makes the change and appends it to ``reviews`` (via
:func:`tracker.db.log_review`), so it takes effect at once and is audited. Membership changes leave
``narrative_constraints`` behind ('pin': the claim belongs there; 'exclude': it must never be there) and mark
rows ``assigned_by='reviewer'``; the clustering stage respects both. :func:`refresh_narrative` recomputes a
narrative's derived columns and is shared with the clustering stage.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import numpy as np
import sqlite_utils

from tracker import TrackerError
from tracker.db import blob_to_vector, get_meta, log_review, now, vector_to_blob

VERDICTS = ("false", "misleading", "unproven", "accurate", "mixed")
REVIEW_STATUSES = ("unreviewed", "in review", "reviewed")
TARGET_LABELS = ("favor", "against", "none")
NARRATIVE_LABELS = ("agree", "disagree", "discuss", "unrelated")
# the meta key under which the narratives stage records the embedding model it clusters with
CENTROID_MODEL_KEY = "narratives.model"


class ReviewError(TrackerError):
    """A review action refers to something missing or would break the store's rules."""


# --- derived columns -----------------------------------------------------------------------------------------

def _centroid_model(db: sqlite_utils.Database, hashes: list[str]) -> str | None:
    value = get_meta(db, CENTROID_MODEL_KEY)
    if value:
        return value.decode() if isinstance(value, bytes) else str(value)
    if not hashes:
        return None
    marks = ",".join("?" * min(len(hashes), 500))
    row = db.execute(
        f"SELECT model FROM embeddings WHERE content_hash IN ({marks}) GROUP BY model ORDER BY count(*) DESC",
        hashes[:500],
    ).fetchone()
    return row[0] if row else None


def covered_languages_clause(model: str | None, alias: str = "a") -> tuple[list[str], str]:
    """SQL ``AND ...`` keeping articles (alias ``alias``) in languages ``model`` represents, with its parameters;
    no clause for a model that represents every language."""
    from tracker.embed import languages_of

    languages = sorted(languages_of(model) or [])
    if not languages:
        return [], ""
    return languages, f"AND ({alias}.language IS NULL OR {alias}.language IN ({','.join('?' * len(languages))}))"


def refresh_narrative(db: sqlite_utils.Database, narrative_id: int) -> None:
    """Recompute a narrative's derived columns from its members (the caller holds the transaction).

    ``size`` counts member claims; ``n_articles`` counts distinct articles with near-duplicates
    (``articles.duplicate_of``) folded into the copy they point to; ``n_sources`` counts the outlets of those
    folded articles, so a syndicated story counts once. ``first_seen``/``last_seen`` are the earliest/latest
    publication dates of members, ``first_source_id`` the outlet of the earliest dated claim, and ``centroid``
    the float32 mean of member embeddings in languages the model represents (left unchanged when none is).
    """
    row = db.execute(
        """
        SELECT count(*), count(DISTINCT coalesce(a.duplicate_of, a.id)),
               count(DISTINCT coalesce(orig.source_id, a.source_id)), min(a.published), max(a.published)
        FROM narrative_claims nc JOIN claims c ON c.id = nc.claim_id JOIN articles a ON a.id = c.article_id
        LEFT JOIN articles orig ON orig.id = a.duplicate_of
        WHERE nc.narrative_id = ?
        """,
        [narrative_id],
    ).fetchone()
    first = db.execute(
        """
        SELECT a.source_id FROM narrative_claims nc JOIN claims c ON c.id = nc.claim_id
        JOIN articles a ON a.id = c.article_id
        WHERE nc.narrative_id = ? AND a.published IS NOT NULL ORDER BY a.published, a.id LIMIT 1
        """,
        [narrative_id],
    ).fetchone()
    model = _centroid_model(db, [r[0] for r in db.execute(
        "SELECT c.text_hash FROM narrative_claims nc JOIN claims c ON c.id = nc.claim_id WHERE nc.narrative_id = ? "
        "LIMIT 500", [narrative_id])])
    # members in languages the model does not represent (placed cross-lingually, or by a reviewer) carry no
    # meaningful vector under it, so they stay out of the centroid
    covered, clause = covered_languages_clause(model)
    weights = dict(db.execute(
        "SELECT c.text_hash, count(*) FROM narrative_claims nc JOIN claims c ON c.id = nc.claim_id "
        f"JOIN articles a ON a.id = c.article_id WHERE nc.narrative_id = ? {clause} GROUP BY c.text_hash",
        [narrative_id, *covered]).fetchall())
    hashes = list(weights)
    centroid: bytes | None = None
    if model and hashes:
        total = None
        count = 0
        for i in range(0, len(hashes), 500):
            chunk = hashes[i : i + 500]
            for h, blob in db.execute(
                f"SELECT content_hash, vector FROM embeddings WHERE model = ? AND content_hash IN "
                f"({','.join('?' * len(chunk))})", [model, *chunk]):
                vector = blob_to_vector(blob).astype(np.float64) * weights[h]
                total = vector if total is None else total + vector
                count += weights[h]
        if total is not None:
            centroid = vector_to_blob(total / count)
    db.execute(
        """
        UPDATE narratives SET size = ?, n_articles = ?, n_sources = ?, first_seen = ?, last_seen = ?,
            first_source_id = ?, centroid = coalesce(?, centroid), updated_at = ?
        WHERE id = ?
        """,
        [row[0], row[1], row[2], row[3], row[4], first[0] if first else None, centroid, now(), narrative_id],
    )


# --- helpers -------------------------------------------------------------------------------------------------

def _narrative(db: sqlite_utils.Database, narrative_id: int, *, active: bool = False) -> dict[str, Any]:
    cursor = db.execute("SELECT * FROM narratives WHERE id = ?", [narrative_id])
    row = cursor.fetchone()
    if row is None:
        raise ReviewError(f"no narrative {narrative_id}")
    out = dict(zip([d[0] for d in cursor.description], row, strict=True))
    if active and out["status"] != "active":
        raise ReviewError(f"narrative {narrative_id} is {out['status']}, not active")
    return out


def _membership(db: sqlite_utils.Database, claim_id: int) -> int | None:
    if db.execute("SELECT 1 FROM claims WHERE id = ?", [claim_id]).fetchone() is None:
        raise ReviewError(f"no claim {claim_id}")
    row = db.execute("SELECT narrative_id FROM narrative_claims WHERE claim_id = ?", [claim_id]).fetchone()
    return None if row is None else int(row[0])


def _constrain(db: sqlite_utils.Database, kind: str, claim_id: int, narrative_id: int, reviewer: str) -> None:
    opposite = "exclude" if kind == "pin" else "pin"
    db.execute("DELETE FROM narrative_constraints WHERE kind = ? AND claim_id = ? AND narrative_id = ?",
               [opposite, claim_id, narrative_id])
    db.execute(
        "INSERT OR IGNORE INTO narrative_constraints(kind, claim_id, narrative_id, created_by, created_at) "
        "VALUES (?, ?, ?, ?, ?)", [kind, claim_id, narrative_id, reviewer.strip(), now()],
    )


def _history(db: sqlite_utils.Database, event: str, narrative_id: int, reviewer: str,
             other_id: int | None = None, detail: dict[str, Any] | None = None) -> None:
    db.execute(
        "INSERT INTO narrative_history(at, event, narrative_id, other_id, actor, detail) VALUES (?,?,?,?,?,?)",
        [now(), event, narrative_id, other_id, reviewer.strip(), json.dumps(detail or {})],
    )


def _need_reviewer(reviewer: str | None) -> str:
    if not reviewer or not reviewer.strip():
        raise ReviewError("a review action needs the reviewer's name")
    return reviewer.strip()


def _drop_model_stance(db: sqlite_utils.Database, claim_id: int, narrative_id: int) -> None:
    """A claim that left a narrative has no stance toward it any more (a reviewer's own label is kept)."""
    db.execute("DELETE FROM narrative_stances WHERE claim_id = ? AND narrative_id = ? AND source = 'model'",
               [claim_id, narrative_id])


def _assign(db: sqlite_utils.Database, claim_id: int, narrative_id: int) -> None:
    db.execute("DELETE FROM unclustered_claims WHERE claim_id = ?", [claim_id])
    db.execute(
        "INSERT INTO narrative_claims(claim_id, narrative_id, similarity, assigned_by, assigned_at) "
        "VALUES (?, ?, NULL, 'reviewer', ?) ON CONFLICT(claim_id) DO UPDATE SET "
        "narrative_id = excluded.narrative_id, assigned_by = 'reviewer', assigned_at = excluded.assigned_at",
        [claim_id, narrative_id, now()],
    )


# --- narrative actions ---------------------------------------------------------------------------------------

def rename(db: sqlite_utils.Database, narrative_id: int, label: str, *, reviewer: str,
           note: str | None = None) -> None:
    """Give a narrative a reviewer's label and lock it, so re-clustering keeps it."""
    reviewer = _need_reviewer(reviewer)
    label = (label or "").strip()
    if not label:
        raise ReviewError("a narrative label cannot be empty")
    with db.atomic():
        old = _narrative(db, narrative_id)["label"]
        db.execute("UPDATE narratives SET label = ?, label_locked = 1, updated_at = ? WHERE id = ?",
                   [label, now(), narrative_id])
        _history(db, "renamed", narrative_id, reviewer, detail={"from": old, "to": label})
        log_review(db, reviewer, "rename", narrative_id=narrative_id, payload={"from": old, "to": label},
                   note=note)



def rename_theme(db: sqlite_utils.Database, theme_id: int, label: str, *, reviewer: str,
                 note: str | None = None) -> None:
    """Give a theme a reviewer's label; later regrouping keeps it while the theme lasts."""
    reviewer = _need_reviewer(reviewer)
    label = (label or "").strip()
    if not label:
        raise ReviewError("a theme label cannot be empty")
    with db.atomic():
        row = db.execute("SELECT label FROM themes WHERE id = ?", [theme_id]).fetchone()
        if row is None:
            raise ReviewError(f"no theme {theme_id}")
        db.execute("UPDATE themes SET label = ?, label_locked = 1, updated_at = ? WHERE id = ?",
                   [label, now(), theme_id])
        log_review(db, reviewer, "rename-theme", payload={"theme_id": theme_id, "from": row[0], "to": label},
                   note=note)


def set_theme(db: sqlite_utils.Database, narrative_id: int, theme_id: int | None, *, reviewer: str,
              note: str | None = None) -> None:
    """Put a narrative in a theme (or, with ``None``, in none); later regrouping leaves it there."""
    from tracker.themes import describe_themes

    reviewer = _need_reviewer(reviewer)
    with db.atomic():
        before = _narrative(db, narrative_id, active=True)["theme_id"]
        if theme_id is not None and db.execute(
                "SELECT 1 FROM themes WHERE id = ? AND status = 'active'", [theme_id]).fetchone() is None:
            raise ReviewError(f"no active theme {theme_id}")
        db.execute("UPDATE narratives SET theme_id = ?, theme_locked = 1, updated_at = ? WHERE id = ?",
                   [theme_id, now(), narrative_id])
        describe_themes(db, [t for t in (before, theme_id) if t is not None])
        log_review(db, reviewer, "set-theme", narrative_id=narrative_id, payload={"from": before, "to": theme_id},
                   note=note)

def merge(db: sqlite_utils.Database, source_ids: Iterable[int], into_id: int, *, reviewer: str,
          note: str | None = None) -> int:
    """Merge narratives ``source_ids`` into ``into_id``; returns how many claims moved.

    Every claim of the merged narrative becomes reviewer-assigned (the reviewer decided they belong together,
    so later clustering must not split them apart again); constraints and narrative stances that name a source
    are re-pointed to ``into_id``. A claim with an 'exclude' constraint on ``into_id`` is not moved in: it
    becomes unclustered.
    """
    reviewer = _need_reviewer(reviewer)
    sources = sorted({int(s) for s in source_ids} - {int(into_id)})
    if not sources:
        raise ReviewError("choose at least one narrative to merge into another")
    moved = 0
    with db.atomic():
        _narrative(db, into_id, active=True)
        for sid in sources:
            _narrative(db, sid, active=True)
        marks = ",".join("?" * len(sources))
        blocked = [r[0] for r in db.execute(
            f"SELECT nc.claim_id FROM narrative_claims nc "
            f"JOIN narrative_constraints k ON k.claim_id = nc.claim_id "
            f"AND k.kind = 'exclude' AND k.narrative_id = ? WHERE nc.narrative_id IN ({marks})",
            [into_id, *sources])]
        for cid in blocked:
            db.execute("DELETE FROM narrative_claims WHERE claim_id = ?", [cid])
            db.execute("INSERT OR IGNORE INTO unclustered_claims(claim_id) VALUES (?)", [cid])
        moved = db.execute(f"UPDATE narrative_claims SET narrative_id = ? WHERE narrative_id IN ({marks})",
                           [into_id, *sources]).rowcount
        db.execute("UPDATE narrative_claims SET assigned_by = 'reviewer' WHERE narrative_id = ?", [into_id])
        for table in ("narrative_constraints", "narrative_stances"):
            db.execute(f"UPDATE OR IGNORE {table} SET narrative_id = ? WHERE narrative_id IN ({marks})",
                       [into_id, *sources])
            db.execute(f"DELETE FROM {table} WHERE narrative_id IN ({marks})", sources)
        # a claim pinned to `into` cannot also be excluded from it
        db.execute("DELETE FROM narrative_constraints WHERE kind = 'exclude' AND narrative_id = ? AND claim_id IN "
                   "(SELECT claim_id FROM narrative_constraints WHERE kind = 'pin' AND narrative_id = ?)",
                   [into_id, into_id])
        db.execute(f"UPDATE narratives SET merged_into = ? WHERE merged_into IN ({marks})", [into_id, *sources])
        db.execute(f"UPDATE narratives SET status = 'merged', merged_into = ?, updated_at = ? "
                   f"WHERE id IN ({marks})",
                   [into_id, now(), *sources])
        for sid in sources:
            _history(db, "merged", sid, reviewer, other_id=into_id, detail={"into": into_id})
            refresh_narrative(db, sid)
        _history(db, "merged", into_id, reviewer, detail={"from": sources, "claims": moved})
        refresh_narrative(db, into_id)
        log_review(db, reviewer, "merge", narrative_id=into_id,
                   payload={"sources": sources, "into": into_id, "claims": moved, "unclustered": blocked},
                   note=note)
    return moved


def split(db: sqlite_utils.Database, narrative_id: int, claim_ids: Iterable[int], label: str, *,
          reviewer: str, note: str | None = None) -> int:
    """Move ``claim_ids`` out of ``narrative_id`` into a new narrative called ``label``; returns the new id."""
    reviewer = _need_reviewer(reviewer)
    ids = sorted({int(c) for c in claim_ids})
    label = (label or "").strip()
    if not ids:
        raise ReviewError("choose the claims to split off")
    if not label:
        raise ReviewError("the new narrative needs a label")
    with db.atomic():
        _narrative(db, narrative_id, active=True)
        members = {r[0] for r in db.execute("SELECT claim_id FROM narrative_claims WHERE narrative_id = ?",
                                            [narrative_id])}
        missing = [c for c in ids if c not in members]
        if missing:
            raise ReviewError(f"claims {missing} are not in narrative {narrative_id}")
        if len(ids) == len(members):
            raise ReviewError("a split must leave at least one claim behind (rename the narrative instead)")
        stamp = now()
        new_id = int(db.execute(
            "INSERT INTO narratives(label, label_locked, created_at, updated_at) VALUES (?, 1, ?, ?)",
            [label, stamp, stamp]).lastrowid or 0)
        for cid in ids:
            _assign(db, cid, new_id)
            _constrain(db, "pin", cid, new_id, reviewer)
            _constrain(db, "exclude", cid, narrative_id, reviewer)
            _drop_model_stance(db, cid, narrative_id)
        _history(db, "split", narrative_id, reviewer, other_id=new_id, detail={"claims": ids})
        _history(db, "split", new_id, reviewer, other_id=narrative_id,
                 detail={"claims": ids, "from": narrative_id})
        for nid in (narrative_id, new_id):
            refresh_narrative(db, nid)
        db.execute("UPDATE narratives SET central_claim_id = ?, representatives = ? WHERE id = ?",
                   [ids[0], json.dumps(ids[:3]), new_id])
        log_review(db, reviewer, "split", narrative_id=narrative_id,
                   payload={"new": new_id, "claims": ids, "label": label}, note=note)
    return new_id


def move(db: sqlite_utils.Database, claim_id: int, to_narrative_id: int, *, reviewer: str,
         note: str | None = None) -> None:
    """Move a claim to another narrative (pinned there, excluded from where it was)."""
    reviewer = _need_reviewer(reviewer)
    with db.atomic():
        _narrative(db, to_narrative_id, active=True)
        old = _membership(db, claim_id)
        if old == to_narrative_id:
            raise ReviewError(f"claim {claim_id} is already in narrative {to_narrative_id}")
        _assign(db, claim_id, to_narrative_id)
        _constrain(db, "pin", claim_id, to_narrative_id, reviewer)
        if old is not None:
            _constrain(db, "exclude", claim_id, old, reviewer)
            _drop_model_stance(db, claim_id, old)
            _history(db, "moved", old, reviewer, other_id=to_narrative_id, detail={"claim": claim_id})
            refresh_narrative(db, old)
        _history(db, "moved", to_narrative_id, reviewer, other_id=old, detail={"claim": claim_id})
        refresh_narrative(db, to_narrative_id)
        log_review(db, reviewer, "move", narrative_id=to_narrative_id, claim_id=claim_id,
                   payload={"from": old, "to": to_narrative_id}, note=note)


def exclude(db: sqlite_utils.Database, claim_id: int, narrative_id: int, *, reviewer: str,
            note: str | None = None) -> None:
    """Record that a claim does not belong to a narrative: it leaves it and may never be put back by the model."""
    reviewer = _need_reviewer(reviewer)
    with db.atomic():
        _narrative(db, narrative_id)
        if _membership(db, claim_id) == narrative_id:
            db.execute("DELETE FROM narrative_claims WHERE claim_id = ?", [claim_id])
            db.execute("INSERT OR IGNORE INTO unclustered_claims(claim_id) VALUES (?)", [claim_id])
        _constrain(db, "exclude", claim_id, narrative_id, reviewer)
        _drop_model_stance(db, claim_id, narrative_id)
        refresh_narrative(db, narrative_id)
        log_review(db, reviewer, "exclude", narrative_id=narrative_id, claim_id=claim_id, note=note)


def set_locked(db: sqlite_utils.Database, narrative_id: int, locked: bool, *, reviewer: str,
               note: str | None = None) -> None:
    """Lock (the model adds or removes nothing) or unlock a narrative."""
    reviewer = _need_reviewer(reviewer)
    with db.atomic():
        _narrative(db, narrative_id)
        db.execute("UPDATE narratives SET locked = ?, updated_at = ? WHERE id = ?",
                   [1 if locked else 0, now(), narrative_id])
        log_review(db, reviewer, "lock" if locked else "unlock", narrative_id=narrative_id, note=note)


def lock(db: sqlite_utils.Database, narrative_id: int, *, reviewer: str, note: str | None = None) -> None:
    """Lock a narrative against model changes."""
    set_locked(db, narrative_id, True, reviewer=reviewer, note=note)


def unlock(db: sqlite_utils.Database, narrative_id: int, *, reviewer: str, note: str | None = None) -> None:
    """Let the model change a narrative again."""
    set_locked(db, narrative_id, False, reviewer=reviewer, note=note)


def set_verdict(db: sqlite_utils.Database, narrative_id: int, verdict: str, *, reviewer: str,
                note: str | None = None, url: str | None = None) -> None:
    """Record a fact-check verdict on a narrative and mark it reviewed."""
    reviewer = _need_reviewer(reviewer)
    if verdict not in VERDICTS:
        raise ReviewError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
    with db.atomic():
        _narrative(db, narrative_id)
        stamp = now()
        db.execute(
            "UPDATE narratives SET verdict = ?, verdict_note = ?, verdict_url = ?, verdict_by = ?, "
            "verdict_at = ?, review_status = 'reviewed', updated_at = ? WHERE id = ?",
            [verdict, note or None, url or None, reviewer, stamp, stamp, narrative_id],
        )
        log_review(db, reviewer, "verdict", narrative_id=narrative_id,
                   payload={"verdict": verdict, "url": url or None}, note=note)


def set_review_status(db: sqlite_utils.Database, narrative_id: int, status: str, *, reviewer: str,
                      note: str | None = None) -> None:
    """Set a narrative's review status (unreviewed, in review, reviewed)."""
    reviewer = _need_reviewer(reviewer)
    if status not in REVIEW_STATUSES:
        raise ReviewError(f"review status must be one of {', '.join(REVIEW_STATUSES)}, not {status!r}")
    with db.atomic():
        _narrative(db, narrative_id)
        db.execute("UPDATE narratives SET review_status = ?, updated_at = ? WHERE id = ?",
                   [status, now(), narrative_id])
        log_review(db, reviewer, "status", narrative_id=narrative_id, payload={"status": status}, note=note)


# --- stance corrections --------------------------------------------------------------------------------------

def correct_stance(db: sqlite_utils.Database, subject: str, subject_id: int, target: str, label: str, *,
                   reviewer: str, note: str | None = None) -> None:
    """Set the stance of a claim or article toward ``target`` and keep it as a training label."""
    reviewer = _need_reviewer(reviewer)
    if subject not in ("claim", "article"):
        raise ReviewError(f"stance subject must be 'claim' or 'article', not {subject!r}")
    if label not in TARGET_LABELS:
        raise ReviewError(f"stance label must be one of {', '.join(TARGET_LABELS)}, not {label!r}")
    with db.atomic():
        row = db.execute("SELECT id, name FROM targets WHERE name = ?", [target]).fetchone()
        if row is None:
            raise ReviewError(f"no stance target {target!r}")
        text_row = db.execute(f"SELECT text FROM {'claims' if subject == 'claim' else 'articles'} WHERE id = ?",
                              [subject_id]).fetchone()
        if text_row is None:
            raise ReviewError(f"no {subject} {subject_id}")
        db.execute(
            "INSERT OR REPLACE INTO stances(subject, subject_id, target_id, label, score, model, source) "
            "VALUES (?, ?, ?, ?, 1.0, ?, 'reviewer')",
            [subject, subject_id, row[0], label, f"reviewer:{reviewer}"],
        )
        db.execute(
            "INSERT INTO stance_labels(task, target, text, label, origin, claim_id, created_by, created_at) "
            "VALUES ('target', ?, ?, ?, 'reviewer', ?, ?, ?)",
            [row[1], text_row[0], label, subject_id if subject == "claim" else None, reviewer, now()],
        )
        log_review(db, reviewer, "stance", claim_id=subject_id if subject == "claim" else None,
                   payload={"subject": subject, "subject_id": subject_id, "target": row[1], "label": label},
                   note=note)


def correct_narrative_stance(db: sqlite_utils.Database, claim_id: int, narrative_id: int, label: str, *,
                             reviewer: str, note: str | None = None) -> None:
    """Set a claim's stance toward a narrative (agree, disagree, discuss, unrelated) and keep it as a label."""
    reviewer = _need_reviewer(reviewer)
    if label not in NARRATIVE_LABELS:
        raise ReviewError(f"narrative stance must be one of {', '.join(NARRATIVE_LABELS)}, not {label!r}")
    with db.atomic():
        narrative = _narrative(db, narrative_id)
        text_row = db.execute("SELECT text FROM claims WHERE id = ?", [claim_id]).fetchone()
        if text_row is None:
            raise ReviewError(f"no claim {claim_id}")
        db.execute(
            "INSERT OR REPLACE INTO narrative_stances(claim_id, narrative_id, label, score, model, source) "
            "VALUES (?, ?, ?, 1.0, ?, 'reviewer')", [claim_id, narrative_id, label, f"reviewer:{reviewer}"],
        )
        db.execute(
            "INSERT INTO stance_labels(task, target, text, label, origin, claim_id, created_by, created_at) "
            "VALUES ('narrative', ?, ?, ?, 'reviewer', ?, ?, ?)",
            [narrative["label"] or "", text_row[0], label, claim_id, reviewer, now()],
        )
        log_review(db, reviewer, "narrative_stance", narrative_id=narrative_id, claim_id=claim_id,
                   payload={"label": label}, note=note)
