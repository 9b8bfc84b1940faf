"""The store: migrations, pragmas, append-only reviews, float32 embeddings, transactions."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from tracker import TrackerError
from tracker.db import (
    StoreError,
    blob_to_vector,
    load_embeddings,
    log_review,
    migrations,
    open_db,
    save_embeddings,
    vector_to_blob,
)


def _tables(db) -> set[str]:  # noqa: ANN001
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")}


def test_migrations_apply_once_and_reopen_is_idempotent(tmp_store):
    db = open_db(tmp_store)
    applied = [m.name for m in migrations.applied(db)]
    assert applied[0] == "m001_initial" and len(applied) == len(set(applied))
    assert not migrations.pending(db)
    assert {"sources", "articles", "article_lsh", "claims", "embeddings", "narratives", "reviews", "runs",
            "meta", "reviews_no_update", "reviews_no_delete"} <= _tables(db)
    db.execute("INSERT INTO sources(name) VALUES ('Dawn')")
    schema = _tables(db)
    db.close()
    again = open_db(tmp_store)  # re-opening must not re-run anything or lose data
    assert [m.name for m in migrations.applied(again)] == applied
    assert _tables(again) == schema
    assert again.execute("SELECT name FROM sources").fetchall() == [("Dawn",)]
    again.close()


def test_file_store_uses_wal_and_foreign_keys(tmp_store):
    db = open_db(tmp_store)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO articles(source_id, text, content_hash, ingested_at) "
                   "VALUES (999, 't', 'h', 'now')")
    db.close()


def test_memory_store_has_foreign_keys(db):
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_missing_store_without_create(tmp_store):
    with pytest.raises(StoreError, match="no such store"):
        open_db(tmp_store, create=False)


def test_not_a_database(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a SQLite file" * 100)
    with pytest.raises(StoreError, match="cannot open as a tracker store"):
        open_db(path)


def test_reviews_are_append_only(db):
    review_id = log_review(db, "alice", "rename", narrative_id=1, payload={"label": "x"})
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE reviews SET reviewer = 'mallory' WHERE id = ?", [review_id])
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM reviews WHERE id = ?", [review_id])
    assert db.execute("SELECT reviewer FROM reviews").fetchall() == [("alice",)]
    with pytest.raises(TrackerError):
        log_review(db, "  ", "rename")


def test_embeddings_round_trip_as_float32(db, hashing_embedder):
    vectors = hashing_embedder.encode(["CPEC creates jobs", "a debt trap"])
    assert vectors.dtype == np.float32
    blob = vector_to_blob(vectors[0])
    assert len(blob) == 4 * vectors.shape[1]
    assert np.array_equal(blob_to_vector(blob), vectors[0])
    save_embeddings(db, hashing_embedder.name, ["h1", "h2"], vectors)
    loaded = load_embeddings(db, hashing_embedder.name, ["h1", "h2", "missing"])
    assert set(loaded) == {"h1", "h2"}
    assert loaded["h2"].dtype == np.float32
    assert np.array_equal(loaded["h2"], vectors[1])
    # float64 input is stored as float32
    assert blob_to_vector(vector_to_blob(np.array([0.1, 0.2], dtype=np.float64))).dtype == np.float32


def test_atomic_rolls_back_on_error(db):
    with pytest.raises(RuntimeError):
        with db.atomic():
            db.execute("INSERT INTO sources(name) VALUES ('Dawn')")
            db.execute("INSERT INTO meta(key, value) VALUES ('k', 'v')")
            raise RuntimeError("boom")
    assert db.execute("SELECT count(*) FROM sources").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM meta").fetchone()[0] == 0
    with db.atomic():
        db.execute("INSERT INTO sources(name) VALUES ('Geo')")
    assert db.execute("SELECT name FROM sources").fetchall() == [("Geo",)]
