"""Narratives: claims that say the same thing, across outlets and over time, with stable ids.

The clustering itself is :class:`tracker.cluster.IncrementalClusterer` (pure, over arrays). This module keeps it
in step with the store:

1. new embedded claims go through ``partial_fit`` (``--rebuild`` refits everything instead);
2. the clusterer's clusters are matched to existing narratives by member overlap (Hungarian assignment), so ids
   stay stable; unmatched clusters found new narratives; narratives whose members all went to another one are
   recorded as merged, and a narrative split by a rebuild as split (``narrative_history``);
3. reviewer decisions win over the model: reviewer-assigned claims never move, excluded claims never return to the
   narrative they were excluded from, locked narratives neither gain nor lose claims, merged narratives receive
   nothing (their claims go to the narrative they were merged into), renamed labels are kept;
4. each changed narrative gets its derived columns, c-TF-IDF keywords, central claim and representatives.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections import Counter, defaultdict
from typing import Any

import numpy as np
import sqlite_utils

from tracker import TrackerError, settings
from tracker import db as store
from tracker.cluster import IncrementalClusterer, match_clusters
from tracker.embed import Embedder

STATE_KEY = "narratives.state"
MODEL_KEY = "narratives.model"
PARAMS_KEY = "narratives.params"
MODEL_ACTOR = "model"

_WORD = re.compile(r"[^\W\d_][\w'’-]*[^\W_]|[^\W\d_]", re.UNICODE)
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having he
    her here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
    now of off on once only or other our ours ourselves out over own same she should so some such than that the
    their theirs them themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves said says say told
    according would could also one two new year years per cent percent mr ms dr since last first like well however
    including among amid within without across around near many much may might must shall us it's that's""".split()
)


class NarrativeError(TrackerError):
    """The narratives stage cannot run on this store as it is."""


def clusterer_params() -> dict[str, Any]:
    return {"threshold": float(settings.get("cluster_threshold"))}


# --- persistence of the clusterer -------------------------------------------------------------------------------

