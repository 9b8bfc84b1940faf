"""Claim search: exact text ranks first, hits carry provenance and narrative/verdict, FTS syntax never leaks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tracker import review
from tracker.embed import get_embedder
from tracker.ingest import IngestOptions, ingest
from tracker.pipeline import run_claims, run_embed, run_narratives
from tracker.search import fts_query, rank_claims, search, search_narratives
from tracker.store import Store

RECORDS = [
    {"text": "Chinese loans under CPEC are pushing Pakistan into a debt trap.", "source": "Dawn",
     "date": "2024-01-05", "title": "Debt worries", "url": "https://dawn.example/debt"},
    {"text": "CPEC loans from China are pushing Pakistan deeper into a debt trap.", "source": "The Hindu",
     "date": "2024-01-06", "title": "Loans", "url": "https://hindu.example/loans"},
    {"text": "Chinese CPEC loans are pushing Pakistan into a dangerous debt trap.", "source": "Reuters",
     "date": "2024-01-07", "title": "Trap", "url": "https://reuters.example/trap"},
    {"text": "Gwadar port will become a Chinese naval base for warships.", "source": "Global Times",
     "date": "2024-02-01", "title": "Port", "url": "https://gt.example/port"},
    {"text": "Militants attacked a convoy of Chinese engineers near Dasu dam.", "source": "Xinhua",
     "date": "2024-02-02", "title": "Attack", "url": "https://xinhua.example/attack"},
    {"text": "The weather in Lahore was pleasant and sunny on Sunday afternoon.", "source": "Dawn",
     "date": "2024-02-03", "title": "Weather", "url": "https://dawn.example/weather"},
]


@pytest.fixture
def store(tmp_path: Path):  # noqa: ANN201
    path = tmp_path / "a.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS), encoding="utf-8")
    opened = Store(":memory:")
    embedder = get_embedder("hashing")
    assert ingest(opened, [str(path)], IngestOptions()).rejected == 0
    run_claims(opened)
    run_embed(opened, embedder)
    run_narratives(opened, embedder)
    yield opened
    opened.close()


def test_exact_text_of_a_stored_claim_ranks_first(store) -> None:  # noqa: ANN001
    embedder = get_embedder("hashing")
    for text, in store.db.execute("SELECT text FROM claims").fetchall():
        hits = search(store, text, k=3, embedder=embedder)
        assert hits[0].text == text
        assert hits[0].similarity == pytest.approx(1.0, abs=1e-3)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_hits_carry_provenance_and_narrative(store) -> None:  # noqa: ANN001
    embedder = get_embedder("hashing")
    debt = store.db.execute("SELECT narrative_id FROM narrative_claims nc JOIN claims c ON c.id = nc.claim_id "
                         "WHERE c.text LIKE 'Chinese loans under CPEC%'").fetchone()
    assert debt is not None, "the debt claims should form a narrative"
    review.set_verdict(store, debt[0], "misleading", reviewer="ana")
    hit = search(store, "Chinese loans under CPEC are pushing Pakistan into a debt trap.", k=1,
                 embedder=embedder)[0]
    assert (hit.source, hit.published, hit.title, hit.url) == (
        "Dawn", "2024-01-05", "Debt worries", "https://dawn.example/debt")
    assert store.db.execute("SELECT text FROM articles WHERE id = ?", [hit.article_id]).fetchone()[0] == hit.text
    assert hit.narrative_id == debt[0] and hit.verdict == "misleading"
    assert hit.narrative_label == store.db.execute("SELECT label FROM narratives WHERE id = ?",
                                                [debt[0]]).fetchone()[0]
    weather = search(store, "The weather in Lahore was pleasant and sunny on Sunday afternoon.", k=1,
                     embedder=embedder)[0]
    assert weather.narrative_id is None and weather.verdict is None and weather.source == "Dawn"


def test_k_limits_hits_and_an_empty_store_returns_nothing(store) -> None:  # noqa: ANN001
    embedder = get_embedder("hashing")
    assert len(search(store, "debt trap", k=2, embedder=embedder)) == 2
    assert search(Store(":memory:"), "debt trap", embedder=embedder) == []


def test_search_sees_claims_added_later(store, tmp_path: Path) -> None:  # noqa: ANN001
    embedder = get_embedder("hashing")
    search(store, "anything", embedder=embedder)  # warm the vector cache
    path = tmp_path / "b.jsonl"
    new = "A new airport opened in Gwadar for commercial flights in January."
    path.write_text(json.dumps({"text": new, "source": "Dawn"}) + "\n", encoding="utf-8")
    ingest(store, [str(path)], IngestOptions())
    run_claims(store)
    run_embed(store, embedder)
    assert search(store, new, k=1, embedder=embedder)[0].text == new


def test_search_narratives_finds_the_closest_narrative(store) -> None:  # noqa: ANN001
    hits = search_narratives(store, "CPEC loans push Pakistan into a debt trap", embedder=get_embedder("hashing"))
    assert hits and "debt" in (hits[0].label or "") and hits[0].size == 3


@pytest.mark.parametrize("query", [
    'CPEC "debt trap',
    "debt AND trap OR NOT loans",
    "NEAR(debt trap, 2)",
    "(loans) OR (debt",
    "text: debt*",
    "^Gwadar -port +naval",
    '"" \'\' ) ( } {',
])
def test_fts_syntax_in_queries_never_raises(store, query: str) -> None:  # noqa: ANN001
    embedder = get_embedder("hashing")
    ranked = rank_claims(store, query, embedder, text_weight=1.0)
    assert ranked
    search(store, query, embedder=embedder)


def test_fts_query_quotes_every_word() -> None:
    assert fts_query('debt AND "trap" NEAR(x)') == '"debt" OR "and" OR "trap" OR "near"'
    assert fts_query("CPEC cpec Cpec") == '"cpec"'
    assert fts_query("a ( ) ?") is None
    query = fts_query('He said: "CPEC*" -- (Gwadar) OR loans^2')
    assert query is not None
    for part in query.split(" OR "):
        assert part.startswith('"') and part.endswith('"') and '"' not in part[1:-1]


def test_text_ranking_finds_word_matches(store) -> None:  # noqa: ANN001
    embedder = get_embedder("hashing")
    ranked = rank_claims(store, "Dasu", embedder, vector_weight=0.0, text_weight=1.0)
    top = store.db.execute("SELECT text FROM claims WHERE id = ?", [ranked[0][0]]).fetchone()[0]
    assert "Dasu" in top


def test_cli_search_json(store, run_cli, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    path = tmp_path / "a.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS), encoding="utf-8")
    db_path = str(tmp_path / "s.db")
    monkeypatch.setenv("TRACKER_EMBEDDING_MODEL", "hashing")
    assert run_cli("ingest", str(path), "--db", db_path).exit_code == 0
    assert run_cli("claims", "--db", db_path).exit_code == 0
    assert run_cli("embed", "--db", db_path).exit_code == 0
    result = run_cli("search", "Militants attacked a convoy of Chinese engineers near Dasu dam.", "--k", "2",
                     "--format", "json", "--db", db_path)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["claims"][0]["text"] == RECORDS[4]["text"] and data["claims"][0]["source"] == "Xinhua"
    assert len(data["claims"]) == 2
    table = run_cli("search", 'NEAR("Dasu" AND (dam', "--db", db_path)
    assert table.exit_code == 0 and "Dasu" in table.stdout


def test_centroids_of_another_model_are_never_compared(store) -> None:  # noqa: ANN001
    """MiniLM and e5 are both 384-d: vectors are compared only when the same model made them."""
    from tracker.pipeline import run_themes
    from tracker.store.queries import related_narratives

    embedder = get_embedder("hashing")
    hits = search_narratives(store, "CPEC loans push Pakistan into a debt trap", embedder=embedder)
    debt = hits[0].narrative_id
    with store.write() as db:
        db.execute("UPDATE narratives SET centroid_model = 'another-model-of-the-same-width' WHERE id = ?", [debt])
    again = search_narratives(store, "CPEC loans push Pakistan into a debt trap", embedder=embedder)
    assert debt not in [h.narrative_id for h in again]
    others = [r[0] for r in store.db.execute("SELECT id FROM narratives WHERE status = 'active' AND id != ?",
                                             [debt])]
    for other in others:
        assert debt not in related_narratives(store.db, other)["id"].tolist()
    assert related_narratives(store.db, debt).empty  # nothing else was made by its model
    import os

    os.environ["TRACKER_THEME_FLOOR"] = "-1"  # everything would group at no floor ...
    try:
        run_themes(store, embedder, full=True)
    finally:
        del os.environ["TRACKER_THEME_FLOOR"]
    assert store.db.execute("SELECT theme_id FROM narratives WHERE id = ?", [debt]).fetchone()[0] is None

