"""Stance: toward targets (favor / against / none) and toward narratives (agree / disagree / discuss).

Targets are data (``targets`` table; CPEC ships in ``tracker/data/targets.json``). Target stance comes from
:class:`tracker.stance_model.TargetStanceModel`, trained on every label the store knows for that target: the
shipped set (CPEC), the target's example statements, users' labels and reviewer corrections. ``train`` records
each fitted model with its version and cross-validated scores in ``models``; each prediction names the model
version that made it. An article's stance aggregates its claims' probabilities; an article that never mentions
the target (or an alias) is ``none``, and so are its claims.

Narrative stance uses the attribution found by claim extraction: a claim that refutes its narrative *disagrees*
(an outlet that "rejected disinformation campaigns" is not spreading them), one that reports it *discusses*, one the
outlet asserts *agrees*.
"""

from __future__ import annotations

import json
import pickle
import re
from collections import defaultdict
from importlib import resources
from typing import Any

import numpy as np
import sqlite_utils

from tracker import TrackerError
from tracker import db as store
from tracker.embed import Embedder
from tracker.pipeline import crosslingual_embedder

TARGET_LABELS = ("favor", "against", "none")
ATTRIBUTION_TO_NARRATIVE_STANCE = {"assert": "agree", "report": "discuss", "refute": "disagree"}
NARRATIVE_RULE_VERSION = "attribution-rule-1"
ARTICLE_MARGIN = 0.3


class TargetError(TrackerError):
    """A stance target is unknown or badly defined."""


# --- targets ----------------------------------------------------------------------------------------------------

def shipped_targets() -> list[dict[str, Any]]:
    return json.loads(resources.files("tracker").joinpath("data/targets.json").read_text(encoding="utf-8"))


def ensure_targets(db: sqlite_utils.Database) -> None:
    """Add the shipped targets (CPEC) to the store if they are not there yet (caller holds the transaction)."""
    for target in shipped_targets():
        if db.execute("SELECT 1 FROM targets WHERE name = ?", [target["name"]]).fetchone() is None:
            add_target(db, target["name"], aliases=target["aliases"], description=target["description"],
                       favor=target["examples"]["favor"], against=target["examples"]["against"])


def add_target(db: sqlite_utils.Database, name: str, *, aliases: list[str] | None = None,
               description: str = "", favor: list[str] | None = None, against: list[str] | None = None) -> int:
    """Create or update target ``name``; returns its id (caller holds the transaction)."""
    name = name.strip()
    if not name:
        raise TargetError("a target needs a name")
    aliases = list(dict.fromkeys([name, *(a.strip() for a in aliases or [] if a.strip())]))
    examples = {"favor": list(favor or []), "against": list(against or [])}
    db.execute(
        "INSERT INTO targets(name, aliases, description, examples) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(name) DO UPDATE SET aliases = excluded.aliases, description = excluded.description, "
        "examples = excluded.examples",
        [name, json.dumps(aliases, ensure_ascii=False), description, json.dumps(examples, ensure_ascii=False)],
    )
    return int(db.execute("SELECT id FROM targets WHERE name = ?", [name]).fetchone()[0])


def get_target(db: sqlite_utils.Database, name: str) -> dict[str, Any]:
    row = db.execute("SELECT id, name, aliases, description, examples FROM targets WHERE lower(name) = lower(?)",
                     [name]).fetchone()
    if row is None:
        known = ", ".join(r[0] for r in db.execute("SELECT name FROM targets ORDER BY name")) or "none yet"
        raise TargetError(f"unknown target {name!r} (targets: {known}; add one with 'tracker targets add')")
    return {"id": row[0], "name": row[1], "aliases": json.loads(row[2] or "[]"), "description": row[3],
            "examples": json.loads(row[4] or "{}")}


def alias_pattern(aliases: list[str]) -> re.Pattern[str]:
    """A case-insensitive pattern matching any alias (whole words for Latin-script aliases)."""
    parts = []
    for alias in sorted(aliases, key=len, reverse=True):
        escaped = re.escape(alias)
        parts.append(rf"\b{escaped}\b" if alias[:1].isascii() and alias[-1:].isascii() else escaped)
    return re.compile("|".join(parts), re.IGNORECASE)


