"""Narratives in the store: what the membership planner reads, applying its plans, the clusterer's state,
derived columns and descriptions, and flags for reviewers.

Every write here runs inside the caller's transaction (``with store.write() as db:``).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import sqlite_utils

from tracker.records import MembershipState, NarrativeState, Plan
from tracker.store.base import (
    BadBlob,
    arrays_to_blob,
    blob_to_arrays,
    blob_to_vector,
    blobs_to_matrix,
    get_meta,
    get_meta_json,
    now,
    set_meta,
    set_meta_json,
    vector_to_blob,
)
from tracker.store.vectors import chunks, marks

STATE_KEY = "narratives.state"
MODEL_KEY = "narratives.model"
PARAMS_KEY = "narratives.params"
WATERMARK_KEY = "narratives.last_claim_id"


# --- what the planner reads -------------------------------------------------------------------------------------

def _in(db: sqlite_utils.Database, sql: str, values: Iterable[Any], params: Sequence[Any] = ()) -> list[tuple]:
    """Run ``sql`` (with one ``{marks}`` placeholder for an IN list) over ``values`` in chunks."""
    rows: list[tuple] = []
    for chunk in chunks(sorted(set(values))):
        rows += db.execute(sql.format(marks=marks(chunk)), [*params, *chunk]).fetchall()
    return rows


def narrative_states(db: sqlite_utils.Database, ids: Iterable[int]) -> dict[int, NarrativeState]:
    """Planner view of narratives ``ids`` and of every narrative they were merged into."""
    out: dict[int, NarrativeState] = {}
    wanted = {int(i) for i in ids if i is not None}
    while wanted:
        rows = _in(db, "SELECT id, status, merged_into, locked, verdict, size, "
                       "label_locked OR theme_locked OR verdict IS NOT NULL FROM narratives WHERE id IN ({marks})",
                   wanted)
        for r in rows:
            out[r[0]] = NarrativeState(id=r[0], status=r[1], merged_into=r[2], locked=bool(r[3]), verdict=r[4],
                                       size=int(r[5] or 0), reviewed=bool(r[6]))
        wanted = {s.merged_into for s in out.values() if s.merged_into is not None} - set(out)
    return out


def membership_state(db: sqlite_utils.Database, claim_ids: Iterable[int],
                     narrative_ids: Iterable[int] = ()) -> MembershipState:
    """Memberships and reviewer constraints of ``claim_ids``, and the constraints naming ``narrative_ids``."""
    claims = {int(c) for c in claim_ids}
    state = MembershipState()
    for claim, narrative, by in _in(db, "SELECT claim_id, narrative_id, assigned_by FROM narrative_claims "
                                        "WHERE claim_id IN ({marks})", claims):
        state.members[claim] = narrative
        if by == "reviewer":
            state.reviewer_placed.add(claim)
    constraints = _in(db, "SELECT kind, claim_id, narrative_id FROM narrative_constraints WHERE claim_id IN ({marks})",
                      claims)
    constraints += _in(db, "SELECT kind, claim_id, narrative_id FROM narrative_constraints "
                           "WHERE narrative_id IN ({marks})", narrative_ids)
    for kind, claim, narrative in set(constraints):
        if kind == "pin":
            state.pins[claim] = narrative
        elif kind == "exclude":
            state.excludes.add((claim, narrative))
    named = set(state.members.values()) | set(state.pins.values()) | {n for _, n in state.excludes}
    state.narratives = narrative_states(db, named | {int(n) for n in narrative_ids})
    return state


def members(db: sqlite_utils.Database, narrative_ids: Iterable[int]) -> list[int]:
    """Claim ids in narratives ``narrative_ids``."""
    return [r[0] for r in _in(db, "SELECT claim_id FROM narrative_claims WHERE narrative_id IN ({marks})",
                              narrative_ids)]


def assignments(db: sqlite_utils.Database) -> dict[int, int]:
    """Every clustered claim and its narrative."""
    return dict(db.execute("SELECT claim_id, narrative_id FROM narrative_claims").fetchall())


def membership(db: sqlite_utils.Database, claim_id: int) -> int | None:
    """The narrative ``claim_id`` is in, or None."""
    row = db.execute("SELECT narrative_id FROM narrative_claims WHERE claim_id = ?", [claim_id]).fetchone()
    return None if row is None else int(row[0])


def claim_exists(db: sqlite_utils.Database, claim_id: int) -> bool:
    return db.execute("SELECT 1 FROM claims WHERE id = ?", [claim_id]).fetchone() is not None


def cluster_scope(db: sqlite_utils.Database, cluster_ids: Iterable[int], *, claims: bool = True,
                  overlap: bool = True) -> tuple[dict[int, int], dict[tuple[int, int], int]]:
    """Claims of clusters ``cluster_ids`` (claim -> stored cluster id; unless ``claims`` is False) and the
    clusters' overlap with narratives ((cluster, narrative, assigned_by) -> members; unless ``overlap`` is False),
    read set-wise from ``claim_clusters``."""
    cluster_ids = set(cluster_ids)
    members = {c: k for c, k in _in(db, "SELECT claim_id, cluster_id FROM claim_clusters WHERE cluster_id IN "
                                        "({marks})", cluster_ids)} if claims else {}
    counts = {(k, n, by): count for k, n, by, count in _in(  # kept by triggers (migration 017): no member is read
        db, "SELECT cluster_id, narrative_id, assigned_by, claims FROM cluster_narratives WHERE cluster_id IN "
            "({marks})", cluster_ids)} if overlap else {}
    return members, counts


def all_clusters(db: sqlite_utils.Database) -> tuple[dict[int, int], dict[tuple[int, int], int]]:
    """Every clustered claim (claim -> cluster) and the overlap of every cluster with narratives (a rebuild)."""
    claims = dict(db.execute("SELECT claim_id, cluster_id FROM claim_clusters").fetchall())
    overlap = {(k, n, by): count for k, n, by, count in db.execute(
        "SELECT cluster_id, narrative_id, assigned_by, claims FROM cluster_narratives")}
    return claims, overlap


def counted_overlap(db: sqlite_utils.Database) -> dict[tuple[int, int, str], int]:
    """The overlap of every cluster with narratives counted from the members: what ``cluster_narratives`` holds."""
    return {(k, n, by): count for k, n, by, count in db.execute(
        "SELECT cc.cluster_id, nc.narrative_id, nc.assigned_by, count(*) FROM claim_clusters cc "
        "JOIN narrative_claims nc ON nc.claim_id = cc.claim_id GROUP BY 1, 2, 3")}


# --- applying a plan --------------------------------------------------------------------------------------------

def mark_volume_days(db: sqlite_utils.Database, claim_ids: Sequence[int]) -> None:
    """Note the days of these claims' articles (a near-duplicate's: its original's) as days whose stored theme
    counts may be out of date (see :func:`tracker.store.themes.settle_volume`)."""
    if claim_ids:
        db.execute(f"""
            INSERT OR IGNORE INTO theme_volume_days(day)
            SELECT DISTINCT coalesce(o.published, a.published) FROM claims c JOIN articles a ON a.id = c.article_id
            LEFT JOIN articles o ON o.id = a.duplicate_of
            WHERE c.id IN ({marks(claim_ids)}) AND coalesce(o.published, a.published) IS NOT NULL""", list(claim_ids))


def apply_plan(db: sqlite_utils.Database, plan: Plan, *, actor: str) -> dict[int, int]:
    """Write ``plan`` (inside the caller's transaction); returns the ids given to the plan's new narratives.

    Derived columns (size, reach, dates) of every narrative it touches are recomputed; descriptions (keywords,
    central claim, centroid) are the caller's next step.
    """
    stamp = now()
    ids: dict[int, int] = {}
    for new in plan.create:
        cursor = db.execute("INSERT INTO narratives(label, label_locked, created_at, updated_at) VALUES (?, ?, ?, ?)",
                            [new.label, int(new.label_locked), stamp, stamp])
        ids[new.key] = int(cursor.lastrowid)

    def real(n: int | None) -> int | None:
        return None if n is None else ids.get(n, n)

    moved = list(plan.assign)
    previous = dict(_in(db, "SELECT claim_id, narrative_id FROM narrative_claims WHERE claim_id IN ({marks})", moved))
    joined: dict[int, list[int]] = defaultdict(list)  # narrative -> claims that join it (for the stats)
    for c, t in plan.assign.items():
        if t is not None and previous.get(c) != real(t):
            joined[real(t)].append(c)  # type: ignore[index]
    lost = {n for c, n in previous.items() if n != real(plan.assign[c])}
    for chunk in chunks(moved):  # a claim that changes narrative has no model stance toward its old one
        db.execute(f"DELETE FROM narrative_stances WHERE source = 'model' AND claim_id IN ({marks(chunk)})", chunk)
        mark_volume_days(db, chunk)
    gone = [c for c, t in plan.assign.items() if t is None]
    for chunk in chunks(gone):
        db.execute(f"DELETE FROM narrative_claims WHERE claim_id IN ({marks(chunk)})", chunk)
    db.conn.executemany("INSERT OR IGNORE INTO unclustered_claims(claim_id) VALUES (?)", [(c,) for c in gone])
    placed = [(c, real(t), plan.similarity.get(c), "reviewer" if c in plan.by_reviewer else "model", stamp)
              for c, t in plan.assign.items() if t is not None]
    db.conn.executemany(
        "INSERT INTO narrative_claims(claim_id, narrative_id, similarity, assigned_by, assigned_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT(claim_id) DO UPDATE SET narrative_id = excluded.narrative_id, "
        "similarity = excluded.similarity, assigned_by = excluded.assigned_by, assigned_at = excluded.assigned_at",
        [p for p in placed if p[0] not in plan.carried])
    db.conn.executemany(  # moving between narratives that show the same verdict: the join time is kept
        "UPDATE narrative_claims SET narrative_id = ?, similarity = ?, assigned_by = ? WHERE claim_id = ?",
        [(p[1], p[2], p[3], p[0]) for p in placed if p[0] in plan.carried])
    for chunk in chunks([p[0] for p in placed]):
        db.execute(f"DELETE FROM unclustered_claims WHERE claim_id IN ({marks(chunk)})", chunk)
    # constraints; a claim pinned where it already is becomes reviewer-placed there
    db.conn.executemany("DELETE FROM narrative_constraints WHERE kind = ? AND claim_id = ? AND narrative_id = ?",
                        [(k, c, real(n)) for k, c, n in sorted(plan.unconstrain)])
    db.conn.executemany(
        "INSERT OR IGNORE INTO narrative_constraints(kind, claim_id, narrative_id, created_by, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [("pin", c, real(n), actor, stamp) for c, n in sorted(plan.pins)]
        + [("exclude", c, real(n), actor, stamp) for c, n in sorted(plan.excludes)])
    db.conn.executemany("UPDATE narrative_claims SET assigned_by = 'reviewer' WHERE claim_id = ? AND narrative_id = ?",
                        [(c, real(n)) for c, n in sorted(plan.pins)])
    for n, (status, into) in sorted(plan.status.items()):
        db.execute("UPDATE narratives SET status = ?, merged_into = ?, updated_at = ? WHERE id = ?",
                   [status, real(into), stamp, real(n)])
        if status == "merged":  # a reviewer's stance labels toward it now concern the narrative that holds it
            db.execute("UPDATE OR IGNORE narrative_stances SET narrative_id = ? WHERE narrative_id = ? "
                       "AND source = 'reviewer'", [real(into), real(n)])
            db.execute("DELETE FROM narrative_stances WHERE narrative_id = ?", [real(n)])
    for n, source in sorted(plan.inherit_verdict.items()):
        db.execute(
            "UPDATE narratives SET (verdict, verdict_note, verdict_url, verdict_by, verdict_at, review_status) = "
            "(SELECT verdict, verdict_note, verdict_url, verdict_by, verdict_at, 'in review' FROM narratives "
            "WHERE id = ?), verdict_from = ? WHERE id = ?", [real(source), real(source), real(n)])
    db.conn.executemany(
        "INSERT INTO narrative_history(at, event, narrative_id, other_id, actor, detail) VALUES (?, ?, ?, ?, ?, ?)",
        [(stamp, e.event, real(e.narrative_id), real(e.other_id), actor, json.dumps(_real_detail(e.detail, real)))
         for e in plan.history])
    for flag in plan.flags:
        add_flag(db, flag.kind, real(flag.narrative_id), real(flag.other_id), flag.detail, stamp=stamp)
    changed = {real(n) for n in set(plan.status) | set(plan.inherit_verdict)} | lost
    refresh_stats(db, [real(n) for n in plan.touched | set(plan.status) | set(plan.inherit_verdict)],
                  joined={n: cs for n, cs in joined.items() if n not in changed})
    return ids


def _real_detail(detail: dict[str, Any], real: Any) -> dict[str, Any]:
    return {k: real(v) if k in ("split_from", "into", "from") and isinstance(v, int) else v
            for k, v in detail.items()}


def add_flag(db: sqlite_utils.Database, kind: str, narrative_id: int | None, other_id: int | None,
             detail: dict[str, Any], *, stamp: str | None = None) -> None:
    """Open a flag, unless the same one (kind and pair) is already open."""
    if narrative_id is None:
        return
    open_ = db.execute("SELECT 1 FROM narrative_flags WHERE kind = ? AND narrative_id = ? AND other_id IS ? "
                       "AND resolved_at IS NULL", [kind, narrative_id, other_id]).fetchone()
    if open_ is None:
        db.execute("INSERT INTO narrative_flags(kind, narrative_id, other_id, detail, created_at) "
                   "VALUES (?, ?, ?, ?, ?)", [kind, narrative_id, other_id, json.dumps(detail), stamp or now()])


def flags(db: sqlite_utils.Database, narrative_id: int | None = None, *, open_only: bool = True) -> list[
    dict[str, Any]
]:
    """Flags on a narrative (as either side), or all; newest first."""
    where = ["resolved_at IS NULL"] if open_only else []
    params: list[Any] = []
    if narrative_id is not None:
        where.append("(narrative_id = ? OR other_id = ?)")
        params += [narrative_id, narrative_id]
    cursor = db.execute(
        "SELECT f.id, f.kind, f.narrative_id, f.other_id, f.detail, f.created_at, f.resolved_at, f.resolved_by, "
        "n.label AS narrative_label, o.label AS other_label FROM narrative_flags f "
        "LEFT JOIN narratives n ON n.id = f.narrative_id LEFT JOIN narratives o ON o.id = f.other_id "
        f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY f.id DESC", params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def resolve_flag(db: sqlite_utils.Database, flag_id: int, reviewer: str) -> dict[str, Any] | None:
    """Close a flag; returns it, or None when there is no such open flag."""
    row = db.execute("SELECT kind, narrative_id, other_id FROM narrative_flags WHERE id = ? AND resolved_at IS NULL",
                     [flag_id]).fetchone()
    if row is None:
        return None
    db.execute("UPDATE narrative_flags SET resolved_at = ?, resolved_by = ? WHERE id = ?", [now(), reviewer, flag_id])
    return {"kind": row[0], "narrative_id": row[1], "other_id": row[2]}


def refresh_stats(db: sqlite_utils.Database, narrative_ids: Iterable[int | None], *,
                  joined: Mapping[int, Sequence[int]] | None = None) -> None:
    """Recompute size, distinct articles and outlets (near-duplicates folded into the copy they point to, so a
    syndicated story counts once), first/last dates, the first outlet and the mean check-worthiness of narratives,
    set-wise.

    A narrative in ``joined`` only gained those claims (none left it): its stats grow from the stored ones and the
    joining claims alone, so an increment costs its new claims, not the members of every narrative they join (at
    1,000,000 claims those held 81% of the store). The others are counted from all their members, as is one whose
    stored outlets or scored count are unknown or that a joining claim dated on or before its first date joins.
    """
    ids = sorted({int(n) for n in narrative_ids if n is not None})
    if not ids:
        return
    grown = _grow_stats(db, {n: joined[n] for n in ids if joined and n in joined})
    full = [n for n in ids if n not in grown]
    stats = dict(grown)
    # One pass over the members. The first outlet is that of the earliest dated article (lowest id on a tie): the
    # smallest of "published \x01 id \x01 outlet" keys, whose first field is also first_seen.
    for n, size, articles, outlets, earliest, last, checkworthy, scored in _in(db, """
        SELECT nc.narrative_id, count(*), count(DISTINCT coalesce(a.duplicate_of, a.id)),
               json_group_array(DISTINCT coalesce(orig.source_id, a.source_id)),
               min(a.published || char(1) || printf('%012d', a.id) || char(1) || coalesce(a.source_id, '')),
               max(a.published), avg(c.checkworthy), count(c.checkworthy)
        FROM narrative_claims nc JOIN claims c ON c.id = nc.claim_id JOIN articles a ON a.id = c.article_id
        LEFT JOIN articles orig ON orig.id = a.duplicate_of
        WHERE nc.narrative_id IN ({marks}) GROUP BY nc.narrative_id""", full):
        published, _, outlet = earliest.split("\x01") if earliest else (None, None, "")
        outlets = sorted(o for o in json.loads(outlets) if o is not None)
        stats[n] = (size, articles, len(outlets), published, last, checkworthy, int(outlet) if outlet else None,
                    json.dumps(outlets), scored)
    stamp = now()
    db.conn.executemany(
        "UPDATE narratives SET size = ?, n_articles = ?, n_sources = ?, first_seen = ?, last_seen = ?, "
        "checkworthy = ?, first_source_id = ?, outlets = ?, scored = ?, updated_at = ? WHERE id = ?",
        [(*stats.get(n, (0, 0, 0, None, None, None, None, "[]", 0)), stamp, n) for n in ids])


def _grow_stats(db: sqlite_utils.Database, joined: Mapping[int, Sequence[int]]) -> dict[int, tuple[Any, ...]]:
    """The stats of narratives that only gained ``joined`` claims, from their stored stats (see
    :func:`refresh_stats`); a narrative it cannot grow exactly is left out (counted from all members)."""
    if not joined:
        return {}
    stored = {r[0]: r[1:] for r in _in(db, """
        SELECT id, size, n_articles, first_seen, last_seen, checkworthy, first_source_id, outlets, scored
        FROM narratives WHERE id IN ({marks}) AND outlets IS NOT NULL AND scored IS NOT NULL""", joined)}
    info = {r[0]: r[1:] for r in _in(db, """
        SELECT c.id, coalesce(a.duplicate_of, a.id), coalesce(orig.source_id, a.source_id), a.published, a.id,
               a.source_id, c.checkworthy
        FROM claims c JOIN articles a ON a.id = c.article_id LEFT JOIN articles orig ON orig.id = a.duplicate_of
        WHERE c.id IN ({marks})""", [c for n in stored for c in joined[n]])}
    # the members each (story, narrative) pair has, a story being an article with its near-duplicates
    members: dict[tuple[int, int], set[int]] = defaultdict(set)
    for story, narrative, claim in story_members(db, {row[0] for row in info.values()}):
        members[(story, narrative)].add(claim)
    out: dict[int, tuple[Any, ...]] = {}
    for n, (size, articles, first, last, checkworthy, first_source, outlets, scored) in stored.items():
        new = [info[c] for c in joined[n]]
        dated = sorted((published, article, source) for _, _, published, article, source, _ in new
                       if published is not None)
        if first is not None and dated and dated[0][0] <= first:
            continue  # the first article may change (or tie): which one came first needs all members
        if first is None and dated:
            first, first_source = dated[0][0], dated[0][2]
        last = max([d for d in [last, *(d for d, _, _ in dated)] if d is not None], default=None)
        newcomers = set(joined[n])
        articles += sum(1 for story in {row[0] for row in new} if not members[(story, n)] - newcomers)
        outlet_set = {o for o in json.loads(outlets) if o is not None} | {row[1] for row in new if row[1] is not None}
        scores = [row[5] for row in new if row[5] is not None]
        total = (checkworthy or 0.0) * scored + sum(scores)
        scored += len(scores)
        out[n] = (size + len(new), articles, len(outlet_set), first, last, total / scored if scored else None,
                  first_source, json.dumps(sorted(outlet_set)), scored)
    return out


def story_members(db: sqlite_utils.Database, stories: Iterable[int]) -> list[tuple[int, int, int]]:
    """``(story, narrative, claim)`` for every claim in a narrative from the given stories (an original article
    and its near-duplicates)."""
    stories = list(stories)
    rows = _in(db, """SELECT a.id, nc.narrative_id, c.id FROM articles a CROSS JOIN claims c ON c.article_id = a.id
                      CROSS JOIN narrative_claims nc ON nc.claim_id = c.id WHERE a.id IN ({marks})""", stories)
    return rows + _in(db, """SELECT a.duplicate_of, nc.narrative_id, c.id FROM articles a
                             CROSS JOIN claims c ON c.article_id = a.id CROSS JOIN narrative_claims nc
                             ON nc.claim_id = c.id WHERE a.duplicate_of IN ({marks})""", stories)


def record_unclustered(db: sqlite_utils.Database, claim_ids: Iterable[int]) -> None:
    """Remember that the model considered these claims and left them out of every narrative."""
    db.conn.executemany("INSERT OR IGNORE INTO unclustered_claims(claim_id) VALUES (?)", [(int(c),) for c in claim_ids])


def dissolve_empty(db: sqlite_utils.Database, narrative_ids: Iterable[int], *, actor: str, reason: str) -> int:
    """Mark active narratives of ``narrative_ids`` left with no claims as dissolved; returns how many."""
    emptied = [r[0] for r in _in(db, "SELECT id FROM narratives WHERE status = 'active' AND size = 0 AND id IN "
                                     "({marks})", narrative_ids)]
    stamp = now()
    for n in emptied:
        db.execute("UPDATE narratives SET status = 'dissolved', updated_at = ? WHERE id = ?", [stamp, n])
        db.execute("INSERT INTO narrative_history(at, event, narrative_id, actor, detail) VALUES (?, 'dissolved', ?, "
                   "?, ?)", [stamp, n, actor, json.dumps({"reason": reason})])
    return len(emptied)


def history(db: sqlite_utils.Database, event: str, narrative_id: int | None, *, actor: str,
            other_id: int | None = None, detail: dict[str, Any] | None = None) -> None:
    db.execute("INSERT INTO narrative_history(at, event, narrative_id, other_id, actor, detail) VALUES (?,?,?,?,?,?)",
               [now(), event, narrative_id, other_id, actor, json.dumps(detail or {})])


# --- the clusterer's state --------------------------------------------------------------------------------------

def clusterer_settings(db: sqlite_utils.Database) -> tuple[str | None, dict[str, Any] | None]:
    """The embedding model and clusterer parameters the stored narratives were built with."""
    return get_meta(db, MODEL_KEY), get_meta_json(db, PARAMS_KEY)


def load_clusterer_state(db: sqlite_utils.Database) -> tuple[dict[str, Any], np.ndarray, np.ndarray,
                                                             np.ndarray] | None:
    """The clusterer's settings-level state and every cluster's count, parent and embedding-block sums (ids
    ``0..k-1``), or None when there is none. Lexical rows are read on demand with :func:`lexical_rows`.

    Raises:
        BadBlob: the stored state is not what tracker writes.
    """
    blob = get_meta(db, STATE_KEY)
    if blob is None:
        return None
    state: dict[str, Any] = blob_to_arrays(blob)
    missing = {"df", "n_docs", "use_lexical", "d_embed", "n_clusters"} - set(state)
    if missing:
        raise BadBlob(f"the stored clusterer state lacks {', '.join(sorted(missing))}")
    for key in ("n_docs", "use_lexical", "d_embed", "n_clusters"):
        state[key] = state[key].item()
    k, d = int(state["n_clusters"]), int(state["d_embed"])
    counts = np.zeros(k, np.int64)
    parent = np.arange(k, dtype=np.int64)
    sums = np.zeros((k, d), np.float32)
    found = 0
    cursor = db.execute("SELECT id, count, parent, embedding FROM clusters ORDER BY id")
    while rows := cursor.fetchmany(65536):
        ids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
        if len(ids) and (ids.min() < 0 or ids.max() >= k):
            raise BadBlob("stored cluster rows do not match the clusterer state")
        counts[ids] = [r[1] for r in rows]
        parent[ids] = [r[2] for r in rows]
        sums[ids] = blobs_to_matrix([r[3] for r in rows], d)
        found += len(rows)
    if found != k:
        raise BadBlob(f"the clusterer state has {k} clusters but {found} rows are stored")
    return state, counts, parent, sums


def lexical_rows(db: sqlite_utils.Database, ids: Sequence[int], dim: int) -> np.ndarray:
    """Lexical-block sums of clusters ``ids`` (zero rows for clusters without one)."""
    found: dict[int, np.ndarray] = {}
    for cluster, blob in _in(db, "SELECT id, lexical FROM clusters WHERE id IN ({marks})", ids):
        if blob is not None:
            found[cluster] = blob_to_vector(blob, dim)
    zero = np.zeros(dim, np.float32)
    return np.stack([found.get(int(i), zero) for i in ids]) if len(ids) else np.zeros((0, dim), np.float32)


def save_clusterer_state(db: sqlite_utils.Database, state: dict[str, Any], rows: tuple[np.ndarray, ...],
                         model: str, params: dict[str, Any], *, replace_all: bool) -> None:
    """Store the clusterer's settings-level state and the cluster rows given (all of them with
    ``replace_all``; otherwise those that changed)."""
    if replace_all:
        db.execute("DELETE FROM clusters")
    ids, counts, parents, sums, lexical = rows
    use_lexical = lexical.shape[1] > 0
    db.conn.executemany(
        "INSERT OR REPLACE INTO clusters(id, count, parent, embedding, lexical) VALUES (?, ?, ?, ?, ?)",
        ((int(i), int(c), int(p), vector_to_blob(e), vector_to_blob(x) if use_lexical else None)
         for i, c, p, e, x in zip(ids, counts, parents, sums, lexical)))
    set_meta(db, STATE_KEY, arrays_to_blob({k: np.asarray(v) for k, v in state.items()}))
    set_meta(db, MODEL_KEY, model)
    set_meta_json(db, PARAMS_KEY, params)


def claims_to_cluster(db: sqlite_utils.Database, model: str, languages: Iterable[str] | None, *,
                      rebuild: bool) -> list[tuple[int, str, bytes, int]]:
    """(claim id, text, vector blob, dim) of claims the clusterer has not seen (all with ``rebuild``), in id order,
    in ``languages`` (articles of unknown language included; None: every language)."""
    languages = sorted(languages) if languages is not None else None
    where = "" if rebuild else "AND c.id NOT IN (SELECT claim_id FROM claim_clusters)"
    if languages is not None:
        where += f" AND (a.language IS NULL OR a.language IN ({marks(languages)}))"
    return db.execute(
        f"SELECT c.id, c.text, e.vector, e.dim FROM claims c JOIN articles a ON a.id = c.article_id "
        f"JOIN embeddings e ON e.content_hash = c.text_hash AND e.model = ? WHERE 1 {where} ORDER BY c.id",
        [model, *(languages or [])]).fetchall()


def set_claim_clusters(db: sqlite_utils.Database, pairs: Iterable[tuple[int, int]], *, replace_all: bool = False,
                       merged: dict[int, int] | None = None) -> None:
    """Record the clusterer's cluster of each claim, and point claims of clusters it merged at the survivor."""
    if replace_all:
        db.execute("DELETE FROM claim_clusters")
    db.conn.executemany(  # an upsert: OR REPLACE fires the counts' delete trigger only with recursive triggers on
        "INSERT INTO claim_clusters(claim_id, cluster_id) VALUES (?, ?) "
        "ON CONFLICT(claim_id) DO UPDATE SET cluster_id = excluded.cluster_id",
        [(int(c), int(k)) for c, k in pairs])
    db.conn.executemany("UPDATE claim_clusters SET cluster_id = ? WHERE cluster_id = ?",
                        [(int(keep), int(gone)) for gone, keep in sorted((merged or {}).items())])


