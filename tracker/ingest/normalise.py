"""Turning raw input fields into an :class:`~tracker.records.Article`: text clean-up, dates, language."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import warnings
from functools import lru_cache
from typing import Any

from tracker import TrackerError
from tracker.records import Article


class BadArticle(TrackerError):
    """An input record could not be read as an article."""


# Field names that mean the same thing in real exports; the first present wins. ``--map`` overrides these.
FIELD_SYNONYMS: dict[str, tuple[str, ...]] = {
    "text": ("text", "body", "content", "full_text", "fulltext", "article", "article_text", "maintext",
             "story", "content_text", "body_text"),
    "title": ("title", "headline", "heading", "name"),
    "published": ("published", "date", "published_date", "publish_date", "pubdate", "pub_date", "published_at",
                  "publication_date", "datetime", "timestamp", "created_at", "date_published", "time"),
    "source": ("source", "outlet", "publisher", "source_name", "site", "sitename", "media", "newspaper",
               "publication", "domain"),
    "url": ("url", "link", "href", "permalink", "article_url", "canonical_url"),
    "language": ("language", "lang", "locale"),
    "author": ("author", "byline", "authors", "writer"),
    "external_id": ("id", "article_id", "guid", "uid", "doc_id"),
    "source_country": ("country", "source_country", "outlet_country"),
}
FIELDS = tuple(FIELD_SYNONYMS)

EARLIEST = dt.date(1900, 1, 1)


def parse_mapping(spec: str | None) -> dict[str, str]:
    """Parse ``--map text=body,date=published_date`` into {field: column}.

    ``date`` is accepted as another name for ``published``, ``country`` for ``source_country``, ``id`` for
    ``external_id``.
    """
    aliases = {"date": "published", "country": "source_country", "id": "external_id", "lang": "language"}
    mapping: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in (spec or "").split(","))):
        field, sep, column = part.partition("=")
        field = aliases.get(field.strip(), field.strip())
        if not sep or not column.strip():
            raise TrackerError(f"--map: expected FIELD=COLUMN, got {part!r}")
        if field not in FIELD_SYNONYMS:
            raise TrackerError(f"--map: unknown field {field!r}; fields are {', '.join(FIELDS)}, date")
        mapping[field] = column.strip()
    return mapping


def pick_fields(record: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    """Find each article field in ``record`` by the explicit mapping, else by known synonyms (case-insensitive)."""
    lowered = {str(k).strip().lower(): v for k, v in record.items()}
    out: dict[str, Any] = {}
    for field, synonyms in FIELD_SYNONYMS.items():
        if field in mapping:
            column = mapping[field]
            value = record.get(column, lowered.get(column.lower()))
        else:
            value = next((lowered[s] for s in synonyms if lowered.get(s) not in (None, "")), None)
        if isinstance(value, dict):  # e.g. {"source": {"name": "Dawn"}}
            value = value.get("name") or value.get("title") or value.get("value")
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value if v)
        out[field] = value
    return out


_NEWLINES = re.compile(r"\r\n?")
_TRAILING = re.compile(r"[ \t]+\n")
_BLANKS = re.compile(r"\n{3,}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    """Normalise newlines and Unicode (NFC), drop control characters, trim; paragraphs stay blank-line separated."""
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub("", _NEWLINES.sub("\n", text)).replace("\u00a0", " ")
    text = _BLANKS.sub("\n\n", _TRAILING.sub("\n", text))
    return text.strip()


class DateProblem(ValueError):
    """A date string that is present but cannot be used."""


def parse_date(value: Any, *, today: dt.date | None = None) -> str | None:
    """Return an ISO date for ``value``, ``None`` when it is empty.

    Accepts ISO 8601, RFC 2822 (feeds), "February, 22, 2024", "22 Feb 2024", epoch seconds, ``datetime``/``date``
    and ``time.struct_time`` values. A date needs a year, month and day; nothing is filled in.

    Raises:
        DateProblem: unparseable or incomplete (message says why), or absurd: before 1900 or after tomorrow.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    today = today or dt.date.today()
    if isinstance(value, dt.datetime):
        date = value.date()
    elif isinstance(value, dt.date):
        date = value
    elif hasattr(value, "tm_year"):  # time.struct_time from feedparser
        date = dt.date(value.tm_year, value.tm_mon, value.tm_mday)
    elif isinstance(value, int) and not isinstance(value, bool) and 19000101 <= value <= 29991231:
        date = _parse_date_string(str(value))  # 20240222 from a spreadsheet: YYYYMMDD, not epoch seconds
    elif (isinstance(value, int | float) and not isinstance(value, bool)) or (
        isinstance(value, str) and re.fullmatch(r"\d{9,13}", value.strip())
    ):  # epoch seconds or milliseconds (``true`` is no date, not 1970-01-01)
        seconds = float(value)
        if abs(seconds) >= 1e11:  # epoch milliseconds (JavaScript, Java exports): 1e11 s is the year 5138
            seconds /= 1000
        try:
            date = dt.datetime.fromtimestamp(seconds, tz=dt.UTC).date()
        except (ValueError, OverflowError, OSError) as exc:  # far outside what the platform can represent
            raise DateProblem(
                f"absurd date {str(value).strip()!r} (outside {EARLIEST.isoformat()}..today)"
            ) from exc
    else:
        date = _parse_date_string(str(value).strip())
    if date < EARLIEST or date > today + dt.timedelta(days=1):
        raise DateProblem(f"absurd date {str(value).strip()!r} (outside {EARLIEST.isoformat()}..today)")
    return date.isoformat()


