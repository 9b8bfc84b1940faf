"""Fast tests for tracker.stance_model with the hashing embedder and toy data."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tracker.embed import get_embedder
from tracker.stance_model import (
    CLAIM_LABELS,
    TARGET_LABELS,
    ClaimStanceModel,
    RuleClaimStance,
    TargetStanceModel,
    default_claim_model,
    default_target_model,
    f_avg,
    fnc_score,
    load_model,
    save_model,
    split_sentences,
)

EMB = get_embedder("hashing")

TWEETS = [
    ("CPEC", "CPEC is a game changer bringing jobs and power to Pakistan", "favor"),
    ("CPEC", "Great new motorway under CPEC opens, growth ahead", "favor"),
    ("CPEC", "CPEC power plants ended load-shedding, thank you China", "favor"),
    ("CPEC", "CPEC is a debt trap that will sink Pakistan", "against"),
    ("CPEC", "Secret CPEC contracts hide corruption and inflated costs", "against"),
    ("CPEC", "Baloch people get nothing from CPEC, only checkpoints", "against"),
    ("CPEC", "The CPEC conference is scheduled for Monday in Islamabad", "none"),
    ("CPEC", "Weather in Lahore is hot today", "none"),
    ("atheism", "God is great, pray every day", "against"),
    ("atheism", "Religion is a fairy tale, reason wins", "favor"),
    ("atheism", "Bless the lord for his mercy", "against"),
    ("atheism", "No gods, no masters, just science", "favor"),
    ("atheism", "Watching football tonight", "none"),
]

CLAIM = "CPEC is a debt trap for Pakistan"
PAIRS = [
    (CLAIM, "Experts say CPEC is a debt trap for Pakistan. The loans are huge and repayment is hard.", "agree"),
    (CLAIM, "CPEC loans form a debt trap for Pakistan. Analysts confirmed the burden is unsustainable.", "agree"),
    (CLAIM, "Officials rejected reports that CPEC is a debt trap. The ministry called the claim false.", "disagree"),
    (CLAIM, "The government denied CPEC is a debt trap for Pakistan. It called it a hoax.", "disagree"),
    (CLAIM, "Critics claimed CPEC could be a debt trap, according to a report. Officials said talks go on.", "discuss"),
    (CLAIM, "An opposition leader said CPEC is allegedly a debt trap. The debate continues in parliament.", "discuss"),
    (CLAIM, "The cricket team won the match in Karachi on Sunday. Fans celebrated in the streets.", "unrelated"),
    (CLAIM, "Heavy rain flooded roads in Lahore. Schools were closed for two days.", "unrelated"),
]


def test_metrics() -> None:
    gold = ["favor", "against", "none", "against"]
    assert f_avg(gold, gold) == 1.0
    assert f_avg(gold, ["none"] * 4) == 0.0
    g = ["agree", "unrelated", "discuss", "disagree"]
    assert fnc_score(g, g) == 1.0
    assert fnc_score(g, ["unrelated"] * 4) == pytest.approx(0.25 / 3.25)
    assert fnc_score(g, ["discuss", "unrelated", "discuss", "agree"]) == pytest.approx(1.75 / 3.25)


def test_split_sentences() -> None:
    assert split_sentences("One two three. Four five six!\n\nSeven eight nine?") == [
        "One two three.", "Four five six!", "Seven eight nine?"
    ]
    assert split_sentences("") == ["."]


@pytest.mark.parametrize("mode", ["augment", "per_target", "global"])
def test_target_model_fit_predict(mode: str) -> None:
    targets, texts, labels = zip(*TWEETS)
    model = TargetStanceModel(embedder=EMB, target_mode=mode, char_ngram_range=(2, 4))
    assert model.fit(texts, targets, labels) is model
    pred = model.predict(texts, targets)
    assert len(pred) == len(texts) and set(pred) <= set(TARGET_LABELS)
    proba = model.predict_proba(texts, targets)
    assert proba.shape == (len(texts), len(model.classes_))
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert model.predict(["CPEC is a debt trap"], ["a target never seen"])[0] in TARGET_LABELS
    assert f_avg(labels, pred) > 0.8


def test_target_model_svm_and_single_target_string() -> None:
    targets, texts, labels = zip(*TWEETS)
    model = TargetStanceModel(embedder=EMB, classifier="svm", use_embeddings=False).fit(texts, targets, labels)
    assert len(model.predict(list(texts[:3]), "CPEC")) == 3


@pytest.mark.parametrize("two_stage", [True, False])
def test_claim_model_fit_predict(two_stage: bool) -> None:
    claims, texts, labels = zip(*(PAIRS * 3))
    model = ClaimStanceModel(embedder=EMB, two_stage=two_stage, max_iter=5, max_leaf_nodes=7)
    assert model.fit(claims, texts, labels) is model
    pred = model.predict(claims, texts)
    assert len(pred) == len(claims) and set(pred) <= set(CLAIM_LABELS)
    proba = model.predict_proba(claims, texts)
    assert proba.shape == (len(claims), len(model.classes_))
    assert np.allclose(proba.sum(axis=1), 1.0)


def test_save_load_round_trip_without_pickle(tmp_path) -> None:  # noqa: ANN001
    targets, ttexts, tlabels = zip(*TWEETS)
    tmodel = TargetStanceModel(embedder=EMB).fit(ttexts, targets, tlabels)
    save_model(tmodel, tmp_path / "target.npz")
    loaded = load_model(tmp_path / "target.npz")
    assert loaded.embedder == "hashing"  # stored by name, not by weights
    assert loaded.predict(ttexts, targets) == tmodel.predict(ttexts, targets)
    assert np.allclose(loaded.predict_proba(ttexts, targets), tmodel.predict_proba(ttexts, targets))
    with np.load(tmp_path / "target.npz", allow_pickle=False) as data:  # plain arrays: nothing to unpickle
        assert all(data[k].dtype != object for k in data.files)


def test_rule_model() -> None:
    rule = RuleClaimStance(embedder=EMB).fit()
    body = "Officials rejected reports that CPEC is a debt trap. They said the loans are affordable."
    assert rule.predict([CLAIM], [body]) == ["disagree"]
    assert rule.predict([CLAIM], ["Heavy rain flooded roads in Lahore. Schools were closed."]) == ["unrelated"]
    assert rule.predict([CLAIM], ["The minister said CPEC is a debt trap for Pakistan, according to reports."]) \
        == ["discuss"]
    assert rule.predict([CLAIM], ["CPEC is a debt trap for Pakistan, the figures show clearly."]) == ["agree"]
    assert rule.predict_proba([CLAIM], [body]).shape == (1, 4)
    claims, texts, labels = zip(*PAIRS)
    assert 0.1 <= rule.fit(claims, texts, labels).threshold_ <= 0.95


def test_default_factories(tmp_path) -> None:  # noqa: ANN001
    tpath = tmp_path / "t.jsonl"
    tpath.write_text("".join(json.dumps({"target": t, "text": x, "label": y}) + "\n" for t, x, y in TWEETS))
    assert default_target_model(tpath, embedder=EMB).predict(["CPEC jobs"], ["CPEC"])[0] in TARGET_LABELS
    cpath = tmp_path / "c.jsonl"
    cpath.write_text("".join(json.dumps({"claim": c, "text": x, "label": y}) + "\n" for c, x, y in PAIRS * 2))
    assert isinstance(default_claim_model(cpath, embedder=EMB, max_iter=10), ClaimStanceModel)
    assert isinstance(default_claim_model(tmp_path / "missing.jsonl", embedder=EMB), RuleClaimStance)


class _EnglishOnly:
    """The hashing embedder, declared English-only (as MiniLM is)."""

    name = "hashing-en"
    dim = EMB.dim
    languages = frozenset({"en"})

    def encode(self, texts: list[str]) -> np.ndarray:
        return EMB.encode(texts)


class _Translating:
    """A stand-in multilingual embedder: maps Urdu words (``words``; the Urdu full stop ignored) onto English ones,
    then hashes; records its inputs."""

    name = "toy-multilingual"
    dim = EMB.dim
    languages = None
    WORDS = {"سی": "CPEC", "پیک": "", "قرض": "debt", "جال": "trap", "نوکریاں": "jobs", "ترقی": "growth"}

    def __init__(self, words: dict[str, str] | None = None) -> None:
        self.words = self.WORDS if words is None else words
        self.seen: list[str] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.seen.extend(texts)
        return EMB.encode([" ".join(self.words.get(w.strip("۔"), w) for w in t.split()) for t in texts])


def test_target_model_scores_uncovered_languages_with_the_crosslingual_model() -> None:
    targets, texts, labels = zip(*[t for t in TWEETS if t[0] == "CPEC"])
    companion = _Translating()
    model = TargetStanceModel(embedder=_EnglishOnly(), crosslingual_embedder=companion, crosslingual_C=10.0)
    model.fit(texts, targets, labels)
    companion.seen.clear()
    urdu_against, urdu_favor = "سی پیک قرض جال", "سی پیک نوکریاں ترقی"
    english = "CPEC is a debt trap that will sink Pakistan"
    pred = model.predict([english, urdu_against, urdu_favor], "CPEC", ["en", "ur", "ur"])
    assert pred[1:] == ["against", "favor"]
    assert english not in companion.seen and urdu_against in companion.seen  # English stays with the main model
    # unknown language, or no languages given: the main model
    companion.seen.clear()
    model.predict([urdu_against], "CPEC", [None])
    model.predict([urdu_against], "CPEC")
    assert urdu_against not in companion.seen
    # without a companion every row goes through the main model, languages or not
    plain = TargetStanceModel(embedder=_EnglishOnly()).fit(texts, targets, labels)
    assert plain.predict_proba([urdu_against], "CPEC", ["ur"]).shape == (1, len(plain.classes_))


def test_target_model_stores_the_crosslingual_embedder_by_name(tmp_path) -> None:
    targets, texts, labels = zip(*TWEETS)
    model = TargetStanceModel(embedder=EMB, crosslingual_embedder=get_embedder("hashing")).fit(texts, targets, labels)
    path = tmp_path / "m.npz"
    save_model(model, path)
    loaded = load_model(path)
    assert loaded.crosslingual_embedder == "hashing"
    assert loaded.predict(["CPEC is a debt trap"], "CPEC", ["ur"]) == model.predict(["CPEC is a debt trap"], "CPEC",
                                                                                     ["ur"])