# --- descriptions -----------------------------------------------------------------------------------------------

def describe_inputs(db: sqlite_utils.Database, narrative_ids: Sequence[int], model: str | None,
                    languages: Iterable[str] | None, *, sample: int = 5000) -> dict[
                        int, tuple[list[tuple[Any, ...]], np.ndarray | None]]:
    """Per narrative: its members ``(claim id, text, outlet (of the original for a near-duplicate), covered,
    check-worthiness, whole record)`` in id order, where ``covered`` says the article's language is one ``model``
    represents and ``whole record`` that the claim is its article's whole text (a claim-database row, a tweet),
    and the members' vectors for ``model`` (zero rows where a member has none; None without a model). A narrative
    of more than ``sample`` claims is described from a fixed pseudo-random sample of that many (its mean,
    keywords and most central claims barely move), so describing costs the same for any size."""
    languages = set(languages) if languages is not None else None
    rows = _in(db, f"""
        SELECT m.narrative_id, c.id, c.text, c.text_hash, coalesce(orig.source_id, a.source_id), a.language,
               c.checkworthy, c.end - c.start >= length(trim(a.text))
        FROM (SELECT narrative_id, claim_id, row_number() OVER (
                  PARTITION BY narrative_id ORDER BY (claim_id * 2654435761) % 4294967296) AS rank
              FROM narrative_claims WHERE narrative_id IN ({{marks}})) m
        JOIN claims c ON c.id = m.claim_id JOIN articles a ON a.id = c.article_id
        LEFT JOIN articles orig ON orig.id = a.duplicate_of
        WHERE m.rank <= {int(sample)} ORDER BY m.narrative_id, c.id""", narrative_ids)
    by_narrative: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for n, claim, text, text_hash, source, language, checkworthy, whole in rows:
        covered = languages is None or language is None or language in languages
        by_narrative[n].append((claim, text, source, covered, checkworthy, bool(whole), text_hash))
    vectors: dict[str, np.ndarray] = {}
    if model:
        from tracker.store.vectors import load

        vectors = load(db, model, [r[3] for r in rows])
    out: dict[int, tuple[list[tuple[Any, ...]], np.ndarray | None]] = {}
    dim = len(next(iter(vectors.values()))) if vectors else 0
    for n in narrative_ids:
        found = by_narrative.get(n, [])
        matrix = None
        if vectors:
            matrix = np.zeros((len(found), dim), np.float32)
            for i, member in enumerate(found):
                if member[-1] in vectors:
                    matrix[i] = vectors[member[-1]]
        out[n] = ([m[:-1] for m in found], matrix)
    return out


