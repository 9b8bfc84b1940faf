"""Tests for tracker.export: table exports and ClaimReview JSON-LD."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sample_store import make_sample_store

from tracker import export, review
from tracker.export import ExportError
from tracker.store import queries


@pytest.fixture(scope="module")
def store():
    return make_sample_store()


@pytest.fixture(scope="module")
def db(store):
    return store.db


def test_csv_and_json_round_trip(db):
    frame = queries.stance_timeline(db, "CPEC", freq="M")
    rows = list(csv.DictReader(io.StringIO(export.to_csv(frame).decode("utf-8"))))
    assert len(rows) == len(frame) and list(rows[0]) == queries.TIMELINE_COLUMNS
    data = json.loads(export.to_json(frame))
    assert len(data) == len(frame) and isinstance(data[0]["n"], int)
    table = json.loads(export.to_json(queries.narratives_table(db)))
    assert any(r["verdict"] is None for r in table)  # NaN becomes null, valid JSON


def test_claim_review(db):
    doc = export.claim_review(db, 1, author="Example Fact Check")
    assert doc["@context"] == "https://schema.org" and doc["@type"] == "ClaimReview"
    assert doc["claimReviewed"] == "CPEC is a debt trap for Pakistan"
    assert doc["reviewRating"]["alternateName"] == "misleading"
    assert doc["author"] == {"@type": "Organization", "name": "Example Fact Check"}
    assert doc["url"] == "https://factcheck.example/cpec-debt" and doc["datePublished"] == "2024-02-01"
    item = doc["itemReviewed"]
    assert item["@type"] == "Claim" and item["appearance"]
    assert item["firstAppearance"] == item["appearance"][0]
    dates = [a["datePublished"] for a in item["appearance"]]
    assert dates == sorted(dates) and dates[0] == queries.narrative(db, 1)["first_seen"]
    json.loads(export.claim_review_json(db, 1))  # serialisable
    assert export.claim_review(db, 1)["author"] == {"@type": "Person", "name": "Ayesha"}


def test_claim_review_needs_a_verdict(db, store):
    with pytest.raises(ExportError):
        export.claim_review(db, 2)
    with pytest.raises(ExportError):
        export.claim_review(db, 999)
    review.set_verdict(store, 2, "accurate", reviewer="Zoe")
    assert export.claim_review(db, 2)["reviewRating"]["alternateName"] == "accurate"
