"""Ingestion end to end: every format, folders and globs, bad input, strictness, duplicates, dates, language, URLs,
and a process killed mid-file."""

from __future__ import annotations

import csv
import gzip
import http.server
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tracker.ingest import IngestOptions, ingest
from tracker.ingest.normalise import DateProblem, detect_language, parse_date
from tracker.store import Store
from tracker.store.base import content_hash

# the project's seed article, shipped byte for byte inside the bundled corpus
SEED = Path(__file__).resolve().parents[1] / "datasets" / "cpec" / "corpus" / "seed" / "000_990483746a5582d2.txt"
SEED_TITLE = "Pakistan, China Enhance CPEC Collaboration"

# --- helpers ---------------------------------------------------------------------------------------------------

_WORDS = (
    "minister government corridor project loan power plant port road railway zone industry farmers workers "
    "officials talks agreement security debt budget trade exports imports investment energy water river city "
    "province parliament opposition court election report survey study prices market growth jobs schools "
    "hospital villages protest police army border visit summit delegation committee commission bank fund "
    "company contract tender audit inquiry statement interview spokesman analyst critic resident teacher"
).split()


def prose(seed: int, words: int = 80) -> str:
    """Deterministic English-looking text, different for every seed (so never near-duplicates of each other)."""
    rng = random.Random(seed)
    sentences, count = [], 0
    while count < words:
        n = rng.randint(8, 16)
        sentence = " ".join(rng.choice(_WORDS) for _ in range(n))
        sentences.append(f"The {sentence} said on {rng.choice(['Monday', 'Tuesday', 'Friday'])}.")
        count += n + 4
    half = len(sentences) // 2
    return " ".join(sentences[:half]) + "\n\n" + " ".join(sentences[half:])


def rows(store: str, sql: str = "", params: tuple = ()) -> list[dict]:
    """Articles in the store at ``store`` joined with their outlet name, in id order (or the rows of ``sql``)."""
    conn = sqlite3.connect(store)
    conn.row_factory = sqlite3.Row
    try:
        sql = sql or (
            "SELECT a.*, s.name AS source FROM articles a LEFT JOIN sources s ON s.id = a.source_id ORDER BY a.id"
        )
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def count(store: str, table: str = "articles") -> int:
    return rows(store, f"SELECT count(*) AS n FROM {table}")[0]["n"]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def stderr_lines(result) -> list[str]:  # noqa: ANN001
    return [line for line in result.stderr.splitlines() if line.strip()]


RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel>
  <title>Frontier Post Feed</title><link>https://frontier.example/</link><language>en</language>
  <description>Latest news</description>
  <item>
    <title>Port expansion approved</title>
    <link>https://frontier.example/port-expansion</link>
    <guid>frontier-1</guid>
    <pubDate>Thu, 22 Feb 2024 10:00:00 +0000</pubDate>
    <description>Short teaser about the port.</description>
    <content:encoded><![CDATA[<p>{p1}</p><p>{p2}</p>]]></content:encoded>
  </item>
  <item>
    <title>Road link opens</title>
    <link>https://frontier.example/road-link</link>
    <guid>frontier-2</guid>
    <pubDate>Fri, 23 Feb 2024 09:00:00 +0000</pubDate>
    <description><![CDATA[<p>{p3}</p>]]></description>
  </item>
</channel></rss>
"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Wire Desk</title><id>urn:wire</id><updated>2024-03-01T12:00:00Z</updated>
  <entry>
    <title>Energy tariff revised</title>
    <id>urn:wire:1</id>
    <link href="https://wire.example/energy-tariff"/>
    <updated>2024-03-01T12:00:00Z</updated>
    <summary type="html">&lt;p&gt;{p1}&lt;/p&gt;</summary>
  </entry>
</feed>
"""

HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Corridor talks resume in Islamabad | The Daily Ledger</title>
<meta property="og:site_name" content="The Daily Ledger">
<meta property="og:title" content="Corridor talks resume in Islamabad">
<meta property="article:published_time" content="2024-03-05T08:30:00+05:00">
<link rel="canonical" href="https://ledger.example/2024/03/corridor-talks">
</head><body>
<header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/business">Business</a></nav>
<div class="cookie-banner">We use cookies to improve your experience. Accept all cookies?</div></header>
<main><article>
<h1>Corridor talks resume in Islamabad</h1>
<p>Officials from both countries met in Islamabad on Tuesday to resume talks on the economic corridor, which had
stalled for several months over disagreements about financing and security arrangements for the workers.</p>
<p>The planning minister told reporters that the two sides had agreed on a timetable for the next phase of the
special economic zones, and that the first industrial units would open before the end of the year.</p>
<p>Critics in the opposition said the government had not published the terms of the loans, and asked parliament
to review the agreements before any new debt was taken on by the state-owned power companies.</p>
</article></main>
<aside class="related"><h3>Most read</h3><ul><li><a href="/a">Cricket team wins series</a></li></ul></aside>
<footer><p>© 2024 The Daily Ledger. All rights reserved. Subscribe to our newsletter for the latest updates.</p>
</footer></body></html>
"""


