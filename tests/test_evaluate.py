"""``tracker eval``: the evaluation contract (keys, predictions, table, --train, errors, never the user's store)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tracker import evaluate
from tracker.embed import get_embedder

KEYS = {
    "clusters": {"bcubed_precision", "bcubed_recall", "bcubed_f1", "ari", "nmi", "n_clusters", "n_items"},
    "target-stance": {"f_avg", "macro_f1", "accuracy", "per_label", "ece"},
    "claim-stance": {"fnc_score", "macro_f1", "accuracy", "per_label"},
    "match": {"map_at_5", "mrr", "recall_at_1", "recall_at_5"},
    "checkworthy": {"average_precision", "f1", "precision", "recall"},
}

CLUSTERS = [
    {"id": "d1", "text": "Chinese loans under CPEC are pushing Pakistan into a debt trap.", "gold": "debt",
     "date": "2024-01-02"},
    {"id": "n1", "text": "Gwadar port will become a Chinese naval base for warships.", "gold": "naval",
     "date": "2024-01-01"},
    {"id": "d2", "text": "CPEC loans from China are pushing Pakistan deeper into a debt trap.", "gold": "debt",
     "date": "2024-01-03"},
    {"id": "n2", "text": "Gwadar port is set to become a naval base for Chinese warships.", "gold": "naval",
     "date": "2024-01-04"},
    {"id": "d3", "text": "Chinese CPEC loans are pushing Pakistan into a dangerous debt trap.", "gold": "debt",
     "date": "2024-01-05"},
    {"id": "x1", "text": "Cricket fans queued overnight for tickets to the final in Karachi.", "gold": "other",
     "date": "2024-01-06"},
]
TARGET = [
    {"target": "CPEC", "text": "CPEC has created thousands of jobs and ended load-shedding.", "label": "favor"},
    {"target": "CPEC", "text": "CPEC loans are pushing Pakistan into a Chinese debt trap.", "label": "against"},
    {"target": "CPEC", "text": "The corridor is a game changer for Pakistan's economy.", "label": "favor"},
    {"target": "CPEC", "text": "Gwadar is being turned into a Chinese naval base.", "label": "against"},
    {"target": "CPEC", "text": "The meeting on the corridor was held in Islamabad.", "label": "none"},
]
CLAIM = [
    {"claim": "CPEC is a debt trap", "text": "CPEC loans are pushing Pakistan into a debt trap, critics said.",
     "label": "discuss"},
    {"claim": "CPEC is a debt trap", "text": "Officials rejected reports that CPEC is a debt trap as baseless.",
     "label": "disagree"},
    {"claim": "CPEC is a debt trap", "text": "CPEC is a debt trap that will ruin Pakistan.", "label": "agree"},
    {"claim": "CPEC is a debt trap", "text": "Cricket fans queued for tickets in Karachi.", "label": "unrelated"},
]
CORPUS = [
    {"id": "c1", "text": "Chinese loans under CPEC are pushing Pakistan into a debt trap."},
    {"id": "c2", "text": "Gwadar port will become a Chinese naval base for warships."},
    {"id": "c3", "text": "Militants attacked a convoy of Chinese engineers near Dasu dam."},
    {"id": "c4", "text": "CPEC power plants have created thousands of jobs in Sindh and Punjab."},
    {"id": "c5", "text": "The weather in Lahore was pleasant and sunny on Sunday afternoon."},
    {"id": "c6", "text": "Cricket fans queued overnight for tickets to the final in Karachi."},
]
QUERIES = [
    {"id": "q1", "text": "CPEC loans push Pakistan into a debt trap", "relevant": ["c1"]},
    {"id": "q2", "text": "Militants attacked Chinese engineers near the Dasu dam", "relevant": ["c3"]},
    {"id": "q3", "text": "Gwadar will be a naval base for Chinese warships", "relevant": ["c2", "c4"]},
]
CHECKWORTHY = [
    {"text": "Pakistan borrowed $5 billion from China in 2023.", "label": 1},
    {"text": "Thank you very much, and good evening.", "label": 0},
    {"text": "Electricity tariffs rose 28 percent in July after the IMF deal.", "label": 1},
    {"text": "I think this is a wonderful day for all of us.", "label": 0},
    {"text": "Gwadar port handled 1.2 million tonnes of cargo last year.", "label": 1},
]


def write(path: Path, records: list[dict]) -> str:
    data = "".join(json.dumps(r) + "\n" for r in records)
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(data)
    else:
        path.write_text(data, encoding="utf-8")
    return str(path)


@pytest.fixture
def cli(run_cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # noqa: ANN001, ANN201
    """``tracker`` with the hashing embedder and TRACKER_DB pointing at a store that must stay untouched."""
    run_cli  # noqa: B018 - clears outer TRACKER_* variables first
    store = tmp_path / "user" / "tracker.db"
    monkeypatch.setenv("TRACKER_EMBEDDING_MODEL", "hashing")
    monkeypatch.setenv("TRACKER_DB", str(store))
    monkeypatch.chdir(tmp_path)
    yield run_cli
    assert not store.exists() and not (tmp_path / "tracker.db").exists()
    assert not (tmp_path / "user").exists()


def read_predictions(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# --- keys, predictions and table per task --------------------------------------------------------------------------

def test_clusters(cli, tmp_path: Path) -> None:  # noqa: ANN001
    data = write(tmp_path / "clusters.jsonl.gz", CLUSTERS)
    preds = tmp_path / "p.jsonl"
    result = cli("eval", "clusters", data, "--predictions", str(preds))
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert set(metrics) == KEYS["clusters"]
    assert metrics["n_items"] == 6
    rows = read_predictions(preds)
    assert [r["line"] for r in rows] == list(range(1, 7)) and all(set(r) == {"line", "pred"} for r in rows)
    pred = [r["pred"] for r in rows]
    assert pred[0] == pred[2] == pred[4] is not None  # the debt paraphrases
    assert pred[1] == pred[3] is not None and pred[1] != pred[0]
    assert pred[5] is None  # left unclustered
    assert metrics["n_clusters"] == 2
    assert metrics["bcubed_precision"] == 1.0 and metrics["bcubed_f1"] == 1.0 and metrics["ari"] == 1.0


def test_target_stance(cli, tmp_path: Path) -> None:  # noqa: ANN001
    data = write(tmp_path / "target.jsonl", TARGET)
    preds = tmp_path / "p.jsonl"
    result = cli("eval", "target-stance", data, "--predictions", str(preds))
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert set(metrics) == KEYS["target-stance"]
    assert set(metrics["per_label"]) == {"favor", "against", "none"}
    rows = read_predictions(preds)
    assert [r["line"] for r in rows] == [1, 2, 3, 4, 5]
    assert all(set(r) == {"line", "pred"} and r["pred"] in ("favor", "against", "none") for r in rows)
    gold = [r["label"] for r in TARGET]
    assert metrics["accuracy"] == pytest.approx(sum(r["pred"] == g for r, g in zip(rows, gold)) / 5, abs=1e-4)


@pytest.mark.slow
def test_claim_stance(cli, tmp_path: Path) -> None:  # noqa: ANN001
    data = write(tmp_path / "claim.jsonl", CLAIM)
    preds = tmp_path / "p.jsonl"
    result = cli("eval", "claim-stance", data, "--predictions", str(preds))
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert set(metrics) == KEYS["claim-stance"]
    assert set(metrics["per_label"]) == {"agree", "disagree", "discuss", "unrelated"}
    assert 0.0 <= metrics["fnc_score"] <= 1.0
    rows = read_predictions(preds)
    assert [r["line"] for r in rows] == [1, 2, 3, 4]
    assert all(r["pred"] in ("agree", "disagree", "discuss", "unrelated") for r in rows)


def test_match(cli, tmp_path: Path) -> None:  # noqa: ANN001
    queries = write(tmp_path / "q.jsonl", QUERIES)
    corpus = write(tmp_path / "c.jsonl.gz", CORPUS)
    preds = tmp_path / "p.jsonl"
    result = cli("eval", "match", queries, "--corpus", corpus, "--predictions", str(preds))
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert set(metrics) == KEYS["match"]
    rows = read_predictions(preds)
    assert [r["line"] for r in rows] == [1, 2, 3]
    ids = {c["id"] for c in CORPUS}
    for row in rows:
        assert len(row["ranked"]) >= 5 and len(set(row["ranked"])) == len(row["ranked"])
        assert set(row["ranked"]) <= ids
    assert rows[0]["ranked"][0] == "c1" and rows[1]["ranked"][0] == "c3" and rows[2]["ranked"][0] == "c2"
    assert metrics["recall_at_1"] == pytest.approx((1 + 1 + 0.5) / 3, abs=1e-4)
    assert metrics["mrr"] == 1.0


def test_match_uses_the_titles_of_the_corpus(tmp_path: Path) -> None:
    """A fact-check's title is a second wording of its claim: the corpus keeps it, the ranking reads it."""
    item = {"id": "t1", "text": "Officials denied the report as baseless.",
            "title": "Did Tarbela turbines fail in June?"}
    query = [{"id": "q", "text": "Tarbela turbines failed in June pic.twitter.com/x1", "relevant": ["t1"]}]
    embedder = get_embedder("hashing")
    queries = write(tmp_path / "q.jsonl", query)
    titled, ranked = evaluate.run("match", queries, corpus=write(tmp_path / "c.jsonl", [*CORPUS, item]),
                                  embedder=embedder)
    untitled, _ = evaluate.run("match", queries, corpus=write(tmp_path / "u.jsonl", [
        *CORPUS, {k: v for k, v in item.items() if k != "title"}]), embedder=embedder)
    assert ranked[0]["ranked"][0] == "t1" and titled["mrr"] == 1.0
    assert untitled["mrr"] < 1.0


