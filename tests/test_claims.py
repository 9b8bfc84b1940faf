"""Claim extraction: sentence spans, claim filtering, exact offsets, claimant and attribution."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracker.claims import (
    OUTLET,
    claimant_and_attribution,
    extract_claims,
    is_claim_sentence,
    sentence_spans,
)
from tracker.ingest.readers import read_text

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "datasets" / "cpec" / "corpus" / "seed" / "000_990483746a5582d2.txt"  # the seed, byte for byte
CORPUS_TEXT = sorted((ROOT / "datasets" / "cpec" / "corpus" / "text").glob("*.txt"))


def _sentences(text: str, language: str = "en") -> list[str]:
    return [text[s.start:s.end] for s in sentence_spans(text, language)]


def _article_text(path: Path) -> str:
    (item,) = list(read_text(path.read_text(encoding="utf-8"), str(path), {}))
    return item.fields["text"]


# --- sentence spans ----------------------------------------------------------------------------------------------

def test_abbreviations_and_amounts_do_not_split_sentences() -> None:
    text = ("Mr. Khan visited the U.S. on Monday and met officials there. "
            "The deal is worth Rs. 1.2 bn according to the ministry. Work starts in June.")
    assert _sentences(text) == [
        "Mr. Khan visited the U.S. on Monday and met officials there.",
        "The deal is worth Rs. 1.2 bn according to the ministry.",
        "Work starts in June.",
    ]


def test_urdu_full_stop_splits_sentences() -> None:
    text = "سی پیک منصوبے سے پاکستان میں ہزاروں نوکریاں پیدا ہوئی ہیں۔ حکومت نے کہا کہ گوادر بندرگاہ جلد مکمل ہوگی۔"
    assert _sentences(text, "ur") == [
        "سی پیک منصوبے سے پاکستان میں ہزاروں نوکریاں پیدا ہوئی ہیں۔",
        "حکومت نے کہا کہ گوادر بندرگاہ جلد مکمل ہوگی۔",
    ]


def test_chinese_full_stop_splits_sentences() -> None:
    text = "中巴经济走廊为巴基斯坦创造了大量就业机会。中方表示将继续推进瓜达尔港建设。"
    assert _sentences(text, "zh") == ["中巴经济走廊为巴基斯坦创造了大量就业机会。", "中方表示将继续推进瓜达尔港建设。"]


def test_heading_is_not_glued_to_the_next_sentence() -> None:
    text = "CPEC Phase Two Begins\nPakistan and China signed six new agreements on Monday."
    assert _sentences(text) == ["CPEC Phase Two Begins", "Pakistan and China signed six new agreements on Monday."]


def test_spans_are_trimmed_and_offsets_point_into_text() -> None:
    text = "  First claim about the corridor is here.   Second claim about the port follows.  \n\n  Third one.  "
    for span in sentence_spans(text):
        piece = text[span.start:span.end]
        assert piece == piece.strip() and piece


# --- what is a claim ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sentence", [
    "Click here to subscribe to our newsletter for daily updates.",
    "Photo: AFP",
    "By Staff Reporter",
    "Sign up for our free newsletter to get the latest news every morning.",
    "Subscribe to our newsletter for the best of our journalism.",
    "Pakistan China Economic Corridor Update",  # a heading
    "Is CPEC really a debt trap for Pakistan?",  # a question
    "Read more",
])
def test_boilerplate_headings_and_questions_are_not_claims(sentence: str) -> None:
    assert not is_claim_sentence(sentence)


@pytest.mark.parametrize("sentence", [
    "Minister Ahsan Iqbal said CPEC created 200,000 jobs in five years.",
    "The corridor includes roads, railways and power plants across Pakistan.",
    "中巴经济走廊为巴基斯坦创造了大量就业机会。",
])
def test_factual_sentences_are_claims(sentence: str) -> None:
    assert is_claim_sentence(sentence)


def test_extract_claims_skips_boilerplate_in_an_article() -> None:
    text = ("CPEC Phase Two Begins\n"
            "By Staff Reporter\n"
            "Pakistan and China signed six new agreements worth $2 billion on Monday.\n"
            "Photo: AFP\n"
            "Click here to subscribe to our newsletter.\n"
            "The agreements cover agriculture, mining and special economic zones.")
    claims = extract_claims(7, text)
    assert [c.text for c in claims] == [
        "Pakistan and China signed six new agreements worth $2 billion on Monday.",
        "The agreements cover agriculture, mining and special economic zones.",
    ]
    assert all(c.article_id == 7 for c in claims)
    assert [c.idx for c in claims] == sorted(c.idx for c in claims)
    assert len({c.idx for c in claims}) == len(claims)


def test_extract_claims_uses_the_scorer() -> None:
    text = "Pakistan borrowed $5 billion from China in 2023. The weather in Islamabad was pleasant and warm today."
    claims = extract_claims(1, text, score=lambda sents: [0.9 if "$" in s else 0.1 for s in sents])
    assert [c.checkworthy for c in claims] == [0.9, 0.1]
    assert [c.checkworthy for c in extract_claims(1, text)] == [None, None]  # the pipeline scores them later


# --- offsets -----------------------------------------------------------------------------------------------------

def _check_offsets(text: str, language: str = "en") -> int:
    claims = extract_claims(1, text, language)
    for claim in claims:
        assert text[claim.start:claim.end] == claim.text
    return len(claims)


def test_offsets_reproduce_every_claim_of_the_seed_article() -> None:
    text = _article_text(SEED)
    n = _check_offsets(text)
    assert n >= 5
    texts = [c.text for c in extract_claims(1, text)]
    assert not any("Pakistan, China Enhance CPEC Collaboration" == t for t in texts)  # the title is not in the body


@pytest.mark.parametrize("index", [0, 7, 23, 41])
def test_offsets_reproduce_every_claim_of_corpus_articles(index: int) -> None:
    assert CORPUS_TEXT, "datasets/cpec/corpus/text is missing"
    path = CORPUS_TEXT[index % len(CORPUS_TEXT)]
    assert _check_offsets(_article_text(path)) >= 1


def test_offsets_survive_curly_quotes_and_odd_spacing() -> None:
    text = ("“The corridor is a game changer,” said Ahsan Iqbal.  It  has   created jobs in Gwadar and Karachi.\n"
            "\tPakistan’s debt to China rose to $30 billion, the IMF said.")
    assert _check_offsets(text) == 3


# --- claimant and attribution ------------------------------------------------------------------------------------

def test_named_speaker_reports() -> None:
    assert claimant_and_attribution("Ahsan Iqbal said CPEC has created 200,000 jobs.") == ("Ahsan Iqbal", "report")


def test_he_said_resolves_to_the_previous_named_claimant() -> None:
    text = ("Planning Minister Ahsan Iqbal said the corridor had created 200,000 jobs. "
            "\"The corridor will transform the whole region,\" he said.")
    claims = extract_claims(1, text)
    assert [c.claimant for c in claims][-1].endswith("Ahsan Iqbal")
    assert claims[-1].attribution == "report"


def test_he_said_without_a_previous_name_is_not_the_outlet() -> None:
    claimant, attribution = claimant_and_attribution('"The corridor will transform the region," he said.')
    assert attribution == "report"
    assert claimant != OUTLET


def test_according_to() -> None:
    claimant, attribution = claimant_and_attribution(
        "The project cost $62 billion, according to the Planning Commission.")
    assert (claimant, attribution) == ("the Planning Commission", "report")


def test_rejected_reports_refutes() -> None:
    claimant, attribution = claimant_and_attribution("Officials rejected reports that CPEC is a debt trap.")
    assert attribution == "refute"
    assert claimant.lower() == "officials"


def test_both_sides_rejected_disinformation() -> None:
    """The sentence carries the claim that disinformation campaigns target the corridor, and reports who says
    it: it refutes no claim of its own (the labels and the product agree: 'report')."""
    claimant, attribution = claimant_and_attribution(
        "Both sides rejected disinformation campaigns against the corridor.")
    assert attribution == "report"
    assert claimant.lower() == "both sides"
    assert claimant_and_attribution("Fact-checkers have debunked several such claims.")[1] != "refute"
    assert claimant_and_attribution("Officials rejected claims that the corridor is a debt trap.")[1] == "refute"
    assert claimant_and_attribution("It is not correct to say that CPEC is driving Pakistan into debt.")[1] == (
        "refute")


def test_plain_outlet_sentence_asserts() -> None:
    assert claimant_and_attribution("The corridor includes roads, railways and power plants across Pakistan.") == (
        OUTLET, "assert")


def test_quote_with_reporting_verb_after_name() -> None:
    claimant, attribution = claimant_and_attribution(
        "“Gwadar will never be a military base,” said Foreign Office spokesperson Mumtaz Baloch.")
    assert attribution == "report"
    assert claimant != OUTLET and ("Baloch" in claimant or "Foreign Office" in claimant)


def test_seed_article_attributions() -> None:
    claims = extract_claims(1, _article_text(SEED))
    assert {c.attribution for c in claims} <= {"assert", "report", "refute"}
    rejected = [c for c in claims if "rejected disinformation" in c.text]
    assert rejected and all(c.attribution == "report" for c in rejected)  # the governments' claim, reported


def test_discourse_adverbs_are_not_claimants() -> None:
    claimant, attribution = claimant_and_attribution("Beijing, however, said the attack would not derail the corridor.")
    assert (claimant, attribution) == ("Beijing", "report")


@pytest.mark.parametrize("sentence", [
    "New Delhi's grumbling about the corridor deserves no more than a polite dismissal.",
    "That concern misreads the structure of the financing package.",
    "Reports of Chinese troops in Gwadar are groundless scaremongering.",
])
def test_rebuttals_without_a_denial_verb_are_refutations(sentence: str) -> None:
    assert claimant_and_attribution(sentence)[1] == "refute"
