"""Every metric tracker reports, once, on scikit-learn where it has them.

Clustering: B-cubed precision/recall/F1 (from scikit-learn's contingency matrix), ARI, NMI. Classification:
macro-F1, accuracy, per-label scores, SemEval's F_avg, the FNC-1 score, expected calibration error. Ranking:
MAP@5, MRR, recall@k, and mean per-group average precision (check-worthiness per debate).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

# scikit-learn is imported inside the functions that use it: it takes seconds to import, and every CLI command
# (a reviewer's one-line action included) would pay for it.

# --- clustering -------------------------------------------------------------------------------------------------


def _codes(gold: Any, pred: Any) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of gold and predicted clusters; predicted -1 (noise) becomes one singleton per item."""
    gold_codes = np.unique(np.asarray(gold, dtype=object).astype(str), return_inverse=True)[1]
    raw = np.asarray(pred, dtype=object)
    if len(raw) != len(gold_codes):
        raise ValueError("gold and pred differ in length")
    noise = np.array([p is None or (isinstance(p, int | np.integer) and p < 0) or p == -1 for p in raw], bool)
    codes = np.unique(raw.astype(str), return_inverse=True)[1].astype(np.int64)
    codes[noise] = codes.max(initial=-1) + 1 + np.arange(int(noise.sum()))
    return gold_codes, np.unique(codes, return_inverse=True)[1]


def bcubed(gold: Any, pred: Any) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1; a predicted -1 or None (noise) counts as a singleton per item."""
    from sklearn.metrics.cluster import contingency_matrix

    g, p = _codes(gold, pred)
    if len(g) == 0:
        return 0.0, 0.0, 0.0
    table = contingency_matrix(g, p, sparse=True).tocoo()
    inter = table.data.astype(np.float64)
    gsize, psize = np.bincount(g).astype(np.float64), np.bincount(p).astype(np.float64)
    precision = float((inter**2 / psize[table.col]).sum() / len(g))
    recall = float((inter**2 / gsize[table.row]).sum() / len(g))
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def ari(gold: Any, pred: Any) -> float:
    """Adjusted Rand index, noise items as singletons."""
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(*_codes(gold, pred)))


def nmi(gold: Any, pred: Any) -> float:
    """Normalised mutual information (arithmetic mean), noise items as singletons."""
    from sklearn.metrics import normalized_mutual_info_score

    return float(normalized_mutual_info_score(*_codes(gold, pred)))


def cluster_metrics(gold: Any, pred: Any) -> dict[str, float]:
    precision, recall, f1 = bcubed(gold, pred)
    return {"bcubed_precision": round(precision, 4), "bcubed_recall": round(recall, 4), "bcubed_f1": round(f1, 4),
            "ari": round(ari(gold, pred), 4), "nmi": round(nmi(gold, pred), 4)}


# --- classification ---------------------------------------------------------------------------------------------


def per_label(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> dict[str, dict[str, float]]:
    from sklearn.metrics import precision_recall_fscore_support

    p, r, f, s = precision_recall_fscore_support(gold, pred, labels=list(labels), zero_division=0)
    return {label: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4),
                    "f1": round(float(f[i]), 4), "support": int(s[i])} for i, label in enumerate(labels)}


def macro_f1(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str] | None = None) -> float:
    """Unweighted mean F1 over ``labels`` (default: the labels seen in ``gold``)."""
    from sklearn.metrics import f1_score

    labels = sorted(set(gold)) if labels is None else list(labels)
    if not labels or not len(gold):
        return 0.0
    return float(f1_score(gold, pred, labels=labels, average="macro", zero_division=0))


def f_avg(gold: Sequence[str], pred: Sequence[str]) -> float:
    """SemEval-2016 task 6 score: mean of F1(favor) and F1(against), all targets pooled."""
    return macro_f1(gold, pred, ["favor", "against"])


def fnc_score(gold: Sequence[str], pred: Sequence[str]) -> float:
    """FNC-1 weighted score as a share (0-1) of a perfect prediction's: 0.25 for a right related/unrelated
    decision, plus 0.75 for the right agree/disagree/discuss label on a related pair."""

    def score(g: str, p: str) -> float:
        return 0.25 * ((g == "unrelated") == (p == "unrelated")) + 0.75 * (g != "unrelated" and g == p)

    best = sum(score(g, g) for g in gold)
    return sum(score(g, p) for g, p in zip(gold, pred)) / best if best else 0.0


def expected_calibration_error(proba: np.ndarray, gold_index: Sequence[int], n_bins: int = 15) -> float:
    """ECE of the top-class probability: the gap between confidence and accuracy, averaged over equal-width
    confidence bins weighted by their share of items."""
    proba = np.asarray(proba, dtype=np.float64)
    if proba.size == 0:
        return 0.0
    confidence = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == np.asarray(gold_index)).astype(np.float64)
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    error = 0.0
    for b in np.unique(bins):
        inside = bins == b
        error += inside.mean() * abs(confidence[inside].mean() - correct[inside].mean())
    return float(error)


def classification_metrics(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """Macro-F1, accuracy and per-label precision/recall/F1/support."""
    from sklearn.metrics import accuracy_score

    return {"macro_f1": round(macro_f1(gold, pred, labels), 4),
            "accuracy": round(float(accuracy_score(gold, pred)), 4) if len(gold) else 0.0,
            "per_label": per_label(gold, pred, labels)}


# --- ranking ----------------------------------------------------------------------------------------------------


def match_metrics(relevant: Sequence[Sequence[str]], ranked: Sequence[Sequence[str]]) -> dict[str, float]:
    """MAP@5, MRR, recall@1 and recall@5 of ranked lists against each query's relevant ids (queries with no
    relevant id are skipped)."""
    ap5 = rr = r1 = r5 = 0.0
    n = 0
    for gold, order in zip(relevant, ranked):
        gold_set = set(gold)
        if not gold_set:
            continue
        n += 1
        hits = 0
        precisions = []
        for i, item in enumerate(order[:5], start=1):
            if item in gold_set:
                hits += 1
                precisions.append(hits / i)
        ap5 += sum(precisions) / min(len(gold_set), 5)
        first = next((i for i, item in enumerate(order, start=1) if item in gold_set), None)
        rr += 1.0 / first if first else 0.0
        r1 += len(gold_set & set(order[:1])) / len(gold_set)
        r5 += len(gold_set & set(order[:5])) / len(gold_set)
    n = max(n, 1)
    return {"map_at_5": round(ap5 / n, 4), "mrr": round(rr / n, 4), "recall_at_1": round(r1 / n, 4),
            "recall_at_5": round(r5 / n, 4)}


def average_precision(gold: Sequence[int], scores: Sequence[float]) -> float:
    """Average precision of ``scores`` ranking the positives of ``gold`` (0 when there is none)."""
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(gold, scores)) if any(gold) else 0.0


def mean_group_average_precision(gold: Sequence[int], scores: Sequence[float], groups: Sequence[Any]) -> float:
    """Mean over groups (debates) of each group's average precision; groups without a positive are skipped."""
    by_group: dict[Any, list[int]] = {}
    for i, group in enumerate(groups):
        by_group.setdefault(group, []).append(i)
    values = [average_precision([gold[i] for i in rows], [scores[i] for i in rows])
              for rows in by_group.values() if any(gold[i] for i in rows)]
    return float(np.mean(values)) if values else 0.0
