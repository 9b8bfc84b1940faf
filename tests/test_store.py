"""The store layer: migrations, pragmas, append-only reviews, float32 embeddings, transactions, concurrency."""

from __future__ import annotations

import sqlite3
import threading
import time

import numpy as np
import pytest

from tracker import TrackerError
from tracker.store import Store, StoreBusy, StoreError
from tracker.store import reviews as store_reviews
from tracker.store import vectors as store_vectors
from tracker.store.base import BadBlob, blob_to_arrays, blob_to_vector, vector_to_blob
from tracker.store.schema import migrations


def _tables(db) -> set[str]:  # noqa: ANN001
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")}


def test_migrations_apply_once_and_reopen_is_idempotent(tmp_store):
    store = Store(tmp_store)
    applied = [m.name for m in migrations.applied(store.db)]
    assert applied[0] == "m001_initial" and len(applied) == len(set(applied))
    assert not migrations.pending(store.db)
    assert {"sources", "articles", "article_lsh", "claims", "embeddings", "narratives", "reviews", "runs",
            "meta", "reviews_no_update", "reviews_no_delete", "narrative_flags"} <= _tables(store.db)
    with store.write() as db:
        db.execute("INSERT INTO sources(name) VALUES ('Dawn')")
    schema = _tables(store.db)
    store.close()
    again = Store(tmp_store)  # re-opening must not re-run anything or lose data
    assert [m.name for m in migrations.applied(again.db)] == applied
    assert _tables(again.db) == schema
    assert again.db.execute("SELECT name FROM sources").fetchall() == [("Dawn",)]
    again.close()


def test_file_store_uses_wal_and_foreign_keys(tmp_store):
    store = Store(tmp_store)
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    with pytest.raises(sqlite3.IntegrityError), store.write() as db:
        db.execute("INSERT INTO articles(source_id, text, content_hash, ingested_at) VALUES (999, 't', 'h', 'now')")
    store.close()


def test_memory_store_has_foreign_keys(store):
    assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_missing_store_without_create(tmp_store):
    with pytest.raises(StoreError, match="no such store"):
        Store(tmp_store, create=False)


