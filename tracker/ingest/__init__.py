"""Ingestion: read articles from files, folders, globs, stdin and URLs, and store them.

Each input file is read by the reader for its format (:mod:`tracker.ingest.readers`), every record becomes an
:class:`~tracker.records.Article` or a :class:`~tracker.records.Problem`, and articles are stored in batches,
each batch one transaction. With ``strict=True`` the first problem aborts the file and nothing from it is stored.
"""

from __future__ import annotations

import glob
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from tracker import TrackerError
from tracker.ingest import dedupe
from tracker.ingest.fetch import fetch_url, is_url
from tracker.ingest.normalise import BadArticle, parse_mapping, to_article
from tracker.ingest.readers import Item, decode, format_for, maybe_gunzip, read, sniff_format
from tracker.records import Article, IngestReport, Problem
from tracker.store import Store
from tracker.store import articles as store_articles
from tracker.store import base as store_base

__all__ = ["IngestOptions", "ingest", "store_article", "parse_mapping", "load_sources", "BadArticle"]

BATCH = 200


class StrictAbort(TrackerError):
    """--strict: a record was rejected, so nothing from its input was stored."""


@dataclass
class IngestOptions:
    """How to read inputs: column mapping, defaults for missing fields, strictness, near-duplicate threshold."""

    mapping: dict[str, str] = field(default_factory=dict)
    source: str | None = None
    country: str | None = None
    fmt: str | None = None
    strict: bool = False
    near_duplicate_threshold: float = 0.7
    timeout: float = 20.0


def expand(paths: Iterable[str]) -> Iterator[str]:
    """Files named by ``paths``: files as given, folders recursively (hidden files skipped), globs, '-' and URLs."""
    for path in paths:
        if path == "-" or is_url(path):
            yield path
        elif os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith(".") and format_for(name):
                        yield os.path.join(root, name)
        elif any(ch in path for ch in "*?["):
            matches = sorted(glob.glob(path, recursive=True))
            if not matches:
                yield path  # reported as missing
            yield from (m for m in matches if os.path.isfile(m))
        else:
            yield path


def read_input(path: str, options: IngestOptions) -> Iterator[Item]:
    """Yield the records of one input (file, '-' or URL); an unreadable input yields one error item."""
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
            name = "<stdin>"
            fmt = options.fmt
        elif is_url(path):
            data, content_type = fetch_url(path, timeout=options.timeout)
            name = path
            fmt = options.fmt or _format_from_content_type(content_type) or format_for(urlparse(path).path)
        else:
            name = path
            data = Path(path).read_bytes()
            fmt = options.fmt or format_for(path)
        data = maybe_gunzip(data, name)
        text = decode(data, name)
    except FileNotFoundError:
        yield Item(path, error="no such file")
        return
    except IsADirectoryError:
        yield Item(path, error="is a directory")
        return
    except PermissionError:
        yield Item(path, error="permission denied")
        return
    except (OSError, BadArticle, TrackerError) as exc:
        yield Item(path, error=str(exc))
        return
    if not text.strip():
        yield Item(name, error="empty input")
        return
    fmt = fmt or sniff_format(text)
    items = read(text, fmt, name, options.mapping)
    if is_url(path):
        items = (_with_default_url(item, path) for item in items)
    yield from items


def _with_default_url(item: Item, url: str) -> Item:
    if item.fields is not None and not item.fields.get("url") and format_for(url) != "feed":
        return Item(item.origin, {**item.fields, "url": url}, item.error)
    return item


def _format_from_content_type(content_type: str | None) -> str | None:
    content_type = (content_type or "").lower()
    if "html" in content_type:
        return "html"
    if any(k in content_type for k in ("rss", "atom", "xml")):
        return "feed"
    if "json" in content_type:
        return None  # sniffed: JSON or JSON Lines
    if "csv" in content_type:
        return "csv"
    return None


