"""Claim search: exact text ranks first, hits carry provenance and narrative/verdict, FTS syntax never leaks; score
fusion, stemmed stop-word-free word matching, query clean-up and titles of whole-record claims."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tracker import review
from tracker.embed import get_embedder
from tracker.ingest import IngestOptions, ingest
from tracker.pipeline import run_claims, run_embed, run_narratives
from tracker.search import clean_query, embed_queries, fts_query, fuse, rank_claims, search, search_narratives
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
    assert rank_claims(store, query, embedder)
    search(store, query, embedder=embedder)


def test_fts_query_quotes_every_content_word() -> None:
    assert fts_query('debt AND "trap" NEAR(x)') == '"debt" OR "trap" OR "near"'  # "and": a stop word
    assert fts_query("CPEC cpec Cpec") == '"cpec"'
    assert fts_query("a ( ) ?") is None
    query = fts_query('He said: "CPEC*" -- (Gwadar) OR loans^2')
    assert query is not None
    for part in query.split(" OR "):
        assert part.startswith('"') and part.endswith('"') and '"' not in part[1:-1]


def test_fts_query_leaves_out_stop_words() -> None:
    assert fts_query("Is it true that the debt of Pakistan has doubled since they signed?") == (
        '"true" OR "debt" OR "pakistan" OR "doubled" OR "signed"')
    assert fts_query("Which of them would have been there?") is None  # nothing but stop words
    assert fts_query("fire_the_fool now") == '"fire"' or fts_query("fire_the_fool now") is None


@pytest.mark.parametrize("raw, cleaned", [
    ("CPEC loans are a debt trap for Pakistan.", "CPEC loans are a debt trap for Pakistan."),
    ("Read this https://t.co/AbC123 and www.example.com/x now", "Read this and now"),
    ("Look at this pic.twitter.com/xyz123", "Look at this"),
    ("@RealDonaldTrump says #FakeNews about #Iran2020", "Real Donald Trump says Fake News about Iran 2020"),
    ("Trump must divest now. — Ilhan Omar (@IlhanMN) January 6, 2020", "Trump must divest now. — Ilhan Omar"),
    ("The tax cut paid for itself - Tom Smith (@tsmith) March 3, 2019", "The tax cut paid for itself — Tom Smith"),
    ('"A ""Trump and Obama"" meme &amp; more"', 'A "Trump and Obama" meme & more'),  # quoted for CSV twice
    ("https://t.co/only", "https://t.co/only"),  # nothing would be left: the query stays as written
])
def test_clean_query(raw: str, cleaned: str) -> None:
    assert clean_query(raw) == cleaned


def test_fuse_scales_word_scores_by_the_best_match() -> None:
    fused = fuse({1: 0.8, 2: 0.78}, {2: 4.0, 3: 8.0}, 0.15)
    assert fused == pytest.approx({1: 0.85 * 0.8, 2: 0.85 * 0.78 + 0.15 * 0.5, 3: 0.15})
    assert fuse({1: 0.8}, {}, 0.15) == pytest.approx({1: 0.85 * 0.8})


class TableEmbedder:
    """Vectors looked up by text (unknown texts: a vector orthogonal to every query)."""

    name = "table"
    dim = 3
    languages = None

    def __init__(self, vectors: dict[str, list[float]]) -> None:
        self.vectors = {t: np.asarray(v, dtype=np.float32) / np.linalg.norm(v) for t, v in vectors.items()}
        self.calls: list[list[str]] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return np.stack([self.vectors.get(t, np.asarray([0.0, 0.0, 1.0], dtype=np.float32)) for t in texts])


QUERY = "Fishermen in Gwadar lost their boats in the storm."
CLOSE = "Coastal workers saw vessels wrecked by bad weather."           # cosine 0.80, no shared word
WORDS = "Gwadar fishermen protest against new harbour rules."          # cosine 0.78, two shared words
ONLY_WORDS = "Gwadar fishermen lost boats to a storm, a report says."  # cosine 0.40, the best word match


FILLER = [{"text": t, "source": "F"} for t in (  # words in no query: BM25 needs a corpus to weigh words against
    "Cricket fans queued overnight for tickets to the final.", "The weather in Lahore was pleasant on Sunday.",
    "A new airport opened for commercial flights in January.", "Wheat prices eased after a strong harvest.",
    "The central bank kept interest rates unchanged.", "Schools reopened after the winter holidays.")]


def _cosine_store(tmp_path: Path, records: list[dict], embedder: TableEmbedder) -> Store:
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    opened = Store(":memory:")
    assert ingest(opened, [str(path)], IngestOptions()).rejected == 0
    run_claims(opened)
    run_embed(opened, embedder)
    return opened


def _texts(store: Store, ranked: list[tuple[int, float, float]]) -> list[str]:
    text = dict(store.db.execute("SELECT id, text FROM claims").fetchall())
    return [text[c] for c, _, _ in ranked]


def test_word_matches_move_a_claim_only_as_far_as_its_cosine_margin_allows(tmp_path: Path) -> None:
    """Embeddings and words disagree: a claim 0.02 behind on cosine with two query words overtakes the closest
    claim; one 0.40 behind with the best word match does not, though it leads the word ranking."""
    embedder = TableEmbedder({QUERY: [1, 0, 0], CLOSE: [0.8, 0.6, 0], WORDS: [0.78, -0.6258, 0],
                              ONLY_WORDS: [0.4, 0.9165, 0]})
    store = _cosine_store(tmp_path, [{"text": t, "source": s} for t, s in
                                     ((CLOSE, "A"), (WORDS, "B"), (ONLY_WORDS, "C"))] + FILLER, embedder)
    def order(**options: float) -> list[str]:
        return [t for t in _texts(store, rank_claims(store, QUERY, embedder, **options)) if t in (CLOSE, WORDS,
                                                                                                 ONLY_WORDS)]

    assert order() == [WORDS, CLOSE, ONLY_WORDS]
    assert order(text_weight=0.0) == [CLOSE, WORDS, ONLY_WORDS]
    assert order(text_weight=1.0) == [ONLY_WORDS, WORDS, CLOSE]
    top = rank_claims(store, QUERY, embedder)[0]
    assert top[2] == pytest.approx(0.78, abs=1e-4)  # the similarity reported is the plain cosine


def test_queries_are_embedded_as_written_and_cleaned_in_one_call() -> None:
    embedder = TableEmbedder({})
    raw, clean = embed_queries(embedder, ["Debt trap https://t.co/x", "Debt trap", "Plain words"])
    assert embedder.calls == [["Debt trap https://t.co/x", "Debt trap", "Plain words"]]
    assert raw.shape == clean.shape == (3, 3)


def test_word_matching_is_stemmed(store) -> None:  # noqa: ANN001
    embedder = get_embedder("hashing")
    ranked = rank_claims(store, "loan attacks on an engineer", embedder, text_weight=1.0)
    texts = _texts(store, ranked)
    assert "Militants attacked a convoy of Chinese engineers near Dasu dam." in texts[:1]
    assert any("loans" in t for t in texts[1:])


NEWS = {"text": "Officials in Quetta opened a new water plant on Monday. Residents said the supply was cleaner "
                "than before. The provincial minister praised the engineers who built it.",
        "title": "Tarbela turbines", "source": "Dawn", "date": "2024-03-01"}
RECORD = {"text": "Electricity tariffs rose 28 percent in July after the IMF deal.",
          "title": "Did power bills jump after the Tarbela agreement?", "source": "Fact Desk"}


def test_only_claims_that_are_their_whole_record_carry_the_title(tmp_path: Path) -> None:
    embedder = get_embedder("hashing")
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(NEWS) + "\n" + json.dumps(RECORD) + "\n", encoding="utf-8")
    opened = Store(":memory:")
    ingest(opened, [str(path)], IngestOptions())
    run_claims(opened)
    run_embed(opened, embedder)
    titled = opened.db.execute("SELECT c.text, t.title FROM claim_titles t JOIN claims c ON c.id = t.claim_id"
                               ).fetchall()
    assert titled == [(RECORD["text"], RECORD["title"])]
    # "Tarbela" is only in the titles: it finds the record, not the news article's sentences
    ranked = rank_claims(opened, "Tarbela", embedder, text_weight=1.0)
    assert [t for t, (_, score, _) in zip(_texts(opened, ranked), ranked) if score > 0] == [RECORD["text"]]
    # the title was embedded with the claims, under its own content hash
    from tracker.store import vectors as store_vectors
    from tracker.store.base import content_hash

    assert store_vectors.load(opened.db, "hashing", [content_hash(RECORD["title"])])
    assert store_vectors.count(opened.db, "hashing") == 1 + opened.db.execute(
        "SELECT count(DISTINCT text_hash) FROM claims").fetchone()[0]


def test_a_title_close_to_the_query_lifts_its_claim(tmp_path: Path) -> None:
    """Two claims equally close to the query by text; the one whose title says what the query says ranks first."""
    query, title = "Did the dam cost twice its budget?", "Did the Dasu dam cost twice its budget?"
    first = {"text": "Costs of the project went far beyond the plan.", "title": "Budget overrun claim checked",
             "source": "A"}
    second = {"text": "Costs of the scheme went far beyond the plan.", "title": title, "source": "B"}
    embedder = TableEmbedder({query: [1, 0, 0], first["text"]: [0.6, 0.8, 0], second["text"]: [0.6, 0.8, 0],
                              title: [0.9, 0.4359, 0], first["title"]: [0.1, 0.995, 0]})
    store = _cosine_store(tmp_path, [first, second], embedder)
    ranked = rank_claims(store, query, embedder, text_weight=0.0)
    assert _texts(store, ranked) == [second["text"], first["text"]]
    assert ranked[0][1] == pytest.approx((0.6 + 0.6 + 0.9) / 3, abs=1e-4)
    assert ranked[1][1] == pytest.approx((0.6 + 0.6 + 0.1) / 3, abs=1e-4)


def test_text_ranking_finds_word_matches(store) -> None:  # noqa: ANN001
    embedder = get_embedder("hashing")
    ranked = rank_claims(store, "Dasu", embedder, text_weight=1.0)
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