def save_description(db: sqlite_utils.Database, narrative_id: int, *, keywords: list[str],
                     central_claim_id: int | None, representatives: list[int], label: str | None,
                     centroid: np.ndarray | None, model: str | None, similarity: dict[int, float],
                     boilerplate: bool = False) -> None:
    """Store a narrative's description; the label only where no reviewer named it, the centroid only when there
    is one (an earlier centroid stays when the members carry no vector)."""
    db.execute(
        "UPDATE narratives SET keywords = ?, central_claim_id = ?, representatives = ?, "
        "label = CASE WHEN label_locked THEN label ELSE ? END, boilerplate = ?, described_size = size, "
        "centroid = coalesce(?, centroid), centroid_model = coalesce(?, centroid_model) WHERE id = ?",
        [json.dumps(keywords, ensure_ascii=False), central_claim_id, json.dumps(representatives), label,
         int(boilerplate), None if centroid is None else vector_to_blob(centroid),
         None if centroid is None else model, narrative_id])
    db.conn.executemany("UPDATE narrative_claims SET similarity = ? WHERE claim_id = ? AND narrative_id = ?",
                        [(round(float(s), 4), c, narrative_id) for c, s in similarity.items()])


def description_due(db: sqlite_utils.Database, narrative_ids: Sequence[int], *, change: float,
                    small: int) -> tuple[list[int], list[int]]:
    """Split ``narrative_ids`` into those to describe again and those whose description still holds: a narrative
    is due when it was never described, has fewer than ``small`` claims, lost its central claim, or changed size
    by at least ``change`` (a share) since it was last described."""
    due, current = [], []
    for n, size, described, lost in _in(db, """
            SELECT n.id, n.size, n.described_size,
                   n.central_claim_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM narrative_claims nc
                       WHERE nc.narrative_id = n.id AND nc.claim_id = n.central_claim_id)
            FROM narratives n WHERE n.id IN ({marks})""", narrative_ids):
        stale = described is None or size < small or lost or abs(size - described) >= change * described
        (due if stale else current).append(n)
    return sorted(due), sorted(current)


