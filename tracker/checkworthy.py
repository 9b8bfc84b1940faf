"""Check-worthiness: how much a sentence is a factual, checkable claim (numbers, events, records, causal statements)
rather than opinion, filler, procedure or a promise.

:class:`CheckworthyModel` is a logistic regression over the sentence embedding and lexical cues (numbers, years,
money, comparatives, reporting verbs, negation, first and second person, hedges, questions, exclamations). Where
sentences come with their document (the pipeline: a claim's article; ``tracker eval``: a ``debate`` or
``document`` field), the document is used in one of two ways:

* **Neighbour smoothing** (the shipped model): a sentence's log-odds get ``neighbour_smoothing`` times the mean
  log-odds of the previous and next sentence of the same document. Check-worthy sentences come in runs, so a
  neighbour's score is evidence too; it needs no training data with documents.
* **A context head** (a model fitted on a file whose records carry a document field): the previous and next
  sentence embeddings and the relative position are features of a second regression, used for input that has
  documents; input without them is scored by the text head.

Every model also chooses the score from which it calls a sentence check-worthy: the threshold that maximises F1
on out-of-fold scores of its own training data (cross-validation, grouped by document where there are documents).
Calibrated probabilities at a low base rate hardly ever reach 0.5, so a fixed 0.5 cut would call nothing
check-worthy.

Shipped model (:func:`default_model`, :meth:`CheckworthyModel.for_shipping`): fitted at first use on the
project's own sentences, ``datasets/cpec/stance/checkworthy_train.jsonl`` (news register) and
``datasets/checkworthy/speech_supplement.jsonl`` (speech register); C = 1, balanced classes, text head, smoothing
0.5. On the CheckThat! 2019 debates dev file it gives a mean per-debate AP of 0.22 (0.194 before these changes)
and on ClaimBuster dev an AP of 0.78 (0.732). ``tracker eval checkworthy --train FILE`` fits
:meth:`CheckworthyModel.for_training_file` on FILE: C = 0.1, no class weighting, text and context heads.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tracker.resources import read_jsonl

FORMAT = "tracker-checkworthy-linear/2"

# --- lexical cues ----------------------------------------------------------------------------------------------

_DIGIT = re.compile(r"\d")
_PERCENT = re.compile(r"\d\s*(?:%|percent\b|per cent\b)", re.IGNORECASE)
_MONEY = re.compile(r"[$£€]|\b(?:rs\.?|usd|dollars?|billion|million|trillion|bn|mn|crore|lakh)\b", re.IGNORECASE)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+")
_FIRST_PERSON = re.compile(r"\b(?:i|we|me|us|my|our)\b", re.IGNORECASE)
_SECOND_PERSON = re.compile(r"\b(?:you|your)\b", re.IGNORECASE)
_OPINION = re.compile(r"\b(?:think|believe|feel|hope|maybe|perhaps|should|must|would like|wonderful|great|thank|"
                      r"thanks|welcome|good evening|good morning|applause|laughter|going to|will)\b", re.IGNORECASE)
_FACT_VERB = re.compile(r"\b(?:increased|decreased|rose|fell|doubled|tripled|cut|raised|created|lost|killed|signed|"
                        r"built|spent|cost|owes|owed|borrowed|voted|passed|reported|recorded|percent|jobs|debt|tax|"
                        r"taxes|loan|deficit|attack|million|billion|was|were|has been|have been)\b", re.IGNORECASE)
_COMPARE = re.compile(r"\b(?:more than|less than|fewer than|higher|lower|largest|biggest|smallest|highest|lowest|"
                      r"most|least|record|first time|ever|never|only|times)\b", re.IGNORECASE)
_REPORT = re.compile(r"\b(?:said|says|according to|reported|announced|admitted|claimed)\b", re.IGNORECASE)
_NEGATION = re.compile(r"\b(?:not|no|never|nothing)\b|n't", re.IGNORECASE)

CUE_NAMES = ("digit", "percent", "money", "year", "capitalised", "first_person", "second_person", "opinion",
             "fact_verb", "compare", "report", "negation", "question", "exclaim", "length", "short")


def cue_features(texts: Sequence[str]) -> np.ndarray:
    """Lexical cues of checkable content, one row per text, each in [0, 1] (columns named by ``CUE_NAMES``)."""
    rows = []
    for text in texts:
        t = text.strip()
        words = max(len(t.split()), 1)
        rows.append([
            float(bool(_DIGIT.search(t))),
            float(bool(_PERCENT.search(t))),
            float(bool(_MONEY.search(t))),
            float(bool(_YEAR.search(t))),
            min(len(_CAPITALISED.findall(t)) / 5.0, 1.0),
            float(bool(_FIRST_PERSON.search(t))),
            float(bool(_SECOND_PERSON.search(t))),
            min(len(_OPINION.findall(t)) / 2.0, 1.0),
            min(len(_FACT_VERB.findall(t)) / 3.0, 1.0),
            min(len(_COMPARE.findall(t)) / 2.0, 1.0),
            float(bool(_REPORT.search(t))),
            float(bool(_NEGATION.search(t))),
            float(t.endswith("?")),
            float(t.endswith("!")),
            min(words / 40.0, 1.0),
            float(words < 6),
        ])
    return np.asarray(rows, dtype=np.float64).reshape(len(texts), len(CUE_NAMES))


# --- documents -------------------------------------------------------------------------------------------------

def has_documents(docs: Sequence[Any] | None) -> bool:
    """Whether ``docs`` names a document for at least one sentence."""
    return docs is not None and any(d not in (None, "") for d in docs)


def neighbours(docs: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Per sentence, the position of the previous and of the next sentence of the same document (-1: none).

    Sentences of one document are taken in the order given (reading order); documents may be interleaved. A
    sentence without a document (None or "") has no neighbours.
    """
    n = len(docs)
    previous = np.full(n, -1, dtype=np.int64)
    following = np.full(n, -1, dtype=np.int64)
    last: dict[Any, int] = {}
    for i, doc in enumerate(docs):
        if doc in (None, ""):
            continue
        if doc in last:
            previous[i] = last[doc]
            following[last[doc]] = i
        last[doc] = i
    return previous, following


