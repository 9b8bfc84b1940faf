"""Claim extraction: article text -> claim sentences with offsets, claimant, attribution and check-worthiness.

``attribution`` says how the outlet carries the claim the sentence makes: ``assert`` (in its own voice),
``report`` (someone else's, relayed) or ``refute`` (the sentence denies its own claim: "Officials rejected reports
that CPEC is a debt trap" refutes the debt-trap claim). A sentence about disinformation ("Both sides rejected
disinformation campaigns") makes the claim that there is disinformation and reports who says so: it refutes no
claim of its own.

Sentences come from sentencex (it survives "Mr.", "U.S.", "Rs. 1.2 bn", Urdu "۔" and Chinese "。"), split inside
paragraphs so headings never glue onto the sentence below. Boilerplate (subscribe prompts, bylines, photo
credits), questions and fragments are not claims. Who asserts a claim and whether the outlet asserts, reports or
refutes it come from rule-based cues (reporting and refuting verbs, quotes, "according to"), measured on the CPEC
ground truth.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from tracker.records import Claim

EXTRACTOR_VERSION = "claims-2"
RECORD_MAX_WORDS = 80  # a one-paragraph text this short is a record that is itself a claim (or a few)

OUTLET = "the outlet"

_BOILERPLATE = re.compile(
    r"(click here|subscribe|sign up|newsletter|follow us|all rights reserved|copyright|©|read more|"
    r"related:|also read|photo:|photo credit|file photo|image:|\(photo|\bphotograph by\b|getty images|"
    r"reporting by|editing by|writing by|additional reporting|share this|cookie|advertisement|"
    r"this story has been|this article (was|has been)|the views expressed|terms of use|privacy policy|"
    r"download our app|whatsapp channel|^by [A-Z][\w.]+( [A-Z][\w.]+){0,3}$|^staff reporter$|"
    r"^\(?(ap|afp|reuters|app|ani|pti)\)?$|(?-i:^[A-Z .,]+\(\w+\)\s*[-–—]?$))",
    re.IGNORECASE,
)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"\w+", re.UNICODE)
_END = (".", "!", "۔", "。", "！", '"', "”", "’", "'", ")", "؟")


_CJK_BREAK = re.compile(r"(?<=[。！？])(?=\S)")


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def sentence_spans(text: str, language: str | None = "en") -> list[Span]:
    """Character spans of the sentences of ``text`` (whitespace trimmed), paragraph by paragraph."""
    from sentencex import segment

    spans: list[Span] = []
    lang = (language or "en")[:2]
    for para in re.finditer(r"[^\n]+", text):
        chunk = para.group()
        offset = para.start()
        position = 0
        try:
            pieces = list(segment(lang, chunk))
        except Exception:  # noqa: BLE001 - unknown language code: fall back to English rules
            pieces = list(segment("en", chunk))
        # sentencex keeps "。" followed by a digit inside one sentence ("…4000人。26岁的…"): split there too
        pieces = [part for piece in pieces for part in _CJK_BREAK.split(piece) if part]
        for piece in pieces:
            found = chunk.find(piece, position)
            if found < 0:  # the segmenter normalised something: fall back to the stripped piece
                found = chunk.find(piece.strip(), position)
                if found < 0:
                    continue
                piece = piece.strip()
            start, end = found, found + len(piece)
            position = end
            while start < end and chunk[start].isspace():
                start += 1
            while end > start and chunk[end - 1].isspace():
                end -= 1
            if end > start:
                spans.append(Span(offset + start, offset + end))
    return spans


def is_short_record(text: str) -> bool:
    """True for a text that is itself a claim or a few: one paragraph of at most ``RECORD_MAX_WORDS`` words, as in
    a claim database (one short claim a row, often without a final period), a tweet or a headline list."""
    stripped = text.strip()
    if "\n" in stripped:
        return False
    cjk = len(_CJK.findall(stripped))
    return cjk <= 4 * RECORD_MAX_WORDS if cjk else len(_WORD.findall(stripped)) <= RECORD_MAX_WORDS


def is_claim_sentence(sentence: str, *, whole_record: bool = False) -> bool:
    """True for sentences that can carry a claim: not boilerplate, a question, a heading or a fragment.

    Inside an article, a line without final punctuation is a heading unless it is long. In a short record
    (``whole_record``: the text is itself the claim) it is the claim: "Coronavirus was created in a laboratory".
    """
    stripped = sentence.strip()
    cjk = len(_CJK.findall(stripped))
    words = len(_WORD.findall(stripped))
    # a record that is itself a claim may mention cookies or advertisements, or trail a "Read more: <link>";
    # only a short line of it is taken for boilerplate
    if _BOILERPLATE.search(stripped) and (not whole_record or words < 8):
        return False
    if stripped.endswith(("?", "؟", "？")):
        return False
    if cjk:
        return cjk >= (4 if whole_record else 8)
    if words < (3 if whole_record else 4):
        return False
    if not stripped.endswith(_END) and not whole_record:  # a heading or a cut-off line: only long ones carry claims
        return words >= 10
    return True


# --- claimant and attribution -----------------------------------------------------------------------------------

_REFUTE = re.compile(
    r"\b(reject(?:s|ed|ing)?|dismiss(?:es|ed|ing)?|den(?:y|ies|ied|ying)|refut(?:e|es|ed|ing)|debunk(?:s|ed|ing)?|"
    r"rebut(?:s|ted|ting)?|repudiat(?:e|es|ed|ing)|disput(?:e|es|ed|ing)|contradict(?:s|ed)?|"
    r"baseless|unfounded|fabricated|no evidence|not true|untrue|is false|are false|was false|"
    r"false claims?|fake news|myth|no truth|without (?:any )?basis|misleading|mischievous|"
    r"nothing (?:could be )?further from the truth|propaganda against|dismissal|misread(?:s|ing)?|"
    r"ignores? that|overstat(?:e|es|ed|ing)|exaggerat\w*|no (?:legal|moral|factual|real) basis|not the case|"
    r"is wrong|are wrong|wide of the mark|does not hold|do not hold|smears?|slander\w*|groundless|canard|"
    r"scaremongering|fearmongering|hysteria|not (?:correct|true|accurate|right) to (?:say|claim|suggest)|"
    r"(?:is|are|was|were) (?:also |simply |mostly |largely |plainly |just )?(?:wrong|mistaken|incorrect)|"
    r"(?:does|do|did) not support (?:this|that|the claim)|not an? (?:accurate|fair|true) (?:one|picture|account))\b",
    re.IGNORECASE,
)
# A sentence whose refuting words are about disinformation ("rejected disinformation campaigns", "groundless
# rumours", "debunked several such claims") carries the claim that there is disinformation: it does not refute
# its own claim. One that rejects a proposition ("rejected reports that CPEC is a debt trap") does.
_ABOUT_DISINFORMATION = re.compile(
    r"\b(?:disinformation|misinformation|propaganda|fake news|smear(?:s| campaigns?)?|falsehoods|"
    r"(?:groundless|baseless|false|fake|fabricated|doctored|distorted|malicious|hostile) (?:rumou?rs?|claims?|"
    r"reports?|reporting|documents?|videos?|figures|narratives?|information|campaigns?)|such claims)\b",
    re.IGNORECASE)
_PROPOSITION = re.compile(
    r"\b(?:reject|dismiss|den(?:y|ies|ied|ying)|refut|debunk|rebut|disput|repudiat)\w*\s+(?:\w+\s+){0,4}?"
    r"(?:that|(?:reports?|claims?|allegations?|accusations?|suggestions?|assertions?|notions?|idea|charges?|"
    r"speculation|criticism|concerns?|fears?)\s+(?:that|of))\b", re.IGNORECASE)
_REFUTE_OTHER = re.compile(r"(拒绝|驳斥|否认|谣言|虚假|不实|抹黑|مسترد|تردید|بے بنیاد|جھوٹ|غلط)")
_REPORT_VERBS = (
    r"said|says|say|told|tells|stated|states|claimed|claims|claim|alleged|alleges|allege|argued|argues|argue|"
    r"warned|warns|warn|noted|notes|added|adds|insisted|insists|maintained|maintains|asserted|asserts|"
    r"believes|believe|contended|contends|accused|accuses|suggested|suggests|reported|reports|described|"
    r"describes|called|calls|termed|terms|highlighted|stressed|underscored|reiterated|emphasi[sz]ed|"
    r"expressed|acknowledged|admitted|announced|vowed|pledged|assured|wrote|writes|observed|pointed out|"
    r"complained|complain|complains|fear|fears|feared|predicted|predicts|estimated|estimates|"
    r"quoted|commended|praised|criticised|criticized|urged|demanded|questioned|insist|maintain|cautioned|"
    r"cautions|pointed to|points to|objected|objects|agreed|committed|explained|explains|confirmed|confirms|"
    r"revealed|disclosed|conceded|concedes|recalled|remarked|responded|replied|blamed|blames|hailed|lauded|"
    r"welcomed|condemned|believed|hoped|hopes|projected|projects|argued|alleging|claiming|saying|urging|"
    r"warning|arguing|insisting|noting|adding|writing|according to"
)
_REPORT = re.compile(rf"\b({_REPORT_VERBS})\b", re.IGNORECASE)
_REPORT_OTHER = re.compile(r"(表示|称|指出|强调|认为|说|據|据|کہا|بتایا|کے مطابق|کا کہنا|نے کہا)")
_ACCORDING = re.compile(r"\baccording to ([^,.;]+)", re.IGNORECASE)
_QUOTE = re.compile(r"[\"“”]")
_GROUP = (
    r"(?i:both sides|both countries|the two sides|the two countries|officials|critics|analysts|experts|"
    r"observers|economists|residents|protesters|activists|diplomats|sources|the government|the ministry|"
    r"the embassy|the foreign office|the spokesperson|the report|the study|the statement|the editorial|"
    r"opponents|supporters|locals|fishermen|lawmakers|the opposition|the imf|the world bank|the participants|"
    r"[a-z]+ (?:officials|analysts|experts|critics|sources|leaders|ministers|diplomats|economists)|"
    r"the (?:[a-z]+ )?(?:minister|secretary|spokesperson|spokesman|spokeswoman|president|premier|ambassador|"
    r"envoy|official|analyst|expert|chairman|governor|commander|author|columnist|adviser|advisor|"
    r"researcher|professor|economist|activist|lawmaker|senator|general))"
)
# Capitalised words (case-sensitive on purpose), with the small words that occur inside names and titles.
_NAME = r"(?:[A-Z][\w.'’-]*(?:\s+(?:of|for|the|and|al|bin|ul|ud|de|van|von)?\s*[A-Z][\w.'’-]*){0,7})"
_VERB = rf"(?i:{_REPORT_VERBS}|reject\w*|dismiss\w*|den(?:y|ies|ied)|refut\w*|debunk\w*|rebut\w*|disput\w*|repudiat\w*)"
_SUBJECT_VERB = re.compile(
    rf"^(?:[^,\"“]{{0,90}},\s*)?(?P<who>(?i:the |a |an )?(?:{_GROUP}|{_NAME}))(?:,[^,]{{3,90}},)?\s+"
    rf"(?i:(?:have|has|had|also|further|repeatedly|again|strongly|firmly|categorically|flatly|jointly|"
    rf"publicly|on \w+)\s+)*(?P<verb>{_VERB})\b"
)
_VERB_SUBJECT = re.compile(
    rf"[\"”’,]\s*(?i:{_REPORT_VERBS})\s+(?P<who>(?i:the |a |an )?(?:{_GROUP}|{_NAME}))"
)
_SUBJECT_AFTER_QUOTE = re.compile(
    rf"[\"”’,]\s*(?P<who>(?i:he|she|they)|{_NAME}|(?i:the |a |an )?(?:{_GROUP}))\s+(?i:{_REPORT_VERBS})\b"
)
_PRONOUNS = {"he", "she", "they", "it", "we", "i", "this", "that", "there"}


_NOT_NAMES = {"the", "this", "that", "these", "those", "it", "in", "on", "at", "as", "but", "and", "if", "for",
              "while", "when", "after", "before", "since", "a", "an", "its", "their", "his", "her", "our", "such"}


def _clean_claimant(who: str) -> str:
    who = re.sub(r"\s+", " ", who).strip(" ,\"'“”")
    who = who.split(",")[0].strip().rstrip(".;:")
    if who.lower() in _NOT_NAMES or who.split(" ", 1)[0].lower() in _NOT_NAMES - {"the", "a", "an"}:
        return ""
    if who.lower().startswith(("the ", "a ", "an ")) and who.split(" ", 1)[1][:1].islower():
        return who.lower() if len(who.split()) <= 3 else who
    return who


def claimant_and_attribution(sentence: str, previous: str | None = None) -> tuple[str, str]:
    """Who asserts ``sentence`` and whether the outlet ``assert``s, ``report``s or ``refute``s it.

    Args:
        sentence: the claim sentence.
        previous: the last named claimant in the article, used for "he said" / "she added".

    Returns:
        (claimant, attribution); claimant is ``"the outlet"`` when the sentence names nobody.
    """
    who: str | None = None
    for pattern in (_SUBJECT_VERB, _SUBJECT_AFTER_QUOTE, _VERB_SUBJECT):
        match = pattern.search(sentence)
        if match:
            candidate = _clean_claimant(match.group("who"))
            if not candidate:
                continue
            if candidate.lower() in _PRONOUNS:
                candidate = previous or candidate.lower()
            if candidate and candidate.lower() not in {"it", "this", "that", "there"}:
                who = candidate
                break
    if who is None:
        match = _ACCORDING.search(sentence)
        if match:
            who = _clean_claimant(match.group(1))
    if who is None:
        who = _subject_before_verb(sentence, previous)
    refutes = bool(_REFUTE_OTHER.search(sentence)) or _refutes_own_claim(sentence)
    if refutes:
        return who or OUTLET, "refute"
    reported = bool(who) or bool(_REPORT_OTHER.search(sentence)) or (
        bool(_QUOTE.search(sentence)) and bool(_REPORT.search(sentence))
    )
    if reported:
        return who or "unnamed source", "report"
    return OUTLET, "assert"


def _refutes_own_claim(sentence: str) -> bool:
    """A refuting cue that is not merely about disinformation (see ``_ABOUT_DISINFORMATION``)."""
    cues = list(_REFUTE.finditer(sentence))
    if not cues:
        return False
    if _PROPOSITION.search(sentence):
        return True
    about = [m.span() for m in _ABOUT_DISINFORMATION.finditer(sentence)]
    return any(not any(start - 40 <= cue.start() <= end for start, end in about) for cue in cues)


_CLAUSE = re.compile(r"[,;:\"“”()–—-]")
_DISCOURSE = {"however", "meanwhile", "moreover", "also", "instead", "nevertheless", "separately", "earlier",
              "later", "still", "in turn", "in response", "for its part", "for their part", "too"}
_DETERMINER_ONLY = {"", "the", "a", "an", "it", "this", "that", "which", "who", "there"}


def _subject_before_verb(sentence: str, previous: str | None) -> str | None:
    """The noun phrase right before the first reporting verb ("Interior ministry officials said ...",
    "..., a senior Indian official said on Saturday"), skipping "who ..." clauses; ``None`` if there is none."""
    match = _REPORT.search(sentence)
    if match is None:
        return None
    segments = [seg.strip() for seg in _CLAUSE.split(sentence[: match.start()])]
    while segments and (not segments[-1] or segments[-1].split()[0].lower() in {"who", "which", "whose"}
                        or segments[-1].lower() in _DISCOURSE):
        segments.pop()  # "General X, who attended the ceremony, said" / "Beijing, however, said": the subject
    if not segments:
        return None
    words = segments[-1].split()
    if len(words) > 8 or any(w.lower() in {"that", "if", "because", "when", "while"} for w in words):
        return None
    candidate = " ".join(words)
    for lead in ("and ", "but ", "also ", "meanwhile "):
        if candidate.lower().startswith(lead):
            candidate = candidate[len(lead):]
    candidate = re.sub(r"\s+(?:has|have|had|also|further|repeatedly|again|previously|once)$", "", candidate)
    if candidate.lower() in _DETERMINER_ONLY:
        return None
    if candidate.lower() in _PRONOUNS:
        return previous or candidate.lower()
    return candidate


# --- extraction -------------------------------------------------------------------------------------------------

def extract_claims(
    article_id: int,
    text: str,
    language: str | None = "en",
    *,
    score: Callable[[list[str]], list[float]] | None = None,
) -> list[Claim]:
    """Claims of one article, in order, with offsets such that ``text[c.start:c.end] == c.text``.

    A short one-paragraph record (a claim-database row, a tweet, a headline) keeps its claim even without final
    punctuation; inside longer articles such lines are headings and stay out.

    Args:
        article_id: id of the stored article.
        text: the stored article text.
        language: ISO 639-1 code (selects the sentence rules).
        score: check-worthiness scorer for a batch of sentences (default: none; the pipeline scores claims
            later, in large batches, from their embeddings).
    """
    candidates: list[tuple[int, Span]] = []
    whole_record = is_short_record(text)
    for idx, span in enumerate(sentence_spans(text, language)):
        if is_claim_sentence(text[span.start:span.end], whole_record=whole_record):
            candidates.append((idx, span))
    sentences = [text[s.start:s.end] for _, s in candidates]
    scores: list[float | None] = list(score(sentences)) if (score and sentences) else [None] * len(sentences)
    claims: list[Claim] = []
    previous: str | None = None
    for (idx, span), sentence, value in zip(candidates, sentences, scores):
        claimant, attribution = claimant_and_attribution(sentence, previous)
        if claimant not in (OUTLET, "unnamed source") and claimant.lower() not in _PRONOUNS:
            previous = claimant
        claims.append(Claim(article_id=article_id, idx=idx, start=span.start, end=span.end, text=sentence,
                            claimant=claimant, attribution=attribution,
                            checkworthy=None if value is None else float(value)))
    return claims