def fill_similarity(db: sqlite_utils.Database, narrative_ids: Sequence[int], model: str) -> int:
    """Members of these narratives that have no similarity to their narrative's centroid yet (claims that joined
    since it was described) get it from the stored centroid; returns how many."""
    from tracker.store.vectors import load

    rows = _in(db, """
        SELECT nc.claim_id, nc.narrative_id, c.text_hash, n.centroid FROM narrative_claims nc
        JOIN claims c ON c.id = nc.claim_id JOIN narratives n ON n.id = nc.narrative_id
        WHERE nc.similarity IS NULL AND n.centroid IS NOT NULL AND n.centroid_model = ?
          AND nc.narrative_id IN ({marks})""", narrative_ids, [model])
    if not rows:
        return 0
    vectors = load(db, model, [r[2] for r in rows])
    centroids: dict[int, np.ndarray] = {}
    values = []
    for claim_id, narrative_id, text_hash, blob in rows:
        if text_hash not in vectors:
            continue
        if narrative_id not in centroids:
            try:
                centroid = blob_to_vector(blob, len(vectors[text_hash]))
            except BadBlob:  # a damaged centroid: the next full description replaces it
                continue
            centroids[narrative_id] = centroid / max(float(np.linalg.norm(centroid)), 1e-12)
        values.append((round(float(vectors[text_hash] @ centroids[narrative_id]), 4), claim_id, narrative_id))
    db.conn.executemany("UPDATE narrative_claims SET similarity = ? WHERE claim_id = ? AND narrative_id = ?", values)
    return len(values)


