"""The target-conditioned stance model: span features, shared heads, adapters, persistence, shipped heads."""

from __future__ import annotations

import numpy as np
import pytest

from tracker.stance_span import LABELS, Encoded, SpanStanceModel, shipped_model, span_features

RNG = np.random.default_rng(0)
DIM = 16


def item(label: str, text: str = "x", tokens: int = 6) -> Encoded:
    """A synthetic encoded text whose sentence vector and tokens lean toward ``label``."""
    centre = np.zeros(DIM)
    centre[LABELS.index(label)] = 2.0
    sentence = centre + RNG.normal(0, 0.5, DIM)
    states = centre + RNG.normal(0, 0.5, (tokens, DIM))
    offsets = np.array([(0, 0)] + [(i * 2, i * 2 + 1) for i in range(tokens - 2)] + [(0, 0)], dtype=np.int32)
    return Encoded((sentence / np.linalg.norm(sentence)).astype(np.float32), states.astype(np.float32), offsets, text)


def data(n: int = 60) -> tuple[list[Encoded], list[tuple[int, int]], list[str]]:
    labels = [LABELS[i % 3] for i in range(n)]
    return [item(label, f"{label} words {i}") for i, label in enumerate(labels)], [(2, 3)] * n, labels


def test_span_features_need_a_mention_inside_the_encoded_text() -> None:
    encoded = item("favor")
    assert span_features(encoded, (2, 3)).shape == (5 * DIM,)
    assert span_features(encoded, (500, 510)) is None  # cut off by truncation
    assert span_features(encoded, None) is None
    assert span_features(Encoded(encoded.sentence), (2, 3)) is None  # no token states (e5)


def test_shared_heads_learn_and_give_probabilities() -> None:
    items, spans, labels = data()
    model = SpanStanceModel(C_span=1.0, C_sentence=1.0).fit(items, spans, labels)
    proba = model.predict_proba(items, spans)
    assert proba.shape == (len(items), 3) and np.allclose(proba.sum(1), 1.0)
    assert np.mean([LABELS[i] == y for i, y in zip(proba.argmax(1), labels, strict=True)]) > 0.9
    # without a span the sentence head answers
    assert model.predict_proba(items[:3]).shape == (3, 3)


def test_temperature_is_fitted_on_held_out_logits() -> None:
    items, spans, labels = data()
    model = SpanStanceModel(C_span=1.0, C_sentence=1.0).fit(items, spans, labels)
    logits = model.shared_logits(items, spans) * 5
    noisy = [LABELS[(LABELS.index(y) + 1) % 3] if i % 3 == 0 else y for i, y in enumerate(labels)]
    assert model.fit_temperature(logits, noisy).temperature_ > 1.0  # a third wrong: confident logits soften


def test_adapter_starts_as_the_identity_and_learns_a_target() -> None:
    items, spans, labels = data()
    model = SpanStanceModel(C_span=1.0, C_sentence=1.0).fit(items, spans, labels)
    shared = model.shared_proba(items, spans)
    sentences = np.stack([i.sentence for i in items])
    texts = [i.text for i in items]
    assert np.allclose(model.adapt("CPEC", shared, sentences, texts), shared)  # no adapter yet: zero-shot
    # the target's examples say the opposite of the shared heads for 'favor' texts: the adapter learns that
    flipped = ["against" if y == "favor" else y for y in labels]
    model.fit_target("CPEC", shared, sentences, texts, flipped)
    adapted = model.adapt("cpec", shared, sentences, texts)  # target names are case-insensitive
    favor_rows = [i for i, y in enumerate(labels) if y == "favor"]
    assert adapted[favor_rows, 1].mean() > shared[favor_rows, 1].mean() + 0.3
    assert np.allclose(model.adapt("Other", shared, sentences, texts), shared)
    model.fit_target("CPEC", shared[:0], sentences[:0], [], [])
    assert "cpec" not in model.adapters_


def test_state_round_trip_is_plain_json_and_arrays() -> None:
    items, spans, labels = data()
    model = SpanStanceModel(C_span=1.0, C_sentence=1.0).fit(items, spans, labels)
    shared = model.shared_proba(items, spans)
    model.fit_target("CPEC", shared, np.stack([i.sentence for i in items]), [i.text for i in items], labels)
    state, arrays = model.to_state()
    assert all(isinstance(a, np.ndarray) and a.dtype != object for a in arrays.values())
    again = SpanStanceModel.from_state(state, arrays)
    assert np.allclose(again.predict_proba(items, spans, "CPEC"), model.predict_proba(items, spans, "CPEC"),
                       atol=1e-5)
    assert not again.copy_shared().adapters_
    with pytest.raises(ValueError):
        SpanStanceModel.from_state({**state, "format": "pickle"}, arrays)
    with pytest.raises(ValueError):
        SpanStanceModel.from_state(state, {k: v for k, v in arrays.items() if not k.startswith("sentence.")})


def test_shipped_heads_exist_for_minilm_and_e5_only() -> None:
    minilm = shipped_model("all-MiniLM-L6-v2")
    assert minilm is not None and minilm.span_head_ is not None and minilm.sentence_head_.W.shape == (384, 3)
    assert 0.5 < minilm.temperature_ < 2.0 and not minilm.adapters_
    e5 = shipped_model("multilingual-e5-small-q4")
    assert e5 is not None and e5.span_head_ is None  # sentence vectors only
    assert shipped_model("hashing") is None


def test_shipped_example_features_match_the_shipped_heads_only() -> None:
    from tracker.stance_span import shipped_examples

    minilm = shipped_model("all-MiniLM-L6-v2")
    features = shipped_examples("all-MiniLM-L6-v2", minilm.fingerprint())
    assert len(features) > 400  # the English lines of the project's CPEC stance set
    shared, sentence = next(iter(features.values()))
    assert shared.shape == (3,) and abs(float(shared.sum()) - 1.0) < 1e-4 and sentence.shape == (384,)
    assert shipped_examples("all-MiniLM-L6-v2", "other heads") == {}
    assert shipped_examples("hashing", minilm.fingerprint()) == {}