def rss(seed: int = 0) -> str:
    return RSS.format(p1=prose(seed + 1, 40), p2=prose(seed + 2, 40), p3=prose(seed + 3, 40))


def atom(seed: int = 10) -> str:
    return ATOM.format(p1=prose(seed, 50))


def write_csv(path: Path, header: list[str], records: list[list[str]], delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(records)
    return path


# --- formats ---------------------------------------------------------------------------------------------------

def test_seed_text_file(run_cli, tmp_store):
    result = run_cli("ingest", SEED, "--db", tmp_store)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == (
        "read 1, stored 1 (near-duplicates linked: 0), duplicates skipped 0, rejected 0"
    )
    (article,) = rows(tmp_store)
    assert article["published"] == "2024-02-22"
    assert article["title"] == SEED_TITLE
    assert article["source"] == "Infostani International"
    assert article["language"] == "en"
    assert article["text"].startswith("In their fourth meeting, Pakistan and China agreed")
    assert article["text"].endswith("international communication and cooperation.")
    assert SEED_TITLE not in article["text"].split("\n\n")[0]  # the repeated title is not body text
    assert "\n\n" in article["text"]
    assert article["origin"] == str(SEED)


def test_seed_layout_from_stdin(run_cli, tmp_store):
    # "February, 22, 2024" has two commas: without a consistent second row it must not be sniffed as CSV
    result = run_cli("ingest", "-", "--db", tmp_store, input=SEED.read_bytes())
    assert result.exit_code == 0, result.output
    (article,) = rows(tmp_store)
    assert (article["published"], article["title"], article["source"]) == (
        "2024-02-22", SEED_TITLE, "Infostani International")


def test_jsonl(run_cli, tmp_store, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [
        {"id": "x1", "title": "One", "text": prose(1), "source": "Dawn", "date": "2024-01-05",
         "url": "https://dawn.example/1", "author": "A. Writer", "country": "pk"},
        {"headline": "Two", "body": prose(2), "outlet": {"name": "Geo"}, "published_at": "2024-01-06T10:00:00Z"},
    ])
    result = run_cli("ingest", path, "--db", tmp_store)
    assert result.exit_code == 0, result.output
    first, second = rows(tmp_store)
    assert (first["title"], first["source"], first["published"], first["url"], first["author"],
            first["external_id"]) == ("One", "Dawn", "2024-01-05", "https://dawn.example/1", "A. Writer", "x1")
    assert first["origin"] == f"{path}:line 1"
    assert rows(tmp_store, "SELECT domain, country FROM sources WHERE name = 'Dawn'") == [
        {"domain": "dawn.example", "country": "PK"}]
    assert (second["title"], second["source"], second["published"]) == ("Two", "Geo", "2024-01-06")
    assert second["text"] == prose(2)


def test_json_array_and_wrapped_object(run_cli, tmp_store, tmp_path):
    (tmp_path / "arr.json").write_text(json.dumps([
        {"title": "A", "text": prose(3), "source": "Dawn"},
        {"title": "B", "content": prose(4), "publisher": "Geo"},
    ], indent=2))
    (tmp_path / "wrapped.json").write_text(json.dumps({"articles": [{"title": "C", "text": prose(5)}]}))
    result = run_cli("ingest", tmp_path / "arr.json", tmp_path / "wrapped.json", "--db", tmp_store)
    assert result.exit_code == 0, result.output
    got = rows(tmp_store)
    assert [(r["title"], r["source"]) for r in got] == [("A", "Dawn"), ("B", "Geo"), ("C", None)]
    assert got[1]["origin"] == f"{tmp_path / 'arr.json'}:item 2"


def test_csv_with_synonym_columns(run_cli, tmp_store, tmp_path):
    path = write_csv(tmp_path / "a.csv", ["Headline", "Body", "Publish_Date", "Outlet", "Link"], [
        ["First, with a comma", prose(6), "2024-02-01", "Dawn", "https://dawn.example/a"],
        ["Second", prose(7) + '\n\nA "quoted" line, with commas.', "2 Feb 2024", "Geo", ""],
    ])
    result = run_cli("ingest", path, "--db", tmp_store)
    assert result.exit_code == 0, result.output
    first, second = rows(tmp_store)
    assert (first["title"], first["source"], first["published"], first["url"]) == (
        "First, with a comma", "Dawn", "2024-02-01", "https://dawn.example/a")
    assert second["text"].endswith('A "quoted" line, with commas.')
    assert (second["published"], second["url"]) == ("2024-02-02", None)
    assert first["origin"] == f"{path}:row 2" and second["origin"] == f"{path}:row 3"


def test_csv_with_map(run_cli, tmp_store, tmp_path):
    header = ["headline", "summary", "full", "published_date", "outlet", "site"]
    path = write_csv(tmp_path / "export.csv", header, [
        ["T1", "short summary one", prose(8), "2024-02-03", "Express Tribune", "ignored"],
    ])
    result = run_cli("ingest", path, "--db", tmp_store, "--map", "text=full,date=published_date,source=outlet")
    assert result.exit_code == 0, result.output
    (article,) = rows(tmp_store)
    assert (article["text"], article["published"], article["source"]) == (
        prose(8), "2024-02-03", "Express Tribune")


def test_csv_without_text_column_names_the_fix(run_cli, tmp_store, tmp_path):
    path = write_csv(tmp_path / "odd.csv", ["headline", "story_body"], [["T", prose(9)]])
    result = run_cli("ingest", path, "--db", tmp_store)
    assert result.exit_code == 1
    assert stderr_lines(result) == [
        f"{path}: no text column among ['headline', 'story_body']; use --map text=COLUMN"]


def test_bad_map_is_a_one_line_error(run_cli, tmp_store, tmp_path):
    path = write_csv(tmp_path / "a.csv", ["text"], [[prose(1)]])
    result = run_cli("ingest", path, "--db", tmp_store, "--map", "colour=text")
    assert result.exit_code == 1
    assert "Error: --map: unknown field 'colour'" in result.stderr
    assert "Traceback" not in result.output


def test_tsv_and_semicolon_csv(run_cli, tmp_store, tmp_path):
    write_csv(tmp_path / "a.tsv", ["title", "text", "date"],
              [["Tab one", prose(10) + ", with, commas", "2024-02-04"]], delimiter="\t")
    write_csv(tmp_path / "b.csv", ["title", "text", "date", "source"],
              [["Semi one", prose(11) + ", and, commas; and a semicolon", "2024-02-05", "Dawn"],
               ["Semi two", prose(12), "2024-02-06", "Geo"]], delimiter=";")
    result = run_cli("ingest", tmp_path / "a.tsv", tmp_path / "b.csv", "--db", tmp_store)
    assert result.exit_code == 0, result.output
    got = rows(tmp_store)
    assert [(r["title"], r["published"], r["source"]) for r in got] == [
        ("Tab one", "2024-02-04", None), ("Semi one", "2024-02-05", "Dawn"), ("Semi two", "2024-02-06", "Geo")]
    assert got[1]["text"].endswith(", and, commas; and a semicolon")


def test_html_page_drops_boilerplate(run_cli, tmp_store, tmp_path):
    (tmp_path / "page.html").write_text(HTML, encoding="utf-8")
    result = run_cli("ingest", tmp_path / "page.html", "--db", tmp_store)
    assert result.exit_code == 0, result.output
    (article,) = rows(tmp_store)
    assert article["title"] == "Corridor talks resume in Islamabad"
    assert article["source"] == "The Daily Ledger"
    assert article["published"] == "2024-03-05"
    assert article["url"] == "https://ledger.example/2024/03/corridor-talks"
    assert "Officials from both countries met in Islamabad" in article["text"]
    assert "state-owned power companies." in article["text"]
    for junk in ("cookies", "Home", "Cricket", "All rights reserved", "newsletter"):
        assert junk not in article["text"]
    assert "\n\n" in article["text"]


def test_rss_feed_prefers_full_content(run_cli, tmp_store, tmp_path):
    (tmp_path / "news.rss").write_text(rss(), encoding="utf-8")
    result = run_cli("ingest", tmp_path / "news.rss", "--db", tmp_store)
    assert result.exit_code == 0, result.output
    first, second = rows(tmp_store)
    assert first["text"] == prose(1, 40) + "\n\n" + prose(2, 40)  # content:encoded, not the teaser
    assert (first["title"], first["source"], first["published"], first["url"], first["external_id"]) == (
        "Port expansion approved", "Frontier Post Feed", "2024-02-22", "https://frontier.example/port-expansion",
        "frontier-1")
    assert first["origin"] == f"{tmp_path / 'news.rss'}:entry 1"
    assert second["text"] == prose(3, 40)  # description only
    assert second["published"] == "2024-02-23"


def test_atom_feed_summary(run_cli, tmp_store, tmp_path):
    (tmp_path / "wire.atom").write_text(atom(), encoding="utf-8")
    result = run_cli("ingest", tmp_path / "wire.atom", "--db", tmp_store)
    assert result.exit_code == 0, result.output
    (article,) = rows(tmp_store)
    assert (article["title"], article["source"], article["published"], article["url"]) == (
        "Energy tariff revised", "Wire Desk", "2024-03-01", "https://wire.example/energy-tariff")
    assert article["text"] == prose(10, 50)


def test_gzipped_jsonl(run_cli, tmp_store, tmp_path):
    payload = "".join(json.dumps({"text": prose(i), "source": "Dawn"}) + "\n" for i in (20, 21))
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(payload.encode()))
    result = run_cli("ingest", tmp_path / "a.jsonl.gz", "--db", tmp_store)
    assert result.exit_code == 0, result.output
    assert [r["text"] for r in rows(tmp_store)] == [prose(20), prose(21)]