class TermFrequency(Mapping[str, int]):
    """Claims containing each word, from the FTS5 index's vocabulary, kept between runs in ``term_docs``.

    A word is read from ``term_docs`` when it was counted while the store held at least ``1 - STALE`` of today's
    claims (a c-TF-IDF weight barely moves when a tenth more claims arrive); otherwise it is counted in the
    vocabulary, one word at a time, until those lookups would have cost about as much as reading the vocabulary
    whole; then it is read whole. :meth:`save` keeps what was counted.

    A vocabulary lookup costs 0.06-6 ms (a common word's whole posting list is read); reading the vocabulary 1.5-4
    microseconds per stored claim (10,000 one-line claims: 0.04 s; 450,000: 0.65 s), so the switch comes after
    ``claims / WORDS_PER_CLAIM_SCAN`` lookups. A kept count costs a primary-key read.
    """

    WORDS_PER_CLAIM_SCAN = 50
    STALE = 0.1

    def __init__(self, db: sqlite_utils.Database, claims: int = 0) -> None:
        db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.claims_vocab USING fts5vocab(main, claims_fts, 'row')")
        self._db = db
        self._claims = claims
        self._known: dict[str, int | None] = {}  # words asked for
        self._counted: dict[str, int] = {}  # of those, counted in the vocabulary by this instance (0: absent)
        self._vocabulary: dict[str, int] | None = None  # the whole vocabulary, once read
        self._budget = claims // self.WORDS_PER_CLAIM_SCAN  # lookups before reading the vocabulary whole

    def _count(self, term: str) -> int:
        if self._vocabulary is None and self._budget <= 0:
            self._vocabulary = {t: int(k) for t, k in self._db.execute("SELECT term, doc FROM temp.claims_vocab")}
        if self._vocabulary is not None:
            return self._vocabulary.get(term, 0)
        self._budget -= 1
        row = self._db.execute("SELECT doc FROM temp.claims_vocab WHERE term = ?", [term]).fetchone()
        return int(row[0]) if row else 0

    def _lookup(self, term: object) -> int | None:
        if not isinstance(term, str):
            return None
        if term not in self._known:
            kept = self._db.execute("SELECT docs FROM term_docs WHERE term = ? AND claims >= ?",
                                    [term, self._claims * (1 - self.STALE)]).fetchone()
            if kept is None:
                self._counted[term] = self._count(term)
            self._known[term] = int(kept[0] if kept else self._counted[term]) or None
        return self._known[term]

    def save(self, db: sqlite_utils.Database) -> None:
        """Keep the words counted since the last save (inside the caller's transaction)."""
        db.conn.executemany("INSERT INTO term_docs(term, docs, claims) VALUES (?, ?, ?) ON CONFLICT(term) DO UPDATE "
                            "SET docs = excluded.docs, claims = excluded.claims",
                            [(t, k, self._claims) for t, k in self._counted.items()])
        self._counted.clear()

    def __contains__(self, term: object) -> bool:
        return self._lookup(term) is not None

    def __getitem__(self, term: str) -> int:
        found = self._lookup(term)
        if found is None:
            raise KeyError(term)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(k for k, v in self._known.items() if v is not None)

    def __len__(self) -> int:
        return sum(1 for v in self._known.values() if v is not None)


