#!/usr/bin/env python3
"""Build the bundled CPEC evaluation corpus from the writers' source files.

Reads ``datasets/cpec/src/part*.jsonl`` (articles with inline labels, see SCHEMA_BRIEF.md) and the seed article,
validates every record, and writes (all paths relative to this folder, or to ``--out DIR``):

- ``corpus/``: the articles spread over every format tracker ingests (seed-layout plain text, JSON Lines, CSV
  with a researcher's column names, RSS 2.0 feeds, saved HTML pages);
- ``sources.csv``: outlet metadata for ``tracker ingest --sources``;
- ``labels/articles.jsonl``, ``labels/claims.jsonl``, ``labels/narratives.jsonl``: the ground truth (for
  evaluation only);
- ``STATS.md``: the count tables (also printed), and the generated block of ``README.md``.

Standard library only; deterministic and idempotent (same inputs, same bytes). Fails with a non-zero exit and a
message naming the record when a label does not fit its text, an outlet is unknown, an id repeats, and so on.

    python datasets/cpec/build.py                  # build in place
    python datasets/cpec/build.py --out /tmp/cpec  # build elsewhere (the test compares the two)
    python datasets/cpec/build.py --check-ingest   # also ingest the corpus with tracker and check round trips
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import glob
import hashlib
import html
import io
import json
import os
import re
import sys
from collections import Counter, defaultdict
from email.utils import format_datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC_GLOB = "src/part*.jsonl"
SEED_NAME = "000_990483746a5582d2.txt"
SEED_CANDIDATES = [
    HERE.parent.parent.parent / "shared" / "seeds" / SEED_NAME,  # /work/shared/seeds next to the checkout
    HERE.parents[1] / "shared" / "seeds" / SEED_NAME,  # a shared/ folder inside the checkout
    HERE / "corpus" / "seed" / SEED_NAME,  # the copy made by an earlier build
]

# --- outlets -----------------------------------------------------------------------------------------------------
# name: (domain, country, language, kind, format). Domains use the reserved .example top-level domain so that no
# fictional outlet points at a real website. Countries are ISO 3166-1 alpha-2; the two wires get the country of
# their (fictional) head office: Continental Wire London (GB), Asia Pacific Press Agency Singapore (SG).
OUTLETS: dict[str, tuple[str, str, str, str, str]] = {
    "Infostani International": ("infostani.pk.example", "PK", "en", "news aggregator", "text"),
    "Islamabad Daily Star": ("islamabaddailystar.pk.example", "PK", "en", "newspaper", "text"),
    "The Karachi Ledger": ("karachiledger.pk.example", "PK", "en", "newspaper", "rss"),
    "Roznama Awaz": ("roznamaawaz.pk.example", "PK", "ur", "newspaper", "html"),
    "Balochistan Voice": ("balochistanvoice.pk.example", "PK", "en", "regional news", "html"),
    "FactLens Pakistan": ("factlens.pk.example", "PK", "en", "fact-checker", "html"),
    "Silk Road News Agency": ("silkroadnews.cn.example", "CN", "en", "state news agency", "jsonl"),
    "Global Horizon Times": ("globalhorizontimes.cn.example", "CN", "en", "state tabloid", "jsonl"),
    "Silk Road Daily": ("silkroaddaily.cn.example", "CN", "zh", "state newspaper", "jsonl"),
    "New Delhi Chronicle": ("newdelhichronicle.in.example", "IN", "en", "newspaper", "csv"),
    "Bharat Strategic Review": ("bharatstrategic.in.example", "IN", "en", "think tank", "csv"),
    "The Atlantic Observer": ("atlanticobserver.us.example", "US", "en", "newspaper", "rss"),
    "Meridian Policy Institute": ("meridianpolicy.uk.example", "GB", "en", "think tank", "csv"),
    "Continental Wire": ("continentalwire.uk.example", "GB", "en", "wire service", "jsonl"),
    "Asia Pacific Press Agency": ("asiapacificpress.sg.example", "SG", "en", "wire service", "jsonl"),
}
# The stance dynamics the writers were asked to write in (SCHEMA_BRIEF.md); the tables show what they wrote.
OUTLET_TREND = {
    "Infostani International": "supportive",
    "Islamabad Daily Star": "supportive throughout (pro-government)",
    "The Karachi Ledger": "supportive 2015-18, mixed 2019-20, critical after the 2021 Dasu attack",
    "Roznama Awaz": "supportive, turns critical in 2023-24 (tariffs, IMF)",
    "Balochistan Voice": "critical, more so after the 2021 Gwadar protests",
    "FactLens Pakistan": "neutral fact-checks of both sides (from 2019)",
    "Silk Road News Agency": "supportive",
    "Global Horizon Times": "supportive, combative against \"Western smears\"",
    "Silk Road Daily": "supportive",
    "New Delhi Chronicle": "critical (sovereignty, debt trap, Gwadar)",
    "Bharat Strategic Review": "critical analysis",
    "The Atlantic Observer": "critical 2017-20 (debt trap), more nuanced from 2022",
    "Meridian Policy Institute": "cautiously positive 2016, critical 2019-20, balanced later",
    "Continental Wire": "neutral, reports all sides",
    "Asia Pacific Press Agency": "neutral",
}
JSONL_FILES = {
    "Silk Road News Agency": "jsonl/chinese_state_media.jsonl",
    "Global Horizon Times": "jsonl/chinese_state_media.jsonl",
    "Silk Road Daily": "jsonl/chinese_state_media.jsonl",
    "Continental Wire": "jsonl/wires.jsonl",
    "Asia Pacific Press Agency": "jsonl/wires.jsonl",
}
# Plain-text articles whose title ends like a sentence (". ! ? :") cannot be told from a first paragraph in the
# seed layout (tracker's text reader would take the title for body text); they go to this JSON Lines file instead.
TEXT_FALLBACK = "jsonl/pakistani_aggregators.jsonl"
CSV_FILE = "csv/south_asia_and_think_tanks.csv"
CSV_COLUMNS = ["headline", "body", "published_date", "outlet", "link", "byline", "language"]
RSS_FILES = {"The Karachi Ledger": "rss/karachi_ledger.xml", "The Atlantic Observer": "rss/atlantic_observer.xml"}
FORMAT_DIRS = ("seed", "text", "jsonl", "csv", "rss", "html")

NARRATIVES = [
    ("N01", "debt-trap", "CPEC loans are a debt trap / unsustainable debt burden / Pakistan will lose assets to "
     "China (like Hambantota)."),
    ("N02", "jobs-growth-energy", "CPEC is a game changer: jobs, growth, infrastructure, ended power "
     "load-shedding."),
    ("N03", "gwadar-military", "Gwadar will become (or is secretly) a Chinese naval/military base."),
    ("N04", "security-threats", "Militant attacks and threats against Chinese workers and CPEC projects; "
     "security costs."),
    ("N05", "baloch-exclusion", "Baloch people/Balochistan are excluded, marginalised, do not benefit; resources "
     "taken."),
    ("N06", "opacity-corruption", "CPEC contracts are opaque, secret terms, inflated costs, corruption, lack of "
     "transparency."),
    ("N07", "environment", "CPEC harms the environment: coal plants, emissions, water, displacement, ecological "
     "damage."),
    ("N08", "slowdown", "CPEC has slowed down, stalled, projects delayed or shelved, momentum lost."),
    ("N09", "friendship", "China and Pakistan are \"all-weather\" strategic partners / iron brothers; friendship "
     "deeper than oceans."),
    ("N10", "disinformation", "Hostile disinformation/propaganda campaigns target CPEC. Sentences saying CPEC is "
     "the target of a disinformation campaign carry N10; sentences saying there is no such campaign and the "
     "criticism is legitimate refute it."),
    ("N11", "india-sovereignty", "CPEC runs through disputed Gilgit-Baltistan/Kashmir and violates India's "
     "sovereignty; India objects."),
    ("N12", "imf-circular-debt", "CPEC power-plant payments to Chinese IPPs drive circular debt / IMF scrutiny / "
     "high electricity tariffs."),
    ("N13", "sez-industry", "Special Economic Zones and industrial cooperation: Chinese industries relocating, "
     "SEZs attracting investment (or SEZs failing to take off)."),
    ("N14", "gwadar-locals", "Gwadar residents lack water/electricity, fishermen lose livelihoods to trawlers and "
     "fencing; \"Give Gwadar its rights\" protests."),
    ("N15", "third-party", "CPEC is open to third countries (Saudi Arabia, Gulf, Afghanistan, others) joining; "
     "inclusive, regional connectivity."),
    ("N16", "ml1-railway", "The ML-1 railway upgrade (Karachi-Peshawar) as flagship, its financing disputes and "
     "delays."),
    ("N17", "phase-two-cooperation", "CPEC \"second phase\"/high-quality development: agriculture, IT, science "
     "and technology, socio-economic projects (the seed's JWG-ICC themes)."),
    ("N18", "chinese-security-demands", "China pushes for its own security personnel / joint security company in "
     "Pakistan; Pakistan's special security division for Chinese nationals."),
]
NARRATIVE_IDS = {n[0] for n in NARRATIVES}
LANGS = {"en", "ur", "zh"}
KINDS = {"news", "wire", "opinion", "analysis", "factcheck", "editorial"}
STANCES = {"favor", "against", "none"}
ATTRIBUTIONS = {"assert", "report", "refute"}
RECORD_KEYS = {"id", "outlet", "date", "title", "lang", "kind", "author", "syndicated_from", "text", "stance",
               "claims"}
CLAIM_KEYS = {"sentence", "narrative", "stance", "attribution", "claimant"}
SENTENCE_END = (".", "!", "?", "۔", "。", "\"", "'", "”", "’", ")", "」", "！", "？")

# The seed (Infostani International, 22 Feb 2024): its labels, written here. Offsets are into the body after the
# "Infostani International: " dateline prefix, which is the text tracker stores.
SEED = {
    "source": "Infostani International", "date": "2024-02-22", "lang": "en", "kind": "news", "stance": "favor",
    "author": None,
    "claims": [
        ("In their fourth meeting, Pakistan and China agreed to boost collaboration in industry, agriculture, "
         "information technology, and science and technology.", "N17", "favor", "report", "Pakistan and China"),
        ("Co-chaired by their respective officials, the talks underscored CPEC\u2019s role in enhancing global "
         "connectivity and rejected disinformation.", "N10", "favor", "report", "Pakistan and China"),
        ("Co-chaired by their respective officials, the talks underscored CPEC\u2019s role in enhancing global "
         "connectivity and rejected disinformation.", "N15", "favor", "report", "Pakistan and China"),
        ("During the meeting, both countries committed to intensify their focus on achieving high-quality "
         "advancements in industry, agriculture, information technology, and science and technology, with the aim "
         "of delivering tangible socio-economic benefits for their populations.", "N17", "favor", "report",
         "both countries"),
        ("The participants highlighted CPEC\u2019s pivotal role in bolstering international and regional "
         "connectivity and commended the project\u2019s open and inclusive nature.", "N15", "favor", "report",
         "the participants"),
        ("The foreign secretary, underscoring the status of Pakistan and China as all-weather strategic partners, "
         "reiterated the significance of CPEC in fostering cooperation and sustainable development.", "N09",
         "favor", "report", "the foreign secretary"),
        ("He also expressed openness to interested third parties exploring mutually beneficial avenues of "
         "cooperation.", "N15", "favor", "report", "the foreign secretary"),
        ("In acknowledging the evolving nature of CPEC, both sides rejected disinformation campaigns and "
         "distorted reporting on the project.", "N10", "favor", "report", "both sides"),
        ("They stressed the importance of countering fallacious narratives and misinformation.", "N10", "favor",
         "report", "both sides"),
    ],
}

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]


class BuildError(Exception):
    """A problem in the source data; the message names the record."""


# --- reading and validating --------------------------------------------------------------------------------------

def find_seed() -> Path:
    for path in SEED_CANDIDATES:
        if path.is_file():
            return path
    raise BuildError(f"seed article {SEED_NAME} not found (looked in {', '.join(map(str, SEED_CANDIDATES))})")


def parse_seed(raw: bytes) -> dict:
    """Title, date and body (after the dateline prefix) of the seed, read the way tracker's text reader does."""
    text = raw.decode("utf-8")
    lines = [line.strip() for line in text.split("\n")]
    nonempty = [line for line in lines if line]
    date_line, title = nonempty[0], nonempty[1]
    month, day, year = (p.strip() for p in date_line.split(","))
    date = dt.date(int(year), MONTHS.index(month) + 1, int(day)).isoformat()
    prefix = SEED["source"] + ": "
    start = text.index(prefix)
    body = text[start + len(prefix):].strip()
    if date != SEED["date"]:
        raise BuildError(f"seed: date line {date_line!r} is not {SEED['date']}")
    return {"title": title, "date": date, "text": body}


