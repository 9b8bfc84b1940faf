"""The stance stage: targets, training a target's model from its labels, and measuring stance for new claims.

A target's model is trained on every label the store knows for it: the shipped set (CPEC), the target's example
statements, users' labels and reviewer corrections. :func:`train` records each fitted model (JSON state plus
arrays, never pickle) with its version and cross-validated scores; each prediction names the version that made it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

import numpy as np

from tracker import TrackerError
from tracker.embed import Embedder
from tracker.metrics import f_avg, macro_f1
from tracker.pipeline.claims import CachedEmbedder, crosslingual_embedder
from tracker.pipeline.progress import NO_PROGRESS, Progress, StageResult
from tracker.stance import (
    NARRATIVE_RULE_VERSION,
    TARGET_LABELS,
    TargetError,
    alias_pattern,
    article_stance,
    clean_aliases,
    narrative_stance,
    shipped_targets,
)
from tracker.store import Store
from tracker.store import base as store_base
from tracker.store import stance as store_stance

if TYPE_CHECKING:  # the model module imports scikit-learn (seconds): only the stance stage needs it
    from tracker.stance_model import TargetStanceModel

BATCH = 2000  # claims scored and written per transaction


# --- targets ----------------------------------------------------------------------------------------------------

def ensure_targets(store: Store, *, always: bool = False) -> list[str]:
    """Add each shipped target (CPEC) that the store's articles name (or every one, with ``always``), checking
    only articles not checked before; returns the targets added. A store about something else gets none: nothing
    assumes CPEC."""
    missing = [t for t in shipped_targets() if not store_stance.has_target(store.db, t["name"])]
    if not missing:
        return []
    named = set()
    if always:
        named = {t["name"] for t in missing}
    else:
        checked = int(store_base.get_meta(store.db, "targets.checked_upto", 0) or 0)
        patterns = {t["name"]: alias_pattern(clean_aliases(t["name"], t["aliases"])) for t in missing}
        while rows := store_stance.article_texts_after(store.db, checked, 2000):
            for _, title, text in rows:
                named |= {name for name, pattern in patterns.items() if pattern.search(f"{title or ''}\n{text}")}
            checked = rows[-1][0]
        with store.write() as db:
            store_base.set_meta(db, "targets.checked_upto", checked)
    for target in missing:
        if target["name"] in named:
            add_target(store, target["name"], aliases=target["aliases"], related=target.get("related", []),
                       description=target["description"], favor=target["examples"]["favor"],
                       against=target["examples"]["against"])
    return sorted(named)


def add_target(store: Store, name: str, *, aliases: list[str] | None = None, related: list[str] | None = None,
               description: str = "", favor: list[str] | None = None, against: list[str] | None = None) -> int:
    """Create or update target ``name``: ``aliases`` are its own other names and spellings, ``related`` the terms
    that point to it in context without naming it (its parts and places); returns its id."""
    names = clean_aliases(name, aliases)
    with store.write() as db:
        return store_stance.upsert_target(db, names[0], aliases=names, description=description,
                                          related=[r.strip() for r in related or [] if r.strip()],
                                          examples={"favor": list(favor or []), "against": list(against or [])})


def get_target(store: Store, name: str) -> dict[str, Any]:
    """Target ``name`` (case-insensitive).

    Raises:
        TargetError: there is no such target.
    """
    found = store_stance.target(store.db, name)
    if found is None:
        known = ", ".join(store_stance.target_names(store.db)) or "none yet"
        raise TargetError(f"unknown target {name!r} (targets: {known}; add one with 'tracker targets add')")
    return found


def training_rows(store: Store, target: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(text, target, label) examples for ``target``: shipped set, examples, users' and reviewers' labels."""
    rows: list[tuple[str, str, str]] = []
    if target["name"].upper() == "CPEC":
        from tracker.resources import dataset_path, read_jsonl

        rows.extend((r["text"], target["name"], r["label"])
                    for r in read_jsonl(dataset_path("cpec", "stance", "target_stance_train.jsonl")))
    for label in ("favor", "against"):
        rows.extend((text, target["name"], label) for text in target["examples"].get(label, []))
    rows.extend((text, target["name"], label) for text, label in store_stance.labels(store.db, target["name"]))
    return rows


# --- training ---------------------------------------------------------------------------------------------------

def train(store: Store, target_name: str, embedder: Embedder, *, folds: int = 5) -> dict[str, Any]:
    """Fit the target's stance model on all its labels, cross-validate it, and record it in ``models``.

    Where ``embedder`` is English-only and the multilingual extra is installed, the model also fits a cross-lingual
    companion on e5 embeddings for Urdu, Chinese and other claims; the cross-validated scores are those of the main
    model, since the labelled examples are English.

    Returns:
        {"version", "n_train", "metrics"}.
    """
    from sklearn.model_selection import StratifiedKFold

    from tracker.stance_model import TargetStanceModel

    target = get_target(store, target_name)
    rows = training_rows(store, target)
    labels = [r[2] for r in rows]
    if len(set(labels)) < 2:
        raise TargetError(f"target {target['name']!r} needs labelled examples of at least two stances")
    texts, targets = [r[0] for r in rows], [r[1] for r in rows]
    metrics: dict[str, Any] = {}
    counts = np.bincount(np.unique(labels, return_inverse=True)[1])
    n_folds = int(min(folds, counts.min()))
    if n_folds >= 2:
        gold, pred = [], []
        for train_idx, test_idx in StratifiedKFold(n_folds, shuffle=True, random_state=0).split(texts, labels):
            model = TargetStanceModel(embedder=embedder).fit(
                [texts[i] for i in train_idx], [targets[i] for i in train_idx], [labels[i] for i in train_idx])
            pred += model.predict([texts[i] for i in test_idx], [targets[i] for i in test_idx])
            gold += [labels[i] for i in test_idx]
        metrics = {"cv_folds": n_folds, "f_avg": round(f_avg(gold, pred), 4),
                   "macro_f1": round(macro_f1(gold, pred, list(TARGET_LABELS)), 4)}
    companion = crosslingual_embedder(store, embedder)
    model = TargetStanceModel(embedder=embedder, crosslingual_embedder=companion).fit(texts, targets, labels)
    state, arrays = model.to_state()
    with store.write() as db:
        version = store_stance.save_model(
            db, f"target-stance:{target['name']}", metrics=metrics, n_train=len(rows), state=state, arrays=arrays,
            params={"embedder": embedder.name, "crosslingual_embedder": companion.name if companion else None})
    return {"version": version, "n_train": len(rows), "metrics": metrics}


