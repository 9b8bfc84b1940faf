"""Stance toward targets (favor / against / none) and toward narratives (agree / disagree / discuss): the pure
rules. Models live in :mod:`tracker.stance_span` (target stance) and :mod:`tracker.stance_model`; the stage that
applies them to a store in :mod:`tracker.pipeline.stance`.

Targets are data (``targets`` table; CPEC ships in ``tracker/data/targets.json``). An article's stance aggregates
its claims' probabilities, weighted by their relevance (:mod:`tracker.relevance`); an article that is not about
the target is ``none``, and so are its claims. Narrative stance uses the attribution found by claim extraction: a
claim that refutes its narrative *disagrees* (an outlet that "rejected disinformation campaigns" is not spreading
them), one that reports it *discusses*, one the outlet asserts *agrees*; the narrative-stance model decides when a
claim is *unrelated* to the narrative it was clustered into.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Any

import numpy as np

from tracker import TrackerError

TARGET_LABELS = ("favor", "against", "none")
ATTRIBUTION_TO_NARRATIVE_STANCE = {"assert": "agree", "report": "discuss", "refute": "disagree"}
NARRATIVE_RULE_VERSION = "attribution-rule-1"
ARTICLE_SIDE = 0.45  # an article takes a side that holds this much of its claims' mean probability


class TargetError(TrackerError):
    """A stance target is unknown or badly defined."""


def shipped_targets() -> list[dict[str, Any]]:
    """The targets tracker ships (CPEC), with aliases, description and example statements."""
    return json.loads(resources.files("tracker").joinpath("data/targets.json").read_text(encoding="utf-8"))


def clean_aliases(name: str, aliases: Iterable[str] | None) -> list[str]:
    """The target's own name first, then its other names and spellings, stripped and without repeats."""
    name = name.strip()
    if not name:
        raise TargetError("a target needs a name")
    return list(dict.fromkeys([name, *(a.strip() for a in aliases or [] if a.strip())]))


def alias_pattern(aliases: list[str]) -> re.Pattern[str]:
    """A case-insensitive pattern matching any alias (whole words for Latin-script aliases)."""
    parts = []
    for alias in sorted(aliases, key=len, reverse=True):
        escaped = re.escape(alias)
        parts.append(rf"\b{escaped}\b" if alias[:1].isascii() and alias[-1:].isascii() else escaped)
    return re.compile("|".join(parts), re.IGNORECASE)


def article_stance(probabilities: Sequence[np.ndarray], weights: Sequence[float], *,
                   side: float = ARTICLE_SIDE) -> tuple[str, np.ndarray | None]:
    """An article's stance from its relevant claims' probabilities (favor, against, none), each weighted by the
    claim's relevance: the weighted mean distribution, labelled with the side it leans to when that side holds at
    least ``side`` of it, else ``none``.

    Returns:
        (label, probabilities): probabilities None when the article has no claim with a stance (claims of equal
        weight when all weights are 0).
    """
    if not probabilities:
        return "none", None
    w = np.asarray(weights, dtype=float)
    p = np.average(np.asarray(probabilities, dtype=float), axis=0, weights=w if w.sum() > 0 else None)
    lean = 0 if p[0] >= p[1] else 1
    return (TARGET_LABELS[lean] if p[lean] >= side else "none"), p


def narrative_stance(attribution: str | None) -> str:
    """A claim's stance toward its narrative from how the outlet carries it (assert, report, refute)."""
    return ATTRIBUTION_TO_NARRATIVE_STANCE.get(attribution or "assert", "agree")