def load_records(src_dir: Path) -> tuple[list[dict], list[str]]:
    """All src records, validated. Returns (records, warnings). Raises BuildError on the first hard problem."""
    records: list[dict] = []
    warnings: list[str] = []
    seen: dict[str, str] = {}
    files = sorted(glob.glob(str(src_dir / "part*.jsonl")))
    if not files:
        raise BuildError(f"no source files {src_dir}/part*.jsonl")
    for path in files:
        name = os.path.relpath(path, src_dir.parent)
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                where = f"{name}:line {number}"
                try:
                    record = json.loads(line)
                except ValueError as exc:
                    raise BuildError(f"{where}: invalid JSON ({exc})") from None
                if not isinstance(record, dict):
                    raise BuildError(f"{where}: expected a JSON object")
                rid = record.get("id")
                where = f"{where} ({rid})"
                missing = RECORD_KEYS - set(record)
                if missing:
                    raise BuildError(f"{where}: missing fields {sorted(missing)}")
                extra = set(record) - RECORD_KEYS
                if extra:
                    raise BuildError(f"{where}: unknown fields {sorted(extra)}")
                if not isinstance(rid, str) or not re.fullmatch(r"w\d+-\d{3,}", rid):
                    raise BuildError(f"{where}: bad id {rid!r}")
                if rid in seen:
                    raise BuildError(f"{where}: id {rid} repeats (first at {seen[rid]})")
                seen[rid] = where
                validate_record(record, where, warnings)
                record["_where"] = where
                records.append(record)
    by_id = {r["id"]: r for r in records}
    for r in records:
        parent = r["syndicated_from"]
        if parent is not None:
            if parent not in by_id:
                raise BuildError(f"{r['_where']}: syndicated_from {parent!r} is no record")
            if by_id[parent]["outlet"] == r["outlet"]:
                raise BuildError(f"{r['_where']}: syndicated from its own outlet ({parent})")
    return records, warnings