def context_features(vectors: np.ndarray, docs: Sequence[Any]) -> np.ndarray:
    """The previous and the next sentence's embedding in the same document (zeros where there is none), whether
    each exists, and the sentence's relative position in its document (0 first, 1 last)."""
    v = np.asarray(vectors, dtype=np.float64)
    previous, following = neighbours(docs)
    has_previous, has_following = previous >= 0, following >= 0
    before = np.where(has_previous[:, None], v[np.maximum(previous, 0)], 0.0) if len(v) else v
    after = np.where(has_following[:, None], v[np.maximum(following, 0)], 0.0) if len(v) else v
    position = np.zeros(len(docs))
    seen: dict[Any, list[int]] = {}
    for i, doc in enumerate(docs):
        seen.setdefault(doc if doc not in (None, "") else ("", i), []).append(i)
    for rows in seen.values():
        position[rows] = np.arange(len(rows)) / max(len(rows) - 1, 1)
    return np.hstack([before, after, np.c_[has_previous, has_following, position]])


def neighbour_mean(values: np.ndarray, docs: Sequence[Any]) -> np.ndarray:
    """Mean of the previous and next sentence's value in the same document (the one there is, at either end of a
    document); 0 for a sentence alone in its document, so smoothing leaves it as it is."""
    previous, following = neighbours(docs)
    values = np.asarray(values, dtype=np.float64)
    total = np.where(previous >= 0, values[np.maximum(previous, 0)], 0.0) + np.where(
        following >= 0, values[np.maximum(following, 0)], 0.0)
    count = (previous >= 0).astype(float) + (following >= 0)
    return total / np.maximum(count, 1.0)


