"""tracker update on large stores: the full build, an incremental update of 1,000 articles, memory, store size and
dashboard time (a script that prints figures, not a test).

Usage::

    python tests/benchmarks/bench_scale.py --claims 200000 [--work DIR] [--dev ../shared/data/dev]
    python tests/benchmarks/bench_scale.py --claims 1000000 --work DIR

What it does:

1. A pool of real sentences: the sentences of the FNC-1 article bodies and headlines, NewsMTSC, the CheckThat!
   fact-checked claims and tweets, and the debate sentences of the dev files (those that claim extraction keeps
   whole), embedded once with all-MiniLM-L6-v2 and cached in the work folder.
2. Articles of 8 to 12 claims each from 60 outlets over 2015-2025. Each claim is a pool sentence drawn with
   Zipf-distributed frequency (so narratives have Zipf sizes: a few repeated thousands of times, many once; at a
   million claims the pool's sentences repeat more often than real news would, so there are fewer singletons), in
   one of many wordings (a dateline and a closing attribution around the real sentence). **Vectors come from the
   cache**: a wording's vector is its sentence's cached MiniLM vector plus a little noise seeded by the wording
   (a paraphrase-like cosine of about 0.93). Every other stage runs for real: ingest with near-duplicate
   detection, claim extraction, check-worthiness, clustering with lexical features, the membership planner,
   descriptions, themes, stance toward the shipped target.
3. The store is built with ``tracker.pipeline.update`` in batches of ``--batch`` claims (a store grows this way),
   timing each batch; then one more ``update`` of 1,000 new articles runs in a fresh process, timed, with its peak
   RSS; then every dashboard page is run with Streamlit's AppTest and timed (server time).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import resource
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DATELINES = ["", "", "", "ISLAMABAD - ", "BEIJING - ", "NEW DELHI - ", "LONDON - ", "WASHINGTON - ", "KARACHI - ",
             "GENEVA - ", "SINGAPORE - ", "BRUSSELS - ", "LAHORE - "]
CLOSINGS = ["", "", "", " officials said", " analysts say", " according to reports", " sources said",
            " the report said", " critics argue", " supporters say", " a spokesperson said", " experts warn",
            " it was reported", " observers note"]
OUTLETS = [f"Outlet {i:02d}" for i in range(60)]
NOISE = 0.35  # noise scale: cosine of a wording to its sentence is about 1 / sqrt(1 + 0.35^2 * 384 / 384) ~ 0.94
TARGET = "Donald Trump"  # named in about 1 in 80 pool sentences


def pool_sentences(dev: Path, limit: int) -> list[str]:
    """Real sentences from the dev files that claim extraction keeps whole (one sentence, a claim)."""
    from tracker.claims import extract_claims

    raw: list[str] = []
    bodies = {}
    for name in ("claim_stance_train.jsonl.gz", "claim_stance_dev.jsonl.gz"):
        with gzip.open(dev / name, "rt", encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                bodies[row["text"][:200]] = row["text"]
                raw.append(row["claim"])
    for body in bodies.values():
        raw += re.split(r"(?<=[.!?])\s+", body.replace("\n", " "))
    for name in ("news_stance_train.jsonl", "match_corpus.jsonl", "match_queries_dev.jsonl",
                 "checkworthy_debates_dev.jsonl", "checkworthy_claimbuster_dev.jsonl"):
        raw += [json.loads(line)["text"] for line in (dev / name).open(encoding="utf-8")]
    seen, out = set(), []
    for text in raw:
        text = " ".join(str(text).split())
        if not (40 <= len(text) <= 300) or not text.endswith(".") or text in seen:
            continue
        seen.add(text)
        found = extract_claims(1, "Intro line here.\n\n" + text + "\n\nOutro line here.", "en")
        if any(c.text == text for c in found):
            out.append(text)
        if len(out) >= limit:
            break
    return out


def embed_pool(sentences: list[str], cache: Path) -> np.ndarray:
    if cache.exists():
        with np.load(cache, allow_pickle=False) as data:
            if int(data["n"]) == len(sentences):
                return data["vectors"]
    from tracker.embed import get_embedder

    started = time.perf_counter()
    vectors = get_embedder("minilm").encode(sentences)
    print(f"pool: embedded {len(sentences):,} real sentences with all-MiniLM-L6-v2 in "
          f"{time.perf_counter() - started:.0f} s ({len(sentences) / (time.perf_counter() - started):.0f}/s)")
    np.savez(cache, vectors=vectors, n=len(sentences))
    return vectors


class PoolEmbedder:
    """all-MiniLM-L6-v2 vectors from the cache: a wording's vector is its pool sentence's plus seeded noise; any
    other text (training examples, target names) is embedded with the real model."""

    name = "all-MiniLM-L6-v2"
    dim = 384
    languages = frozenset({"en"})

    def __init__(self, sentences: list[str], vectors: np.ndarray) -> None:
        self.index = {s: i for i, s in enumerate(sentences)}
        self.vectors = vectors
        self.real = None
        self.lookups = self.computed = 0

    def _base(self, text: str) -> int | None:
        for dateline in DATELINES[3:]:
            if text.startswith(dateline):
                text = text[len(dateline):]
                break
        for closing in CLOSINGS[3:]:
            if text.endswith("," + closing + "."):
                text = text[: -len(closing) - 2] + "."
                break
        return self.index.get(text)

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        missing = []
        for i, text in enumerate(texts):
            base = self._base(text)
            if base is None:
                missing.append(i)
                continue
            rng = np.random.default_rng(zlib.crc32(text.encode("utf-8")))
            v = self.vectors[base] + NOISE / np.sqrt(self.dim) * rng.standard_normal(self.dim).astype(np.float32)
            out[i] = v / np.linalg.norm(v)
            self.lookups += 1
        if missing:
            from tracker.embed import get_embedder

            self.real = self.real or get_embedder("minilm")
            out[missing] = self.real.encode([texts[i] for i in missing])
            self.computed += len(missing)
        return out


def wording(sentence: str, rng: random.Random) -> str:
    dateline, closing = rng.choice(DATELINES), rng.choice(CLOSINGS)
    return dateline + (sentence[:-1] + "," + closing + "." if closing else sentence)


def write_articles(path: Path, n_claims: int, sentences: list[str], rng: random.Random, start_id: int,
                   zipf: float) -> int:
    """JSON Lines articles holding about ``n_claims`` claims; returns how many articles."""
    weights = 1.0 / np.arange(1, len(sentences) + 1) ** zipf
    weights /= weights.sum()
    picks = np.random.default_rng(rng.randrange(2**31)).choice(len(sentences), size=n_claims, p=weights)
    articles = 0
    with path.open("w", encoding="utf-8") as handle:
        position = 0
        while position < n_claims:
            size = rng.randint(8, 12)
            claims = [wording(sentences[i], rng) for i in picks[position:position + size]]
            position += size
            articles += 1
            day = rng.randint(0, 3900)
            handle.write(json.dumps({
                "id": f"a{start_id + articles}", "source": rng.choice(OUTLETS),
                "date": f"{2015 + day // 365}-{1 + (day % 365) // 31:02d}-{1 + day % 28:02d}",
                "title": f"Report {start_id + articles}", "text": "\n\n".join(claims)}) + "\n")
    return articles


def rss() -> float:
    """This process's peak RSS in MiB. VmHWM, not getrusage: Linux keeps ru_maxrss across fork and exec, so a fresh
    child started by a large process would report its parent's peak."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def increment(args: argparse.Namespace) -> None:
    """Run in a fresh process: one update of the prepared increment file; prints JSON figures."""
    from tracker.pipeline import update
    from tracker.store import Store

    sentences = json.loads((args.work / "pool.json").read_text(encoding="utf-8"))
    with np.load(args.work / "pool.npz", allow_pickle=False) as data:
        vectors = data["vectors"]
    embedder = PoolEmbedder(sentences, vectors)
    before = rss()
    store = Store(args.work / "scale.db")
    started = time.perf_counter()
    report = update(store, [str(args.work / "increment.jsonl")], embedder=embedder)
    elapsed = time.perf_counter() - started
    print(json.dumps({"seconds": elapsed, "peak_rss_mib": rss(), "rss_before_mib": before,
                      "stages": {r.stage: {**r.counts, "seconds": round(r.seconds or 0, 1)} for r in report.stages}},
                     default=str))