def validate_record(r: dict, where: str, warnings: list[str]) -> None:
    if r["outlet"] not in OUTLETS:
        raise BuildError(f"{where}: unknown outlet {r['outlet']!r}")
    try:
        date = dt.date.fromisoformat(r["date"])
    except (TypeError, ValueError):
        raise BuildError(f"{where}: bad date {r['date']!r} (want YYYY-MM-DD)") from None
    if not (dt.date(2015, 1, 1) <= date <= dt.date(2025, 12, 31)) or len(r["date"]) != 10:
        raise BuildError(f"{where}: date {r['date']} outside 2015-2025")
    for key in ("title", "text"):
        if not isinstance(r[key], str) or not r[key].strip():
            raise BuildError(f"{where}: empty {key}")
        if r[key] != r[key].strip():
            raise BuildError(f"{where}: {key} has leading or trailing whitespace")
    if "\n" in r["title"]:
        raise BuildError(f"{where}: title has a line break")
    if r["lang"] not in LANGS:
        raise BuildError(f"{where}: unknown lang {r['lang']!r}")
    if r["lang"] != OUTLETS[r["outlet"]][2]:
        warnings.append(f"{where}: lang {r['lang']} differs from the outlet's language")
    if r["kind"] not in KINDS:
        raise BuildError(f"{where}: unknown kind {r['kind']!r}")
    if r["stance"] not in STANCES:
        raise BuildError(f"{where}: unknown article stance {r['stance']!r}")
    if r["author"] is not None and (not isinstance(r["author"], str) or not r["author"].strip()):
        raise BuildError(f"{where}: author must be a name or null")
    text = r["text"]
    if re.search(r"\n{3,}|(?<!\n)\n(?!\n)|[ \t]\n|\n[ \t]|\r|\t", text):
        raise BuildError(f"{where}: paragraphs must be separated by exactly one blank line, without stray spaces")
    if r["lang"] == "en" and re.search(r"[\u2018\u2019\u201c\u201d]", text + r["title"]):
        raise BuildError(f"{where}: curly quotes in English text (the brief asks for straight ASCII quotes)")
    if not isinstance(r["claims"], list):
        raise BuildError(f"{where}: claims must be a list")
    for i, claim in enumerate(r["claims"]):
        cw = f"{where} claim {i}"
        if not isinstance(claim, dict) or set(claim) != CLAIM_KEYS:
            raise BuildError(f"{cw}: claim fields must be exactly {sorted(CLAIM_KEYS)}")
        sentence = claim["sentence"]
        if not isinstance(sentence, str) or not sentence.strip():
            raise BuildError(f"{cw}: empty sentence")
        if sentence not in text:
            raise BuildError(f"{cw}: sentence is not an exact substring of the text: {sentence[:90]!r}")
        if text.count(sentence) > 1:
            warnings.append(f"{cw}: sentence occurs {text.count(sentence)} times in the text; the first is used")
        if claim["narrative"] not in NARRATIVE_IDS:
            raise BuildError(f"{cw}: unknown narrative {claim['narrative']!r}")
        if claim["stance"] not in STANCES:
            raise BuildError(f"{cw}: unknown stance {claim['stance']!r}")
        if claim["attribution"] not in ATTRIBUTIONS:
            raise BuildError(f"{cw}: unknown attribution {claim['attribution']!r}")
        if not isinstance(claim["claimant"], str) or not claim["claimant"].strip():
            raise BuildError(f"{cw}: empty claimant")
        # soft checks: whole sentences, sensible attribution/claimant pairs
        start = text.index(sentence)
        before = text[:start].rstrip(" ")
        if before and not before.endswith(SENTENCE_END + ("\n", ":", "-")):
            warnings.append(f"{cw}: sentence does not start at a sentence boundary: {sentence[:60]!r}")
        if not sentence.rstrip().endswith(SENTENCE_END):
            warnings.append(f"{cw}: sentence does not end with sentence punctuation: {sentence[-60:]!r}")
        if claim["attribution"] == "assert" and claim["claimant"] != "the outlet" and r["kind"] not in (
                "opinion", "editorial", "analysis"):
            warnings.append(f"{cw}: attribution assert with claimant {claim['claimant']!r} in a {r['kind']} "
                            "story")
        if claim["attribution"] == "report" and claim["claimant"] == "the outlet":
            warnings.append(f"{cw}: attribution report with claimant 'the outlet'")
    keys = [(c["sentence"], c["narrative"]) for c in r["claims"]]
    if len(keys) != len(set(keys)):
        warnings.append(f"{where}: the same sentence is labelled twice with the same narrative")


# --- corpus rendering --------------------------------------------------------------------------------------------

def slugify(title: str) -> str:
    words = re.findall(r"[a-z0-9]+", title.lower().replace("'", ""))
    return "-".join(words[:8]) or "article"


def stable_int(key: str, lo: int, hi: int) -> int:
    """A deterministic pseudo-random integer in [lo, hi] derived from ``key``."""
    value = int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16)
    return lo + value % (hi - lo + 1)


def long_date(iso: str) -> str:
    d = dt.date.fromisoformat(iso)
    return f"{MONTHS[d.month - 1]}, {d.day}, {d.year}"


def display_date(iso: str) -> str:
    d = dt.date.fromisoformat(iso)
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def timestamp(a: dict, hours: tuple[int, int], offset_hours: int) -> dt.datetime:
    d = dt.date.fromisoformat(a["date"])
    tz = dt.timezone(dt.timedelta(hours=offset_hours))
    hour, minute = stable_int(a["key"] + "h", *hours), stable_int(a["key"] + "m", 0, 59)
    return dt.datetime(d.year, d.month, d.day, hour, minute, 0, tzinfo=tz)