def best_f1_threshold(labels: Sequence[int], scores: Sequence[float]) -> float:
    """The score from which calling sentences check-worthy gives the best F1 on ``labels`` (0.5 when there is no
    positive to find)."""
    from sklearn.metrics import precision_recall_curve

    y = np.asarray(labels, dtype=int)
    if not y.any() or y.all():
        return 0.5
    precision, recall, thresholds = precision_recall_curve(y, np.asarray(scores, dtype=np.float64))
    f1 = 2 * precision[:-1] * recall[:-1] / np.maximum(precision[:-1] + recall[:-1], 1e-12)
    return float(thresholds[int(np.argmax(f1))])


# --- the model -------------------------------------------------------------------------------------------------

class CheckworthyModel:
    """Logistic regression heads over the sentence embedding, lexical cues and (context head) the neighbouring
    sentences; ``score`` returns P(check-worthy), ``predict`` 1 where the score reaches the model's threshold.

    Args:
        embedder: anything with ``encode(list[str]) -> ndarray``, or a name for :func:`tracker.embed.get_embedder`;
            used only where vectors are not given.
        C: inverse L2 regularisation strength.
        class_weight: ``"balanced"`` or None (None keeps probabilities calibrated to the training base rate).
        cue_weight: scale of the cue features next to the unit-length embedding.
        heads: feature sets to fit: ``"text"`` (embedding + cues) and ``"context"`` (+ the previous and next
            sentence and the position; fitted only when the training sentences come with documents).
        neighbour_smoothing: when the text head scores sentences that come with documents, add this multiple of
            the mean log-odds of the previous and next sentence of the same document (0: off).
        threshold_folds: cross-validation folds whose out-of-fold scores choose the decision threshold.
        random_state: seed of the solver and of the folds.
    """

    def __init__(self, embedder: Any = None, C: float = 0.1, class_weight: str | None = None,
                 cue_weight: float = 1.0, heads: Sequence[str] = ("text", "context"),
                 neighbour_smoothing: float = 0.0, threshold_folds: int = 5, random_state: int = 0) -> None:
        self.embedder = embedder
        self.C = C
        self.class_weight = class_weight
        self.cue_weight = cue_weight
        self.heads = tuple(heads)
        self.neighbour_smoothing = neighbour_smoothing
        self.threshold_folds = threshold_folds
        self.random_state = random_state

    @classmethod
    def for_training_file(cls, embedder: Any = None) -> CheckworthyModel:
        """Settings for a user's labelled file (``tracker eval checkworthy --train``): C = 0.1, no class weighting,
        a text head and, when the records carry documents, a context head. Leaving one debate out on the CheckThat!
        2019 debates, mean per-debate AP 0.239 with the debate field and 0.228 without, against 0.207 for the
        earlier C = 1, balanced model."""
        return cls(embedder=embedder, C=0.1, class_weight=None, heads=("text", "context"))

    @classmethod
    def for_shipping(cls, embedder: Any = None) -> CheckworthyModel:
        """Settings of the shipped model, fitted on the project's own isolated sentences (so a text head only):
        C = 1, balanced classes, neighbour smoothing 0.5 where sentences come with their document."""
        return cls(embedder=embedder, C=1.0, class_weight="balanced", heads=("text",), neighbour_smoothing=0.5)

    # -- features ---------------------------------------------------------------------------------------------

    def _vectors(self, texts: Sequence[str], vectors: np.ndarray | None) -> np.ndarray:
        if vectors is not None:
            return np.asarray(vectors, dtype=np.float64)
        embedder = self.embedder
        if embedder is None or isinstance(embedder, str):
            from tracker.embed import get_embedder

            embedder = get_embedder(embedder or "minilm")
        return np.asarray(embedder.encode(list(texts)), dtype=np.float64)

    def _features(self, head: str, texts: Sequence[str], vectors: np.ndarray, docs: Sequence[Any] | None) -> np.ndarray:
        parts = [vectors, cue_features(texts) * self.cue_weight]
        if head == "context":
            parts.append(context_features(vectors, list(docs or [])))
        return np.hstack(parts)

    def _regression(self) -> Any:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=5000,
                                  random_state=self.random_state)

    def _folds(self, labels: np.ndarray, docs: list[Any] | None) -> list[np.ndarray]:
        """Test rows of each cross-validation fold: by document where there are documents, else stratified."""
        from sklearn.model_selection import GroupKFold, StratifiedKFold

        if docs is not None:
            groups = [str(d) for d in docs]
            n = min(self.threshold_folds, len(set(groups)))
            return [test for _, test in GroupKFold(n_splits=n).split(labels, labels, groups)] if n >= 2 else []
        n = min(self.threshold_folds, int(labels.sum()), int((1 - labels).sum()))
        if n < 2:
            return []
        folds = StratifiedKFold(n_splits=n, shuffle=True, random_state=self.random_state)
        return [test for _, test in folds.split(labels, labels)]

    # -- fitting ----------------------------------------------------------------------------------------------

    def fit(self, texts: Sequence[str], labels: Sequence[int], vectors: np.ndarray | None = None,
            docs: Sequence[Any] | None = None) -> CheckworthyModel:
        """Fit every head the data supports, and each head's threshold on out-of-fold scores.

        Args:
            texts: the training sentences.
            labels: 1 (check-worthy) or 0 per sentence.
            vectors: their embeddings, if already computed.
            docs: the document of each sentence (sentences of a document in reading order), if known.
        """
        y = np.asarray(labels, dtype=int)
        if len(np.unique(y)) < 2:
            raise ValueError("check-worthiness training data needs both labels")
        vectors = self._vectors(texts, vectors)
        docs = list(docs) if has_documents(docs) else None
        self.coef_: dict[str, np.ndarray] = {}
        self.intercept_: dict[str, float] = {}
        self.thresholds_: dict[str, float] = {}
        for head in self.heads:
            if head == "context" and docs is None:
                continue
            features = self._features(head, texts, vectors, docs)
            regression = self._regression().fit(features, y)
            self.coef_[head] = regression.coef_.ravel().copy()
            self.intercept_[head] = float(regression.intercept_[0])
            out_of_fold = np.zeros(len(y))
            covered = np.zeros(len(y), dtype=bool)
            for test in self._folds(y, docs):
                train = np.setdiff1d(np.arange(len(y)), test)
                if len(np.unique(y[train])) < 2:
                    continue
                out_of_fold[test] = self._regression().fit(features[train], y[train]).decision_function(
                    features[test])
                covered[test] = True
            self.thresholds_[head] = (best_f1_threshold(y[covered], 1.0 / (1.0 + np.exp(-out_of_fold[covered])))
                                      if covered.any() else 0.5)
        return self

    # -- scoring ----------------------------------------------------------------------------------------------

    def head_for(self, docs: Sequence[Any] | None) -> str:
        """The head that scores input with (or without) documents: the context head where it was fitted."""
        return "context" if has_documents(docs) and "context" in self.coef_ else "text"

    def decision_function(self, texts: Sequence[str], vectors: np.ndarray | None = None,
                          docs: Sequence[Any] | None = None) -> np.ndarray:
        """Log-odds of check-worthiness per sentence (after neighbour smoothing, where it applies)."""
        if not len(texts):
            return np.zeros(0)
        head = self.head_for(docs)
        features = self._features(head, texts, self._vectors(texts, vectors), docs)
        z = features @ self.coef_[head] + self.intercept_[head]
        if self.neighbour_smoothing and head == "text" and has_documents(docs):
            z = z + self.neighbour_smoothing * neighbour_mean(z, list(docs or []))
        return z

    def score(self, texts: Sequence[str], vectors: np.ndarray | None = None,
              docs: Sequence[Any] | None = None) -> list[float]:
        """P(check-worthy) per sentence, in input order.

        Args:
            texts: the sentences.
            vectors: their embeddings, if already computed.
            docs: the document of each sentence (a document's sentences in reading order), if known.
        """
        return [float(p) for p in 1.0 / (1.0 + np.exp(-self.decision_function(texts, vectors, docs)))]

    def threshold(self, docs: Sequence[Any] | None = None) -> float:
        """The score from which a sentence is called check-worthy (chosen on the training data, see ``fit``)."""
        return self.thresholds_[self.head_for(docs)]

    def predict(self, texts: Sequence[str], vectors: np.ndarray | None = None,
                docs: Sequence[Any] | None = None) -> list[int]:
        """1 where the score reaches :meth:`threshold`, else 0."""
        cut = self.threshold(docs)
        return [int(s >= cut) for s in self.score(texts, vectors, docs)]

    # -- persistence (plain JSON) -----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Settings, cue names, coefficients and thresholds as JSON-ready values (no pickle)."""
        return {"format": FORMAT, "cues": list(CUE_NAMES),
                "params": {"C": self.C, "class_weight": self.class_weight, "cue_weight": self.cue_weight,
                           "heads": list(self.heads), "neighbour_smoothing": self.neighbour_smoothing,
                           "threshold_folds": self.threshold_folds, "random_state": self.random_state},
                "heads": {h: {"coef": self.coef_[h].tolist(), "intercept": self.intercept_[h],
                              "threshold": self.thresholds_[h]} for h in self.coef_}}

    @classmethod
    def from_dict(cls, state: dict[str, Any], embedder: Any = None) -> CheckworthyModel:
        """A fitted model from :meth:`to_dict`'s output."""
        if state.get("format") != FORMAT or list(state.get("cues", [])) != list(CUE_NAMES):
            raise ValueError(f"not a check-worthiness model of this version: {state.get('format')!r}")
        model = cls(embedder=embedder, **state["params"])
        model.coef_ = {h: np.asarray(v["coef"], dtype=np.float64) for h, v in state["heads"].items()}
        model.intercept_ = {h: float(v["intercept"]) for h, v in state["heads"].items()}
        model.thresholds_ = {h: float(v["threshold"]) for h, v in state["heads"].items()}
        return model