def test_stdin_jsonl_with_default_source(run_cli, tmp_store):
    payload = "".join(json.dumps({"text": prose(i)}) + "\n" for i in (22, 23))
    result = run_cli("ingest", "-", "--db", tmp_store, "--source", "Dawn", "--country", "pk", input=payload)
    assert result.exit_code == 0, result.output
    got = rows(tmp_store)
    assert [(r["source"], r["origin"]) for r in got] == [("Dawn", "<stdin>:line 1"), ("Dawn", "<stdin>:line 2")]
    assert rows(tmp_store, "SELECT country FROM sources") == [{"country": "PK"}]


def make_mixed_folder(root: Path) -> int:
    """A folder with one file of every format (and files that must be skipped); returns the number of articles."""
    (root / "sub").mkdir(parents=True)
    (root / "seed.txt").write_bytes(SEED.read_bytes())
    write_jsonl(root / "a.jsonl", [{"text": prose(30), "source": "Dawn"}, {"text": prose(31), "source": "Geo"}])
    (root / "b.json").write_text(json.dumps([{"text": prose(32)}, {"text": prose(33)}]))
    write_csv(root / "c.csv", ["title", "text"], [["C1", prose(34)], ["C2", prose(35)]])
    write_csv(root / "sub" / "d.tsv", ["title", "text"], [["D1", prose(36)]], delimiter="\t")
    (root / "sub" / "e.html").write_text(HTML)
    (root / "f.rss").write_text(rss(40))
    (root / "g.atom").write_text(atom(50))
    (root / "h.jsonl.gz").write_bytes(gzip.compress((json.dumps({"text": prose(37)}) + "\n").encode()))
    (root / "notes.pdf").write_bytes(b"%PDF-1.4 not ingested")  # unknown extension: skipped
    (root / ".hidden.jsonl").write_text(json.dumps({"text": prose(38)}) + "\n")  # hidden: skipped
    return 1 + 2 + 2 + 2 + 1 + 1 + 2 + 1 + 1