def test_match_needs_a_corpus(cli, tmp_path: Path) -> None:  # noqa: ANN001
    result = cli("eval", "match", write(tmp_path / "q.jsonl", QUERIES))
    assert result.exit_code != 0 and "--corpus" in result.output


def test_checkworthy(cli, tmp_path: Path) -> None:  # noqa: ANN001
    data = write(tmp_path / "cw.jsonl", CHECKWORTHY)
    preds = tmp_path / "p.jsonl"
    result = cli("eval", "checkworthy", data, "--predictions", str(preds))
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert set(metrics) == KEYS["checkworthy"]
    rows = read_predictions(preds)
    assert [r["line"] for r in rows] == [1, 2, 3, 4, 5]
    assert all(set(r) == {"line", "pred", "score"} and isinstance(r["score"], float) for r in rows)
    # pred is 1 from the model's threshold (chosen on its training data) up
    assert min(r["score"] for r in rows if r["pred"]) > max(r["score"] for r in rows if not r["pred"])
    assert [r["pred"] for r in rows] == [r["label"] for r in CHECKWORTHY]
    assert metrics["average_precision"] == 1.0  # the shipped model ranks every factual line above the filler


def test_checkworthy_by_document(tmp_path: Path) -> None:
    """Records that name their debate are scored with their neighbours, and the mean per-debate AP is added."""
    debates = [{**r, "debate": f"d{i % 2}"} for i, r in enumerate(CHECKWORTHY * 2)]
    embedder = get_embedder("hashing")
    metrics, with_docs = evaluate.run("checkworthy", write(tmp_path / "d.jsonl", debates), embedder=embedder)
    assert set(metrics) == KEYS["checkworthy"] | {"mean_document_ap"}
    assert 0.0 <= metrics["mean_document_ap"] <= 1.0
    plain = [{k: v for k, v in r.items() if k != "debate"} for r in debates]
    metrics_plain, without = evaluate.run("checkworthy", write(tmp_path / "p.jsonl", plain), embedder=embedder)
    assert set(metrics_plain) == KEYS["checkworthy"]
    assert [p["score"] for p in with_docs] != [p["score"] for p in without]  # neighbour smoothing
    documents = [{**r, "document": r.pop("debate")} for r in [dict(x) for x in debates]]
    metrics_doc, _ = evaluate.run("checkworthy", write(tmp_path / "doc.jsonl", documents), embedder=embedder)
    assert metrics_doc == metrics


