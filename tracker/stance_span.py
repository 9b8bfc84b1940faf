"""Target-conditioned stance: P(favor), P(against), P(none) of a text toward a named target, from one MiniLM pass.

The input is the text, the target and, where the text names it, the character span of the mention.

* **Span head** (the mention is known): features ``[sentence, mention, context, left, right]`` (5 x 384), where
  *mention* is the mean of layer-4 token states inside the span, *context* the other tokens weighted by
  ``exp(-distance / tau)`` (distance in tokens to the mention), *left* / *right* the tokens before / after it.
  Standardised, then a softmax regression.
* **Sentence head** (no mention, or an embedder without token states such as e5): the sentence embedding tracker
  already stores, standardised, softmax regression.
* **Temperature** ``temperature_`` divides the shared logits, fitted on out-of-fold logits, so a stored score is a
  calibrated probability.
* **Target adapters**: for a target with labelled examples (the shipped CPEC set, ``tracker targets add``
  examples, reviewers' labels), a softmax layer on ``[centred log shared probabilities, standardised sentence,
  hashed word and character n-grams]`` whose weights start at "copy the shared prediction" and are pulled back
  toward it by L2 penalties. No examples: the identity (zero-shot). A handful: mostly the class balance and a few
  directions. Hundreds: a per-target classifier with the shared heads as its prior. The adapter's inputs are the
  shared probabilities and the stored sentence vector, so refitting it after a label needs no transformer pass.

The shared heads ship as plain arrays (``tracker/data/stance/<embedder>.npz`` + ``.json``), fitted on NewsMTSC
train (real multi-target news sentences, MIT licence) by ``python -m tracker.stance_train``; an embedder without
shipped heads (tests' hashing embedder, a user's own model) gets a sentence head fitted on the project's own CPEC
stance set at first use. Nothing here is pickled.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

LABELS = ("favor", "against", "none")
LAYER = 4
BLOCKS = 5
FORMAT = "tracker-span-stance/1"
LEXICAL_FEATURES = 2 ** 16  # per analyser: word 1-2-grams, character 2-5-grams within words

Span = tuple[int, int] | None


@dataclass(frozen=True)
class Encoded:
    """One text after the embedder's pass.

    Attributes:
        sentence: the L2-normalised sentence embedding (what tracker stores for the claim).
        tokens: (T, d) hidden states of layer ``LAYER`` for every token, [CLS] and [SEP] included; None where only
            the sentence head is used.
        offsets: (T, 2) character offsets of each token ((0, 0) for [CLS]/[SEP]); None with tokens.
        text: the text, for the adapters' n-gram block.
    """

    sentence: np.ndarray
    tokens: np.ndarray | None = None
    offsets: np.ndarray | None = None
    text: str | None = None


def encode_tokens(st_model: Any, texts: Sequence[str], layer: int = LAYER, batch_size: int = 32) -> list[Encoded]:
    """One pass of a sentence-transformers mean-pooling model over ``texts``: sentence embeddings (as
    ``encode(normalize_embeddings=True)`` gives them) and the token states of hidden layer ``layer``."""
    import torch

    tokenizer, bert = st_model.tokenizer, st_model[0].auto_model
    order = np.argsort([len(t) for t in texts], kind="stable")
    out: list[Encoded | None] = [None] * len(texts)
    with torch.inference_mode():
        for b in range(0, len(texts), batch_size):
            idx = order[b:b + batch_size]
            enc = tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                            max_length=st_model.max_seq_length, return_tensors="pt", return_offsets_mapping=True)
            offsets = enc.pop("offset_mapping").numpy()
            hidden = bert(**enc, output_hidden_states=True).hidden_states
            last, mid = hidden[-1].numpy(), hidden[layer].numpy()
            mask = enc["attention_mask"].numpy().astype(bool)
            for j, i in enumerate(idx):
                n = int(mask[j].sum())
                sentence = last[j, :n].mean(0)
                sentence = sentence / max(float(np.linalg.norm(sentence)), 1e-12)
                out[i] = Encoded(sentence.astype(np.float32), mid[j, :n].astype(np.float32),
                                 offsets[j, :n].astype(np.int32), texts[i])
    return out  # type: ignore[return-value]


# --- features ---------------------------------------------------------------------------------------------------

def span_features(item: Encoded, span: Span, tau: float = 3.0) -> np.ndarray | None:
    """The span head's (5 d,) feature vector, or None when the mention has no token in the encoded text."""
    if item.tokens is None or item.offsets is None or span is None:
        return None
    start, end = span
    a, b = item.offsets[:, 0], item.offsets[:, 1]
    idx = np.nonzero((b > a) & (a < end) & (b > start))[0]
    if len(idx) == 0:
        return None
    tok = item.tokens
    body = np.arange(1, tok.shape[0] - 1)  # without [CLS] and [SEP]
    dist = np.abs(body[:, None] - idx[None, :]).min(1).astype(np.float64)
    weights = np.exp(-dist / tau) * (dist > 0)
    zero = np.zeros(tok.shape[1], dtype=np.float64)
    context = (weights[:, None] * tok[body]).sum(0) / weights.sum() if weights.sum() > 0 else zero
    left, right = body[body < idx.min()], body[body > idx.max()]
    return np.concatenate([
        item.sentence, tok[idx].mean(0), context,
        tok[left].mean(0) if len(left) else zero, tok[right].mean(0) if len(right) else zero,
    ]).astype(np.float32)


