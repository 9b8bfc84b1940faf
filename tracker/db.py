"""The SQLite store: schema (numbered migrations), connection, and the writes every stage shares.

One file holds everything. Tables are plain SQLite tables with documented columns, so the file opens in any
SQLite tool; JSON columns hold JSON text. The journal is WAL, foreign keys are on, and every write that belongs
together runs in one transaction (``with db.atomic():``), so a process killed mid-write leaves either all or
none of it.

Tables (see the CREATE statements below for every column):

- ``sources``: outlets. ``articles``: one row per distinct article text; near-identical copies point to the
  first copy with ``duplicate_of``. ``article_lsh``: MinHash band keys used to find near-duplicates.
- ``claims``: sentences that make claims, with offsets into ``articles.text``; ``claims_fts`` indexes their text.
- ``embeddings``: float32 vectors keyed by content hash and model name.
- ``narratives``, ``narrative_claims``, ``narrative_history``, ``narrative_constraints``: clusters of claims,
  membership, merges/splits, and reviewer decisions that every later run must respect. ``themes``: narratives of
  one storyline, grouped one level up (``narratives.theme_id``).
- ``targets``, ``stances``, ``narrative_stances``, ``stance_labels``, ``models``: stance toward targets and
  narratives, the labels models learn from, and the fitted models with their scores.
- ``reviews``: append-only log of reviewer actions. ``runs``: what each pipeline stage did, with which settings.
- ``meta``: small key/value state (e.g. the clusterer's persisted state).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import sqlite3
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np
import sqlite_utils
from sqlite_utils.migrations import Migrations

from tracker import TrackerError

migrations = Migrations("tracker")


class StoreError(TrackerError):
    """The SQLite store could not be opened or is not a tracker store."""


def _execute_script(db: sqlite_utils.Database, script: str) -> None:
    """Run ``script`` statement by statement inside the caller's transaction (``executescript`` would commit)."""
    statement = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""
    if statement.strip():
        raise StoreError("incomplete SQL statement in migration")


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    _execute_script(
        db,
        """
        -- Outlets. country is an ISO 3166 alpha-2 code where known.
        CREATE TABLE sources (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,      -- outlet name as it appears in the input
            domain TEXT,                    -- web domain, from the first URL seen
            country TEXT,                   -- e.g. PK, CN, IN, US
            language TEXT,                  -- most common article language
            kind TEXT                       -- news, wire, think tank, fact-checker ... (optional)
        );
        -- Articles. text is stored exactly as ingested (normalised newlines); claims point into it by offset.
        CREATE TABLE articles (
            id INTEGER PRIMARY KEY,
            source_id INTEGER REFERENCES sources(id),
            url TEXT,
            title TEXT,
            published TEXT,                 -- ISO date YYYY-MM-DD, NULL when unknown (never guessed)
            language TEXT,                  -- ISO 639-1 code detected from the text (or given)
            author TEXT,
            text TEXT NOT NULL,
            content_hash TEXT NOT NULL UNIQUE,  -- sha256 of outlet name + normalised text: exact re-ingest skipped
            duplicate_of INTEGER REFERENCES articles(id),  -- first stored near-identical copy, if any
            duplicate_similarity REAL,      -- estimated Jaccard similarity to duplicate_of
            external_id TEXT,               -- id given by the input (JSON/CSV id column), if any
            origin TEXT,                    -- where it came from: file path and record, or URL
            ingested_at TEXT NOT NULL       -- UTC timestamp
        );
        CREATE INDEX idx_articles_source ON articles(source_id);
        CREATE INDEX idx_articles_published ON articles(published);
        CREATE INDEX idx_articles_duplicate ON articles(duplicate_of);
        CREATE TABLE article_lsh (
            band TEXT NOT NULL,             -- band number and hash of a MinHash band
            article_id INTEGER NOT NULL REFERENCES articles(id)
        );
        CREATE INDEX idx_article_lsh_band ON article_lsh(band);
        -- Claims: one row per claim sentence. text == articles.text[start:end].
        CREATE TABLE claims (
            id INTEGER PRIMARY KEY,
            article_id INTEGER NOT NULL REFERENCES articles(id),
            idx INTEGER NOT NULL,           -- sentence index within the article (0-based)
            start INTEGER NOT NULL,         -- character offset of the sentence in articles.text
            end INTEGER NOT NULL,           -- character offset just past the sentence
            text TEXT NOT NULL,
            text_hash TEXT NOT NULL,        -- sha256 of text: key into embeddings
            claimant TEXT,                  -- who is said to assert it ("the outlet" when nobody else)
            attribution TEXT,               -- assert | report | refute
            checkworthy REAL,               -- 0..1, higher = more worth checking
            extractor TEXT,                 -- version of the extractor that made the row
            UNIQUE(article_id, idx)
        );
        CREATE INDEX idx_claims_hash ON claims(text_hash);
        CREATE VIRTUAL TABLE claims_fts USING fts5(text, content='claims', content_rowid='id');
        CREATE TRIGGER claims_ai AFTER INSERT ON claims BEGIN
            INSERT INTO claims_fts(rowid, text) VALUES (new.id, new.text);
        END;
        CREATE TRIGGER claims_ad AFTER DELETE ON claims BEGIN
            INSERT INTO claims_fts(claims_fts, rowid, text) VALUES ('delete', old.id, old.text);
        END;
        -- Embeddings: float32 little-endian vectors, one per distinct text and model.
        CREATE TABLE embeddings (
            content_hash TEXT NOT NULL,
            model TEXT NOT NULL,
            dim INTEGER NOT NULL,
            vector BLOB NOT NULL,
            PRIMARY KEY (content_hash, model)
        );
        -- Narratives: clusters of claims with a stable id.
        CREATE TABLE narratives (
            id INTEGER PRIMARY KEY,
            label TEXT,                     -- short label (reviewer's name when renamed)
            keywords TEXT,                  -- JSON list of distinctive keywords (c-TF-IDF)
            central_claim_id INTEGER REFERENCES claims(id),
            representatives TEXT,           -- JSON list of claim ids from different outlets
            size INTEGER NOT NULL DEFAULT 0,      -- claims in it
            n_articles INTEGER NOT NULL DEFAULT 0,  -- distinct articles, near-duplicates counted once
            n_sources INTEGER NOT NULL DEFAULT 0,   -- distinct outlets, near-duplicates counted once
            first_seen TEXT, last_seen TEXT,        -- ISO dates of the earliest / latest dated claim
            first_source_id INTEGER REFERENCES sources(id),
            status TEXT NOT NULL DEFAULT 'active',  -- active | merged (into merged_into) | dissolved
            merged_into INTEGER REFERENCES narratives(id),
            locked INTEGER NOT NULL DEFAULT 0,      -- 1: a reviewer locked it; the model adds or removes nothing
            label_locked INTEGER NOT NULL DEFAULT 0,  -- 1: a reviewer renamed it; the label is kept
            review_status TEXT NOT NULL DEFAULT 'unreviewed',  -- unreviewed | in review | reviewed
            verdict TEXT,                   -- false | misleading | unproven | accurate | ...
            verdict_note TEXT,
            verdict_url TEXT,               -- link to a published fact-check
            verdict_by TEXT, verdict_at TEXT,
            centroid BLOB,                  -- float32 mean of member embeddings (model in meta)
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE narrative_claims (
            claim_id INTEGER PRIMARY KEY REFERENCES claims(id),
            narrative_id INTEGER NOT NULL REFERENCES narratives(id),
            similarity REAL,                -- cosine similarity to the narrative centroid when assigned
            assigned_by TEXT NOT NULL,      -- model | reviewer
            assigned_at TEXT NOT NULL
        );
        CREATE INDEX idx_narrative_claims_narrative ON narrative_claims(narrative_id);
        -- Claims the model looked at and left out of every narrative (noise) are recorded, so they are not
        -- reconsidered on every run; a rebuild reconsiders them.
        CREATE TABLE unclustered_claims (
            claim_id INTEGER PRIMARY KEY REFERENCES claims(id)
        );
        CREATE TABLE narrative_history (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            event TEXT NOT NULL,            -- created | merged | split | renamed | rebuilt | dissolved | moved
            narrative_id INTEGER REFERENCES narratives(id),
            other_id INTEGER REFERENCES narratives(id),   -- the other side of a merge or split
            actor TEXT NOT NULL,            -- model, or the reviewer's name
            detail TEXT                     -- JSON
        );
        CREATE INDEX idx_narrative_history_narrative ON narrative_history(narrative_id);
        -- Reviewer decisions the clustering must respect: kind 'pin' (claim belongs to narrative) or
        -- 'exclude' (claim must not be in narrative).
        CREATE TABLE narrative_constraints (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            claim_id INTEGER NOT NULL REFERENCES claims(id),
            narrative_id INTEGER NOT NULL REFERENCES narratives(id),
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE(kind, claim_id, narrative_id)
        );
        -- Stance targets (e.g. CPEC).
        CREATE TABLE targets (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            aliases TEXT,                   -- JSON list of other names and spellings
            description TEXT,
            examples TEXT                   -- JSON {"favor": [...], "against": [...]}
        );
        -- Stance of a claim or article toward a target. source 'reviewer' rows are never overwritten by a model.
        CREATE TABLE stances (
            subject TEXT NOT NULL,          -- claim | article
            subject_id INTEGER NOT NULL,
            target_id INTEGER NOT NULL REFERENCES targets(id),
            label TEXT NOT NULL,            -- favor | against | none
            score REAL,                     -- probability of label
            model TEXT NOT NULL,            -- model version, or 'reviewer:<name>'
            source TEXT NOT NULL DEFAULT 'model',  -- model | reviewer
            PRIMARY KEY (subject, subject_id, target_id)
        );
        CREATE INDEX idx_stances_target ON stances(target_id, subject);
        -- Stance of a claim toward the narrative it belongs to.
        CREATE TABLE narrative_stances (
            claim_id INTEGER NOT NULL REFERENCES claims(id),
            narrative_id INTEGER NOT NULL REFERENCES narratives(id),
            label TEXT NOT NULL,            -- agree | disagree | discuss | unrelated
            score REAL,
            model TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT 'model',
            PRIMARY KEY (claim_id, narrative_id)
        );
        -- Labelled examples stance models learn from: shipped sets, user files and reviewer corrections.
        CREATE TABLE stance_labels (
            id INTEGER PRIMARY KEY,
            task TEXT NOT NULL,             -- target | narrative
            target TEXT,                    -- target name (task target) or narrative claim text
            text TEXT NOT NULL,
            label TEXT NOT NULL,
            origin TEXT NOT NULL,           -- shipped | user | reviewer
            claim_id INTEGER REFERENCES claims(id),
            created_by TEXT,
            created_at TEXT NOT NULL
        );
        -- Fitted models with their cross-validated scores; predictions name the version that made them.
        CREATE TABLE models (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,             -- e.g. target-stance
            version TEXT NOT NULL UNIQUE,   -- e.g. target-stance-v3
            params TEXT,                    -- JSON
            metrics TEXT,                   -- JSON, cross-validated scores
            n_train INTEGER,
            blob BLOB,                      -- pickled fitted model
            created_at TEXT NOT NULL
        );
        -- Append-only log of reviewer actions.
        CREATE TABLE reviews (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            reviewer TEXT NOT NULL,
            action TEXT NOT NULL,           -- rename | merge | split | move | exclude | verdict | stance | lock | ...
            narrative_id INTEGER,
            claim_id INTEGER,
            payload TEXT,                   -- JSON details of the action
            note TEXT
        );
        CREATE INDEX idx_reviews_narrative ON reviews(narrative_id);
        CREATE TRIGGER reviews_no_update BEFORE UPDATE ON reviews BEGIN
            SELECT RAISE(ABORT, 'reviews is append-only');
        END;
        CREATE TRIGGER reviews_no_delete BEFORE DELETE ON reviews BEGIN
            SELECT RAISE(ABORT, 'reviews is append-only');
        END;
        -- What each pipeline stage did.
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            stage TEXT NOT NULL,            -- ingest | claims | embed | narratives | stance
            started_at TEXT NOT NULL,
            finished_at TEXT,
            settings TEXT,                  -- JSON: model names and settings used
            counts TEXT                     -- JSON: what it read and wrote
        );
        CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value BLOB
        );
        """
    )


