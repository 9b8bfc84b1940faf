"""Exports: any table view as CSV or JSON, and a narrative's verdict as schema.org ClaimReview JSON-LD."""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd
import sqlite_utils

from tracker import TrackerError
from tracker.store.queries import narrative, narrative_appearances

# Verdicts on a 1-5 scale for reviewRating (alternateName carries the verdict word itself).
RATINGS = {"false": 1, "misleading": 2, "mixed": 3, "unproven": 3, "accurate": 5}


class ExportError(TrackerError):
    """There is nothing to export in the requested form (e.g. a narrative without a verdict)."""


def to_csv(frame: pd.DataFrame) -> bytes:
    """A table as UTF-8 CSV (header row, no index)."""
    return frame.to_csv(index=False).encode("utf-8")


def _plain(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return _plain(value.item())
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A table as a list of JSON-ready dicts (NaN becomes null, numpy scalars become Python numbers)."""
    return [{str(k): _plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def to_json(frame: pd.DataFrame) -> bytes:
    """A table as a UTF-8 JSON array of objects."""
    return json.dumps(records(frame), ensure_ascii=False, indent=1, default=str).encode("utf-8")


def claim_review(
    db: sqlite_utils.Database,
    narrative_id: int,
    *,
    author: str | None = None,
    url: str | None = None,
    max_appearances: int = 50,
) -> dict[str, Any]:
    """A narrative's verdict as a schema.org ``ClaimReview`` (JSON-LD as a dict).

    Args:
        db: the store.
        narrative_id: the narrative.
        author: organisation publishing the review; defaults to the reviewer who gave the verdict (a Person).
        url: URL of the published fact-check; defaults to the narrative's ``verdict_url``.
        max_appearances: at most this many article URLs in ``itemReviewed.appearance`` (earliest first).

    Raises:
        ExportError: the narrative does not exist or has no verdict.
    """
    info = narrative(db, narrative_id)
    if info is None:
        raise ExportError(f"no narrative {narrative_id}")
    if not info["verdict"]:
        raise ExportError(f"narrative {narrative_id} has no verdict to export")
    rows = narrative_appearances(db, narrative_id, max_appearances)

    def work(row: tuple) -> dict[str, Any]:
        item: dict[str, Any] = {"@type": "CreativeWork", "url": row[0]}
        if row[1]:
            item["headline"] = row[1]
        if row[2]:
            item["datePublished"] = row[2]
        if row[3]:
            item["publisher"] = {"@type": "Organization", "name": row[3]}
        return item

    appearances = [work(r) for r in rows]
    claim: dict[str, Any] = {"@type": "Claim", "name": info["central_claim"] or info["label"],
                             "appearance": appearances}
    if appearances:
        claim["firstAppearance"] = appearances[0]
    if info["first_seen"]:
        claim["datePublished"] = info["first_seen"]
    if author:
        who = {"@type": "Organization", "name": author}
    else:
        who = {"@type": "Person", "name": info["verdict_by"] or "unknown"}
    review: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "claimReviewed": info["label"] or info["central_claim"],
        "author": who,
        "datePublished": (info["verdict_at"] or "")[:10] or None,
        "reviewRating": {
            "@type": "Rating",
            "alternateName": info["verdict"],
            "ratingValue": RATINGS.get(info["verdict"], 3),
            "bestRating": 5,
            "worstRating": 1,
        },
        "itemReviewed": claim,
    }
    if url or info["verdict_url"]:
        review["url"] = url or info["verdict_url"]
    if info["verdict_note"]:
        review["reviewBody"] = info["verdict_note"]
    return {k: v for k, v in review.items() if v is not None}


def claim_review_json(db: sqlite_utils.Database, narrative_id: int, **kwargs: Any) -> str:
    """:func:`claim_review` as indented JSON-LD text."""
    return json.dumps(claim_review(db, narrative_id, **kwargs), ensure_ascii=False, indent=2)
