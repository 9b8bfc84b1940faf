"""Active learning on the CPEC corpus: macro-F1 on the reporting half after N labels chosen from the tuning half.

A simulated reviewer answers with the corpus's gold CPEC stance of each claim the queue offers (only claims of
tuning-half articles are offered, so no reporting-half label is ever learned from). After each batch the target's
adapter is refitted and every claim rescored exactly as 'tracker stance queue --label' does; then claim-level and
article-level macro-F1 are measured on the reporting half. Two strategies: the queue's (uncertain and diverse)
and random sampling.

Usage::

    python tests/benchmarks/stance_learning_curve.py --db STORE [--build] [--steps 0,50,100,200,400]

STORE is a store built from the bundled corpus ('tracker update datasets/cpec/corpus --sources
datasets/cpec/sources.csv'); ``--build`` creates it. The store itself is never changed: each strategy works on
a copy.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import cpec_groundtruth as gt  # noqa: E402

from tracker import review, settings  # noqa: E402
from tracker.embed import get_embedder  # noqa: E402
from tracker.metrics import macro_f1  # noqa: E402
from tracker.pipeline.stance import refit, stance_queue  # noqa: E402
from tracker.store import Store  # noqa: E402

STANCES = ["favor", "against", "none"]


def gold_claims(path: str, half: str) -> tuple[dict[int, str], dict[int, str]]:
    """(claim id -> gold stance, article id -> gold stance) of one half of the corpus labels."""
    stored = gt.load_store(path)
    articles, sentences, _ = gt.load_labels(gt.LABELS, half)
    matched = gt.match_articles(articles, stored.articles)
    by_article: dict[int, list[gt.StoredClaim]] = {}
    for claim in stored.claims:
        by_article.setdefault(claim.article_id, []).append(claim)
    claims = {}
    for label in sentences:
        article_id = matched.get(label.article, -1)
        found = gt.match_sentence(label, stored.articles.get(article_id), by_article.get(article_id, []))
        if found.best is not None:
            claims.setdefault(found.best, label.stance)
    return claims, {matched[a["key"]]: a["stance"] for a in articles if a["key"] in matched}


def scores(store: Store, claims: dict[int, str], articles: dict[int, str]) -> tuple[float, float]:
    """(claim-level, article-level) macro-F1 of the store's CPEC stances against the gold of one half."""
    predicted = dict(store.db.execute(
        "SELECT s.subject || ':' || s.subject_id, s.label FROM stances s JOIN targets t ON t.id = s.target_id "
        "WHERE t.name = 'CPEC'").fetchall())
    claim_f1 = macro_f1(list(claims.values()), [predicted.get(f"claim:{c}", "none") for c in claims], STANCES)
    article_f1 = macro_f1(list(articles.values()), [predicted.get(f"article:{a}", "none") for a in articles],
                          STANCES)
    return round(claim_f1, 4), round(article_f1, 4)


def curve(source: str, strategy: str, steps: list[int], tune: dict[int, str], report: tuple[dict, dict]) -> list:
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "copy.db")
        with sqlite3.connect(source) as src, sqlite3.connect(path) as dst:
            src.backup(dst)
        store = Store(path)
        embedder = get_embedder(settings.get("embedding_model"))
        rows, labelled = [], 0
        for step in steps:
            started = time.time()
            while labelled < step:
                offered = [c for c in stance_queue(store, "CPEC", embedder, limit=400, strategy=strategy,
                                                   seed=labelled) if c["claim_id"] in tune]
                if not offered:
                    break
                for item in offered[:step - labelled]:
                    review.correct_stance(store, "claim", item["claim_id"], "CPEC", tune[item["claim_id"]],
                                          reviewer="simulated")
                    labelled += 1
                refit(store, "CPEC", embedder)
            claim_f1, article_f1 = scores(store, *report)
            rows.append((strategy, labelled, claim_f1, article_f1, round(time.time() - started, 1)))
            print(f"{strategy:12s} labels {labelled:4d}  claim macro-F1 {claim_f1:.3f}  article macro-F1 "
                  f"{article_f1:.3f}  ({rows[-1][-1]:.0f} s)", flush=True)
        store.close()
        return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--build", action="store_true", help="build the store first with 'tracker update'")
    parser.add_argument("--steps", default="0,50,100,200,400")
    parser.add_argument("--strategies", default="uncertainty,random")
    args = parser.parse_args(argv)
    if args.build:
        gt.build_store(args.db)
    steps = [int(s) for s in args.steps.split(",")]
    tune, _ = gold_claims(str(args.db), "tune")
    report = gold_claims(str(args.db), "report")
    print(f"tuning half: {len(tune)} labelled claims to draw from; reporting half: {len(report[0])} claims, "
          f"{len(report[1])} articles", flush=True)
    for strategy in args.strategies.split(","):
        curve(str(args.db), strategy, steps, tune, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
