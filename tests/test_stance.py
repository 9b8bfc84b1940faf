"""Stance: targets, training with recorded versions, the stance stage over a stocked, reviewer corrections,
narrative stance from attribution, and the timeline CSV."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest

from tracker import review
from tracker.embed import get_embedder
from tracker.ingest import IngestOptions, ingest
from tracker.pipeline import run_claims, run_embed, run_narratives
from tracker.pipeline.stance import (
    NARRATIVE_MODEL_VERSION,
    add_target,
    ensure_targets,
    get_target,
    latest_model,
    run_stance,
    train,
)
from tracker.stance import ATTRIBUTION_TO_NARRATIVE_STANCE, NARRATIVE_RULE_VERSION, TargetError, alias_pattern
from tracker.store import Store

ARTICLES = [
    {"text": "CPEC power plants have created thousands of jobs in Sindh and Punjab. "
             "CPEC has ended load-shedding across Pakistan, officials said. "
             "The corridor is a game changer for Pakistan's economy.",
     "source": "Dawn", "date": "2024-01-05"},
    {"text": "Chinese loans under CPEC are pushing Pakistan into a debt trap. "
             "Critics warn that CPEC contracts are opaque and benefit only Chinese companies. "
             "The people of Balochistan see no benefit from CPEC projects.",
     "source": "The Hindu", "date": "2024-01-20"},
    {"text": "Officials rejected reports that Chinese loans under CPEC are pushing Pakistan into a debt trap. "
             "Ahsan Iqbal said Chinese loans under CPEC are pushing Pakistan into a debt trap only in propaganda. "
             "CPEC power plants created thousands of new jobs in Punjab and Sindh.",
     "source": "Xinhua", "date": "2024-02-11"},
    {"text": "Cricket fans queued overnight for tickets to the final in Karachi. "
             "The national team won the series against Australia by three wickets on Sunday.",
     "source": "Dawn", "date": "2024-02-15"},
    {"text": "Gwadar port will become a Chinese naval base for warships, analysts warned. "
             "Chinese warships will use Gwadar port as a naval base within five years.",
     "source": "Global Times", "date": "2024-03-02"},
]


@pytest.fixture(scope="module")
def base_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store with articles, claims, embeddings, narratives and a trained CPEC model (2-fold CV, to be quick)."""
    folder = tmp_path_factory.mktemp("stance")
    path = folder / "base.db"
    source = folder / "articles.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in ARTICLES), encoding="utf-8")
    store = Store(str(path))
    embedder = get_embedder("hashing")
    assert ingest(store, [str(source)], IngestOptions()).rejected == 0
    run_claims(store)
    run_embed(store, embedder)
    run_narratives(store, embedder)
    ensure_targets(store)
    train(store, "CPEC", embedder, folds=2)
    store.close()
    return str(path)


@pytest.fixture
def stocked(base_store: str, tmp_path: Path):  # noqa: ANN201
    """A private copy of the base store."""
    path = tmp_path / "store.db"
    source = sqlite3.connect(base_store)
    target = sqlite3.connect(str(path))
    source.backup(target)
    source.close()
    target.close()
    store = Store(str(path))
    yield store
    store.close()


def article_id(store, needle: str) -> int:  # noqa: ANN001
    return store.db.execute("SELECT id FROM articles WHERE text LIKE ?", [f"%{needle}%"]).fetchone()[0]


# --- targets -----------------------------------------------------------------------------------------------------

def test_shipped_cpec_target_exists_after_ensure_targets(store) -> None:  # noqa: ANN001
    assert ensure_targets(store) == []  # an empty store names no shipped target: none is assumed
    ensure_targets(store, always=True)
    ensure_targets(store, always=True)  # idempotent
    assert store.db.execute("SELECT count(*) FROM targets WHERE name = 'CPEC'").fetchone()[0] == 1
    target = get_target(store, "cpec")  # case-insensitive lookup
    assert target["name"] == "CPEC"
    assert "China-Pakistan Economic Corridor" in target["aliases"] and "Gwadar" in target["related"]
    assert "Belt and Road" not in target["aliases"]  # a broader initiative is its own target, never an alias
    assert target["examples"]["favor"] and target["examples"]["against"]


