"""``tracker eval``: run the product's own code on labelled data and score it (the evaluation contract).

Every task reads JSON Lines (``.jsonl`` or ``.jsonl.gz``), runs on a temporary in-memory store (never the user's),
reads gold labels only to score, and returns a dict with exactly the contract's metric keys. Predictions, one per
input line and in input order, can be written for independent re-scoring.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tracker import TrackerError
from tracker.embed import Embedder

TASKS = ("clusters", "target-stance", "claim-stance", "match", "checkworthy")
REQUIRED = {
    "clusters": ("id", "text", "gold"),
    "target-stance": ("target", "text", "label"),
    "claim-stance": ("claim", "text", "label"),
    "match": ("id", "text"),
    "checkworthy": ("text", "label"),
}
LABELS = {
    "target-stance": {"favor", "against", "none"},
    "claim-stance": {"agree", "disagree", "discuss", "unrelated"},
    "checkworthy": {"0", "1"},
}


class BadEvalFile(TrackerError):
    """An evaluation file is missing, unreadable or not in the task's format."""


def read_jsonl(path: str | Path, required: tuple[str, ...] = (),
               labels: set[str] | None = None) -> list[dict[str, Any]]:
    """Records of a JSON Lines file (optionally gzipped), each checked for the ``required`` keys and, when
    ``labels`` is given, for a ``label`` among them (errors name the file line)."""
    path = Path(path)
    opener: Callable[..., Any] = gzip.open if path.suffix == ".gz" else open
    records = []
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError as exc:
                    raise BadEvalFile(f"{path}:line {number}: invalid JSON ({exc})") from exc
                missing = [k for k in required if k not in record]
                if missing:
                    raise BadEvalFile(f"{path}:line {number}: missing {', '.join(missing)}")
                if labels is not None and str(record["label"]).lower() not in labels:
                    raise BadEvalFile(f"{path}:line {number}: label {record['label']!r} not in {sorted(labels)}")
                records.append(record)
    except FileNotFoundError as exc:
        raise BadEvalFile(f"{path}: no such file") from exc
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise BadEvalFile(f"{path}: cannot read ({exc})") from exc
    if not records:
        raise BadEvalFile(f"{path}: no records")
    return records


# --- metrics ----------------------------------------------------------------------------------------------------

def per_label_scores(gold: list[str], pred: list[str], labels: list[str]) -> dict[str, dict[str, float]]:
    from sklearn.metrics import precision_recall_fscore_support

    p, r, f, s = precision_recall_fscore_support(gold, pred, labels=labels, zero_division=0)
    return {label: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4),
                    "f1": round(float(f[i]), 4), "support": int(s[i])} for i, label in enumerate(labels)}


def classification_metrics(gold: list[str], pred: list[str], labels: list[str]) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, f1_score

    return {
        "macro_f1": round(float(f1_score(gold, pred, labels=labels, average="macro", zero_division=0)), 4),
        "accuracy": round(float(accuracy_score(gold, pred)), 4),
        "per_label": per_label_scores(gold, pred, labels),
    }


# --- tasks ------------------------------------------------------------------------------------------------------

def eval_checkworthy(records: list[dict[str, Any]], train: list[dict[str, Any]] | None, embedder: Embedder) -> tuple[
    dict[str, Any], list[dict[str, Any]]
]:
    from sklearn.metrics import average_precision_score, precision_recall_fscore_support

    from tracker.checkworthy import CheckworthyModel, default_model

    if train:
        model = CheckworthyModel(embedder=embedder).fit([r["text"] for r in train], [int(r["label"]) for r in train])
    else:
        model = default_model(embedder)
    scores = model.score([r["text"] for r in records])
    gold = [int(r["label"]) for r in records]
    pred = [int(s >= 0.5) for s in scores]
    p, r, f, _ = precision_recall_fscore_support(gold, pred, average="binary", zero_division=0)
    metrics = {"average_precision": round(float(average_precision_score(gold, scores)), 4),
               "f1": round(float(f), 4), "precision": round(float(p), 4), "recall": round(float(r), 4)}
    return metrics, [{"line": i + 1, "pred": pred[i], "score": round(scores[i], 6)} for i in range(len(records))]


def eval_match(records: list[dict[str, Any]], corpus: list[dict[str, Any]], embedder: Embedder) -> tuple[
    dict[str, Any], list[dict[str, Any]]
]:
    from tracker.db import open_db
    from tracker.search import rank_claims

    db = open_db(":memory:")
    claim_to_item = store_whole_texts(db, corpus, embedder)
    ranked_all = []
    query_vectors = embedder.encode([str(r["text"]) for r in records])
    for record, vector in zip(records, query_vectors):
        ranked: list[str] = []
        for claim_id, _, _ in rank_claims(db, record["text"], embedder, query_vector=vector):
            item = claim_to_item[claim_id]
            if item not in ranked:
                ranked.append(item)
            if len(ranked) >= 10:
                break
        ranked_all.append(ranked)
    metrics = match_metrics([[str(x) for x in r.get("relevant", [])] for r in records], ranked_all)
    return metrics, [{"line": i + 1, "ranked": ranked} for i, ranked in enumerate(ranked_all)]


