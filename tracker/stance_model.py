"""Stance models: target stance (favor/against/none) and claim stance (agree/disagree/discuss/unrelated).

Pure models with a scikit-learn style API; the only I/O is :func:`save_model` / :func:`load_model` and the
``default_*_model`` factories, which read a JSON-lines training file. Embedders are any object with
``encode(list[str]) -> ndarray`` (L2-normalised rows), or a name understood by :func:`tracker.embed.get_embedder`.
A fitted :class:`TargetStanceModel` is persisted as JSON plus numeric arrays (:meth:`TargetStanceModel.to_state`),
never pickled: the embedder is stored by name, so a saved model carries no transformer weights either.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from tracker.metrics import f_avg, fnc_score, macro_f1  # noqa: F401 - re-exported for callers
from tracker.persist import dump, load
from tracker.resources import read_jsonl

TARGET_LABELS = ("favor", "against", "none")
CLAIM_LABELS = ("agree", "disagree", "discuss", "unrelated")

# ----------------------------------------------------------------------------------------------------- metrics


# ---------------------------------------------------------------------------------------------- text helpers

_SENT = re.compile(r"(?<=[.!?\u06d4\u3002])\s+|\n+")
_WORD = re.compile(r"\w+", re.UNICODE)
_STOP = frozenset(
    "a an the of to in on for and or but is are was were be been being it its this that these those with as at by "
    "from has have had will would can could should may might do does did so than then there their they he she his "
    "her we our you your i me my not no".split()
)
REFUTE_WORDS = frozenset(
    "fake fakes faked fraud hoax hoaxes false falsely deny denies denied denial denying debunk debunked debunks "
    "debunking bogus untrue myth baseless unfounded misleading refute refuted refutes rejected rejects reject "
    "dismissed dismisses dismiss retract retracted retraction prank pranks satire satirical fabricated "
    "nonsense wrong incorrect erroneous disputed dispute disputes contradicted".split()
)
NEGATION_WORDS = frozenset("not no never nothing none nobody neither nor cannot n't without".split())
HEDGE_WORDS = frozenset(
    "alleged allegedly apparently appears appear appeared claim claims claimed claiming could reportedly "
    "purportedly purported rumor rumors rumour rumours rumored suggests suggest suggested suspect suspected "
    "unconfirmed unverified may might possibly possible perhaps speculation speculated unclear".split()
)
REPORT_WORDS = frozenset(
    "said says say told tells according reported reports report reporting stated statement announced "
    "sources source spokesperson spokesman spokeswoman quoted cited tweeted wrote".split()
)
AGREE_WORDS = frozenset(
    "confirmed confirms confirm confirmation revealed reveals official officially indeed actually true "
    "verified proof proved proven evidence shows showed".split()
)
_LEXICONS = (REFUTE_WORDS, NEGATION_WORDS, HEDGE_WORDS, REPORT_WORDS, AGREE_WORDS)


def split_sentences(text: str, max_sentences: int = 20) -> list[str]:
    """Split ``text`` into at most ``max_sentences`` sentences of three or more words (the text if none)."""
    parts = [s.strip() for s in _SENT.split(text or "")]
    parts = [s for s in parts if len(_WORD.findall(s)) >= 3]
    return parts[:max_sentences] or [(text or "").strip()[:1000] or "."]


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text.replace("n't", " n't").replace("\u2019", "'"))]


def _content(words: list[str]) -> set[str]:
    return {w for w in words if w not in _STOP and len(w) > 1}


def _lex_counts(words: list[str]) -> list[float]:
    counts = [float(sum(1 for w in words if w in lex)) for lex in _LEXICONS]
    if "n't" in words or "nt" in words:
        counts[1] += 1.0
    return counts


def _resolve(embedder: Any) -> Any:
    if embedder is None or isinstance(embedder, str):
        from tracker.embed import get_embedder

        return get_embedder(embedder or "minilm")
    return embedder


def _embedder_name(embedder: Any) -> str | None:
    """The :func:`tracker.embed.get_embedder` name that rebuilds ``embedder`` (wrappers included), for storing."""
    from tracker.embed import factory_name

    if embedder is None or isinstance(embedder, str):
        return embedder
    return factory_name(embedder)


class _Params:
    def get_params(self, deep: bool = True) -> dict[str, Any]:  # noqa: ARG002 - sklearn signature
        """Constructor parameters (scikit-learn convention)."""
        return {k: getattr(self, k) for k in self._param_names}

    def set_params(self, **params: Any) -> _Params:
        """Set constructor parameters (scikit-learn convention)."""
        self.__dict__.update(params)
        return self

    _param_names: tuple[str, ...] = ()


# ------------------------------------------------------------------------------------------- target stance


def _normalise_tweet(text: str) -> str:
    text = re.sub(r"#semst\b", " ", text, flags=re.IGNORECASE)
    text = re.sub(r"https?://\S+", " URL ", text)
    return re.sub(r"@\w+", "@user", text)


def _embed_with_target_similarity(embedder: Any, texts: Sequence[str],
                                  targets: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(n, d) embeddings of ``texts`` and (n, 1) cosine of each to the embedding of its target's name."""
    emb = _resolve(embedder)
    vectors = np.asarray(emb.encode(list(texts)), dtype=np.float32)
    names = sorted(set(targets))
    tvec = dict(zip(names, np.asarray(emb.encode(names), dtype=np.float32)))
    sim = np.array([[float(v @ tvec[t])] for v, t in zip(vectors, targets)], dtype=np.float32).reshape(-1, 1)
    return vectors, sim


