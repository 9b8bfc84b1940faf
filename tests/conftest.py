"""Shared fixtures: a fresh store (in memory or on disk), the model-free embedder, and a CLI runner."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result


@pytest.fixture
def store() -> Iterator:  # tracker.store.Store
    """A fresh, migrated in-memory store."""
    from tracker.store import Store

    opened = Store(":memory:")
    yield opened
    opened.close()


@pytest.fixture
def tmp_store(tmp_path: Path) -> str:
    """Path of a not-yet-created store file in a fresh temporary folder."""
    return str(tmp_path / "store.db")


@pytest.fixture
def hashing_embedder():  # noqa: ANN201 - tracker.embed.HashingEmbedder
    """The deterministic, model-free embedder."""
    from tracker.embed import get_embedder

    return get_embedder("hashing")


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run ``tracker ARGS...`` in-process; returns click's Result (``exit_code``, ``stdout``, ``stderr``).

    Keyword arguments go to ``CliRunner.invoke`` (``input=``, ``env=``). ``TRACKER_*`` variables from the outer
    environment are cleared so settings come from defaults unless a test sets them.
    """
    import os

    for name in list(os.environ):
        if name.startswith("TRACKER_"):
            monkeypatch.delenv(name)

    def run(*args: str, **kwargs) -> Result:  # noqa: ANN003
        from tracker.cli import cli

        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False, **kwargs)

    return run