def _save_state(db: sqlite_utils.Database, clusterer: IncrementalClusterer, model: str,
                params: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    state = clusterer.get_state()
    np.savez(buffer, **{k: np.asarray(v) for k, v in state.items()})
    store.set_meta(db, STATE_KEY, buffer.getvalue())
    store.set_meta(db, MODEL_KEY, model)
    store.set_meta_json(db, PARAMS_KEY, params)


def _load_state(db: sqlite_utils.Database, params: dict[str, Any]) -> IncrementalClusterer | None:
    blob = store.get_meta(db, STATE_KEY)
    if blob is None:
        return None
    with np.load(io.BytesIO(blob), allow_pickle=False) as data:
        state = {k: data[k] for k in data.files}
    for key in ("n_docs", "use_lexical", "d_embed"):
        state[key] = state[key].item()
    return IncrementalClusterer.from_state(state, **params)


# --- the stage --------------------------------------------------------------------------------------------------

def run_narratives(db: sqlite_utils.Database, embedder: Embedder, *, rebuild: bool = False) -> dict[str, Any]:
    """Cluster new claims into narratives (or, with ``rebuild``, all claims again) and sync the store.

    Returns:
        counts: claims clustered, narratives created / merged / split / dissolved.
    """
    params = clusterer_params()
    stored_model = store.get_meta(db, MODEL_KEY)
    stored_params = store.get_meta_json(db, PARAMS_KEY)
    if not rebuild and stored_model is not None and (stored_model != embedder.name or stored_params != params):
        raise NarrativeError(
            f"narratives were built with {stored_model} {stored_params}; now {embedder.name} {params}: "
            "run 'tracker narratives --rebuild'"
        )
    run_id = store.start_run(db, "narratives", {"model": embedder.name, "rebuild": rebuild, **params})
    clusterer = None if rebuild else _load_state(db, params)
    if rebuild or clusterer is None:
        sql_filter = ""
    else:
        sql_filter = "AND c.id NOT IN (SELECT claim_id FROM claim_clusters)"
    languages = getattr(embedder, "languages", None)
    if languages is not None:  # claims in languages the model does not represent would cluster as noise
        marks = ",".join("?" * len(languages))
        sql_filter += f" AND (a.language IS NULL OR a.language IN ({marks}))"
    rows = db.execute(
        f"SELECT c.id, c.text, e.vector FROM claims c JOIN articles a ON a.id = c.article_id JOIN embeddings e "
        f"ON e.content_hash = c.text_hash AND e.model = ? WHERE 1 {sql_filter} ORDER BY c.id",
        [embedder.name, *sorted(languages or [])],
    ).fetchall()
    if not rows and not rebuild:
        counts = {"claims": 0}
        store.finish_run(db, run_id, counts)
        return counts
    claim_ids = np.asarray([r[0] for r in rows], dtype=np.int64)
    texts = [r[1] for r in rows]
    vectors = (np.frombuffer(b"".join(r[2] for r in rows), dtype="<f4").reshape(len(rows), -1)
               if rows else np.zeros((0, embedder.dim), np.float32))
    if rebuild or clusterer is None:
        clusterer = IncrementalClusterer(**params)
        if len(rows):
            clusterer.fit(vectors, texts)
    elif len(rows):
        clusterer.partial_fit(vectors, texts)
    cluster_ids = clusterer.cluster_ids_ if len(rows) else np.zeros(0, np.int64)
    with db.atomic():
        if rebuild:
            db.execute("DELETE FROM claim_clusters")
        db.conn.executemany("INSERT OR REPLACE INTO claim_clusters(claim_id, cluster_id) VALUES (?, ?)",
                            zip(claim_ids.tolist(), cluster_ids.tolist()))
        # the model name is stored first: describing narratives (central claim, representatives) reads it
        _save_state(db, clusterer, embedder.name, params)
        counts = _sync(db, clusterer, rebuild=rebuild)
    counts = {"claims": len(rows), **counts}
    store.finish_run(db, run_id, counts)
    return counts


def place_crosslingual(db: sqlite_utils.Database, embedder: Embedder, *, threshold: float,
                       min_members: int = 3, n_anchors: int = 3) -> dict[str, int]:
    """Place claims in languages ``embedder`` does not represent (Urdu, Chinese under MiniLM) into narratives.

    Each narrative with at least ``min_members`` claims in covered languages gets an anchor: the mean multilingual
    (e5) embedding of its central claim and representatives (up to ``n_anchors``, covered languages only). A
    foreign-language claim joins the narrative whose anchor it is most similar to when the cosine reaches
    ``threshold``, and leaves it again when a later run no longer finds it close. Placements are redone on every
    run (they are few), so they follow narratives as they change; reviewer-placed claims, exclusions and locked
    narratives (nothing enters or leaves them) are respected. Nothing happens without the multilingual extra or
    with a multilingual embedder.

    Returns:
        {"placed": claims now in a narrative this way, "moved": placements changed by this run}.
    """
    from tracker.pipeline import crosslingual_embedder
    from tracker.review import covered_languages_clause

    companion = crosslingual_embedder(db, embedder)
    if companion is None:
        return {}
    covered, clause = covered_languages_clause(embedder.name)
    if not covered:
        return {}
    marks = ",".join("?" * len(covered))
    foreign = db.execute(
        f"""SELECT c.id, c.text FROM claims c JOIN articles a ON a.id = c.article_id
            WHERE a.language IS NOT NULL AND a.language NOT IN ({marks}) AND c.id NOT IN
            (SELECT nc.claim_id FROM narrative_claims nc JOIN narratives n ON n.id = nc.narrative_id
             WHERE nc.assigned_by = 'reviewer' OR n.locked = 1) ORDER BY c.id""",
        covered).fetchall()
    if not foreign:
        return {}
    open_narratives = "SELECT id FROM narratives WHERE status = 'active' AND locked = 0"
    covered_size = dict(db.execute(
        f"SELECT nc.narrative_id, count(*) FROM narrative_claims nc JOIN claims c ON c.id = nc.claim_id "
        f"JOIN articles a ON a.id = c.article_id WHERE nc.narrative_id IN ({open_narratives}) {clause} "
        f"GROUP BY nc.narrative_id", covered).fetchall())
    covered_text = dict(db.execute(  # texts of central claims and representatives in covered languages
        f"""SELECT c.id, c.text FROM claims c JOIN articles a ON a.id = c.article_id WHERE c.id IN (
                SELECT central_claim_id FROM narratives WHERE id IN ({open_narratives}) UNION
                SELECT r.value FROM narratives n, json_each(coalesce(n.representatives, '[]')) r
                WHERE n.id IN ({open_narratives})) {clause}""", covered).fetchall())
    anchors: dict[int, list[str]] = {}
    for narrative_id, central, representatives in db.execute(
            "SELECT id, central_claim_id, representatives FROM narratives WHERE status = 'active' AND locked = 0"):
        ids = dict.fromkeys([central, *json.loads(representatives or "[]")])
        texts = [covered_text[i] for i in ids if i in covered_text][:n_anchors]  # central first, as described
        if texts and covered_size.get(narrative_id, 0) >= min_members:
            anchors[narrative_id] = texts
    current = dict(db.execute(
        f"""SELECT nc.claim_id, nc.narrative_id FROM narrative_claims nc JOIN claims c ON c.id = nc.claim_id
            JOIN articles a ON a.id = c.article_id
            WHERE nc.assigned_by = 'model' AND a.language IS NOT NULL AND a.language NOT IN ({marks})""",
        covered).fetchall())
    desired: dict[int, int | None] = {}
    similarity: dict[int, float] = {}
    if anchors:
        order = sorted(anchors)
        flat = [t for n in order for t in anchors[n]]
        vectors = np.asarray(companion.encode(flat), dtype=np.float32)
        means, start = [], 0
        for n in order:
            means.append(vectors[start:start + len(anchors[n])].mean(axis=0))
            start += len(anchors[n])
        M = np.stack(means)
        M /= np.maximum(np.linalg.norm(M, axis=1, keepdims=True), 1e-12)
        Q = np.asarray(companion.encode([t for _, t in foreign]), dtype=np.float32)
        sims = Q @ M.T
        excluded = set(db.execute("SELECT claim_id, narrative_id FROM narrative_constraints WHERE kind = 'exclude'"))
        for (claim_id, _), row in zip(foreign, sims):
            for j in np.argsort(-row):
                if row[j] < threshold:
                    break
                if (claim_id, order[j]) not in excluded:
                    desired[claim_id] = order[j]
                    similarity[claim_id] = round(float(row[j]), 4)
                    break
    timestamp = store.now()
    touched: set[int] = set()
    moved = 0
    with db.atomic():
        # considered and matched to nothing: recorded as unclustered, as the clusterer's noise is
        db.conn.executemany("INSERT OR IGNORE INTO unclustered_claims(claim_id) VALUES (?)",
                            [(claim_id,) for claim_id, _ in foreign if desired.get(claim_id) is None])
        for claim_id, _ in foreign:
            before, after = current.get(claim_id), desired.get(claim_id)
            if before == after:
                continue
            moved += 1
            touched.update(n for n in (before, after) if n is not None)
            if after is None:
                db.execute("DELETE FROM narrative_claims WHERE claim_id = ?", [claim_id])
            else:
                db.execute("INSERT OR REPLACE INTO narrative_claims(claim_id, narrative_id, similarity, assigned_by, "
                           "assigned_at) VALUES (?, ?, ?, 'model', ?)",
                           [claim_id, after, similarity[claim_id], timestamp])
                db.execute("DELETE FROM unclustered_claims WHERE claim_id = ?", [claim_id])
        describe(db, sorted(touched))
        for narrative_id in sorted(touched):  # one whose only members were placed here, now gone
            if db.execute("SELECT size = 0 AND status = 'active' FROM narratives WHERE id = ?",
                          [narrative_id]).fetchone()[0]:
                db.execute("UPDATE narratives SET status = 'dissolved', updated_at = ? WHERE id = ?",
                           [timestamp, narrative_id])
                _history(db, "dissolved", narrative_id, None, {"reason": "its other-language claims left"})
    return {"placed": len(desired), "moved": moved}


def _sync(db: sqlite_utils.Database, clusterer: IncrementalClusterer, *, rebuild: bool) -> dict[str, int]:
    """Bring narratives and narrative_claims in line with the clusterer's current labels, respecting reviewers."""
    pairs = np.asarray(db.execute("SELECT claim_id, cluster_id FROM claim_clusters ORDER BY claim_id").fetchall(),
                       dtype=np.int64).reshape(-1, 2)
    claim_ids, labels = pairs[:, 0], clusterer.labels_for(pairs[:, 1])
    current = dict(db.execute("SELECT claim_id, narrative_id FROM narrative_claims").fetchall())
    reviewer_fixed = {r[0] for r in db.execute(
        "SELECT claim_id FROM narrative_claims WHERE assigned_by = 'reviewer'")}
    narratives = {r[0]: {"status": r[1], "merged_into": r[2], "locked": bool(r[3])} for r in db.execute(
        "SELECT id, status, merged_into, locked FROM narratives")}
    excluded = set(db.execute("SELECT claim_id, narrative_id FROM narrative_constraints WHERE kind = 'exclude'"))
    old = np.asarray([current.get(int(c), -1) for c in claim_ids], dtype=np.int64)
    mapping = match_clusters(old, labels)
    mapping = {cluster: n for cluster, n in mapping.items() if narratives.get(n, {}).get("status") == "active"}
    # A reviewer merge joins clusters the model keeps apart: a cluster left unmatched whose members a reviewer
    # placed in one narrative continues that narrative (many clusters to one narrative).
    pinned: dict[int, Counter[int]] = defaultdict(Counter)
    for claim_id, label, before in zip(claim_ids.tolist(), labels.tolist(), old.tolist()):
        if label >= 0 and label not in mapping and before >= 0 and claim_id in reviewer_fixed:
            pinned[label][before] += 1
    for label, votes in pinned.items():
        narrative_id = votes.most_common(1)[0][0]
        if narratives.get(narrative_id, {}).get("status") == "active":
            mapping[label] = narrative_id

    def live(narrative_id: int) -> int:
        seen = set()
        while narratives.get(narrative_id, {}).get("status") == "merged" and narrative_id not in seen:
            seen.add(narrative_id)
            narrative_id = int(narratives[narrative_id]["merged_into"])
        return narrative_id

    created: set[int] = set()
    timestamp = store.now()
    desired: dict[int, int | None] = {}
    for claim_id, label, before in zip(claim_ids.tolist(), labels.tolist(), old.tolist()):
        if claim_id in reviewer_fixed or (before >= 0 and narratives.get(before, {}).get("locked")):
            continue  # reviewer decisions and locked narratives are never changed by the model
        target: int | None = None
        if label >= 0:
            if label not in mapping:
                cursor = db.execute(
                    "INSERT INTO narratives(created_at, updated_at) VALUES (?, ?)", [timestamp, timestamp])
                mapping[label] = int(cursor.lastrowid)
                narratives[mapping[label]] = {"status": "active", "merged_into": None, "locked": False}
                _history(db, "created", mapping[label], None, {"cluster": label})
                created.add(mapping[label])
            target = live(mapping[label])
            if narratives[target]["locked"] or (claim_id, target) in excluded:
                target = None
        desired[claim_id] = target
    touched: set[int] = set()
    moves: Counter[tuple[int, int]] = Counter()
    db.conn.executemany("INSERT OR IGNORE INTO unclustered_claims(claim_id) VALUES (?)",
                        [(c,) for c, t in desired.items() if t is None and current.get(c) is None])
    for claim_id, target in desired.items():
        before = current.get(claim_id)
        if before == target:
            continue
        if before is not None:
            touched.add(before)
        if target is None:
            db.execute("DELETE FROM narrative_claims WHERE claim_id = ?", [claim_id])
            db.execute("INSERT OR IGNORE INTO unclustered_claims(claim_id) VALUES (?)", [claim_id])
            continue
        touched.add(target)
        if before is not None:
            moves[(before, target)] += 1
        db.execute(
            "INSERT OR REPLACE INTO narrative_claims(claim_id, narrative_id, similarity, assigned_by, assigned_at) "
            "VALUES (?, ?, NULL, 'model', ?)", [claim_id, target, timestamp])
        db.execute("DELETE FROM unclustered_claims WHERE claim_id = ?", [claim_id])
    counts = {"created": len(created), "merged": 0, "split": 0, "dissolved": 0}
    remaining = dict(db.execute(
        "SELECT narrative_id, count(*) FROM narrative_claims GROUP BY narrative_id").fetchall())
    for (before, target), n in sorted(moves.items()):
        if remaining.get(before, 0) == 0 and narratives[before]["status"] == "active":
            db.execute("UPDATE narratives SET status = 'merged', merged_into = ?, updated_at = ? WHERE id = ?",
                       [target, timestamp, before])
            narratives[before]["status"] = "merged"
            _history(db, "merged", before, target, {"claims": n})
            counts["merged"] += 1
        elif remaining.get(before, 0) > 0 and target in created:
            _history(db, "split", before, target, {"claims": n})
            counts["split"] += 1
    for narrative_id in sorted(touched):
        if remaining.get(narrative_id, 0) == 0 and narratives[narrative_id]["status"] == "active":
            db.execute("UPDATE narratives SET status = 'dissolved', updated_at = ? WHERE id = ?",
                       [timestamp, narrative_id])
            _history(db, "dissolved", narrative_id, None, {})
            counts["dissolved"] += 1
    if rebuild:
        _history(db, "rebuilt", None, None, {"claims": int(len(claim_ids)), **counts})
    describe(db, sorted(n for n in touched if remaining.get(n, 0) > 0))
    return counts


def _history(db: sqlite_utils.Database, event: str, narrative_id: int | None, other_id: int | None,
             detail: dict[str, Any]) -> None:
    db.execute(
        "INSERT INTO narrative_history(at, event, narrative_id, other_id, actor, detail) VALUES (?, ?, ?, ?, ?, ?)",
        [store.now(), event, narrative_id, other_id, MODEL_ACTOR, json.dumps(detail)],
    )


# --- descriptions -----------------------------------------------------------------------------------------------

_POSSESSIVE = re.compile(r"['’]s$")


def tokens(text: str) -> list[str]:
    """Lower-cased content words, possessives folded ("China's" -> "china"), for keyword extraction."""
    words = (_POSSESSIVE.sub("", m.lower()) for m in _WORD.findall(text))
    return [w for w in words if w not in STOPWORDS and len(w) > 2]


def distinctive_keywords(texts: list[str], total_claims: int, document_frequency: dict[str, int],
                         n: int) -> list[str]:
    """The ``n`` words of ``texts`` that most set them apart from all claims (c-TF-IDF: log-scaled count in the
    group times the log inverse share of claims containing the word), ties broken alphabetically."""
    counts = Counter(t for text in texts for t in tokens(text))
    scored = {t: (1 + math.log(k)) * math.log(1 + total_claims / (1 + document_frequency_of(t, document_frequency, k)))
              for t, k in counts.items()}
    return [t for t, _ in sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def document_frequency_of(term: str, document_frequency: dict[str, int], default: int) -> int:
    """Claims containing ``term``. The FTS5 vocabulary splits hyphenated words, so "china-pakistan" is as common
    as its least common part; a word the vocabulary lacks gets ``default``."""
    if term in document_frequency:
        return document_frequency[term]
    parts = [document_frequency[p] for p in re.split(r"[-'’]", term) if p in document_frequency]
    return min(parts) if parts else default


def describe(db: sqlite_utils.Database, narrative_ids: list[int], *, n_keywords: int = 6,
             n_representatives: int = 5) -> None:
    """Recompute derived columns, keywords (c-TF-IDF), central claim, representatives and label of narratives.

    Keywords and the central claim come from members in languages the model represents (all members if there are
    none), so a claim placed cross-lingually neither renames a narrative nor becomes its anchor.
    """
    from tracker.review import covered_languages_clause, refresh_narrative

    if not narrative_ids:
        return
    total_claims = max(db.execute("SELECT count(*) FROM claims").fetchone()[0], 1)
    document_frequency = _document_frequency(db)
    model = store.get_meta(db, MODEL_KEY)
    covered, clause = covered_languages_clause(model)
    for narrative_id in narrative_ids:
        refresh_narrative(db, narrative_id)
        members = []
        for extra, params in ((clause, covered), ("", [])):
            members = db.execute(
                f"""SELECT c.id, c.text, c.text_hash, coalesce(orig.source_id, a.source_id)
                   FROM narrative_claims nc JOIN claims c ON c.id = nc.claim_id JOIN articles a ON a.id = c.article_id
                   LEFT JOIN articles orig ON orig.id = a.duplicate_of
                   WHERE nc.narrative_id = ? {extra} ORDER BY c.id""", [narrative_id, *params]).fetchall()
            if members:
                break
        if not members:
            continue
        keywords = distinctive_keywords([m[1] for m in members], total_claims, document_frequency, n_keywords)
        central, representatives = _central(db, members, model, n_representatives)
        row = db.execute("SELECT label_locked, centroid FROM narratives WHERE id = ?", [narrative_id]).fetchone()
        label_text = " · ".join(keywords[:4]) if keywords else None
        db.execute(
            "UPDATE narratives SET keywords = ?, central_claim_id = ?, representatives = ?"
            + ("" if row[0] else ", label = ?") + " WHERE id = ?",
            [json.dumps(keywords), central, json.dumps(representatives)]
            + ([] if row[0] else [label_text]) + [narrative_id],
        )


def _document_frequency(db: sqlite_utils.Database) -> dict[str, int]:
    """Claims containing each word, from the FTS5 index's vocabulary (cheap: no pass over all claim texts)."""
    db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.claims_vocab USING fts5vocab(main, claims_fts, 'row')")
    return dict(db.execute("SELECT term, doc FROM temp.claims_vocab").fetchall())


def _central(db: sqlite_utils.Database, members: list[tuple[Any, ...]], model: str | None,
             n: int) -> tuple[int, list[int]]:
    """The member closest to the centroid, and up to ``n`` representatives from different outlets."""
    if model:
        vectors = store.load_embeddings(db, model, [m[2] for m in members])
    else:
        vectors = {}
    if vectors:
        matrix = np.stack([vectors.get(m[2], np.zeros(next(iter(vectors.values())).shape, np.float32))
                           for m in members])
        centroid = matrix.mean(axis=0)
        order = np.argsort(-(matrix @ centroid), kind="stable")
    else:
        order = np.arange(len(members))
    representatives: list[int] = []
    seen_sources: set[Any] = set()
    for i in order:
        source = members[i][3]
        if source in seen_sources:
            continue
        seen_sources.add(source)
        representatives.append(int(members[i][0]))
        if len(representatives) >= n:
            break
    return int(members[order[0]][0]), representatives


# --- evaluation -------------------------------------------------------------------------------------------------

def evaluate_clusters(records: list[dict[str, Any]], embedder: Embedder, *, batch_size: int = 100) -> tuple[
    dict[str, Any], list[dict[str, Any]]
]:
    """``tracker eval clusters``: feed items through the incremental path in date (else file) order, score B3."""
    from tracker.cluster import ari, bcubed, nmi
    from tracker.db import open_db
    from tracker.evaluate import store_whole_texts
    from tracker.pipeline import run_embed

    order = list(range(len(records)))
    dated = all(r.get("date") for r in records)
    if dated:
        order.sort(key=lambda i: str(records[i]["date"]))
        batches: list[list[int]] = []
        for i in order:
            if batches and str(records[batches[-1][0]]["date"]) == str(records[i]["date"]) \
                    and len(batches[-1]) < batch_size:
                batches[-1].append(i)
            else:
                batches.append([i])
        # one update per day would be thousands of runs on dense data; group consecutive days up to batch_size
        merged: list[list[int]] = []
        for batch in batches:
            if merged and len(merged[-1]) + len(batch) <= batch_size:
                merged[-1].extend(batch)
            else:
                merged.append(list(batch))
        batches = merged
    else:
        batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    db = open_db(":memory:")
    claim_of_item: dict[int, int] = {}
    for batch in batches:
        items = [{**records[i], "id": i} for i in batch]
        mapping = store_whole_texts(db, items, embedder, dates=dated)
        claim_of_item.update({int(item): claim for claim, item in mapping.items()})
        run_embed(db, embedder)
        run_narratives(db, embedder)
    assigned = dict(db.execute("SELECT claim_id, narrative_id FROM narrative_claims").fetchall())
    pred = [assigned.get(claim_of_item[i]) for i in range(len(records))]
    gold = [str(r["gold"]) for r in records]
    singletons = [p if p is not None else f"noise-{i}" for i, p in enumerate(pred)]
    precision, recall, f1 = bcubed(gold, singletons)
    metrics = {
        "bcubed_precision": round(float(precision), 4), "bcubed_recall": round(float(recall), 4),
        "bcubed_f1": round(float(f1), 4), "ari": round(float(ari(gold, singletons)), 4),
        "nmi": round(float(nmi(gold, singletons)), 4),
        "n_clusters": len({p for p in pred if p is not None}), "n_items": len(records),
    }
    return metrics, [{"line": i + 1, "pred": pred[i]} for i in range(len(records))]


def narrative_members(db: sqlite_utils.Database) -> dict[int, list[int]]:
    """Claim ids of every active narrative."""
    out: dict[int, list[int]] = defaultdict(list)
    for claim_id, narrative_id in db.execute(
        "SELECT nc.claim_id, nc.narrative_id FROM narrative_claims nc JOIN narratives n ON n.id = nc.narrative_id "
        "WHERE n.status = 'active' ORDER BY nc.claim_id"
    ):
        out[narrative_id].append(claim_id)
    return dict(out)
