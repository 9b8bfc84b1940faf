"""``tracker stance ...`` and ``tracker targets ...``: thin click wrappers over tracker.stance and tracker.queries."""

from __future__ import annotations

import json
import sys

import click

from tracker import TrackerError, settings
from tracker.cli_common import db_option, friendly_errors, model_option, open_store


@click.group("stance", invoke_without_command=True)
@db_option
@model_option
@click.option("--recompute", is_flag=True, help="Predict again for every claim (e.g. after 'stance train').")
@click.pass_context
@friendly_errors
def stance_group(ctx: click.Context, db_path: str | None, model_name: str | None, recompute: bool) -> None:
    """Stance toward targets (favor/against/none) and toward narratives; with no subcommand, run the stage.

    \b
    Example:
        tracker stance --db cpec.db
        tracker stance train --target CPEC --db cpec.db
        tracker stance timeline --target CPEC --by source --freq M --db cpec.db
    """
    if ctx.invoked_subcommand is not None:
        return
    from tracker.embed import get_embedder
    from tracker.pipeline import run_stance, tqdm_progress

    store = open_store(db_path, create=False)
    result = run_stance(store, get_embedder(settings.get("embedding_model", model_name)), recompute=recompute,
                        progress=tqdm_progress)
    click.echo(result.summary())


@stance_group.command("train")
@click.option("--target", default=None, help="Target name (default: the default_target setting).")
@db_option
@model_option
@friendly_errors
def train_command(target: str | None, db_path: str | None, model_name: str | None) -> None:
    """Retrain a target's stance model from all labels (shipped, users', reviewers'); prints its CV scores.

    New predictions name the new model version; run 'tracker stance --recompute' to redo old ones.

    \b
    Example:
        tracker stance train --target CPEC --db cpec.db
    """
    from tracker.embed import get_embedder
    from tracker.pipeline.stance import ensure_targets, train

    store = open_store(db_path, create=False)
    ensure_targets(store)
    result = train(store, target or settings.get("default_target"),
                   get_embedder(settings.get("embedding_model", model_name)))
    click.echo(json.dumps(result))


@stance_group.command("label")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--by", "created_by", default="user", show_default=True, help="Who labelled them.")
@db_option
@friendly_errors
def label_command(file: str, created_by: str, db_path: str | None) -> None:
    """Add your own labelled examples ({"target", "text", "label"} JSON Lines) for 'stance train'.

    \b
    Example:
        tracker stance label my_labels.jsonl --by "Media Lab" --db cpec.db
    """
    from tracker.evaluate import LABELS, read_jsonl
    from tracker.store import stance as store_stance

    store = open_store(db_path, create=False)
    records = read_jsonl(file, ("target", "text", "label"), LABELS["target-stance"])
    with store.write() as db:
        store_stance.add_labels(db, [(r["target"], r["text"], str(r["label"]).lower()) for r in records],
                                origin="user", created_by=created_by)
    click.echo(f"added {len(records)} labels; run 'tracker stance train' to use them")


@stance_group.command("queue")
@click.option("--target", default=None, help="Target name (default: the default_target setting).")
@click.option("-n", "--limit", default=20, show_default=True, help="How many claims to list.")
@click.option("--strategy", type=click.Choice(["uncertainty", "random"]), default="uncertainty", show_default=True)
@click.option("--label", "interactive", is_flag=True,
              help="Label them one by one: f(avor), a(gainst), n(one), s(kip), q(uit); the model refits after.")
@click.option("--reviewer", default=None, help="Your name in the review log (with --label).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines.")
@db_option
@model_option
@friendly_errors
def queue_command(target: str | None, limit: int, strategy: str, interactive: bool, reviewer: str | None,
                  as_json: bool, db_path: str | None, model_name: str | None) -> None:
    """Claims whose stance label would help the model most: uncertain, and unlike each other.

    With --label, one keystroke labels each (it goes to the review log and the labels the model learns from) and
    the model refits in seconds when you stop.

    \b
    Example:
        tracker stance queue --target CPEC -n 10 --db cpec.db
        tracker stance queue --label --reviewer ana --db cpec.db
    """
    from tracker import review
    from tracker.embed import get_embedder
    from tracker.pipeline.stance import refit, stance_queue

    store = open_store(db_path, create=False)
    name = target or settings.get("default_target")
    embedder = get_embedder(settings.get("embedding_model", model_name))
    queue = stance_queue(store, name, embedder, limit=limit, strategy=strategy)
    if not queue:
        click.echo(f"nothing to label for {name} (run 'tracker update' first, or every claim is labelled)")
        return
    if not interactive:
        for item in queue:
            probabilities = {k: round(item[f"p_{k}"], 3) for k in ("favor", "against", "none")}
            if as_json:
                click.echo(json.dumps({"claim_id": item["claim_id"], "text": item["text"], "source": item["source"],
                                       "published": item["published"], **probabilities}, ensure_ascii=False))
            else:
                shown = " ".join(f"{k} {v:.2f}" for k, v in probabilities.items())
                click.echo(f"#{item['claim_id']} [{shown}] {item['source'] or '?'}: {item['text']}")
        return
    if not reviewer:
        raise TrackerError("give your name with --reviewer to label (it goes to the review log)")
    keys = {"f": "favor", "a": "against", "n": "none"}
    labelled = 0
    for item in queue:
        click.echo(f"\n#{item['claim_id']} ({item['source'] or '?'}, model: {item['label']} {item['score']:.2f})"
                   f"\n  {item['text']}")
        key = click.prompt("  f/a/n, s to skip, q to stop", type=click.Choice(["f", "a", "n", "s", "q"]),
                           show_choices=False)
        if key == "q":
            break
        if key in keys:
            review.correct_stance(store, "claim", item["claim_id"], name, keys[key], reviewer=reviewer)
            labelled += 1
    if labelled:
        result = refit(store, name, embedder)
        click.echo(f"labelled {labelled}; model {result['version']} rescored {result['rescored']} claims")