def test_add_target_with_aliases(store) -> None:  # noqa: ANN001
    tid = add_target(store, "Gwadar port", aliases=["Gwadar", " گوادر ", ""], description="The port.",
                         favor=["Gwadar will make Balochistan prosper."],
                         against=["Gwadar's fishermen are losing their livelihoods."])
    target = get_target(store, "Gwadar port")
    assert target["id"] == tid
    assert target["aliases"] == ["Gwadar port", "Gwadar", "گوادر"]
    assert target["examples"] == {"favor": ["Gwadar will make Balochistan prosper."],
                                  "against": ["Gwadar's fishermen are losing their livelihoods."]}
    assert add_target(store, "Gwadar port", aliases=["Gwadar"]) == tid
    assert get_target(store, "Gwadar port")["aliases"] == ["Gwadar port", "Gwadar"]
    pattern = alias_pattern(["Gwadar port", "Gwadar", "گوادر"])
    assert pattern.search("Fishermen in GWADAR protested.")
    assert pattern.search("گوادر کی بندرگاہ")
    assert not pattern.search("Gwadarian cuisine is famous.")  # whole words for Latin aliases


def test_unknown_or_empty_target_is_an_error(store) -> None:  # noqa: ANN001
    with pytest.raises(TargetError, match="unknown target"):
        get_target(store, "Nope")
    with pytest.raises(TargetError):
        add_target(store, "   ")


# --- training ----------------------------------------------------------------------------------------------------

def test_train_records_a_versioned_model_with_cv_metrics(stocked) -> None:  # noqa: ANN001
    rows = stocked.db.execute("SELECT kind, version, metrics, n_train, params, state, arrays, blob "
                              "FROM models").fetchall()
    assert len(rows) == 1
    kind, version, metrics, n_train, params, state, arrays, blob = rows[0]
    assert kind == "target-stance:CPEC" and version == "target-stance:CPEC:v1"
    metrics = json.loads(metrics)
    assert metrics["cv_folds"] == 2 and 0.0 <= metrics["f_avg"] <= 1.0 and 0.0 <= metrics["macro_f1"] <= 1.0
    assert n_train > 400 and json.loads(params) == {"embedder": "hashing", "crosslingual_embedder": None}
    assert json.loads(state)["class"] == "SpanStanceModel" and arrays and blob is None  # no pickle
    found = latest_model(stocked, "CPEC", get_embedder("hashing"))
    assert found is not None and found.version == version
    assert 400 < found.main.adapters_["cpec"].n_examples <= n_train  # the English lines of the shipped CPEC set


def test_a_target_without_examples_still_gets_a_zero_shot_model(store) -> None:  # noqa: ANN001
    add_target(store, "Thar coal")
    result = train(store, "Thar coal", get_embedder("hashing"))
    assert result["n_train"] == 0 and result["metrics"] == {}  # nothing to cross-validate
    models = latest_model(store, "Thar coal", get_embedder("hashing"))
    assert models is not None and not models.main.adapters_  # the shared heads alone
    proba, _ = models.predict("Thar coal", ["Thar coal lights up Sindh."], ["en"], [(0, 9)])
    assert proba.shape == (1, 3) and abs(proba.sum() - 1.0) < 1e-6


# --- the stage ---------------------------------------------------------------------------------------------------

def test_run_stance_writes_claim_and_article_stances_naming_the_model(stocked) -> None:  # noqa: ANN001
    counts = run_stance(stocked, get_embedder("hashing")).counts
    n_claims = stocked.db.execute("SELECT count(*) FROM claims").fetchone()[0]
    assert counts["CPEC"] == n_claims
    rows = stocked.db.execute("SELECT subject, subject_id, label, score, model, source FROM stances").fetchall()
    claims = [r for r in rows if r[0] == "claim"]
    articles = [r for r in rows if r[0] == "article"]
    assert len(claims) == n_claims and len(articles) == len(ARTICLES)
    for _, _, label, score, model, source in rows:
        assert label in ("favor", "against", "none") and source == "model"
        assert model.startswith("target-stance:CPEC:v1")
        # an off-target item is 'none' without a model probability; every other score is a probability
        assert (score is None and label == "none") if model.endswith("+off-target") else 0.0 <= score <= 1.0
    assert stocked.db.execute("SELECT count(*) FROM models").fetchone()[0] == 1  # the trained model was used
    # a second run has nothing new to do
    assert run_stance(stocked, get_embedder("hashing")).counts["CPEC"] == 0