def document_frequency(db: sqlite_utils.Database) -> tuple[int, TermFrequency]:
    """Claims in the store, and how many contain each word (see :class:`TermFrequency`)."""
    total = int(db.execute("SELECT count(*) FROM claims").fetchone()[0])
    return total, TermFrequency(db, total)


def centroids(db: sqlite_utils.Database, model: str, *, narrative_ids: Iterable[int] | None = None,
              active_only: bool = True) -> tuple[list[tuple[int, str | None, int, str | None]], np.ndarray]:
    """``(id, label, size, verdict)`` and L2-normalised centroids of narratives whose centroid was computed with
    ``model`` (vectors of another model are never compared with it)."""
    where = "centroid IS NOT NULL AND centroid_model = ?"
    params: list[Any] = [model]
    if active_only:
        where += " AND status = 'active'"
    sql = f"SELECT id, label, size, verdict, centroid FROM narratives WHERE {where}"
    if narrative_ids is not None:
        rows = _in(db, sql + " AND id IN ({marks}) ORDER BY id", narrative_ids, params)
    else:
        rows = db.execute(sql + " ORDER BY id", params).fetchall()
    if not rows:
        return [], np.zeros((0, 0), np.float32)
    width = Counter(len(r[4]) for r in rows).most_common(1)[0][0]
    rows = [r for r in rows if len(r[4]) == width]  # a centroid of another width cannot be one of this model's
    dim = width // 4
    matrix = np.stack([blob_to_vector(r[4], dim) for r in rows]).astype(np.float32)
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    return [r[:4] for r in rows], matrix


