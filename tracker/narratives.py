"""Describing narratives: keywords, central claim, representatives, centroid and label, from a narrative's members.

Pure functions over texts and arrays. Which claims are in a narrative is decided by :mod:`tracker.planner`; the
pipeline reads members from the store, calls :func:`describe` and stores the result.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

_WORD = re.compile(r"[^\W\d_][\w'’-]*[^\W_]|[^\W\d_]", re.UNICODE)
_POSSESSIVE = re.compile(r"['’]s$")
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having he
    her here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
    now of off on once only or other our ours ourselves out over own same she should so some such than that the
    their theirs them themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves said says say told
    according would could also one two new year years per cent percent mr ms dr since last first like well however
    including among amid within without across around near many much may might must shall us it's that's""".split()
)


@dataclass(frozen=True)
class Member:
    """A narrative member as :func:`describe` needs it: ``source`` is the outlet (of the original, for a
    near-duplicate), ``covered`` says the embedding model represents the claim's language, ``whole_record`` that
    the claim is its record's whole text (a claim-database row: who said it is part of the claim)."""

    claim_id: int
    text: str
    source: Any = None
    covered: bool = True
    checkworthy: float | None = None
    whole_record: bool = False


@dataclass
class Description:
    """What :func:`describe` derives from a narrative's members."""

    keywords: list[str]
    central_claim_id: int | None
    representatives: list[int]
    label: str | None
    centroid: np.ndarray | None
    similarity: dict[int, float] = field(default_factory=dict)
    boilerplate: bool = False


def tokens(text: str) -> list[str]:
    """Lower-cased content words, possessives folded ("China's" -> "china"), for keyword extraction."""
    words = (_POSSESSIVE.sub("", m.lower()) for m in _WORD.findall(text))
    return [w for w in words if w not in STOPWORDS and len(w) > 2]


def document_frequency_of(term: str, document_frequency: Mapping[str, int], default: int) -> int:
    """Claims containing ``term``. The FTS5 vocabulary splits hyphenated words, so "china-pakistan" is as common
    as its least common part; a word the vocabulary lacks gets ``default``."""
    if term in document_frequency:
        return document_frequency[term]
    parts = [document_frequency[p] for p in re.split(r"[-'’]", term) if p in document_frequency]
    return min(parts) if parts else default


