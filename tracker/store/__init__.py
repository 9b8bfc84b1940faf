"""The store layer: one SQLite file, its connections and transactions, and every read and write of tracker.

All SQL of the package lives in this package (and the migrations in :mod:`tracker.store.schema`). The rest of
tracker works on records and arrays and reaches the file only through :class:`Store` and the functions of the
modules here, each of which takes an open connection (``store.db`` to read, the one ``store.write()`` yields to
write), so that several writes compose into one transaction.

Concurrency rules (modelled on datasette's ``Database``):

- **A connection per thread.** ``store.db`` is the calling thread's own connection, opened on first use, so two
  dashboard sessions (two threads) or a worker thread never share a transaction. A :class:`Store` object is cheap;
  the dashboard keeps one per browser session.
- **Writers wait, one at a time.** ``with store.write() as db:`` is one transaction, started with
  ``BEGIN IMMEDIATE`` so the write lock is taken up front (a deferred transaction that reads first and then writes
  fails at once with "database is locked" when another process wrote in between, whatever the busy timeout).
  Writers in one process queue on a lock; writers in other processes are waited for by SQLite's busy handler and
  a bounded retry, up to the ``write_timeout`` setting. If the store stays locked longer, :class:`StoreBusy`
  says so in one line. Nested ``write()`` blocks on one thread join the outer transaction (as savepoints).
- **Readers never wait.** The journal is WAL: a reader sees the last committed state while a writer works.
- **Short transactions.** Pipeline stages write in batches, each its own transaction, so a reviewer's action waits
  for one batch at most.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from tracker import TrackerError, settings
from tracker.store.schema import migrations

__all__ = ["Store", "StoreError", "StoreBusy", "open_store"]


class StoreError(TrackerError):
    """The SQLite store could not be opened or is not a tracker store."""


class StoreBusy(StoreError):
    """Another process kept the store locked for longer than the write timeout."""


_WRITE_LOCKS: dict[str, threading.RLock] = {}
_MIGRATED: set[str] = set()
_REGISTRY_LOCK = threading.Lock()


def _is_busy(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and any(
        word in str(exc).lower() for word in ("locked", "busy"))


class Store:
    """An open tracker store (a SQLite file, or ``":memory:"``).

    Args:
        path: the SQLite file (created and migrated when missing, unless ``create`` is False), or ``":memory:"``
            (one connection shared by every thread; for tests and evaluation runs).
        create: when False, a missing file is a :class:`StoreError` instead of a new store.
        write_timeout: seconds a write waits for another process's lock before :class:`StoreBusy` (default: the
            ``write_timeout`` setting).

    Raises:
        StoreError: the file is missing (with ``create=False``) or is not a SQLite database.
    """

    def __init__(self, path: str | Path = ":memory:", *, create: bool = True,
                 write_timeout: float | None = None) -> None:
        self.path = str(path)
        self.memory = self.path == ":memory:"
        self.write_timeout = float(settings.get("write_timeout", write_timeout))
        if not self.memory:
            if not create and not Path(self.path).exists():
                raise StoreError(f"{self.path}: no such store (run 'tracker ingest' first)")
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self.path = str(Path(self.path).resolve())
        self._local = threading.local()
        self._shared: sqlite_utils.Database | None = None
        with _REGISTRY_LOCK:
            self._write_lock = threading.RLock() if self.memory else _WRITE_LOCKS.setdefault(
                self.path, threading.RLock())
        db = self.db  # opens (and, once per process, migrates) the store: errors surface here
        key = f"memory:{id(self)}" if self.memory else self.path
        if key not in _MIGRATED:
            try:
                with self.write():
                    migrations.apply(db)
            except StoreError:
                raise
            except Exception as exc:  # sqlite3.DatabaseError and friends: not a database, read-only
                raise StoreError(f"{self.path}: cannot open as a tracker store ({exc})") from exc
            if not self.memory:
                _MIGRATED.add(key)

    # --- connections --------------------------------------------------------------------------------------------

    def _connect(self) -> sqlite_utils.Database:
        try:
            # autocommit mode: a transaction is exactly a ``write()`` block, never an implicit one
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=not self.memory,
                                   timeout=min(self.write_timeout, 5.0))
            db = sqlite_utils.Database(conn)
            if not self.memory:
                mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
                if mode != "wal":
                    conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute(f"PRAGMA busy_timeout={int(min(self.write_timeout, 5.0) * 1000)}")
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open as a tracker store ({exc})") from exc
        return db

    @property
    def db(self) -> sqlite_utils.Database:
        """This thread's connection (the one shared connection of an in-memory store)."""
        if self.memory:
            if self._shared is None:
                self._shared = self._connect()
            return self._shared
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._connect()
            self._local.db = db
        return db

    def close(self) -> None:
        """Close this thread's connection (other threads' connections close when their threads end)."""
        db = self._shared if self.memory else getattr(self._local, "db", None)
        if db is not None:
            db.conn.close()
        self._shared = None
        self._local.db = None

    # --- transactions -------------------------------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[sqlite_utils.Database]:
        """One write transaction on this thread's connection; nested blocks join it as savepoints.

        Raises:
            StoreBusy: the write lock could not be had within ``write_timeout`` seconds.
        """
        db = self.db
        depth = getattr(self._local, "depth", 0)
        if depth:
            self._local.depth = depth + 1
            try:
                with db.atomic():  # a savepoint inside the outer transaction
                    yield db
            finally:
                self._local.depth = depth
            return
        deadline = time.monotonic() + self.write_timeout
        if not self._write_lock.acquire(timeout=self.write_timeout):
            raise StoreBusy(f"{self.path}: the store is busy (another writer in this process held it for "
                            f"{self.write_timeout:.0f} s); try again")
        try:
            self._begin(db, deadline)
            self._local.depth = 1
            try:
                yield db
            except BaseException:
                if db.conn.in_transaction:
                    db.conn.execute("ROLLBACK")
                raise
            else:
                self._commit(db, deadline)
            finally:
                self._local.depth = 0
        finally:
            self._write_lock.release()

    def _begin(self, db: sqlite_utils.Database, deadline: float) -> None:
        delay = 0.02
        while True:
            try:
                db.conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() >= deadline:
                    if _is_busy(exc):
                        raise StoreBusy(f"{self.path}: the store is busy (another process has been writing for "
                                        f"{self.write_timeout:.0f} s); try again") from exc
                    raise
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.5)

    def _commit(self, db: sqlite_utils.Database, deadline: float) -> None:
        while True:
            try:
                db.conn.execute("COMMIT")
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() >= deadline:
                    db.conn.execute("ROLLBACK")
                    if _is_busy(exc):
                        raise StoreBusy(f"{self.path}: could not commit, the store stayed busy; try again") from exc
                    raise
                time.sleep(0.05)

    @property
    def in_write(self) -> bool:
        """True inside a ``write()`` block on this thread."""
        return bool(getattr(self._local, "depth", 0))

    def __repr__(self) -> str:
        return f"Store({self.path!r})"


def open_store(path: str | Path | None = None, *, create: bool = True) -> Store:
    """The store at ``path`` (default: the ``db`` setting)."""
    return Store(settings.get("db", str(path) if path is not None else None), create=create)