def test_folder_mixing_every_format(run_cli, tmp_store, tmp_path):
    expected = make_mixed_folder(tmp_path / "in")
    result = run_cli("ingest", tmp_path / "in", "--db", tmp_store)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == (
        f"read {expected}, stored {expected} (near-duplicates linked: 0), duplicates skipped 0, rejected 0")
    assert count(tmp_store) == expected
    assert not any(prose(38) == r["text"] for r in rows(tmp_store))


def test_idempotent_reingest(run_cli, tmp_store, tmp_path):
    expected = make_mixed_folder(tmp_path / "in")
    assert run_cli("ingest", tmp_path / "in", "--db", tmp_store).exit_code == 0
    before = {t: count(tmp_store, t) for t in ("articles", "sources", "article_lsh")}
    result = run_cli("ingest", tmp_path / "in", "--db", tmp_store)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == (
        f"read {expected}, stored 0 (near-duplicates linked: 0), duplicates skipped {expected}, rejected 0")
    assert {t: count(tmp_store, t) for t in before} == before


def test_globs(run_cli, tmp_store, tmp_path):
    write_jsonl(tmp_path / "a1.jsonl", [{"text": prose(60)}])
    write_jsonl(tmp_path / "a2.jsonl", [{"text": prose(61)}])
    write_jsonl(tmp_path / "b.jsonl", [{"text": prose(62)}])
    (tmp_path / "deep").mkdir()
    write_jsonl(tmp_path / "deep" / "a3.jsonl", [{"text": prose(63)}])
    result = run_cli("ingest", f"{tmp_path}/a*.jsonl", "--db", tmp_store)
    assert result.exit_code == 0, result.output
    assert [r["text"] for r in rows(tmp_store)] == [prose(60), prose(61)]
    result = run_cli("ingest", f"{tmp_path}/**/a*.jsonl", "--db", tmp_store)
    assert result.exit_code == 0, result.output
    assert count(tmp_store) == 3
    result = run_cli("ingest", f"{tmp_path}/zzz*.jsonl", "--db", tmp_store)
    assert result.exit_code == 1
    assert stderr_lines(result) == [f"{tmp_path}/zzz*.jsonl: no such file"]


# --- bad input -------------------------------------------------------------------------------------------------

def test_latin1_and_cp1252_files_decode(run_cli, tmp_store, tmp_path):
    french = "Le café de la gare a fermé. Les élèves étaient très déçus, a déclaré le maire de la ville."
    quotes = "The minister’s “bold” claim — rejected… by critics, who said it was naïve and costly."
    (tmp_path / "fr.txt").write_bytes(french.encode("latin-1"))
    write_csv(tmp_path / "q.csv", ["text", "source"], [[quotes, "Dawn"]])
    (tmp_path / "q.csv").write_bytes((tmp_path / "q.csv").read_text(encoding="utf-8").encode("cp1252"))
    result = run_cli("ingest", tmp_path / "fr.txt", tmp_path / "q.csv", "--db", tmp_store)
    assert result.exit_code == 0, result.output
    assert [r["text"] for r in rows(tmp_store)] == [french, quotes]