@pytest.mark.parametrize("task, records", [("checkworthy", CHECKWORTHY), ("target-stance", TARGET)])
def test_table_format(cli, tmp_path: Path, task: str, records: list[dict]) -> None:  # noqa: ANN001
    result = cli("eval", task, write(tmp_path / "d.jsonl", records), "--format", "table")
    assert result.exit_code == 0, result.output
    assert f"tracker eval {task}" in result.stdout
    for key in KEYS[task] - {"per_label"}:
        assert key in result.stdout
    with pytest.raises(ValueError):
        json.loads(result.stdout)


# --- --train ----------------------------------------------------------------------------------------------------

def test_train_changes_the_checkworthy_model(tmp_path: Path) -> None:
    data = write(tmp_path / "cw.jsonl", CHECKWORTHY)
    flipped = write(tmp_path / "flipped.jsonl", [{**r, "label": 1 - r["label"]} for r in CHECKWORTHY * 2])
    _, shipped = evaluate.run("checkworthy", data, embedder=get_embedder("hashing"))
    metrics, trained = evaluate.run("checkworthy", data, train=flipped, embedder=get_embedder("hashing"))
    assert [p["pred"] for p in shipped] == [1, 0, 1, 0, 1]
    assert [p["pred"] for p in trained] == [0, 1, 0, 1, 0]
    assert metrics["recall"] == 0.0


