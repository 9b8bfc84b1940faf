"""Readers: one per input format. Each yields ``(origin, fields)`` for every record, or raises/yields errors.

A reader never touches the store. It yields :class:`Item`: either the raw fields of one record (a dict keyed by
article field names, see :data:`tracker.ingest.normalise.FIELD_SYNONYMS`) or a problem with that record, so one
broken CSV row or JSON line is reported and the rest still ingests.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tracker.ingest.normalise import BadArticle, parse_date, pick_fields


@dataclass(frozen=True)
class Item:
    """One record read from an input: its origin ("file:line 3") and its fields, or an error message."""

    origin: str
    fields: dict[str, Any] | None = None
    error: str | None = None


FORMATS = ("text", "jsonl", "json", "csv", "html", "feed")
EXTENSIONS = {
    ".txt": "text", ".text": "text", ".md": "text",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json",
    ".csv": "csv", ".tsv": "csv",
    ".html": "html", ".htm": "html", ".xhtml": "html",
    ".xml": "feed", ".rss": "feed", ".atom": "feed",
}


def decode(data: bytes, name: str) -> str:
    """Decode bytes as UTF-8 (with or without BOM) or, failing that, the detected encoding.

    Raises:
        BadArticle: the bytes are binary or in no recognisable text encoding.
    """
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    if b"\x00" in data[:4096]:
        raise BadArticle("binary file, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is None or best.chaos > 0.3:
        raise BadArticle("cannot decode: not UTF-8 and no other text encoding fits")
    # Short Western text fits cp1250, cp1252 and cp1257 equally well (no mess in any), and the language-based
    # tie-break is unreliable on short text ("très" came out as "trčs", "naïve" as "naďve"). When cp1252, the usual
    # legacy encoding and a superset of latin-1's text, fits as cleanly as the best guess, take it.
    for match in matches:
        if match.encoding == "cp1252" and match.chaos <= best.chaos:
            return str(match)
    return str(best)


def sniff_format(text: str) -> str:
    """Guess the format of untyped input (stdin, a URL without a telling content type)."""
    head = text.lstrip()[:2000].lower()
    if head.startswith("{"):
        first_line = text.lstrip().split("\n", 1)[0]
        try:
            json.loads(first_line)
            return "jsonl"
        except ValueError:
            return "json"
    if head.startswith("["):
        return "json"
    if "<rss" in head or "<feed" in head or "<rdf:rdf" in head:
        return "feed"
    if head.startswith("<!doctype html") or "<html" in head or "<body" in head:
        return "html"
    if head.startswith("<?xml"):
        return "feed"
    first = text.split("\n", 1)[0]
    if (first.count(",") >= 2 or "\t" in first) and _same_width(text, "\t" if "\t" in first else ","):
        return "csv"
    return "text"


def _same_width(text: str, delimiter: str) -> bool:
    """Whether the first two records have the same number of fields (a date line such as "February, 22, 2024"
    followed by a title has commas too, but is not a CSV header)."""
    rows = csv.reader(io.StringIO(text[:20000], newline=""), delimiter=delimiter)
    try:
        header = next(rows)
        second = next((row for row in rows if any(cell.strip() for cell in row)), None)
    except (csv.Error, StopIteration):
        return False
    return second is not None and len(second) == len(header)


def format_for(name: str) -> str | None:
    lowered = name.lower()
    if lowered.endswith(".gz"):
        lowered = lowered[:-3]
    for ext, fmt in EXTENSIONS.items():
        if lowered.endswith(ext):
            return fmt
    return None


def maybe_gunzip(data: bytes, name: str) -> bytes:
    if name.lower().endswith(".gz") or data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise BadArticle(f"broken gzip data ({exc})") from exc
    return data


def read(text: str, fmt: str, name: str, mapping: dict[str, str]) -> Iterator[Item]:
    """Yield the records of ``text`` in format ``fmt``; ``name`` labels origins."""
    readers = {"text": read_text, "jsonl": read_jsonl, "json": read_json, "csv": read_csv,
               "html": read_html, "feed": read_feed}
    yield from readers[fmt](text, name, mapping)


# --- plain text (the seed's layout) ---------------------------------------------------------------------------

_DATELINE = re.compile(r"^(?P<source>[A-Z][\w.&'’ -]{1,60}?)\s*:\s+(?=\S)")


def read_text(text: str, name: str, mapping: dict[str, str]) -> Iterator[Item]:
    """A plain-text article, optionally in the seed's layout.

    Layout: a date line ("February, 22, 2024"), a title (possibly repeated), then paragraphs, the first of which
    may open with a dateline source ("Infostani International: ..."). Any part may be missing.
    """
    lines = text.split("\n")
    fields: dict[str, Any] = {}
    i = 0

    def next_nonempty(j: int) -> int:
        while j < len(lines) and not lines[j].strip():
            j += 1
        return j

    i = next_nonempty(i)
    if i < len(lines) and len(lines[i]) < 60 and _looks_like_date(lines[i]):
        fields["published"] = lines[i].strip()
        i = next_nonempty(i + 1)
    if i < len(lines):
        candidate = lines[i].strip()
        following = next_nonempty(i + 1)
        is_title = len(candidate) < 200 and not candidate.endswith((".", "!", "?", "۔", "。", ":")) and (
            following < len(lines)
        )
        if is_title:
            fields["title"] = candidate
            i = following
            if i < len(lines) and lines[i].strip() == candidate:  # the seed repeats its title
                i = next_nonempty(i + 1)
    body = "\n".join(lines[i:]).strip()
    match = _DATELINE.match(body)
    # "Infostani International: ..." names the outlet; an all-caps place dateline ("ISLAMABAD: ...") does not.
    if match and _outlet_like(match.group("source")):
        fields["source"] = match.group("source").strip()
        body = body[match.end():]
    fields["text"] = body
    yield Item(origin=name, fields=fields)


_CONNECTORS = {"of", "the", "and", "for", "de", "al", "&"}


def _outlet_like(name: str) -> bool:
    """A dateline outlet ("Infostani International"): a few capitalised words, not an all-caps place
    ("ISLAMABAD") and not the start of a sentence ("The minister said")."""
    words = name.split()
    return (0 < len(words) <= 6 and not name.isupper()
            and all(w[:1].isupper() or w.lower() in _CONNECTORS for w in words))


def _looks_like_date(line: str) -> bool:
    if not re.search(r"\d{4}|\d{1,2}[/.-]\d{1,2}", line):
        return False
    try:
        return parse_date(line.strip()) is not None
    except ValueError:
        return False


# --- JSON ------------------------------------------------------------------------------------------------------

def read_jsonl(text: str, name: str, mapping: dict[str, str]) -> Iterator[Item]:
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        origin = f"{name}:line {number}"
        try:
            record = json.loads(line)
        except ValueError as exc:
            yield Item(origin, error=f"invalid JSON ({exc.args[0] if exc.args else exc})")
            continue
        if not isinstance(record, dict):
            yield Item(origin, error="expected a JSON object per line")
            continue
        yield Item(origin, fields=pick_fields(record, mapping))


def read_json(text: str, name: str, mapping: dict[str, str]) -> Iterator[Item]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        if text.lstrip().startswith("{") and "\n" in text.strip():
            yield from read_jsonl(text, name, mapping)  # a .json file that is really JSON Lines
            return
        yield Item(name, error=f"invalid JSON ({exc})")
        return
    if isinstance(data, dict):
        # {"articles": [...]} or a single article
        lists = [v for v in data.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
        data = lists[0] if len(lists) == 1 else [data]
    if not isinstance(data, list):
        yield Item(name, error="expected a JSON array of objects")
        return
    for number, record in enumerate(data, start=1):
        origin = f"{name}:item {number}"
        if not isinstance(record, dict):
            yield Item(origin, error="expected a JSON object")
            continue
        yield Item(origin, fields=pick_fields(record, mapping))


# --- CSV / TSV -------------------------------------------------------------------------------------------------

def read_csv(text: str, name: str, mapping: dict[str, str]) -> Iterator[Item]:
    """CSV or TSV with a header row; the delimiter is detected. Rows are numbered as in a spreadsheet."""
    csv.field_size_limit(1 << 28)
    # Only the delimiter is sniffed: the sniffer's guesses about quoting are unreliable on prose (it often
    # decides quotes are not doubled), and every real export quotes the standard way.
    try:
        delimiter = csv.Sniffer().sniff(text[:20000], delimiters=",\t;|").delimiter
    except csv.Error:
        delimiter = "\t" if name.lower().endswith((".tsv", ".tsv.gz")) else ","
    dialect: Any = type("Detected", (csv.excel,), {"delimiter": delimiter})
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = next(reader)
    except StopIteration:
        yield Item(name, error="empty CSV file")
        return
    except csv.Error as exc:
        yield Item(f"{name}:row 1", error=f"broken CSV header ({exc})")
        return
    header = [h.strip() for h in header]
    wanted = pick_fields({h: h for h in header}, mapping)
    unknown = [h for h in header if h and h not in wanted.values()]
    # no text column: a headline list (every column known, one a title) has each title as its text; any other
    # file may hold its text under a name tracker does not know, so it must be named
    if not wanted.get("text") and (not wanted.get("title") or unknown):
        yield Item(name, error=f"no text column among {header}; use --map text=COLUMN")
        return
    row_number = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            row_number += 1
            yield Item(f"{name}:row {row_number}", error=f"broken CSV row ({exc})")
            continue
        row_number += 1
        if not any(cell.strip() for cell in row):
            continue
        origin = f"{name}:row {row_number}"
        if len(row) != len(header):
            yield Item(origin, error=f"expected {len(header)} columns, found {len(row)}")
            continue
        yield Item(origin, fields=pick_fields(dict(zip(header, row)), mapping))


# --- HTML and feeds --------------------------------------------------------------------------------------------

def read_html(text: str, name: str, mapping: dict[str, str]) -> Iterator[Item]:
    """A saved web page: main text and metadata extracted with trafilatura."""
    import trafilatura

    try:
        doc = trafilatura.bare_extraction(text, with_metadata=True, include_comments=False,
                                          include_tables=False, favor_precision=True)
    except Exception as exc:  # trafilatura raises assorted lxml errors on broken markup
        yield Item(name, error=f"cannot parse HTML ({type(exc).__name__}: {exc})")
        return
    if doc is None:
        yield Item(name, error="no article text found in HTML")
        return
    data = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    # trafilatura puts one newline between paragraphs; every other reader keeps a blank line.
    paragraphs = [line.strip() for line in (data.get("text") or "").split("\n") if line.strip()]
    fields = {
        "text": "\n\n".join(paragraphs),
        "title": data.get("title"),
        "published": data.get("date"),
        "source": data.get("sitename") or data.get("hostname"),
        "url": data.get("url"),
        "author": data.get("author"),
        "language": data.get("language"),
    }
    yield Item(name, fields=fields)


def html_fragment_to_text(fragment: str) -> str:
    """Text of an HTML fragment (a feed entry's content), paragraphs separated by blank lines."""
    if "<" not in fragment:
        return fragment
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except Exception:  # noqa: BLE001 - unparseable fragment: fall back to stripping tags
        return re.sub(r"<[^>]+>", " ", fragment)
    for br in root.iter("br"):
        br.tail = "\n" + (br.tail or "")
    blocks = [el.text_content().strip() for el in root.iter("p", "li", "h1", "h2", "h3", "h4", "blockquote")]
    blocks = [b for b in blocks if b]
    return "\n\n".join(blocks) if blocks else root.text_content()


def read_feed(text: str, name: str, mapping: dict[str, str]) -> Iterator[Item]:
    """An RSS or Atom feed: one record per entry (full content where the feed has it, else the summary)."""
    import feedparser

    parsed = feedparser.parse(text)
    if parsed.bozo and not parsed.entries:
        reason = getattr(parsed, "bozo_exception", "unknown error")
        yield Item(name, error=f"broken feed ({reason})")
        return
    if not parsed.entries:
        yield Item(name, error="feed has no entries")
        return
    feed_title = parsed.feed.get("title")
    for number, entry in enumerate(parsed.entries, start=1):
        content = ""
        if entry.get("content"):
            content = max((c.get("value", "") for c in entry["content"]), key=len)
        content = content or entry.get("summary", "") or entry.get("description", "")
        source = entry.get("source", {}).get("title") if entry.get("source") else None
        date = entry.get("published_parsed") or entry.get("updated_parsed") or entry.get("published")
        fields = {
            "text": html_fragment_to_text(content),
            "title": entry.get("title"),
            "published": date,
            "source": source or feed_title,
            "url": entry.get("link"),
            "author": entry.get("author"),
            "external_id": entry.get("id"),
            "language": parsed.feed.get("language"),
        }
        # explicit --map columns may name extension elements (e.g. dc_source)
        for field, key in mapping.items():
            if entry.get(key):
                fields[field] = entry.get(key)
        yield Item(f"{name}:entry {number}", fields=fields)
