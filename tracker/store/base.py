"""Small shared pieces of the store: timestamps, content hashes, vector blobs, meta state, runs and outlets."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import unicodedata
from typing import Any

import numpy as np
import sqlite_utils

from tracker import TrackerError


class BadBlob(TrackerError):
    """A stored binary value is not what tracker writes there (a damaged or crafted store)."""


def now() -> str:
    """Current UTC time as an ISO string (seconds)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


# --- hashing and vectors -------------------------------------------------------------------------------------

_SPACE = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """Text as compared for exact duplicates: NFC, whitespace collapsed, case kept."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def content_hash(text: str) -> str:
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()


def vector_to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def blob_to_vector(blob: bytes, dim: int | None = None) -> np.ndarray:
    """A float32 vector from its blob; :class:`BadBlob` when the bytes cannot be one (of ``dim`` values)."""
    if not isinstance(blob, bytes | memoryview) or len(blob) % 4 or (dim is not None and len(blob) != 4 * dim):
        raise BadBlob(f"a stored vector has {len(blob) if isinstance(blob, bytes) else 'no'} bytes, "
                      f"not a float32 vector{f' of {dim} values' if dim else ''}")
    return np.frombuffer(blob, dtype="<f4")


def blobs_to_matrix(blobs: list[bytes], dim: int) -> np.ndarray:
    """(n, dim) float32 matrix from ``n`` vector blobs of ``dim`` values each (checked)."""
    if not blobs:
        return np.zeros((0, dim), np.float32)
    joined = b"".join(blobs)
    if len(joined) != 4 * dim * len(blobs) or any(len(b) != 4 * dim for b in blobs):
        raise BadBlob(f"stored vectors are not all float32 vectors of {dim} values")
    return np.frombuffer(joined, dtype="<f4").reshape(len(blobs), dim)


def arrays_to_blob(arrays: dict[str, np.ndarray]) -> bytes:
    """Numeric arrays as one ``.npz`` blob (no object arrays: nothing in it can run code when read)."""
    buffer = io.BytesIO()
    for name, value in arrays.items():
        if np.asarray(value).dtype == object:
            raise ValueError(f"array {name!r} has dtype object; only numeric and string arrays are stored")
    np.savez(buffer, **{k: np.asarray(v) for k, v in arrays.items()})
    return buffer.getvalue()


def blob_to_arrays(blob: bytes) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` blob, read with ``allow_pickle=False`` (:class:`BadBlob` if it is not one)."""
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except Exception as exc:  # noqa: BLE001 - any failure means the blob is not ours
        raise BadBlob(f"a stored array blob cannot be read ({type(exc).__name__}: {exc})") from exc


# --- meta ----------------------------------------------------------------------------------------------------

def get_meta(db: sqlite_utils.Database, key: str, default: Any = None) -> Any:
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return default if row is None else row[0]


def set_meta(db: sqlite_utils.Database, key: str, value: Any) -> None:
    db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", [key, value])


def get_meta_json(db: sqlite_utils.Database, key: str, default: Any = None) -> Any:
    raw = get_meta(db, key)
    try:
        return default if raw is None else json.loads(raw)
    except ValueError as exc:
        raise BadBlob(f"meta {key!r} is not JSON") from exc


def set_meta_json(db: sqlite_utils.Database, key: str, value: Any) -> None:
    set_meta(db, key, json.dumps(value))


# --- runs ----------------------------------------------------------------------------------------------------

def start_run(db: sqlite_utils.Database, stage: str, settings: dict[str, Any] | None = None) -> int:
    """Record that ``stage`` started (the caller holds the transaction)."""
    cursor = db.execute("INSERT INTO runs(stage, started_at, settings) VALUES (?, ?, ?)",
                        [stage, now(), json.dumps(settings or {})])
    return int(cursor.lastrowid)


def finish_run(db: sqlite_utils.Database, run_id: int, counts: dict[str, Any]) -> None:
    """Record what a stage did (the caller holds the transaction)."""
    db.execute("UPDATE runs SET finished_at = ?, counts = ? WHERE id = ?", [now(), json.dumps(counts), run_id])


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


def update_source(db: sqlite_utils.Database, name: str, *, domain: str | None, country: str | None,
                  language: str | None, kind: str | None) -> None:
    """Create outlet ``name`` if needed and fill in the metadata given (``None`` leaves a field as it is)."""
    source_id(db, name)
    db.execute(
        "UPDATE sources SET domain = coalesce(?, domain), country = coalesce(?, country), "
        "language = coalesce(?, language), kind = coalesce(?, kind) WHERE name = ?",
        [domain, country, language, kind, name],
    )


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
