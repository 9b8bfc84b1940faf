"""A small, realistic CPEC-like store for dashboard, query, review and export tests.

``make_sample_store(path_or_store)`` fills a fresh store with 8 fictional outlets, 60 articles over 2015-2025
(one near-duplicate linked by ``duplicate_of``, one whose text carries ``<script>`` and a markdown link),
claims whose offsets reproduce the article text exactly, five narratives with members, hashing embeddings and
centroids, two themes over them, stances toward CPEC for claims and articles, and narrative stances.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from pathlib import Path

import numpy as np
import sqlite_utils

from tracker.embed import HashingEmbedder
from tracker.store import Store
from tracker.store.base import content_hash, vector_to_blob

SOURCES = [
    ("Islamabad Daily Star", "dailystar.pk.example", "PK"),
    ("Karachi Ledger", "ledger.pk.example", "PK"),
    ("Beijing Evening Courier", "courier.cn.example", "CN"),
    ("Silk Road Wire", "silkroadwire.cn.example", "CN"),
    ("Delhi Chronicle", "chronicle.in.example", "IN"),
    ("Mumbai Observer", "observer.in.example", "IN"),
    ("Global Desk Wire", "globaldesk.uk.example", "GB"),
    ("Asia Policy Review", "asiapolicy.us.example", "US"),
]

# Narrative label, keywords, claim sentences (each a whole sentence), stance toward CPEC of an asserting sentence.
NARRATIVES = [
    ("CPEC is a debt trap for Pakistan", ["debt", "loans", "trap"], [
        "CPEC loans are pushing Pakistan into a debt trap.",
        "Critics warn that Chinese loans under CPEC are an unsustainable burden.",
        "Pakistan could lose strategic assets to China if it cannot repay CPEC debt.",
        "The corridor's debt will weigh on Pakistan for decades.",
    ], "against"),
    ("CPEC creates jobs and growth", ["jobs", "growth", "energy"], [
        "CPEC projects have created tens of thousands of jobs in Pakistan.",
        "New CPEC power plants ended years of load-shedding.",
        "The corridor is a game changer for Pakistan's economy.",
        "Roads built under CPEC are boosting trade and growth.",
    ], "favor"),
    ("Gwadar will become a Chinese naval base", ["gwadar", "naval", "base"], [
        "Gwadar port will become a Chinese naval base.",
        "Analysts suspect Gwadar is secretly meant for the Chinese navy.",
        "Chinese warships could soon dock at Gwadar.",
    ], "against"),
    ("Militants threaten Chinese workers on CPEC", ["security", "attack", "workers"], [
        "Militants attacked a convoy carrying Chinese engineers.",
        "Security costs for CPEC projects keep rising after attacks.",
        "Chinese workers on CPEC sites face repeated threats.",
    ], "against"),
    ("CPEC contracts are opaque", ["contracts", "secret", "transparency"], [
        "The terms of CPEC contracts remain secret.",
        "Lawmakers demand transparency over inflated CPEC project costs.",
    ], "against"),
]

FILLER = [
    "The China-Pakistan Economic Corridor was launched in 2015.",
    "Officials met in Islamabad on Tuesday.",
    "The project spans roads, power plants and a port.",
    "Talks are expected to continue next month.",
    "Both governments describe the corridor as a flagship of the Belt and Road Initiative.",
]

SCRIPT_TEXT = (
    "Readers shared a post that read <script>alert(1)</script> on social media. "
    "CPEC loans are pushing Pakistan into a debt trap. "
    "The post urged people to [click](http://evil.example) for more. "
    "Officials met in Islamabad on Tuesday."
)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def make_sample_store(path_or_store: str | Path | Store = ":memory:") -> Store:
    """Fill a fresh store with the sample data and return it.

    Args:
        path_or_store: a path (or ``":memory:"``) to open, or an open store.

    Returns:
        The open store.
    """
    store = path_or_store if isinstance(path_or_store, Store) else Store(path_or_store)
    rng = random.Random(7)
    embedder = HashingEmbedder()  # what get_embedder('hashing') gives: the pipeline can run on this store
    now = "2025-06-01T00:00:00+00:00"
    claim_rows: list[tuple] = []  # (claim_id, narrative_index, text, stance label, attribution)
    with store.write() as db:
        db.execute("INSERT INTO targets(id, name, aliases, description) VALUES (1, 'CPEC', ?, ?)",
                   [json.dumps(["China-Pakistan Economic Corridor"]), "The China-Pakistan Economic Corridor"])
        db.execute("INSERT INTO targets(id, name, aliases) VALUES (2, 'Gwadar', '[]')")
        for i, (name, domain, country) in enumerate(SOURCES, start=1):
            db.execute("INSERT INTO sources(id, name, domain, country, language, kind) VALUES (?,?,?,?,?,?)",
                       [i, name, domain, country, "en", "news"])
        start = dt.date(2015, 3, 2)
        span = (dt.date(2025, 5, 26) - start).days
        next_claim = 1
        articles: list[tuple[int, str, str, int]] = []
        for a in range(1, 61):
            src = (a - 1) % len(SOURCES) + 1
            # later articles cluster towards recent years so some narratives grow
            day = int(span * (a / 60) ** 0.8) if a < 60 else span
            published = (start + dt.timedelta(days=day)).isoformat()
            n_idx = [(a + k) % len(NARRATIVES) for k in range(2)]
            if a >= 50:  # the Gwadar narrative rises at the end of the data
                n_idx = [2, (a % 2) * 1]
            sentences: list[tuple[str, int | None]] = [(FILLER[a % len(FILLER)], None)]
            for n in n_idx:
                sentences.append((rng.choice(NARRATIVES[n][2]), n))
            sentences.append((FILLER[(a + 2) % len(FILLER)], None))
            if a == 7:
                text = SCRIPT_TEXT
            else:
                text = " ".join(s for s, _ in sentences) + f" (Report {a}.)"
            articles.append((a, text, published, src))
            db.execute(
                "INSERT INTO articles(id, source_id, url, title, published, language, author, text, "
                "content_hash, external_id, origin, ingested_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                [a, src, f"https://{SOURCES[src - 1][1]}/news/{a}", f"CPEC report {a}", published, "en",
                 "Staff Reporter", text, content_hash(text), f"s-{a:03d}", f"sample:{a}", now],
            )
            if a == 7:
                found = text.index(NARRATIVES[0][2][0])
                spans = [(found, found + len(NARRATIVES[0][2][0]), 0)]
            else:
                spans = []
                pos = 0
                for s, n in sentences:
                    begin = text.index(s, pos)
                    pos = begin + len(s)
                    if n is not None:
                        spans.append((begin, pos, n))
            for idx, (begin, end, n) in enumerate(spans):
                sentence = text[begin:end]
                attribution = "refute" if (a % 9 == 0 and idx == 0) else ("report" if a % 4 == 0 else "assert")
                claimant = "the outlet" if attribution == "assert" else rng.choice(["officials", "critics"])
                db.execute(
                    "INSERT INTO claims(id, article_id, idx, start, end, text, text_hash, claimant, attribution, "
                    "checkworthy, extractor) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    [next_claim, a, idx, begin, end, sentence, _hash(sentence), claimant, attribution,
                     round(rng.random(), 2), "sample"],
                )
                label = NARRATIVES[n][3]
                if attribution == "refute":
                    label = "favor" if label == "against" else "against"
                claim_rows.append((next_claim, n, sentence, label, attribution))
                next_claim += 1
        # the near-duplicate: a wire copy of article 3 in another outlet
        orig = articles[2]
        dup_text = orig[1].replace("(Report 3.)", "(Report 3, via wire.)")
        db.execute(
            "INSERT INTO articles(id, source_id, url, title, published, language, text, content_hash, "
            "duplicate_of, duplicate_similarity, origin, ingested_at) VALUES (61,?,?,?,?,?,?,?,?,?,?,?)",
            [7, "https://globaldesk.uk.example/news/61", "CPEC report 3 (wire)", orig[2], "en", dup_text,
             content_hash(dup_text), 3, 0.93, "sample:61", now],
        )
        for cid, n, sentence, label, attribution in [r for r in claim_rows if _article_of(db, r[0]) == 3]:
            begin = dup_text.index(sentence)
            db.execute(
                "INSERT INTO claims(id, article_id, idx, start, end, text, text_hash, claimant, attribution, "
                "checkworthy, extractor) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [next_claim, 61, cid, begin, begin + len(sentence), sentence, _hash(sentence), "the outlet",
                 attribution, 0.5, "sample"],
            )
            claim_rows.append((next_claim, n, sentence, label, attribution))
            next_claim += 1
        # embeddings, narratives, membership, stances
        texts = sorted({r[2] for r in claim_rows})
        vectors = dict(zip(texts, embedder.encode(texts), strict=True))
        for t, v in vectors.items():
            db.execute("INSERT INTO embeddings(content_hash, model, dim, vector) VALUES (?,?,?,?)",
                       [_hash(t), embedder.name, embedder.dim, vector_to_blob(v)])
        db.execute("INSERT INTO meta(key, value) VALUES ('narratives.model', ?)", [embedder.name])
        for n, (label, keywords, _, _) in enumerate(NARRATIVES, start=1):
            db.execute(
                "INSERT INTO narratives(id, label, keywords, created_at, updated_at) VALUES (?,?,?,?,?)",
                [n, label, json.dumps(keywords), now, now],
            )
            db.execute("INSERT INTO narrative_history(at, event, narrative_id, actor, detail) "
                       "VALUES (?, 'created', ?, 'model', '{}')", [now, n])
        for cid, n, _sentence, label, attribution in claim_rows:
            if cid % 17 == 0:  # some claims the model left out
                db.execute("INSERT INTO unclustered_claims(claim_id) VALUES (?)", [cid])
                continue
            db.execute(
                "INSERT INTO narrative_claims(claim_id, narrative_id, similarity, assigned_by, assigned_at) "
                "VALUES (?,?,?,?,?)", [cid, n + 1, round(0.6 + rng.random() * 0.4, 3), "model", now],
            )
            db.execute("INSERT INTO stances(subject, subject_id, target_id, label, score, model) "
                       "VALUES ('claim', ?, 1, ?, ?, 'target-stance-v1')", [cid, label, 0.8])
            ns = {"refute": "disagree", "report": "discuss"}.get(attribution, "agree")
            db.execute("INSERT INTO narrative_stances(claim_id, narrative_id, label, score, model) "
                       "VALUES (?,?,?,?, 'claim-stance-v1')", [cid, n + 1, ns, 0.7])
        for a in range(1, 62):
            label = rng.choice(["favor", "favor", "against", "against", "none"])
            db.execute("INSERT INTO stances(subject, subject_id, target_id, label, score, model) "
                       "VALUES ('article', ?, 1, ?, ?, 'target-stance-v1')", [a, label, 0.7])
        db.execute("UPDATE narratives SET verdict = 'misleading', verdict_note = 'Debt is mostly multilateral.', "
                   "verdict_url = 'https://factcheck.example/cpec-debt', verdict_by = 'Ayesha', "
                   "verdict_at = '2024-02-01T10:00:00+00:00', review_status = 'reviewed' WHERE id = 1")
        db.execute("INSERT INTO reviews(at, reviewer, action, narrative_id, payload, note) VALUES "
                   "('2024-02-01T10:00:00+00:00', 'Ayesha', 'verdict', 1, ?, NULL)",
                   [json.dumps({"verdict": "misleading"})])
    from tracker.pipeline.narratives import describe_themes
    from tracker.store.narratives import refresh_stats

    with store.write() as db:
        refresh_stats(db, range(1, len(NARRATIVES) + 1))
        for n in range(1, len(NARRATIVES) + 1):
            members = db.execute(
                "SELECT nc.claim_id, c.text FROM narrative_claims nc JOIN claims c ON c.id = nc.claim_id "
                "WHERE narrative_id = ? ORDER BY similarity DESC", [n]).fetchall()
            centroid = np.mean([vectors[t] for _, t in members], axis=0)
            db.execute("UPDATE narratives SET central_claim_id = ?, representatives = ?, centroid = ?, "
                       "centroid_model = ? WHERE id = ?",
                       [members[0][0], json.dumps([m[0] for m in members[:3]]), vector_to_blob(centroid),
                        embedder.name, n])
        # two themes: the economy (debt, jobs, contracts) and security (naval base, attacks)
        for theme_id, narrative_ids in ((1, (1, 2, 5)), (2, (3, 4))):
            db.execute("INSERT INTO themes(id, created_at, updated_at) VALUES (?, ?, ?)", [theme_id, now, now])
            db.execute(f"UPDATE narratives SET theme_id = ? WHERE id IN ({','.join('?' * len(narrative_ids))})",
                       [theme_id, *narrative_ids])
        describe_themes(db, [1, 2])
    return store


def _article_of(db: sqlite_utils.Database, claim_id: int) -> int:
    return int(db.execute("SELECT article_id FROM claims WHERE id = ?", [claim_id]).fetchone()[0])


def sample_vectors(texts: list[str]) -> np.ndarray:
    """The embeddings the sample store uses, for tests that embed a query."""
    return HashingEmbedder().encode(texts)