class TargetStanceModel(_Params):
    """Stance of a text towards a named target: "favor", "against" or "none".

    Features: word and character n-gram TF-IDF and (optionally) sentence embeddings of the text, plus the
    embedding similarity of text and target. ``target_mode="augment"`` copies every feature into a shared
    block and a block for the row's target (feature augmentation), so one linear model learns both what
    stance looks like in general and per target; unseen targets use the shared block only.

    Args:
        embedder: Embedder object or name for :func:`tracker.embed.get_embedder`; None means "minilm".
        use_embeddings: Add the text embedding (scaled by ``embedding_weight``) to the n-gram features.
        embedding_weight: Scale of the embedding block relative to the unit-norm TF-IDF blocks.
        word_ngram_range: Word n-gram range (hashtags and mentions kept as tokens).
        char_ngram_range: Character n-gram range (``char_wb``); None disables char n-grams.
        target_mode: "augment", "per_target" (one classifier per target, shared fallback) or "global".
        classifier: "logreg" or "svm" (LinearSVC; probabilities are a softmax of its decision values).
        C: Inverse regularisation strength.
        class_weight: Passed to the classifier ("balanced" or None).
        random_state: Seed for the classifier.
        crosslingual_embedder: A multilingual embedder (object or name, e.g. "e5") for texts in languages that
            ``embedder`` does not cover (its ``languages``). A logistic regression on this embedding and its
            similarity to the target is fitted on the same examples; since the embedding space is shared across
            languages, what it learns from English examples carries over to Urdu or Chinese texts. None: every
            text goes through the main model.
        crosslingual_C: Inverse regularisation strength of that logistic regression.
    """

    _param_names = (
        "embedder", "use_embeddings", "embedding_weight", "word_ngram_range", "char_ngram_range",
        "target_mode", "classifier", "C", "class_weight", "random_state", "crosslingual_embedder",
        "crosslingual_C",
    )
    crosslingual_model_: Any = None

    def __init__(
        self, embedder: Any = None, use_embeddings: bool = True, embedding_weight: float = 1.0,
        word_ngram_range: tuple[int, int] = (1, 2), char_ngram_range: tuple[int, int] | None = (2, 5),
        target_mode: str = "per_target", classifier: str = "svm", C: float = 0.1,
        class_weight: str | None = "balanced", random_state: int = 0, crosslingual_embedder: Any = None,
        crosslingual_C: float = 3.0,
    ) -> None:
        self.embedder = embedder
        self.crosslingual_embedder = crosslingual_embedder
        self.crosslingual_C = crosslingual_C
        self.use_embeddings = use_embeddings
        self.embedding_weight = embedding_weight
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.target_mode = target_mode
        self.classifier = classifier
        self.C = C
        self.class_weight = class_weight
        self.random_state = random_state

    def _base_features(self, texts: Sequence[str], targets: Sequence[str]) -> sp.csr_matrix:
        clean = [_normalise_tweet(t) for t in texts]
        blocks = [self.word_vec_.transform(clean)]
        if self.char_vec_ is not None:
            blocks.append(self.char_vec_.transform(clean))
        if self.use_embeddings:
            vectors, sim = _embed_with_target_similarity(self.embedder, texts, targets)
            blocks.append(sp.csr_matrix(vectors * self.embedding_weight))
            blocks.append(sp.csr_matrix(sim))
        return sp.hstack(blocks, format="csr")

    def _augment(self, X: sp.csr_matrix, targets: Sequence[str]) -> sp.csr_matrix:
        if self.target_mode != "augment":
            return X
        blocks = [X]
        for name in self.targets_:
            mask = sp.diags(np.array([1.0 if t == name else 0.0 for t in targets]))
            blocks.append(mask @ X)
        return sp.hstack(blocks, format="csr")

    def _new_classifier(self) -> Any:
        if self.classifier == "svm":
            return LinearSVC(C=self.C, class_weight=self.class_weight, random_state=self.random_state)
        return LogisticRegression(
            C=self.C, class_weight=self.class_weight, max_iter=2000, random_state=self.random_state
        )

    def fit(self, texts: Sequence[str], targets: Sequence[str], labels: Sequence[str]) -> TargetStanceModel:
        """Fit on parallel lists of texts, target names and labels; returns self."""
        clean = [_normalise_tweet(t) for t in texts]
        self.word_vec_ = TfidfVectorizer(
            ngram_range=tuple(self.word_ngram_range), sublinear_tf=True, lowercase=True,
            token_pattern=r"(?u)[#@]?\w+", min_df=1,
        ).fit(clean)
        self.char_vec_ = None
        if self.char_ngram_range:
            self.char_vec_ = TfidfVectorizer(
                analyzer="char_wb", ngram_range=tuple(self.char_ngram_range), sublinear_tf=True, min_df=2,
            ).fit(clean)
        self.targets_ = sorted(set(targets))
        self.classes_ = np.array([c for c in TARGET_LABELS if c in set(labels)])
        X = self._base_features(texts, targets)
        y = np.asarray(labels)
        self.model_ = self._new_classifier().fit(self._augment(X, targets), y)
        self.target_models_: dict[str, Any] = {}
        if self.target_mode == "per_target":
            tarr = np.asarray(targets)
            for name in self.targets_:
                rows = np.flatnonzero(tarr == name)
                if len(set(y[rows])) == len(self.classes_):
                    self.target_models_[name] = self._new_classifier().fit(X[rows], y[rows])
        self.crosslingual_model_ = None
        if self.crosslingual_embedder is not None:
            self.crosslingual_model_ = LogisticRegression(
                C=self.crosslingual_C, class_weight=self.class_weight, max_iter=3000, random_state=self.random_state,
            ).fit(self._crosslingual_features(texts, targets), y)
        return self

    def _crosslingual_features(self, texts: Sequence[str], targets: Sequence[str]) -> np.ndarray:
        return np.hstack(_embed_with_target_similarity(self.crosslingual_embedder, texts, targets))

    def uncovered(self, languages: Sequence[str | None]) -> np.ndarray:
        """Row indices that the cross-lingual model scores: a known language outside the main embedder's."""
        covered = getattr(_resolve(self.embedder), "languages", None)
        if self.crosslingual_model_ is None or covered is None:
            return np.zeros(0, dtype=np.int64)
        return np.array([i for i, lang in enumerate(languages) if lang and lang not in covered], dtype=np.int64)

    def _scores(self, model: Any, X: sp.csr_matrix) -> np.ndarray:
        if hasattr(model, "predict_proba"):
            proba = model.predict_proba(X)
        else:
            z = model.decision_function(X)
            if z.ndim == 1:  # two classes: one score for classes_[1], its negative for classes_[0]
                z = np.column_stack([-z, z])
            z = np.exp(z - z.max(axis=1, keepdims=True))
            proba = z / z.sum(axis=1, keepdims=True)
        out = np.zeros((X.shape[0], len(self.classes_)))
        for j, c in enumerate(model.classes_):
            out[:, list(self.classes_).index(c)] = proba[:, j]
        return out

    def predict_proba(self, texts: Sequence[str], targets: Sequence[str],
                      languages: Sequence[str | None] | None = None) -> np.ndarray:
        """Class probabilities, columns in ``classes_`` order.

        ``languages`` (ISO codes, None where unknown) sends rows in languages the main embedder does not cover to
        the cross-lingual model, where one was fitted.
        """
        if isinstance(targets, str):
            targets = [targets] * len(texts)
        foreign = self.uncovered(languages) if languages is not None else np.zeros(0, dtype=np.int64)
        native = np.setdiff1d(np.arange(len(texts)), foreign)
        proba = np.zeros((len(texts), len(self.classes_)))
        if len(native):
            sub_texts, sub_targets = [texts[i] for i in native], [targets[i] for i in native]
            X = self._base_features(sub_texts, sub_targets)
            part = self._scores(self.model_, self._augment(X, sub_targets))
            tarr = np.asarray(sub_targets)
            for name, model in self.target_models_.items():
                rows = np.flatnonzero(tarr == name)
                if len(rows):
                    part[rows] = self._scores(model, X[rows])
            proba[native] = part
        if len(foreign):
            F = self._crosslingual_features([texts[i] for i in foreign], [targets[i] for i in foreign])
            proba[foreign] = self._scores_dense(self.crosslingual_model_, F)
        return proba

    def _scores_dense(self, model: Any, F: np.ndarray) -> np.ndarray:
        proba = model.predict_proba(F)
        out = np.zeros((len(F), len(self.classes_)))
        for j, c in enumerate(model.classes_):
            out[:, list(self.classes_).index(c)] = proba[:, j]
        return out

    def predict(self, texts: Sequence[str], targets: Sequence[str],
                languages: Sequence[str | None] | None = None) -> list[str]:
        """Predicted label per (text, target) pair; ``targets`` may be a single name for all texts."""
        proba = self.predict_proba(texts, targets, languages)
        return [str(self.classes_[i]) for i in proba.argmax(axis=1)]

    # --- persistence: JSON state plus numeric arrays, no pickle ---------------------------------------------

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The fitted model as (JSON-able state, arrays); embedders are stored by name."""
        arrays: dict[str, np.ndarray] = {}
        params = self.get_params()
        params["embedder"] = _embedder_name(self.embedder)
        params["crosslingual_embedder"] = _embedder_name(self.crosslingual_embedder)
        for key in ("word_ngram_range", "char_ngram_range"):
            params[key] = list(params[key]) if params[key] is not None else None
        state = {
            "class": "TargetStanceModel", "params": params, "targets": list(self.targets_),
            "classes": [str(c) for c in self.classes_],
            "word_vec": dump(self.word_vec_, "word_vec", arrays), "char_vec": dump(self.char_vec_, "char_vec", arrays),
            "model": dump(self.model_, "model", arrays),
            "target_models": {name: dump(m, f"target.{i}", arrays)
                              for i, (name, m) in enumerate(sorted(self.target_models_.items()))},
            "target_model_keys": {name: f"target.{i}" for i, name in enumerate(sorted(self.target_models_))},
            "crosslingual_model": dump(self.crosslingual_model_, "crosslingual", arrays),
        }
        return state, arrays

    @classmethod
    def from_state(cls, state: dict[str, Any], arrays: dict[str, np.ndarray], *, embedder: Any = None,
                   crosslingual_embedder: Any = None) -> TargetStanceModel:
        """Rebuild a model from :meth:`to_state`; live embedders given here replace the stored names."""
        from tracker.persist import BadModelState

        if not isinstance(state, dict) or state.get("class") != "TargetStanceModel":
            raise BadModelState("not a stored target-stance model")
        params = dict(state["params"])
        for key in ("word_ngram_range", "char_ngram_range"):
            params[key] = tuple(params[key]) if params.get(key) is not None else None
        if embedder is not None:
            params["embedder"] = embedder
        if crosslingual_embedder is not None or params.get("crosslingual_embedder") is None:
            params["crosslingual_embedder"] = crosslingual_embedder
        model = cls(**params)
        model.targets_ = list(state["targets"])
        model.classes_ = np.array(state["classes"])
        model.word_vec_ = load(state["word_vec"], "word_vec", arrays)
        model.char_vec_ = load(state["char_vec"], "char_vec", arrays)
        model.model_ = load(state["model"], "model", arrays)
        keys = state.get("target_model_keys", {})
        model.target_models_ = {name: load(sub, keys[name], arrays) for name, sub in state["target_models"].items()}
        model.crosslingual_model_ = load(state.get("crosslingual_model"), "crosslingual", arrays)
        return model


# -------------------------------------------------------------------------------------------- claim stance


class _PairEncoder:
    """Embeds claims and body sentences once per distinct text within one call."""

    def __init__(self, embedder: Any, max_sentences: int) -> None:
        self.embedder = _resolve(embedder)
        self.max_sentences = max_sentences

    def encode(self, claims: Sequence[str], texts: Sequence[str]) -> tuple[dict, dict]:
        uniq_claims = list(dict.fromkeys(claims))
        uniq_texts = list(dict.fromkeys(texts))
        sents = {t: split_sentences(t, self.max_sentences) for t in uniq_texts}
        flat = [s for t in uniq_texts for s in sents[t]]
        vectors = np.asarray(self.embedder.encode(uniq_claims + flat), dtype=np.float32)
        claim_vec = dict(zip(uniq_claims, vectors[: len(uniq_claims)]))
        body: dict[str, tuple[list[str], np.ndarray]] = {}
        pos = len(uniq_claims)
        for t in uniq_texts:
            n = len(sents[t])
            body[t] = (sents[t], vectors[pos: pos + n])
            pos += n
        return claim_vec, body


def _pair_features(
    claim: str, cvec: np.ndarray, sents: list[str], svecs: np.ndarray, tfidf: TfidfVectorizer | None,
    top_k: int,
) -> list[float]:
    sims = svecs @ cvec
    order = np.argsort(-sims)
    top = order[:top_k]
    cw = _words(claim)
    cset = _content(cw)
    bwords = [_words(s) for s in sents]
    ball = [w for ws in bwords for w in ws]
    bset = _content(ball)
    nc = max(len(cset), 1)
    overlap_body = len(cset & bset) / nc
    jaccard = len(cset & bset) / max(len(cset | bset), 1)
    sent_overlap = np.array([len(cset & _content(ws)) / nc for ws in bwords])
    cbig = set(zip(cw, cw[1:]))
    bbig = set(zip(ball, ball[1:]))
    bigram = len(cbig & bbig) / max(len(cbig), 1)
    best_ov = int(sent_overlap.argmax())
    feats = [
        float(sims.max()), float(sims[top].mean()), float(sims.mean()), float(sims[0]),
        float(svecs.mean(axis=0) @ cvec), float(order[0]) / max(len(sents), 1),
        overlap_body, jaccard, bigram, float(sent_overlap.max()), float(sent_overlap[:2].max()),
        float(np.sort(sent_overlap)[-top_k:].mean()), float(len(cset)), float(len(sents)),
        float("?" in claim),
    ]
    if tfidf is not None:
        m = tfidf.transform([claim, " ".join(sents)] + sents)
        cos = (m[2:] @ m[0].T).toarray().ravel()
        feats += [float((m[1] @ m[0].T).toarray()[0, 0]), float(cos.max()), float(np.sort(cos)[-top_k:].mean())]
    claim_lex = _lex_counts(cw)
    body_lex = np.array([_lex_counts(ws) for ws in bwords])
    near = sorted(set(top.tolist()) | {best_ov})
    feats += [float(c > 0) for c in claim_lex]
    feats += (body_lex.sum(axis=0) / len(sents)).tolist()
    feats += body_lex[near].sum(axis=0).tolist()
    feats += body_lex[order[0]].tolist()
    feats += body_lex[:3].sum(axis=0).tolist()
    return feats


class ClaimStanceModel(_Params):
    """Stance of a text (article body or sentence) towards a claim: agree, disagree, discuss or unrelated.

    Relational features of each (claim, text) pair: embedding similarity of the claim to the text's sentences
    (max, top-k mean, mean, first sentence, centroid, position of the best), word and bigram overlap, TF-IDF
    cosines, and refutation / negation / hedging / reporting / confirmation cue counts in the claim, the whole
    text, the sentences closest to the claim, the best sentence and the lead. With ``two_stage`` a gradient
    boosted model separates related from unrelated and a second one (class-balanced) picks among
    agree/disagree/discuss on related pairs; otherwise one four-class model is used.

    Args:
        embedder: Embedder object or name for :func:`tracker.embed.get_embedder`; None means "minilm".
        max_sentences: Sentences of each text that are embedded (the lead of long articles).
        top_k: Number of sentences nearest to the claim that are pooled.
        use_tfidf: Add TF-IDF cosine features (vectoriser fitted on the training claims and texts).
        two_stage: Related/unrelated first, then the related labels.
        balance: Class-balance the sample weights of the (second-stage) classifier; a float in [0, 1]
            interpolates between none (0) and full balancing (1).
        learning_rate: HistGradientBoostingClassifier learning rate.
        max_iter: Boosting iterations.
        max_leaf_nodes: Leaves per tree.
        random_state: Seed.
    """

    _param_names = (
        "embedder", "max_sentences", "top_k", "use_tfidf", "two_stage", "balance", "learning_rate", "max_iter",
        "max_leaf_nodes", "random_state",
    )

    def __init__(
        self, embedder: Any = None, max_sentences: int = 8, top_k: int = 3, use_tfidf: bool = True,
        two_stage: bool = True, balance: float = 0.5, learning_rate: float = 0.05, max_iter: int = 300,
        max_leaf_nodes: int = 31, random_state: int = 0,
    ) -> None:
        self.embedder = embedder
        self.max_sentences = max_sentences
        self.top_k = top_k
        self.use_tfidf = use_tfidf
        self.two_stage = two_stage
        self.balance = balance
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.random_state = random_state

    def transform(self, claims: Sequence[str], texts: Sequence[str]) -> np.ndarray:
        """Pair feature matrix (after ``fit``, or with ``tfidf_`` set); input of ``fit_features``."""
        claim_vec, body = _PairEncoder(self.embedder, self.max_sentences).encode(claims, texts)
        rows = [_pair_features(c, claim_vec[c], *body[t], self.tfidf_, self.top_k) for c, t in zip(claims, texts)]
        return np.asarray(rows, dtype=np.float64)

    def _weights(self, y: np.ndarray) -> np.ndarray:
        labels, counts = np.unique(y, return_counts=True)
        full = {lab: len(y) / (len(labels) * cnt) for lab, cnt in zip(labels, counts)}
        return np.array([full[v] ** self.balance for v in y])

    def _gbm(self) -> HistGradientBoostingClassifier:
        return HistGradientBoostingClassifier(
            learning_rate=self.learning_rate, max_iter=self.max_iter, max_leaf_nodes=self.max_leaf_nodes,
            l2_regularization=1.0, random_state=self.random_state,
        )

    def fit(self, claims: Sequence[str], texts: Sequence[str], labels: Sequence[str]) -> ClaimStanceModel:
        """Fit on parallel lists of claims, texts and labels; returns self."""
        self.tfidf_ = None
        if self.use_tfidf:
            docs = list(dict.fromkeys(list(claims) + list(texts)))
            self.tfidf_ = TfidfVectorizer(sublinear_tf=True, stop_words="english", min_df=1).fit(docs)
        X = self.transform(claims, texts)
        return self.fit_features(X, labels)

    def fit_features(self, X: np.ndarray, labels: Sequence[str]) -> ClaimStanceModel:
        """Fit the classifiers on precomputed pair features (from ``transform``); returns self."""
        y = np.asarray(labels)
        self.classes_ = np.array([c for c in CLAIM_LABELS if c in set(labels)])
        if self.two_stage and "unrelated" in self.classes_ and len(self.classes_) > 2:
            related = y != "unrelated"
            self.stage1_ = self._gbm().fit(X, related)
            self.stage2_ = self._gbm().fit(X[related], y[related], sample_weight=self._weights(y[related]))
            self.model_ = None
        else:
            self.stage1_ = self.stage2_ = None
            self.model_ = self._gbm().fit(X, y, sample_weight=self._weights(y))
        return self

    def predict_proba_features(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities from precomputed pair features, columns in ``classes_`` order."""
        out = np.zeros((X.shape[0], len(self.classes_)))
        index = {c: i for i, c in enumerate(self.classes_)}
        if self.model_ is not None:
            out[:, [index[c] for c in self.model_.classes_]] = self.model_.predict_proba(X)
            return out
        p_rel = self.stage1_.predict_proba(X)[:, list(self.stage1_.classes_).index(True)]
        out[:, index["unrelated"]] = 1 - p_rel
        out[:, [index[c] for c in self.stage2_.classes_]] = p_rel[:, None] * self.stage2_.predict_proba(X)
        return out

    def predict_proba(self, claims: Sequence[str], texts: Sequence[str]) -> np.ndarray:
        """Class probabilities, columns in ``classes_`` order."""
        return self.predict_proba_features(self.transform(claims, texts))

    def predict(self, claims: Sequence[str], texts: Sequence[str]) -> list[str]:
        """Predicted label per (claim, text) pair."""
        proba = self.predict_proba(claims, texts)
        return [str(self.classes_[i]) for i in proba.argmax(axis=1)]


