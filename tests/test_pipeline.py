"""Pipeline stages over the store: claims, embeddings and check-worthiness are incremental, each text is embedded
once per model in batches across articles, and CachedEmbedder reuses stored vectors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tracker.embed import get_embedder
from tracker.ingest import IngestOptions, ingest
from tracker.pipeline import CachedEmbedder, run_checkworthy, run_claims, run_embed, update
from tracker.pipeline import claims as pipeline_claims
from tracker.store import Store
from tracker.store import vectors as store_vectors
from tracker.store.base import content_hash

ARTICLES = [
    {"text": "Pakistan and China signed six new agreements worth $2 billion on Monday. "
             "The agreements cover agriculture, mining and special economic zones.",
     "source": "Dawn", "date": "2024-01-02"},
    {"text": "Gwadar port handled 1.2 million tonnes of cargo last year, officials said. "
             "The port expects to double its traffic by 2026 under the corridor plan.",
     "source": "Xinhua", "date": "2024-01-03"},
    {"text": "Critics warn that Chinese loans are pushing Pakistan into a debt trap. "
             "Pakistan's external debt rose to 130 billion dollars this year.",
     "source": "The Hindu", "date": "2024-01-04"},
]
LATER = [
    {"text": "A new power plant in Sahiwal added 1,320 megawatts to the national grid. "
             "Load-shedding fell sharply in Punjab after the plant opened.",
     "source": "Dawn", "date": "2024-02-01"},
]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def ingest_records(store, tmp_path: Path, name: str, records: list[dict]) -> list[int]:  # noqa: ANN001
    report = ingest(store, [str(write_jsonl(tmp_path / name, records))], IngestOptions())
    assert report.rejected == 0
    return report.article_ids


class CountingEmbedder:
    """Wraps an embedder and records every text it is asked to encode."""

    def __init__(self, base) -> None:  # noqa: ANN001
        self.base = base
        self.name = base.name
        self.dim = base.dim
        self.languages = getattr(base, "languages", None)
        self.calls: list[list[str]] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return self.base.encode(texts)

    @property
    def encoded(self) -> int:
        return sum(len(c) for c in self.calls)


def test_run_claims_extracts_claims_with_offsets(store, tmp_path: Path) -> None:  # noqa: ANN001
    ingest_records(store, tmp_path, "a.jsonl", ARTICLES)
    result = run_claims(store)
    assert result.stage == "claims"
    assert result.counts == {"articles": 3, "claims": 6}
    rows = store.db.execute("SELECT c.text, c.start, c.end, a.text, c.text_hash, c.extractor, c.checkworthy "
                            "FROM claims c JOIN articles a ON a.id = c.article_id").fetchall()
    assert len(rows) == 6
    for text, start, end, article_text, text_hash, extractor, checkworthy in rows:
        assert article_text[start:end] == text
        assert text_hash == content_hash(text)
        assert extractor and checkworthy is None  # scored later, in batches, from the claims' vectors
    run = store.db.execute("SELECT settings, counts, finished_at FROM runs WHERE stage = 'claims'").fetchone()
    assert json.loads(run[1]) == {"articles": 3, "claims": 6} and run[2]


def test_checkworthiness_is_scored_from_the_stored_vectors_in_one_batch(store, tmp_path: Path,  # noqa: ANN001
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    embedder = CountingEmbedder(get_embedder("hashing"))
    ingest_records(store, tmp_path, "a.jsonl", ARTICLES)
    run_claims(store)
    run_embed(store, embedder)
    claims = {r[0] for r in store.db.execute("SELECT text FROM claims")}
    calls = len(embedder.calls)
    monkeypatch.setattr(pipeline_claims, "_checkworthy_models", {})
    from tracker import checkworthy

    monkeypatch.setattr(checkworthy, "default_model", lambda e: checkworthy.CheckworthyModel(embedder=e).fit(
        ["Exports rose 12 percent to $3 billion in 2023.", "Thank you all, good evening.",
         "The plant added 1,320 megawatts to the grid.", "We are so happy to be here tonight."], [1, 0, 1, 0]))
    assert run_checkworthy(store, embedder).counts == {"scored": 6}
    # no claim embedded again (only the model's own training sentences): the stored vectors were read
    assert not claims & {t for call in embedder.calls[calls:] for t in call}
    scores = [r[0] for r in store.db.execute("SELECT checkworthy FROM claims ORDER BY id")]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert run_checkworthy(store, embedder).counts == {"scored": 0}


class RecordingScorer:
    """A check-worthiness model that records what each call is given."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], list[int]]] = []

    def score(self, texts, vectors, docs=None):  # noqa: ANN001, ANN201
        assert vectors.shape == (len(texts), 256)
        self.calls.append((list(texts), list(docs)))
        return [0.5] * len(texts)


