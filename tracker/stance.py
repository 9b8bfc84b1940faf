"""Stance toward targets (favor / against / none) and toward narratives (agree / disagree / discuss): the pure
rules. Models live in :mod:`tracker.stance_model`; the stage that applies them to a store in
:mod:`tracker.pipeline.stance`.

Targets are data (``targets`` table; CPEC ships in ``tracker/data/targets.json``). An article's stance aggregates
its claims' probabilities; an article that never mentions the target (or an alias) is ``none``, and so are its
claims. Narrative stance uses the attribution found by claim extraction: a claim that refutes its narrative
*disagrees* (an outlet that "rejected disinformation campaigns" is not spreading them), one that reports it
*discusses*, one the outlet asserts *agrees*.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from importlib import resources
from typing import Any

from tracker import TrackerError

TARGET_LABELS = ("favor", "against", "none")
ATTRIBUTION_TO_NARRATIVE_STANCE = {"assert": "agree", "report": "discuss", "refute": "disagree"}
NARRATIVE_RULE_VERSION = "attribution-rule-1"
ARTICLE_MARGIN = 0.3


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


def article_stance(claims: Iterable[tuple[str, float]], *, mentions: bool,
                   margin: float = ARTICLE_MARGIN) -> tuple[str, float, bool]:
    """An article's stance from its claims' ``(label, probability)``: the share of stance-taking weight on one
    side (claims without a stance do not dilute it), ``favor``/``against`` beyond ``margin``, else ``none``.

    Returns:
        (label, score, measured): ``measured`` is False when the article never mentions the target or none of
        its claims takes a side (then the label is ``none`` with score 1.0).
    """
    favor = against = 0.0
    for label, score in claims:
        if label == "favor":
            favor += score or 0.0
        elif label == "against":
            against += score or 0.0
    weight = favor + against
    if not mentions or weight == 0:
        return "none", 1.0, False
    balance = (favor - against) / weight
    label = "favor" if balance > margin else "against" if balance < -margin else "none"
    return label, round(0.5 + abs(balance) / 2, 4), True


def narrative_stance(attribution: str | None) -> str:
    """A claim's stance toward its narrative from how the outlet carries it (assert, report, refute)."""
    return ATTRIBUTION_TO_NARRATIVE_STANCE.get(attribution or "assert", "agree")