def test_utf8_bom_and_crlf(run_cli, tmp_store, tmp_path):
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbftitle,text\r\nT,\"Line one.\r\n\r\nLine two.\"\r\n")
    result = run_cli("ingest", tmp_path / "bom.csv", "--db", tmp_store)
    assert result.exit_code == 0, result.output
    (article,) = rows(tmp_store)
    assert (article["title"], article["text"]) == ("T", "Line one.\n\nLine two.")


def test_every_bad_record_gets_one_line_and_the_rest_ingests(run_cli, tmp_store, tmp_path):
    jsonl = tmp_path / "mixed.jsonl"
    jsonl.write_text("\n".join([
        json.dumps({"text": prose(70)}),
        '{"text": "broken',
        json.dumps({"text": "   "}),
        json.dumps(["not", "an", "object"]),
        json.dumps({"text": prose(71), "date": "2204-02-22"}),
        json.dumps({"text": prose(72)}),
    ]) + "\n")
    bad_csv = tmp_path / "rows.csv"
    bad_csv.write_text(f"title,text,date\nok,{prose(73).replace(chr(10), ' ')},2024-01-01\nshort row\n"
                       f",,2024-01-02\n")
    rng = random.Random(0)
    binary = tmp_path / "junk.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(rng.randrange(256) for _ in range(2048)))
    noise = tmp_path / "noise.txt"  # high bytes, no NUL: no text encoding makes sense of it
    noise.write_bytes(bytes(rng.randrange(128, 256) for _ in range(3000)))
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n\n")
    html = tmp_path / "broken.html"
    html.write_text("<html><body><div></div></body></html>")
    feed = tmp_path / "broken.rss"
    feed.write_text("<?xml version='1.0'?><rss><<<>>>")
    missing = tmp_path / "missing.jsonl"
    broken_gz = tmp_path / "b.jsonl.gz"
    broken_gz.write_bytes(b"\x1f\x8bnot really gzip")
    result = run_cli("ingest", jsonl, bad_csv, binary, noise, empty, html, feed, missing, broken_gz,
                     "--db", tmp_store)
    assert result.exit_code == 1
    lines = stderr_lines(result)
    assert lines[0].startswith(f"{jsonl}:line 2: invalid JSON (Unterminated string")
    assert lines[1:] == [
        f"{jsonl}:line 3: empty text (and no title)",
        f"{jsonl}:line 4: expected a JSON object per line",
        f"{jsonl}:line 5: absurd date '2204-02-22' (outside 1900-01-01..today)",
        f"{bad_csv}:row 3: expected 3 columns, found 1",
        f"{bad_csv}:row 4: empty text (and no title)",
        f"{binary}: binary file, not text",
        f"{noise}: cannot decode: not UTF-8 and no other text encoding fits",
        f"{empty}: empty input",
        f"{html}: no article text found in HTML",
        f"{feed}: broken feed (<unknown>:1:44: not well-formed (invalid token))",
        f"{missing}: no such file",
        f"{broken_gz}: broken gzip data (Unknown compression method)",
    ]
    assert "Traceback" not in result.output
    assert [r["text"] for r in rows(tmp_store)] == [prose(70), prose(72), prose(73).replace("\n", " ")]
    assert result.stdout.strip().splitlines()[-1] == (
        "read 16, stored 3 (near-duplicates linked: 0), duplicates skipped 0, rejected 13")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file(run_cli, tmp_store, tmp_path):
    path = write_jsonl(tmp_path / "secret.jsonl", [{"text": prose(1)}])
    path.chmod(0)
    try:
        result = run_cli("ingest", path, "--db", tmp_store)
    finally:
        path.chmod(0o600)
    assert result.exit_code == 1
    assert stderr_lines(result) == [f"{path}: permission denied"]


def test_rejects_do_not_touch_stored_articles(run_cli, tmp_store, tmp_path):
    good = write_jsonl(tmp_path / "good.jsonl", [{"text": prose(i), "source": "Dawn"} for i in range(80, 85)])
    assert run_cli("ingest", good, "--db", tmp_store).exit_code == 0
    before = rows(tmp_store)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": \n' + json.dumps({"text": prose(80), "source": "Dawn"}) + "\n")
    result = run_cli("ingest", bad, "--db", tmp_store)
    assert result.exit_code == 1
    assert "duplicates skipped 1, rejected 1" in result.stdout
    assert rows(tmp_store) == before