def test_checkworthiness_sees_each_claim_with_its_article_and_never_splits_one(  # noqa: ANN001
        store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    embedder = get_embedder("hashing")
    ingest_records(store, tmp_path, "a.jsonl", ARTICLES + LATER)
    run_claims(store)
    run_embed(store, embedder)
    scorer = RecordingScorer()
    monkeypatch.setattr(pipeline_claims, "_checkworthy_models", {embedder.name: scorer})
    assert run_checkworthy(store, embedder).counts == {"scored": 8}
    assert len(scorer.calls) == 1  # one batch across articles
    texts, docs = scorer.calls[0]
    expected = store.db.execute("SELECT text, article_id FROM claims ORDER BY article_id, idx").fetchall()
    assert list(zip(texts, docs)) == expected and len(set(docs)) == 4

    with store.write() as db:
        db.execute("UPDATE claims SET checkworthy = NULL")
    monkeypatch.setattr(pipeline_claims, "SCORE_CHUNK", 3)  # a batch ends where its last article ends
    scorer.calls.clear()
    run_checkworthy(store, embedder)
    batches = [set(d) for _, d in scorer.calls]
    assert len(batches) == 2 and all(not a & b for a in batches for b in batches if a is not b)
    assert sum(len(d) for _, d in scorer.calls) == 8


def test_run_claims_then_the_shipped_scorer(store, tmp_path: Path) -> None:  # noqa: ANN001
    ingest_records(store, tmp_path, "a.jsonl", ARTICLES[:1])
    embedder = get_embedder("hashing")
    run_claims(store)
    run_embed(store, embedder)
    run_checkworthy(store, embedder)
    scores = [r[0] for r in store.db.execute("SELECT checkworthy FROM claims ORDER BY id")]
    assert len(scores) == 2 and all(0.0 <= s <= 1.0 for s in scores)


def test_second_run_does_no_work_and_new_articles_are_processed_alone(store, tmp_path: Path) -> None:  # noqa: ANN001
    embedder = CountingEmbedder(get_embedder("hashing"))
    ingest_records(store, tmp_path, "a.jsonl", ARTICLES)
    assert run_claims(store).counts["articles"] == 3
    assert run_embed(store, embedder).counts == {"embedded": 6, "model": "hashing"}
    assert embedder.encoded == 6

    before = store.db.execute("SELECT id, text FROM claims ORDER BY id").fetchall()
    assert run_claims(store).counts == {"articles": 0, "claims": 0}
    assert run_embed(store, embedder).counts["embedded"] == 0
    assert embedder.encoded == 6
    assert store.db.execute("SELECT id, text FROM claims ORDER BY id").fetchall() == before

    new_ids = ingest_records(store, tmp_path, "b.jsonl", LATER)
    result = run_claims(store)
    assert result.counts == {"articles": 1, "claims": 2}
    assert {r[0] for r in store.db.execute("SELECT DISTINCT article_id FROM claims WHERE id > ?",
                                           [before[-1][0]])} == set(new_ids)
    assert run_embed(store, embedder).counts["embedded"] == 2
    assert embedder.calls[-1] == [c[0] for c in store.db.execute(
        "SELECT text FROM claims WHERE article_id = ? ORDER BY id", [new_ids[0]])]
    assert store.db.execute("SELECT count(*) FROM embeddings WHERE model = 'hashing'").fetchone()[0] == 8


def test_run_embed_embeds_each_distinct_text_once_in_batches_across_articles(store, tmp_path: Path,  # noqa: ANN001
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    same = "Pakistan and China signed six new agreements worth $2 billion on Monday."
    ingest_records(store, tmp_path, "a.jsonl", [
        {"text": same + " Talks will resume in Beijing next month, officials said.", "source": "Dawn"},
        {"text": same + " The ceremony was held in Islamabad at the Prime Minister's House.", "source": "Xinhua"},
    ])
    run_claims(store)
    embedder = CountingEmbedder(get_embedder("hashing"))
    result = run_embed(store, embedder)
    texts = [t for call in embedder.calls for t in call]
    assert len(texts) == len(set(texts)) == result.counts["embedded"] == 3
    assert len(embedder.calls) == 1  # one batch across both articles
    vectors = store_vectors.load(store.db, "hashing", [content_hash(same)])
    assert np.allclose(vectors[content_hash(same)], get_embedder("hashing").encode([same])[0])
    ingest_records(store, tmp_path, "b.jsonl", ARTICLES + LATER)
    run_claims(store)
    monkeypatch.setattr(pipeline_claims, "EMBED_CHUNK", 3)
    run_embed(store, embedder)
    assert [len(c) for c in embedder.calls[1:]] == [3, 3, 1]  # ARTICLES[0] opens with `same`: embedded already


def test_progress_bars_count_work(store, tmp_path: Path) -> None:  # noqa: ANN001
    from contextlib import contextmanager

    seen: dict[str, list] = {}

    @contextmanager
    def progress(desc, *, total=None, unit=""):  # noqa: ANN001, ANN202
        counts: list[int] = []
        seen[desc] = [total, counts]

        class Bar:
            def update(self, n: int = 1) -> None:
                counts.append(n)

        yield Bar()

    ingest_records(store, tmp_path, "a.jsonl", ARTICLES)
    run_claims(store, progress=progress)
    assert sum(seen["claims"][1]) == 3
    run_embed(store, get_embedder("hashing"), progress=progress)
    assert seen["embed"][0] == 6 and sum(seen["embed"][1]) == 6


def test_cached_embedder_reuses_stored_vectors(store, tmp_path: Path) -> None:  # noqa: ANN001
    ingest_records(store, tmp_path, "a.jsonl", ARTICLES)
    run_claims(store)
    run_embed(store, get_embedder("hashing"))
    stored = [r[0] for r in store.db.execute("SELECT text FROM claims ORDER BY id")]

    base = CountingEmbedder(get_embedder("hashing"))
    cached = CachedEmbedder(store, base)
    assert cached.name == "hashing" and cached.dim == base.dim
    vectors = cached.encode(stored)
    assert base.encoded == 0
    assert vectors.shape == (6, base.dim) and vectors.dtype == np.float32
    assert np.allclose(vectors, get_embedder("hashing").encode(stored), atol=1e-6)

    fresh = "Gwadar airport opened to commercial flights in January."
    mixed = cached.encode([stored[0], fresh, fresh, stored[1]])
    assert base.calls == [[fresh]]  # only the new text, once
    assert np.allclose(mixed[1], mixed[2]) and np.allclose(mixed[0], vectors[0])
    assert cached.encode([fresh]).shape == (1, base.dim)
    assert base.encoded == 1  # the new vector was saved and is reused
    assert cached.encode([]).shape == (0, base.dim)


def test_update_runs_every_stage_and_a_second_run_does_no_work(store, tmp_path: Path) -> None:  # noqa: ANN001
    path = write_jsonl(tmp_path / "a.jsonl", ARTICLES + LATER)
    embedder = CountingEmbedder(get_embedder("hashing"))
    first = update(store, [str(path)], embedder=embedder)
    stages = [r.stage for r in first.stages]
    assert stages == ["ingest", "claims", "embed", "checkworthy", "narratives", "themes", "stance"]
    encoded = embedder.encoded
    second = update(store, embedder=embedder)
    counts = {r.stage: r.counts for r in second.stages}
    assert counts["claims"]["claims"] == 0 and counts["embed"]["embedded"] == 0
    assert counts["checkworthy"]["scored"] == 0 and counts["narratives"]["claims"] == 0
    assert embedder.encoded == encoded


def test_one_update_at_a_time_per_store(tmp_store) -> None:  # noqa: ANN001
    from tracker.pipeline import update_lock
    from tracker.store import StoreBusy

    store = Store(tmp_store)
    with update_lock(store):
        with pytest.raises(StoreBusy, match="another 'tracker update'"):
            update(Store(tmp_store), stages=("claims",))
    update(store, stages=("claims",))  # released


def test_settings_select_the_hashing_embedder_for_the_cli(run_cli, tmp_path: Path,  # noqa: ANN001
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_EMBEDDING_MODEL", "hashing")
    path = write_jsonl(tmp_path / "a.jsonl", ARTICLES)
    store_path = str(tmp_path / "s.db")
    assert run_cli("ingest", str(path), "--db", store_path).exit_code == 0
    first = run_cli("claims", "--db", store_path)
    assert first.exit_code == 0 and "articles 3" in first.stdout
    embedded = run_cli("embed", "--db", store_path)
    assert "embedded 6" in embedded.stdout and "scored 6" in embedded.stdout
    assert "embedded 0" in run_cli("embed", "--db", store_path).stdout
    assert "articles 0" in run_cli("claims", "--db", store_path).stdout
    db = Store(store_path).db
    assert [r[0] for r in db.execute("SELECT DISTINCT model FROM embeddings")] == ["hashing"]
    assert db.execute("SELECT count(*) FROM claims WHERE checkworthy IS NULL").fetchone()[0] == 0