@stance_group.command("timeline")
@click.option("--target", default=None, help="Target name (default: the default_target setting).")
@click.option("--by", "by", type=click.Choice(["none", "source", "country", "narrative"]), default="none",
              show_default=True, help="Group rows by outlet, outlet country or narrative.")
@click.option("--freq", type=click.Choice(["W", "M", "Q", "Y"]), default="M", show_default=True,
              help="Period: week, month, quarter, year.")
@click.option("--subject", type=click.Choice(["article", "claim"]), default="article", show_default=True)
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), default=None,
              help="Write the table to this CSV file ('-' for stdout) instead of printing it.")
@db_option
@friendly_errors
def timeline_command(target: str | None, by: str, freq: str, subject: str, csv_path: str | None,
                     db_path: str | None) -> None:
    """Stance toward a target per period (and group), with counts and 95% Wilson intervals.

    \b
    Example:
        tracker stance timeline --target CPEC --by source --freq M --db cpec.db
        tracker stance timeline --by country --freq Y --csv cpec_by_country.csv --db cpec.db
    """
    from tracker.store.queries import stance_timeline

    store = open_store(db_path, create=False)
    frame = stance_timeline(store.db, target=target or settings.get("default_target"),
                            by=None if by == "none" else by, freq=freq, subject=subject)
    if csv_path:
        frame.to_csv(sys.stdout if csv_path == "-" else csv_path, index=False)
        if csv_path != "-":
            click.echo(f"wrote {len(frame)} rows to {csv_path}")
        return
    if frame.empty:
        click.echo("no stance data yet (run 'tracker update' first)")
        return
    columns = ["period", "group", "n", "favor", "against", "none", "uncertain", "favor_share", "favor_lo", "favor_hi",
               "against_share", "against_lo", "against_hi"]
    click.echo(frame[[c for c in columns if c in frame.columns]].to_string(index=False, float_format="%.2f"))


@click.group("targets", invoke_without_command=True)
@db_option
@click.pass_context
@friendly_errors
def targets_group(ctx: click.Context, db_path: str | None) -> None:
    """List stance targets; 'targets add' defines a new one.

    \b
    Example:
        tracker targets --db cpec.db
    """
    if ctx.invoked_subcommand is not None:
        return
    from tracker.pipeline.stance import ensure_targets
    from tracker.store import stance as store_stance

    store = open_store(db_path)
    ensure_targets(store)
    found = sorted(store_stance.targets(store.db), key=lambda t: t["name"])
    if not found:
        click.echo("no stance targets yet: add one with 'tracker targets add NAME --favor ... --against ...'")
    for target in found:
        click.echo(f"{target['name']}: {target['description']}\n  aliases: {', '.join(target['aliases'])}"
                   + (f"\n  related: {', '.join(target['related'])}" if target["related"] else ""))


@targets_group.command("add")
@click.argument("name")
@click.option("--alias", "aliases", multiple=True, help="Another name or spelling of it (repeatable).")
@click.option("--related", multiple=True,
              help="A term that points to it in context without naming it: a part, a place (repeatable).")
@click.option("--description", default="", help="One or two sentences on what the target is.")
@click.option("--favor", multiple=True, help="An example statement in favour (repeatable).")
@click.option("--against", multiple=True, help="An example statement against (repeatable).")
@db_option
@friendly_errors
def add_command(name: str, aliases: tuple[str, ...], related: tuple[str, ...], description: str,
                favor: tuple[str, ...], against: tuple[str, ...], db_path: str | None) -> None:
    """Define (or redefine) a stance target with aliases and example statements.

    Stance works from the start without examples (the shipped news-trained model reads stance toward any named
    target); examples, and labels from 'tracker stance queue --label', adapt it to this target.

    \b
    Example:
        tracker targets add "Gwadar port" --alias Gwadar --alias "گوادر" --related "deep-sea port" \\
            --favor "Gwadar will make Balochistan prosper." \\
            --against "Gwadar's fishermen are losing their livelihoods." --db cpec.db
    """
    from tracker.pipeline.stance import add_target

    add_target(open_store(db_path), name, aliases=list(aliases), related=list(related), description=description,
               favor=list(favor), against=list(against))
    click.echo(f"target {name!r} saved; run 'tracker stance' to measure it")
