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

import numpy as np

from tracker import TrackerError
from tracker.embed import Embedder
from tracker.metrics import (
    average_precision,
    classification_metrics,
    cluster_metrics,
    expected_calibration_error,
    f_avg,
    fnc_score,
    match_metrics,
    mean_group_average_precision,
)
from tracker.store import Store

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


# --- tasks ------------------------------------------------------------------------------------------------------

def documents(records: list[dict[str, Any]]) -> list[Any] | None:
    """The document of each record (its ``debate`` or ``document`` field), or None when no record names one."""
    docs = [r.get("debate", r.get("document")) for r in records]
    return docs if any(d not in (None, "") for d in docs) else None


def eval_checkworthy(records: list[dict[str, Any]], train: list[dict[str, Any]] | None, embedder: Embedder) -> tuple[
    dict[str, Any], list[dict[str, Any]]
]:
    """``tracker eval checkworthy``: the shipped model, or :meth:`CheckworthyModel.for_training_file` fitted on
    ``--train``. Records that name their document (``debate`` or ``document``, sentences in reading order) are
    scored with it, and ``mean_document_ap`` (the mean over documents of each one's AP, CheckThat!'s measure) is
    added. ``pred`` is 1 where the score reaches the model's threshold, chosen on its training data."""
    from sklearn.metrics import precision_recall_fscore_support

    from tracker.checkworthy import CheckworthyModel, default_model

    if train:
        model = CheckworthyModel.for_training_file(embedder).fit(
            [r["text"] for r in train], [int(r["label"]) for r in train], docs=documents(train))
    else:
        model = default_model(embedder)
    texts = [str(r["text"]) for r in records]
    docs = documents(records)
    scores = model.score(texts, embedder.encode(texts), docs=docs)
    threshold = model.threshold(docs)
    gold = [int(r["label"]) for r in records]
    pred = [int(s >= threshold) for s in scores]
    p, r, f, _ = precision_recall_fscore_support(gold, pred, average="binary", zero_division=0)
    metrics: dict[str, Any] = {"average_precision": round(average_precision(gold, scores), 4),
                               "f1": round(float(f), 4), "precision": round(float(p), 4), "recall": round(float(r), 4)}
    if docs is not None:
        metrics["mean_document_ap"] = round(mean_group_average_precision(gold, scores, [str(d) for d in docs]), 4)
    return metrics, [{"line": i + 1, "pred": pred[i], "score": round(scores[i], 6)} for i in range(len(records))]


def eval_match(records: list[dict[str, Any]], corpus: list[dict[str, Any]], embedder: Embedder) -> tuple[
    dict[str, Any], list[dict[str, Any]]
]:
    """``tracker eval match``: the corpus stored as whole-text claims (with their titles), each query ranked by
    claim search's own :func:`tracker.search.rank_claims`."""
    from tracker.search import embed_queries, rank_claims

    store = Store(":memory:")
    claim_to_item = store_whole_texts(store, corpus, embedder)
    ranked_all = []
    raw, clean = embed_queries(embedder, [str(r["text"]) for r in records])
    for i, record in enumerate(records):
        ranked: list[str] = []
        for claim_id, _, _ in rank_claims(store, str(record["text"]), embedder, query_vectors=(raw[i], clean[i])):
            item = claim_to_item[claim_id]
            if item not in ranked:
                ranked.append(item)
            if len(ranked) >= 10:
                break
        ranked_all.append(ranked)
    metrics = match_metrics([[str(x) for x in r.get("relevant", [])] for r in records], ranked_all)
    return metrics, [{"line": i + 1, "ranked": ranked} for i, ranked in enumerate(ranked_all)]


def store_whole_texts(store: Store, items: list[dict[str, Any]], embedder: Embedder, *,
                      dates: bool = False) -> dict[int, str]:
    """Store each item as an article whose whole text is one claim, with the item's ``title`` if it has one, and
    embed it (and the title); returns claim id -> item id.

    Used where each input record *is* one claim (a fact-check database, a headline list), so it is matched or
    clustered as written instead of being split into sentences.
    """
    from tracker.ingest import store_article
    from tracker.ingest.normalise import clean_text, parse_date
    from tracker.pipeline import run_embed
    from tracker.records import Article
    from tracker.store import claims as store_claims

    claim_to_item: dict[int, str] = {}
    with store.write() as db:
        for number, item in enumerate(items, start=1):
            text = clean_text(str(item["text"])) or "(empty)"
            title = clean_text(str(item.get("title") or "")) or None
            published = None
            if dates and item.get("date"):
                try:
                    published = parse_date(item["date"])
                except ValueError:
                    published = None
            article = Article(text=text, title=title, source=item.get("source") or None, published=published,
                              external_id=str(item.get("id", number)), origin=f"eval:item {number}")
            outcome, article_id = store_article(db, article, threshold=1.1)
            claim = store_claims.insert_whole(db, article_id, number if outcome == "duplicate" else 0, text)
            claim_to_item[claim] = str(item.get("id", number))
    run_embed(store, embedder)
    return claim_to_item


