"""Reviewer actions: every write a fact-checker makes from the dashboard or ``tracker review``.

Each action is one write transaction that makes the change and appends it to the review log, so it takes effect
at once and is audited; if anything fails, nothing of it is stored. Membership changes (merge, split, move,
exclude) are reviewer actions handed to the membership planner (:mod:`tracker.planner`), which records them as
constraints (pins, exclusions) that every later model run respects, and whose plan the store applies.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tracker.embed import languages_of
from tracker.pipeline.narratives import describe_narratives, describe_themes
from tracker.planner import ReviewError, plan
from tracker.records import Exclude, Merge, Move, Split
from tracker.store import Store
from tracker.store import narratives as store_narratives
from tracker.store import reviews as store_reviews
from tracker.store import themes as store_themes

__all__ = ["ReviewError", "VERDICTS", "REVIEW_STATUSES", "TARGET_LABELS", "NARRATIVE_LABELS", "rename",
           "rename_theme", "set_theme", "merge", "split", "move", "exclude", "set_locked", "lock", "unlock",
           "set_verdict", "set_review_status", "correct_stance", "correct_narrative_stance", "resolve_flag"]

VERDICTS = ("false", "misleading", "unproven", "accurate", "mixed")
REVIEW_STATUSES = ("unreviewed", "in review", "reviewed")
TARGET_LABELS = ("favor", "against", "none")
NARRATIVE_LABELS = ("agree", "disagree", "discuss", "unrelated")


def _reviewer(name: str | None) -> str:
    if not name or not name.strip():
        raise ReviewError("a review action needs the reviewer's name")
    return name.strip()


def _narrative(db: Any, narrative_id: int, *, active: bool = False) -> dict[str, Any]:
    row = store_reviews.narrative(db, narrative_id)
    if row is None:
        raise ReviewError(f"no narrative {narrative_id}")
    if active and row["status"] != "active":
        raise ReviewError(f"narrative {narrative_id} is {row['status']}, not active")
    return row


def _describe(store: Store, narrative_ids: Iterable[int]) -> None:
    model = store_narratives.clusterer_settings(store.db)[0]
    describe_narratives(store, sorted(set(narrative_ids)), None, model=model, languages=languages_of(model),
                        force=True)


def _apply(store: Store, db: Any, action: Move | Exclude | Merge | Split, claims: Iterable[int],
           narratives: Iterable[int], reviewer: str) -> tuple[dict[int, int], Any]:
    """Plan a membership action against the store's current state and apply it (inside the transaction)."""
    state = store_narratives.membership_state(db, claims, narratives)
    decided = plan(state, actions=[action])
    ids = store_narratives.apply_plan(db, decided, actor=reviewer)
    _describe(store, [ids.get(n, n) for n in decided.touched if ids.get(n, n) >= 0])
    return ids, decided


# --- membership -------------------------------------------------------------------------------------------------

def merge(store: Store, source_ids: Iterable[int], into_id: int, *, reviewer: str, note: str | None = None) -> int:
    """Merge narratives ``source_ids`` into ``into_id``; returns how many claims moved.

    The merged claims are pinned to ``into_id`` (the reviewer decided they belong together, so later clustering
    must not split them apart again); constraints naming a merged narrative now name ``into_id``; a claim a
    reviewer excluded from any of them is left out (unclustered), so no claim is both a member and excluded.
    A verdict on a merged narrative moves to ``into_id``; narratives with different verdicts cannot be merged.
    """
    reviewer = _reviewer(reviewer)
    sources = sorted({int(s) for s in source_ids} - {int(into_id)})
    with store.write() as db:
        claims = store_narratives.members(db, sources)
        _, decided = _apply(store, db, Merge(tuple(sources), int(into_id)), claims, [into_id, *sources], reviewer)
        moved = sum(1 for t in decided.assign.values() if t == into_id)
        left_out = sorted(c for c, t in decided.assign.items() if t is None)
        store_reviews.log(db, reviewer, "merge", narrative_id=into_id, payload={
            "sources": sources, "into": into_id, "claims": moved, "unclustered": left_out}, note=note)
    return moved


def split(store: Store, narrative_id: int, claim_ids: Iterable[int], label: str, *, reviewer: str,
          note: str | None = None) -> int:
    """Move ``claim_ids`` out of ``narrative_id`` into a new narrative called ``label``; returns the new id.

    The claims are pinned to the new narrative and excluded from the old one. A verdict on the old narrative
    stays on both parts; the new part is flagged so a reviewer confirms it.
    """
    reviewer = _reviewer(reviewer)
    ids = sorted({int(c) for c in claim_ids})
    with store.write() as db:
        created, _ = _apply(store, db, Split(int(narrative_id), tuple(ids), label), ids, [narrative_id], reviewer)
        new_id = next(iter(created.values()))
        store_reviews.log(db, reviewer, "split", narrative_id=narrative_id,
                          payload={"new": new_id, "claims": ids, "label": label.strip()}, note=note)
    return new_id