def paragraphs(text: str) -> list[str]:
    return text.split("\n\n")


def render_text(a: dict) -> str:
    title = a["title"]
    lines = [long_date(a["date"]), title]
    if stable_int(a["key"] + "repeat", 0, 2) == 0:  # some repeat the title, like the seed
        lines += ["", title]
    paras = paragraphs(a["text"])
    body = [f"{a['source']}: {paras[0]}"] + paras[1:]
    return "\n".join(lines) + "\n\n" + "\n\n".join(body) + "\n"


def render_jsonl_line(a: dict) -> str:
    if a["source"] in ("Continental Wire", "Asia Pacific Press Agency"):
        date = timestamp(a, (3, 17), 0).strftime("%Y-%m-%dT%H:%M:%SZ")
    else:
        date = a["date"]
    record = {"id": a["key"], "title": a["title"], "date": date, "source": a["source"], "url": a["url"],
              "lang": a["lang"], "author": a["author"], "text": a["text"]}
    return json.dumps(record, ensure_ascii=False) + "\n"


def csv_rows(articles: list[dict]) -> list[str]:
    rows = []
    for a in articles:
        d = dt.date.fromisoformat(a["date"])
        published = f"{MONTHS[d.month - 1][:3]} {d.day}, {d.year}"
        buffer = io.StringIO(newline="")
        csv.writer(buffer, lineterminator="\r\n").writerow(
            [a["title"], a["text"], published, a["source"], a["url"], a["author"] or "", a["lang"]])
        rows.append(buffer.getvalue())
    return rows


def render_csv(articles: list[dict], notes: list[str]) -> str:
    """The researcher's export: header, then rows by outlet and date, written as RFC 4180 CSV (quotes doubled)."""
    rows = csv_rows(articles)
    header = ",".join(CSV_COLUMNS) + "\r\n"
    text = header + "".join(rows)
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    if len(parsed) != len(articles) + 1 or any(len(r) != len(CSV_COLUMNS) for r in parsed):
        raise BuildError(f"{CSV_FILE}: the file does not read back as CSV")
    return text


RSS_CHANNEL = {
    "The Karachi Ledger": ("en-pk", 5, (8, 22), "Independent news, analysis and opinion from Karachi."),
    "The Atlantic Observer": ("en-us", -5, (6, 18), "World news and analysis from The Atlantic Observer."),
}


def render_rss(outlet: str, articles: list[dict]) -> str:
    domain = OUTLETS[outlet][0]
    language, offset, hours, description = RSS_CHANNEL[outlet]
    items = sorted(articles, key=lambda a: (a["date"], a["key"]), reverse=True)  # newest first, like a feed
    esc = html.escape
    last = format_datetime(timestamp(items[0], hours, offset)) if items else ""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">',
        "<channel>",
        f"  <title>{esc(outlet)}</title>",
        f"  <link>https://{domain}/</link>",
        f'  <atom:link href="https://{domain}/feed/archive.xml" rel="self" type="application/rss+xml"/>',
        f"  <description>{esc(description)}</description>",
        f"  <language>{language}</language>",
        f"  <lastBuildDate>{last}</lastBuildDate>",
        "  <generator>datasets/cpec/build.py</generator>",
    ]
    for a in items:
        body = "\n".join(f"<p>{esc(p, quote=False)}</p>" for p in paragraphs(a["text"]))
        if "]]>" in body:
            raise BuildError(f"{a['key']}: text contains ']]>' and cannot go into CDATA")
        summary = paragraphs(a["text"])[0]
        if len(summary) > 300:
            summary = summary[:297].rsplit(" ", 1)[0] + "..."
        out += [
            "  <item>",
            f"    <title>{esc(a['title'], quote=False)}</title>",
            f"    <link>{esc(a['url'])}</link>",
            f'    <guid isPermaLink="false">{esc(domain)}:{a["key"]}</guid>',
            f"    <pubDate>{format_datetime(timestamp(a, hours, offset))}</pubDate>",
        ]
        if a["author"]:
            out.append(f"    <dc:creator>{esc(a['author'], quote=False)}</dc:creator>")
        out += [
            f"    <category>{esc(a['kind'])}</category>",
            f"    <description>{esc(summary, quote=False)}</description>",
            f"    <content:encoded><![CDATA[{body}]]></content:encoded>",
            "  </item>",
        ]
    out += ["</channel>", "</rss>", ""]
    return "\n".join(out)


HTML_SITES = {
    "Balochistan Voice": {
        "lang": "en", "dir": "ltr", "tagline": "News and views from Balochistan",
        "nav": ["Home", "Balochistan", "Gwadar", "Makran", "Politics", "Opinion", "Human Rights", "Videos"],
        "subscribe": ("Subscribe", "Get Balochistan Voice in your inbox every morning. Independent reporting "
                      "from Quetta, Gwadar and the Makran coast.", "Your email address", "Sign up"),
        "related": "More from Balochistan Voice",
        "footer": ("About us", "Contact", "Advertise", "Privacy policy", "Terms of use"),
        "copyright": "Balochistan Voice. All rights reserved.",
        "by": "By ",
    },
    "FactLens Pakistan": {
        "lang": "en", "dir": "ltr", "tagline": "Checking the claims that shape Pakistan",
        "nav": ["Home", "Fact checks", "Explainers", "Methodology", "Viral claims", "Submit a claim", "About"],
        "subscribe": ("Subscribe", "Get our weekly round-up of fact checks, explainers and viral claims.",
                      "Email", "Subscribe"),
        "related": "Related fact checks",
        "footer": ("Our methodology", "Corrections policy", "Funding", "Team", "Contact"),
        "copyright": "FactLens Pakistan. Content licensed CC BY 4.0.",
        "by": "By ",
    },
    "Roznama Awaz": {
        "lang": "ur", "dir": "rtl", "tagline": "\u0633\u0686 \u06a9\u06cc \u0622\u0648\u0627\u0632",
        "nav": ["\u0635\u0641\u062d\u06c1 \u0627\u0648\u0644", "\u067e\u0627\u06a9\u0633\u062a\u0627\u0646",
                "\u062f\u0646\u06cc\u0627", "\u06a9\u0627\u0631\u0648\u0628\u0627\u0631",
                "\u06a9\u06be\u06cc\u0644", "\u06a9\u0627\u0644\u0645",
                "\u0627\u062f\u0627\u0631\u06cc\u06c1"],
        "subscribe": ("\u0633\u0628\u0633\u06a9\u0631\u0627\u0626\u0628 \u06a9\u0631\u06cc\u06ba",
                      "\u0631\u0648\u0632\u0646\u0627\u0645\u06c1 \u0622\u0648\u0627\u0632 \u06a9\u06cc "
                      "\u062a\u0627\u0632\u06c1 \u062e\u0628\u0631\u06cc\u06ba "
                      "\u0631\u0648\u0632\u0627\u0646\u06c1 "
                      "\u0627\u067e\u0646\u06d2 \u0627\u06cc \u0645\u06cc\u0644 \u067e\u0631 "
                      "\u062d\u0627\u0635\u0644 \u06a9\u0631\u06cc\u06ba",
                      "\u0627\u06cc \u0645\u06cc\u0644", "\u0633\u0628\u0633\u06a9\u0631\u0627\u0626\u0628"),
        "related": "\u0645\u0632\u06cc\u062f \u062e\u0628\u0631\u06cc\u06ba",
        "footer": ("\u06c1\u0645\u0627\u0631\u06d2 \u0628\u0627\u0631\u06d2 \u0645\u06cc\u06ba",
                   "\u0631\u0627\u0628\u0637\u06c1", "\u0627\u0634\u062a\u06c1\u0627\u0631\u0627\u062a",
                   "\u0631\u0627\u0632\u062f\u0627\u0631\u06cc \u06a9\u06cc \u067e\u0627\u0644\u06cc\u0633\u06cc"),
        "copyright": "\u0631\u0648\u0632\u0646\u0627\u0645\u06c1 \u0622\u0648\u0627\u0632",
        "by": "",
    },
}