_URL = re.compile(r"https?://\S+")
_HANDLE = re.compile(r"@\w+")


def lexical_features(texts: Sequence[str | None]) -> Any:
    """(n, 2 * 2**16) sparse: hashed word 1-2-grams and character 2-5-grams, log counts, rows L2-normalised.
    Stateless (MurmurHash3), so only the columns an adapter uses are stored."""
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import HashingVectorizer

    clean = [_HANDLE.sub("@user", _URL.sub(" URL ", t or "")).lower() for t in texts]
    words = HashingVectorizer(n_features=LEXICAL_FEATURES, analyzer="word", ngram_range=(1, 2),
                              token_pattern=r"(?u)[#@]?\w+", alternate_sign=False, norm=None)
    chars = HashingVectorizer(n_features=LEXICAL_FEATURES, analyzer="char_wb", ngram_range=(2, 5),
                              alternate_sign=False, norm=None)
    X = sp.hstack([words.transform(clean), chars.transform(clean)]).tocsr()
    X.data = 1.0 + np.log(X.data)
    norms = np.sqrt(np.asarray(X.multiply(X).sum(1))).ravel()
    norms[norms == 0] = 1.0
    return sp.diags(1.0 / norms) @ X


# --- softmax regression -----------------------------------------------------------------------------------------