# --- labels and training ----------------------------------------------------------------------------------------

def training_rows(db: sqlite_utils.Database, target: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(text, target, label) examples for ``target``: shipped set, examples, users' and reviewers' labels."""
    rows: list[tuple[str, str, str]] = []
    if target["name"].upper() == "CPEC":
        from tracker.resources import dataset_path, read_jsonl

        rows.extend((r["text"], target["name"], r["label"])
                    for r in read_jsonl(dataset_path("cpec", "stance", "target_stance_train.jsonl")))
    for label in ("favor", "against"):
        rows.extend((text, target["name"], label) for text in target["examples"].get(label, []))
    rows.extend((text, target["name"], label) for text, label in db.execute(
        "SELECT text, label FROM stance_labels WHERE task = 'target' AND lower(target) = lower(?) ORDER BY id",
        [target["name"]]))
    return rows


def train(db: sqlite_utils.Database, target_name: str, embedder: Embedder, *, folds: int = 5) -> dict[str, Any]:
    """Fit the target's stance model on all its labels, cross-validate it, and record it in ``models``.

    Where ``embedder`` is English-only and the multilingual extra is installed, the model also fits a cross-lingual
    companion on e5 embeddings for Urdu, Chinese and other claims (:class:`TargetStanceModel`); the cross-validated
    scores are those of the main model, since the labelled examples are English.

    Returns:
        {"version", "n_train", "metrics"}.
    """
    from sklearn.model_selection import StratifiedKFold

    from tracker.stance_model import TargetStanceModel, f_avg, macro_f1

    target = get_target(db, target_name)
    rows = training_rows(db, target)
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
    companion = crosslingual_embedder(db, embedder)
    model = TargetStanceModel(embedder=embedder, crosslingual_embedder=companion).fit(texts, targets, labels)
    kind = f"target-stance:{target['name']}"
    with db.atomic():
        n = db.execute("SELECT count(*) FROM models WHERE kind = ?", [kind]).fetchone()[0]
        version = f"{kind}:v{n + 1}"
        db.execute(
            "INSERT INTO models(kind, version, params, metrics, n_train, blob, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [kind, version, json.dumps({"embedder": embedder.name,
                                        "crosslingual_embedder": companion.name if companion else None}),
             json.dumps(metrics), len(rows),
             pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL), store.now()],
        )
    return {"version": version, "n_train": len(rows), "metrics": metrics}


def latest_model(db: sqlite_utils.Database, target_name: str) -> tuple[str, Any] | None:
    row = db.execute(
        "SELECT version, blob FROM models WHERE kind = ? ORDER BY id DESC LIMIT 1", [f"target-stance:{target_name}"]
    ).fetchone()
    if row is None:
        return None
    return row[0], pickle.loads(row[1])  # noqa: S301 - the store's own models


# --- the stage --------------------------------------------------------------------------------------------------

def run_stance(db: sqlite_utils.Database, embedder: Embedder, *, recompute: bool = False) -> dict[str, Any]:
    """Target stance for new claims and their articles, and narrative stance for newly clustered claims."""
    from tracker.pipeline import CachedEmbedder

    with db.atomic():
        ensure_targets(db)
    run_id = store.start_run(db, "stance", {"model": embedder.name, "recompute": recompute})
    counts: dict[str, Any] = {}
    cached = CachedEmbedder(db, embedder)
    for (name,) in db.execute("SELECT name FROM targets ORDER BY id").fetchall():
        found = latest_model(db, name)
        if found is None:
            train(db, name, cached)
            found = latest_model(db, name)
        assert found is not None
        version, model = found
        companion = crosslingual_embedder(db, cached) if model.crosslingual_model_ is not None else None
        if companion is None:
            model.crosslingual_model_ = None  # the extra is gone: every claim goes through the main model
        model.set_params(embedder=cached, crosslingual_embedder=companion)
        counts[name] = _target_stances(db, get_target(db, name), version, model, recompute=recompute)
    counts["narrative"] = _narrative_stances(db)
    store.finish_run(db, run_id, counts)
    return counts


def _target_stances(db: sqlite_utils.Database, target: dict[str, Any], version: str, model: Any, *,
                    recompute: bool, batch: int = 2000) -> int:
    where = "" if recompute else (
        "AND c.id NOT IN (SELECT subject_id FROM stances WHERE subject = 'claim' AND target_id = :target)")
    rows = db.execute(
        f"SELECT c.id, c.text, c.article_id, a.title, a.text, a.language FROM claims c "
        f"JOIN articles a ON a.id = c.article_id "
        f"WHERE 1 {where} ORDER BY c.id", {"target": target["id"]}).fetchall()
    pattern = alias_pattern(target["aliases"])
    mentions: dict[int, bool] = {}
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        relevant = []
        for claim_id, text, article_id, title, article_text, language in chunk:
            if article_id not in mentions:
                mentions[article_id] = bool(pattern.search((title or "") + "\n" + article_text))
            if mentions[article_id]:
                relevant.append((claim_id, text, language))
        predictions: dict[int, tuple[str, float]] = {}
        if relevant:
            probabilities = model.predict_proba([r[1] for r in relevant], [target["name"]] * len(relevant),
                                                [r[2] for r in relevant])
            classes = list(model.classes_)
            for (claim_id, *_), p in zip(relevant, probabilities):
                best = int(np.argmax(p))
                predictions[claim_id] = (str(classes[best]), float(p[best]))
        with db.atomic():
            db.conn.executemany(
                "INSERT INTO stances(subject, subject_id, target_id, label, score, model, source) "
                "VALUES ('claim', ?, ?, ?, ?, ?, 'model') ON CONFLICT(subject, subject_id, target_id) "
                "DO UPDATE SET label = excluded.label, score = excluded.score, model = excluded.model "
                "WHERE stances.source = 'model'",
                [(claim_id, target["id"], *predictions.get(claim_id, ("none", 1.0)),
                  version if claim_id in predictions else f"{version}+no-mention")
                 for claim_id, *_ in chunk],
            )
            _article_stances(db, target, version, sorted({r[2] for r in chunk}), mentions)
    return len(rows)


def _article_stances(db: sqlite_utils.Database, target: dict[str, Any], version: str, article_ids: list[int],
                     mentions: dict[int, bool]) -> None:
    """An article's stance: the balance of its claims' favor and against probabilities (caller's transaction)."""
    marks = ",".join("?" * len(article_ids))
    totals: dict[int, dict[str, float]] = defaultdict(lambda: {"favor": 0.0, "against": 0.0, "n": 0.0})
    for article_id, label, score in db.execute(
        f"SELECT c.article_id, s.label, s.score FROM stances s JOIN claims c ON c.id = s.subject_id "
        f"WHERE s.subject = 'claim' AND s.target_id = ? AND c.article_id IN ({marks})",
        [target["id"], *article_ids]):
        totals[article_id]["n"] += 1
        if label in ("favor", "against"):
            totals[article_id][label] += score or 0.0
    values = []
    for article_id in article_ids:
        t = totals[article_id]
        weight = t["favor"] + t["against"]
        if not mentions.get(article_id, True) or weight == 0:
            values.append((article_id, target["id"], "none", 1.0, f"{version}+no-mention"))
            continue
        # the share of stance-taking weight on one side; claims without a stance do not dilute it
        balance = (t["favor"] - t["against"]) / weight
        label = "favor" if balance > ARTICLE_MARGIN else "against" if balance < -ARTICLE_MARGIN else "none"
        values.append((article_id, target["id"], label, round(0.5 + abs(balance) / 2, 4), version))
    db.conn.executemany(
        "INSERT INTO stances(subject, subject_id, target_id, label, score, model, source) "
        "VALUES ('article', ?, ?, ?, ?, ?, 'model') ON CONFLICT(subject, subject_id, target_id) "
        "DO UPDATE SET label = excluded.label, score = excluded.score, model = excluded.model "
        "WHERE stances.source = 'model'", values)


def _narrative_stances(db: sqlite_utils.Database) -> int:
    """Stance of each clustered claim toward its narrative, from its attribution (model rows only)."""
    rows = db.execute(
        """SELECT nc.claim_id, nc.narrative_id, c.attribution FROM narrative_claims nc
           JOIN claims c ON c.id = nc.claim_id
           LEFT JOIN narrative_stances ns ON ns.claim_id = nc.claim_id AND ns.narrative_id = nc.narrative_id
           WHERE ns.claim_id IS NULL""").fetchall()
    with db.atomic():
        db.conn.executemany(
            "INSERT INTO narrative_stances(claim_id, narrative_id, label, score, model, source) "
            "VALUES (?, ?, ?, 1.0, ?, 'model')",
            [(claim_id, narrative_id, ATTRIBUTION_TO_NARRATIVE_STANCE.get(attribution or "assert", "agree"),
              NARRATIVE_RULE_VERSION) for claim_id, narrative_id, attribution in rows])
        db.execute("DELETE FROM narrative_stances WHERE source = 'model' AND NOT EXISTS (SELECT 1 FROM "
                   "narrative_claims nc WHERE nc.claim_id = narrative_stances.claim_id "
                   "AND nc.narrative_id = narrative_stances.narrative_id)")
    return len(rows)


# --- evaluation -------------------------------------------------------------------------------------------------

def evaluate_target_stance(records: list[dict[str, Any]], train_records: list[dict[str, Any]] | None,
                           embedder: Embedder) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``tracker eval target-stance``: the shipped model (CPEC) or one fitted on ``--train``."""
    from tracker.evaluate import classification_metrics
    from tracker.stance_model import TargetStanceModel, f_avg

    if train_records:
        rows = [(r["text"], r["target"], str(r["label"]).lower()) for r in train_records]
    else:
        from tracker.db import open_db

        db = open_db(":memory:")
        with db.atomic():
            ensure_targets(db)
        rows = training_rows(db, get_target(db, "CPEC"))
    model = TargetStanceModel(embedder=embedder).fit([r[0] for r in rows], [r[1] for r in rows],
                                                      [r[2] for r in rows])
    pred = model.predict([r["text"] for r in records], [r["target"] for r in records])
    gold = [str(r["label"]).lower() for r in records]
    metrics = {"f_avg": round(f_avg(gold, pred), 4), **classification_metrics(gold, pred, list(TARGET_LABELS))}
    return metrics, [{"line": i + 1, "pred": p} for i, p in enumerate(pred)]


def evaluate_claim_stance(records: list[dict[str, Any]], train_records: list[dict[str, Any]] | None,
                          embedder: Embedder) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``tracker eval claim-stance``: the shipped rule model, or the gradient-boosted model fitted on ``--train``.

    The product decides narrative stance by rule (attribution cues), so the shipped claim-stance model is the
    rule model too: relatedness by embedding similarity and word overlap, then refuting and reporting cues. On
    the FNC-1 dev pairs it scores 0.825 (FNC score) untrained; the gradient-boosted model fitted on the project's
    short CPEC pairs does worse on long article bodies (0.578), so it is not the default.
    """
    from tracker.evaluate import classification_metrics
    from tracker.stance_model import CLAIM_LABELS, ClaimStanceModel, RuleClaimStance, fnc_score

    if train_records:
        model: Any = ClaimStanceModel(embedder=embedder).fit(
            [r["claim"] for r in train_records], [r["text"] for r in train_records],
            [str(r["label"]).lower() for r in train_records])
    else:
        model = RuleClaimStance(embedder=embedder).fit()
    pred = model.predict([r["claim"] for r in records], [r["text"] for r in records])
    gold = [str(r["label"]).lower() for r in records]
    metrics = {"fnc_score": round(fnc_score(gold, pred), 4), **classification_metrics(gold, pred, list(CLAIM_LABELS))}
    return metrics, [{"line": i + 1, "pred": p} for i, p in enumerate(pred)]