def section_path(item: str, index: int) -> str:
    slug = slugify(item)
    return slug if slug != "article" else f"section-{index}"


def render_html(a: dict, related: list[dict]) -> str:
    site = HTML_SITES[a["source"]]
    esc = html.escape
    domain = OUTLETS[a["source"]][0]
    published = timestamp(a, (7, 21), 5).isoformat()
    nav = "\n".join(f'        <li><a href="/{section_path(item, i)}/">{esc(item)}</a></li>'
                    for i, item in enumerate(site["nav"]))
    first = paragraphs(a["text"])[0]
    description = first if len(first) <= 200 else first[:197].rsplit(" ", 1)[0] + "..."
    body = "\n".join(f"      <p>{esc(p, quote=False)}</p>" for p in paragraphs(a["text"]))
    byline = ""
    if a["author"]:
        byline = f'        <span class="byline">{esc(site["by"] + a["author"], quote=False)}</span>\n'
    related_items = "\n".join(f'        <li><a href="{esc(r["url"])}">{esc(r["title"], quote=False)}</a></li>'
                              for r in related)
    heading, blurb, placeholder, button = site["subscribe"]
    footer = "\n".join(f'      <li><a href="/{"page-" + str(i)}/">{esc(item)}</a></li>'
                       for i, item in enumerate(site["footer"]))
    author_meta = f'  <meta name="author" content="{esc(a["author"])}">\n' if a["author"] else ""
    return f"""<!DOCTYPE html>
<html lang="{site['lang']}" dir="{site['dir']}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{esc(a['title'], quote=False)} | {esc(a['source'])}</title>
  <meta name="description" content="{esc(description)}">
{author_meta}  <meta property="og:site_name" content="{esc(a['source'])}">
  <meta property="og:type" content="article">
  <meta property="og:title" content="{esc(a['title'])}">
  <meta property="og:url" content="{esc(a['url'])}">
  <meta property="og:locale" content="{'ur_PK' if site['lang'] == 'ur' else 'en_PK'}">
  <meta property="article:published_time" content="{published}">
  <link rel="canonical" href="{esc(a['url'])}">
  <link rel="stylesheet" href="/static/site.css">
</head>
<body>
  <header class="site-header">
    <a class="logo" href="https://{domain}/">{esc(a['source'])}</a>
    <span class="tagline">{esc(site['tagline'])}</span>
    <nav class="main-nav">
      <ul>
{nav}
      </ul>
    </nav>
  </header>
  <main>
    <article class="story">
      <header>
        <h1>{esc(a['title'], quote=False)}</h1>
        <div class="story-meta">
{byline}        <time datetime="{published}">{display_date(a['date'])}</time>
        </div>
      </header>
{body}
    </article>
    <aside class="subscribe-box">
      <h2>{esc(heading)}</h2>
      <p>{esc(blurb)}</p>
      <form action="/subscribe" method="post">
        <input type="email" name="email" placeholder="{esc(placeholder)}">
        <button type="submit">{esc(button)}</button>
      </form>
    </aside>
    <aside class="related">
      <h2>{esc(site['related'])}</h2>
      <ul>
{related_items}
      </ul>
    </aside>
  </main>
  <footer class="site-footer">
    <ul>
{footer}
    </ul>
    <p>&copy; {dt.date.fromisoformat(a['date']).year} {esc(site['copyright'])}</p>
  </footer>
</body>
</html>
"""


# --- building ----------------------------------------------------------------------------------------------------

def make_articles(records: list[dict], seed: dict) -> tuple[list[dict], list[str]]:
    """Label-ready article dicts (seed first, then src records by date and id), titles made unique per outlet."""
    notes: list[str] = []
    articles = [{
        "key": "seed", "source": SEED["source"], "title": seed["title"], "date": seed["date"], "lang": "en",
        "kind": SEED["kind"], "stance": SEED["stance"], "syndicated_from": None, "author": None,
        "text": seed["text"], "_where": "seed",
        "claims": [dict(zip(("sentence", "narrative", "stance", "attribution", "claimant"), c, strict=True))
                   for c in SEED["claims"]],
    }]
    for r in sorted(records, key=lambda r: (r["date"], r["id"])):
        articles.append({
            "key": r["id"], "source": r["outlet"], "title": r["title"], "date": r["date"], "lang": r["lang"],
            "kind": r["kind"], "stance": r["stance"], "syndicated_from": r["syndicated_from"],
            "author": r["author"], "text": r["text"], "claims": r["claims"], "_where": r["_where"],
        })
    for claim in articles[0]["claims"]:
        if claim["sentence"] not in seed["text"]:
            raise BuildError(f"seed: label sentence not in the seed text: {claim['sentence'][:80]!r}")
    seen: dict[tuple[str, str], int] = {}
    for a in articles:
        key = (a["source"], a["title"])
        if key in seen:
            seen[key] += 1
            new = f"{a['title']} ({seen[key]})"
            notes.append(f"{a['_where']}: title {a['title']!r} repeats within {a['source']}; stored as {new!r}")
            a["title"] = new
            seen[(a["source"], new)] = 1
        else:
            seen[key] = 1
    urls: set[str] = set()
    for a in articles:
        fmt = OUTLETS[a["source"]][4]
        if a["key"] == "seed":
            a["format"], a["file"], a["url"] = "seed", f"seed/{SEED_NAME}", None
            continue
        if fmt == "text" and a["title"].endswith((".", "!", "?", "۔", "。", ":")):
            notes.append(f"{a['_where']}: title ends in sentence punctuation; written to {TEXT_FALLBACK} instead "
                         "of the plain-text layout")
            fmt = "jsonl-fallback"
        domain = OUTLETS[a["source"]][0]
        a["url"] = f"https://{domain}/{a['date'][:4]}/{slugify(a['title'])}-{a['key']}"
        if a["url"] in urls:
            raise BuildError(f"{a['_where']}: URL {a['url']} repeats")
        urls.add(a["url"])
        a["format"] = {"jsonl-fallback": "jsonl"}.get(fmt, fmt)
        a["file"] = {
            "text": f"text/{a['key']}.txt",
            "jsonl": JSONL_FILES.get(a["source"]),
            "jsonl-fallback": TEXT_FALLBACK,
            "csv": CSV_FILE,
            "rss": RSS_FILES.get(a["source"]),
            "html": f"html/{a['key']}.html",
        }[fmt]
        if fmt == "text":
            a["url"] = None  # the seed layout carries no URL
    for a in articles:
        a["claim_rows"] = []
        for c in a["claims"]:
            start = a["text"].index(c["sentence"])
            a["claim_rows"].append({"article": a["key"], "sentence": c["sentence"], "start": start,
                                    "end": start + len(c["sentence"]), "narrative": c["narrative"],
                                    "stance": c["stance"], "attribution": c["attribution"],
                                    "claimant": c["claimant"]})
    return articles, notes