@migrations()
def m002_claim_clusters(db: sqlite_utils.Database) -> None:
    _execute_script(
        db,
        """
        -- The clusterer's own cluster id for every claim it has seen (its state lives in meta
        -- 'narratives.state'); narrative_claims says which narrative each cluster is shown as.
        CREATE TABLE claim_clusters (
            claim_id INTEGER PRIMARY KEY REFERENCES claims(id),
            cluster_id INTEGER NOT NULL
        );
        """,
    )


@migrations()
def m003_dashboard_indexes(db: sqlite_utils.Database) -> None:
    db.execute("CREATE INDEX IF NOT EXISTS idx_narrative_stances_narrative ON narrative_stances(narrative_id, label)")



@migrations()
def m004_themes(db: sqlite_utils.Database) -> None:
    _execute_script(
        db,
        """
        -- Themes: narratives of one storyline, regrouped on every narratives run (ids kept by overlap).
        CREATE TABLE themes (
            id INTEGER PRIMARY KEY,
            label TEXT,                     -- top keywords, or the reviewer's name when renamed
            keywords TEXT,                  -- JSON list of distinctive keywords (c-TF-IDF over its claims)
            label_locked INTEGER NOT NULL DEFAULT 0,  -- 1: a reviewer renamed it; the label is kept
            n_narratives INTEGER NOT NULL DEFAULT 0,
            size INTEGER NOT NULL DEFAULT 0,          -- claims in its narratives
            n_sources INTEGER NOT NULL DEFAULT 0,     -- distinct outlets, near-duplicates counted once
            first_seen TEXT, last_seen TEXT,
            status TEXT NOT NULL DEFAULT 'active',    -- active | dissolved (its narratives drifted apart)
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        ALTER TABLE narratives ADD COLUMN theme_id INTEGER REFERENCES themes(id);
        CREATE INDEX idx_narratives_theme ON narratives(theme_id);
        """,
    )


