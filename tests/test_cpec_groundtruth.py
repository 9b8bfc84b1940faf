"""The pure scoring functions of tests/benchmarks/cpec_groundtruth.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parent / "benchmarks" / "cpec_groundtruth.py"
_spec = importlib.util.spec_from_file_location("cpec_groundtruth", _PATH)
gt = importlib.util.module_from_spec(_spec)
assert _spec.loader is not None
sys.modules["cpec_groundtruth"] = gt
_spec.loader.exec_module(gt)


def test_claimant_match_is_word_by_word() -> None:
    assert gt.claimant_matches("Planning Minister Ahsan Iqbal", "Ahsan Iqbal")
    assert not gt.claimant_matches("Pakistan", "an")  # not a substring match
    assert not gt.claimant_matches("China", "Chinese officials")
    assert gt.claimant_matches("officials", "Pakistani officials")
    assert gt.claimant_matches("the Foreign Office spokesperson", "Foreign Office spokesperson")
    assert gt.claimant_matches("critics", "Critics")
    assert gt.claimant_matches("the outlet", "The outlet")
    assert not gt.claimant_matches("the outlet", "unnamed source")
    assert not gt.claimant_matches("critics", "the outlet")
    assert not gt.claimant_matches("critics", "")


def test_classification_report_counts_missing_as_wrong() -> None:
    rep = gt.classification_report(["a", "a", "b", "b"], ["a", "b", "b", "missing"], ["a", "b"])
    assert rep["accuracy"] == pytest.approx(0.5)
    assert rep["per_label"]["a"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3),
                                     "support": 2, "predicted": 1}
    assert rep["per_label"]["b"]["precision"] == pytest.approx(0.5)
    assert rep["macro_f1"] == pytest.approx((2 / 3 + 0.5) / 2)


def test_classification_report_ignores_absent_labels_in_macro() -> None:
    rep = gt.classification_report(["a", "b"], ["a", "b"], ["a", "b", "c"])
    assert rep["macro_f1"] == 1.0


def test_confusion() -> None:
    assert gt.confusion(["a", "a", "b"], ["a", "b", "b"]) == {"a": {"a": 1, "b": 1}, "b": {"b": 1}}


def test_locate_prefers_hint_then_nearest() -> None:
    text = "One. Two. One."
    assert gt.locate(text, "One.", 10) == 10
    assert gt.locate(text, "One.", 9) == 10
    assert gt.locate(text, "One.", 1) == 0
    assert gt.locate(text, "Three.", 0) is None


def test_match_sentence_exact_split_and_missing() -> None:
    article = gt.StoredArticle(1, "S", "T", "2020-01-01", "en", "Alpha beta. Gamma delta.", None)
    label = gt.LabelSentence("k", "Alpha beta. Gamma delta.", 0, 24, ["N01"], "favor", "assert", "the outlet")
    parts = [gt.StoredClaim(1, 1, 0, 11, "Alpha beta.", "the outlet", "assert"),
             gt.StoredClaim(2, 1, 12, 24, "Gamma delta.", "the outlet", "assert")]
    m = gt.match_sentence(label, article, parts)
    assert m.exact is None and m.overlapping == [1, 2] and m.best == 2
    whole = [gt.StoredClaim(3, 1, 0, 24, "Alpha beta. Gamma delta.", "the outlet", "assert")]
    assert gt.match_sentence(label, article, whole).exact == 3
    assert gt.match_sentence(label, None, whole).best is None


def test_provenance_violations() -> None:
    articles = {1: gt.StoredArticle(1, "S", "T", None, "en", "Hello world.", None)}
    claims = [gt.StoredClaim(1, 1, 0, 12, "Hello world.", None, None),
              gt.StoredClaim(2, 1, 0, 5, "Hullo", None, None),
              gt.StoredClaim(3, 9, 0, 5, "Hello", None, None)]
    assert gt.provenance_violations(articles, claims) == [2, 3]


def test_group_label_lines_gathers_narratives() -> None:
    line = {"article": "k", "sentence": "S.", "start": 0, "end": 2, "narrative": "N01", "stance": "favor",
            "attribution": "assert", "claimant": "the outlet"}
    sentences, inconsistent = gt.group_label_lines([line, {**line, "narrative": "N02"},
                                                    {**line, "start": 3, "end": 5}])
    assert [s.narratives for s in sentences] == [["N01", "N02"], ["N01"]]
    assert inconsistent == 0
    _, inconsistent = gt.group_label_lines([line, {**line, "narrative": "N02", "stance": "none"}])
    assert inconsistent == 1


def test_purity_table_excludes_unclustered_from_best() -> None:
    rows = gt.purity_table(["N1", "N1", "N1", "N2"], [-1, -1, 7, 7])
    assert rows[0] == {"gold": "N1", "n": 3, "best": 7, "best_n": 1, "share": pytest.approx(1 / 3),
                       "n_predicted": 1, "unclustered": 2}
    assert rows[1]["share"] == 1.0


def test_bcubed_unclustered_are_singletons() -> None:
    scores = gt.bcubed_scores(["a", "a"], [-1, -1])
    assert scores["precision"] == 1.0 and scores["recall"] == pytest.approx(0.5)


def test_period_and_timeline() -> None:
    assert gt.period_of("2018-12-31") == "2015-2018"
    assert gt.period_of("2025-01-01") == "2023-2025"
    assert gt.period_of(None) is None and gt.period_of("2014-01-01") is None
    table = gt.stance_timeline([("A", "2019-01-01", "favor"), ("A", "2020-05-01", "none"),
                                ("A", "2020-05-01", "missing"), ("A", None, "favor")])
    assert table == {"A": {"2019-2020": {"favor": 1, "against": 0, "none": 1, "missing": 1}}}