def move(store: Store, claim_id: int, to_narrative_id: int, *, reviewer: str, note: str | None = None) -> None:
    """Move a claim to another narrative (pinned there, excluded from where it was)."""
    reviewer = _reviewer(reviewer)
    with store.write() as db:
        if not store_narratives.claim_exists(db, claim_id):
            raise ReviewError(f"no claim {claim_id}")
        before = store_narratives.membership(db, claim_id)
        _apply(store, db, Move(int(claim_id), int(to_narrative_id)), [claim_id], [to_narrative_id], reviewer)
        store_reviews.log(db, reviewer, "move", narrative_id=to_narrative_id, claim_id=claim_id,
                          payload={"from": before, "to": to_narrative_id}, note=note)


def exclude(store: Store, claim_id: int, narrative_id: int, *, reviewer: str, note: str | None = None) -> None:
    """Record that a claim does not belong to a narrative: it leaves it and the model never puts it back."""
    reviewer = _reviewer(reviewer)
    with store.write() as db:
        if not store_narratives.claim_exists(db, claim_id):
            raise ReviewError(f"no claim {claim_id}")
        _apply(store, db, Exclude(int(claim_id), int(narrative_id)), [claim_id], [narrative_id], reviewer)
        store_reviews.log(db, reviewer, "exclude", narrative_id=narrative_id, claim_id=claim_id, note=note)


# --- narrative fields -------------------------------------------------------------------------------------------

def rename(store: Store, narrative_id: int, label: str, *, reviewer: str, note: str | None = None) -> None:
    """Give a narrative a reviewer's label and lock it, so re-clustering keeps it."""
    reviewer = _reviewer(reviewer)
    label = (label or "").strip()
    if not label:
        raise ReviewError("a narrative label cannot be empty")
    with store.write() as db:
        old = _narrative(db, narrative_id)["label"]
        store_reviews.rename(db, narrative_id, label)
        store_narratives.history(db, "renamed", narrative_id, actor=reviewer, detail={"from": old, "to": label})
        store_reviews.log(db, reviewer, "rename", narrative_id=narrative_id, payload={"from": old, "to": label},
                          note=note)


def rename_theme(store: Store, theme_id: int, label: str, *, reviewer: str, note: str | None = None) -> None:
    """Give a theme a reviewer's label; later regrouping keeps it while the theme lasts."""
    reviewer = _reviewer(reviewer)
    label = (label or "").strip()
    if not label:
        raise ReviewError("a theme label cannot be empty")
    with store.write() as db:
        theme = store_themes.get(db, theme_id)
        if theme is None:
            raise ReviewError(f"no theme {theme_id}")
        store_themes.rename(db, theme_id, label)
        store_reviews.log(db, reviewer, "rename-theme", payload={"theme_id": theme_id, "from": theme["label"],
                                                                  "to": label}, note=note)


def set_theme(store: Store, narrative_id: int, theme_id: int | None, *, reviewer: str,
              note: str | None = None) -> None:
    """Put a narrative in a theme (or, with ``None``, in none); later regrouping leaves it there."""
    reviewer = _reviewer(reviewer)
    with store.write() as db:
        before = _narrative(db, narrative_id, active=True)["theme_id"]
        if theme_id is not None and not store_themes.active(db, [theme_id]):
            raise ReviewError(f"no active theme {theme_id}")
        store_themes.place_narrative(db, narrative_id, theme_id)
        describe_themes(db, [t for t in (before, theme_id) if t is not None])
        store_reviews.log(db, reviewer, "set-theme", narrative_id=narrative_id,
                          payload={"from": before, "to": theme_id}, note=note)


def set_locked(store: Store, narrative_id: int, locked: bool, *, reviewer: str, note: str | None = None) -> None:
    """Lock (the model adds or removes nothing) or unlock a narrative."""
    reviewer = _reviewer(reviewer)
    with store.write() as db:
        _narrative(db, narrative_id)
        store_reviews.set_locked(db, narrative_id, locked)
        store_reviews.log(db, reviewer, "lock" if locked else "unlock", narrative_id=narrative_id, note=note)


def lock(store: Store, narrative_id: int, *, reviewer: str, note: str | None = None) -> None:
    """Lock a narrative against model changes."""
    set_locked(store, narrative_id, True, reviewer=reviewer, note=note)


