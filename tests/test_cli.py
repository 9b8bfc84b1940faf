"""The command line: every command has help with an example, the version, status, and documented settings."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from tracker import __version__
from tracker.cli import cli
from tracker.settings import SETTINGS

README = Path(__file__).resolve().parent.parent / "README.md"
SEED = Path(__file__).resolve().parent.parent / "datasets" / "cpec" / "corpus" / "seed" / "000_990483746a5582d2.txt"


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, command in sorted(group.commands.items()):
        out.append((*prefix, name))
        if isinstance(command, click.Group):
            out.extend(_commands(command, (*prefix, name)))
    return out


def test_commands_are_registered():
    assert {("ingest",), ("status",)} <= set(_commands(cli))


@pytest.mark.parametrize("path", [(), *_commands(cli)], ids=lambda p: " ".join(p) or "tracker")
def test_every_command_has_help_with_an_example(run_cli, path):
    result = run_cli(*path, "--help")
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output


def test_version(run_cli):
    result = run_cli("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"tracker, version {__version__}"


def test_status_on_a_fresh_store(run_cli, tmp_store):
    from tracker.store import Store

    Store(tmp_store).close()
    result = run_cli("status", "--db", tmp_store)
    assert result.exit_code == 0, result.output
    lines = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in result.stdout.splitlines())}
    assert lines["articles"] == "0"
    assert lines["first"] == "None"
    result = run_cli("status", "--db", tmp_store, "--format", "json")
    assert result.exit_code == 0
    import json

    assert json.loads(result.stdout)["articles"] == 0


def test_status_after_ingest(run_cli, tmp_store):
    assert run_cli("ingest", str(SEED), "--db", tmp_store).exit_code == 0
    result = run_cli("status", "--db", tmp_store, "--format", "json")
    import json

    status = json.loads(result.stdout)
    assert (status["articles"], status["sources"], status["first"], status["last"]) == (
        1, 1, "2024-02-22", "2024-02-22")


def test_status_on_a_missing_store_is_one_line(run_cli, tmp_store):
    result = run_cli("status", "--db", tmp_store)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"Error: {tmp_store}: no such store (run 'tracker ingest' first)"


def test_db_setting_from_environment(run_cli, tmp_store):
    result = run_cli("ingest", str(SEED), env={"TRACKER_DB": tmp_store})
    assert result.exit_code == 0, result.output
    assert Path(tmp_store).exists()


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_has_help(setting):
    assert setting.help.strip()
    assert setting.env == "TRACKER_" + setting.name.upper()


@pytest.mark.skipif(not README.exists(), reason="README.md does not exist yet")
@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_documented(setting):
    text = README.read_text(encoding="utf-8")
    assert setting.name in text or setting.env in text