def eval_clusters(records: list[dict[str, Any]], embedder: Embedder, *, batch_size: int = 100) -> tuple[
    dict[str, Any], list[dict[str, Any]]
]:
    """``tracker eval clusters``: feed items through the incremental path that ``tracker update`` uses, in date
    (else file) order, a batch at a time, and score B-cubed against the gold clusters."""
    from tracker.pipeline import run_embed, run_narratives
    from tracker.store import narratives as store_narratives

    order = list(range(len(records)))
    dated = all(r.get("date") for r in records)
    if dated:
        order.sort(key=lambda i: str(records[i]["date"]))
        days: list[list[int]] = []
        for i in order:
            if days and str(records[days[-1][0]]["date"]) == str(records[i]["date"]) and len(days[-1]) < batch_size:
                days[-1].append(i)
            else:
                days.append([i])
        # one update per day would be thousands of runs on dense data; group consecutive days up to batch_size
        batches: list[list[int]] = []
        for day in days:
            if batches and len(batches[-1]) + len(day) <= batch_size:
                batches[-1].extend(day)
            else:
                batches.append(list(day))
    else:
        batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    store = Store(":memory:")
    claim_of_item: dict[int, int] = {}
    for batch in batches:
        mapping = store_whole_texts(store, [{**records[i], "id": i} for i in batch], embedder, dates=dated)
        claim_of_item.update({int(item): claim for claim, item in mapping.items()})
        run_embed(store, embedder)
        run_narratives(store, embedder)
    assigned = store_narratives.assignments(store.db)
    pred = [assigned.get(claim_of_item[i]) for i in range(len(records))]
    metrics = {**cluster_metrics([str(r["gold"]) for r in records], pred),
               "n_clusters": len({p for p in pred if p is not None}), "n_items": len(records)}
    return metrics, [{"line": i + 1, "pred": pred[i]} for i in range(len(records))]


DOCUMENT_WORDS = 60  # a record of at least this many words and two sentences is read as an article


def is_document(text: str) -> bool:
    """Whether ``tracker eval target-stance`` reads a record as an article (split into claims, relevance first,
    stance aggregated) rather than as one sentence."""
    from tracker.stance_model import split_sentences

    return len(text.split()) >= DOCUMENT_WORDS and len(split_sentences(text, 2)) >= 2


def _documents_stance(records: list[dict[str, Any]], embedder: Embedder) -> list[np.ndarray]:
    """Article-level probabilities (favor, against, none) of each record through the pipeline itself, on a
    temporary store: ingest, claims, embedding, relevance, claim stance, aggregation. A record that is not about
    its target gets (0, 0, 1)."""
    from tracker.ingest import store_article
    from tracker.ingest.normalise import clean_text, detect_language
    from tracker.pipeline import run_claims, run_embed
    from tracker.pipeline.stance import add_target, ensure_targets, run_stance
    from tracker.records import Article
    from tracker.stance import shipped_targets
    from tracker.store import stance as store_stance

    store = Store(":memory:")
    shipped = {t["name"].casefold() for t in shipped_targets()}
    ensure_targets(store, always=True)
    for name in sorted({str(r["target"]) for r in records}):
        if name.casefold() not in shipped:
            add_target(store, name)
    article_of: list[int] = []
    with store.write() as db:
        for number, record in enumerate(records, start=1):
            text = clean_text(str(record["text"])) or "(empty)"
            language = record.get("lang") or record.get("language") or detect_language(text)
            article = Article(text=text, title=clean_text(str(record.get("title") or "")) or None,
                              language=language, external_id=str(number), origin=f"eval:item {number}")
            article_of.append(store_article(db, article, threshold=1.1)[1])
    run_claims(store)
    run_embed(store, embedder)
    run_stance(store, embedder)
    found = {(article_id, target.casefold()): p
             for article_id, target, *p in store_stance.article_probabilities(store.db)}
    out = []
    for record, article_id in zip(records, article_of, strict=True):
        p = found.get((article_id, str(record["target"]).casefold()))
        out.append(np.asarray(p, dtype=float) if p and p[0] is not None else np.array([0.0, 0.0, 1.0]))
    return out