def test_train_changes_the_target_stance_model(cli, tmp_path: Path) -> None:  # noqa: ANN001
    data = write(tmp_path / "t.jsonl", TARGET)
    swap = {"favor": "against", "against": "favor", "none": "none"}
    flipped = write(tmp_path / "train.jsonl", [{**r, "label": swap[r["label"]]} for r in TARGET * 3])
    same = write(tmp_path / "train2.jsonl", TARGET * 3)
    p1, p2 = tmp_path / "p1.jsonl", tmp_path / "p2.jsonl"
    assert cli("eval", "target-stance", data, "--train", same, "--predictions", str(p1)).exit_code == 0
    assert cli("eval", "target-stance", data, "--train", flipped, "--predictions", str(p2)).exit_code == 0
    same_pred = [r["pred"] for r in read_predictions(p1)]
    flipped_pred = [r["pred"] for r in read_predictions(p2)]
    assert same_pred == [r["label"] for r in TARGET]  # fitted on exactly these texts
    assert flipped_pred == [swap[r["label"]] for r in TARGET]


# --- the library entry point ---------------------------------------------------------------------------------------

def test_run_returns_contract_keys_for_every_task(tmp_path: Path) -> None:
    """Every task but claim-stance (whose shipped model takes over a minute to fit: see the slow tests)."""
    embedder = get_embedder("hashing")
    files = {
        "clusters": write(tmp_path / "cl.jsonl", CLUSTERS),
        "target-stance": write(tmp_path / "ts.jsonl", TARGET),
        "match": write(tmp_path / "m.jsonl", QUERIES),
        "checkworthy": write(tmp_path / "cw.jsonl", CHECKWORTHY),
    }
    corpus = write(tmp_path / "corpus.jsonl", CORPUS)
    for task, path in files.items():
        metrics, predictions = evaluate.run(task, path, corpus=corpus if task == "match" else None,
                                            embedder=embedder)
        assert set(metrics) == KEYS[task], task
        assert [p["line"] for p in predictions] == list(range(1, sum(1 for _ in open(path)) + 1)), task


