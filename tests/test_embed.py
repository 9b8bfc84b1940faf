"""Embedders: the model-free hashing embedder (fast) and the real models, loaded offline (slow)."""

from __future__ import annotations

import numpy as np
import pytest

from tracker import TrackerError
from tracker.embed import Embedder, HashingEmbedder, get_embedder

PARAPHRASE = ("CPEC loans are pushing Pakistan into a debt trap.",
              "Chinese loans under the corridor are driving Pakistan into debt bondage.")
UNRELATED = "Cricket fans queued overnight for tickets to the final in Karachi."


def _check(embedder: Embedder) -> None:
    vectors = embedder.encode([*PARAPHRASE, UNRELATED])
    assert vectors.shape == (3, embedder.dim) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    assert embedder.encode([]).shape == (0, embedder.dim)


def test_hashing_embedder_is_deterministic_and_normalised() -> None:
    embedder = get_embedder("hashing")
    assert isinstance(embedder, HashingEmbedder) and isinstance(embedder, Embedder)
    assert get_embedder("hashing") is embedder
    _check(embedder)
    a = embedder.encode(["Gwadar port"])[0]
    assert np.array_equal(a, HashingEmbedder().encode(["gwadar PORT"])[0])
    assert np.array_equal(embedder.encode([""]), np.zeros((1, embedder.dim), np.float32))


def test_unknown_embedder_is_an_error() -> None:
    with pytest.raises(TrackerError, match="unknown embedding model"):
        get_embedder("word2vec")


@pytest.mark.slow
def test_minilm_loads_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")

    def no_network(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("the model tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    from tracker.embed import MiniLMEmbedder

    embedder = MiniLMEmbedder()
    assert embedder.dim == 384 and embedder.name == "all-MiniLM-L6-v2"
    _check(embedder)
    # texts go to the model longest first; the vectors come back in the caller's order
    texts = ["Short.", "A much longer sentence about the corridor's power plants and the loans that paid for them.",
             "Gwadar port opened in 2016.", ""]
    together = embedder.encode(texts)
    alone = np.vstack([embedder.encode([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-5)


@pytest.mark.slow
def test_e5_embeds_across_languages() -> None:
    embedder = get_embedder("e5")
    _check(embedder)
    urdu, english = embedder.encode(["سی پیک پاکستان کو قرضوں کے جال میں دھکیل رہا ہے۔",
                                      "CPEC is pushing Pakistan into a debt trap."])
    assert urdu @ english > english @ embedder.encode([UNRELATED])[0]


def test_shipped_vectors_cover_the_training_sets_and_embed_only_the_rest() -> None:
    """The vectors shipped for tracker's own training texts are current (every text of the check-worthiness and
    narrative-stance sets has one: otherwise each new process embeds them again), and any other text goes to the
    base embedder."""
    from tracker.checkworthy import shipped_training_data
    from tracker.embed import ShippedVectors, _shipped_vectors
    from tracker.resources import dataset_path, read_jsonl
    from tracker.store.base import content_hash

    shipped = _shipped_vectors("all-MiniLM-L6-v2")
    texts = shipped_training_data()[0] + [r[key] for r in read_jsonl(
        dataset_path("cpec", "stance", "narrative_stance_train.jsonl")) for key in ("text", "claim")]
    missing = [t for t in texts if content_hash(t) not in shipped]
    assert not missing, f"{len(missing)} texts lack a vector: python -m tracker.stance_train --vectors"

    class Counting:
        name, dim, languages = "all-MiniLM-L6-v2", 384, frozenset({"en"})
        seen: list[str] = []

        def encode(self, batch: list[str]) -> np.ndarray:
            self.seen.extend(batch)
            return np.ones((len(batch), self.dim), np.float32) / np.sqrt(self.dim)

    base = Counting()
    vectors = ShippedVectors(base).encode([texts[0], UNRELATED, texts[1], UNRELATED])
    assert base.seen == [UNRELATED]  # once, and none of the shipped texts
    assert np.allclose(vectors[0], shipped[content_hash(texts[0])]) and np.allclose(vectors[1], vectors[3])
    assert _shipped_vectors("hashing") == {}  # no file: every text goes to the base embedder