# --- cross-lingual placement ------------------------------------------------------------------------------------

def foreign_claims(db: sqlite_utils.Database, covered: Sequence[str], *,
                   narratives: Iterable[int] | None = None) -> list[tuple[int, str]]:
    """``(claim id, text)`` of claims in known languages outside ``covered``: all of them (``narratives`` None),
    else those never considered (in no narrative, not recorded as noise) and those in ``narratives``."""
    # from the language index to the claims: the other way round reads every claim and article of the store
    select = "SELECT c.id, c.text FROM articles a CROSS JOIN claims c ON c.article_id = a.id"
    foreign = f"a.language IS NOT NULL AND a.language NOT IN ({marks(covered)})"
    if narratives is None:
        return db.execute(f"{select} WHERE {foreign} ORDER BY c.id", list(covered)).fetchall()
    rows = db.execute(f"{select} WHERE {foreign} AND c.id NOT IN (SELECT claim_id FROM narrative_claims) "
                      f"AND c.id NOT IN (SELECT claim_id FROM unclustered_claims)", list(covered)).fetchall()
    rows += _in(db, f"{select} CROSS JOIN narrative_claims nc ON nc.claim_id = c.id "
                    f"WHERE {foreign} AND nc.narrative_id IN ({{marks}})", narratives, list(covered))
    return sorted(set(rows))


