"""The ``tracker`` command: thin click wrappers over the library; expected failures are one-line errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click

from tracker import __version__, settings
from tracker.cli_common import db_option, friendly_errors, model_option, open_store


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
    from tracker.store.queries import store_status

    emit(store_status(open_store(db_path, create=False).db), fmt)


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


def ingest_settings(mapping: str | None, fmt: str | None, source: str | None, country: str | None,
                    strict: bool) -> Any:
    """IngestOptions from the shared options and the settings."""
    from tracker.ingest import IngestOptions, parse_mapping

    return IngestOptions(mapping=parse_mapping(mapping), fmt=fmt, source=source, country=country, strict=strict,
                         near_duplicate_threshold=float(settings.get("near_duplicate_threshold")),
                         timeout=float(settings.get("fetch_timeout")))


def print_problem(problem: Any) -> None:
    from tqdm import tqdm

    tqdm.write(str(problem), file=sys.stderr)


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
    from tracker.ingest import load_sources
    from tracker.pipeline import run_ingest, tqdm_progress

    store = open_store(db_path)
    if sources_file:
        load_sources(store, sources_file)
    report = run_ingest(store, paths, ingest_settings(mapping, fmt, source, country, strict),
                        progress=tqdm_progress, on_problem=print_problem)
    click.echo(report.summary())
    if report.rejected:
        sys.exit(1)


def run_update(store: Any, embedder: Any, paths: tuple[str, ...] = (), *, options: Any = None,
               sources_file: str | None = None, stages: tuple[str, ...] | None = None, rebuild: bool = False) -> Any:
    """``tracker.pipeline.update`` with progress bars on a terminal and one summary line per stage."""
    from tracker.pipeline import STAGES, tqdm_progress, update

    def show(result: Any) -> None:
        click.echo(result.summary())

    return update(store, paths, options=options, sources_file=sources_file, embedder=embedder,
                  stages=stages or STAGES, rebuild=rebuild, progress=tqdm_progress, on_problem=print_problem,
                  on_result=show)


def _embedder(model_name: str | None):  # noqa: ANN202
    from tracker.embed import get_embedder

    return get_embedder(settings.get("embedding_model", model_name))


@cli.command()
@click.argument("paths", nargs=-1)
@db_option
@ingest_options
@model_option
@friendly_errors
def update(db_path: str | None, paths: tuple[str, ...], mapping: str | None, fmt: str | None,
           source: str | None, country: str | None, sources_file: str | None, strict: bool,
           model_name: str | None) -> None:
    """Ingest PATHS (if any), then run every stage on what is new: claims, embeddings, narratives, stance.

    A second run with no new input does no work. Exit code 1 if any input record was rejected (everything
    else is still processed).

    \b
    Example:
        tracker update datasets/cpec/corpus --sources datasets/cpec/sources.csv --db cpec.db
        tracker update --db cpec.db
    """
    report = run_update(open_store(db_path), _embedder(model_name), paths,
                        options=ingest_settings(mapping, fmt, source, country, strict), sources_file=sources_file)
    if report.rejected:
        sys.exit(1)


@cli.command()
@db_option
@friendly_errors
def claims(db_path: str | None) -> None:
    """Extract claims from articles not processed yet: sentences, offsets, claimant, attribution, check-worthiness.

    \b
    Example:
        tracker claims --db cpec.db
    """
    run_update(open_store(db_path, create=False), None, stages=("claims",))


@cli.command()
@db_option
@model_option
@friendly_errors
def embed(db_path: str | None, model_name: str | None) -> None:
    """Embed claims that have no vector for the model yet (vectors are keyed by text hash and model), and score
    the check-worthiness of claims that have none from those vectors.

    \b
    Example:
        tracker embed --db cpec.db
        tracker embed --model e5 --db cpec.db
    """
    run_update(open_store(db_path, create=False), _embedder(model_name), stages=("embed",))


@cli.command()
@db_option
@model_option
@click.option("--rebuild", is_flag=True, help="Re-cluster every claim; ids stay stable, reviewer decisions kept.")
@friendly_errors
def narratives(db_path: str | None, model_name: str | None, rebuild: bool) -> None:
    """Cluster new claims into narratives (incrementally), or re-cluster all with --rebuild; then regroup the
    narratives into themes (storylines).

    \b
    Example:
        tracker narratives --db cpec.db
        tracker narratives --rebuild --db cpec.db
    """
    run_update(open_store(db_path, create=False), _embedder(model_name), stages=("narratives",), rebuild=rebuild)


@cli.command()
@click.argument("text")
@click.option("-k", "--k", "k", default=10, show_default=True, help="How many claims to show.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@db_option
@model_option
@friendly_errors
def search(text: str, k: int, fmt: str, db_path: str | None, model_name: str | None) -> None:
    """Find the stored claims (and narratives) closest to TEXT, with scores and provenance.

    \b
    Example:
        tracker search "CPEC is a debt trap for Pakistan" --k 5 --db cpec.db
    """
    from dataclasses import asdict

    from tracker.search import search as search_claims
    from tracker.search import search_narratives

    store = open_store(db_path, create=False)
    embedder = _embedder(model_name)
    hits = search_claims(store, text, k=k, embedder=embedder)
    stories = search_narratives(store, text, k=min(k, 5), embedder=embedder)
    if fmt == "json":
        click.echo(json.dumps({"claims": [asdict(h) for h in hits], "narratives": [asdict(n) for n in stories]},
                              ensure_ascii=False, indent=2))
        return
    if not hits:
        click.echo("no claims stored yet (run 'tracker update' first)")
    for hit in hits:
        where = " · ".join(x for x in (hit.source, hit.published, hit.title) if x)
        narrative = f"  [narrative {hit.narrative_id}: {hit.narrative_label}" + (
            f", verdict {hit.verdict}]" if hit.verdict else "]") if hit.narrative_id else ""
        click.echo(f"{hit.similarity:.3f}  #{hit.claim_id}  {hit.text}\n       {where}{narrative}")
    if stories:
        click.echo("\nnarratives:")
        for story in stories:
            verdict = f", verdict {story.verdict}" if story.verdict else ""
            click.echo(f"{story.score:.3f}  #{story.narrative_id}  {story.label} ({story.size} claims{verdict})")


@cli.command("eval")
@click.argument("task", type=click.Choice(["clusters", "target-stance", "claim-stance", "match", "checkworthy"]))
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--corpus", type=click.Path(dir_okay=False), default=None,
              help="match: the corpus of {id, text} records to rank (a title, if given, is kept).")
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
    claim-stance {claim,text,label}, match {id,text,relevant} with --corpus {id,text[,title]},
    checkworthy {text,label[,debate or document]} (with a document field it also prints mean_document_ap).

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


def _register() -> None:
    from tracker.cli_dashboard import dashboard_command, review_group
    from tracker.cli_stance import stance_group, targets_group

    for command in (dashboard_command, review_group, stance_group, targets_group):
        cli.add_command(command)


_register()


def main() -> None:  # pragma: no cover
    cli(prog_name="tracker")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
