"""Check-worthiness: the shipped model ranks factual, number-laden sentences above opinion and filler."""

from __future__ import annotations

import pytest

from tracker.checkworthy import CheckworthyModel, cue_features, default_model

FACTUAL = [
    "Pakistan borrowed $5 billion from China in 2023, raising its external debt to 130 billion dollars.",
    "CPEC created 75,000 jobs in Balochistan between 2015 and 2020, the Planning Ministry reported.",
    "Electricity tariffs rose 28 percent in July after the IMF deal.",
    "Gwadar port handled 1.2 million tonnes of cargo last year.",
]
FILLER = [
    "I think this is a wonderful day for all of us.",
    "Thank you very much, and good evening.",
    "We hope our friendship will grow stronger.",
    "Maybe things will get better soon.",
]


@pytest.fixture(scope="module")
def shipped() -> CheckworthyModel:
    return default_model()


def test_factual_sentences_score_above_opinion_and_filler(shipped: CheckworthyModel) -> None:
    factual = shipped.score(FACTUAL)
    filler = shipped.score(FILLER)
    assert min(factual) > max(filler)
    assert all(s >= 0.5 for s in factual) and all(s < 0.5 for s in filler)


def test_scores_are_probabilities_in_input_order(shipped: CheckworthyModel) -> None:
    mixed = [FILLER[0], FACTUAL[0], FILLER[1], FACTUAL[1]]
    scores = shipped.score(mixed)
    assert len(scores) == 4 and all(0.0 <= s <= 1.0 for s in scores)
    assert scores[1] > scores[0] and scores[3] > scores[2]
    assert shipped.score(mixed[::-1]) == pytest.approx(scores[::-1])
    assert shipped.score([]) == []


def test_cue_features_flag_numbers_money_and_questions() -> None:
    rows = cue_features(["It rose 5 percent to $3 billion.", "Is that really so?"])
    assert rows.shape == (2, 10)
    assert rows[0, 0] == 1.0 and rows[0, 1] == 1.0 and rows[0, 2] == 1.0
    assert rows[1, 0] == 0.0 and rows[1, 7] == 1.0


def test_fit_learns_from_its_labels() -> None:
    texts = ["Exports rose 12 percent in 2022.", "Debt reached $90 billion in March.",
             "Thank you all for coming.", "What a lovely evening it is."] * 3
    labels = [1, 1, 0, 0] * 3
    model = CheckworthyModel().fit(texts, labels)
    flipped = CheckworthyModel().fit(texts, [1 - y for y in labels])
    assert model.score(["Imports fell 7 percent in 2021."])[0] > 0.5
    assert flipped.score(["Imports fell 7 percent in 2021."])[0] < 0.5