def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def _fit_softmax(X: np.ndarray, y: np.ndarray, penalty: float, max_iter: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression by L-BFGS: ``sum CE + penalty / 2 * |W|^2`` (scikit-learn's C = 1/penalty)."""
    from scipy.optimize import minimize

    n, d = X.shape
    k = len(LABELS)
    X = np.asarray(X, dtype=np.float64)
    Y = np.eye(k)[y]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        W, b = theta[:d * k].reshape(d, k), theta[d * k:]
        Z = X @ W + b
        Z -= Z.max(1, keepdims=True)
        logp = Z - np.log(np.exp(Z).sum(1, keepdims=True))
        G = np.exp(logp) - Y
        f = -float((Y * logp).sum()) + 0.5 * penalty * float((W ** 2).sum())
        return f, np.concatenate([(X.T @ G + penalty * W).ravel(), G.sum(0)])

    theta = minimize(loss, np.zeros(d * k + k), jac=True, method="L-BFGS-B",
                     options={"maxiter": max_iter, "gtol": 1e-6}).x
    return theta[:d * k].reshape(d, k).astype(np.float32), theta[d * k:].astype(np.float32)


def _fit_adapter(D: np.ndarray, L: Any, y: np.ndarray, penalty: np.ndarray, W0: np.ndarray, lexical_penalty: float,
                 bias_penalty: float, max_evaluations: int = 3000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Softmax regression with a dense block pulled toward ``W0`` and a sparse block (or None) pulled toward 0,
    solved in coordinates where every penalty is 1 (well conditioned whatever the penalties)."""
    from scipy.optimize import minimize

    k = len(LABELS)
    d = D.shape[1]
    m = L.shape[1] if L is not None else 0
    sd, sl, sb = 1.0 / np.sqrt(penalty), 1.0 / np.sqrt(lexical_penalty), 1.0 / np.sqrt(bias_penalty)
    Ds = np.asarray(D, dtype=np.float64) * sd
    Ls = L * sl if L is not None else None
    U0 = np.asarray(W0, dtype=np.float64) / sd[:, None]
    Y = np.eye(k)[y]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        Ud, c = theta[:d * k].reshape(d, k), theta[-k:]
        Z = Ds @ Ud + c * sb
        if m:
            Ul = theta[d * k:d * k + m * k].reshape(m, k)
            Z = Z + Ls @ Ul
        Z -= Z.max(1, keepdims=True)
        logp = Z - np.log(np.exp(Z).sum(1, keepdims=True))
        G = np.exp(logp) - Y
        f = -float((Y * logp).sum()) + 0.5 * float(((Ud - U0) ** 2).sum()) + 0.5 * float((c ** 2).sum())
        grads = [(Ds.T @ G + (Ud - U0)).ravel()]
        if m:
            f += 0.5 * float((Ul ** 2).sum())
            grads.append(np.asarray(Ls.T @ G + Ul).ravel())
        grads.append(G.sum(0) * sb + c)
        return f, np.concatenate(grads)

    theta0 = np.concatenate([U0.ravel(), np.zeros(m * k), np.zeros(k)])
    # truncated Newton, not L-BFGS-B: with tens of thousands of n-gram weights, SciPy's L-BFGS-B spends about 0.1 s
    # of bookkeeping per iteration (10 s a fit on the CPEC set); TNC reaches the same optimum in a sixth of the time
    th = minimize(loss, theta0, jac=True, method="TNC", options={"maxfun": max_evaluations}).x
    Wd = th[:d * k].reshape(d, k) * sd[:, None]
    Wl = th[d * k:d * k + m * k].reshape(m, k) * sl
    return Wd.astype(np.float32), Wl.astype(np.float32), (th[-k:] * sb).astype(np.float32)


@dataclass
class Linear:
    """Standardise, then softmax regression: logits = ((x - mu) / sd) @ W + b."""

    mu: np.ndarray
    sd: np.ndarray
    W: np.ndarray
    b: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray, y: np.ndarray, C: float) -> Linear:
        mu, sd = X.mean(0), X.std(0) + 1e-6
        W, b = _fit_softmax((X - mu) / sd, y, 1.0 / C)
        return cls(mu.astype(np.float32), sd.astype(np.float32), W, b)

    def standardise(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mu) / self.sd

    def logits(self, X: np.ndarray) -> np.ndarray:
        return self.standardise(X) @ self.W + self.b


@dataclass
class Adapter:
    """A target's layer: logits = [centred log shared p, standardised sentence] @ W + ngrams[:, rows] @ V + b."""

    W: np.ndarray
    b: np.ndarray
    rows: np.ndarray  # n-gram columns with a weight
    V: np.ndarray  # (len(rows), 3)
    n_examples: int


def _centred_log(p: np.ndarray) -> np.ndarray:
    logp = np.log(np.clip(p, 1e-9, 1.0))
    return logp - logp.mean(1, keepdims=True)


# --- the model --------------------------------------------------------------------------------------------------

class SpanStanceModel:
    """Shared span and sentence heads, a temperature, and per-target adapters (see the module docstring).

    Args:
        C_span: inverse L2 strength of the span head.
        C_sentence: inverse L2 strength of the sentence head.
        tau: decay (in tokens) of the context weights around the mention.
        adapter_C_logits: how far an adapter may move from copying the shared prediction.
        adapter_C_sentence: how much an adapter may use the sentence vector.
        adapter_C_lexical: how much an adapter may use hashed n-grams (0 turns them off).
        adapter_C_bias: how far an adapter's class biases may move.
    """

    PARAMS = ("C_span", "C_sentence", "tau", "adapter_C_logits", "adapter_C_sentence", "adapter_C_lexical",
              "adapter_C_bias")

    def __init__(self, C_span: float = 0.001, C_sentence: float = 0.001, tau: float = 3.0,
                 adapter_C_logits: float = 1.0, adapter_C_sentence: float = 0.03, adapter_C_lexical: float = 10.0,
                 adapter_C_bias: float = 1.0) -> None:
        self.C_span = C_span
        self.C_sentence = C_sentence
        self.tau = tau
        self.adapter_C_logits = adapter_C_logits
        self.adapter_C_sentence = adapter_C_sentence
        self.adapter_C_lexical = adapter_C_lexical
        self.adapter_C_bias = adapter_C_bias
        self.span_head_: Linear | None = None
        self.sentence_head_: Linear | None = None
        self.temperature_ = 1.0
        self.adapters_: dict[str, Adapter] = {}

    # -- shared heads ------------------------------------------------------------------------------------------

    def _span_matrix(self, items: Sequence[Encoded], spans: Sequence[Span]) -> tuple[np.ndarray, np.ndarray]:
        feats = [span_features(it, sp, self.tau) for it, sp in zip(items, spans, strict=True)]
        has = np.array([f is not None for f in feats], dtype=bool)
        X = np.stack([f for f in feats if f is not None]) if has.any() else np.zeros((0, 0), np.float32)
        return X, has

    def fit(self, items: Sequence[Encoded], spans: Sequence[Span] | None, labels: Sequence[str]) -> SpanStanceModel:
        """Fit the shared heads: the span head on the rows with a usable span, the sentence head on all rows."""
        spans = [None] * len(items) if spans is None else spans
        y = np.array([LABELS.index(label) for label in labels])
        X, has = self._span_matrix(items, spans)
        self.span_head_ = Linear.fit(X, y[has], self.C_span) if has.sum() >= 10 else None
        self.sentence_head_ = Linear.fit(np.stack([it.sentence for it in items]), y, self.C_sentence)
        self.temperature_ = 1.0
        self.adapters_ = {}
        return self

    def shared_logits(self, items: Sequence[Encoded], spans: Sequence[Span] | None = None) -> np.ndarray:
        """Uncalibrated logits (span head where a span is usable, else the sentence head)."""
        assert self.sentence_head_ is not None, "fit the model first"
        if not items:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        spans = [None] * len(items) if spans is None else spans
        Z = self.sentence_head_.logits(np.stack([it.sentence for it in items]))
        if self.span_head_ is not None:
            X, has = self._span_matrix(items, spans)
            if has.any():
                Z[has] = self.span_head_.logits(X)
        return Z

    def shared_proba(self, items: Sequence[Encoded], spans: Sequence[Span] | None = None) -> np.ndarray:
        """(n, 3) calibrated probabilities of the shared heads (no adapter), in the order of ``LABELS``."""
        return softmax(self.shared_logits(items, spans) / self.temperature_)

    def fit_temperature(self, logits: np.ndarray, labels: Sequence[str]) -> SpanStanceModel:
        """Set ``temperature_`` to minimise the NLL of ``softmax(logits / T)`` on held-out logits."""
        y = np.array([LABELS.index(label) for label in labels])
        grid = np.exp(np.linspace(np.log(0.05), np.log(20.0), 400))
        nll = [-np.mean(np.log(softmax(logits / t)[np.arange(len(y)), y] + 1e-12)) for t in grid]
        self.temperature_ = float(grid[int(np.argmin(nll))])
        return self

    # -- targets -----------------------------------------------------------------------------------------------

    def _psi(self, shared: np.ndarray, sentences: np.ndarray) -> np.ndarray:
        assert self.sentence_head_ is not None
        return np.hstack([_centred_log(shared), self.sentence_head_.standardise(sentences)])

    def fit_target(self, target: str, shared: np.ndarray, sentences: np.ndarray, texts: Sequence[str | None],
                   labels: Sequence[str]) -> SpanStanceModel:
        """Fit (or refit) the adapter of ``target`` from its examples' shared probabilities
        (:meth:`shared_proba`), sentence vectors and texts; no examples removes it."""
        key = target.casefold()
        if len(labels) == 0:
            self.adapters_.pop(key, None)
            return self
        y = np.array([LABELS.index(label) for label in labels])
        psi = self._psi(shared, sentences)
        k, d = len(LABELS), psi.shape[1]
        W0 = np.vstack([np.eye(k), np.zeros((d - k, k))])
        penalty = np.concatenate([np.full(k, 1.0 / self.adapter_C_logits),
                                  np.full(d - k, 1.0 / self.adapter_C_sentence)])
        lexical = self.adapter_C_lexical > 0 and all(t is not None for t in texts)
        rows = np.zeros(0, dtype=np.int64)
        L = None
        if lexical:
            full = lexical_features(texts).tocsc()
            rows = np.nonzero(np.diff(full.indptr))[0]  # n-grams the examples have: the others keep weight 0
            L = full[:, rows].tocsr()
        W, V, b = _fit_adapter(psi, L, y, penalty, W0, 1.0 / self.adapter_C_lexical if lexical else 1.0,
                               1.0 / self.adapter_C_bias)
        self.adapters_[key] = Adapter(W, b, rows.astype(np.int64), V if lexical else np.zeros((0, k), np.float32),
                                      int(len(y)))
        return self

    def adapt(self, target: str | None, shared: np.ndarray, sentences: np.ndarray,
              texts: Sequence[str | None]) -> np.ndarray:
        """(n, 3) probabilities through ``target``'s adapter, or ``shared`` unchanged where it has none."""
        adapter = self.adapters_.get(target.casefold()) if target else None
        if adapter is None or len(shared) == 0:
            return shared
        Z = self._psi(shared, sentences) @ adapter.W + adapter.b
        if len(adapter.rows):
            Z = Z + lexical_features(texts)[:, adapter.rows] @ adapter.V
        return softmax(Z)

    def predict_proba(self, items: Sequence[Encoded], spans: Sequence[Span] | None = None,
                      target: str | None = None) -> np.ndarray:
        """(n, 3) probabilities in the order of ``LABELS``; ``target``'s adapter is used where it has one."""
        shared = self.shared_proba(items, spans)
        if not items:
            return shared
        return self.adapt(target, shared, np.stack([it.sentence for it in items]), [it.text for it in items])

    # -- persistence -------------------------------------------------------------------------------------------

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """``(state, arrays)``: a JSON-serialisable dict and plain numeric arrays that rebuild the model."""
        arrays: dict[str, np.ndarray] = {}
        for name, head in (("span", self.span_head_), ("sentence", self.sentence_head_)):
            if head is not None:
                for field in ("mu", "sd", "W", "b"):
                    arrays[f"{name}.{field}"] = np.asarray(getattr(head, field), dtype=np.float32)
        targets = sorted(self.adapters_)
        for i, t in enumerate(targets):
            a = self.adapters_[t]
            arrays.update({f"adapter{i}.W": a.W.astype(np.float32), f"adapter{i}.b": a.b.astype(np.float32),
                           f"adapter{i}.rows": a.rows.astype(np.int64), f"adapter{i}.V": a.V.astype(np.float32)})
        state = {"format": FORMAT, "labels": list(LABELS), "layer": LAYER, "lexical_features": LEXICAL_FEATURES,
                 "params": {k: getattr(self, k) for k in self.PARAMS}, "temperature": self.temperature_,
                 "adapters": [{"target": t, "n_examples": self.adapters_[t].n_examples} for t in targets]}
        return state, arrays

    @classmethod
    def from_state(cls, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> SpanStanceModel:
        """Rebuild a model from :meth:`to_state`'s output.

        Raises:
            ValueError: the state is not one this version writes.
        """
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} model")
        if state.get("lexical_features") != LEXICAL_FEATURES or state.get("layer") != LAYER:
            raise ValueError("the model was saved with other feature settings")
        try:
            model = cls(**{k: float(v) for k, v in state["params"].items() if k in cls.PARAMS})
            heads = {name: Linear(*(np.asarray(arrays[f"{name}.{f}"]) for f in ("mu", "sd", "W", "b")))
                     for name in ("span", "sentence") if f"{name}.W" in arrays}
            model.span_head_, model.sentence_head_ = heads.get("span"), heads["sentence"]
            model.temperature_ = float(state["temperature"])
            model.adapters_ = {
                str(a["target"]): Adapter(*(np.asarray(arrays[f"adapter{i}.{f}"]) for f in ("W", "b", "rows", "V")),
                                          int(a["n_examples"]))
                for i, a in enumerate(state["adapters"])}
        except (KeyError, TypeError) as exc:
            raise ValueError(f"incomplete {FORMAT} model ({exc})") from exc
        return model

    def fingerprint(self) -> str:
        """Identifies the shared heads (adapters aside): example features computed under other heads are stale."""
        state, arrays = self.copy_shared().to_state()
        digest = hashlib.sha1(json.dumps(state, sort_keys=True).encode())
        for key in sorted(arrays):
            digest.update(key.encode() + np.ascontiguousarray(arrays[key]).tobytes())
        return digest.hexdigest()[:16]

    def copy_shared(self) -> SpanStanceModel:
        """The same shared heads without adapters (adapters are fitted per store)."""
        state, arrays = self.to_state()
        state["adapters"] = []
        return SpanStanceModel.from_state(state, arrays)


# --- shipped heads ----------------------------------------------------------------------------------------------

SHIPPED = {"all-MiniLM-L6-v2": "minilm", "multilingual-e5-small-q4": "e5"}


@cache
def _shipped(name: str) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
    folder = resources.files("tracker").joinpath("data/stance")
    state_file, arrays_file = folder.joinpath(f"{name}.json"), folder.joinpath(f"{name}.npz")
    if not (state_file.is_file() and arrays_file.is_file()):
        return None
    with arrays_file.open("rb") as fh, np.load(fh, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return json.loads(state_file.read_text(encoding="utf-8")), arrays


def shipped_model(embedder_name: str) -> SpanStanceModel | None:
    """The shared heads shipped for the embedder named ``embedder_name`` (a fresh copy), or None."""
    name = SHIPPED.get(embedder_name)
    found = _shipped(name) if name else None
    return SpanStanceModel.from_state(*found) if found else None


FeatureCache = dict[str, tuple[np.ndarray, np.ndarray]]  # content hash -> (shared probabilities, sentence vector)


@cache
def _shipped_examples(name: str) -> tuple[str, FeatureCache]:
    file = resources.files("tracker").joinpath(f"data/stance/examples_{name}.npz")
    if not file.is_file():
        return "", {}
    with file.open("rb") as fh, np.load(fh, allow_pickle=False) as z:
        hashes, shared, sentences = z["hash"], z["shared"], z["sentence"].astype(np.float32)
        heads = str(z["heads"])
    return heads, {str(h): (shared[i], sentences[i]) for i, h in enumerate(hashes)}


def shipped_examples(embedder_name: str, fingerprint: str) -> FeatureCache:
    """Features of the shipped CPEC examples under the shipped heads of ``embedder_name`` (computed by
    ``python -m tracker.stance_train``), so a new store adapts CPEC without encoding them; empty when the heads
    differ (or none ship)."""
    name = SHIPPED.get(embedder_name)
    heads, features = _shipped_examples(name) if name else ("", {})
    return dict(features) if heads == fingerprint else {}