def _parse_date_string(text: str) -> dt.date:
    from dateutil import parser

    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError as exc:
            raise DateProblem(f"invalid date {text!r}") from exc
    parsed = []
    for default in (dt.datetime(1111, 1, 1), dt.datetime(2222, 2, 2)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                parsed.append(parser.parse(text, default=default, dayfirst=False))
        except (ValueError, OverflowError) as exc:
            raise DateProblem(f"unreadable date {text!r}") from exc
    first, second = parsed
    if (first.year, first.month, first.day) != (second.year, second.month, second.day):
        raise DateProblem(f"incomplete date {text!r} (needs year, month and day)")
    return first.date()


# Languages a text may be identified as: the widely written ones. py3langid also knows creoles, regional varieties
# and dead languages (Nigerian Pidgin, Wu Chinese, Latin...) that short English or Chinese lines resemble: among
# 10,389 one-line English claims, 92 were read as one of those and left out of the English narratives.
LANGUAGES = ("af am ar az be bg bn bs ca cs cy da de el en eo es et eu fa fi fr ga gl gu he hi hr hu hy id is it ja "
             "ka kk km kn ko ku ky lo lt lv mk ml mn mr ms my ne nl no pa pl ps pt ro ru si sk sl so sq sr sv sw ta "
             "te th tl tr uk ur uz vi xh yo zh zu").split()
MIN_LANGUAGE_CONFIDENCE = 0.5  # below this probability of its best guess, a text's language is unknown (None)


@lru_cache(maxsize=1)
def _language_identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages([code for code in LANGUAGES if code in identifier.nb_classes])
    return identifier


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language (py3langid, among :data:`LANGUAGES`), or ``None`` for a very short
    text or one whose language it cannot tell (the default embedder then reads it)."""
    sample = text[:2000]
    if len(sample.strip()) < 20:
        return None
    lang, probability = _language_identifier().classify(sample)
    return str(lang) if probability >= MIN_LANGUAGE_CONFIDENCE else None


def to_article(fields: dict[str, Any], origin: str, *, defaults: dict[str, Any] | None = None) -> tuple[
    Article, list[str]
]:
    """Build an Article from picked fields. Returns the article and warnings (e.g. an unreadable date).

    Raises:
        BadArticle: neither text nor title, or an absurd date.
    """
    defaults = defaults or {}
    warnings_: list[str] = []

    def text_of(name: str) -> str | None:
        value = fields.get(name)
        if value is None or value == "":
            value = defaults.get(name)
        if value is None:
            return None
        value = clean_text(str(value))
        return value or None

    body = text_of("text") or text_of("title")  # a record with no body: its title is what it says
    if not body:
        raise BadArticle("empty text (and no title)")
    try:
        published = parse_date(fields.get("published") or defaults.get("published"))
    except DateProblem as exc:
        if str(exc).startswith("absurd"):
            raise BadArticle(str(exc)) from exc
        warnings_.append(f"{exc}; stored with unknown date")
        published = None
    language = text_of("language")
    language = language.lower()[:2] if language else detect_language(body)
    title = text_of("title")
    article = Article(
        text=body,
        title=title.replace("\n", " ") if title else None,
        source=text_of("source"),
        url=text_of("url"),
        published=published,
        language=language,
        author=text_of("author"),
        origin=origin,
        external_id=text_of("external_id"),
        source_country=(text_of("source_country") or "").upper() or None,
    )
    return article, warnings_