def test_strict_stores_nothing_from_the_bad_file(run_cli, tmp_store, tmp_path):
    """--strict: the first bad record stops the run with a non-zero exit; earlier files stay stored, nothing
    from the bad file is stored (not even its good records before the bad one), later files are not read."""
    first = write_jsonl(tmp_path / "1.jsonl", [{"text": prose(90)}])
    bad = tmp_path / "2.jsonl"
    bad.write_text("\n".join([json.dumps({"text": prose(91)}), '{"oops', json.dumps({"text": prose(92)})]))
    later = write_jsonl(tmp_path / "3.jsonl", [{"text": prose(93)}])
    result = run_cli("ingest", first, bad, later, "--db", tmp_store, "--strict")
    assert result.exit_code == 1
    (line,) = stderr_lines(result)
    assert line.startswith(f"Error: {bad}:line 2: invalid JSON (")
    assert line.endswith(f"(--strict: nothing stored from {bad})")
    assert [r["text"] for r in rows(tmp_store)] == [prose(90)]
    # the same files without --strict: everything good is stored, the bad line reported
    result = run_cli("ingest", first, bad, later, "--db", tmp_store)
    assert result.exit_code == 1
    assert count(tmp_store) == 4


def test_strict_with_many_records_before_the_error(tmp_path):
    """More than one batch of good records before the bad one: still nothing stored from the file."""
    store = Store(":memory:")
    path = tmp_path / "big.jsonl"
    path.write_text("".join(json.dumps({"text": prose(i, 20)}) + "\n" for i in range(450)) + "{bad\n")
    from tracker.ingest import StrictAbort

    with pytest.raises(StrictAbort, match=r"big.jsonl:line 451: invalid JSON"):
        ingest(store, [str(path)], IngestOptions(strict=True))
    assert store.db.execute("SELECT count(*) FROM articles").fetchone()[0] == 0
    assert store.db.execute("SELECT count(*) FROM article_lsh").fetchone()[0] == 0


# --- duplicates ------------------------------------------------------------------------------------------------

WIRE = (
    "ISLAMABAD (Wire) - Pakistan and China on Monday signed six agreements to expand cooperation under the "
    "China-Pakistan Economic Corridor, including a new railway upgrade, two hydropower projects and a special "
    "economic zone near Gwadar port, officials said.\n\n"
    "The planning minister said the agreements would create thousands of jobs and called reports of a debt trap "
    "baseless propaganda spread by rivals of the project. Opposition lawmakers demanded that the terms of the "
    "loans be presented to parliament before any further financing is approved.\n\n"
    "Chinese officials said the corridor had entered a phase of high-quality development focused on industry, "
    "agriculture and information technology, and that security for Chinese workers remained a priority after "
    "recent attacks in Balochistan province."
)


def edited_copy(text: str) -> str:
    return (text.replace("ISLAMABAD (Wire) - ", "")
            .replace("six agreements", "half a dozen agreements")
            .replace("officials said.", "according to officials.")
            + "\n\nThis story was first published by the Wire.")


def test_near_duplicates_are_linked_not_dropped(run_cli, tmp_store, tmp_path):
    path = write_jsonl(tmp_path / "wire.jsonl", [
        {"title": "Pakistan, China sign six CPEC deals", "text": WIRE, "source": "Wire Agency"},
        {"title": "CPEC: six new deals", "text": edited_copy(WIRE), "source": "Daily Times"},
        {"title": "Same story", "text": WIRE, "source": "The Nation"},  # verbatim, another outlet
        {"title": "Unrelated", "text": prose(100, 120), "source": "Dawn"},
    ])
    result = run_cli("ingest", path, "--db", tmp_store)
    assert result.exit_code == 0, result.output
    assert "stored 4 (near-duplicates linked: 2)" in result.stdout
    wire, edited, verbatim, unrelated = rows(tmp_store)
    assert wire["duplicate_of"] is None
    assert edited["duplicate_of"] == wire["id"] and 0.7 <= edited["duplicate_similarity"] < 1.0
    assert verbatim["duplicate_of"] == wire["id"] and verbatim["duplicate_similarity"] == 1.0
    assert unrelated["duplicate_of"] is None
    assert [r["source"] for r in (wire, edited, verbatim)] == ["Wire Agency", "Daily Times", "The Nation"]


def test_copy_of_a_copy_links_to_the_first(store):
    texts = [WIRE, edited_copy(WIRE), edited_copy(WIRE).replace("thousands of jobs", "many jobs")]
    report = ingest_records(store, [{"text": t, "source": f"Outlet {i}"} for i, t in enumerate(texts)])
    ids = report.article_ids
    links = [r[0] for r in store.db.execute("SELECT duplicate_of FROM articles ORDER BY id")]
    assert links == [None, ids[0], ids[0]]


def test_same_outlet_same_text_is_an_exact_duplicate(store):
    report = ingest_records(store, [
        {"text": WIRE, "source": "Dawn"},
        {"text": WIRE.replace("\n\n", "\n\n\n   "), "source": "Dawn"},  # whitespace differences only
    ])
    assert (report.stored, report.duplicates) == (1, 1)


def ingest_records(store, records: list[dict]):  # noqa: ANN001, ANN201
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = write_jsonl(Path(tmp) / "r.jsonl", records)
        return ingest(store, [str(path)])


