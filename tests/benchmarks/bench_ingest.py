"""Ingestion throughput: articles per second for JSON Lines, CSV and seed-style text files, and peak memory.

Generates N articles (200-600 words each, about 5% of them lightly edited copies of earlier ones from another
outlet, as syndicated wire stories are), writes them in each format, and ingests each format into a fresh
temporary store with the library's ``ingest`` (what ``tracker ingest`` runs, minus the progress bar).

Usage:
    python tests/benchmarks/bench_ingest.py            # 5,000 articles
    python tests/benchmarks/bench_ingest.py -n 1000 --formats jsonl,csv
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tracker.ingest import IngestOptions, ingest  # noqa: E402
from tracker.store import Store  # noqa: E402

OUTLETS = ["Daily Ledger", "Frontier Post", "Islamabad Herald", "Wire Desk", "Karachi Chronicle", "Gwadar Times",
           "Business Recorder", "The Observer"]
FUNCTION_WORDS = ("the of and to in a that for on is was with said by as at from it its has have be will are "
                  "not which their this an but after over had were also would more than".split())
CONTENT_WORDS = (
    "minister government corridor project loan power plant port road railway zone industry farmers workers "
    "officials talks agreement security debt budget trade exports imports investment energy water river city "
    "province parliament opposition court election report survey study prices market growth jobs schools "
    "hospital villages protest police army border visit summit delegation committee commission bank fund "
    "company contract tender audit inquiry statement interview spokesman analyst critic resident teacher "
    "Islamabad Beijing Gwadar Karachi Lahore Peshawar Quetta Balochistan Punjab Sindh China Pakistan CPEC "
    "tariff electricity coal solar hydropower dam highway motorway airport fisheries cotton wheat rice "
    "inflation currency reserves deficit lenders bonds interest repayment subsidy tax revenue customs "
    "engineers labourers contractors consultants investors traders exporters importers shipping containers "
    "cargo vessels terminal berth dredging expansion upgrade construction completion delay cost overrun "
    "transparency accountability corruption allegations evidence documents sources briefing negotiations "
    "cooperation partnership friendship strategic regional connectivity development prosperity stability "
    "attack blast militants kidnapping guards checkpoint convoy curfew operation arrests investigation "
    "students graduates scholarships training skills technology telecom fibre satellite data digital "
    "weekly monthly annual quarterly billion million percent increase decrease rise fall record forecast"
).split()


def _zipf_weights(n: int) -> list[float]:
    return [1.0 / (rank + 1) ** 0.8 for rank in range(n)]


_CONTENT_WEIGHTS = _zipf_weights(len(CONTENT_WORDS))


def sentence(rng: random.Random) -> str:
    """12-28 words alternating function and content words, content words Zipf-distributed, like news prose."""
    words = []
    for i in range(rng.randint(12, 28)):
        if i % 2 == 0 and rng.random() < 0.7:
            words.append(rng.choice(FUNCTION_WORDS))
        else:
            word = rng.choices(CONTENT_WORDS, _CONTENT_WEIGHTS)[0]
            words.append(word if rng.random() > 0.1 else str(rng.randint(2, 900)))
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def article_text(rng: random.Random, words: int) -> str:
    paragraphs, total = [], 0
    while total < words:
        paragraph = " ".join(sentence(rng) for _ in range(rng.randint(2, 4)))
        paragraphs.append(paragraph)
        total += len(paragraph.split())
    return "\n\n".join(paragraphs)


def edited(rng: random.Random, text: str) -> str:
    """A syndicated copy: one paragraph dropped or changed, a credit line added."""
    paragraphs = text.split("\n\n")
    if len(paragraphs) > 3:
        del paragraphs[rng.randrange(1, len(paragraphs))]
    paragraphs[0] = "Officials told reporters on Monday. " + paragraphs[0]
    return "\n\n".join(paragraphs + ["This story was first published by Wire Desk."])


def generate(n: int, seed: int = 42) -> list[dict]:
    rng = random.Random(seed)
    start = dt.date(2023, 1, 1)
    records: list[dict] = []
    for i in range(n):
        outlet = rng.choice(OUTLETS)
        if records and rng.random() < 0.05:
            original = rng.choice(records)
            text = edited(rng, original["text"])
            outlet = rng.choice([o for o in OUTLETS if o != original["source"]])
        else:
            text = article_text(rng, rng.randint(200, 600))
        date = start + dt.timedelta(days=rng.randrange(500))
        records.append({"id": f"a{i}", "title": f"{sentence(rng)[:60].rstrip('.')} (report {i})",
                        "source": outlet, "date": date.isoformat(), "text": text})
    return records


def write_jsonl(records: list[dict], folder: Path) -> list[str]:
    path = folder / "articles.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return [str(path)]


def write_csv(records: list[dict], folder: Path) -> list[str]:
    path = folder / "articles.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["id", "title", "source", "date", "text"])
        writer.writeheader()
        writer.writerows(records)
    return [str(path)]


def write_text(records: list[dict], folder: Path) -> list[str]:
    """One file per article in the seed's layout: date line, title twice, "Outlet: " dateline, paragraphs."""
    out = folder / "text"
    out.mkdir()
    for r in records:
        date = dt.date.fromisoformat(r["date"]).strftime("%B, %d, %Y")
        (out / f"{r['id']}.txt").write_text(
            f"{date}\n{r['title']}\n\n{r['title']}\n\n{r['source']}: {r['text']}\n", encoding="utf-8")
    return [str(out)]


WRITERS = {"jsonl": write_jsonl, "csv": write_csv, "text": write_text}


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=5000, help="articles to generate (default 5000)")
    parser.add_argument("--formats", default="jsonl,csv,text", help="comma-separated: jsonl, csv, text")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    records = generate(args.n, args.seed)
    words = sum(len(r["text"].split()) for r in records)
    print(f"{args.n} articles, {words / args.n:.0f} words on average; peak RSS after generating: "
          f"{peak_rss_mib():.0f} MiB")
    total_articles, total_seconds, total_cpu = 0, 0.0, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        # warm up: load the language model and readers once, so the first format does not pay for it
        warm = Path(tmp) / "warm.jsonl"
        write_jsonl(records[:5], Path(tmp))
        (Path(tmp) / "articles.jsonl").rename(warm)
        ingest(Store(":memory:"), [str(warm)], IngestOptions())
        for fmt in args.formats.split(","):
            folder = Path(tmp) / fmt
            folder.mkdir()
            paths = WRITERS[fmt](records, folder)
            db = Store(folder / "store.db")
            started, cpu_started = time.perf_counter(), time.process_time()
            report = ingest(db, paths, IngestOptions())
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            db.close()
            if report.rejected or report.stored + report.duplicates != args.n:
                print(f"{fmt}: unexpected report: {report.summary()}", file=sys.stderr)
                return 1
            total_articles += args.n
            total_seconds += seconds
            total_cpu += cpu
            print(f"{fmt:>6}: {args.n / seconds:8.1f} articles/s wall, {args.n / cpu:8.1f} per CPU second "
                  f"({seconds:.1f} s wall, {cpu:.1f} s CPU; stored {report.stored}, near-duplicates linked "
                  f"{report.near_duplicates}); peak RSS so far {peak_rss_mib():.0f} MiB", flush=True)
    print(f"overall: {total_articles / total_seconds:.1f} articles/s wall, {total_articles / total_cpu:.1f} per "
          f"CPU second, over {total_articles} articles; peak RSS {peak_rss_mib():.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
