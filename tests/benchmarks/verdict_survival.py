"""Do reviewers' verdicts survive what the model does? The issue's measurement, on the real embedding model.

Usage::

    python tests/benchmarks/verdict_survival.py [--work DIR] [--low 0.25] [--high 0.7]

Builds a store from the bundled CPEC corpus without its plain-text folder (``tracker update``, the configured
embedding model), gives verdicts to its 15 largest narratives (five verdicts in turn), then rebuilds the narratives
with a much lower cluster threshold (the model merges), again with a much higher one (it splits), and finally runs
``tracker update`` with the held-back articles at the default threshold. It prints how many of the claims that sat
in a verdicted narrative still sit in a narrative showing that same verdict, and what the model flagged for review.
Everything runs through the CLI, as a user would.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "datasets" / "cpec" / "corpus"
VERDICTS = ["false", "misleading", "accurate", "unproven", "mixed"]


def tracker(*args: str, threshold: float | None = None) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TRACKER_CLUSTER_THRESHOLD"}
    if threshold is not None:
        env["TRACKER_CLUSTER_THRESHOLD"] = str(threshold)
    script = Path(sys.executable).with_name("tracker")
    started = time.monotonic()
    result = subprocess.run([str(script), *args], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"tracker {' '.join(args)} failed:\n{result.stderr}")
    lines = [line for line in result.stdout.splitlines() if line.startswith(("narratives", "ingest"))]
    print(f"  tracker {args[0]} {' '.join(a for a in args[1:] if a.startswith('--r'))}"
          f"{f' (threshold {threshold})' if threshold else ''}: {time.monotonic() - started:.0f} s; "
          + " | ".join(lines))


def verdicted_claims(db: Path) -> dict[int, str]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute(
            "SELECT nc.claim_id, n.verdict FROM narrative_claims nc JOIN narratives n ON n.id = nc.narrative_id "
            "WHERE n.verdict IS NOT NULL AND n.status = 'active'"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=None, help="Folder for the store (default: a temporary one).")
    parser.add_argument("--low", type=float, default=0.25, help="Merge-prone cluster threshold.")
    parser.add_argument("--high", type=float, default=0.7, help="Split-prone cluster threshold.")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="verdicts-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "verdicts.db"
    for stale in work.glob("verdicts.db*"):
        stale.unlink()
    first = [str(CORPUS / d) for d in ("jsonl", "rss", "csv", "html", "seed")]
    print(f"store {db}")
    tracker("update", *first, "--sources", str(ROOT / "datasets/cpec/sources.csv"), "--db", str(db))
    with sqlite3.connect(db) as conn:
        largest = [r[0] for r in conn.execute(
            "SELECT id FROM narratives WHERE status = 'active' ORDER BY size DESC, id LIMIT 15")]
    for i, narrative in enumerate(largest):
        tracker("review", "verdict", str(narrative), VERDICTS[i % len(VERDICTS)], "--reviewer", "Benchmark",
                "--db", str(db))
    before = verdicted_claims(db)
    print(f"verdicts on the 15 largest narratives: {len(before)} claims in them")
    tracker("narratives", "--rebuild", "--db", str(db), threshold=args.low)
    tracker("narratives", "--rebuild", "--db", str(db), threshold=args.high)
    held_back = work / "held_back"
    shutil.rmtree(held_back, ignore_errors=True)
    shutil.copytree(CORPUS / "text", held_back)
    tracker("update", str(held_back), "--sources", str(ROOT / "datasets/cpec/sources.csv"), "--db", str(db))
    after = verdicted_claims(db)
    kept = sum(1 for claim, verdict in before.items() if after.get(claim) == verdict)
    with sqlite3.connect(db) as conn:
        flags = conn.execute("SELECT kind, count(*) FROM narrative_flags GROUP BY kind").fetchall()
        new = conn.execute("SELECT count(*) FROM narrative_claims nc JOIN narratives n ON n.id = nc.narrative_id "
                           "WHERE n.verdict IS NOT NULL AND nc.assigned_at > n.verdict_at").fetchone()[0]
    print(f"claims that sat in a verdicted narrative and still show that verdict: {kept} of {len(before)} "
          f"({100 * kept / max(len(before), 1):.1f}%)")
    print(f"claims in verdicted narratives now: {len(after)}, of them new since the verdict: {new}")
    print("flags for reviewers: " + (", ".join(f"{k} {n}" for k, n in flags) or "none"))


if __name__ == "__main__":
    main()