def unlock(store: Store, narrative_id: int, *, reviewer: str, note: str | None = None) -> None:
    """Let the model change a narrative again."""
    set_locked(store, narrative_id, False, reviewer=reviewer, note=note)


def set_verdict(store: Store, narrative_id: int, verdict: str, *, reviewer: str, note: str | None = None,
                url: str | None = None) -> None:
    """Record a fact-check verdict on a narrative and mark it reviewed (an inherited verdict becomes its own)."""
    reviewer = _reviewer(reviewer)
    if verdict not in VERDICTS:
        raise ReviewError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
    with store.write() as db:
        _narrative(db, narrative_id)
        store_reviews.set_verdict(db, narrative_id, verdict, note=note, url=url, reviewer=reviewer)
        for flag in store_narratives.flags(db, narrative_id):
            if flag["kind"] == "verdict-inherited" and flag["narrative_id"] == narrative_id:
                store_narratives.resolve_flag(db, flag["id"], reviewer)
        store_reviews.log(db, reviewer, "verdict", narrative_id=narrative_id,
                          payload={"verdict": verdict, "url": url or None}, note=note)


def set_review_status(store: Store, narrative_id: int, status: str, *, reviewer: str,
                      note: str | None = None) -> None:
    """Set a narrative's review status (unreviewed, in review, reviewed)."""
    reviewer = _reviewer(reviewer)
    if status not in REVIEW_STATUSES:
        raise ReviewError(f"review status must be one of {', '.join(REVIEW_STATUSES)}, not {status!r}")
    with store.write() as db:
        _narrative(db, narrative_id)
        store_reviews.set_review_status(db, narrative_id, status)
        store_reviews.log(db, reviewer, "status", narrative_id=narrative_id, payload={"status": status}, note=note)


def resolve_flag(store: Store, flag_id: int, *, reviewer: str, note: str | None = None) -> None:
    """Close a flag the model raised (a proposed merge, an inherited verdict) after looking at it."""
    reviewer = _reviewer(reviewer)
    with store.write() as db:
        flag = store_narratives.resolve_flag(db, flag_id, reviewer)
        if flag is None:
            raise ReviewError(f"no open flag {flag_id}")
        store_reviews.log(db, reviewer, "resolve-flag", narrative_id=flag["narrative_id"],
                          payload={"flag": flag_id, **flag}, note=note)


# --- stance corrections -----------------------------------------------------------------------------------------

def correct_stance(store: Store, subject: str, subject_id: int, target: str, label: str, *, reviewer: str,
                   note: str | None = None) -> None:
    """Set the stance of a claim or article toward ``target`` and keep it as a training label."""
    reviewer = _reviewer(reviewer)
    if subject not in ("claim", "article"):
        raise ReviewError(f"stance subject must be 'claim' or 'article', not {subject!r}")
    if label not in TARGET_LABELS:
        raise ReviewError(f"stance label must be one of {', '.join(TARGET_LABELS)}, not {label!r}")
    with store.write() as db:
        found = store_reviews.target_id(db, target)
        if found is None:
            raise ReviewError(f"no stance target {target!r}")
        text = store_reviews.subject_text(db, subject, subject_id)
        if text is None:
            raise ReviewError(f"no {subject} {subject_id}")
        store_reviews.set_stance(db, subject, subject_id, found[0], label, reviewer)
        store_reviews.add_label(db, "target", found[1], text, label, origin="reviewer",
                                claim_id=subject_id if subject == "claim" else None, created_by=reviewer)
        store_reviews.log(db, reviewer, "stance", claim_id=subject_id if subject == "claim" else None,
                          payload={"subject": subject, "subject_id": subject_id, "target": found[1], "label": label},
                          note=note)


def correct_narrative_stance(store: Store, claim_id: int, narrative_id: int, label: str, *, reviewer: str,
                             note: str | None = None) -> None:
    """Set a claim's stance toward a narrative (agree, disagree, discuss, unrelated) and keep it as a label."""
    reviewer = _reviewer(reviewer)
    if label not in NARRATIVE_LABELS:
        raise ReviewError(f"narrative stance must be one of {', '.join(NARRATIVE_LABELS)}, not {label!r}")
    with store.write() as db:
        narrative = _narrative(db, narrative_id)
        text = store_reviews.subject_text(db, "claim", claim_id)
        if text is None:
            raise ReviewError(f"no claim {claim_id}")
        store_reviews.set_narrative_stance(db, claim_id, narrative_id, label, reviewer)
        store_reviews.add_label(db, "narrative", narrative["label"] or "", text, label, origin="reviewer",
                                claim_id=claim_id, created_by=reviewer)
        store_reviews.log(db, reviewer, "narrative_stance", narrative_id=narrative_id, claim_id=claim_id,
                          payload={"label": label}, note=note)