def render_corpus(articles: list[dict], seed_bytes: bytes, notes: list[str]) -> dict[str, bytes]:
    """Relative path (under the dataset folder) -> file content."""
    files: dict[str, bytes] = {f"corpus/seed/{SEED_NAME}": seed_bytes}
    grouped: dict[str, list[dict]] = defaultdict(list)
    for a in articles:
        if a["key"] != "seed":
            grouped[a["file"]].append(a)
    by_outlet: dict[str, list[dict]] = defaultdict(list)
    for a in articles:
        by_outlet[a["source"]].append(a)
    for path, group in sorted(grouped.items()):
        fmt = group[0]["format"]
        if fmt == "text":
            files[f"corpus/{path}"] = render_text(group[0]).encode("utf-8")
        elif fmt == "jsonl":
            files[f"corpus/{path}"] = "".join(render_jsonl_line(a) for a in group).encode("utf-8")
        elif fmt == "csv":
            files[f"corpus/{path}"] = render_csv(sorted(group, key=lambda a: (a["source"], a["date"], a["key"])),
                                                 notes).encode("utf-8")
        elif fmt == "rss":
            files[f"corpus/{path}"] = render_rss(group[0]["source"], group).encode("utf-8")
        elif fmt == "html":
            a = group[0]
            siblings = by_outlet[a["source"]]
            index = siblings.index(a)
            related = [s for s in siblings[max(0, index - 3):index] + siblings[index + 1:index + 2]][-3:]
            files[f"corpus/{path}"] = render_html(a, related).encode("utf-8")
    return files


def assign_splits(articles: list[dict]) -> dict[str, str]:
    """Each article's half of the labels: ``tune`` (rules, aliases and thresholds are chosen here) or ``report``
    (figures in the README come from here).

    The split is by article, stratified by outlet and stance, so both halves hold every outlet and stance in the
    same proportions and a figure on one half says nothing about having looked at the other. A syndicated copy
    goes with its original (the text is nearly the same). Within a stratum, articles are ordered by a hash of
    their key and alternate between the halves, starting at a hash-chosen half: deterministic, and independent
    of the order in which the parts were written.
    """
    root = {a["key"]: a["syndicated_from"] or a["key"] for a in articles}
    strata: dict[tuple[str, str], list[str]] = {}
    for a in articles:
        if root[a["key"]] == a["key"]:
            strata.setdefault((a["source"], a["stance"]), []).append(a["key"])
    half: dict[str, str] = {}
    for (source, stance), keys in sorted(strata.items()):
        keys.sort(key=lambda k: hashlib.sha256(k.encode("utf-8")).hexdigest())
        first = stable_int(f"{source}|{stance}", 0, 1)
        for i, key in enumerate(keys):
            half[key] = ("tune", "report")[(i + first) % 2]
    return {a["key"]: half[root[a["key"]]] for a in articles}


def label_files(articles: list[dict]) -> dict[str, bytes]:
    def jsonl(rows: list[dict]) -> bytes:
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")

    fields = ("key", "source", "title", "date", "url", "file", "lang", "kind", "stance", "syndicated_from")
    split = assign_splits(articles)
    article_rows = [{**{k: a[k] for k in fields}, "split": split[a["key"]]} for a in articles]
    claim_rows = [row for a in articles for row in a["claim_rows"]]
    narrative_rows = [{"id": i, "name": n, "description": d} for i, n, d in NARRATIVES]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["name", "domain", "country", "language", "kind"])
    for name, (domain, country, language, kind, _fmt) in OUTLETS.items():
        writer.writerow([name, domain, country, language, kind])
    return {
        "labels/articles.jsonl": jsonl(article_rows),
        "labels/claims.jsonl": jsonl(claim_rows),
        "labels/narratives.jsonl": jsonl(narrative_rows),
        "sources.csv": buffer.getvalue().encode("utf-8"),
    }


# --- statistics --------------------------------------------------------------------------------------------------

PERIODS = [("2015-18", "2015", "2018"), ("2019-20", "2019", "2020"), ("2021-22", "2021", "2022"),
           ("2023-25", "2023", "2025")]
FORMAT_NAMES = {"seed": "text (seed)", "text": "text", "jsonl": "JSON Lines", "csv": "CSV", "rss": "RSS",
                "html": "HTML"}


def md_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def stance_mix(group: list[dict]) -> str:
    c = Counter(a["stance"] for a in group)
    return f"{c['favor']}/{c['against']}/{c['none']}" if group else "-"