def test_not_a_database(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a SQLite file" * 100)
    with pytest.raises(StoreError, match="cannot open as a tracker store"):
        Store(path)


def test_reviews_are_append_only(store):
    with store.write() as db:
        review_id = store_reviews.log(db, "alice", "rename", narrative_id=1, payload={"label": "x"})
    with pytest.raises(sqlite3.IntegrityError, match="append-only"), store.write() as db:
        db.execute("UPDATE reviews SET reviewer = 'mallory' WHERE id = ?", [review_id])
    with pytest.raises(sqlite3.IntegrityError, match="append-only"), store.write() as db:
        db.execute("DELETE FROM reviews WHERE id = ?", [review_id])
    assert store.db.execute("SELECT reviewer FROM reviews").fetchall() == [("alice",)]
    with pytest.raises(TrackerError), store.write() as db:
        store_reviews.log(db, "  ", "rename")


def test_embeddings_round_trip_as_float32(store, hashing_embedder):
    vectors = hashing_embedder.encode(["CPEC creates jobs", "a debt trap"])
    assert vectors.dtype == np.float32
    blob = vector_to_blob(vectors[0])
    assert len(blob) == 4 * vectors.shape[1]
    assert np.array_equal(blob_to_vector(blob), vectors[0])
    with store.write() as db:
        store_vectors.save(db, hashing_embedder.name, ["h1", "h2"], vectors)
    loaded = store_vectors.load(store.db, hashing_embedder.name, ["h1", "h2", "missing"])
    assert set(loaded) == {"h1", "h2"}
    assert loaded["h2"].dtype == np.float32
    assert np.array_equal(loaded["h2"], vectors[1])
    # float64 input is stored as float32
    assert blob_to_vector(vector_to_blob(np.array([0.1, 0.2], dtype=np.float64))).dtype == np.float32


def test_malformed_blobs_are_refused_not_read():
    with pytest.raises(BadBlob):
        blob_to_vector(b"\x00" * 7)
    with pytest.raises(BadBlob):
        blob_to_vector(b"\x00" * 8, dim=4)
    import pickle

    with pytest.raises(BadBlob):
        blob_to_arrays(pickle.dumps({"a": 1}))


def test_write_rolls_back_on_error(store):
    with pytest.raises(RuntimeError), store.write() as db:
        db.execute("INSERT INTO sources(name) VALUES ('Dawn')")
        db.execute("INSERT INTO meta(key, value) VALUES ('k', 'v')")
        raise RuntimeError("boom")
    assert store.db.execute("SELECT count(*) FROM sources").fetchone()[0] == 0
    assert store.db.execute("SELECT count(*) FROM meta").fetchone()[0] == 0
    with store.write() as db:
        db.execute("INSERT INTO sources(name) VALUES ('Geo')")
    assert store.db.execute("SELECT name FROM sources").fetchall() == [("Geo",)]


def test_nested_writes_join_the_outer_transaction(store):
    with pytest.raises(RuntimeError), store.write() as db:
        db.execute("INSERT INTO sources(name) VALUES ('Outer')")
        with store.write() as inner:
            inner.execute("INSERT INTO sources(name) VALUES ('Inner')")
        raise RuntimeError("boom")
    assert store.db.execute("SELECT count(*) FROM sources").fetchone()[0] == 0


def test_each_thread_has_its_own_connection_and_transaction(tmp_store):
    """One session's failed action never rolls back another's saved one (they used to share a connection)."""
    store = Store(tmp_store)
    inside = threading.Event()
    release = threading.Event()
    errors: list[BaseException] = []

    def failing() -> None:
        try:
            with store.write() as db:
                db.execute("INSERT INTO sources(name) VALUES ('rolled back')")
                inside.set()
                release.wait(5)
                raise RuntimeError("this session's action fails")
        except RuntimeError as exc:
            errors.append(exc)

    def saving() -> None:
        with store.write() as db:
            db.execute("INSERT INTO sources(name) VALUES ('kept')")

    first = threading.Thread(target=failing)
    first.start()
    inside.wait(5)
    second = threading.Thread(target=saving)
    second.start()
    time.sleep(0.2)
    release.set()
    first.join(10)
    second.join(10)
    assert errors
    assert {r[0] for r in store.db.execute("SELECT name FROM sources")} == {"kept"}
    connections: list[object] = []  # the objects themselves: ids of collected ones could be reused
    together = threading.Barrier(3)

    def remember() -> None:
        connections.append(store.db)
        together.wait(5)

    threads = [threading.Thread(target=remember) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    remember_main = store.db
    assert len({id(c) for c in [*connections, remember_main]}) == 4


def test_a_writer_waits_for_another_process_and_then_gives_up_in_one_line(tmp_store):
    Store(tmp_store)
    holder = sqlite3.connect(tmp_store, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    store = Store(tmp_store, write_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(StoreBusy, match="busy") as caught, store.write() as db:
        db.execute("INSERT INTO sources(name) VALUES ('x')")
    assert time.monotonic() - started >= 0.4
    assert "\n" not in str(caught.value)
    holder.execute("ROLLBACK")
    holder.execute("BEGIN IMMEDIATE")
    threading.Timer(0.3, lambda: holder.execute("COMMIT")).start()
    patient = Store(tmp_store, write_timeout=10)
    with patient.write() as db:  # waits for the other process, then writes
        db.execute("INSERT INTO sources(name) VALUES ('after')")
    assert patient.db.execute("SELECT name FROM sources").fetchall() == [("after",)]


def test_claim_search_index_is_built_from_the_claims_of_an_older_store(tmp_store):
    """m011 indexes existing claims (stemmed, the title of whole-record claims only), and keeps the index in step
    with later inserts and deletes."""
    import sqlite_utils

    conn = sqlite3.connect(tmp_store, isolation_level=None)
    old = sqlite_utils.Database(conn)
    migrations.apply(old, stop_before="m011_claim_search_index")
    assert "claims_search" not in _tables(old)
    news = "Officials opened a water plant on Monday. Residents said the water was cleaner."
    record = "Electricity tariffs rose 28 percent in July."
    for article_id, (title, text) in enumerate([("Dams of Tarbela", news), ("Did Tarbela tariffs jump?", record)], 1):
        old.execute("INSERT INTO articles(id, title, text, content_hash, ingested_at) VALUES (?, ?, ?, ?, 'now')",
                    [article_id, title, text, f"h{article_id}"])
    claims = [(1, 0, 0, 41, news[:41]), (1, 1, 42, len(news), news[42:]), (2, 0, 0, len(record), record)]
    old.conn.executemany("INSERT INTO claims(article_id, idx, start, end, text, text_hash) VALUES (?, ?, ?, ?, ?, 'x')",
                         claims)
    old.execute("INSERT INTO meta(key, value) VALUES ('embed.hashing.last_claim_id', 3)")
    conn.close()

    store = Store(tmp_store)  # the pending migration runs on open

    def found(query: str) -> list[int]:
        return [r[0] for r in store.db.execute(
            "SELECT rowid FROM claims_search WHERE claims_search MATCH ? ORDER BY rowid", [query])]

    assert found('"officials"') == [1] and found('"cleaner"') == [2]
    assert found('"tariff"') == [3] and found('"opening"') == [1]  # Porter stems: tariffs, opened
    assert found('"tarbela"') == [3]  # the record's title; the news article's title is not its sentences'
    assert store.db.execute("SELECT claim_id, title FROM claim_titles").fetchall() == [(3, "Did Tarbela tariffs jump?")]
    from tracker.store import claims as store_claims

    todo, _ = store_claims.unembedded(store.db, "hashing")  # the embed stage will embed the title it never saw
    assert "Did Tarbela tariffs jump?" in [text for _, text in todo]
    with store.write() as db:
        db.execute("INSERT INTO claims(article_id, idx, start, end, text, text_hash) VALUES "
                   "(1, 2, 0, 10, 'Tariffs on water will double.', 'y')")
    assert found('"tariff"') == [3, 4]
    with store.write() as db:
        db.execute("DELETE FROM claims WHERE id IN (3, 4)")
    assert found('"tariff"') == [] and found('"tarbela"') == []
    assert found('"officials"') == [1]
    store.close()


def test_narrative_stats_fold_near_duplicates_and_name_the_earliest_outlet(store):
    from tracker.store.narratives import refresh_stats

    db = store.db
    for name in ["Dawn", "Xinhua", "Reuters"]:
        db.execute("INSERT INTO sources(name) VALUES (?)", [name])
    articles = [  # (id, outlet, published, duplicate_of)
        (1, 2, "2024-03-05", None), (2, 1, "2024-03-01", None), (3, 3, "2024-03-01", None),
        (4, 1, None, None), (5, 3, "2024-02-20", 2)]  # 5: a near-duplicate of 2, dated earlier by its copier
    for i, outlet, published, duplicate in articles:
        db.execute("INSERT INTO articles(id, source_id, published, text, content_hash, duplicate_of, ingested_at) "
                   "VALUES (?, ?, ?, 't', ?, ?, 'now')", [i, outlet, published, f"h{i}", duplicate])
        db.execute("INSERT INTO claims(id, article_id, idx, start, end, text, text_hash, checkworthy) "
                   "VALUES (?, ?, 0, 0, 1, 't', 'x', ?)", [i, i, 0.1 * i])
    db.execute("INSERT INTO narratives(id, created_at, updated_at) VALUES (1, 'now', 'now'), (2, 'now', 'now')")
    for claim in [1, 2, 3, 4, 5]:
        db.execute("INSERT INTO narrative_claims(claim_id, narrative_id, assigned_by, assigned_at) "
                   "VALUES (?, 1, 'model', 'now')", [claim])
    refresh_stats(db, [1, 2])
    row = db.execute("SELECT size, n_articles, n_sources, first_seen, last_seen, first_source_id, checkworthy "
                     "FROM narratives WHERE id = 1").fetchone()
    # 5 folds into 2: one story, counted as Dawn's; the outlets are Xinhua, Dawn and Reuters (through 3). The
    # earliest dated article is 5 (its own date and outlet); undated 4 counts but dates nothing.
    assert row[:6] == (5, 4, 3, "2024-02-20", "2024-03-05", 3) and abs(row[6] - 0.3) < 1e-9
    db.execute("DELETE FROM narrative_claims WHERE claim_id = 5")
    refresh_stats(db, [1])
    # on a date tie the lower article id is first: 2 (Dawn) before 3 (Reuters)
    assert db.execute("SELECT first_seen, first_source_id FROM narratives WHERE id = 1").fetchone() == \
        ("2024-03-01", 1)
    assert db.execute("SELECT size, first_seen, first_source_id FROM narratives WHERE id = 2").fetchone() == \
        (0, None, None)