def test_clusters_without_dates_use_file_order(tmp_path: Path) -> None:
    undated = [{k: v for k, v in r.items() if k != "date"} for r in CLUSTERS]
    metrics, predictions = evaluate.run("clusters", write(tmp_path / "u.jsonl", undated),
                                        embedder=get_embedder("hashing"))
    assert metrics["n_clusters"] == 2 and predictions[5]["pred"] is None


def test_unknown_task_is_an_error(tmp_path: Path) -> None:
    from tracker import TrackerError

    with pytest.raises(TrackerError, match="unknown task"):
        evaluate.run("nope", write(tmp_path / "x.jsonl", CHECKWORTHY))


# --- bad input -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("task, lines, expected", [
    ("checkworthy", ['{"text": "a", "label": 1}', '{"text": "b"}'], ":line 2: missing label"),
    ("target-stance", ['{"target": "CPEC", "text": "a", "label": "favor"}', "{not json"], ":line 2: invalid JSON"),
    ("clusters", ['{"id": 1, "gold": "x"}'], ":line 1: missing text"),
    ("target-stance", ['{"target": "CPEC", "text": "a", "label": "favor"}',
                       '{"target": "CPEC", "text": "b", "label": "maybe"}'], ":line 2: label 'maybe'"),
    ("claim-stance", ['{"claim": "c", "text": "t", "label": "agree"}', '',
                      '{"claim": "c", "text": "t", "label": "agrees"}'], ":line 3: label 'agrees'"),
    ("checkworthy", ['{"text": "a", "label": 1}', '{"text": "b", "label": "yes"}'], ":line 2: label 'yes'"),
])
def test_bad_files_give_one_line_errors(cli, tmp_path: Path, task: str, lines: list[str],  # noqa: ANN001
                                         expected: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli("eval", task, str(path))
    assert result.exit_code != 0
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in result.output
    assert str(path) in message and expected in message


def test_missing_file_is_a_one_line_error(cli, tmp_path: Path) -> None:  # noqa: ANN001
    missing = tmp_path / "nope.jsonl"
    result = cli("eval", "checkworthy", str(missing))
    assert result.exit_code != 0
    assert len(result.stderr.strip().splitlines()) == 1 and str(missing) in result.stderr


def test_bad_train_file_names_the_train_file(cli, tmp_path: Path) -> None:  # noqa: ANN001
    data = write(tmp_path / "cw.jsonl", CHECKWORTHY)
    bad = tmp_path / "train.jsonl"
    bad.write_text('{"text": "a", "label": 1}\n{"label": 0}\n', encoding="utf-8")
    result = cli("eval", "checkworthy", data, "--train", str(bad))
    assert result.exit_code != 0 and f"{bad}:line 2: missing text" in result.stderr


def test_eval_never_touches_an_existing_store(run_cli, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from tracker.store import Store

    store = tmp_path / "mine.db"
    Store(str(store)).close()
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("mine.db")}
    monkeypatch.setenv("TRACKER_EMBEDDING_MODEL", "hashing")
    monkeypatch.setenv("TRACKER_DB", str(store))
    result = run_cli("eval", "clusters", write(tmp_path / "cl.jsonl", CLUSTERS))
    assert result.exit_code == 0, result.output
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("mine.db")}
    assert after == before


@pytest.mark.slow
def test_claim_stance_with_the_shipped_model(tmp_path: Path) -> None:
    metrics, predictions = evaluate.run("claim-stance", write(tmp_path / "c.jsonl", CLAIM),
                                        embedder=get_embedder("hashing"))
    assert set(metrics) == KEYS["claim-stance"]
    assert [p["line"] for p in predictions] == [1, 2, 3, 4]
    assert predictions[3]["pred"] == "unrelated"
