"""Check-worthiness: the shipped model ranks factual, number-laden sentences above opinion and filler; cues, document
neighbours (smoothing and the context head), the threshold chosen on training data, plain-JSON persistence."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tracker.checkworthy import (
    CUE_NAMES,
    CheckworthyModel,
    best_f1_threshold,
    context_features,
    cue_features,
    default_model,
    neighbour_mean,
    neighbours,
    shipped_training_data,
)

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
    assert shipped.predict(FACTUAL) == [1, 1, 1, 1] and shipped.predict(FILLER) == [0, 0, 0, 0]


def test_scores_are_probabilities_in_input_order(shipped: CheckworthyModel) -> None:
    mixed = [FILLER[0], FACTUAL[0], FILLER[1], FACTUAL[1]]
    scores = shipped.score(mixed)
    assert len(scores) == 4 and all(0.0 <= s <= 1.0 for s in scores)
    assert scores[1] > scores[0] and scores[3] > scores[2]
    assert shipped.score(mixed[::-1]) == pytest.approx(scores[::-1])
    assert shipped.score([]) == []


def test_the_shipped_model_learns_from_news_and_speech_sentences() -> None:
    texts, labels = shipped_training_data()
    assert len(texts) == len(labels) > 600 and set(labels) == {0, 1}
    assert "Thank you all so much for being here tonight." in texts  # the speech supplement
    assert len(set(texts)) == len(texts)


def test_cue_features_flag_numbers_money_years_and_questions() -> None:
    rows = cue_features(["It rose 5 percent to $3 billion in 2021, more than ever.", "Is that really so?",
                         "You said you would not do it!"])
    cue = {name: rows[:, i] for i, name in enumerate(CUE_NAMES)}
    assert rows.shape == (3, len(CUE_NAMES)) == (3, 16)
    assert cue["digit"][0] == cue["percent"][0] == cue["money"][0] == cue["year"][0] == 1.0
    assert cue["compare"][0] > 0 and cue["digit"][1] == 0.0
    assert cue["question"].tolist() == [0.0, 1.0, 0.0] and cue["exclaim"].tolist() == [0.0, 0.0, 1.0]
    assert cue["second_person"][2] == cue["negation"][2] == cue["report"][2] == 1.0
    assert ((rows >= 0) & (rows <= 1)).all()


def test_neighbours_follow_each_document_in_reading_order() -> None:
    previous, following = neighbours(["a", "b", "a", None, "a", "b"])
    assert previous.tolist() == [-1, -1, 0, -1, 2, 1]
    assert following.tolist() == [2, 5, 4, -1, -1, -1]
    assert neighbour_mean(np.array([1.0, 10.0, 3.0, 7.0, 5.0, 20.0]), ["a", "b", "a", None, "a", "b"]).tolist() == [
        3.0, 20.0, 3.0, 0.0, 3.0, 10.0]


def test_context_features_are_the_neighbours_vectors_and_the_position() -> None:
    vectors = np.eye(3)
    features = context_features(vectors, ["d", "d", "d"])
    assert features.shape == (3, 9)
    assert features[1, :3].tolist() == [1, 0, 0] and features[1, 3:6].tolist() == [0, 0, 1]
    assert features[0, :3].tolist() == [0, 0, 0]  # nothing before the first sentence
    assert features[:, 6:].tolist() == [[0, 1, 0], [1, 1, 0.5], [1, 0, 1]]


def _data(n: int = 400, positives: float = 0.1, seed: int = 0) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Sentences whose label shows in the first vector dimension; check-worthy ones are rare."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < positives).astype(int)
    vectors = rng.normal(size=(n, 8)) * 0.5
    vectors[:, 0] += labels * 1.2
    return [f"sentence {i}" for i in range(n)], vectors, labels


def test_the_threshold_is_chosen_on_the_training_data() -> None:
    texts, vectors, labels = _data()
    model = CheckworthyModel.for_training_file().fit(texts, labels, vectors)
    scores = np.asarray(model.score(texts, vectors))
    assert model.threshold() < 0.5  # calibrated probabilities at a 10% base rate rarely reach 0.5
    assert (scores >= 0.5).sum() < labels.sum() / 2
    predicted = np.asarray(model.predict(texts, vectors))
    assert predicted.tolist() == (scores >= model.threshold()).astype(int).tolist()
    # the threshold is the best F1 cut of out-of-fold scores, so it does well on the training data too
    tp = int((predicted & labels).sum())
    f1 = 2 * tp / (predicted.sum() + labels.sum())
    assert f1 > 0.5
    assert best_f1_threshold([0, 0, 1, 1, 0], [0.1, 0.2, 0.3, 0.4, 0.35]) == 0.3
    assert best_f1_threshold([0, 0], [0.1, 0.2]) == 0.5


def test_a_context_head_is_fitted_and_used_only_with_documents() -> None:
    texts, vectors, labels = _data()
    docs = [f"debate {i // 40}" for i in range(len(texts))]
    plain = CheckworthyModel.for_training_file().fit(texts, labels, vectors)
    with_docs = CheckworthyModel.for_training_file().fit(texts, labels, vectors, docs=docs)
    assert set(plain.coef_) == {"text"} and set(with_docs.coef_) == {"text", "context"}
    assert with_docs.head_for(docs) == "context" and with_docs.head_for(None) == "text"
    assert plain.head_for(docs) == "text"
    assert with_docs.score(texts, vectors) == pytest.approx(plain.score(texts, vectors))  # same text head
    assert with_docs.score(texts, vectors, docs) != pytest.approx(plain.score(texts, vectors, docs))
    assert set(with_docs.thresholds_) == {"text", "context"}


def test_neighbour_smoothing_moves_a_score_toward_its_neighbours() -> None:
    texts, vectors, labels = _data()
    model = CheckworthyModel.for_shipping().fit(texts, labels, vectors)
    middle = np.zeros((1, 8))
    high, low = np.eye(8)[:1] * 3, -np.eye(8)[:1] * 3
    alone = model.score(["x"], middle)[0]
    among_high = model.score(["a", "x", "b"], np.vstack([high, middle, high]), docs=[1, 1, 1])[1]
    among_low = model.score(["a", "x", "b"], np.vstack([low, middle, low]), docs=[1, 1, 1])[1]
    assert among_low < alone < among_high
    apart = model.score(["a", "x", "b"], np.vstack([high, middle, high]), docs=[1, 2, 3])[1]
    assert apart == pytest.approx(alone)  # neighbours in other documents do not count, nor a sentence's own score
    unsmoothed = CheckworthyModel.for_training_file().fit(texts, labels, vectors)
    assert unsmoothed.score(["a", "x", "b"], np.vstack([high, middle, high]), docs=[1, 1, 1])[1] == pytest.approx(
        unsmoothed.score(["x"], middle)[0])


def test_the_fitted_model_round_trips_through_plain_json() -> None:
    texts, vectors, labels = _data()
    docs = [f"debate {i // 40}" for i in range(len(texts))]
    model = CheckworthyModel.for_training_file().fit(texts, labels, vectors, docs=docs)
    again = CheckworthyModel.from_dict(json.loads(json.dumps(model.to_dict())))
    for d in (None, docs):
        assert again.score(texts, vectors, d) == pytest.approx(model.score(texts, vectors, d))
        assert again.threshold(d) == model.threshold(d)
    state = model.to_dict()
    state["cues"] = state["cues"][:-1]
    with pytest.raises(ValueError):
        CheckworthyModel.from_dict(state)


def test_fit_learns_from_its_labels() -> None:
    texts = ["Exports rose 12 percent in 2022.", "Debt reached $90 billion in March.",
             "Thank you all for coming.", "What a lovely evening it is."] * 3
    labels = [1, 1, 0, 0] * 3
    model = CheckworthyModel(C=1.0).fit(texts, labels)
    flipped = CheckworthyModel(C=1.0).fit(texts, [1 - y for y in labels])
    probe = ["Imports fell 7 percent in 2021.", "Good evening to all of you."]
    assert model.score(probe)[0] > model.score(probe)[1]
    assert flipped.score(probe)[0] < flipped.score(probe)[1]
    with pytest.raises(ValueError, match="both labels"):
        CheckworthyModel().fit(texts[:1], [1])