@migrations()
def m005_theme_locked(db: sqlite_utils.Database) -> None:
    # 1: a reviewer chose this narrative's theme (or no theme); regrouping leaves it there
    db.execute("ALTER TABLE narratives ADD COLUMN theme_locked INTEGER NOT NULL DEFAULT 0")

def now() -> str:
    """Current UTC time as an ISO string (seconds)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def open_db(path: str | Path = ":memory:", *, create: bool = True) -> sqlite_utils.Database:
    """Open (and migrate) the store at ``path``.

    Args:
        path: SQLite file, or ``":memory:"``.
        create: when False, a missing file is an error instead of a new store.

    Raises:
        StoreError: the file is missing (with ``create=False``) or is not a SQLite database.
    """
    path = str(path)
    if path != ":memory:":
        if not create and not Path(path).exists():
            raise StoreError(f"{path}: no such store (run 'tracker ingest' first)")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        # Autocommit mode: a transaction is exactly a ``with db.atomic():`` block, never an implicit one.
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        db = sqlite_utils.Database(conn)
        if path != ":memory:":
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA busy_timeout=10000")
        migrations.apply(db)
    except Exception as exc:  # sqlite3.DatabaseError and friends: not a database, locked, read-only
        raise StoreError(f"{path}: cannot open as a tracker store ({exc})") from exc
    return db


# --- hashing and vectors -------------------------------------------------------------------------------------

_SPACE = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """Text as compared for exact duplicates: NFC, whitespace collapsed, case kept."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def content_hash(text: str) -> str:
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()


