"""``tracker dashboard`` and ``tracker review ...``: thin click wrappers over the dashboard and tracker.review.

Register in ``tracker/cli.py`` with ``cli.add_command(dashboard_command)`` and ``cli.add_command(review_group)``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from tracker import TrackerError, review, settings
from tracker.cli_common import db_option, friendly_errors, open_store

APP = Path(__file__).resolve().parent.parent / "dashboards" / "streamlit_app.py"


def dashboard_args(db_path: str, port: int | None = None, headless: bool = True) -> list[str]:
    """The ``streamlit run`` command line for the dashboard on ``db_path``."""
    args = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", str(headless).lower(),
            "--browser.gatherUsageStats", "false"]
    if port:
        args += ["--server.port", str(port)]
    return args + ["--", "--db", db_path]


@click.command("dashboard")
@db_option
@click.option("--port", type=int, default=None, help="Port to serve on (default: Streamlit's, 8501).")
@click.option("--headless/--browser", default=True, show_default=True,
              help="Headless: do not open a browser window.")
@friendly_errors
def dashboard_command(db_path: str | None, port: int | None, headless: bool) -> None:
    """Open the review and exploration dashboard (Streamlit) on a store.

    \b
    Example:
        tracker dashboard --db cpec.db --port 8502
    """
    path = str(Path(settings.get("db", db_path)).resolve())
    open_store(path, create=False)  # fail here, with one line, on a missing store
    if not APP.exists():
        raise TrackerError(f"{APP}: dashboard app not found (is the source checkout complete?)")
    env = dict(os.environ, TRACKER_DB=path)
    raise SystemExit(subprocess.call(dashboard_args(path, port, headless), env=env))


@click.group("review")
def review_group() -> None:
    """Reviewer actions from the command line (each one is logged under --reviewer).

    \b
    Example:
        tracker review rename 12 "CPEC is a debt trap" --reviewer Ayesha --db cpec.db
    """


def reviewer_option(func):  # noqa: ANN001, ANN201
    return click.option("--reviewer", required=True, envvar="TRACKER_REVIEWER",
                        help="Your name, recorded in the review log ($TRACKER_REVIEWER).")(func)


def note_option(func):  # noqa: ANN001, ANN201
    return click.option("--note", default=None, help="A note kept with the action.")(func)


@review_group.command("rename")
@click.argument("narrative_id", type=int)
@click.argument("label")
@reviewer_option
@note_option
@db_option
@friendly_errors
def rename_command(narrative_id: int, label: str, reviewer: str, note: str | None, db_path: str | None) -> None:
    """Rename a narrative; the label is kept on later re-clustering.

    \b
    Example:
        tracker review rename 12 "CPEC is a debt trap" --reviewer Ayesha
    """
    review.rename(open_store(db_path, create=False), narrative_id, label, reviewer=reviewer, note=note)
    click.echo(f"narrative {narrative_id} renamed")


@review_group.command("rename-theme")
@click.argument("theme_id", type=int)
@click.argument("label")
@reviewer_option
@note_option
@db_option
@friendly_errors
def rename_theme_command(theme_id: int, label: str, reviewer: str, note: str | None, db_path: str | None) -> None:
    """Rename a theme (a group of narratives); the label is kept while the theme lasts.

    \b
    Example:
        tracker review rename-theme 3 "Debt and repayments" --reviewer Ayesha
    """
    review.rename_theme(open_store(db_path, create=False), theme_id, label, reviewer=reviewer, note=note)
    click.echo(f"theme {theme_id} renamed")


@review_group.command("set-theme")
@click.argument("narrative_id", type=int)
@click.argument("theme")
@reviewer_option
@note_option
@db_option
@friendly_errors
def set_theme_command(narrative_id: int, theme: str, reviewer: str, note: str | None, db_path: str | None) -> None:
    """Put a narrative in theme THEME (an id, or 'none' for no theme); later regrouping leaves it there.

    \b
    Example:
        tracker review set-theme 12 3 --reviewer Ayesha
        tracker review set-theme 12 none --reviewer Ayesha
    """
    if theme.lower() != "none" and not theme.isdigit():
        raise click.BadParameter(f"{theme!r} is neither a theme id nor 'none'", param_hint="THEME")
    theme_id = None if theme.lower() == "none" else int(theme)
    review.set_theme(open_store(db_path, create=False), narrative_id, theme_id, reviewer=reviewer, note=note)
    click.echo(f"narrative {narrative_id} is now in " + (f"theme {theme_id}" if theme_id else "no theme"))


@review_group.command("verdict")
@click.argument("narrative_id", type=int)
@click.argument("verdict", type=click.Choice(review.VERDICTS))
@click.option("--url", default=None, help="Link to the published fact-check.")
@reviewer_option
@note_option
@db_option
@friendly_errors
def verdict_command(narrative_id: int, verdict: str, url: str | None, reviewer: str, note: str | None,
                    db_path: str | None) -> None:
    """Record a fact-check verdict on a narrative (marks it reviewed).

    \b
    Example:
        tracker review verdict 12 misleading --url https://example.org/fc/1 --note "..." --reviewer Ayesha
    """
    review.set_verdict(open_store(db_path, create=False), narrative_id, verdict, reviewer=reviewer, note=note,
                       url=url)
    click.echo(f"narrative {narrative_id}: verdict {verdict}")


@review_group.command("merge")
@click.argument("source_ids", type=int, nargs=-1, required=True)
@click.option("--into", "into_id", type=int, required=True, help="Narrative that receives the claims.")
@reviewer_option
@note_option
@db_option
@friendly_errors
def merge_command(source_ids: tuple[int, ...], into_id: int, reviewer: str, note: str | None,
                  db_path: str | None) -> None:
    """Merge narratives into another one.

    \b
    Example:
        tracker review merge 14 15 --into 12 --reviewer Ayesha
    """
    db = open_store(db_path, create=False)
    moved = review.merge(db, list(source_ids), into_id, reviewer=reviewer, note=note)
    click.echo(f"merged {len(source_ids)} narrative(s), {moved} claims, into {into_id}")


@review_group.command("split")
@click.argument("narrative_id", type=int)
@click.argument("claim_ids", type=int, nargs=-1, required=True)
@click.option("--label", required=True, help="Label of the new narrative.")
@reviewer_option
@note_option
@db_option
@friendly_errors
def split_command(narrative_id: int, claim_ids: tuple[int, ...], label: str, reviewer: str, note: str | None,
                  db_path: str | None) -> None:
    """Split claims off a narrative into a new one.

    \b
    Example:
        tracker review split 12 301 302 --label "Gwadar debt swap" --reviewer Ayesha
    """
    new = review.split(open_store(db_path, create=False), narrative_id, list(claim_ids), label,
                       reviewer=reviewer, note=note)
    click.echo(f"new narrative {new}")


@review_group.command("move")
@click.argument("claim_id", type=int)
@click.argument("to_narrative_id", type=int)
@reviewer_option
@note_option
@db_option
@friendly_errors
def move_command(claim_id: int, to_narrative_id: int, reviewer: str, note: str | None,
                 db_path: str | None) -> None:
    """Move a claim to another narrative (pinned there).

    \b
    Example:
        tracker review move 301 14 --reviewer Ayesha
    """
    review.move(open_store(db_path, create=False), claim_id, to_narrative_id, reviewer=reviewer, note=note)
    click.echo(f"claim {claim_id} moved to {to_narrative_id}")


@review_group.command("exclude")
@click.argument("claim_id", type=int)
@click.argument("narrative_id", type=int)
@reviewer_option
@note_option
@db_option
@friendly_errors
def exclude_command(claim_id: int, narrative_id: int, reviewer: str, note: str | None,
                    db_path: str | None) -> None:
    """Take a claim out of a narrative it does not belong to (the model never puts it back).

    \b
    Example:
        tracker review exclude 301 12 --reviewer Ayesha
    """
    review.exclude(open_store(db_path, create=False), claim_id, narrative_id, reviewer=reviewer, note=note)
    click.echo(f"claim {claim_id} excluded from {narrative_id}")


@review_group.command("lock")
@click.argument("narrative_id", type=int)
@click.option("--unlock", is_flag=True, help="Unlock instead.")
@reviewer_option
@db_option
@friendly_errors
def lock_command(narrative_id: int, unlock: bool, reviewer: str, db_path: str | None) -> None:
    """Lock a narrative against model changes (or unlock it).

    \b
    Example:
        tracker review lock 12 --reviewer Ayesha
    """
    review.set_locked(open_store(db_path, create=False), narrative_id, not unlock, reviewer=reviewer)
    click.echo(f"narrative {narrative_id} {'unlocked' if unlock else 'locked'}")


@review_group.command("status")
@click.argument("narrative_id", type=int)
@click.argument("status", type=click.Choice(review.REVIEW_STATUSES))
@reviewer_option
@db_option
@friendly_errors
def status_command(narrative_id: int, status: str, reviewer: str, db_path: str | None) -> None:
    """Set a narrative's review status.

    \b
    Example:
        tracker review status 12 "in review" --reviewer Ayesha
    """
    review.set_review_status(open_store(db_path, create=False), narrative_id, status, reviewer=reviewer)
    click.echo(f"narrative {narrative_id}: {status}")


@review_group.command("stance")
@click.argument("subject", type=click.Choice(["claim", "article"]))
@click.argument("subject_id", type=int)
@click.argument("label", type=click.Choice(review.TARGET_LABELS))
@click.option("--target", default=None, help="Target name (default: the default_target setting).")
@reviewer_option
@db_option
@friendly_errors
def stance_command(subject: str, subject_id: int, label: str, target: str | None, reviewer: str,
                   db_path: str | None) -> None:
    """Correct the stance of a claim or article toward a target (kept as a training label).

    \b
    Example:
        tracker review stance claim 301 against --target CPEC --reviewer Ayesha
    """
    target = target or str(settings.get("default_target"))
    review.correct_stance(open_store(db_path, create=False), subject, subject_id, target, label, reviewer=reviewer)
    click.echo(f"{subject} {subject_id}: {label} toward {target}")


@review_group.command("flags")
@click.option("--narrative", "narrative_id", type=int, default=None, help="Only flags on this narrative.")
@db_option
@friendly_errors
def flags_command(narrative_id: int | None, db_path: str | None) -> None:
    """List what the model asks a reviewer to look at: merges it did not make because the verdicts differ
    (merge-proposed), verdicts a split part inherited (verdict-inherited).

    \b
    Example:
        tracker review flags --db cpec.db
        tracker review resolve-flag 3 --reviewer Ayesha --db cpec.db
    """
    from tracker.store import narratives as store_narratives

    found = store_narratives.flags(open_store(db_path, create=False).db, narrative_id)
    if not found:
        click.echo("no open flags")
    for flag in found:
        other = f" and #{flag['other_id']} {flag['other_label'] or ''}" if flag["other_id"] else ""
        click.echo(f"flag {flag['id']}: {flag['kind']} on #{flag['narrative_id']} {flag['narrative_label'] or ''}"
                   f"{other} ({flag['created_at']}) {flag['detail']}")


@review_group.command("resolve-flag")
@click.argument("flag_id", type=int)
@reviewer_option
@note_option
@db_option
@friendly_errors
def resolve_flag_command(flag_id: int, reviewer: str, note: str | None, db_path: str | None) -> None:
    """Close a flag after looking at it (merge the pair with 'review merge' first if they belong together).

    \b
    Example:
        tracker review resolve-flag 3 --note "different claims" --reviewer Ayesha
    """
    review.resolve_flag(open_store(db_path, create=False), flag_id, reviewer=reviewer, note=note)
    click.echo(f"flag {flag_id} resolved")

