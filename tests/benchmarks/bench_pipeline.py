"""Throughput of claim extraction and of the embedding stage against the bare model (a script, not a test).

Ingests the bundled CPEC corpus into a temporary store, then prints:
- claim extraction: articles/s and claims/s of ``run_claims`` (segmentation, boilerplate filter, claimant and
  attribution cues, check-worthiness scoring on sentence embeddings, and the writes), and without the scoring;
- embedding: sentences/s of the bare model (``embedder.encode`` on the distinct claim texts, batched as the
  stage batches them) and of ``run_embed`` on a fresh copy of the same claims (hashing, deduplication, batching,
  float32 blobs, writes), and the pipeline's overhead relative to the bare model.

Usage:
    python tests/benchmarks/bench_pipeline.py [--model minilm] [--repeat 2]
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="minilm", help="embedder: minilm, e5 or hashing")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs of each embedding measurement")
    args = parser.parse_args()

    from tracker import settings
    from tracker.db import open_db
    from tracker.embed import get_embedder
    from tracker.ingest import ingest, load_sources
    from tracker.pipeline import checkworthy_scorer, run_claims, run_embed

    db = open_db(":memory:")
    load_sources(db, str(ROOT / "datasets/cpec/sources.csv"))
    report = ingest(db, [str(ROOT / "datasets/cpec/corpus")])
    print(f"ingested: {report.summary()}")
    embedder = get_embedder(args.model)
    score = checkworthy_scorer(db, embedder)  # the model is fitted once, outside the timing
    started = time.perf_counter()
    result = run_claims(db, embedder, score=score)
    elapsed = time.perf_counter() - started
    articles, claims = result.counts["articles"], result.counts["claims"]
    print(f"claim extraction (check-worthiness embeds each sentence): {articles} articles, {claims} claims in "
          f"{elapsed:.2f} s = {articles / elapsed:.1f} articles/s, {claims / elapsed:.1f} claims/s")
    started = time.perf_counter()
    db.execute("DELETE FROM claims")
    db.execute("DELETE FROM meta WHERE key = 'claims.last_article_id'")
    run_claims(db, embedder, score=lambda sentences: [0.5] * len(sentences))
    elapsed = time.perf_counter() - started
    print(f"claim extraction without scoring: {claims / elapsed:.1f} claims/s")
    texts = [r[0] for r in db.execute("SELECT min(text) FROM claims GROUP BY text_hash ORDER BY min(id)")]
    batch = int(settings.get("batch_size"))
    embedder.encode(texts[:batch])  # load the model and warm up outside the timing
    bare, stage = [], []
    for _ in range(args.repeat):
        started = time.perf_counter()
        for i in range(0, len(texts), 256):
            embedder.encode(texts[i : i + 256])
        bare.append(time.perf_counter() - started)
        db.execute("DELETE FROM embeddings")
        started = time.perf_counter()
        run_embed(db, embedder, batch_size=256)
        stage.append(time.perf_counter() - started)
    bare_rate, stage_rate = len(texts) / min(bare), len(texts) / min(stage)
    print(f"embedding ({embedder.name}, {len(texts)} distinct claim texts, best of {args.repeat}):")
    print(f"  bare model   {bare_rate:8.1f} sentences/s")
    print(f"  run_embed    {stage_rate:8.1f} sentences/s  (overhead {100 * (1 - stage_rate / bare_rate):+.1f}%)")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
