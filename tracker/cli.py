"""The ``tracker`` command: thin click wrappers over the library; expected failures are one-line errors."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any

import click

from tracker import TrackerError, __version__, settings


def db_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--db FILE``, defaulting to the ``db`` setting (``TRACKER_DB`` or ``tracker.db``)."""
    return click.option(
        "--db", "db_path", type=click.Path(dir_okay=False), default=None,
        help="SQLite store (default: $TRACKER_DB or tracker.db).",
    )(func)


def model_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--model", "model_name", default=None,
        help="Embedding model: minilm (default), e5 (multilingual) or hashing (no model, for trials).",
    )(func)


def friendly_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn TrackerError into ``Error: <message>`` and exit 1, without a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except TrackerError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


def open_store(db_path: str | None, *, create: bool = True):  # noqa: ANN201
    from tracker.db import open_db

    return open_db(settings.get("db", db_path), create=create)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tracker")
def cli() -> None:
    """Track claims and narratives across news outlets.

    Ingest articles, extract the claims they make, group claims that say the same thing into narratives, measure
    stance toward targets such as CPEC, and review it all in a dashboard. Everything lives in one SQLite file.

    \b
    Example:
        tracker update datasets/cpec/corpus --db cpec.db
        tracker dashboard --db cpec.db
    """


def emit(data: Any, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    else:
        for key, value in data.items():
            click.echo(f"{key:>22}: {value}")


@cli.command()
@db_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@friendly_errors
def status(db_path: str | None, fmt: str) -> None:
    """Show what the store holds: articles, sources, date range, and per-stage counts.

    \b
    Example:
        tracker status --db cpec.db
    """
    from tracker.queries import store_status

    db = open_store(db_path, create=False)
    emit(store_status(db), fmt)


def ingest_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by ``ingest`` and ``update``."""
    for option in reversed([
        click.option("--map", "mapping", default=None, metavar="FIELD=COLUMN,...",
                     help="Which input columns hold which fields, e.g. text=body,date=published_date,source=outlet."),
        click.option("--format", "fmt", type=click.Choice(["text", "jsonl", "json", "csv", "html", "feed"]),
                     default=None, help="Input format (default: from the file extension, or sniffed)."),
        click.option("--source", default=None, help="Outlet name for records that do not name one."),
        click.option("--country", default=None, help="Outlet country (ISO code) for records without one."),
        click.option("--sources", "sources_file", type=click.Path(exists=True, dir_okay=False), default=None,
                     help="CSV/JSONL of outlet metadata (name, domain, country, language, kind) to load first."),
        click.option("--strict", is_flag=True, help="Stop at the first bad record; store nothing from its file."),
    ]):
        func = option(func)
    return func


def run_ingest(db, paths: tuple[str, ...], mapping: str | None, fmt: str | None, source: str | None,  # noqa: ANN001
               country: str | None, sources_file: str | None, strict: bool):  # noqa: ANN201
    """Ingest with a progress bar and one line per problem on stderr; returns the report."""
    from tqdm import tqdm

    from tracker.db import finish_run, start_run
    from tracker.ingest import IngestOptions, StrictAbort, ingest, load_sources, parse_mapping

    if sources_file:
        load_sources(db, sources_file)
    options = IngestOptions(
        mapping=parse_mapping(mapping), fmt=fmt, source=source, country=country, strict=strict,
        near_duplicate_threshold=float(settings.get("near_duplicate_threshold")),
        timeout=float(settings.get("fetch_timeout")),
    )
    run_id = start_run(db, "ingest", {"paths": list(paths), "strict": strict, "mapping": options.mapping})
    with tqdm(desc="ingest", unit=" records", file=sys.stderr, disable=None, leave=False) as bar:
        try:
            report = ingest(db, paths, options,
                            on_problem=lambda p: tqdm.write(str(p), file=sys.stderr), progress=bar.update)
        except StrictAbort as exc:
            finish_run(db, run_id, {"aborted": str(exc)})
            raise
    finish_run(db, run_id, {"read": report.read, "stored": report.stored, "duplicates": report.duplicates,
                            "near_duplicates": report.near_duplicates, "rejected": report.rejected})
    return report


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@db_option
@ingest_options
@friendly_errors
def ingest(db_path: str | None, paths: tuple[str, ...], mapping: str | None, fmt: str | None,
           source: str | None, country: str | None, sources_file: str | None, strict: bool) -> None:
    """Read articles from PATHS (files, folders, globs, '-' for stdin, http(s) URLs) into the store.

    Formats: plain text (the seed layout: date line, title, "Outlet: ..." dateline, paragraphs), JSON Lines,
    JSON arrays, CSV/TSV (delimiter detected; columns found by common names or --map), saved HTML pages, and
    RSS/Atom feeds; any of them gzipped. An exact re-ingest is skipped; near-identical copies (syndicated
    stories) are stored and linked with duplicate_of. Each bad record gets one line on stderr naming the file
    and record, the rest still ingests, and the exit code is 1 if anything was rejected.

    \b
    Example:
        tracker ingest ../shared/seeds datasets/cpec/corpus --db cpec.db
        tracker ingest export.csv --map text=body,date=published_date,source=outlet
        cat articles.jsonl | tracker ingest - --source "Dawn"
    """
    db = open_store(db_path)
    report = run_ingest(db, paths, mapping, fmt, source, country, sources_file, strict)
    click.echo(report.summary())
    if report.rejected:
        sys.exit(1)


@cli.command("eval")
@click.argument("task", type=click.Choice(["clusters", "target-stance", "claim-stance", "match", "checkworthy"]))
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--corpus", type=click.Path(dir_okay=False), default=None,
              help="match: the corpus of {id, text} records to rank.")
@click.option("--train", type=click.Path(dir_okay=False), default=None,
              help="Fit the task's trainable model on this file (same format) first.")
@click.option("--predictions", type=click.Path(dir_okay=False), default=None,
              help="Write one JSON line per input line: {line, pred} (checkworthy adds score; match: ranked).")
@click.option("--format", "fmt", type=click.Choice(["json", "table"]), default="json", show_default=True)
@model_option
@friendly_errors
def eval_command(task: str, file: str, corpus: str | None, train: str | None, predictions: str | None, fmt: str,
                 model_name: str | None) -> None:
    """Score tracker's own code on labelled data; prints one JSON object of metrics.

    Runs on a temporary store, never yours. Files are JSON Lines (.jsonl or .jsonl.gz) as in the evaluation
    contract (docs): clusters {id,text,gold[,source,date]}, target-stance {target,text,label},
    claim-stance {claim,text,label}, match {id,text,relevant} with --corpus {id,text}, checkworthy {text,label}.

    \b
    Example:
        tracker eval clusters ../shared/data/dev/clusters_headlines_dev.jsonl
        tracker eval match queries.jsonl --corpus corpus.jsonl --format table
        tracker eval target-stance dev.jsonl --train train.jsonl --predictions preds.jsonl
    """
    from tracker import evaluate
    from tracker.embed import get_embedder

    embedder = get_embedder(settings.get("embedding_model", model_name))
    metrics, preds = evaluate.run(task, file, corpus=corpus, train=train, embedder=embedder)
    if predictions:
        evaluate.write_predictions(predictions, preds)
    if fmt == "table":
        click.echo(evaluate.format_table(task, metrics))
    else:
        click.echo(json.dumps(metrics, ensure_ascii=False))


def main() -> None:  # pragma: no cover
    cli(prog_name="tracker")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