def vector_to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def blob_to_vector(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f4")


# --- meta ----------------------------------------------------------------------------------------------------

def get_meta(db: sqlite_utils.Database, key: str, default: Any = None) -> Any:
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return default if row is None else row[0]


def set_meta(db: sqlite_utils.Database, key: str, value: Any) -> None:
    db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", [key, value])


def get_meta_json(db: sqlite_utils.Database, key: str, default: Any = None) -> Any:
    raw = get_meta(db, key)
    return default if raw is None else json.loads(raw)


def set_meta_json(db: sqlite_utils.Database, key: str, value: Any) -> None:
    set_meta(db, key, json.dumps(value))


# --- runs ----------------------------------------------------------------------------------------------------

def start_run(db: sqlite_utils.Database, stage: str, settings: dict[str, Any] | None = None) -> int:
    with db.atomic():
        cursor = db.execute(
            "INSERT INTO runs(stage, started_at, settings) VALUES (?, ?, ?)",
            [stage, now(), json.dumps(settings or {})],
        )
    return int(cursor.lastrowid)


def finish_run(db: sqlite_utils.Database, run_id: int, counts: dict[str, Any]) -> None:
    with db.atomic():
        db.execute(
            "UPDATE runs SET finished_at = ?, counts = ? WHERE id = ?", [now(), json.dumps(counts), run_id]
        )


# --- sources -------------------------------------------------------------------------------------------------

def source_id(
    db: sqlite_utils.Database, name: str | None, *, domain: str | None = None, country: str | None = None
) -> int | None:
    """Id of the outlet called ``name``, created on first sight; ``None`` for articles with no known outlet."""
    if not name:
        return None
    row = db.execute("SELECT id, domain, country FROM sources WHERE name = ?", [name]).fetchone()
    if row is None:
        cursor = db.execute(
            "INSERT INTO sources(name, domain, country) VALUES (?, ?, ?)", [name, domain, country]
        )
        return int(cursor.lastrowid)
    if (domain and not row[1]) or (country and not row[2]):
        db.execute(
            "UPDATE sources SET domain = coalesce(domain, ?), country = coalesce(country, ?) WHERE id = ?",
            [domain, country, row[0]],
        )
    return int(row[0])


# --- embeddings ----------------------------------------------------------------------------------------------

def stored_hashes(db: sqlite_utils.Database, model: str, hashes: list[str]) -> set[str]:
    """The subset of ``hashes`` that already have an embedding for ``model``."""
    found: set[str] = set()
    for i in range(0, len(hashes), 500):
        chunk = hashes[i : i + 500]
        marks = ",".join("?" * len(chunk))
        found.update(
            r[0]
            for r in db.execute(
                f"SELECT content_hash FROM embeddings WHERE model = ? AND content_hash IN ({marks})",
                [model, *chunk],
            )
        )
    return found


def save_embeddings(db: sqlite_utils.Database, model: str, hashes: list[str], vectors: np.ndarray) -> None:
    with db.atomic():
        db.conn.executemany(
            "INSERT OR IGNORE INTO embeddings(content_hash, model, dim, vector) VALUES (?, ?, ?, ?)",
            [(h, model, int(v.shape[0]), vector_to_blob(v)) for h, v in zip(hashes, vectors)],
        )


def load_embeddings(db: sqlite_utils.Database, model: str, hashes: list[str]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for i in range(0, len(hashes), 500):
        chunk = hashes[i : i + 500]
        marks = ",".join("?" * len(chunk))
        for h, blob in db.execute(
            f"SELECT content_hash, vector FROM embeddings WHERE model = ? AND content_hash IN ({marks})",
            [model, *chunk],
        ):
            out[h] = blob_to_vector(blob)
    return out


def claim_vectors(db: sqlite_utils.Database, model: str, claim_ids: list[int] | None = None) -> tuple[
    np.ndarray, np.ndarray
]:
    """Claim ids and their vectors for ``model`` (all embedded claims, or those in ``claim_ids``), by claim id."""
    sql = (
        "SELECT c.id, e.vector FROM claims c JOIN embeddings e "
        "ON e.content_hash = c.text_hash AND e.model = ?"
    )
    params: list[Any] = [model]
    if claim_ids is not None:
        ids: list[int] = []
        blobs: list[bytes] = []
        for i in range(0, len(claim_ids), 500):
            chunk = claim_ids[i : i + 500]
            rows = db.execute(sql + f" WHERE c.id IN ({','.join('?' * len(chunk))}) ORDER BY c.id",
                              [*params, *chunk]).fetchall()
            ids.extend(r[0] for r in rows)
            blobs.extend(r[1] for r in rows)
    else:
        rows = db.execute(sql + " ORDER BY c.id", params).fetchall()
        ids = [r[0] for r in rows]
        blobs = [r[1] for r in rows]
    if not ids:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    matrix = np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(ids), -1)
    return np.asarray(ids, dtype=np.int64), matrix


# --- reviews -------------------------------------------------------------------------------------------------

def log_review(
    db: sqlite_utils.Database,
    reviewer: str,
    action: str,
    *,
    narrative_id: int | None = None,
    claim_id: int | None = None,
    payload: dict[str, Any] | None = None,
    note: str | None = None,
) -> int:
    """Append one reviewer action to the log (the caller holds the transaction)."""
    if not reviewer or not reviewer.strip():
        raise TrackerError("a review action needs the reviewer's name")
    cursor = db.execute(
        "INSERT INTO reviews(at, reviewer, action, narrative_id, claim_id, payload, note) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [now(), reviewer.strip(), action, narrative_id, claim_id, json.dumps(payload or {}), note],
    )
    return int(cursor.lastrowid)


def counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Row counts of the main tables, for ``tracker status``."""
    tables = ["sources", "articles", "claims", "embeddings", "narratives", "stances", "reviews"]
    out = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    out["near_duplicates"] = db.execute(
        "SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL"
    ).fetchone()[0]
    out["active_narratives"] = db.execute(
        "SELECT count(*) FROM narratives WHERE status = 'active'"
    ).fetchone()[0]
    out["clustered_claims"] = db.execute("SELECT count(*) FROM narrative_claims").fetchone()[0]
    out["active_themes"] = db.execute("SELECT count(*) FROM themes WHERE status = 'active'").fetchone()[0]
    return out
