"""Server-side render time of every dashboard page on a large synthetic store (target: < 1 s per page).

Builds (or reuses, with ``--db``) a store with ~200k claims, ~20k articles, ~100 outlets, ~2k narratives and
stances, then runs each page with ``streamlit.testing.v1.AppTest``: cold (query cache cleared, the first run of
the page) and warm (the page run again, query results cached). Prints one line per page and the query times.

    python tests/benchmarks/bench_dashboard.py --db /tmp/bench.db
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "dashboards" / "streamlit_app.py"
PAGES = ["overview", "narratives", "narrative", "stance", "sources", "search", "export"]
WORDS = ("cpec corridor loans debt gwadar port power plant jobs growth security attack workers contracts secret "
         "transparency coal emissions water baloch province china pakistan minister officials report project "
         "road railway zone investment tariff energy").split()


def build(path: str, n_articles: int = 20_000, n_sources: int = 100, n_narratives: int = 2_000,
          claims_per_article: int = 10, seed: int = 0) -> None:
    """Write a synthetic store of realistic shape to ``path`` (which must not exist)."""
    from tracker.db import open_db, vector_to_blob

    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    db = open_db(path)
    now = "2025-06-01T00:00:00+00:00"
    countries = ["PK", "CN", "IN", "US", "GB", "AE", "BD", "AF"]
    start = dt.date(2015, 1, 1)
    days = (dt.date(2025, 5, 31) - start).days
    # narrative sizes follow a Zipf-like law: a few big narratives, a long tail
    weights = 1 / np.arange(1, n_narratives + 1) ** 0.9
    weights /= weights.sum()
    with db.atomic():
        db.execute("INSERT INTO targets(id, name, aliases) VALUES (1, 'CPEC', '[]')")
        db.conn.executemany(
            "INSERT INTO sources(id, name, domain, country, language, kind) VALUES (?,?,?,?,?,?)",
            [(i, f"Outlet {i:03d}", f"outlet{i}.example", countries[i % len(countries)], "en", "news")
             for i in range(1, n_sources + 1)])
        articles, claims, members, stances, nstances = [], [], [], [], []
        claim_id = 0
        for a in range(1, n_articles + 1):
            sentences = [" ".join(rng.choices(WORDS, k=rng.randint(8, 20))).capitalize() + "."
                         for _ in range(claims_per_article + 3)]
            text = " ".join(sentences)
            published = (start + dt.timedelta(days=int(days * rng.random() ** 0.7))).isoformat()
            dup = a - 1 if a > 1 and rng.random() < 0.05 else None
            articles.append((a, rng.randint(1, n_sources), f"https://x.example/{a}", f"Article {a}", published,
                             "en", text, hashlib.sha256(f"{a}".encode()).hexdigest(), dup, now))
            pos = 0
            for idx, sentence in enumerate(sentences[:claims_per_article]):
                begin = text.index(sentence, pos)
                pos = begin + len(sentence)
                claim_id += 1
                digest = hashlib.sha256(sentence.encode()).hexdigest()
                attribution = rng.choice(["assert", "assert", "report", "refute"])
                claims.append((claim_id, a, idx, begin, pos, sentence, digest, "the outlet", attribution,
                               rng.random()))
                label = rng.choice(["favor", "against", "none"])
                stances.append(("claim", claim_id, 1, label, 0.7, "bench"))
                if rng.random() < 0.8:
                    nid = int(nprng.choice(n_narratives, p=weights)) + 1
                    members.append((claim_id, nid, 0.7, "model", now))
                    nstances.append((claim_id, nid, rng.choice(["agree", "agree", "discuss", "disagree"]), 0.7,
                                     "bench"))
            stances.append(("article", a, 1, rng.choice(["favor", "against", "none"]), 0.7, "bench"))
        db.conn.executemany(
            "INSERT INTO articles(id, source_id, url, title, published, language, text, content_hash, "
            "duplicate_of, ingested_at) VALUES (?,?,?,?,?,?,?,?,?,?)", articles)
        db.conn.executemany(
            "INSERT INTO claims(id, article_id, idx, start, end, text, text_hash, claimant, attribution, "
            "checkworthy) VALUES (?,?,?,?,?,?,?,?,?,?)", claims)
        db.conn.executemany(
            "INSERT INTO narratives(id, label, keywords, created_at, updated_at, centroid) VALUES (?,?,?,?,?,?)",
            [(n, f"Narrative {n}: " + " ".join(rng.choices(WORDS, k=5)), json.dumps(rng.choices(WORDS, k=4)), now,
              now, vector_to_blob(nprng.standard_normal(384).astype(np.float32)))
             for n in range(1, n_narratives + 1)])
        db.conn.executemany("INSERT INTO narrative_claims VALUES (?,?,?,?,?)", members)
        db.conn.executemany("INSERT INTO stances(subject, subject_id, target_id, label, score, model) "
                            "VALUES (?,?,?,?,?,?)", stances)
        db.conn.executemany("INSERT INTO narrative_stances(claim_id, narrative_id, label, score, model) "
                            "VALUES (?,?,?,?,?)", nstances)
    # derived columns in one pass of SQL (refresh_narrative per narrative would also work, only slower)
    with db.atomic():
        db.execute("""
            UPDATE narratives SET (size, n_articles, n_sources, first_seen, last_seen) = (
                SELECT count(*), count(DISTINCT coalesce(a.duplicate_of, a.id)), count(DISTINCT a.source_id),
                       min(a.published), max(a.published)
                FROM narrative_claims nc JOIN claims c ON c.id = nc.claim_id JOIN articles a ON a.id = c.article_id
                WHERE nc.narrative_id = narratives.id)""")
        db.execute("""
            UPDATE narratives SET first_source_id = (
                SELECT a.source_id FROM narrative_claims nc JOIN claims c ON c.id = nc.claim_id
                JOIN articles a ON a.id = c.article_id WHERE nc.narrative_id = narratives.id
                ORDER BY a.published LIMIT 1),
              central_claim_id = (
                SELECT min(claim_id) FROM narrative_claims WHERE narrative_id = narratives.id)""")
        db.execute("UPDATE narratives SET verdict = 'misleading', verdict_by = 'bench', verdict_at = ?, "
                   "review_status = 'reviewed' WHERE id % 50 = 1", [now])
    db.execute("ANALYZE")
    db.conn.close()


def time_pages(path: str, repeats: int = 2) -> list[tuple[str, float, float]]:
    """(page, cold seconds, best warm seconds) for each page, rendered server-side with AppTest."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["TRACKER_DB"] = path
    sys.argv = [str(APP)]
    results = []
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()  # imports, connection
    for page in PAGES:
        st.cache_data.clear()
        at.switch_page(f"app_pages/{page}.py")
        t0 = time.perf_counter()
        at.run()
        cold = time.perf_counter() - t0
        if at.exception:
            raise SystemExit(f"{page}: {at.exception[0].message}")
        warm = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            at.run()
            warm.append(time.perf_counter() - t0)
        results.append((page, cold, min(warm)))
    return results


