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


@pytest.mark.slow
def test_e5_embeds_across_languages() -> None:
    embedder = get_embedder("e5")
    _check(embedder)
    urdu, english = embedder.encode(["سی پیک پاکستان کو قرضوں کے جال میں دھکیل رہا ہے۔",
                                      "CPEC is pushing Pakistan into a debt trap."])
    assert urdu @ english > english @ embedder.encode([UNRELATED])[0]