def test_articles_that_never_mention_the_target_get_none(stocked) -> None:  # noqa: ANN001
    run_stance(stocked, get_embedder("hashing"))
    cricket = article_id(stocked, "Cricket fans")
    label, model = stocked.db.execute(
        "SELECT label, model FROM stances WHERE subject = 'article' AND subject_id = ?", [cricket]).fetchone()
    assert label == "none" and model.endswith("+off-target")
    claim_labels = {r[0] for r in stocked.db.execute(
        "SELECT s.label FROM stances s JOIN claims c ON c.id = s.subject_id "
        "WHERE s.subject = 'claim' AND c.article_id = ?", [cricket])}
    assert claim_labels == {"none"}
    mentioned = stocked.db.execute(
        "SELECT model FROM stances WHERE subject = 'article' AND subject_id = ?",
        [article_id(stocked, "load-shedding")]).fetchone()[0]
    assert mentioned == "target-stance:CPEC:v1"


def test_favor_and_against_articles_are_told_apart(stocked) -> None:  # noqa: ANN001
    run_stance(stocked, get_embedder("hashing"))
    label = dict(stocked.db.execute("SELECT subject_id, label FROM stances WHERE subject = 'article'").fetchall())
    assert label[article_id(stocked, "load-shedding")] != "against"
    assert label[article_id(stocked, "see no benefit")] != "favor"


def test_reviewer_corrections_survive_recompute(stocked) -> None:  # noqa: ANN001
    embedder = get_embedder("hashing")
    run_stance(stocked, embedder)
    claim = stocked.db.execute("SELECT id FROM claims WHERE text LIKE 'Chinese loans under CPEC%'").fetchone()[0]
    article = article_id(stocked, "load-shedding")
    model_label = stocked.db.execute("SELECT label FROM stances WHERE subject = 'claim' AND subject_id = ?",
                                [claim]).fetchone()[0]
    corrected = "favor" if model_label != "favor" else "none"
    review.correct_stance(stocked, "claim", claim, "CPEC", corrected, reviewer="ana")
    review.correct_stance(stocked, "article", article, "CPEC", "against", reviewer="ana")
    run_stance(stocked, embedder, recompute=True)
    assert stocked.db.execute("SELECT label, source, model FROM stances WHERE subject = 'claim' AND subject_id = ?",
                         [claim]).fetchone() == (corrected, "reviewer", "reviewer:ana")
    assert stocked.db.execute("SELECT label, source FROM stances WHERE subject = 'article' AND subject_id = ?",
                         [article]).fetchone() == ("against", "reviewer")
    # the correction is also a training label for the next model
    assert stocked.db.execute("SELECT count(*) FROM stance_labels WHERE origin = 'reviewer'").fetchone()[0] == 2
    result = train(stocked, "CPEC", embedder, folds=2)
    assert result["version"] == "target-stance:CPEC:v2"
    run_stance(stocked, embedder, recompute=True)
    assert stocked.db.execute("SELECT label FROM stances WHERE subject = 'claim' AND subject_id = ?",
                         [claim]).fetchone()[0] == corrected
    models = {r[0] for r in stocked.db.execute("SELECT model FROM stances WHERE source = 'model'")}
    assert models and all(m.startswith("target-stance:CPEC:v2") for m in models)


def test_narrative_stance_reads_the_claim_against_its_narrative_with_its_attribution(stocked) -> None:  # noqa: ANN001
    # one narrative holding a claim of each attribution (reviewer-made, so the rule is what is tested)
    rows = {attribution: stocked.db.execute("SELECT id FROM claims WHERE attribution = ? ORDER BY id LIMIT 1",
                                       [attribution]).fetchone() for attribution in ("assert", "report", "refute")}
    assert all(rows.values()), rows
    nid = stocked.db.execute("SELECT id FROM narratives WHERE status = 'active' ORDER BY id LIMIT 1").fetchone()[0]
    for (claim_id,) in rows.values():
        current = stocked.db.execute("SELECT narrative_id FROM narrative_claims WHERE claim_id = ?",
                                [claim_id]).fetchone()
        if current is None or current[0] != nid:
            review.move(stocked, claim_id, nid, reviewer="ana")
    run_stance(stocked, get_embedder("hashing"))
    stances = dict(stocked.db.execute(
        "SELECT claim_id, label FROM narrative_stances WHERE narrative_id = ?", [nid]).fetchall())
    assert stances[rows["assert"][0]] == "agree"
    assert stances[rows["report"][0]] == "discuss"
    assert stances[rows["refute"][0]] == "disagree"
    for _claim_id, label, attribution, model in stocked.db.execute(
            "SELECT ns.claim_id, ns.label, c.attribution, ns.model FROM narrative_stances ns "
            "JOIN claims c ON c.id = ns.claim_id WHERE ns.source = 'model'"):
        if model == NARRATIVE_RULE_VERSION:  # a narrative's central claim itself: the attribution rule
            assert label == ATTRIBUTION_TO_NARRATIVE_STANCE[attribution]
        else:  # every other member: the model, claim against central claim, with its attribution
            assert model == NARRATIVE_MODEL_VERSION and label in ("agree", "disagree", "discuss", "unrelated")
    clustered = stocked.db.execute("SELECT count(*) FROM narrative_claims").fetchone()[0]
    assert stocked.db.execute("SELECT count(*) FROM narrative_stances").fetchone()[0] == clustered


