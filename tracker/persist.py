"""Fitted scikit-learn pieces as JSON plus numeric arrays, never pickle.

A store is a file people share: loading a model from it must not run code. A fitted estimator becomes a JSON
state (its class name from an explicit allow-list, its parameters) and arrays (coefficients, vocabularies as
string arrays), stored by :func:`tracker.store.base.arrays_to_blob` as an ``.npz`` read with
``allow_pickle=False``. Rebuilding creates the estimator from the allow-list and sets its learned attributes; any
other class name is refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tracker import TrackerError


class BadModelState(TrackerError):
    """A stored model state is not one tracker writes (unknown kind, missing arrays)."""


_LINEAR = ("LogisticRegression", "LinearSVC")
_TFIDF_PARAMS = ("analyzer", "ngram_range", "lowercase", "sublinear_tf", "token_pattern", "min_df", "norm",
                 "use_idf", "smooth_idf", "stop_words")


def dump(estimator: Any, prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, Any] | None:
    """JSON state of ``estimator`` (None for None); its arrays are added to ``arrays`` under ``prefix``."""
    if estimator is None:
        return None
    name = type(estimator).__name__
    if name in _LINEAR:
        arrays[f"{prefix}.coef"] = np.asarray(estimator.coef_, dtype=np.float64)
        arrays[f"{prefix}.intercept"] = np.atleast_1d(np.asarray(estimator.intercept_, dtype=np.float64))
        arrays[f"{prefix}.classes"] = np.asarray(estimator.classes_).astype(str)
        return {"kind": name}
    if name == "TfidfVectorizer":
        terms = sorted(estimator.vocabulary_, key=estimator.vocabulary_.get)
        arrays[f"{prefix}.terms"] = np.asarray(terms, dtype=str)
        arrays[f"{prefix}.idf"] = np.asarray(estimator.idf_, dtype=np.float64)
        params = {k: getattr(estimator, k) for k in _TFIDF_PARAMS}
        params["ngram_range"] = list(params["ngram_range"])
        return {"kind": "TfidfVectorizer", "params": params}
    raise BadModelState(f"cannot store a {name} (not in the allow-list)")


def load(state: dict[str, Any] | None, prefix: str, arrays: dict[str, np.ndarray]) -> Any:
    """Rebuild an estimator written by :func:`dump`."""
    if state is None:
        return None
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    kind = state.get("kind") if isinstance(state, dict) else None
    try:
        if kind in _LINEAR:
            estimator = {"LogisticRegression": LogisticRegression, "LinearSVC": LinearSVC}[kind]()
            estimator.coef_ = np.asarray(arrays[f"{prefix}.coef"], dtype=np.float64)
            estimator.intercept_ = np.asarray(arrays[f"{prefix}.intercept"], dtype=np.float64)
            estimator.classes_ = np.asarray(arrays[f"{prefix}.classes"]).astype(str).astype(object)
            estimator.n_features_in_ = estimator.coef_.shape[1]
            return estimator
        if kind == "TfidfVectorizer":
            params = dict(state["params"])
            params["ngram_range"] = tuple(params["ngram_range"])
            terms = [str(t) for t in arrays[f"{prefix}.terms"]]
            estimator = TfidfVectorizer(**params, vocabulary={t: i for i, t in enumerate(terms)})
            estimator.idf_ = np.asarray(arrays[f"{prefix}.idf"], dtype=np.float64)
            return estimator
    except (KeyError, TypeError, ValueError) as exc:
        raise BadModelState(f"stored {kind} state is incomplete ({exc})") from exc
    raise BadModelState(f"unknown stored model kind {kind!r}")