def dashboard(args: argparse.Namespace) -> None:
    """Run in a fresh process: every dashboard page once cold (caches empty) and once warm; prints JSON."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["TRACKER_DB"] = str(args.work / "scale.db")
    sys.argv = ["streamlit_app.py"]
    app = str(ROOT / "dashboards" / "streamlit_app.py")
    times = {}
    for page in ["overview", "queue", "narratives", "narrative", "stance", "sources", "search", "export"]:
        at = AppTest.from_file(app, default_timeout=600)
        if page != "overview":
            at.switch_page(f"app_pages/{page}.py")
        at.run()  # not counted: AppTest's first run scans every installed package for components (about 0.8 s)
        st.cache_data.clear()  # cold: nothing a page computed before is reused
        started = time.perf_counter()
        at.run()
        cold = time.perf_counter() - started
        started = time.perf_counter()
        at.run()
        times[page] = {"cold": round(cold, 2), "warm": round(time.perf_counter() - started, 2),
                       "exception": bool(at.exception)}
    print(json.dumps(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=50_000, help="claims per update while building")
    parser.add_argument("--pool", type=int, default=150_000, help="real sentences in the pool (at most)")
    parser.add_argument("--zipf", type=float, default=0.8, help="Zipf exponent of sentence frequencies")
    parser.add_argument("--work", type=Path, default=Path("bench-scale"))
    parser.add_argument("--dev", type=Path, default=ROOT.parent / "shared" / "data" / "dev")
    parser.add_argument("--step", choices=["all", "increment", "dashboard"], default="all", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.step == "increment":
        return increment(args)
    if args.step == "dashboard":
        return dashboard(args)

    from tracker.pipeline import update
    from tracker.pipeline.stance import add_target
    from tracker.store import Store

    print(f"bench_scale: {args.claims:,} claims in batches of {args.batch:,}; work folder {args.work}; "
          f"{os.cpu_count()} cores")
    pool_file = args.work / "pool.json"
    if pool_file.exists():
        sentences = json.loads(pool_file.read_text(encoding="utf-8"))
    else:
        sentences = pool_sentences(args.dev, args.pool)
        pool_file.write_text(json.dumps(sentences), encoding="utf-8")
    vectors = embed_pool(sentences, args.work / "pool.npz")
    rng = random.Random(0)
    rng.shuffle(sentences_order := list(range(len(sentences))))
    sentences = [sentences[i] for i in sentences_order]
    vectors = vectors[sentences_order]
    embedder = PoolEmbedder(sentences, vectors)
    print(f"pool: {len(sentences):,} real sentences (vectors from the cache, {NOISE} noise per wording)")

    db = args.work / "scale.db"
    for stale in args.work.glob("scale.db*"):
        stale.unlink()
    store = Store(db)
    # a stance target the pool's sentences name (about 1 in 80), so the stance stage and pages do real work
    add_target(store, TARGET, aliases=["Trump"], description="Donald Trump, the US politician and president")
    print(f"stance target: {TARGET}")
    built, articles, total = 0, 0, 0.0
    while built < args.claims:
        n = min(args.batch, args.claims - built)
        batch = args.work / "batch.jsonl"
        articles += write_articles(batch, n, sentences, rng, articles, args.zipf)
        started = time.perf_counter()
        report = update(store, [str(batch)], embedder=embedder)
        elapsed = time.perf_counter() - started
        total += elapsed
        built += n
        counts = {r.stage: r.counts for r in report.stages}
        print(f"  build {built:>9,} claims: batch {elapsed:7.1f} s ({1000 * elapsed / n:.2f} ms/claim), "
              f"narratives {counts['narratives'].get('created', 0):,} created, themes "
              f"{counts['themes'].get('themes')} ({'regrouped' if counts['themes'].get('regrouped') else 'attached'})"
              f", peak RSS so far {rss():,.0f} MiB", flush=True)
        print("    " + ", ".join(f"{r.stage} {r.seconds:.1f} s" for r in report.stages), flush=True)
    claims = store.db.execute("SELECT count(*) FROM claims").fetchone()[0]
    narratives = store.db.execute("SELECT count(*) FROM narratives WHERE status = 'active'").fetchone()[0]
    print(f"full build: {claims:,} claims, {articles:,} articles, {narratives:,} active narratives in {total:,.0f} s "
          f"({1000 * total / claims:.2f} ms per claim); vectors: {embedder.lookups:,} from the cache, "
          f"{embedder.computed:,} computed; build process peak RSS {rss():,.0f} MiB")
    store.close()
    write_articles(args.work / "increment.jsonl", 10_000, sentences, rng, articles + 1_000_000, args.zipf)
    lines = sum(1 for _ in (args.work / "increment.jsonl").open())
    result = subprocess.run([sys.executable, __file__, "--step", "increment", "--work", str(args.work)],
                            capture_output=True, text=True)
    if result.returncode:
        sys.exit(result.stderr)
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"incremental update of {lines:,} new articles into {claims:,} claims: {figures['seconds']:.1f} s, "
          f"peak RSS {figures['peak_rss_mib']:,.0f} MiB (fresh process)")
    for stage, counts in figures["stages"].items():
        print(f"    {stage}: {counts}")
    size = sum(p.stat().st_size for p in args.work.glob("scale.db*"))
    print(f"store size: {size / 2**30:.2f} GiB ({size / claims:,.0f} bytes per claim)")
    result = subprocess.run([sys.executable, __file__, "--step", "dashboard", "--work", str(args.work)],
                            capture_output=True, text=True)
    if result.returncode:
        print(f"dashboard timing failed: {result.stderr[-2000:]}")
    else:
        pages = json.loads(result.stdout.strip().splitlines()[-1])
        print("dashboard server time per page (AppTest run, cold caches / warm): " + ", ".join(
            f"{p} {t['cold']:.2f}/{t['warm']:.2f} s" + (" EXCEPTION" if t["exception"] else "")
            for p, t in pages.items()))


if __name__ == "__main__":
    main()