def latest_model(store: Store, target_name: str, embedder: Embedder) -> tuple[str, TargetStanceModel] | None:
    """The newest model of a target with live embedders set, or None when it has none yet."""
    from tracker.stance_model import TargetStanceModel

    found = store_stance.latest_model(store.db, f"target-stance:{target_name}")
    if found is None:
        return None
    version, state, arrays = found
    companion = crosslingual_embedder(store, embedder)
    model = TargetStanceModel.from_state(state, arrays, embedder=embedder, crosslingual_embedder=companion)
    if companion is None:
        model.crosslingual_model_ = None  # the extra is gone: every claim goes through the main model
    return version, model


# --- the stage --------------------------------------------------------------------------------------------------

def run_stance(store: Store, embedder: Embedder, *, recompute: bool = False,
               progress: Progress = NO_PROGRESS) -> StageResult:
    """Target stance for new claims and their articles, and narrative stance for newly clustered claims."""
    ensure_targets(store)
    with store.write() as db:
        run_id = store_base.start_run(db, "stance", {"model": embedder.name, "recompute": recompute})
    counts: dict[str, Any] = {}
    cached = CachedEmbedder(store, embedder)
    for name in store_stance.target_names(store.db):
        try:
            found = latest_model(store, name, cached)
        except TrackerError:  # a stored model tracker cannot read (damaged, or crafted): it is refitted, not run
            found = None
        if found is None:
            try:
                train(store, name, cached)
            except TargetError as exc:  # a target nobody has given examples for yet: the others still run
                counts[name] = f"not measured ({exc})"
                continue
            found = latest_model(store, name, cached)
        assert found is not None
        version, model = found
        counts[name] = _target_stances(store, get_target(store, name), version, model, recompute=recompute,
                                       progress=progress)
    counts["narrative"] = _narrative_stances(store)
    with store.write() as db:
        store_base.finish_run(db, run_id, counts)
    return StageResult("stance", counts)


def _target_stances(store: Store, target: dict[str, Any], version: str, model: Any, *, recompute: bool,
                    progress: Progress) -> int:
    rows, upto = store_stance.claims_without_stance(store.db, target["id"], recompute=recompute)
    pattern = alias_pattern(target["aliases"])
    mentions: dict[int, bool] = {}
    with progress(f"stance toward {target['name']}", total=len(rows), unit=" claims") as bar:
        for start in range(0, len(rows), BATCH):
            chunk = rows[start:start + BATCH]
            unseen = {r[2] for r in chunk} - set(mentions)
            for article_id, (title, text) in store_stance.article_headers(store.db, unseen).items():
                mentions[article_id] = bool(pattern.search((title or "") + "\n" + text))
            relevant = [(claim_id, text, language) for claim_id, text, article_id, language in chunk
                        if mentions.get(article_id)]
            predictions: dict[int, tuple[str, float]] = {}
            if relevant:
                probabilities = model.predict_proba([r[1] for r in relevant], [target["name"]] * len(relevant),
                                                    [r[2] for r in relevant])
                classes = list(model.classes_)
                for (claim_id, *_), p in zip(relevant, probabilities):
                    best = int(np.argmax(p))
                    predictions[claim_id] = (str(classes[best]), float(p[best]))
            with store.write() as db:
                store_stance.save_claim_stances(db, target["id"], [
                    (claim_id, *predictions.get(claim_id, ("none", 1.0)),
                     version if claim_id in predictions else f"{version}+no-mention") for claim_id, *_ in chunk])
                _article_stances(db, target, version, sorted({r[2] for r in chunk}), mentions)
            bar.update(len(chunk))
    with store.write() as db:
        store_stance.set_stance_upto(db, target["id"], upto)
    return len(rows)


def _article_stances(db: Any, target: dict[str, Any], version: str, article_ids: list[int],
                     mentions: dict[int, bool]) -> None:
    """Each article's stance from all its claims' stances (inside the caller's transaction)."""
    claims: dict[int, list[tuple[str, float]]] = defaultdict(list)
    for article_id, label, score in store_stance.claim_stances_of_articles(db, target["id"], article_ids):
        claims[article_id].append((label, score))
    values = []
    for article_id in article_ids:
        label, score, measured = article_stance(claims[article_id], mentions=mentions.get(article_id, True))
        values.append((article_id, label, score, version if measured else f"{version}+no-mention"))
    store_stance.save_article_stances(db, target["id"], values)


def _narrative_stances(store: Store) -> int:
    """Stance of each newly clustered claim toward its narrative, from its attribution (model rows only)."""
    rows, started = store_stance.members_without_narrative_stance(store.db)
    with store.write() as db:
        store_stance.save_narrative_stances(db, [(claim_id, narrative_id, narrative_stance(attribution), 1.0,
                                                  NARRATIVE_RULE_VERSION)
                                                 for claim_id, narrative_id, attribution in rows], since=started)
    return len(rows)