def tables(articles: list[dict]) -> dict[str, str]:
    claims = [row for a in articles for row in a["claim_rows"]]
    by_key = {a["key"]: a for a in articles}
    out: dict[str, str] = {}
    outlet_rows = []
    for name, (_domain, country, language, kind, _fmt) in OUTLETS.items():
        group = [a for a in articles if a["source"] == name]
        formats = sorted({FORMAT_NAMES[a["format"]] for a in group})
        periods = [stance_mix([a for a in group if lo <= a["date"][:4] <= hi]) for _, lo, hi in PERIODS]
        outlet_rows.append([name, country, kind, language, ", ".join(formats) or "-", len(group),
                            sum(len(a["claim_rows"]) for a in group), OUTLET_TREND[name], stance_mix(group),
                            *periods])
    out["outlets"] = md_table(["Outlet", "Country", "Kind", "Lang", "Format", "Articles", "Labelled sentences",
                               "Stance trend (brief)", "Stance f/a/n", *[f"{p} f/a/n" for p, _, _ in PERIODS]],
                              outlet_rows)
    narrative_rows = []
    for nid, name, _ in NARRATIVES:
        rows = [c for c in claims if c["narrative"] == nid]
        outlets = {by_key[c["article"]]["source"] for c in rows}
        att = Counter(c["attribution"] for c in rows)
        st = Counter(c["stance"] for c in rows)
        narrative_rows.append([nid, name, len(rows), len({c["article"] for c in rows}), len(outlets),
                               f"{att['assert']}/{att['report']}/{att['refute']}",
                               f"{st['favor']}/{st['against']}/{st['none']}"])
    out["narratives"] = md_table(["Id", "Name", "Labelled sentences", "Articles", "Outlets",
                                  "assert/report/refute", "Stance f/a/n"], narrative_rows)
    fmt_rows = []
    for fmt in FORMAT_DIRS:
        group = [a for a in articles if a["format"] == fmt]
        fmt_rows.append([FORMAT_NAMES[fmt], f"corpus/{fmt}/", len({a['file'] for a in group}), len(group)])
    out["formats"] = md_table(["Format", "Folder", "Files", "Articles"], fmt_rows)
    lang_rows = [[lang, sum(a["lang"] == lang for a in articles),
                  sum(by_key[c["article"]]["lang"] == lang for c in claims)] for lang in sorted(LANGS)]
    out["languages"] = md_table(["Language", "Articles", "Labelled sentences"], lang_rows)
    kind_rows = [[k, v] for k, v in sorted(Counter(a["kind"] for a in articles).items())]
    out["kinds"] = md_table(["Kind", "Articles"], kind_rows)
    years = Counter(a["date"][:4] for a in articles)
    out["years"] = md_table(["Year", *sorted(years)], [["Articles", *[years[y] for y in sorted(years)]]])
    hard = hard_cases(articles)
    out["hard"] = md_table(["Hard case", "Count", "Examples (article keys)"],
                           [[name, len(keys), ", ".join(keys[:6])] for name, keys in hard])
    att = Counter(c["attribution"] for c in claims)
    st = Counter(c["stance"] for c in claims)
    ast = Counter(a["stance"] for a in articles)
    syndicated = sum(1 for a in articles if a["syndicated_from"])
    out["totals"] = md_table(["Measure", "Count"], [
        ["Articles", len(articles)],
        ["Outlets", len({a["source"] for a in articles})],
        ["Narratives", len({c["narrative"] for c in claims})],
        ["Labelled sentences (claim rows)", len(claims)],
        ["Distinct labelled sentences", len({(c["article"], c["start"]) for c in claims})],
        ["Languages", len({a["lang"] for a in articles})],
        ["Syndicated copies", syndicated],
        ["Article stance favor/against/none", f"{ast['favor']}/{ast['against']}/{ast['none']}"],
        ["Sentence stance favor/against/none", f"{st['favor']}/{st['against']}/{st['none']}"],
        ["Attribution assert/report/refute", f"{att['assert']}/{att['report']}/{att['refute']}"],
        ["Articles with no labelled sentence", sum(1 for a in articles if not a["claim_rows"])],
    ])
    return out


def hard_cases(articles: list[dict]) -> list[tuple[str, list[str]]]:
    """(description, article keys) for the kinds of hard case the brief asked for."""
    def keys(pred) -> list[str]:
        return [a["key"] for a in articles if pred(a)]

    def claims_where(pred):
        return lambda a: any(pred(c) for c in a["claim_rows"])

    def narratives(a: dict) -> set[str]:
        return {c["narrative"] for c in a["claim_rows"]}

    def multi_label(a: dict) -> bool:
        starts = Counter(c["start"] for c in a["claim_rows"])
        return any(n > 1 for n in starts.values())

    return [
        ("Refutations (attribution refute)", keys(claims_where(lambda c: c["attribution"] == "refute"))),
        ("N10 refuted: criticism called legitimate, not disinformation",
         keys(claims_where(lambda c: c["narrative"] == "N10" and c["attribution"] == "refute"))),
        ("Reported claims the outlet relays (attribution report)",
         keys(claims_where(lambda c: c["attribution"] == "report"))),
        ("Sentence stance opposite to the article's stance",
         keys(lambda a: a["stance"] in ("favor", "against") and any(
             c["stance"] == {"favor": "against", "against": "favor"}[a["stance"]] for c in a["claim_rows"]))),
        ("One sentence labelled with two or more narratives", keys(multi_label)),
        ("Articles touching four or more narratives", keys(lambda a: len(narratives(a)) >= 4)),
        ("Opinion, editorial and analysis pieces",
         keys(lambda a: a["kind"] in ("opinion", "editorial", "analysis"))),
        ("Fact-checks", keys(lambda a: a["kind"] == "factcheck")),
        ("CPEC in passing: article stance none, at most one labelled sentence",
         keys(lambda a: a["stance"] == "none" and len(a["claim_rows"]) <= 1)),
        ("Syndicated copies of wire stories", keys(lambda a: bool(a["syndicated_from"]))),
        ("Urdu articles", keys(lambda a: a["lang"] == "ur")),
        ("Chinese articles", keys(lambda a: a["lang"] == "zh")),
    ]


def stats_markdown(t: dict[str, str]) -> str:
    return "\n".join([
        "# CPEC corpus: counts",
        "",
        "Generated by `python datasets/cpec/build.py` from `src/` and the seed; do not edit by hand. "
        "See [README.md](README.md) for what the numbers mean.",
        "",
        "## Totals", "", t["totals"], "",
        "## Formats", "", t["formats"], "",
        "## Languages", "", t["languages"], "",
        "## Outlets",
        "",
        "Stance columns count articles by article-level stance, favor/against/none, overall and per period.",
        "",
        t["outlets"], "",
        "## Narratives",
        "",
        "A sentence that carries two narratives is one row per narrative.",
        "",
        t["narratives"], "",
        "## Hard cases", "", t["hard"], "",
        "## Article kinds", "", t["kinds"], "",
        "## Articles per year", "", t["years"], "",
    ])


README_BEGIN = "<!-- BEGIN GENERATED TABLES (python datasets/cpec/build.py) -->"
README_END = "<!-- END GENERATED TABLES -->"


def readme_block(t: dict[str, str]) -> str:
    return "\n".join([
        README_BEGIN, "",
        "### Totals", "", t["totals"], "",
        "### Outlets", "",
        "Stance columns count articles by article-level stance, favor/against/none, overall and per period.",
        "", t["outlets"], "",
        "### Narratives", "", t["narratives"], "",
        "### Formats", "", t["formats"], "",
        "### Languages", "", t["languages"], "",
        "### Hard cases", "", t["hard"], "",
        README_END,
    ])


def update_readme(path: Path, block: str) -> bytes | None:
    """README text with the generated block replaced, or None when there is no README or no markers."""
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    if README_BEGIN not in text or README_END not in text:
        return None
    head, rest = text.split(README_BEGIN, 1)
    _, tail = rest.split(README_END, 1)
    return (head + block + tail).encode("utf-8")