def test_new_target_gets_its_own_model_and_stances(stocked) -> None:  # noqa: ANN001
    add_target(stocked, "Gwadar port", aliases=["Gwadar"], favor=["Gwadar will make Balochistan prosper."],
               against=["Gwadar port will become a Chinese naval base."])
    counts = run_stance(stocked, get_embedder("hashing")).counts
    assert "Gwadar port" in counts
    assert latest_model(stocked, "Gwadar port", get_embedder("hashing")).version == "target-stance:Gwadar port:v1"
    tid = get_target(stocked, "Gwadar port")["id"]
    by_article = dict(stocked.db.execute(
        "SELECT subject_id, model FROM stances WHERE subject = 'article' AND target_id = ?", [tid]).fetchall())
    assert by_article[article_id(stocked, "naval base")] == "target-stance:Gwadar port:v1"
    assert by_article[article_id(stocked, "load-shedding")].endswith("+off-target")  # no Gwadar there


# --- CLI ---------------------------------------------------------------------------------------------------------

def test_stance_timeline_csv_has_wilson_interval_columns(stocked, run_cli, monkeypatch) -> None:  # noqa: ANN001
    run_stance(stocked, get_embedder("hashing"))
    path = stocked.path
    stocked.close()
    monkeypatch.setenv("TRACKER_EMBEDDING_MODEL", "hashing")
    result = run_cli("stance", "timeline", "--csv", "-", "--db", path)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows
    for column in ("period", "group", "n", "favor", "against", "none", "uncertain", "favor_share", "favor_lo",
                   "favor_hi", "against_share", "against_lo", "against_hi", "uncertain_share"):
        assert column in rows[0]
    # the cricket match (February) and the naval base story (March, Gwadar only) are not about CPEC: not counted
    assert {r["period"] for r in rows} == {"2024-01-01", "2024-02-01"}
    assert sum(int(r["n"]) for r in rows) == 3
    for r in rows:
        for label in ("favor", "against"):
            lo, share, hi = float(r[f"{label}_lo"]), float(r[f"{label}_share"]), float(r[f"{label}_hi"])
            assert 0.0 <= lo <= share <= hi <= 1.0
            assert share == pytest.approx(int(r[label]) / int(r["n"]))


def test_targets_commands(run_cli, tmp_path: Path) -> None:  # noqa: ANN001
    path = str(tmp_path / "t.db")
    listed = run_cli("targets", "--db", path)
    assert listed.exit_code == 0 and "no stance targets yet" in listed.stdout  # an empty store assumes no CPEC
    added = run_cli("targets", "add", "Gwadar port", "--alias", "Gwadar", "--related", "deep-sea port",
                    "--favor", "Gwadar will prosper.", "--against", "Gwadar is a naval base.", "--db", path)
    assert added.exit_code == 0
    listed = run_cli("targets", "--db", path)
    assert "Gwadar port" in listed.stdout and "aliases: Gwadar port, Gwadar" in listed.stdout
    assert "related: deep-sea port" in listed.stdout
    # no examples needed: the shipped model reads stance toward any named target from the start
    bare = run_cli("targets", "add", "Thar coal", "--db", path)
    assert bare.exit_code == 0 and "Thar coal" in run_cli("targets", "--db", path).stdout


def test_stance_timeline_by_year(stocked, run_cli) -> None:  # noqa: ANN001
    run_stance(stocked, get_embedder("hashing"))
    path = stocked.path
    stocked.close()
    result = run_cli("stance", "timeline", "--freq", "Y", "--csv", "-", "--db", path)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["period"] for r in rows] == ["2024-01-01"]