def distinctive_keywords(texts: Sequence[str], total_claims: int, document_frequency: Mapping[str, int],
                         n: int) -> list[str]:
    """The ``n`` words of ``texts`` that most set them apart from all claims (c-TF-IDF: log-scaled count in the
    group times the log inverse share of claims containing the word), ties broken alphabetically."""
    counts = Counter(t for text in texts for t in tokens(text))
    scored = {t: (1 + math.log(k)) * math.log(1 + total_claims / (1 + document_frequency_of(t, document_frequency, k)))
              for t, k in counts.items()}
    return [t for t, _ in sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


# Datelines, wire credits and photo captions: what is left of a line once they are taken out is what it says.
_CREDITS = re.compile(
    r"(^\W*[A-Z][A-Z .'-]{2,},?\s*(\(?[A-Z][a-z]{2,8}\.?\s+\d{1,2}\)?)?\s*(\([A-Za-z ]+\))?\s*[—–-]+"
    r"|\b(pic|photo|photos|picture|file photo|getty images|image)\b\s*(:|by\b)?"
    r"|\((ap|afp|reuters|xinhua|app|ani|pti|ians)\)|\b(reuters|afp|ap|xinhua|bloomberg)\s+(pic|photo)\b"
    r"|[—–-]+\W*$|^\W*[—–-]+)", re.IGNORECASE)


def is_boilerplate_line(text: str) -> bool:
    """A line that is mostly dateline, credit or caption ("— Reuters pic WASHINGTON, June 26 —")."""
    rest = _CREDITS.sub(" ", text)
    return len(_WORD.findall(rest)) < 4


def is_boilerplate(members: Sequence[Member]) -> bool:
    """A narrative of boilerplate: most of its claims are datelines or captions, or it is one outlet repeating
    the same line in many articles (a standing footer or byline the claim filter did not know)."""
    if not members:
        return False
    needed, others = (len(members) + 1) // 2, 0  # boilerplate lines that make it boilerplate; lines that are not
    for m in members:  # stop as soon as the answer is known: most narratives show it after half their lines
        if is_boilerplate_line(m.text):
            needed -= 1
            if needed <= 0:
                return True
        else:
            others += 1
            if others > len(members) // 2:
                break
    if len(members) < 3 or len({m.source for m in members}) != 1:
        return False
    return len({" ".join(tokens(m.text)) for m in members}) * 3 <= len(members)


def keyword_label(keywords: Sequence[str]) -> str | None:
    """A theme's label: its most distinctive words."""
    return " · ".join(keywords[:4]) or None


def describe(members: Sequence[Member], vectors: np.ndarray | None, *, total_claims: int,
             document_frequency: Mapping[str, int], n_keywords: int = 6, n_representatives: int = 5) -> Description:
    """Keywords, central claim, representatives, centroid and label of a narrative.

    Keywords, centroid and central claim come from members in languages the model represents (all members if
    none is), so a claim placed cross-lingually neither renames a narrative nor becomes its anchor. The central
    claim is the member closest to the centroid; representatives are the most central members from different
    outlets. The label reads as the claim: the best-phrased of the most central members, shortened
    (:func:`tracker.labels.claim_label`). ``similarity`` is each covered member's cosine to the centroid.

    Args:
        members: the narrative's claims, in a stable order (claim id).
        vectors: one row per member (zero rows where a member has none), or None without an embedding model.
        total_claims: claims in the store, and ``document_frequency``: claims per word, for c-TF-IDF.
    """
    if not members:
        return Description([], None, [], None, None)
    chosen = [i for i, m in enumerate(members) if m.covered] or list(range(len(members)))
    keywords = distinctive_keywords([members[i].text for i in _spread(chosen, DESCRIBE_TEXTS)],
                                    max(total_claims, 1), document_frequency, n_keywords)
    centroid = None
    similarity: dict[int, float] = {}
    order = list(chosen)
    if vectors is not None and len(vectors):
        rows = np.asarray(vectors, dtype=np.float32)[chosen]
        present = np.linalg.norm(rows, axis=1) > 0
        if present.any():
            centroid = rows[present].mean(axis=0)
            unit = centroid / max(float(np.linalg.norm(centroid)), 1e-12)
            scores = np.where(present, rows @ unit, -np.inf)
            order = [chosen[i] for i in np.argsort(-scores, kind="stable")]
            similarity = {members[chosen[i]].claim_id: float(scores[i]) for i in np.flatnonzero(present)}
    representatives: list[int] = []
    seen_sources: set[Any] = set()
    for i in order:
        if members[i].source in seen_sources:
            continue
        seen_sources.add(members[i].source)
        representatives.append(members[i].claim_id)
        if len(representatives) >= n_representatives:
            break
    from tracker.labels import LabelCandidate, claim_label, label_source

    candidates = [LabelCandidate(members[i].claim_id, members[i].text, similarity.get(members[i].claim_id, 0.0),
                                 members[i].checkworthy, members[i].whole_record) for i in order[:5]]
    best = label_source(candidates)
    label = claim_label(best.text, keep_frames=best.whole_record) if best else keyword_label(keywords)
    return Description(keywords=keywords, central_claim_id=members[order[0]].claim_id,
                       representatives=representatives, label=label, centroid=centroid,
                       similarity=similarity,
                       boilerplate=is_boilerplate([members[i] for i in _spread(range(len(members)), DESCRIBE_TEXTS)]))


DESCRIBE_TEXTS = 300  # member texts read for a narrative's keywords and boilerplate test (evenly spread over it)


def _spread(rows: Sequence[int], n: int) -> list[int]:
    """At most ``n`` of ``rows``, evenly spread (all of them when there are no more than ``n``): the words of a
    narrative of thousands of claims are those of a few hundred of them, at a cost that does not grow with it."""
    rows = list(rows)
    if len(rows) <= n:
        return rows
    return [rows[int(i)] for i in np.linspace(0, len(rows) - 1, n)]
