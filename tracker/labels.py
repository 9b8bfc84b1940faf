"""Labels that read as claims: a narrative's central claim, shortened, instead of a list of keywords.

:func:`claim_label` strips what frames a claim (datelines, "X said that", "according to X", trailing attribution,
quotes around the whole claim, URLs, hashtags and tweet trailers) and cuts a long sentence at its strongest clause
boundary. :func:`label_source` picks, among a narrative's most central members, the one that makes the best
label (no leading pronoun, no cut needed, check-worthy). Pure functions, deterministic, English rules; other
scripts are only trimmed.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

ELLIPSIS = "\u2026"
_QUOTES = "\"'\u201c\u201d\u2018\u2019\u00ab\u00bb"
_OPEN_CLOSE = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019", "\u00ab": "\u00bb"}

_URL = re.compile(r"(?:https?://|www\.)\S+|\bpic\.twitter\.com/\S+|\b[a-z0-9-]+\.(?:com|org|net|co|ly)/\S*", re.I)
# "— Name (@handle) May 6, 2019" at the end of an embedded tweet
_TWEET_TRAILER = re.compile(
    r"\s*[\u2014\u2013-]+\s*[^\u2014\u2013]{0,80}?\(@\w+\)\s*(?:[A-Z][a-z]+\.? \d{1,2}, \d{4})?\s*$")
_VIA = re.compile(r"\s+via\s+@\w+\s*$", re.I)
_TRAILING_TAGS = re.compile(r"(?:\s*[#@][\w.]+)+\s*$")
_LEADING_MENTIONS = re.compile(r"^(?:[@#][\w.]+[\s:,\u2013\u2014-]*)+")
_EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u200d]")
# "ISLAMABAD:", "KARACHI, Oct 30 -", "ISLAMABAD, April 22:" datelines
_DATELINE = re.compile(
    r"^[A-Z][A-Z.'\- ]{2,30}(?:\s*\([A-Za-z ]+\))?(?:,\s*[A-Z][a-z]+(?: [A-Z][a-z]+)?)?"
    r"(?:,\s*[A-Z][a-z]{2,9}\.? \d{1,2})?(?:\s*\([A-Za-z ]+\))?\s*[:\u2013\u2014-]\s+")
# "REPORT:", "CLAIM:", "Watch:", "GOP Rep:", "Second, affordability:" (a one- or two-word tag and a colon)
_TAG = re.compile(r"^#?[\w'\u2019.-]+(?: [\w'\u2019.-]+)?:\s+(?=\S)")
_DISCOURSE = re.compile(
    r"^(?:however|but|and|so|yet|still|meanwhile|moreover|furthermore|indeed|in fact|instead|also|now|thus|"
    r"therefore|besides|nonetheless|nevertheless|separately|first|second|third|fourth|finally|lastly|again|"
    r"additionally|in addition|at the same time|on the other hand|for example|for instance|of course|after all|"
    r"in other words|ultimately|crucially|notably|importantly|overall|well|then|similarly|likewise|in short|"
    r"in turn|by contrast|in contrast|even so|as a result|to be sure|put simply|simply put|in sum|"
    r"in the end|to that end|on top of that|what is more|in reality|actually|frankly|clearly|obviously)\b[,:]?\s+",
    re.I)
_REPORT_VERBS = (
    r"said|says|say|told|tells|added|adds|claimed|claims|claim|warned|warns|insisted|insists|argued|argues|"
    r"noted|notes|stated|states|announced|announces|reiterated|reiterates|believes|believe|believed|alleged|"
    r"alleges|maintained|maintains|asserted|asserts|stressed|stresses|emphasised|emphasized|explained|"
    r"explains|acknowledged|acknowledges|admitted|admits|confirmed|confirms|denied|denies|reported|reports|"
    r"wrote|writes|suggested|suggests|predicted|predicts|thinks|think|thought|agreed|agree|agrees|"
    r"pointed out|points out|contended|contends|cautioned|cautions|observed|observes|conceded|concedes|"
    r"recalled|recalls|estimated|estimates|revealed|reveals|showed|shows|found|finds|concluded|concludes|"
    r"assured|assures|complained|complains|countered|counters|replied|replies|declared|declares|"
    r"told reporters|told journalists")
_AUX = r"(?:has|have|had|was|were|is|are|has been|have been|had been|would have|will have)"
_ADJUNCT = (r"(?:\s+(?:on|last|this|in|at|during|after|before|outside|inside|to|from|by|with|over|earlier|late|"
            r"recently|repeatedly|publicly|privately|separately|again|also|previously|today|yesterday)"
            r"(?:\s+[\w'\u2019.-]+){0,6}?)?")
# frame with an explicit "that": up to 20 words of subject, a reporting verb, an adjunct, then "that"
_FRAME_THAT = re.compile(
    rf"^(?P<subj>(?:[^\s\"\u201c\u201d]+\s+){{0,20}}?)(?:{_AUX}\s+)?(?:been\s+)?(?:{_REPORT_VERBS}|"
    rf"told(?:\s+(?:the\s+)?[\w'\u2019]+){{0,2}}?)"
    rf"{_ADJUNCT},?\s+that\s+(?P<rest>.+)$", re.I | re.S)
# frame without "that" ("Khan said China had ..."): short subject, said/says, clause with a finite auxiliary
_FRAME_SAID = re.compile(
    rf"^(?P<subj>(?:[^\s\"\u201c\u201d,]+\s+){{1,8}}?)(?:{_AUX}\s+)?(?:said|says|say|told reporters|"
    rf"told journalists|added|warned|insisted|argued|believes|claimed|stressed|noted)"
    rf"(?:\s+(?:on|last|this|in|at)\s+[\w'\u2019]+)?,?\s+(?P<rest>(?:[\w'\u2019-]+\s+){{0,7}}?"
    r"(?:[a-z]{3,}ed|is|are|was|were|will|would|had|has|have|can|could|should|must|may|might|did|does|do|won't|"
    r"wouldn't|can't|isn't|aren't|wasn't|weren't|hasn't|haven't|didn't|doesn't|don't|needs|need)\b.+)$",
    re.I | re.S)
_ACCORDING_LEAD = re.compile(r"^according to [^,]{2,80},\s+", re.I)
_ACCORDING_TAIL = re.compile(r",?\s+according to [^,;]{2,80}[.!]?\s*$", re.I)
# "..., officials said." / "..., the ministry said on Tuesday." / "..., he told reporters."
_SAID_TAIL = re.compile(
    rf",?\s+(?:(?:[\w'\u2019.-]+\s+){{0,8}}?(?:{_AUX}\s+)?(?:said|says|say|claims|claim|told [\w ]{{1,30}}|"
    rf"added|warned|claimed|stated|noted|reported|announced|insisted|argued|wrote|according to [^,;]{{1,60}})"
    r"|(?:said|says|added|wrote|warned|noted)\s+(?:[\w'\u2019.-]+\s+){0,8}?[\w'\u2019.-]+)"
    r"(?:\s+(?:on|last|this|in|at|during|after)\s+[\w'\u2019, -]{1,40})?\s*[.!]?\s*$", re.I)
# whole words one of which _SAID_TAIL needs, and the "that" _FRAME_THAT needs: tested first, as these are cheap and
# the patterns are not (labels are made for thousands of narratives on each update)
_SAID_HINT = re.compile(r"\b(?:said|says|say|claims|claim|claimed|told|added|warned|stated|noted|reported|announced|"
                        r"insisted|argued|wrote|according)\b", re.I)
_THAT = re.compile(r"\sthat\s", re.I)
# '"... music." – Samuel L. Jackson': a closing quote or stop, a dash and a short capitalised name
_DASH_SPEAKER = re.compile(r"([.!?\"\u201d\u2019])\s*[\u2013\u2014-]+\s*(?:[A-Z][\w.'\u2019-]*\s*){1,4}$")
_LEAD_PARTICIPLE = re.compile(
    r"^(?:speaking|writing|briefing|addressing|talking|testifying|responding|asked|interviewed)\b[^,]{2,120},\s+",
    re.I)
_LEAD_IN = re.compile(
    r"^in (?:a|an|his|her|their|its)\s+(?:[\w'-]+\s+){0,3}?(?:statement|interview|speech|post|tweet|letter|"
    r"report|briefing|op-ed|column|editorial|note|message|address|press release)\b[^,]{0,80},\s+", re.I)
_PAREN = re.compile(r"\s*\([^()]{1,120}\)")
_APPOSITIVE = re.compile(r",\s+(?:including|who|whose|which|a former|an? [\w-]+ who|such as)\b[^,;]{2,120},(?=\s)")
_MID_ATTRIBUTION = re.compile(
    r",\s+(?:according to [^,]{2,80}|(?:[\w'\u2019.-]+\s+){0,5}(?:said|say|says)(?:\s+on\s+\w+)?),\s+", re.I)
# where a long label may be cut, strongest first: sentence end, semicolon, colon, dashes, comma + connective,
# comma, connective
_BOUNDARIES = [r"(?:(?<=[a-z]{3})|(?<=[0-9%)]))[.!?](?=\s+[\"\u201c\u2018']?[A-Z0-9])", r";\s", r":\s",
               r"\s[\u2014\u2013]\s", r"\s-\s", r",\s+(?:but|while|whereas|although|though|which|"
               r"as|and|because|since|after|before|when|where|so|with|adding|saying)\b", r",\s", r"\s(?:and|but|"
               r"because|while|although|though|after|before|when|as|so that|since|unless|if|whereas|which|"
               r"that|who)\s"]
# bonus (in characters) of each boundary kind: a strong boundary wins unless a weaker one keeps much more text
_STRENGTH = [30, 25, 20, 20, 20, 12, 6, 0]
_WEAK = {5, 6, 7}  # comma and conjunction cuts are taken only when they keep most of the room
_DANGLING = re.compile(
    r"(?:\s+(?:the|a|an|of|to|in|on|at|by|for|with|and|or|but|that|which|who|as|from|into|its|their|his|her|"
    r"this|these|those|is|are|was|were|be|been|will|would|has|have|had|than|about|over|under|between))+$",
    re.I)


def _is_latin(text: str) -> bool:
    if text.isascii():
        return True
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return True
    latin = sum(1 for c in letters if "LATIN" in unicodedata.name(c, ""))
    return latin >= 0.5 * len(letters)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _unquote(text: str) -> str:
    """Drop quotes wrapping the whole text, and a lone unmatched quote at either end."""
    text = text.strip()
    for _ in range(2):
        if len(text) >= 2 and text[0] in _OPEN_CLOSE and text[-1] == _OPEN_CLOSE[text[0]] and \
                text.count(text[0]) + (text.count(text[-1]) if text[-1] != text[0] else 0) <= 2 + (text[0] == text[-1]):
            text = text[1:-1].strip()
        trailing = re.match(r"^(.*?)([\"\u201d\u2019])([.,;:!?]*)$", text, re.S)
        if len(text) >= 2 and text[0] in _OPEN_CLOSE and text[-1] in _QUOTES + ".,;:!?" and trailing \
                and trailing.group(3) and trailing.group(2) in (_OPEN_CLOSE[text[0]], '"'):
            inner = trailing.group(1)[1:]
            if not any(q in inner for q in _QUOTES.replace("'", "").replace("\u2019", "")):
                text = (inner + trailing.group(3)).strip()
    for quote in ("\"", "\u201c", "\u201d"):
        if text.count(quote) == 1 and (text.startswith(quote) or text.endswith(quote)):
            text = text.strip(quote).strip()
    if text.count("\u201c") == 1 and text.count("\u201d") == 0:
        text = text.replace("\u201c", "")
    if text.count("\u201d") == 1 and text.count("\u201c") == 0:
        text = text.replace("\u201d", "")
    return text


def _strip_frames(text: str) -> str:
    before = None
    while before != text:
        before = text
        text = _DATELINE.sub("", text)
        text = _LEADING_MENTIONS.sub("", text)
        tag = _TAG.match(text)
        if tag and len(text[tag.end():].split()) >= 4 and not re.match(r"^\d", text):
            text = text[tag.end():]
        text = _DISCOURSE.sub("", text)
        text = _ACCORDING_LEAD.sub("", text)
        text = _LEAD_IN.sub("", text)
        text = _LEAD_PARTICIPLE.sub("", text)
        for frame in (_FRAME_THAT, _FRAME_SAID):
            if frame is _FRAME_THAT and not _THAT.search(text):
                continue  # cannot match: a quick test spares the costly pattern
            m = frame.match(text)
            if m and len(m.group("rest").split()) >= 3 and not _has_open_quote(m.group("subj")):
                text = m.group("rest")
                break
        text = _unquote(text)
    return text


def _has_open_quote(text: str) -> bool:
    return text.count('"') % 2 == 1 or text.count("\u201c") > text.count("\u201d")


def _cut_tail(pattern: re.Pattern[str], text: str, window: int = 300) -> str:
    """``pattern.sub("", text)`` for a pattern anchored at the end that starts with a comma or a space: only the
    last ``window`` characters are searched (a trailing attribution is never longer), which keeps a long sentence
    from being tried at every one of its positions."""
    found = pattern.search(text, max(0, len(text) - window))
    return text[:found.start()] + text[found.end():] if found else text


def _strip_tail(text: str) -> str:
    before = None
    while before != text:
        before = text
        if "/" in text or "www." in text.lower():  # every _URL alternative has one
            text = _URL.sub("", text).strip()
        if "(@" in text:
            text = _TWEET_TRAILER.sub("", text).strip()
        text = _VIA.sub("", text).strip()
        tags = _TRAILING_TAGS.search(text) if "#" in text or "@" in text else None
        if tags:
            head = text[:tags.start()].rstrip()
            if not head or re.search(r"[.!?\u2026\"\u201d)\]]$", head) or tags.group(0).strip().startswith("@"):
                text = head
            else:  # hashtags that finish the sentence are words: keep the first, without '#'
                text = head + " " + tags.group(0).split()[0].lstrip("#@").split("#")[0]
        text = _DASH_SPEAKER.sub(r"\1", text).strip()
        cut = _cut_tail(_ACCORDING_TAIL, text)
        if len(cut.split()) >= 4:
            text = cut
        cut = _cut_tail(_SAID_TAIL, text) if _SAID_HINT.search(text) else text
        if cut != text and len(cut.split()) >= 4 and re.search(r"[,\"\u201d\u2019]\s*$", text[:len(cut) + 2]):
            text = cut
    return text.strip()


def _shorten(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    # lighter first: drop parentheses and appositive inserts
    for pattern in (_PAREN, _APPOSITIVE):
        lighter = _squash(pattern.sub("", text))
        if len(lighter.split()) >= 4:
            text = lighter
        if len(text) <= max_chars:
            return text
    limit = max_chars - 1
    floor = max(int(0.4 * max_chars), 20)
    best, best_score = None, -1.0
    for rank, (strength, boundary) in enumerate(zip(_STRENGTH, _BOUNDARIES, strict=True)):
        low = max(floor, int(0.55 * limit)) if rank in _WEAK else floor
        for m in re.finditer(boundary, text, re.I if rank else 0):
            if low <= m.start() <= limit and m.start() + strength > best_score:
                best, best_score = m.start(), m.start() + strength
    if best is not None:
        return _tidy_cut(text[:best]) + ELLIPSIS
    space = text.rfind(" ", 0, limit)
    return _tidy_cut(text[:space if space >= floor else limit]) + ELLIPSIS


def _tidy_cut(text: str) -> str:
    text = text.rstrip(" ,;:-\u2013\u2014")
    text = _cut_tail(_DANGLING, text).rstrip(" ,;:-\u2013\u2014")
    # close nothing half-open: drop an unmatched opening quote
    for open_q, close_q in (("\u201c", "\u201d"), ("\u2018", "\u2019")):
        if text.count(open_q) > text.count(close_q):
            text = text.replace(open_q, "", 1) if text.startswith(open_q) else text + close_q
    if text.count('"') % 2:
        text = text + '"'
    return text


@functools.lru_cache(maxsize=1 << 16)  # describing asks for the same central claims again and again
def claim_label(text: str, max_chars: int = 110, *, keep_frames: bool = False) -> str:
    """A short label that reads as the claim itself, made from a narrative's central claim.

    Removes, in this order: URLs, embedded-tweet trailers ("— Name (@handle) May 6, 2019"), trailing hashtags and
    mentions, emoji; datelines ("ISLAMABAD, Oct 30 -") and short tags ("REPORT:", "GOP Rep:"); leading discourse
    words ("However,", "Meanwhile"); reporting frames ("X said (on Monday) that", "According to X,", "We were told
    that", "In a statement, ..."); trailing and inserted attribution ("..., officials said.", ", according to
    three people familiar with the talks,"); quotes around the whole claim; a final full stop. A label still longer
    than ``max_chars`` loses parentheses and appositives ("..., who took office earlier this month, ...") and is
    then cut at the best clause boundary (sentence end, semicolon, colon, dash, comma, connective) that keeps at
    least 40% of the room, else at a word, and ends with an ellipsis. Text mostly in a non-Latin script is only
    trimmed (and cut with an ellipsis when too long). Never returns an empty string.

    The rules are deterministic and English-specific; when a frame cannot be recognised safely, the text is kept.
    ``keep_frames`` keeps who said it (a claim-database row "X said Y" is a claim about what X said): only links,
    tweet trailers and the final stop go, and the cut.

    >>> claim_label("Donald Trump said veterans with PTSD are weak", keep_frames=True)
    'Donald Trump said veterans with PTSD are weak'
    >>> claim_label("Officials from both countries agreed that the second phase would focus on agriculture.")
    'The second phase would focus on agriculture'
    >>> claim_label("KARACHI: The Baloch Liberation Army claimed responsibility for the attack, police said.")
    'The Baloch Liberation Army claimed responsibility for the attack'
    >>> claim_label('According to the statement, the two sides "rejected disinformation campaigns".')
    'The two sides "rejected disinformation campaigns"'
    >>> claim_label("Military officials say the army has raised a special division of around 15,000 soldiers.")
    'The army has raised a special division of around 15,000 soldiers'
    >>> claim_label("Hurricane Dorian washed up bricks of cocaine on Florida's coast pic.twitter.com/ApEtNv "
    ...             "— NowThis (@nowthisnews) September 10, 2019")
    "Hurricane Dorian washed up bricks of cocaine on Florida's coast"
    >>> claim_label("GOP Rep: 'At Least Ten ISIS Fighters Have Been Caught Coming Across The Mexican Border'")
    'At Least Ten ISIS Fighters Have Been Caught Coming Across The Mexican Border'
    >>> claim_label("CPEC is a debt trap")
    'CPEC is a debt trap'
    >>> claim_label("Pakistan now owes China more than any other bilateral lender, and repayments on corridor "
    ...             "loans will consume a rising share of its scarce dollars in the coming years.", 90)
    'Pakistan now owes China more than any other bilateral lender…'
    >>> claim_label("  سی پیک پاکستان کی معیشت کے لیے گیم چینجر ہے  ")
    'سی پیک پاکستان کی معیشت کے لیے گیم چینجر ہے'
    >>> claim_label("")
    '(empty)'
    """
    original = _squash(str(text or ""))
    if not re.search(r"\w", original):
        return original or "(empty)"
    if not _is_latin(original):
        if len(original) <= max_chars:
            return original
        cut = max(original.rfind(ch, 0, max_chars - 1) for ch in " ,\u3001\uff0c\u060c\u061b\u3002\u06d4")
        return original[:cut if cut >= max_chars // 2 else max_chars - 1].rstrip(" ,\u3001\uff0c\u060c") + ELLIPSIS
    if original.startswith('"') and original.endswith('"') and '""' in original:
        original = original[1:-1].replace('""', '"')  # a CSV field with its quotes doubled
    if keep_frames:
        kept = _squash(_TWEET_TRAILER.sub("", _URL.sub("", _EMOJI.sub("", original)))).rstrip(" .") or original
        return _shorten(kept, max_chars)
    text = _EMOJI.sub("", original)
    text = _squash(_strip_tail(_squash(text)))
    text = _squash(_strip_frames(text))
    text = _squash(_strip_tail(text))
    text = _MID_ATTRIBUTION.sub(" ", text)
    text = _unquote(text).strip(" ,;:-\u2013\u2014")
    if len(text.split()) < 2 or len(re.sub(r"\W", "", text)) < 3:
        fallback = _squash(_URL.sub("", original))
        return _shorten(fallback if len(re.sub(r"\W", "", fallback)) >= 3 else original, max_chars)
    text = text.rstrip()
    if text.endswith(".") and not text.endswith("..") and not re.search(r"\b[A-Z]\.$|\b(?:U\.S|U\.K|etc)\.$", text):
        text = text[:-1]
    if text and text[0].islower():
        text = text[0].upper() + text[1:]
    text = _shorten(text, max_chars)
    if len(text) > max_chars:  # a closing quote added by the cut can overrun by a character or two
        text = text[:max_chars - 1].rstrip() + ELLIPSIS
    return text if text.strip() else original[:max_chars]


_PRONOUN_START = re.compile(r"^\W*(he|she|it|they|this|that|these|those|we|i|you|his|her|its|their|such|there)\b",
                            re.IGNORECASE)


@dataclass(frozen=True)
class LabelCandidate:
    """A narrative member that could give the narrative its label."""

    claim_id: int
    text: str
    centrality: float
    checkworthy: float | None = None
    whole_record: bool = False


def label_source(candidates: Sequence[LabelCandidate], *, margin: float = 0.05, pool: int = 5,
                 max_chars: int = 110) -> LabelCandidate | None:
    """The member whose sentence makes the best label among the ``pool`` most central ones within ``margin`` of
    the most central: one that does not open with a pronoun ("It will...", "This is..."), needs no cut, and is
    the most check-worthy; the most central one when none is better.

    >>> best = label_source([LabelCandidate(1, "It will never be repaid.", 0.91, 0.9),
    ...                      LabelCandidate(2, "CPEC loans will never be repaid.", 0.89, 0.8)])
    >>> best.claim_id
    2
    """
    if not candidates:
        return None
    ranked = sorted(candidates, key=lambda c: -c.centrality)
    top = ranked[0].centrality
    near = [c for c in ranked[:pool] if c.centrality >= top - margin]

    def quality(c: LabelCandidate) -> tuple[int, int, float, float]:
        label = claim_label(c.text, max_chars, keep_frames=c.whole_record)
        return (int(_PRONOUN_START.match(label) is None), int(not label.endswith(ELLIPSIS)),
                c.checkworthy if c.checkworthy is not None else 0.5, c.centrality)

    return max(near, key=quality)