# --- main --------------------------------------------------------------------------------------------------------

def build(out: Path, *, src_dir: Path | None = None, quiet: bool = False) -> dict:
    """Build everything into ``out``; return a summary (articles, notes, warnings, tables)."""
    src_dir = src_dir or HERE / "src"
    records, warnings = load_records(src_dir)
    seed_path = find_seed()
    seed_bytes = seed_path.read_bytes()
    seed = parse_seed(seed_bytes)
    articles, notes = make_articles(records, seed)
    files = render_corpus(articles, seed_bytes, notes)
    files.update(label_files(articles))
    t = tables(articles)
    files["STATS.md"] = stats_markdown(t).encode("utf-8")
    readme = update_readme(out / "README.md", readme_block(t))
    if readme is not None:
        files["README.md"] = readme
    write_tree(out, files)
    summary = {"articles": articles, "notes": notes, "warnings": warnings, "tables": t, "files": files}
    if not quiet:
        print(stats_markdown(t))
        for note in notes:
            print("note:", note)
        for warning in warnings:
            print("warning:", warning)
        print(f"built {len(articles)} articles into {out}")
    return summary


def write_tree(out: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` under ``out``; remove stale files from corpus/ and labels/ so a rebuild is exact."""
    for folder in ("corpus", "labels"):
        root = out / folder
        if root.is_dir():
            for dirpath, _dirs, names in os.walk(root):
                for name in names:
                    rel = os.path.relpath(os.path.join(dirpath, name), out).replace(os.sep, "/")
                    if rel not in files:
                        os.remove(os.path.join(dirpath, name))
    for rel, data in sorted(files.items()):
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_file() and path.read_bytes() == data:
            continue
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)


def check_ingest(out: Path, articles: list[dict] | None = None, *, quiet: bool = False) -> dict:
    """Ingest ``out/corpus`` with tracker into an in-memory store and check the labels against it.

    Returns a report dict; ``report["errors"]`` lists every failure (empty when all is well).
    """
    from tracker.ingest import ingest, load_sources
    from tracker.store import Store

    if articles is None:
        labels = [json.loads(line) for line in (out / "labels/articles.jsonl").read_text("utf-8").splitlines()]
    else:
        labels = [{k: a[k] for k in ("key", "source", "title", "date", "url", "file", "syndicated_from")}
                  for a in articles]
    claims: dict[str, list[dict]] = defaultdict(list)
    for line in (out / "labels/claims.jsonl").read_text("utf-8").splitlines():
        row = json.loads(line)
        claims[row["article"]].append(row)
    src_text = {a["key"]: a["text"] for a in articles} if articles else {}
    store = Store(":memory:")
    db = store.db
    load_sources(store, str(out / "sources.csv"))
    report = ingest(store, [str(out / "corpus")])
    errors: list[str] = [f"rejected: {p}" for p in report.problems if not str(p).startswith("warning")]
    if report.rejected:
        errors.append(f"{report.rejected} records rejected")
    rows = db.execute(
        "SELECT a.id, s.name, a.title, a.published, a.url, a.text, a.duplicate_of, a.duplicate_similarity "
        "FROM articles a LEFT JOIN sources s ON s.id = a.source_id").fetchall()
    stored: dict[tuple, list] = defaultdict(list)
    for row in rows:
        stored[(row[1], row[2])].append(row)
    found: dict[str, tuple] = {}
    exact_text = 0
    for label in labels:
        hits = stored.get((label["source"], label["title"]), [])
        if len(hits) != 1:
            errors.append(f"{label['key']}: {len(hits)} stored articles for ({label['source']!r}, "
                          f"{label['title']!r}) [{label['file']}]")
            continue
        row = hits[0]
        found[label["key"]] = row
        if row[3] != label["date"]:
            errors.append(f"{label['key']}: stored date {row[3]} != label date {label['date']} [{label['file']}]")
        if label.get("url") and row[4] != label["url"]:
            errors.append(f"{label['key']}: stored URL {row[4]} != label URL {label['url']}")
        for c in claims.get(label["key"], []):
            if c["sentence"] not in row[5]:
                errors.append(f"{label['key']}: sentence not in stored text [{label['file']}]: "
                              f"{c['sentence'][:80]!r}")
        if src_text and row[5] == src_text.get(label["key"]):
            exact_text += 1
    if len(rows) != len(labels):
        errors.append(f"store has {len(rows)} articles, labels list {len(labels)}")
    pairs = []
    for label in labels:
        if label["syndicated_from"] and label["key"] in found and label["syndicated_from"] in found:
            copy, original = found[label["key"]], found[label["syndicated_from"]]
            root_copy, root_orig = copy[6] or copy[0], original[6] or original[0]
            pairs.append((label["key"], label["syndicated_from"], root_copy == root_orig,
                          copy[7] if copy[6] else original[7]))
    result = {
        "read": report.read, "stored": report.stored, "rejected": report.rejected,
        "duplicates": report.duplicates, "near_duplicates": report.near_duplicates,
        "found": len(found), "labels": len(labels), "exact_text": exact_text,
        "syndicated_pairs": pairs, "errors": errors,
    }
    if not quiet:
        linked = sum(1 for p in pairs if p[2])
        print(f"ingest: read {report.read}, stored {report.stored}, rejected {report.rejected}, "
              f"exact duplicates {report.duplicates}, near-duplicates {report.near_duplicates}")
        print(f"labels found in store: {len(found)}/{len(labels)}; stored text identical to src text: "
              f"{exact_text}/{len(found)}")
        print(f"syndicated copies linked to their original as near-duplicates: {linked}/{len(pairs)}")
        for copy, original, ok, sim in pairs:
            print(f"  {copy} <- {original}: {'linked' if ok else 'NOT linked'}"
                  + (f" (similarity {sim})" if ok and sim is not None else ""))
        for error in errors:
            print("ERROR:", error)
        if any(CSV_FILE in e for e in errors):
            print(f"note: problems in {CSV_FILE} come from tracker's CSV reader trusting csv.Sniffer's "
                  "doublequote guess (README.md, 'Known tracker problems')")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder to build into (default: this folder)")
    parser.add_argument("--check-ingest", action="store_true",
                        help="ingest the built corpus with tracker and check every label round-trips")
    parser.add_argument("--quiet", action="store_true", help="print only problems")
    args = parser.parse_args(argv)
    try:
        summary = build(args.out.resolve(), quiet=args.quiet)
    except BuildError as exc:
        print(f"build.py: error: {exc}", file=sys.stderr)
        return 1
    if args.check_ingest:
        result = check_ingest(args.out.resolve(), summary["articles"], quiet=False)
        if result["errors"]:
            print(f"build.py: error: ingest round trip failed ({len(result['errors'])} problems)", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