def time_queries(path: str) -> list[tuple[str, float]]:
    """Seconds of each heavy query, called directly."""
    from tracker import queries
    from tracker.db import open_db

    db = open_db(path, create=False)
    top = queries.narrative_choices(db)[0][0]
    calls = {
        "store_status": lambda: queries.store_status(db),
        "articles_per_week": lambda: queries.articles_per_week(db),
        "narratives_table": lambda: queries.narratives_table(db),
        "stance_timeline M": lambda: queries.stance_timeline(db, freq="M"),
        "stance_timeline W by source": lambda: queries.stance_timeline(db, freq="W", by="source"),
        "stance_timeline M claims, all narratives": lambda: queries.stance_timeline(
            db, freq="M", subject="claim", by="narrative"),
        "stance_timeline M claims, top 10 narratives": lambda: queries.stance_timeline(
            db, freq="M", subject="claim", by="narrative",
            narratives=[i for i, _ in queries.narrative_choices(db)[:10]]),
        "narrative_claims (largest, one page)": lambda: queries.narrative_claims(db, top, limit=500),
        "narrative_claims (largest)": lambda: queries.narrative_claims(db, top),
        "related_narratives": lambda: queries.related_narratives(db, top),
        "sources_table": lambda: queries.sources_table(db),
    }
    out = []
    for name, call in calls.items():
        t0 = time.perf_counter()
        call()
        out.append((name, time.perf_counter() - t0))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="/tmp/tracker-bench.db", help="store to build or reuse")
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--rebuild", action="store_true", help="delete and rebuild the store")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.rebuild:
        for suffix in ("", "-wal", "-shm"):
            Path(args.db + suffix).unlink(missing_ok=True)
    if not Path(args.db).exists():
        t0 = time.perf_counter()
        build(args.db, n_articles=args.articles)
        print(f"built {args.db} in {time.perf_counter() - t0:.1f} s")
    from tracker.db import open_db
    from tracker.queries import store_status

    db = open_db(args.db, create=False)
    status = store_status(db)
    db.conn.close()
    print("store:", ", ".join(f"{k}={status[k]}" for k in ("articles", "sources", "claims", "narratives_active",
                                                            "clustered_claims", "stances")))
    print("\nquery (cold connection)                        seconds")
    for name, secs in time_queries(args.db):
        print(f"{name:<46} {secs:8.3f}")
    print("\npage          cold (s)  warm (s)  target < 1 s")
    for page, cold, warm in time_pages(args.db):
        print(f"{page:<12} {cold:9.3f} {warm:9.3f}  {'ok' if cold < 1 and warm < 1 else 'SLOW'}")


if __name__ == "__main__":
    main()