# --- dates and language ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("2024-02-22", "2024-02-22"),
    ("2024-02-22T23:30:00+05:00", "2024-02-22"),
    ("Thu, 22 Feb 2024 10:00:00 +0000", "2024-02-22"),
    ("February, 22, 2024", "2024-02-22"),
    ("22 February 2024", "2024-02-22"),
    (1708560000, "2024-02-22"),
    ("1708560000", "2024-02-22"),
    (1708560000000, "2024-02-22"),  # epoch milliseconds
    ("1708560000123", "2024-02-22"),
    (None, None),
    ("", None),
])
def test_parse_date(value, expected):
    assert parse_date(value) == expected


@pytest.mark.parametrize("value, message", [
    ("Monday", "incomplete date 'Monday' (needs year, month and day)"),
    ("February 2024", "incomplete date 'February 2024' (needs year, month and day)"),
    ("not a date", "unreadable date 'not a date'"),
    ("2024-02-30", "invalid date '2024-02-30'"),
    ("2204-02-22", "absurd date '2204-02-22' (outside 1900-01-01..today)"),
    ("1850-06-01", "absurd date '1850-06-01' (outside 1900-01-01..today)"),
    (-99999999999999, "absurd date '-99999999999999' (outside 1900-01-01..today)"),  # used to crash the run
    (float("nan"), "absurd date 'nan' (outside 1900-01-01..today)"),
    (True, "unreadable date 'True'"),  # not 1970-01-01
])
def test_parse_date_problems(value, message):
    with pytest.raises(DateProblem) as info:
        parse_date(value)
    assert str(info.value) == message


def test_dates_through_ingest(run_cli, tmp_store, tmp_path):
    path = write_jsonl(tmp_path / "dates.jsonl", [
        {"text": prose(110), "date": "2024-02-22"},
        {"text": prose(111), "date": "Thu, 22 Feb 2024 10:00:00 +0000"},
        {"text": prose(112), "date": "February, 22, 2024"},
        {"text": prose(113), "timestamp": 1708560000},
        {"text": prose(114)},
        {"text": prose(115), "date": "Monday"},
        {"text": prose(116), "date": "2204-02-22"},
    ])
    result = run_cli("ingest", path, "--db", tmp_store)
    assert result.exit_code == 1  # the year-2204 record was rejected
    assert stderr_lines(result) == [
        f"{path}:line 6: warning: incomplete date 'Monday' (needs year, month and day); stored with unknown date",
        f"{path}:line 7: absurd date '2204-02-22' (outside 1900-01-01..today)",
    ]
    assert [r["published"] for r in rows(tmp_store)] == ["2024-02-22"] * 4 + [None, None]


def test_warnings_alone_exit_zero(run_cli, tmp_store, tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"text": prose(117), "date": "Monday"}])
    result = run_cli("ingest", path, "--db", tmp_store)
    assert result.exit_code == 0
    assert "warning: incomplete date 'Monday'" in result.stderr


URDU = ("پاکستان اور چین نے پیر کو اقتصادی راہداری کے تحت تعاون بڑھانے کے لیے چھ معاہدوں پر دستخط کیے، "
        "جن میں ریلوے کی بہتری اور پن بجلی کے دو منصوبے شامل ہیں۔")
CHINESE = "中国和巴基斯坦周一签署了六项协议，以扩大中巴经济走廊框架下的合作，包括铁路升级和两个水电项目。"


def test_language_detection(run_cli, tmp_store, tmp_path):
    assert (detect_language(WIRE), detect_language(URDU), detect_language(CHINESE)) == ("en", "ur", "zh")
    assert detect_language("Too short") is None
    # one-line English claims of a fact-check database that py3langid alone reads as Nigerian Pidgin or Latin
    assert {detect_language(t) for t in ("Singer Billy Ocean passed away in October 2016",
                                         "A photograph shows boxer Muhammad Ali with musician Michael Jackson",
                                         "Videos show tornadoes in Cape Town, South Africa")} <= {"en", None}
    path = write_jsonl(tmp_path / "langs.jsonl", [
        {"text": WIRE}, {"text": URDU}, {"text": CHINESE}, {"text": prose(120), "language": "EN-gb"}])
    result = run_cli("ingest", path, "--db", tmp_store)
    assert result.exit_code == 0, result.output
    assert [r["language"] for r in rows(tmp_store)] == ["en", "ur", "zh", "en"]