def anchor_texts(db: sqlite_utils.Database, covered: Sequence[str], *, min_members: int,
                 n_anchors: int) -> dict[int, list[str]]:
    """Per open (active, unlocked) narrative of at least ``min_members`` claims: the texts of its central claim and
    representatives in ``covered`` languages (central first, at most ``n_anchors``; none: no anchor)."""
    clause = f"AND (a.language IS NULL OR a.language IN ({marks(covered)}))"
    open_ = f"SELECT id FROM narratives WHERE status = 'active' AND locked = 0 AND size >= {int(min_members)}"
    texts = dict(db.execute(
        f"""SELECT c.id, c.text FROM claims c JOIN articles a ON a.id = c.article_id WHERE c.id IN (
                SELECT central_claim_id FROM narratives WHERE id IN ({open_}) UNION
                SELECT r.value FROM narratives n, json_each(coalesce(n.representatives, '[]')) r
                WHERE n.id IN ({open_})) {clause}""", list(covered)).fetchall())
    anchors: dict[int, list[str]] = {}
    for narrative_id, central, representatives in db.execute(
            "SELECT id, central_claim_id, representatives FROM narratives WHERE status = 'active' AND locked = 0 "
            "AND size >= ?", [min_members]):
        try:
            ids = dict.fromkeys([central, *json.loads(representatives or "[]")])
        except (ValueError, TypeError):
            ids = dict.fromkeys([central])
        chosen = [texts[i] for i in ids if i in texts][:n_anchors]
        if chosen:
            anchors[narrative_id] = chosen
    return anchors
