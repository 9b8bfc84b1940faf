"""The narrative stages: cluster new claims, place claims of other languages, describe narratives, regroup themes.

Each stage reads what is new from the store, runs the pure pieces (:class:`~tracker.cluster.IncrementalClusterer`,
:func:`tracker.planner.plan`, :func:`tracker.narratives.describe`, :func:`tracker.themes.group_narratives`) and
writes the result back in short transactions. Membership is decided only by the planner, inside the write
transaction that applies it, so it always sees the reviewers' latest decisions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tracker import settings
from tracker.cluster import IncrementalClusterer, match_labels
from tracker.embed import Embedder
from tracker.narratives import Member, describe, distinctive_keywords, keyword_label
from tracker.pipeline.claims import crosslingual_embedder
from tracker.pipeline.progress import NO_PROGRESS, Progress, StageResult
from tracker.planner import plan as plan_membership
from tracker.records import MODEL, Proposal
from tracker.store import Store
from tracker.store import base as store_base
from tracker.store import narratives as store_narratives
from tracker.store import themes as store_themes
from tracker.store.base import BadBlob
from tracker.themes import attach, group_narratives

DESCRIBE_BATCH = 200  # narratives described per transaction
DESCRIBE_CHANGE = 0.1  # a narrative is described again once its size has changed by this share
DESCRIBE_SMALL = 10  # below this size a narrative is described on every change (larger ones: DESCRIBE_CHANGE)


def clusterer_params() -> dict[str, Any]:
    return {"threshold": float(settings.get("cluster_threshold"))}


def run_narratives(store: Store, embedder: Embedder, *, rebuild: bool = False,
                   progress: Progress = NO_PROGRESS) -> StageResult:
    """Cluster new claims into narratives (or, with ``rebuild``, all claims again) and apply the planner's plan.

    Claims in languages the embedder does not represent are left to :func:`place_crosslingual`. Reviewer
    decisions hold through both (see :mod:`tracker.planner`). When the stored narratives were built with another
    embedding model or clusterer setting, the run is a rebuild with the new ones (``counts["rebuilt"]`` says
    why): the ids, reviewer decisions and verdicts are kept, so nothing a reviewer did is lost.
    """
    params = clusterer_params()
    stored_model, stored_params = store_narratives.clusterer_settings(store.db)
    reason = None
    if not rebuild and stored_model is not None and (stored_model != embedder.name or stored_params != params):
        reason = f"settings changed: {stored_model} {stored_params} -> {embedder.name} {params}"
        rebuild = True
    stored = None
    if not rebuild:
        try:
            stored = store_narratives.load_clusterer_state(store.db)
        except BadBlob:  # damaged or crafted: never read as anything but arrays, and rebuilt from the claims
            reason, rebuild = "the stored clusterer state could not be read", True
    fresh = rebuild or stored is None
    rows = store_narratives.claims_to_cluster(store.db, embedder.name, getattr(embedder, "languages", None),
                                              rebuild=fresh)
    if not rows and not rebuild:
        return StageResult("narratives", {"claims": 0})
    claim_ids = np.asarray([r[0] for r in rows], dtype=np.int64)
    texts = [r[1] for r in rows]
    vectors = (store_base.blobs_to_matrix([r[2] for r in rows], int(rows[0][3])) if rows
               else np.zeros((0, embedder.dim), np.float32))
    if fresh:
        clusterer = IncrementalClusterer(**params)
        if len(rows):
            with progress("clustering (all claims)", total=len(rows), unit=" claims") as bar:
                clusterer.fit(vectors, texts)
                bar.update(len(rows))
        merged: dict[int, int] = {}
    else:
        state, counts, parents, sums = stored
        dim = IncrementalClusterer(**params).lexical_dim
        clusterer = IncrementalClusterer.from_state(
            state, counts, parents, sums, **params,
            load_lexical=lambda ids: store_narratives.lexical_rows(store.db, ids, dim))
        clusterer.partial_fit(vectors, texts)
        merged = clusterer.merged_
    cluster_ids = clusterer.cluster_ids_ if len(rows) else np.zeros(0, np.int64)
    with store.write() as db:
        run_id = store_base.start_run(db, "narratives", {"model": embedder.name, "rebuild": rebuild, **params})
        store_narratives.set_claim_clusters(db, zip(claim_ids.tolist(), cluster_ids.tolist()), replace_all=fresh,
                                            merged=merged)
        store_narratives.save_clusterer_state(db, clusterer.get_state(), clusterer.changes(), embedder.name, params,
                                              replace_all=fresh)
        if fresh:
            scope, overlap = store_narratives.all_clusters(db)
        else:
            # every touched cluster's composition decides which narrative it continues (overlap, in SQL), but
            # only some claims can change narrative: the new ones, those of clusters merged by this batch, and
            # those of clusters this batch lifted out of noise
            added = np.bincount(cluster_ids, minlength=len(clusterer.counts_))
            touched = {int(k) for k in np.flatnonzero(added)} | set(merged.values())
            lifted = {k for k in np.flatnonzero(added).tolist()
                      if clusterer.counts_[k] - added[k] < clusterer.min_cluster_size <= clusterer.counts_[k]}
            _, overlap = store_narratives.cluster_scope(db, touched, claims=False)
            scope, _ = store_narratives.cluster_scope(db, set(merged.values()) | lifted, overlap=False)
            scope.update(zip(claim_ids.tolist(), cluster_ids.tolist()))
        stored = np.asarray(sorted(set(scope.values()) | {k for k, _, _ in overlap}), np.int64)
        label_of = dict(zip(stored.tolist(), clusterer.labels_for(stored).tolist())) if len(stored) else {}
        proposal = Proposal(clusters={c: label_of[k] for c, k in scope.items()})
        for (k, n, by), count in overlap.items():
            if label_of[k] >= 0:  # reviewer-placed claims stay put whatever the mapping: they only break ties
                table = proposal.overlap if by == "model" else proposal.pinned
                table[(label_of[k], n)] = table.get((label_of[k], n), 0) + count
        membership = store_narratives.membership_state(db, scope, {n for _, n, _ in overlap})
        plan = plan_membership(membership, proposal)
        ids = store_narratives.apply_plan(db, plan, actor=MODEL)
        store_narratives.record_unclustered(
            db, [c for c, label in proposal.clusters.items() if label < 0 and c not in membership.members])
        counts = {"claims": len(rows), **{k: v for k, v in plan.counts().items() if k != "moved"},
                  **({"rebuilt": reason} if reason else {})}
        if rebuild:
            store_narratives.history(db, "rebuilt", None, actor=MODEL, detail=counts)
        store_base.finish_run(db, run_id, counts)
    touched_ids = sorted({ids.get(n, n) for n in plan.touched})
    describe_narratives(store, touched_ids, embedder, force=fresh, progress=progress)
    return StageResult("narratives", counts, touched=set(touched_ids))


def describe_narratives(store: Store, narrative_ids: list[int], embedder: Embedder | None = None, *,
                        model: str | None = None, languages: frozenset[str] | None = None, force: bool = False,
                        progress: Progress = NO_PROGRESS) -> None:
    """Recompute keywords, central claim, representatives, centroid, label and member similarities.

    The vectors are ``embedder``'s (or, without one, ``model``'s, claims in ``languages`` counting as covered).
    Unless ``force`` (a reviewer's action), a large narrative is described again only once it has changed size by
    ``DESCRIBE_CHANGE`` since its last description or lost its central claim: a few claims joining a narrative of
    thousands do not move its label, keywords or centroid, and describing it would cost in proportion to its size.
    Claims that joined it meanwhile get their similarity to its stored centroid.
    """
    if not narrative_ids:
        return
    if embedder is not None:
        model, languages = embedder.name, getattr(embedder, "languages", None)
    if not force:
        narrative_ids, current = store_narratives.description_due(store.db, narrative_ids, change=DESCRIBE_CHANGE,
                                                                  small=DESCRIBE_SMALL)
        if current and model:
            with store.write() as db:
                store_narratives.fill_similarity(db, current, model)
        if not narrative_ids:
            return
    total, document_frequency = store_narratives.document_frequency(store.db)
    with progress("describing narratives", total=len(narrative_ids), unit=" narratives") as bar:
        for start in range(0, len(narrative_ids), DESCRIBE_BATCH):
            batch = narrative_ids[start:start + DESCRIBE_BATCH]
            with store.write() as db:
                for n, (members, vectors) in store_narratives.describe_inputs(db, batch, model, languages).items():
                    if not members:
                        continue
                    found = describe([Member(*m) for m in members], vectors, total_claims=total,
                                     document_frequency=document_frequency)
                    store_narratives.save_description(
                        db, n, keywords=found.keywords, central_claim_id=found.central_claim_id,
                        representatives=found.representatives, label=found.label, centroid=found.centroid,
                        model=model, similarity=found.similarity, boilerplate=found.boilerplate)
                document_frequency.save(db)
            bar.update(len(batch))


# Narratives of fewer claims get no anchor. Each anchor costs three multilingual-e5 passes (about 13 news sentences
# a second on two cores, the largest cost of a first update of the bundled corpus), and a line a handful of
# articles carry is rarely the one a paper in another language repeats: on the tuning half of the CPEC labels,
# anchoring narratives of 5+ claims instead of 3+ kept 17 of the 18 correct placements (and dropped one wrong one)
# with 432 anchor texts instead of 897; 6+ kept only 13.
CROSSLINGUAL_MIN_MEMBERS = 5


def place_crosslingual(store: Store, embedder: Embedder, *, threshold: float, min_members: int | None = None,
                       n_anchors: int = 3, touched: set[int] | None = None) -> dict[str, int]:
    """Place claims in languages ``embedder`` does not represent (Urdu, Chinese under MiniLM) into narratives.

    Each open narrative with at least ``min_members`` (default :data:`CROSSLINGUAL_MIN_MEMBERS`) claims gets an
    anchor: the mean multilingual (e5) embedding of its central claim and representatives (up to ``n_anchors``,
    covered languages only). A foreign-language claim is proposed for the narrative whose anchor it is most similar
    to when the cosine reaches ``threshold`` (the planner then applies reviewer constraints), and proposed for none
    when a later run no longer finds it close. A run places the claims never considered and reconsiders those in the
    narratives ``touched`` by this run's clustering (all of them when ``touched`` is None), so placements follow
    narratives as they change at a cost in proportion to what changed; vectors come from the store, so only new
    claims are embedded. Nothing happens without the multilingual extra or with a multilingual embedder.

    Returns:
        {"placed": claims now proposed for a narrative, "moved": memberships this run changed}.
    """
    companion = crosslingual_embedder(store, embedder)
    covered = sorted(getattr(embedder, "languages", None) or [])
    if companion is None or not covered:
        return {}
    foreign = store_narratives.foreign_claims(store.db, covered, narratives=touched)
    if not foreign:
        return {}
    smallest = CROSSLINGUAL_MIN_MEMBERS if min_members is None else min_members
    anchors = store_narratives.anchor_texts(store.db, covered, min_members=smallest, n_anchors=n_anchors)
    proposal = Proposal(placements={claim: None for claim, _ in foreign})
    if anchors:
        order = sorted(anchors)
        vectors = np.asarray(companion.encode([t for n in order for t in anchors[n]]), dtype=np.float32)
        means, start = [], 0
        for n in order:
            means.append(vectors[start:start + len(anchors[n])].mean(axis=0))
            start += len(anchors[n])
        anchor_matrix = np.stack(means)
        anchor_matrix /= np.maximum(np.linalg.norm(anchor_matrix, axis=1, keepdims=True), 1e-12)
        sims = np.asarray(companion.encode([t for _, t in foreign]), dtype=np.float32) @ anchor_matrix.T
        best = sims.argmax(axis=1)
        for (claim, _), j, row in zip(foreign, best, sims):
            if row[j] >= threshold:
                proposal.placements[claim] = order[int(j)]
                proposal.similarity[claim] = round(float(row[j]), 4)
    with store.write() as db:
        membership = store_narratives.membership_state(
            db, proposal.placements, {n for n in proposal.placements.values() if n is not None})
        plan = plan_membership(membership, proposal)
        ids = store_narratives.apply_plan(db, plan, actor=MODEL)
        store_narratives.record_unclustered(
            db, [c for c, n in proposal.placements.items() if n is None and c not in membership.members])
    describe_narratives(store, sorted({ids.get(n, n) for n in plan.touched}), embedder)
    return {"placed": sum(1 for n in proposal.placements.values() if n is not None), "moved": len(plan.assign)}


THEME_TEXTS = 10  # member texts per narrative for the lexical part of the theme similarity
REGROUP_SHARE = 0.1  # a full regrouping when the active narratives changed by more than this share


def run_themes(store: Store, embedder: Embedder, *, touched: set[int] | None = None,
               full: bool = False) -> dict[str, Any]:
    """Group the active narratives into themes, keeping theme ids stable.

    A full grouping (:func:`tracker.themes.group_narratives`, warm-started from the current themes) runs on the
    first call, on ``full`` (a rebuild), when ``touched`` is None, and when the number of active narratives moved
    by more than a tenth since the last one; otherwise only the narratives ``touched`` by this run that have no
    theme are attached to their neighbours' theme (:func:`tracker.themes.attach`), at a cost in proportion to what
    changed. Either way only themes whose narratives changed are described again.
    """
    floor = float(settings.get("theme_floor"))
    with store.write() as db:  # reads and writes in one transaction: a reviewer's theme choice cannot slip between
        ids, centroids, _sizes, old = store_themes.grouping_inputs(db, embedder.name)
        total = store_themes.active_narratives(db)
        last = store_base.get_meta_json(db, "themes.grouped")
        regroup = full or touched is None or last is None or abs(total - last["n"]) > REGROUP_SHARE * max(last["n"], 1)
        if regroup:
            previous = np.unique(old, return_inverse=True)[1] - (1 if (old < 0).any() else 0)
            previous[old < 0] = -1
            covered = sorted(getattr(embedder, "languages", None) or [])
            texts = store_themes.narrative_texts(db, ids, THEME_TEXTS, covered)
            new = group_narratives(
                centroids, texts=texts, floor=floor, resolution=float(settings.get("theme_resolution")),
                max_share=float(settings.get("theme_max_share")), n_total=total,
                previous=previous) if ids else np.zeros(0, np.int64)
            live, created, dissolved, changed = store_themes.apply_grouping(db, ids, new.tolist(),
                                                                            match_labels(old, new), old.tolist())
            store_base.set_meta_json(db, "themes.grouped", {"n": total, "at": store_base.now()})
            counts = {"themes": len(live), "new": created, "dissolved": dissolved,
                      "narratives_in_themes": int((new >= 0).sum()), "regrouped": True}
        else:
            position = {n: i for i, n in enumerate(ids)}
            new_rows = np.array([position[n] for n in sorted(touched) if n in position and old[position[n]] < 0],
                                np.int64)
            found = attach(centroids, old, new_rows, floor=floor)
            placed = [(ids[i], int(t)) for i, t in zip(new_rows, found, strict=True) if t >= 0]
            store_themes.set_themes(db, placed)
            changed = {t for _, t in placed}
            counts = {"themes": len(store_themes.members(db)), "attached": len(placed)}
        describe_themes(db, sorted(changed))
        store_themes.settle_volume(db)
    if not regroup and store_themes.largest_share(store.db) > float(settings.get("theme_max_share")) + 0.01:
        return run_themes(store, embedder, full=True)  # attaching grew a theme past the cap: regroup now
    return counts


def describe_themes(db: Any, theme_ids: list[int], *, n_keywords: int = 6) -> None:
    """Recompute counts, dates, c-TF-IDF keywords and (unless a reviewer named it) the label of themes (inside
    the caller's transaction)."""
    if not theme_ids:
        return
    total, document_frequency = store_narratives.document_frequency(db)
    for theme_id in theme_ids:
        stats, texts = store_themes.description_inputs(db, theme_id)
        keywords = distinctive_keywords(texts, max(total, 1), document_frequency, n_keywords)
        store_themes.save_description(db, theme_id, stats, keywords, keyword_label(keywords))
    document_frequency.save(db)