def match_metrics(relevant: list[list[str]], ranked: list[list[str]]) -> dict[str, float]:
    ap5 = rr = r1 = r5 = 0.0
    n = 0
    for gold, order in zip(relevant, ranked):
        gold_set = set(gold)
        if not gold_set:
            continue
        n += 1
        hits = 0
        precisions = []
        for i, item in enumerate(order[:5], start=1):
            if item in gold_set:
                hits += 1
                precisions.append(hits / i)
        ap5 += sum(precisions) / min(len(gold_set), 5)
        first = next((i for i, item in enumerate(order, start=1) if item in gold_set), None)
        rr += 1.0 / first if first else 0.0
        r1 += len(gold_set & set(order[:1])) / len(gold_set)
        r5 += len(gold_set & set(order[:5])) / len(gold_set)
    n = max(n, 1)
    return {"map_at_5": round(ap5 / n, 4), "mrr": round(rr / n, 4), "recall_at_1": round(r1 / n, 4),
            "recall_at_5": round(r5 / n, 4)}


def store_whole_texts(db: Any, items: list[dict[str, Any]], embedder: Embedder, *,
                      dates: bool = False) -> dict[int, str]:
    """Store each item as an article whose whole text is one claim, embed it; returns claim id -> item id.

    Used where each input record *is* one claim (a fact-check database, a headline list), so it is matched or
    clustered as written instead of being split into sentences.
    """
    from tracker import db as store
    from tracker.ingest import store_article
    from tracker.ingest.normalise import clean_text, parse_date
    from tracker.pipeline import run_embed
    from tracker.records import Article

    claim_to_item: dict[int, str] = {}
    with db.atomic():
        for number, item in enumerate(items, start=1):
            text = clean_text(str(item["text"])) or "(empty)"
            published = None
            if dates and item.get("date"):
                try:
                    published = parse_date(item["date"])
                except ValueError:
                    published = None
            article = Article(text=text, source=item.get("source") or None, published=published,
                              external_id=str(item.get("id", number)), origin=f"eval:item {number}")
            outcome, article_id = store_article(db, article, threshold=1.1)
            cursor = db.execute(
                "INSERT INTO claims(article_id, idx, start, end, text, text_hash, claimant, attribution, "
                "checkworthy, extractor) VALUES (?, ?, 0, ?, ?, ?, 'the outlet', 'assert', NULL, 'whole-text')",
                [article_id, number if outcome == "duplicate" else 0, len(text), text, store.content_hash(text)],
            )
            claim_to_item[int(cursor.lastrowid)] = str(item.get("id", number))
    run_embed(db, embedder)
    return claim_to_item


def run(task: str, path: str, *, corpus: str | None = None, train: str | None = None,
        embedder: Embedder | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run evaluation ``task`` on ``path``; returns (metrics, predictions)."""
    from tracker import settings
    from tracker.embed import get_embedder

    if task not in TASKS:
        raise TrackerError(f"unknown task {task!r}; tasks are {', '.join(TASKS)}")
    records = read_jsonl(path, REQUIRED[task], LABELS.get(task))
    train_records = read_jsonl(train, REQUIRED[task], LABELS.get(task)) if train else None
    embedder = embedder or get_embedder(settings.get("embedding_model"))
    if settings.get("eval_cache"):
        from tracker.db import open_db
        from tracker.pipeline import CachedEmbedder

        embedder = CachedEmbedder(open_db(settings.get("eval_cache")), embedder)
    if task == "checkworthy":
        return eval_checkworthy(records, train_records, embedder)
    if task == "match":
        if not corpus:
            raise TrackerError("match needs --corpus FILE (records {\"id\", \"text\"})")
        return eval_match(records, read_jsonl(corpus, ("id", "text")), embedder)
    if task == "clusters":
        from tracker.narratives import evaluate_clusters

        return evaluate_clusters(records, embedder)
    from tracker.stance import evaluate_claim_stance, evaluate_target_stance

    if task == "target-stance":
        return evaluate_target_stance(records, train_records, embedder)
    return evaluate_claim_stance(records, train_records, embedder)


def format_table(task: str, metrics: dict[str, Any]) -> str:
    """A readable table of ``metrics``."""
    lines = [f"tracker eval {task}", ""]
    for key, value in metrics.items():
        if key == "per_label":
            continue
        lines.append(f"  {key:<20} {value}")
    if "per_label" in metrics:
        lines += ["", f"  {'label':<12} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>9}"]
        for label, row in metrics["per_label"].items():
            lines.append(f"  {label:<12} {row['precision']:>9.4f} {row['recall']:>9.4f} {row['f1']:>9.4f} "
                         f"{row['support']:>9}")
    return "\n".join(lines)


def write_predictions(path: str, predictions: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for row in predictions:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