# --- URLs ------------------------------------------------------------------------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    pages: dict[str, tuple[str, bytes]] = {}

    def do_GET(self) -> None:  # noqa: N802
        if self.path not in self.pages:
            self.send_error(404, "Not Found")
            return
        content_type, body = self.pages[self.path]
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    _Handler.pages = {
        "/news/corridor-talks": ("text/html; charset=utf-8", HTML.replace(
            '<link rel="canonical" href="https://ledger.example/2024/03/corridor-talks">', "").encode()),
        "/feeds/latest": ("application/rss+xml", rss(200).encode()),
    }
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_url_page_and_feed(run_cli, tmp_store, server):
    page, feed = f"{server}/news/corridor-talks", f"{server}/feeds/latest"
    result = run_cli("ingest", page, feed, "--db", tmp_store)
    assert result.exit_code == 0, result.output
    got = rows(tmp_store)
    assert len(got) == 3
    assert (got[0]["url"], got[0]["title"], got[0]["origin"]) == (page, "Corridor talks resume in Islamabad", page)
    assert [r["url"] for r in got[1:]] == ["https://frontier.example/port-expansion",
                                          "https://frontier.example/road-link"]
    assert got[1]["origin"] == f"{feed}:entry 1"


def test_url_404(run_cli, tmp_store, server):
    result = run_cli("ingest", f"{server}/nope", "--db", tmp_store)
    assert result.exit_code == 1
    assert stderr_lines(result) == [f"{server}/nope: HTTP 404 Not Found"]


def test_url_timeout(run_cli, tmp_store):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts connections into the backlog, never answers
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/slow"
    try:
        started = time.monotonic()
        result = run_cli("ingest", url, "--db", tmp_store, env={"TRACKER_FETCH_TIMEOUT": "0.5"})
        elapsed = time.monotonic() - started
    finally:
        listener.close()
    assert result.exit_code == 1
    assert stderr_lines(result) == [f"{url}: timed out after 0.5s"]
    assert elapsed < 10


def test_url_offline(run_cli, tmp_store):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    url = f"http://127.0.0.1:{port}/feed.xml"
    result = run_cli("ingest", url, "--db", tmp_store)
    assert result.exit_code == 1
    (line,) = stderr_lines(result)
    assert line.startswith(f"{url}: cannot connect (offline?): ")
    assert "refused" in line.lower()
    assert "rejected 1" in result.stdout


# --- killed mid-ingest -----------------------------------------------------------------------------------------

KILL_RECORDS = 3000  # 15 batches: long enough to kill mid-file, short enough that the re-run is quick


def _tracker_command() -> list[str]:
    """The ``tracker`` console script of this environment (what users run), else the same entry point via -c.

    Not ``python -m tracker.cli``: that runs cli.py as ``__main__`` and trips a circular import with
    tracker.cli_dashboard (reported).
    """
    script = Path(sys.executable).with_name("tracker")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from tracker.cli import cli; cli(prog_name='tracker')"]


def _subprocess_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env["PYTHONWARNINGS"] = "ignore"
    return env


def _stored_count(path: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.OperationalError:  # not created or not migrated yet
        return 0


def test_killed_mid_ingest_leaves_a_consistent_store(tmp_path):
    from tracker.ingest import BATCH

    big = tmp_path / "big.jsonl"
    rng = random.Random(5)
    vocab = [f"{w}{i}" for i in range(40) for w in _WORDS[:50]]
    with big.open("w") as f:
        for i in range(KILL_RECORDS):
            text = " ".join(rng.choice(vocab) for _ in range(40)) + "."
            record = {"id": f"r{i}", "source": f"Outlet {i % 5}", "date": "2024-02-22", "text": text}
            f.write(json.dumps(record) + "\n")
    store = tmp_path / "killed.db"
    command = [*_tracker_command(), "ingest", str(big), "--db", str(store)]
    proc = subprocess.Popen(command, env=_subprocess_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while _stored_count(store) < 2 * BATCH:
            assert proc.poll() is None, f"ingest ended before it could be killed: {proc.stderr.read()!r}"
            assert time.monotonic() < deadline, "ingest did not start writing within 90 s"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()

    conn = sqlite3.connect(store)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = conn.execute(
            "SELECT a.id, a.text, a.content_hash, s.name FROM articles a JOIN sources s ON s.id = a.source_id"
        ).fetchall()
        lsh = dict(conn.execute("SELECT article_id, count(*) FROM article_lsh GROUP BY article_id").fetchall())
    finally:
        conn.close()
    assert 2 * BATCH <= len(stored) < KILL_RECORDS, "the process was not killed mid-file"
    assert len(stored) % BATCH == 0  # whole batches only: each is one transaction
    for article_id, text, digest, source in stored:
        assert text.strip()
        assert digest == content_hash(source + "\x00" + text)
        assert lsh.get(article_id) == 16  # its near-duplicate index rows were written with it

    rerun = subprocess.run(command, env=_subprocess_env(), capture_output=True, text=True, timeout=240)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.strip().splitlines()[-1] == (
        f"read {KILL_RECORDS}, stored {KILL_RECORDS - len(stored)} (near-duplicates linked: 0), "
        f"duplicates skipped {len(stored)}, rejected 0")
    conn = sqlite3.connect(store)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*), count(DISTINCT external_id) FROM articles").fetchone() == (
            KILL_RECORDS, KILL_RECORDS)
        assert conn.execute("SELECT count(*) FROM article_lsh").fetchone()[0] == 16 * KILL_RECORDS
    finally:
        conn.close()
