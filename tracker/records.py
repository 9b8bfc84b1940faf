"""Records passed between stages: small frozen dataclasses, no behaviour beyond convenience properties."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Article:
    """An article as read from some input, before it is stored.

    ``published`` is an ISO date (``YYYY-MM-DD``) or ``None`` when the input gives no usable date; it is never
    guessed. ``origin`` says where the record came from (``path:line 3``, a URL), for error messages and audit.
    """

    text: str
    title: str | None = None
    source: str | None = None
    url: str | None = None
    published: str | None = None
    language: str | None = None
    author: str | None = None
    origin: str = ""
    external_id: str | None = None
    source_country: str | None = None


@dataclass(frozen=True)
class Claim:
    """One sentence of an article that makes a claim, with its exact position in the stored text.

    ``text == article_text[start:end]`` always holds. ``attribution`` is ``assert`` (the outlet says it),
    ``report`` (the outlet relays someone else's claim) or ``refute`` (the sentence denies or rejects it).
    """

    article_id: int
    idx: int
    start: int
    end: int
    text: str
    claimant: str
    attribution: str
    checkworthy: float


@dataclass(frozen=True)
class Problem:
    """An input record that could not be stored, with where it is and why."""

    origin: str
    message: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.message}"


@dataclass
class IngestReport:
    """Counts of one ingest run; ``problems`` lists every rejected record."""

    read: int = 0
    stored: int = 0
    duplicates: int = 0
    near_duplicates: int = 0
    rejected: int = 0
    problems: list[Problem] = field(default_factory=list)
    article_ids: list[int] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"read {self.read}, stored {self.stored} (near-duplicates linked: {self.near_duplicates}), "
            f"duplicates skipped {self.duplicates}, rejected {self.rejected}"
        )
