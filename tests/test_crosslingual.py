"""Claims in languages the embedder does not represent join narratives through a multilingual companion, without
disturbing what the narratives are built from, and reviewers' decisions hold."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_narratives import OUTLETS, TOPICS, World
from tests.test_stance_model import _EnglishOnly, _Translating
from tracker import embed, review
from tracker.embed import get_embedder
from tracker.pipeline import CachedEmbedder, place_crosslingual
from tracker.pipeline import narratives as pipeline_narratives

HASHING = get_embedder("hashing")
# "Urdu" words standing for English ones: the toy multilingual embedder translates them before hashing
LEXICON = {"چینی": "Chinese", "قرضے": "loans", "سی": "CPEC", "پیک": "", "پاکستان": "Pakistan", "جال": "trap",
           "قرض": "debt", "دھکیل": "pushing", "موسم": "weather", "لاہور": "Lahore", "دھوپ": "sunny"}
URDU_DEBT = "چینی قرضے سی پیک پاکستان قرض جال دھکیل۔"
URDU_NOISE = "لاہور میں اتوار کی دوپہر موسم خوشگوار اور دھوپ رہی۔"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setattr(embed, "languages_of", lambda model: frozenset({"en"}) if model == "hashing-en" else None)
    monkeypatch.setattr(pipeline_narratives, "CROSSLINGUAL_MIN_MEMBERS", 3)  # the toy narratives have 4 claims
    monkeypatch.setattr(pipeline_narratives, "crosslingual_embedder",
                        lambda db, e: CachedEmbedder(db, _Translating(LEXICON)))
    s = World(tmp_path, _EnglishOnly())
    records = [{"text": text, "source": OUTLETS[i], "date": f"2024-01-{10 + i:02d}"}
               for texts in TOPICS.values() for i, text in enumerate(texts[:4])]
    records += [{"text": URDU_DEBT, "source": "Roznama", "date": "2024-02-01", "language": "ur"},
                {"text": URDU_NOISE, "source": "Roznama", "date": "2024-02-02", "language": "ur"}]
    s.add(records)
    return s


def urdu(store: World, text: str) -> int:
    return store.claim_id(text.rstrip())


def test_foreign_claims_join_the_closest_narrative_and_noise_stays_out(store: World) -> None:
    debt = store.topic_narrative("debt")
    before = store.narrative(debt)
    assert store.narrative_of(URDU_DEBT) is None  # MiniLM-like embedders leave Urdu out of clustering
    counts = place_crosslingual(store.store, store.embedder, threshold=0.5)
    assert counts == {"placed": 1, "moved": 1}
    assert store.narrative_of(URDU_DEBT) == debt and store.narrative_of(URDU_NOISE) is None
    after = store.narrative(debt)
    assert after["size"] == before["size"] + 1 and after["n_sources"] == before["n_sources"] + 1
    # the narrative is still described and located by its English members alone
    assert after["centroid"] == before["centroid"] and after["keywords"] == before["keywords"]
    assert after["central_claim_id"] == before["central_claim_id"]
    similarity = store.db.execute("SELECT similarity, assigned_by FROM narrative_claims WHERE claim_id = ?",
                                  [urdu(store, URDU_DEBT)]).fetchone()
    assert similarity[0] >= 0.5 and similarity[1] == "model"
    unclustered = {r[0] for r in store.db.execute("SELECT claim_id FROM unclustered_claims")}
    assert urdu(store, URDU_NOISE) in unclustered and urdu(store, URDU_DEBT) not in unclustered
    # a second run changes nothing
    assert place_crosslingual(store.store, store.embedder, threshold=0.5) == {"placed": 1, "moved": 0}


def test_a_placement_is_withdrawn_when_the_claim_is_no_longer_close(store: World) -> None:
    place_crosslingual(store.store, store.embedder, threshold=0.5)
    assert place_crosslingual(store.store, store.embedder, threshold=0.999) == {"placed": 0, "moved": 1}
    assert store.narrative_of(URDU_DEBT) is None


def test_reviewer_exclusions_and_moves_hold(store: World) -> None:
    debt, naval = store.topic_narrative("debt"), store.topic_narrative("naval")
    claim = urdu(store, URDU_DEBT)
    place_crosslingual(store.store, store.embedder, threshold=0.5)
    review.exclude(store.store, claim, debt, reviewer="Ayesha")
    place_crosslingual(store.store, store.embedder, threshold=0.5)
    assert store.narrative_of(URDU_DEBT) != debt
    review.move(store.store, claim, naval, reviewer="Ayesha")
    place_crosslingual(store.store, store.embedder, threshold=0.5)
    assert store.narrative_of(URDU_DEBT) == naval


def test_nothing_happens_without_a_companion_or_with_a_multilingual_embedder(
        store: World, monkeypatch: pytest.MonkeyPatch) -> None:
    assert place_crosslingual(store.store, HASHING, threshold=0.5) == {}  # covers every language itself
    monkeypatch.setattr(pipeline_narratives, "crosslingual_embedder", lambda db, e: None)
    assert place_crosslingual(store.store, store.embedder, threshold=0.5) == {}
    assert store.narrative_of(URDU_DEBT) is None


def test_a_locked_narrative_neither_gains_nor_loses_placed_claims(store: World) -> None:
    debt = store.topic_narrative("debt")
    place_crosslingual(store.store, store.embedder, threshold=0.5)
    review.lock(store.store, debt, reviewer="Ayesha")
    # even a threshold nothing reaches leaves the claim where it was: the narrative is locked
    place_crosslingual(store.store, store.embedder, threshold=0.999)
    assert store.narrative_of(URDU_DEBT) == debt
    review.unlock(store.store, debt, reviewer="Ayesha")
    store.db.execute("DELETE FROM narrative_claims WHERE claim_id = ?", [urdu(store, URDU_DEBT)])
    review.lock(store.store, debt, reviewer="Ayesha")
    place_crosslingual(store.store, store.embedder, threshold=0.5)
    assert store.narrative_of(URDU_DEBT) is None


def test_a_narrative_left_with_no_members_by_a_placement_is_dissolved(store: World) -> None:
    debt, naval = store.topic_narrative("debt"), store.topic_narrative("naval")
    place_crosslingual(store.store, store.embedder, threshold=0.5)
    for text in TOPICS["debt"][:4]:  # a reviewer moves every English claim out: only the Urdu one is left
        review.move(store.store, store.claim_id(text), naval, reviewer="Ayesha")
    assert store.narrative(debt)["status"] == "active" and store.narrative(debt)["size"] == 1
    place_crosslingual(store.store, store.embedder, threshold=0.5)
    assert store.narrative_of(URDU_DEBT) != debt  # debt has no English member left to anchor it
    assert store.narrative(debt)["status"] == "dissolved" and store.narrative(debt)["size"] == 0
    event = store.db.execute("SELECT event FROM narrative_history WHERE narrative_id = ? ORDER BY id DESC LIMIT 1",
                             [debt]).fetchone()[0]
    assert event == "dissolved"


def test_the_anchor_starts_with_the_central_claim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embed, "languages_of", lambda model: frozenset({"en"}) if model == "hashing-en" else None)
    monkeypatch.setattr(pipeline_narratives, "CROSSLINGUAL_MIN_MEMBERS", 3)  # the toy narratives have 4 claims
    companion = _Translating(LEXICON)
    monkeypatch.setattr(pipeline_narratives, "crosslingual_embedder", lambda db, e: CachedEmbedder(db, companion))
    s = World(tmp_path, _EnglishOnly())
    order = [4, 5, 0, 1, 2, 3]  # the first claims stored are not the most typical wordings
    s.add([{"text": TOPICS["debt"][i], "source": OUTLETS[i], "date": f"2024-01-{10 + i:02d}"} for i in order]
          + [{"text": URDU_DEBT, "source": "Roznama", "date": "2024-02-01", "language": "ur"}])
    debt = s.narrative(s.topic_narrative("debt"))
    assert debt["central_claim_id"] != min(json.loads(debt["representatives"]))  # otherwise this could not tell
    place_crosslingual(s.store, s.embedder, threshold=0.5, n_anchors=1)
    central = s.db.execute("SELECT text FROM claims WHERE id = ?", [debt["central_claim_id"]]).fetchone()[0]
    assert set(companion.seen) - {URDU_DEBT.rstrip()} == {central}