def test_claims_in_languages_the_embedder_lacks_go_to_the_crosslingual_model(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from tests.test_stance_model import _EnglishOnly, _Translating
    from tracker.pipeline import CachedEmbedder
    from tracker.pipeline import stance as pipeline_stance

    companion = _Translating()
    monkeypatch.setattr(pipeline_stance, "crosslingual_embedder",
                        lambda store, embedder: CachedEmbedder(store, companion))
    source = tmp_path / "mixed.jsonl"
    rows = [*ARTICLES, {"text": "سی پیک قرض جال ہے۔", "source": "Roznama", "date": "2024-04-01", "language": "ur"}]
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    store = Store(str(tmp_path / "mixed.db"))
    assert ingest(store, [str(source)], IngestOptions()).rejected == 0
    run_claims(store)
    run_stance(store, _EnglishOnly())
    params = json.loads(store.db.execute("SELECT params FROM models").fetchone()[0])
    assert params["crosslingual_embedder"] == "toy-multilingual"
    label = store.db.execute("SELECT s.label FROM stances s JOIN claims c ON c.id = s.subject_id "
                             "AND s.subject = 'claim' JOIN articles a ON a.id = c.article_id "
                             "WHERE a.language = 'ur'").fetchone()[0]
    assert label == "against"
    assert any("قرض" in t for t in companion.seen)
    english_claim = "The national team won the series against Australia by three wickets on Sunday."
    assert english_claim not in companion.seen  # English claims stay with the main model


# --- active learning ---------------------------------------------------------------------------------------------

def test_queue_offers_uncertain_unlabelled_on_target_claims_and_a_label_refits_in_place(stocked) -> None:  # noqa: ANN001
    from tracker.pipeline.stance import refit, stance_queue

    embedder = get_embedder("hashing")
    run_stance(stocked, embedder)
    queue = stance_queue(stocked, "CPEC", embedder, limit=5)
    assert queue and len({c["claim_id"] for c in queue}) == len(queue)
    scores = [c["score"] for c in queue]
    assert scores == sorted(scores)  # least certain first
    cricket = article_id(stocked, "Cricket fans")
    off_target = {r[0] for r in stocked.db.execute("SELECT id FROM claims WHERE article_id = ?", [cricket])}
    assert not off_target & {c["claim_id"] for c in queue}  # off-target claims have no stance to ask about
    assert len(stance_queue(stocked, "CPEC", embedder, limit=100, strategy="random")) >= len(queue)

    first = queue[0]
    wanted = "against" if first["label"] != "against" else "favor"
    review.correct_stance(stocked, "claim", first["claim_id"], "CPEC", wanted, reviewer="ana")
    before = dict(stocked.db.execute("SELECT subject_id, p_favor FROM stances WHERE subject = 'claim' "
                                     "AND source = 'model' AND p_favor IS NOT NULL").fetchall())
    result = refit(stocked, "CPEC", embedder)
    assert result["version"] == "target-stance:CPEC:v2" and result["rescored"] == len(before)
    after = dict(stocked.db.execute("SELECT subject_id, p_favor FROM stances WHERE subject = 'claim' "
                                    "AND source = 'model' AND p_favor IS NOT NULL").fetchall())
    assert set(after) == set(before) and any(abs(after[c] - before[c]) > 1e-6 for c in before)
    assert {r[0] for r in stocked.db.execute("SELECT DISTINCT model FROM stances WHERE source = 'model' "
                                             "AND score IS NOT NULL")} == {"target-stance:CPEC:v2"}
    # the label is the reviewer's stance, in the log, and never offered again
    assert stocked.db.execute("SELECT label, source FROM stances WHERE subject = 'claim' AND subject_id = ?",
                              [first["claim_id"]]).fetchone() == (wanted, "reviewer")
    assert first["claim_id"] not in {c["claim_id"] for c in stance_queue(stocked, "CPEC", embedder, limit=50)}
    assert stocked.db.execute("SELECT count(*) FROM reviews WHERE action = 'stance'").fetchone()[0] == 1


def test_refit_reuses_cached_example_features(stocked, monkeypatch) -> None:  # noqa: ANN001
    from tracker.pipeline import stance as stage

    embedder = get_embedder("hashing")
    run_stance(stocked, embedder)
    encoded: list[int] = []
    real = stage.encode_for_stance
    monkeypatch.setattr(stage, "encode_for_stance", lambda e, texts, spans: encoded.append(len(texts)) or
                        real(e, texts, spans))
    claim = stocked.db.execute("SELECT id FROM claims WHERE text LIKE 'Chinese loans under CPEC%'").fetchone()[0]
    review.correct_stance(stocked, "claim", claim, "CPEC", "against", reviewer="ana")
    stage.refit(stocked, "CPEC", embedder)
    assert encoded == [1]  # only the newly labelled text; the shipped set's features came from the stored model
