"""Pipeline stages over the store: run_claims and run_embed are incremental; CachedEmbedder reuses vectors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tracker import db as store
from tracker.embed import get_embedder
from tracker.ingest import IngestOptions, ingest
from tracker.pipeline import CachedEmbedder, run_claims, run_embed


def flat(sentences: list[str]) -> list[float]:
    return [0.5] * len(sentences)


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


def ingest_records(db, tmp_path: Path, name: str, records: list[dict]) -> list[int]:  # noqa: ANN001
    report = ingest(db, [str(write_jsonl(tmp_path / name, records))], IngestOptions())
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


def test_run_claims_extracts_claims_with_offsets(db, tmp_path: Path) -> None:  # noqa: ANN001
    ingest_records(db, tmp_path, "a.jsonl", ARTICLES)
    result = run_claims(db, score=flat)
    assert result.stage == "claims"
    assert result.counts == {"articles": 3, "claims": 6}
    rows = db.execute("SELECT c.text, c.start, c.end, a.text, c.text_hash, c.extractor, c.checkworthy "
                      "FROM claims c JOIN articles a ON a.id = c.article_id").fetchall()
    assert len(rows) == 6
    for text, start, end, article_text, text_hash, extractor, checkworthy in rows:
        assert article_text[start:end] == text
        assert text_hash == store.content_hash(text)
        assert extractor and checkworthy == 0.5
    run = db.execute("SELECT settings, counts, finished_at FROM runs WHERE stage = 'claims'").fetchone()
    assert json.loads(run[1]) == {"articles": 3, "claims": 6} and run[2]


def test_run_claims_with_the_shipped_scorer(db, tmp_path: Path) -> None:  # noqa: ANN001
    ingest_records(db, tmp_path, "a.jsonl", ARTICLES[:1])
    run_claims(db)
    scores = [r[0] for r in db.execute("SELECT checkworthy FROM claims ORDER BY id")]
    assert len(scores) == 2 and all(0.0 <= s <= 1.0 for s in scores)
    assert scores[0] > 0.5  # "signed six new agreements worth $2 billion on Monday"


def test_second_run_does_no_work_and_new_articles_are_processed_alone(db, tmp_path: Path) -> None:  # noqa: ANN001
    embedder = CountingEmbedder(get_embedder("hashing"))
    ingest_records(db, tmp_path, "a.jsonl", ARTICLES)
    assert run_claims(db, score=flat).counts["articles"] == 3
    assert run_embed(db, embedder).counts == {"embedded": 6, "model": "hashing"}
    assert embedder.encoded == 6

    before = db.execute("SELECT id, text FROM claims ORDER BY id").fetchall()
    assert run_claims(db, score=flat).counts == {"articles": 0, "claims": 0}
    assert run_embed(db, embedder).counts["embedded"] == 0
    assert embedder.encoded == 6
    assert db.execute("SELECT id, text FROM claims ORDER BY id").fetchall() == before

    new_ids = ingest_records(db, tmp_path, "b.jsonl", LATER)
    result = run_claims(db, score=flat)
    assert result.counts == {"articles": 1, "claims": 2}
    assert {r[0] for r in db.execute("SELECT DISTINCT article_id FROM claims WHERE id > ?",
                                     [before[-1][0]])} == set(new_ids)
    assert run_embed(db, embedder).counts["embedded"] == 2
    assert embedder.calls[-1] == [c[0] for c in db.execute(
        "SELECT text FROM claims WHERE article_id = ? ORDER BY id", [new_ids[0]])]
    assert db.execute("SELECT count(*) FROM embeddings WHERE model = 'hashing'").fetchone()[0] == 8


def test_run_embed_embeds_each_distinct_text_once(db, tmp_path: Path) -> None:  # noqa: ANN001
    same = "Pakistan and China signed six new agreements worth $2 billion on Monday."
    ingest_records(db, tmp_path, "a.jsonl", [
        {"text": same + " Talks will resume in Beijing next month, officials said.", "source": "Dawn"},
        {"text": same + " The ceremony was held in Islamabad at the Prime Minister's House.", "source": "Xinhua"},
    ])
    run_claims(db, score=flat)
    embedder = CountingEmbedder(get_embedder("hashing"))
    result = run_embed(db, embedder, batch_size=2)
    texts = [t for call in embedder.calls for t in call]
    assert len(texts) == len(set(texts)) == result.counts["embedded"] == 3
    assert all(len(call) <= 2 for call in embedder.calls)
    vectors = store.load_embeddings(db, "hashing", [store.content_hash(same)])
    assert np.allclose(vectors[store.content_hash(same)], get_embedder("hashing").encode([same])[0])


def test_progress_callbacks_count_work(db, tmp_path: Path) -> None:  # noqa: ANN001
    ingest_records(db, tmp_path, "a.jsonl", ARTICLES)
    seen: list[int] = []
    run_claims(db, score=flat, progress=seen.append)
    assert sum(seen) == 3
    embedded: list[int] = []
    run_embed(db, get_embedder("hashing"), progress=embedded.append)
    assert sum(embedded) == 6


def test_cached_embedder_reuses_stored_vectors(db, tmp_path: Path) -> None:  # noqa: ANN001
    ingest_records(db, tmp_path, "a.jsonl", ARTICLES)
    run_claims(db, score=flat)
    run_embed(db, get_embedder("hashing"))
    stored = [r[0] for r in db.execute("SELECT text FROM claims ORDER BY id")]

    base = CountingEmbedder(get_embedder("hashing"))
    cached = CachedEmbedder(db, base)
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


def test_settings_select_the_hashing_embedder_for_the_cli(run_cli, tmp_path: Path,  # noqa: ANN001
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_EMBEDDING_MODEL", "hashing")
    path = write_jsonl(tmp_path / "a.jsonl", ARTICLES)
    store_path = str(tmp_path / "s.db")
    assert run_cli("ingest", str(path), "--db", store_path).exit_code == 0
    first = run_cli("claims", "--db", store_path)
    assert first.exit_code == 0 and "articles 3" in first.stdout
    # check-worthiness is scored on the claims' vectors, so the claims stage already stored them
    assert "embedded 0" in run_cli("embed", "--db", store_path).stdout
    assert "articles 0" in run_cli("claims", "--db", store_path).stdout
    db = store.open_db(store_path)
    assert [r[0] for r in db.execute("SELECT DISTINCT model FROM embeddings")] == ["hashing"]
    assert db.execute("SELECT count(*) FROM claims WHERE text_hash NOT IN "
                      "(SELECT content_hash FROM embeddings)").fetchone()[0] == 0
    db.close()
