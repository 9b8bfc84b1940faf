"""Records passed between stages: small frozen dataclasses, no behaviour beyond convenience properties."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
    ``checkworthy`` is None until the scoring stage has scored it (in batches, from the claim's embedding).
    """

    article_id: int
    idx: int
    start: int
    end: int
    text: str
    claimant: str
    attribution: str
    checkworthy: float | None = None


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


# --- narrative membership: what the planner reads and what it decides ----------------------------------------

MODEL = "model"


@dataclass(frozen=True)
class NarrativeState:
    """A narrative as the membership planner sees it.

    ``size`` counts all its members now (not only those in the planner's scope); ``reviewed`` is True when a
    reviewer invested in it (a rename, a theme choice, a verdict), which makes it the one that keeps its id when
    the model merges narratives of equal overlap.
    """

    id: int
    status: str = "active"
    merged_into: int | None = None
    locked: bool = False
    verdict: str | None = None
    size: int = 0
    reviewed: bool = False


@dataclass
class MembershipState:
    """The store's current membership for the claims in scope, and every reviewer constraint on them.

    ``members`` maps each claim in scope that sits in a narrative to it; ``reviewer_placed`` holds the claims a
    reviewer put where they are; ``pins`` maps claims to the narrative a reviewer pinned them to; ``excludes``
    holds (claim, narrative) pairs a reviewer ruled out. ``narratives`` covers every narrative any of these
    name (and, for merges, the narratives they point to).
    """

    narratives: dict[int, NarrativeState] = field(default_factory=dict)
    members: dict[int, int] = field(default_factory=dict)
    reviewer_placed: set[int] = field(default_factory=set)
    pins: dict[int, int] = field(default_factory=dict)
    excludes: set[tuple[int, int]] = field(default_factory=set)


@dataclass
class Proposal:
    """What the model proposes for the claims in scope.

    ``clusters`` maps claims to the clusterer's cluster (-1: noise); ``overlap`` counts, for each proposed
    cluster, its model-placed members (in or out of scope) per narrative they sit in now, which is what ties a
    cluster to a narrative id; ``pinned`` counts the same for reviewer-placed members (a cluster whose members
    a reviewer put in one narrative continues it). ``placements`` maps claims to an existing narrative
    (cross-lingual placement; ``None``: no narrative is close enough). ``similarity`` is each claim's similarity
    to where the model puts it.
    """

    clusters: dict[int, int] = field(default_factory=dict)
    overlap: dict[tuple[int, int], int] = field(default_factory=dict)
    pinned: dict[tuple[int, int], int] = field(default_factory=dict)
    placements: dict[int, int | None] = field(default_factory=dict)
    similarity: dict[int, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Move:
    """Reviewer action: put ``claim_id`` in ``to`` (pinned there, excluded from where it was)."""

    claim_id: int
    to: int


@dataclass(frozen=True)
class Exclude:
    """Reviewer action: ``claim_id`` does not belong to ``narrative_id`` (it leaves and never returns)."""

    claim_id: int
    narrative_id: int


@dataclass(frozen=True)
class Merge:
    """Reviewer action: narratives ``sources`` are the same narrative as ``into``."""

    sources: tuple[int, ...]
    into: int


@dataclass(frozen=True)
class Split:
    """Reviewer action: ``claim_ids`` of ``narrative_id`` form a new narrative called ``label``."""

    narrative_id: int
    claim_ids: tuple[int, ...]
    label: str


@dataclass(frozen=True)
class NewNarrative:
    """A narrative the plan creates; ``key`` (negative) stands for its id until the store assigns one.

    ``origin`` says why: ``{"cluster": n}`` (a new model cluster) or ``{"split_from": id}`` (a split part).
    """

    key: int
    label: str | None = None
    label_locked: bool = False
    origin: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """One line of ``narrative_history``."""

    event: str
    narrative_id: int | None
    other_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Flag:
    """Something the model wants a reviewer to look at (``narrative_flags``)."""

    kind: str
    narrative_id: int
    other_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    """Everything one membership decision changes, applied by the store in one transaction.

    Narrative ids may be the negative keys of ``create``. ``assign`` maps each claim whose narrative changes
    to its new narrative (``None``: it leaves every narrative); ``by_reviewer`` marks the claims a reviewer
    placed; ``status`` maps narratives to their new status (``merged`` into the second element, or
    ``dissolved``); ``pins``/``excludes`` are constraints to add and ``unconstrain`` (kind, claim, narrative)
    triples to drop; ``inherit_verdict`` maps a narrative to the one whose verdict (with note, link, reviewer
    and date) it takes over; ``touched`` lists the narratives whose members changed.
    """

    create: list[NewNarrative] = field(default_factory=list)
    assign: dict[int, int | None] = field(default_factory=dict)
    by_reviewer: set[int] = field(default_factory=set)
    similarity: dict[int, float] = field(default_factory=dict)
    status: dict[int, tuple[str, int | None]] = field(default_factory=dict)
    pins: set[tuple[int, int]] = field(default_factory=set)
    excludes: set[tuple[int, int]] = field(default_factory=set)
    unconstrain: set[tuple[str, int, int]] = field(default_factory=set)
    inherit_verdict: dict[int, int] = field(default_factory=dict)
    carried: set[int] = field(default_factory=set)
    history: list[Event] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    touched: set[int] = field(default_factory=set)

    def counts(self) -> dict[str, int]:
        """How many narratives the plan creates, merges, splits and dissolves, and claims it moves."""
        return {"created": len(self.create), "merged": sum(1 for s, _ in self.status.values() if s == "merged"),
                "split": sum(1 for e in self.history if e.event == "split" and "from" not in e.detail),
                "dissolved": sum(1 for s, _ in self.status.values() if s == "dissolved"),
                "moved": len(self.assign), "flagged": len(self.flags)}