# ------------------------------------------------------------------------------------------ narrative stance

ATTRIBUTIONS = ("assert", "report", "refute")


class NarrativeStanceModel(_Params):
    """Stance of a claim toward the narrative it sits in (agree, disagree, discuss, unrelated): the claim read
    against the narrative's central claim, with how its outlet carries it (attribution).

    Features of each (claim, central claim, attribution): the embedding cosine of the two, word and bigram
    overlap, refuting / negation / hedging / reporting / confirmation cues of the claim, and the attribution
    one-hot. A class-balanced logistic regression on standardised features, so a claim that asserts its
    narrative's central claim agrees, one that only reports it discusses, one that rejects it disagrees, and one
    the clusterer put next to a claim it does not make is unrelated, whatever its attribution.

    Args:
        embedder: Embedder object or name; None means "minilm".
        C: Inverse regularisation strength.
    """

    _param_names = ("embedder", "C")

    def __init__(self, embedder: Any = None, C: float = 1.0) -> None:
        self.embedder = embedder
        self.C = C

    def transform(self, claims: Sequence[str], centrals: Sequence[str], attributions: Sequence[str | None],
                  vectors: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """Feature rows; ``vectors`` (claims', centrals') may be given when the caller has them stored."""
        if vectors is None:
            emb = _resolve(self.embedder)
            vectors = (np.asarray(emb.encode(list(claims)), dtype=np.float32),
                       np.asarray(emb.encode(list(centrals)), dtype=np.float32))
        rows = []
        for claim, central, attribution, cv, nv in zip(claims, centrals, attributions, *vectors, strict=True):
            feats = _pair_features(central, nv, [claim], cv[None, :], None, 1)
            feats += [float((attribution or "assert") == a) for a in ATTRIBUTIONS]
            rows.append(feats)
        return np.asarray(rows, dtype=np.float64)

    def fit(self, claims: Sequence[str], centrals: Sequence[str], attributions: Sequence[str | None],
            labels: Sequence[str]) -> NarrativeStanceModel:
        X = self.transform(claims, centrals, attributions)
        self.mu_, self.sd_ = X.mean(0), X.std(0) + 1e-6
        self.model_ = LogisticRegression(C=self.C, class_weight="balanced", max_iter=2000).fit(
            (X - self.mu_) / self.sd_, list(labels))
        self.classes_ = np.asarray(self.model_.classes_)
        return self

    def predict_proba_features(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict_proba((X - self.mu_) / self.sd_)

    def predict_proba(self, claims: Sequence[str], centrals: Sequence[str],
                      attributions: Sequence[str | None]) -> np.ndarray:
        """Probabilities, columns in ``classes_`` order."""
        return self.predict_proba_features(self.transform(claims, centrals, attributions))


def default_narrative_model(embedder: Any = None) -> NarrativeStanceModel:
    """The shipped narrative-stance model: fitted on the project's own narrative-stance set
    (``datasets/cpec/stance/narrative_stance_train.jsonl``), each example's attribution found as the claims stage
    finds it."""
    from tracker.claims import claimant_and_attribution
    from tracker.embed import ShippedVectors
    from tracker.resources import dataset_path

    rows = read_jsonl(dataset_path("cpec", "stance", "narrative_stance_train.jsonl"))
    attributions = [claimant_and_attribution(r["text"])[1] for r in rows]
    model = NarrativeStanceModel(embedder=ShippedVectors(_resolve(embedder)))
    return model.fit([r["text"] for r in rows], [r["claim"] for r in rows], attributions, [r["label"] for r in rows])


# ------------------------------------------------------------------------------------------ rule fallback


class RuleClaimStance(_Params):
    """Rule-based claim stance for when no labelled data exists; same predict API as :class:`ClaimStanceModel`.

    Relatedness is the larger of the best sentence's embedding cosine and the share of the claim's content
    words found in that sentence; below ``unrelated_threshold`` the pair is unrelated. Otherwise the
    ``top_k`` sentences closest to the claim are read: refutation cues (deny, reject, fake, hoax, false...)
    give disagree, hedging or reporting cues (said, claimed, according to, allegedly...) give discuss, and
    anything else is agree. ``fit`` only tunes the threshold when labelled pairs are given.

    Args:
        embedder: Embedder object or name; None means "minilm".
        unrelated_threshold: Relatedness below which a pair is unrelated.
        top_k: Sentences nearest to the claim that are searched for cues.
        max_sentences: Sentences of each text that are read.
        min_report_cues: Reporting/hedging cues needed for discuss.
    """

    _param_names = ("embedder", "unrelated_threshold", "top_k", "max_sentences", "min_report_cues")

    def __init__(
        self, embedder: Any = None, unrelated_threshold: float = 0.45, top_k: int = 2, max_sentences: int = 8,
        min_report_cues: int = 1,
    ) -> None:
        self.embedder = embedder
        self.unrelated_threshold = unrelated_threshold
        self.top_k = top_k
        self.max_sentences = max_sentences
        self.min_report_cues = min_report_cues

    classes_ = np.array(CLAIM_LABELS)

    def _relatedness(self, claims: Sequence[str], texts: Sequence[str]) -> list[tuple[float, list[list[str]]]]:
        claim_vec, body = _PairEncoder(self.embedder, self.max_sentences).encode(claims, texts)
        out = []
        for claim, text in zip(claims, texts):
            sents, svecs = body[text]
            cset = _content(_words(claim))
            words = [_words(s) for s in sents]
            overlap = np.array([len(cset & _content(ws)) / max(len(cset), 1) for ws in words])
            score = np.maximum(svecs @ claim_vec[claim], overlap)
            top = np.argsort(-score)[: self.top_k]
            out.append((float(score.max()), [words[i] for i in top]))
        return out

    def fit(
        self, claims: Sequence[str] | None = None, texts: Sequence[str] | None = None,
        labels: Sequence[str] | None = None,
    ) -> RuleClaimStance:
        """Optionally tune ``unrelated_threshold`` for the best related/unrelated accuracy; returns self."""
        self.threshold_ = self.unrelated_threshold
        if claims and texts and labels:
            scores = np.array([s for s, _ in self._relatedness(claims, texts)])
            related = np.array([lab != "unrelated" for lab in labels])
            grid = np.linspace(0.1, 0.95, 86)
            acc = [((scores >= g) == related).mean() for g in grid]
            self.threshold_ = float(grid[int(np.argmax(acc))])
        return self

    def _label(self, score: float, near: list[list[str]]) -> str:
        if score < getattr(self, "threshold_", self.unrelated_threshold):
            return "unrelated"
        words = [w for ws in near for w in ws]
        if any(w in REFUTE_WORDS for w in words):
            return "disagree"
        if sum(1 for w in words if w in REPORT_WORDS or w in HEDGE_WORDS) >= self.min_report_cues:
            return "discuss"
        return "agree"

    def predict(self, claims: Sequence[str], texts: Sequence[str]) -> list[str]:
        """Predicted label per (claim, text) pair."""
        return [self._label(s, near) for s, near in self._relatedness(claims, texts)]

    def predict_proba(self, claims: Sequence[str], texts: Sequence[str]) -> np.ndarray:
        """One-hot "probabilities" of the rule's decision, columns in ``classes_`` order."""
        pred = self.predict(claims, texts)
        out = np.zeros((len(pred), len(CLAIM_LABELS)))
        for row, label in enumerate(pred):
            out[row, CLAIM_LABELS.index(label)] = 1.0
        return out


# ---------------------------------------------------------------------------------------- save, load, defaults


def save_model(model: TargetStanceModel, path: str | Path) -> None:
    """Write a fitted target-stance model to ``path`` as a ``.npz`` of arrays with its JSON state (no pickle)."""
    state, arrays = model.to_state()
    with open(path, "wb") as fh:
        np.savez(fh, __state__=np.asarray(json.dumps(state)), **arrays)


def load_model(path: str | Path, embedder: Any = None) -> TargetStanceModel:
    """Read a model written by :func:`save_model` (``allow_pickle=False``: reading it runs no code)."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    state = json.loads(str(arrays.pop("__state__")))
    return TargetStanceModel.from_state(state, arrays, embedder=embedder)


def default_target_model(
    train_path: str | Path = "datasets/cpec/stance/target_stance_train.jsonl", embedder: Any = None,
    **params: Any,
) -> TargetStanceModel:
    """Fit the shipped target-stance model on a {"target","text","label"} JSON-lines file."""
    rows = read_jsonl(train_path)
    model = TargetStanceModel(embedder=embedder, **params)
    return model.fit([r["text"] for r in rows], [r["target"] for r in rows], [r["label"] for r in rows])


def default_claim_model(
    train_path: str | Path | None = "datasets/cpec/stance/narrative_stance_train.jsonl", embedder: Any = None,
    **params: Any,
) -> ClaimStanceModel | RuleClaimStance:
    """Fit the shipped claim (narrative) stance model on a {"claim","text","label"} JSON-lines file.

    Falls back to an untrained :class:`RuleClaimStance` when the file is missing or holds fewer than two
    labels.
    """
    rows = read_jsonl(train_path) if train_path and Path(train_path).exists() else []
    if len({r["label"] for r in rows}) < 2:
        return RuleClaimStance(embedder=embedder).fit()
    model = ClaimStanceModel(embedder=embedder, **params)
    return model.fit([r["claim"] for r in rows], [r["text"] for r in rows], [r["label"] for r in rows])
