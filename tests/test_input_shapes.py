"""Claims from every input shape a user brings: claim-database exports (one short claim a row, no final period),
tweets, headline lists and title-only feed items keep their claim; headings inside articles stay out.

The records are written for this test in the shape of real exports; no third-party text."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tracker.claims import extract_claims
from tracker.ingest import IngestOptions, ingest, parse_mapping
from tracker.pipeline import run_claims
from tracker.store import Store

CLAIM_DATABASE = [  # like a disinformation-case database: id, title (the claim), date, outlets, countries
    ("8123", "Coronavirus was created in a laboratory", "2020-03-02", "outlet-a.example", "Russia"),
    ("8124", "The Ukrainian state does not exist de facto", "2021-11-30", "outlet-b.example", "Ukraine"),
    ("8125", "Crimea's referendum was legitimate", "2019-03-16", "outlet-c.example", "Ukraine"),
    ("8126", "Vaccines contain microchips", "2021-01-12", "outlet-a.example", "EU"),
    ("8127", "NATO is preparing an attack on Belarus", "2022-02-01", "outlet-d.example", "Belarus"),
    ("8128", "CPEC is a debt trap designed to seize Gwadar", "2020-07-09", "outlet-e.example", "Pakistan"),
    ("8129", "Western sanctions hurt only European citizens", "2022-06-20", "outlet-b.example", "EU"),
    ("8130", "The White Helmets staged chemical attacks", "2018-04-14", "outlet-f.example", "Syria"),
    ("8131", "Sputnik V is the only safe vaccine", "2021-02-03", "outlet-a.example", "Russia"),
    ("8132", "Elections in Moldova were rigged by Brussels", "2020-11-16", "outlet-g.example", "Moldova"),
    ("8133", "The EU bans traditional holidays", "2021-12-01", "outlet-h.example", "EU"),
    ("8134", "Crimea is Russian", "2014-03-18", "outlet-c.example", "Ukraine"),
]

TWEETS = [
    {"id": "1", "created_at": "2024-02-22T10:00:00Z", "user": "@watchdog_pk",
     "text": "CPEC loans are pushing Pakistan into a debt trap #CPEC https://t.co/abc123"},
    {"id": "2", "created_at": "2024-02-22T11:00:00Z", "user": "@newsdesk",
     "text": "@minister Gwadar port will become a Chinese naval base, say analysts"},
    {"id": "3", "created_at": "2024-02-22T12:00:00Z", "user": "@fan",
     "text": "Is CPEC good for Pakistan?"},
]

HEADLINES = [
    ("China and Pakistan sign six new CPEC agreements", "2024-01-02", "Wire One"),
    ("Militants attack convoy of Chinese engineers near Dasu", "2024-03-26", "Wire Two"),
    ("Gwadar fishermen protest against trawlers", "2021-12-01", "Wire One"),
]

ARTICLE_WITH_HEADINGS = """Power and debt

Chinese-financed power plants added 8,000 megawatts to Pakistan's grid between 2015 and 2020.

What the critics say

Critics argue that capacity payments to the plants have deepened the country's circular debt.
Related coverage
"""


def _store(tmp_path: Path, path: Path, **options: str) -> Store:
    store = Store(":memory:")
    report = ingest(store, [str(path)], IngestOptions(mapping=parse_mapping(options.get("map")),
                                                      source=options.get("source")))
    assert report.rejected == 0, report.problems
    run_claims(store)
    return store


def _claims_per_article(store: Store) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {a: [] for (a,) in store.db.execute("SELECT id FROM articles")}
    for article_id, text in store.db.execute("SELECT article_id, text FROM claims ORDER BY id"):
        out[article_id].append(text)
    return out


def test_every_claim_database_record_keeps_its_claim(tmp_path: Path) -> None:
    path = tmp_path / "cases.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "title", "date", "outlets", "countries"])
        writer.writerows(CLAIM_DATABASE)
    store = _store(tmp_path, path, map="text=title,source=outlets,url=id")
    claims = _claims_per_article(store)
    assert len(claims) == len(CLAIM_DATABASE)
    assert sorted(c for found in claims.values() for c in found) == sorted(r[1] for r in CLAIM_DATABASE)


def test_tweets_keep_their_claims_and_questions_stay_out(tmp_path: Path) -> None:
    path = tmp_path / "tweets.jsonl"
    path.write_text("".join(json.dumps(t) + "\n" for t in TWEETS), encoding="utf-8")
    store = _store(tmp_path, path, map="source=user")
    claims = [c for found in _claims_per_article(store).values() for c in found]
    assert any(c.startswith("CPEC loans are pushing Pakistan into a debt trap") for c in claims)
    assert any("Gwadar port will become a Chinese naval base" in c for c in claims)
    assert not any(c.startswith("Is CPEC") for c in claims)


def test_a_headline_list_without_bodies_gives_one_claim_per_title(tmp_path: Path) -> None:
    path = tmp_path / "headlines.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["headline", "published_date", "outlet"])
        writer.writerows(HEADLINES)
    store = _store(tmp_path, path)
    claims = sorted(c for found in _claims_per_article(store).values() for c in found)
    assert claims == sorted(h[0] for h in HEADLINES)


def test_title_only_feed_items_are_claims(tmp_path: Path) -> None:
    items = "".join(f"<item><title>{title}</title><link>https://wire.example/{i}</link>"
                    f"<pubDate>Mon, 0{i + 1} Jan 2024 10:00:00 +0000</pubDate></item>"
                    for i, (title, _, _) in enumerate(HEADLINES))
    path = tmp_path / "wire.rss"
    path.write_text(f"<?xml version='1.0'?><rss version='2.0'><channel><title>Wire</title>{items}</channel></rss>",
                    encoding="utf-8")
    store = _store(tmp_path, path, source="Wire")
    claims = sorted(c for found in _claims_per_article(store).values() for c in found)
    assert claims == sorted(h[0] for h in HEADLINES)


def test_headings_inside_an_article_stay_out() -> None:
    texts = [c.text for c in extract_claims(1, ARTICLE_WITH_HEADINGS)]
    assert texts == [
        "Chinese-financed power plants added 8,000 megawatts to Pakistan's grid between 2015 and 2020.",
        "Critics argue that capacity payments to the plants have deepened the country's circular debt.",
    ]