def _sentences_stance(records: list[dict[str, Any]], embedder: Embedder) -> list[np.ndarray]:
    """Probabilities of each record read as one sentence: the shared heads, with the target's adapter where the
    target has labelled examples (CPEC), with the mention span given (``start``, ``end``) or found by name."""
    from tracker.pipeline.stance import TargetModels, ensure_targets, latest_model, shared_heads, train
    from tracker.relevance import TargetTerms
    from tracker.stance import shipped_targets

    store = Store(":memory:")
    ensure_targets(store, always=True)
    shipped = {t["name"].casefold(): t for t in shipped_targets()}
    zero_shot = TargetModels("shared", shared_heads(embedder), None, embedder, None)
    out: list[np.ndarray] = [np.zeros(3)] * len(records)
    by_target: dict[str, list[int]] = {}
    for i, record in enumerate(records):
        by_target.setdefault(str(record["target"]).casefold(), []).append(i)
    groups: list[tuple[TargetModels, str, list[int], list[str]]] = []
    rest: list[int] = []
    for key, rows in by_target.items():
        if key in shipped:
            train(store, shipped[key]["name"], embedder)
            models = latest_model(store, shipped[key]["name"], embedder)
            assert models is not None
            groups.append((models, shipped[key]["name"], rows, shipped[key]["aliases"]))
        else:
            rest += rows
    if rest:
        groups.append((zero_shot, "", rest, []))
    for models, name, rows, aliases in groups:
        texts = [str(records[i]["text"]) for i in rows]
        spans = []
        for i, text in zip(rows, texts, strict=True):
            start, end = records[i].get("start"), records[i].get("end")
            given = isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)
            terms = TargetTerms.of(aliases or [str(records[i]["target"])])
            spans.append((int(start), int(end)) if given else terms.mention(text))
        languages = [records[i].get("lang") or records[i].get("language") for i in rows]
        proba, _ = models.predict(name, texts, languages, spans)
        for i, p in zip(rows, proba, strict=True):
            out[i] = p
    return out


def eval_target_stance(records: list[dict[str, Any]], train_records: list[dict[str, Any]] | None,
                       embedder: Embedder) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``tracker eval target-stance``.

    Shipped (no ``--train``): an article-length record (:func:`is_document`) goes through the pipeline (claims,
    relevance, claim stance, aggregation), so an article that is not about its target is ``none``; a sentence or
    tweet is read as one sentence by the target-conditioned model (shared heads plus the target's adapter where it
    has labelled examples). ``--train``: the n-gram and embedding model fitted on that file (per target).
    ``ece`` is the expected calibration error of the probabilities.
    """
    from tracker.stance import TARGET_LABELS
    from tracker.stance_model import TargetStanceModel

    if train_records:
        rows = [(r["text"], r["target"], str(r["label"]).lower()) for r in train_records]
        model = TargetStanceModel(embedder=embedder).fit([r[0] for r in rows], [r[1] for r in rows],
                                                          [r[2] for r in rows])
        raw = model.predict_proba([r["text"] for r in records], [r["target"] for r in records])
        order = [list(model.classes_).index(label) for label in TARGET_LABELS]
        proba = np.asarray(raw)[:, order]
        modes = ["sentence"] * len(records)
    else:
        # a record that marks its mention (start, end) is one sentence about that mention
        modes = ["document" if r.get("start") is None and is_document(str(r["text"])) else "sentence"
                 for r in records]
        proba = np.zeros((len(records), 3))
        for mode, score in (("document", _documents_stance), ("sentence", _sentences_stance)):
            rows = [i for i, m in enumerate(modes) if m == mode]
            if rows:
                proba[rows] = np.stack(score([records[i] for i in rows], embedder))
    pred = [TARGET_LABELS[int(i)] for i in proba.argmax(1)]
    if not train_records:  # documents keep the aggregation's own label (its lean rule), not the argmax
        pred = [_document_label(p) if mode == "document" else label for p, mode, label in zip(proba, modes, pred)]
    gold = [str(r["label"]).lower() for r in records]
    metrics = {"f_avg": round(f_avg(gold, pred), 4), **classification_metrics(gold, pred, list(TARGET_LABELS)),
               "ece": round(expected_calibration_error(proba, [TARGET_LABELS.index(g) for g in gold]), 4)}
    return metrics, [{"line": i + 1, "pred": p} for i, p in enumerate(pred)]


def _document_label(p: np.ndarray) -> str:
    from tracker.stance import article_stance

    return article_stance([p], [1.0])[0]


def eval_claim_stance(records: list[dict[str, Any]], train_records: list[dict[str, Any]] | None,
                      embedder: Embedder) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``tracker eval claim-stance``: the shipped rule model, or the gradient-boosted model fitted on ``--train``.

    The product decides narrative stance by rule (attribution cues), so the shipped claim-stance model is the
    rule model too: relatedness by embedding similarity and word overlap, then refuting and reporting cues.
    """
    from tracker.stance_model import CLAIM_LABELS, ClaimStanceModel, RuleClaimStance

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
        from tracker.pipeline import CachedEmbedder

        embedder = CachedEmbedder(Store(settings.get("eval_cache")), embedder)
    if task == "checkworthy":
        return eval_checkworthy(records, train_records, embedder)
    if task == "match":
        if not corpus:
            raise TrackerError("match needs --corpus FILE (records {\"id\", \"text\"})")
        return eval_match(records, read_jsonl(corpus, ("id", "text")), embedder)
    if task == "clusters":
        return eval_clusters(records, embedder)
    if task == "target-stance":
        return eval_target_stance(records, train_records, embedder)
    return eval_claim_stance(records, train_records, embedder)


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
