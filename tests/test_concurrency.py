"""Reviewers working while the pipeline runs: every action lands in the review log, none fails, the update
completes. Parallel CLI reviewers (separate processes) and two dashboard sessions, each while ``tracker update``
ingests new articles in another process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sample_store import make_sample_store

from tracker.store import Store

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "datasets" / "cpec" / "corpus"
INPUTS = ["jsonl", "rss", "csv", "text", "html"]


def _tracker() -> list[str]:
    script = Path(sys.executable).with_name("tracker")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from tracker.cli import main; main()"]


def _env(db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    return {**env, "TRACKER_DB": str(db), "TRACKER_EMBEDDING_MODEL": "hashing", "PYTHONWARNINGS": "ignore"}


class Updates(threading.Thread):
    """Runs ``tracker update`` on one corpus folder after another until told to stop (or out of folders)."""

    def __init__(self, db: Path) -> None:
        super().__init__(daemon=True)
        self.db = db
        self.stop = threading.Event()
        self.results: list[subprocess.CompletedProcess[str]] = []

    def run(self) -> None:
        for folder in INPUTS:
            self.results.append(subprocess.run(
                [*_tracker(), "update", str(CORPUS / folder), "--db", str(self.db)], env=_env(self.db),
                capture_output=True, text=True, timeout=600))
            if self.stop.is_set():
                return


@pytest.mark.slow
def test_parallel_cli_reviewers_while_an_update_runs(tmp_path: Path) -> None:
    db = tmp_path / "busy.db"
    make_sample_store(db).close()
    updates = Updates(db)
    updates.start()
    failures: list[str] = []

    def reviewer(name: str) -> None:
        for i in range(25):
            narrative = 1 + (i % 5)
            command = [["review", "status", str(narrative), ("in review", "reviewed")[i % 2]],
                       ["review", "rename", str(narrative), f"{name}'s label {i}"],
                       ["review", "lock", str(narrative)] + (["--unlock"] if i % 2 else []),
                       ["review", "verdict", str(narrative), "misleading", "--note", f"{name} {i}"]][i % 4]
            result = subprocess.run([*_tracker(), *command, "--reviewer", name, "--db", str(db)], env=_env(db),
                                    capture_output=True, text=True, timeout=300)
            if result.returncode != 0 or "Traceback" in result.stderr:
                failures.append(f"{name} {command}: {result.returncode} {result.stderr.strip()}")

    names = ["Reviewer A", "Reviewer B", "Reviewer C", "Reviewer D"]
    threads = [threading.Thread(target=reviewer, args=(n,)) for n in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    updates.stop.set()
    updates.join()
    assert not failures, failures
    assert updates.results and all(r.returncode == 0 for r in updates.results), [r.stderr for r in updates.results]
    rows = Store(db).db.execute("SELECT reviewer, count(*) FROM reviews WHERE reviewer IN (?, ?, ?, ?) "
                                "GROUP BY reviewer", names).fetchall()
    assert dict(rows) == {n: 25 for n in names}
    assert Store(db).db.execute("SELECT count(*) FROM articles").fetchone()[0] > 61  # the updates ingested


@pytest.mark.slow
def test_two_dashboard_sessions_review_while_an_update_runs(tmp_path: Path) -> None:
    db = tmp_path / "sessions.db"
    make_sample_store(db).close()
    updates = Updates(db)
    updates.start()
    sessions = [subprocess.Popen([sys.executable, str(ROOT / "tests" / "dashboard_reviewer.py"), name, "8"],
                                 env={**_env(db), "PYTHONPATH": str(ROOT / "tests")}, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
                for name in ("Session One", "Session Two")]
    outputs = [s.communicate(timeout=900) for s in sessions]
    updates.stop.set()
    updates.join()
    for session, (out, err) in zip(sessions, outputs):
        assert session.returncode == 0, err
        report = json.loads(out.strip().splitlines()[-1])
        assert report["errors"] == [] and report["confirmed"] == 8, report
    assert all(r.returncode == 0 for r in updates.results), [r.stderr for r in updates.results]
    rows = dict(Store(db).db.execute("SELECT reviewer, count(*) FROM reviews GROUP BY reviewer").fetchall())
    assert rows.get("Session One") == 8 and rows.get("Session Two") == 8
