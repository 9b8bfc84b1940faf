"""Relevance before stance: is a claim, or an article, *about* a target?

A stance toward CPEC only means something for text about CPEC. A target's ``aliases`` are its own names (CPEC, the
China-Pakistan Economic Corridor, its Urdu and Chinese names); its ``related`` terms point to it in context
without naming it (Gwadar, "the corridor"); a broader or different initiative (Belt and Road, Digital Silk Road)
is its own target, never an alias. Relevance is graded from what a reader would use:

* **the claim** names the target (1.0), names a related term (``RELATED``), sits in a paragraph that names the
  target or right after a sentence that does (``NEAR``: "The project ..." continues the story), or none of these
  (``semantic``: its embedding similarity to the target's description and examples, scaled into
  ``[0, SEMANTIC_MAX]``);
* **the article** is about the target when its title names it, or its text names it at least ``min_mentions``
  times, or it names it once and at least ``min_share`` of its claims are relevant; an article that never names
  it is about it only when it uses at least two distinct related terms and its claims are close to the target
  (its ``semantic_top`` mean similarity reaches ``min_similarity``).

An article that is not about the target takes no stance toward it (``none``, with its relevance shown); of its
claims only those that name the target keep one (a passing "India objects to CPEC" still says something about
CPEC). The thresholds were chosen on the tuning half of ``datasets/cpec/relevance`` (56 articles) together with
the article aggregation's ``ARTICLE_SIDE``, never on its reporting half.
Everything here is pure: texts, spans and similarities in, numbers out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RELATED = 0.8  # a claim naming a related term (Gwadar) in an article about the target
NEAR = 0.6  # a claim in a paragraph that names the target, or the sentence after one that does
SEMANTIC_MAX = 0.5  # the most similarity alone can give: below the stance threshold unless very close
CLAIM_THRESHOLD = 0.5  # a claim at least this relevant gets a stance (in an article about the target)


@dataclass(frozen=True)
class RelevanceRules:
    """The article-level thresholds (see the module docstring)."""

    min_mentions: int = 2
    min_share: float = 0.3
    min_similarity: float = 0.35
    min_related: int = 2  # distinct related terms an article that never names the target must use
    similarity_floor: float = 0.25  # cosine at which semantic relevance starts
    similarity_ceiling: float = 0.65  # cosine at which it reaches SEMANTIC_MAX
    semantic_top: int = 3


RULES = RelevanceRules()


def term_pattern(terms: Sequence[str]) -> re.Pattern[str] | None:
    """A case-insensitive pattern for any of ``terms`` (whole words for Latin-script terms); None for none."""
    parts = []
    for term in sorted({t.strip() for t in terms if t and t.strip()}, key=len, reverse=True):
        escaped = r"[\s\-]+".join(re.escape(word) for word in re.split(r"[\s\-]+", term))
        parts.append(rf"\b{escaped}\b" if term[:1].isascii() and term[-1:].isascii() else escaped)
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


@dataclass(frozen=True)
class TargetTerms:
    """How a target is named: its own names and its related terms, as patterns."""

    names: re.Pattern[str] | None
    related: re.Pattern[str] | None

    @classmethod
    def of(cls, aliases: Sequence[str], related: Sequence[str] = ()) -> TargetTerms:
        return cls(term_pattern(aliases), term_pattern(related))

    def mention(self, text: str) -> tuple[int, int] | None:
        """The first span of ``text`` that names the target, or None."""
        found = self.names.search(text) if self.names else None
        return found.span() if found else None

    def count(self, text: str) -> int:
        return len(self.names.findall(text)) if self.names else 0

    def related_terms(self, text: str) -> set[str]:
        return {m.lower() for m in self.related.findall(text)} if self.related else set()


@dataclass(frozen=True)
class Relevance:
    """An article's relevance to a target and each of its claims' (same order as given)."""

    about: bool
    score: float
    claims: tuple[float, ...]


def _paragraph_of(text: str, starts: Sequence[int]) -> list[int]:
    """Paragraph index (blocks separated by a blank line) of each character offset."""
    breaks = [m.end() for m in re.finditer(r"\n\s*\n", text)]
    return [int(np.searchsorted(breaks, s, side="right")) for s in starts]


def semantic(similarity: float, rules: RelevanceRules = RULES) -> float:
    """Relevance from embedding similarity alone, in ``[0, SEMANTIC_MAX]``."""
    span = rules.similarity_ceiling - rules.similarity_floor
    return float(np.clip((similarity - rules.similarity_floor) / span, 0.0, 1.0) * SEMANTIC_MAX)


def article_relevance(terms: TargetTerms, title: str | None, text: str, spans: Sequence[tuple[int, int]],
                      similarities: Sequence[float], rules: RelevanceRules = RULES) -> Relevance:
    """Relevance of an article (title and stored text) and of its claims (character spans into ``text``, with
    each claim's embedding similarity to the target).

    A text with no claims (a headline-only record) is judged on its title and text alone.
    """
    claims = [text[a:b] for a, b in spans]
    named = [terms.mention(c) is not None for c in claims]
    related = [bool(terms.related_terms(c)) for c in claims]
    paragraphs = _paragraph_of(text, [a for a, _ in spans])
    named_paragraphs = {p for p, n in zip(paragraphs, named, strict=True) if n}
    in_title = bool(title) and terms.mention(title or "") is not None
    mentions = terms.count(text) + (1 if in_title else 0)
    sims = np.asarray(similarities, dtype=float)
    top = float(np.sort(sims)[-rules.semantic_top:].mean()) if len(sims) else 0.0

    scores = []
    for i, _ in enumerate(claims):
        if named[i]:
            scores.append(1.0)
            continue
        score = semantic(float(sims[i]), rules) if len(sims) else 0.0
        if paragraphs[i] in named_paragraphs or (i > 0 and named[i - 1]):
            score = max(score, NEAR)
        if related[i]:
            score = max(score, RELATED)
        scores.append(score)
    share = float(np.mean([s >= CLAIM_THRESHOLD for s in scores])) if scores else 0.0
    distinct_related = len(terms.related_terms(f"{title or ''}\n{text}"))
    if in_title or mentions >= rules.min_mentions:
        about = True
    elif mentions == 1:
        about = share >= rules.min_share or not claims
    else:
        about = distinct_related >= rules.min_related and top >= rules.min_similarity
    score = 1.0 if in_title or mentions >= rules.min_mentions else share if mentions == 1 else (
        top if about else 0.0)
    if not about:  # only a claim that names the target itself keeps a stance in an article about something else
        scores = [s if n else min(s, CLAIM_THRESHOLD / 2) for s, n in zip(scores, named, strict=True)]
    return Relevance(about, round(float(score), 4), tuple(round(float(s), 4) for s in scores))