def ingest(
    store: Store,
    paths: Iterable[str],
    options: IngestOptions | None = None,
    *,
    on_problem: Callable[[Problem], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> IngestReport:
    """Ingest every input in ``paths`` into ``store`` and return the counts.

    Args:
        store: an open store.
        paths: files, folders, globs, '-' (stdin) or http(s) URLs.
        options: reading options.
        on_problem: called with each problem as it happens (the CLI prints them).
        progress: called with the number of records handled since the last call.
    """
    options = options or IngestOptions()
    report = IngestReport()
    for path in expand(paths):
        _ingest_one(store, path, options, report, on_problem, progress)
    return report


def _ingest_one(store: Store, path: str, options: IngestOptions, report: IngestReport,
                on_problem: Callable[[Problem], None] | None,
                progress: Callable[[int], None] | None) -> None:
    pending: list[Article] = []
    file_report = IngestReport()

    def problem(origin: str, message: str) -> None:
        file_report.rejected += 1
        p = Problem(origin, message)
        file_report.problems.append(p)
        if options.strict:
            raise StrictAbort(f"{p} (--strict: nothing stored from {path})")
        if on_problem:
            on_problem(p)

    def flush() -> None:
        if options.strict or not pending:
            return
        _store_batch(store, pending, options, file_report)
        pending.clear()

    defaults = {"source": options.source, "source_country": options.country}
    try:
        for item in read_input(path, options):
            file_report.read += 1
            if progress:
                progress(1)
            if item.error is not None:
                problem(item.origin, item.error)
                continue
            try:
                article, warnings_ = to_article(item.fields or {}, item.origin, defaults=defaults)
            except BadArticle as exc:
                problem(item.origin, str(exc))
                continue
            for warning in warnings_:
                if on_problem:
                    on_problem(Problem(item.origin, f"warning: {warning}"))
            pending.append(article)
            if len(pending) >= BATCH:
                flush()
        if options.strict:
            _store_batch(store, pending, options, file_report)
            pending.clear()
        flush()
    except StrictAbort:
        report.read += file_report.read
        report.rejected += file_report.rejected
        report.problems.extend(file_report.problems)
        raise
    for name in ("read", "stored", "duplicates", "near_duplicates", "rejected"):
        setattr(report, name, getattr(report, name) + getattr(file_report, name))
    report.problems.extend(file_report.problems)
    report.article_ids.extend(file_report.article_ids)


def _store_batch(store: Store, articles: list[Article], options: IngestOptions, report: IngestReport) -> None:
    """Store a batch of articles in one transaction, updating ``report``."""
    outcomes: list[tuple[str, int]] = []
    with store.write() as db:
        for article in articles:
            outcomes.append(store_article(db, article, threshold=options.near_duplicate_threshold))
    for outcome, article_id in outcomes:
        if outcome == "duplicate":
            report.duplicates += 1
            continue
        report.stored += 1
        report.article_ids.append(article_id)
        if outcome == "near-duplicate":
            report.near_duplicates += 1


def store_article(db: Any, article: Article, *, threshold: float = 0.7) -> tuple[str, int]:
    """Store one article inside the caller's transaction, linked to an earlier near-identical copy if any.

    Returns:
        ``("duplicate", existing_id)``, ``("near-duplicate", id)`` or ``("new", id)``.
    """
    article_shingles = dedupe.shingles(article.text)
    keys = dedupe.band_keys(dedupe.signature(article_shingles))
    return store_articles.store_article(
        db, article, band_keys=keys, threshold=threshold,
        similarity=lambda text: dedupe.jaccard(article_shingles, dedupe.shingles(text)))


def load_sources(store: Store, path: str) -> int:
    """Upsert outlet metadata (name, domain, country, language, kind) from a CSV or JSON Lines file.

    Returns:
        the number of outlets read.
    """
    import csv

    try:
        raw = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise TrackerError(f"{path}: cannot read sources file ({exc.strerror})") from exc
    rows: list[dict[str, Any]]
    if path.endswith((".jsonl", ".ndjson")):
        rows = []
        for number, line in enumerate(raw.splitlines(), start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as exc:
                    raise TrackerError(f"{path}:line {number}: invalid JSON ({exc})") from exc
    else:
        rows = list(csv.DictReader(raw.splitlines()))
    with store.write() as db:
        for number, row in enumerate(rows, start=2):
            name = (row.get("name") or "").strip()
            if not name:
                raise TrackerError(f"{path}:row {number}: an outlet needs a name")
            store_base.update_source(db, name, domain=row.get("domain") or None,
                                     country=(row.get("country") or "").upper() or None,
                                     language=row.get("language") or None, kind=row.get("kind") or None)
    return len(rows)
