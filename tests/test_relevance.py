"""Relevance rules: names, related terms, paragraphs and similarity decide whether text is about a target."""

from __future__ import annotations

from tracker.relevance import CLAIM_THRESHOLD, RELATED, TargetTerms, article_relevance, term_pattern

TERMS = TargetTerms.of(["CPEC", "China-Pakistan Economic Corridor"], ["Gwadar", "the corridor"])


def spans(text: str, sentences: list[str]) -> list[tuple[int, int]]:
    return [(text.index(s), text.index(s) + len(s)) for s in sentences]


def test_names_match_whole_words_and_spelling_variants() -> None:
    pattern = term_pattern(["China-Pakistan Economic Corridor"])
    assert pattern.search("the China Pakistan Economic Corridor and")
    assert pattern.search("the china-pakistan economic corridor")
    assert TERMS.mention("Critics of CPEC said") == (11, 15)
    assert TERMS.mention("CPECX is not a name") is None
    assert TERMS.count("CPEC, CPEC and the China-Pakistan Economic Corridor") == 3


def test_article_named_in_title_is_about_the_target() -> None:
    claims = ["The new terminal opened on Monday.", "Officials expect more ships next year."]
    text = " ".join(claims)
    found = article_relevance(TERMS, "CPEC port opens a terminal", text, spans(text, claims), [0.1, 0.1])
    assert found.about and found.score == 1.0
    assert all(s < CLAIM_THRESHOLD for s in found.claims)  # unrelated sentences get no stance of their own


def test_passing_mention_is_not_about_the_target_but_the_naming_claim_keeps_its_relevance() -> None:
    claims = ["The Belt and Road Initiative turned ten this year.", "Railways in Laos and Kenya were finished.",
              "Ports in Sri Lanka changed hands.", "Projects such as CPEC drew criticism.",
              "Loans to Africa fell sharply.", "Beijing promised smaller projects.",
              "Trade with Europe grew by a tenth.", "A summit is planned for the autumn."]
    text = "\n\n".join(claims)
    # the naming sentence and the one after it are 2 of 8: below the share that makes an article about CPEC
    found = article_relevance(TERMS, "Belt and Road at ten", text, spans(text, claims), [0.2] * 8)
    assert not found.about
    assert found.claims[3] == 1.0 and max(found.claims[:3] + found.claims[4:]) < CLAIM_THRESHOLD


def test_paragraph_of_a_mention_and_related_terms_carry_relevance() -> None:
    claims = ["CPEC funds the new highway.", "The road cuts travel time by half.", "Gwadar gets a new pier.",
              "Football results came in late."]
    text = f"{claims[0]} {claims[1]}\n\n{claims[2]}\n\n{claims[3]}"
    found = article_relevance(TERMS, None, text, spans(text, claims), [0.3, 0.3, 0.3, 0.0])
    assert found.about  # named once, and most of its claims are relevant
    assert found.claims[0] == 1.0 and found.claims[1] >= CLAIM_THRESHOLD and found.claims[2] == RELATED
    assert found.claims[3] < CLAIM_THRESHOLD


def test_article_that_never_names_the_target_needs_related_terms_and_similarity() -> None:
    claims = ["Gwadar port handled more cargo.", "The corridor's railway upgrade was delayed."]
    text = " ".join(claims)
    close = article_relevance(TERMS, None, text, spans(text, claims), [0.6, 0.55])
    far = article_relevance(TERMS, None, text, spans(text, claims), [0.1, 0.1])
    assert close.about and not far.about
    assert max(far.claims) < CLAIM_THRESHOLD