# --- the shipped model -----------------------------------------------------------------------------------------

SHIPPED_TRAINING = (("cpec", "stance", "checkworthy_train.jsonl"), ("checkworthy", "speech_supplement.jsonl"))


def read_labelled(path: str | Path) -> tuple[list[str], list[int]]:
    records = read_jsonl(path)
    return [r["text"] for r in records], [int(r["label"]) for r in records]


def shipped_training_data() -> tuple[list[str], list[int]]:
    """The project's own labelled sentences the shipped model is fitted on (news and speech register)."""
    from tracker.resources import dataset_path

    texts: list[str] = []
    labels: list[int] = []
    for parts in SHIPPED_TRAINING:
        more_texts, more_labels = read_labelled(dataset_path(*parts))
        texts += more_texts
        labels += more_labels
    return texts, labels


def default_model(embedder: Any = None) -> CheckworthyModel:
    """The shipped model (:meth:`CheckworthyModel.for_shipping`) fitted on :func:`shipped_training_data` with
    ``embedder`` (default MiniLM). The training sentences' vectors ship with tracker (only sentences added since are
    embedded); callers keep the model for the process."""
    from tracker.embed import ShippedVectors, get_embedder

    texts, labels = shipped_training_data()
    if embedder is None or isinstance(embedder, str):
        embedder = get_embedder(embedder or "minilm")
    return CheckworthyModel.for_shipping(embedder=ShippedVectors(embedder)).fit(texts, labels)
