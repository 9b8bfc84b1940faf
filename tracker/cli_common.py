"""Pieces every CLI module shares: the --db and --model options, error handling, opening the store."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from tracker import TrackerError, settings


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


def open_store(db_path: str | None, *, create: bool = True) -> Any:
    """The store at ``--db`` (default: the ``db`` setting); a missing file is an error unless ``create``."""
    from tracker.store import Store

    return Store(settings.get("db", db_path), create=create)
