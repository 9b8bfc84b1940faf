"""Score a tracker store built from the CPEC corpus against the corpus ground truth (datasets/cpec/labels).

Usage::

    python tests/benchmarks/cpec_groundtruth.py --db STORE [--half report|tune|all] [--json OUT] [--build]

``--build`` first creates STORE from scratch by running the product pipeline through the CLI
(``tracker update ../shared/seeds datasets/cpec/corpus --sources datasets/cpec/sources.csv --db STORE``).

It prints, in order: provenance (claim offsets), article matching, claim extraction coverage, attribution and
claimant, narratives (B3, purity per gold narrative), target stance (claim and article level), narrative stance,
and stance over time for four outlets. Everything read from the store goes through the ``load_*`` functions; the
scoring functions are pure and take plain lists and dicts.
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LABELS = ROOT / "datasets" / "cpec" / "labels"
ATTRIBUTIONS = ["assert", "report", "refute"]
STANCES = ["favor", "against", "none"]
NARRATIVE_STANCES = ["agree", "disagree", "discuss", "unrelated"]
ATTRIBUTION_TO_NARRATIVE_STANCE = {"assert": "agree", "report": "discuss", "refute": "disagree"}
PERIODS = [("2015-2018", 2015, 2018), ("2019-2020", 2019, 2020), ("2021-2022", 2021, 2022),
           ("2023-2025", 2023, 2025)]
TIMELINE_OUTLETS = ["The Karachi Ledger", "Roznama Awaz", "The Atlantic Observer", "Meridian Policy Institute"]
UNCLUSTERED = -1
THEME_OFFSET = 1_000_000_000  # theme ids are shifted by this in the theme-level B3, to stay apart from narrative ids


# --- data -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StoredArticle:
    id: int
    source: str | None
    title: str | None
    published: str | None
    language: str | None
    text: str
    duplicate_of: int | None


@dataclass(frozen=True)
class StoredClaim:
    id: int
    article_id: int
    start: int
    end: int
    text: str
    claimant: str | None
    attribution: str | None


@dataclass
class Store:
    articles: dict[int, StoredArticle]
    claims: list[StoredClaim]
    narrative_of: dict[int, int]           # claim id -> active narrative id
    clustered: set[int]                    # claim ids the clusterer saw (claim_clusters)
    claim_stance: dict[int, str]           # claim id -> CPEC stance label
    article_stance: dict[int, str]         # article id -> CPEC stance label
    narrative_stance: dict[int, str]       # claim id -> narrative stance label (toward its narrative)
    theme_of: dict[int, int] = field(default_factory=dict)  # narrative id -> active theme id


@dataclass
class LabelSentence:
    """One labelled sentence (the label files have one line per sentence and narrative)."""
    article: str
    sentence: str
    start: int
    end: int
    narratives: list[str]
    stance: str
    attribution: str
    claimant: str


@dataclass
class SentenceMatch:
    label: LabelSentence
    article_id: int | None = None
    located: int | None = None             # start of the sentence in the stored text, None if not found
    offsets_equal: bool = False            # stored_text[start:end] == sentence with the label's own offsets
    overlapping: list[int] = field(default_factory=list)   # claim ids overlapping the span
    exact: int | None = None               # claim id with exactly the span
    best: int | None = None                # claim id used for scoring (exact, else largest overlap)


@dataclass(frozen=True)
class Scored:
    """A labelled sentence matched to the stored claim that is scored for it."""
    label: LabelSentence
    article_id: int
    best: int              # claim id


# --- loaders (all SQL and file reading lives here) ------------------------------------------------------------

def load_store(path: str) -> Store:
    """Read everything the evaluation needs from a tracker store (read-only)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        articles = {
            r[0]: StoredArticle(*r)
            for r in conn.execute(
                "SELECT a.id, s.name, a.title, a.published, a.language, a.text, a.duplicate_of "
                "FROM articles a LEFT JOIN sources s ON s.id = a.source_id")
        }
        claims = [StoredClaim(*r) for r in conn.execute(
            "SELECT id, article_id, start, end, text, claimant, attribution FROM claims ORDER BY id")]
        narrative_of = dict(conn.execute(
            "SELECT nc.claim_id, nc.narrative_id FROM narrative_claims nc "
            "JOIN narratives n ON n.id = nc.narrative_id WHERE n.status = 'active'").fetchall())
        clustered = {r[0] for r in conn.execute("SELECT claim_id FROM claim_clusters")}
        target = conn.execute("SELECT id FROM targets WHERE name = 'CPEC'").fetchone()
        target_id = target[0] if target else -1
        claim_stance = dict(conn.execute(
            "SELECT subject_id, label FROM stances WHERE subject = 'claim' AND target_id = ?", [target_id]))
        article_stance = dict(conn.execute(
            "SELECT subject_id, label FROM stances WHERE subject = 'article' AND target_id = ?", [target_id]))
        narrative_stance = dict(conn.execute(
            "SELECT ns.claim_id, ns.label FROM narrative_stances ns JOIN narrative_claims nc "
            "ON nc.claim_id = ns.claim_id AND nc.narrative_id = ns.narrative_id"))
        theme_of = {}
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'themes'").fetchone():
            theme_of = dict(conn.execute(
                "SELECT n.id, n.theme_id FROM narratives n JOIN themes t ON t.id = n.theme_id "
                "WHERE n.status = 'active' AND t.status = 'active'"))
    finally:
        conn.close()
    return Store(articles, claims, narrative_of, clustered, claim_stance, article_stance, narrative_stance,
                 theme_of)


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_labels(directory: Path, half: str = "all") -> tuple[list[dict[str, Any]], list[LabelSentence], int]:
    """Gold articles and labelled sentences (narratives of one sentence gathered; first label first), of one
    half of the labels (``tune``, ``report``) or ``all``.

    Returns:
        (articles, sentences, inconsistent): ``inconsistent`` counts sentences whose lines disagree on
        stance, attribution or claimant (the first line wins).
    """
    articles = load_jsonl(directory / "articles.jsonl")
    keep = {a["key"] for a in articles if half == "all" or a.get("split") == half}
    lines = [row for row in load_jsonl(directory / "claims.jsonl") if row["article"] in keep]
    return ([a for a in articles if a["key"] in keep], *group_label_lines(lines))


def build_store(path: Path) -> None:
    """Create ``path`` from scratch with the product pipeline, through the CLI."""
    if path.exists():
        raise SystemExit(f"{path} exists; --build makes a new store")
    command = ["tracker", "update", str(ROOT / "datasets/cpec/corpus"),
               "--sources", str(ROOT / "datasets/cpec/sources.csv"), "--db", str(path)]
    print("$", " ".join(command), flush=True)
    started = time.time()
    result = subprocess.run(command, cwd=ROOT)
    print(f"build: exit {result.returncode} in {time.time() - started:.0f}s", flush=True)
    if result.returncode not in (0, 1):  # 1 = some input record rejected; the rest is processed
        raise SystemExit(result.returncode)


# --- pure helpers ---------------------------------------------------------------------------------------------

def group_label_lines(lines: list[dict[str, Any]]) -> tuple[list[LabelSentence], int]:
    """One :class:`LabelSentence` per (article, start, end), narratives in file order."""
    grouped: dict[tuple[str, int, int], LabelSentence] = {}
    inconsistent: set[tuple[str, int, int]] = set()
    for line in lines:
        key = (line["article"], line["start"], line["end"])
        if key not in grouped:
            grouped[key] = LabelSentence(line["article"], line["sentence"], line["start"], line["end"],
                                         [line["narrative"]], line["stance"], line["attribution"],
                                         line["claimant"])
            continue
        seen = grouped[key]
        if line["narrative"] not in seen.narratives:
            seen.narratives.append(line["narrative"])
        fields = (line["stance"], line["attribution"], line["claimant"])
        if (seen.stance, seen.attribution, seen.claimant) != fields:
            inconsistent.add(key)
    return list(grouped.values()), len(inconsistent)


def provenance_violations(articles: dict[int, StoredArticle], claims: list[StoredClaim]) -> list[int]:
    """Ids of claims whose text is not ``articles.text[start:end]``."""
    return [c.id for c in claims
            if c.article_id not in articles or articles[c.article_id].text[c.start:c.end] != c.text]


def match_articles(gold: list[dict[str, Any]], stored: dict[int, StoredArticle]) -> dict[str, int]:
    """Gold article key -> stored article id, matched on (source name, title)."""
    index = {(a.source, a.title): a.id for a in stored.values()}
    return {g["key"]: index[(g["source"], g["title"])] for g in gold if (g["source"], g["title"]) in index}


def locate(text: str, sentence: str, hint: int) -> int | None:
    """Start of ``sentence`` in ``text``: at ``hint`` if it is there, else the occurrence nearest ``hint``."""
    if text[hint:hint + len(sentence)] == sentence:
        return hint
    found, position = [], text.find(sentence)
    while position >= 0:
        found.append(position)
        position = text.find(sentence, position + 1)
    return min(found, key=lambda p: abs(p - hint)) if found else None


def overlap(a_start: int, a_end: int, b_start: int, b_end: int) -> int:
    """Length of the overlap of two half-open spans."""
    return max(0, min(a_end, b_end) - max(a_start, b_start))


def match_sentence(label: LabelSentence, article: StoredArticle | None,
                   claims: list[StoredClaim]) -> SentenceMatch:
    """Find the stored claims of ``article`` (``claims`` are that article's) that cover a labelled sentence."""
    match = SentenceMatch(label)
    if article is None:
        return match
    match.article_id = article.id
    match.offsets_equal = article.text[label.start:label.end] == label.sentence
    match.located = locate(article.text, label.sentence, label.start)
    if match.located is None:
        return match
    start, end = match.located, match.located + len(label.sentence)
    scored = [(overlap(start, end, c.start, c.end), c) for c in claims]
    scored = [(size, c) for size, c in scored if size > 0]
    match.overlapping = [c.id for _, c in scored]
    exact = [c.id for _, c in scored if (c.start, c.end) == (start, end)]
    match.exact = exact[0] if exact else None
    if match.exact is not None:
        match.best = match.exact
    elif scored:
        match.best = max(scored, key=lambda item: item[0])[1].id
    return match


def classification_report(gold: list[str], pred: list[str], labels: list[str]) -> dict[str, Any]:
    """Per-label precision/recall/F1/support, macro-F1 over ``labels`` and accuracy.

    Predictions outside ``labels`` (e.g. "missing") count as wrong and add no column.
    """
    per: dict[str, dict[str, float]] = {}
    for label in labels:
        tp = sum(g == label and p == label for g, p in zip(gold, pred, strict=True))
        n_pred = sum(p == label for p in pred)
        n_gold = sum(g == label for g in gold)
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per[label] = {"precision": precision, "recall": recall, "f1": f1, "support": n_gold, "predicted": n_pred}
    present = [label for label in labels if per[label]["support"] or per[label]["predicted"]]
    macro = sum(per[label]["f1"] for label in present) / len(present) if present else 0.0
    accuracy = sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold) if gold else 0.0
    return {"n": len(gold), "per_label": per, "macro_f1": macro, "accuracy": accuracy}


def confusion(gold: list[str], pred: list[str]) -> dict[str, dict[str, int]]:
    """gold label -> predicted label -> count."""
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for g, p in zip(gold, pred, strict=True):
        table[g][p] += 1
    return {g: dict(row) for g, row in sorted(table.items())}


def normalise_claimant(name: str | None) -> str:
    """Lower case, whitespace collapsed, a leading "the " dropped."""
    text = " ".join((name or "").lower().split())
    return text[4:] if text.startswith("the ") else text


def claimant_matches(gold: str, pred: str | None) -> bool:
    """Claimant match, word by word: both "the outlet", or the words of one (normalised, articles dropped) are a
    run of consecutive words of the other ("Ahsan Iqbal" in "Planning Minister Ahsan Iqbal", but not "an" in
    "Pakistan", nor "China" in "Chinese officials")."""
    g, p = normalise_claimant(gold), normalise_claimant(pred)
    if g == "outlet" or p == "outlet":
        return g == p
    gw = [w for w in re.findall(r"\w+", g) if w not in ("the", "a", "an")]
    pw = [w for w in re.findall(r"\w+", p) if w not in ("the", "a", "an")]
    if not gw or not pw:
        return False
    short, long_ = (gw, pw) if len(gw) <= len(pw) else (pw, gw)
    return any(long_[i:i + len(short)] == short for i in range(len(long_) - len(short) + 1))


def purity_table(gold: list[str], pred: list[int]) -> list[dict[str, Any]]:
    """For each gold narrative: size, best predicted narrative (most members, unclustered excluded), its share."""
    by_gold: dict[str, Counter[int]] = defaultdict(Counter)
    for g, p in zip(gold, pred, strict=True):
        by_gold[g][p] += 1
    rows = []
    for g in sorted(by_gold):
        counts = by_gold[g]
        size = sum(counts.values())
        clustered = Counter({p: n for p, n in counts.items() if p != UNCLUSTERED})
        best, best_n = clustered.most_common(1)[0] if clustered else (None, 0)
        rows.append({"gold": g, "n": size, "best": best, "best_n": best_n, "share": best_n / size,
                     "n_predicted": len(clustered), "unclustered": counts.get(UNCLUSTERED, 0)})
    return rows


def bcubed_scores(gold: list[str], pred: list[int]) -> dict[str, float]:
    """B3 precision, recall, F1 via ``tracker.metrics.bcubed`` (-1 = singleton)."""
    from tracker.metrics import bcubed

    precision, recall, f1 = bcubed(gold, pred)
    return {"n": len(gold), "precision": precision, "recall": recall, "f1": f1}


def period_of(date: str | None) -> str | None:
    """The reporting period of an ISO date, or None."""
    if not date:
        return None
    year = int(date[:4])
    return next((name for name, first, last in PERIODS if first <= year <= last), None)


def stance_timeline(rows: list[tuple[str, str | None, str | None]]) -> dict[str, dict[str, dict[str, int]]]:
    """(outlet, date, stance) rows -> outlet -> period -> stance -> count."""
    table: dict[str, dict[str, dict[str, int]]] = {}
    for outlet, date, stance in rows:
        period = period_of(date)
        if period is None:
            continue
        cell = table.setdefault(outlet, {}).setdefault(period, {s: 0 for s in STANCES})
        key = stance if stance in STANCES else "missing"
        cell[key] = cell.get(key, 0) + 1
    return table


# --- evaluation -----------------------------------------------------------------------------------------------

def evaluate(store: Store, gold_articles: list[dict[str, Any]], sentences: list[LabelSentence],
             inconsistent: int) -> dict[str, Any]:
    """All figures, as one JSON-able dict."""
    out: dict[str, Any] = {}
    violations = provenance_violations(store.articles, store.claims)
    out["provenance"] = {"claims": len(store.claims), "violations": len(violations), "examples": violations[:10]}

    matched = match_articles(gold_articles, store.articles)
    gold_by_key = {g["key"]: g for g in gold_articles}
    missing = [g["key"] for g in gold_articles if g["key"] not in matched]
    wrong_date = [k for k, i in matched.items() if store.articles[i].published != gold_by_key[k]["date"]]
    out["articles"] = {"total": len(gold_articles), "found": len(matched), "missing": missing,
                       "wrong_date": wrong_date,
                       "missing_by_file": dict(Counter(gold_by_key[k]["file"].split("/")[0] for k in missing))}

    claims_by_article: dict[int, list[StoredClaim]] = defaultdict(list)
    for claim in store.claims:
        claims_by_article[claim.article_id].append(claim)
    claim_by_id = {c.id: c for c in store.claims}
    matches = []
    for label in sentences:
        article_id = matched.get(label.article, -1)
        article = store.articles.get(article_id)
        matches.append(match_sentence(label, article, claims_by_article.get(article_id, [])))
    out["extraction"] = extraction_figures(matches, gold_by_key, claim_by_id, inconsistent)

    scored = [Scored(m.label, m.article_id, m.best) for m in matches
              if m.best is not None and m.article_id is not None]
    out["attribution"] = attribution_figures(scored, claim_by_id)
    out["narratives"] = {
        "all": narrative_figures(scored, store),
        "en": narrative_figures([m for m in scored if store.articles[m.article_id].language == "en"], store),
    }
    # themes: a claim's group is its narrative's theme (offset to keep ids apart), else its narrative alone
    by_theme = replace(store, narrative_of={
        claim: THEME_OFFSET + store.theme_of[n] if n in store.theme_of else n
        for claim, n in store.narrative_of.items()})
    out["themes"] = {
        "all": narrative_figures(scored, by_theme),
        "en": narrative_figures([m for m in scored if store.articles[m.article_id].language == "en"], by_theme),
        "n_themes": len(set(store.theme_of.values())),
    }
    out["target_stance"] = target_stance_figures(scored, store, gold_articles, matched)
    out["narrative_stance"] = narrative_stance_figures(scored, store)
    out["timeline"] = timeline_figures(gold_articles, matched, store)
    return out


def extraction_figures(matches: list[SentenceMatch], gold_by_key: dict[str, dict[str, Any]],
                       claim_by_id: dict[int, StoredClaim], inconsistent: int) -> dict[str, Any]:
    """Coverage of labelled sentences by stored claims, with why sentences were missed."""
    in_store = [m for m in matches if m.article_id is not None]
    located = [m for m in in_store if m.located is not None]
    exact = [m for m in located if m.exact is not None]
    overlapped = [m for m in located if m.overlapping]
    split = [m for m in located if m.exact is None and len(m.overlapping) > 1]
    merged = [m for m in located if m.exact is None and len(m.overlapping) == 1]
    dropped = [m for m in located if not m.overlapping]
    offsets_bad = Counter(gold_by_key[m.label.article]["file"].split("/")[0] for m in in_store
                          if not m.offsets_equal)
    by_format: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for m in in_store:
        row = by_format[gold_by_key[m.label.article]["file"].split("/")[0]]
        row[0] += 1
        row[1] += m.exact is not None
        row[2] += bool(m.overlapping)
    return {
        "labelled_sentences": len(matches),
        "inconsistent_label_lines": inconsistent,
        "several_narratives": sum(len(m.label.narratives) > 1 for m in matches),
        "article_in_store": len(in_store),
        "located": len(located),
        "offsets_differ_by_format": dict(offsets_bad),
        "not_located": [(m.label.article, m.label.sentence[:80]) for m in in_store if m.located is None][:10],
        "n_not_located": len(in_store) - len(located),
        "exact": len(exact),
        "overlap": len(overlapped),
        "exact_rate": len(exact) / len(matches) if matches else 0.0,
        "overlap_rate": len(overlapped) / len(matches) if matches else 0.0,
        "split_over_several_claims": len(split),
        "partial_single_claim": len(merged),
        "no_claim": len(dropped),
        "by_format": {k: {"n": v[0], "exact": v[1], "overlap": v[2]} for k, v in sorted(by_format.items())},
        "examples_split": [(m.label.sentence, [claim_by_id[c].text for c in m.overlapping]) for m in split[:5]],
        "examples_partial": [(m.label.sentence, claim_by_id[m.overlapping[0]].text) for m in merged[:5]],
        "examples_no_claim": [(m.label.article, m.label.sentence) for m in dropped[:8]],
    }


def attribution_figures(scored: list[Scored], claim_by_id: dict[int, StoredClaim]) -> dict[str, Any]:
    """Attribution P/R/F1 and confusion; claimant accuracy (word by word) overall and per gold attribution."""
    gold = [m.label.attribution for m in scored]
    pred = [claim_by_id[m.best].attribution or "missing" for m in scored]
    claimant_ok = [claimant_matches(m.label.claimant, claim_by_id[m.best].claimant) for m in scored]
    per_class = {}
    for label in ATTRIBUTIONS:
        flags = [ok for ok, g in zip(claimant_ok, gold, strict=True) if g == label]
        per_class[label] = {"n": len(flags), "accuracy": sum(flags) / len(flags) if flags else 0.0}
    errors = Counter((g, p) for g, p in zip(gold, pred, strict=True) if g != p)
    examples: dict[str, list[dict[str, str]]] = {}
    for (g, p), _ in errors.most_common(3):
        examples[f"{g}->{p}"] = [
            {"sentence": m.label.sentence, "gold_claimant": m.label.claimant,
             "pred_claimant": claim_by_id[m.best].claimant or ""}
            for m in scored if m.label.attribution == g and claim_by_id[m.best].attribution == p][:5]
    claimant_errors = Counter(
        (normalise_claimant(m.label.claimant) == "outlet",
         normalise_claimant(claim_by_id[m.best].claimant) == "outlet")
        for m, ok in zip(scored, claimant_ok, strict=True) if not ok)
    wrong = [m for m, ok in zip(scored, claimant_ok, strict=True) if not ok]
    return {
        "report": classification_report(gold, pred, ATTRIBUTIONS),
        "confusion": confusion(gold, pred),
        "claimant": {"n": len(scored), "accuracy": sum(claimant_ok) / len(scored) if scored else 0.0,
                     "per_attribution": per_class,
                     "error_kinds": {f"gold_outlet={a} pred_outlet={b}": n
                                     for (a, b), n in claimant_errors.items()},
                     "examples": [{"sentence": m.label.sentence, "gold": m.label.claimant,
                                   "pred": claim_by_id[m.best].claimant or ""} for m in wrong[:8]]},
        "error_examples": examples,
    }


def predicted_narrative(claim_id: int, store: Store) -> int:
    """The active narrative of a claim, or -1 (unclustered / singleton / not clustered at all)."""
    return store.narrative_of.get(claim_id, UNCLUSTERED)


def narrative_figures(scored: list[Scored], store: Store) -> dict[str, Any]:
    """B3 and purity of predicted narratives against the first gold narrative of each sentence."""
    gold = [m.label.narratives[0] for m in scored]
    pred = [predicted_narrative(m.best, store) for m in scored]
    return {
        "bcubed": bcubed_scores(gold, pred),
        "several_labels": sum(len(m.label.narratives) > 1 for m in scored),
        "in_a_narrative": sum(p != UNCLUSTERED for p in pred),
        "not_clustered_at_all": sum(m.best not in store.clustered for m in scored),
        "predicted_narratives_covering": len({p for p in pred if p != UNCLUSTERED}),
        "purity": purity_table(gold, pred),
    }


def target_stance_figures(scored: list[Scored], store: Store, gold_articles: list[dict[str, Any]],
                          matched: dict[str, int]) -> dict[str, Any]:
    """CPEC stance at claim level (labelled sentences) and article level (articles.jsonl stance)."""
    claim_gold = [m.label.stance for m in scored]
    claim_pred = [store.claim_stance.get(m.best, "missing") for m in scored]
    found = [g for g in gold_articles if g["key"] in matched]
    article_gold = [g["stance"] for g in found]
    article_pred = [store.article_stance.get(matched[g["key"]], "missing") for g in found]
    languages = [store.articles[m.article_id].language or "?" for m in scored]
    by_language = {}
    for language in sorted(set(languages)):
        pairs = [(g, p) for g, p, lang in zip(claim_gold, claim_pred, languages, strict=True) if lang == language]
        rep = classification_report([g for g, _ in pairs], [p for _, p in pairs], STANCES)
        by_language[language] = {"n": rep["n"], "accuracy": rep["accuracy"], "macro_f1": rep["macro_f1"]}
    return {
        "claim": {**classification_report(claim_gold, claim_pred, STANCES),
                  "missing": claim_pred.count("missing"), "confusion": confusion(claim_gold, claim_pred),
                  "by_language": by_language},
        "article": {**classification_report(article_gold, article_pred, STANCES),
                    "missing": article_pred.count("missing"), "confusion": confusion(article_gold, article_pred)},
    }


def narrative_stance_gold(scored: list[Scored], store: Store) -> dict[int, str]:
    """Gold stance of each clustered matched claim toward the narrative it was put in.

    A predicted narrative stands for the gold narrative most of its labelled claims carry. A claim whose gold
    narratives include that one takes the stance its gold attribution gives (asserts: agree, reports: discuss,
    refutes: disagree); a claim the clusterer put into a narrative it does not belong to is ``unrelated`` to it.
    So the figure scores stance toward the narrative each claim actually sits in, not attribution a second time.
    """
    members: dict[int, list[str]] = defaultdict(list)
    for m in scored:
        if m.best in store.narrative_stance and m.best in store.narrative_of:
            members[store.narrative_of[m.best]].append(m.label.narratives[0])
    stands_for = {n: Counter(names).most_common(1)[0][0] for n, names in members.items()}
    gold = {}
    for m in scored:
        narrative = store.narrative_of.get(m.best)
        if m.best not in store.narrative_stance or narrative not in stands_for:
            continue
        belongs = stands_for[narrative] in m.label.narratives
        gold[m.best] = ATTRIBUTION_TO_NARRATIVE_STANCE[m.label.attribution] if belongs else "unrelated"
    return gold


def narrative_stance_figures(scored: list[Scored], store: Store) -> dict[str, Any]:
    """Narrative stance of clustered matched claims vs :func:`narrative_stance_gold`."""
    gold_of = narrative_stance_gold(scored, store)
    rows = [(gold_of[m.best], store.narrative_stance[m.best]) for m in scored if m.best in gold_of]
    gold, pred = [g for g, _ in rows], [p for _, p in rows]
    return {**classification_report(gold, pred, NARRATIVE_STANCES), "confusion": confusion(gold, pred)}


def timeline_figures(gold_articles: list[dict[str, Any]], matched: dict[str, int],
                     store: Store) -> dict[str, Any]:
    """Gold vs product article stance counts per outlet and period (product: matched articles only)."""
    chosen = [g for g in gold_articles if g["source"] in TIMELINE_OUTLETS]
    gold = stance_timeline([(g["source"], g["date"], g["stance"]) for g in chosen])
    pred = stance_timeline([(g["source"], store.articles[matched[g["key"]]].published,
                             store.article_stance.get(matched[g["key"]], "missing"))
                            for g in chosen if g["key"] in matched])
    return {"gold": gold, "product": pred}


# --- printing -------------------------------------------------------------------------------------------------

def _pct(x: float) -> str:
    return f"{100 * x:5.1f}%"


def print_report(report: dict[str, Any], p: Any = print) -> None:
    """Human-readable figures."""
    prov = report["provenance"]
    p(f"1. Provenance: {prov['claims']} claims, {prov['violations']} with text != articles.text[start:end]")
    art = report["articles"]
    p(f"2. Articles: {art['found']}/{art['total']} labelled articles found by (source, title); "
      f"missing by format {art['missing_by_file']} {art['missing'][:10]}; stored date != label date: "
      f"{len(art['wrong_date'])} {art['wrong_date'][:10]}")
    ex = report["extraction"]
    p(f"3. Claim extraction: {ex['labelled_sentences']} labelled sentences "
      f"({ex['several_narratives']} with several "
      f"narratives, {ex['inconsistent_label_lines']} with inconsistent label lines); article in store "
      f"{ex['article_in_store']}, located in stored text {ex['located']} (not located {ex['n_not_located']}); "
      f"label offsets differ from stored text by format: {ex['offsets_differ_by_format']}")
    p(f"   exact {ex['exact']} ({_pct(ex['exact_rate'])}), overlap {ex['overlap']} ({_pct(ex['overlap_rate'])}); "
      f"split over several claims {ex['split_over_several_claims']}, single partial claim "
      f"{ex['partial_single_claim']}, no claim {ex['no_claim']}")
    for fmt, row in ex["by_format"].items():
        p(f"     {fmt:6} n={row['n']:4} exact={row['exact']:4} overlap={row['overlap']:4}")
    for sentence, parts in ex["examples_split"]:
        p(f"   split: {sentence!r} -> {parts!r}")
    for sentence, claim in ex["examples_partial"]:
        p(f"   partial: {sentence!r} -> {claim!r}")
    for key, sentence in ex["examples_no_claim"]:
        p(f"   no claim [{key}]: {sentence!r}")
    for key, sentence in ex["not_located"]:
        p(f"   not located [{key}]: {sentence!r}")

    at = report["attribution"]
    _print_classes("4. Attribution", at["report"], ATTRIBUTIONS, p)
    _print_confusion(at["confusion"], p)
    cl = at["claimant"]
    p(f"   claimant accuracy (word by word) {_pct(cl['accuracy'])} over {cl['n']}; per gold attribution: "
      + ", ".join(f"{k} {_pct(v['accuracy'])} (n={v['n']})" for k, v in cl["per_attribution"].items()))
    p(f"   claimant error kinds: {cl['error_kinds']}")
    for e in cl["examples"]:
        p(f"     claimant gold={e['gold']!r} pred={e['pred']!r}: {e['sentence']!r}")
    for kind, rows in at["error_examples"].items():
        p(f"   attribution error {kind}:")
        for e in rows:
            p(f"     [{e['gold_claimant']!r} / pred {e['pred_claimant']!r}] {e['sentence']!r}")

    for scope, nar in report["themes"].items():
        if scope == "n_themes":
            continue
        b = nar["bcubed"]
        p(f"5. Themes ({scope}; {report['themes']['n_themes']} themes, a narrative without a theme counts alone): "
          f"n={b['n']} B3 P={b['precision']:.3f} R={b['recall']:.3f} F1={b['f1']:.3f}")
        p("   gold   n      best-theme  share  #pred  unclustered")
        for row in nar["purity"]:
            p(f"   {row['gold']} {row['n']:4}  {_theme_name(row['best']):>14}  {_pct(row['share'])} "
              f"{row['n_predicted']:5}  {row['unclustered']:5}")
    for scope, nar in report["narratives"].items():
        b = nar["bcubed"]
        p(f"5. Narratives ({scope}): n={b['n']} B3 P={b['precision']:.3f} R={b['recall']:.3f} F1={b['f1']:.3f}; "
          f"in a narrative {nar['in_a_narrative']}, never clustered {nar['not_clustered_at_all']}, "
          f"several gold labels {nar['several_labels']}, predicted narratives covering "
          f"{nar['predicted_narratives_covering']}")
        p("   gold   n  best-narrative  share  #pred  unclustered")
        for row in nar["purity"]:
            p(f"   {row['gold']} {row['n']:4}  {str(row['best']):>14}  {_pct(row['share'])} {row['n_predicted']:5}"
              f"  {row['unclustered']:5}")

    ts = report["target_stance"]
    _print_classes(f"6. Target stance, claim level (missing {ts['claim']['missing']})", ts["claim"], STANCES, p)
    _print_confusion(ts["claim"]["confusion"], p)
    p("   by article language: " + ", ".join(
        f"{k} n={v['n']} acc {_pct(v['accuracy'])} macro-F1 {v['macro_f1']:.3f}"
        for k, v in ts["claim"]["by_language"].items()))
    _print_classes(f"6. Target stance, article level (missing {ts['article']['missing']})", ts["article"],
                   STANCES, p)
    _print_confusion(ts["article"]["confusion"], p)
    ns = report["narrative_stance"]
    _print_classes("7. Narrative stance (toward the narrative each claim sits in; unrelated where it does not "
                   "belong)", ns, ["agree", "discuss", "disagree", "unrelated"], p)
    _print_confusion(ns["confusion"], p)

    tl = report["timeline"]
    p("8. Stance over time: gold f/a/n | product f/a/n")
    for outlet in TIMELINE_OUTLETS:
        p(f"   {outlet}")
        for period, *_ in PERIODS:
            g = tl["gold"].get(outlet, {}).get(period)
            q = tl["product"].get(outlet, {}).get(period)
            p(f"     {period}: gold {_counts(g):>9} | product {_counts(q)}")


def _theme_name(group: Any) -> str:
    return f"theme {group - THEME_OFFSET}" if isinstance(group, int) and group >= THEME_OFFSET else str(group)


def _counts(cell: dict[str, int] | None) -> str:
    """favor/against/none counts of a timeline cell, with missing product stances noted."""
    if cell is None:
        return "-"
    text = "/".join(str(cell.get(s, 0)) for s in STANCES)
    return text + (f" (+{cell['missing']} missing)" if cell.get("missing") else "")


def _print_classes(title: str, rep: dict[str, Any], labels: list[str], p: Any) -> None:
    p(f"{title}: n={rep['n']} accuracy {_pct(rep['accuracy'])} macro-F1 {rep['macro_f1']:.3f}")
    for label in labels:
        r = rep["per_label"][label]
        p(f"   {label:9} P={r['precision']:.3f} R={r['recall']:.3f} F1={r['f1']:.3f} support={r['support']} "
          f"predicted={r['predicted']}")


def _print_confusion(table: dict[str, dict[str, int]], p: Any) -> None:
    p("   confusion (gold -> predicted): " + "; ".join(
        f"{g}: " + ", ".join(f"{k}={v}" for k, v in sorted(row.items())) for g, row in table.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, type=Path, help="tracker store built from datasets/cpec/corpus")
    parser.add_argument("--json", type=Path, help="also write all figures to this JSON file")
    parser.add_argument("--build", action="store_true", help="build the store first with 'tracker update'")
    parser.add_argument("--labels", type=Path, default=LABELS, help="label folder (default: the corpus labels)")
    parser.add_argument("--half", choices=["all", "tune", "report"], default="report",
                        help="which half of the labels to score (rules are chosen on tune; figures reported on "
                             "report; default: report)")
    args = parser.parse_args(argv)
    if args.build:
        build_store(args.db)
    if not args.db.exists():
        parser.error(f"{args.db}: no such store")
    started = time.time()
    gold_articles, sentences, inconsistent = load_labels(args.labels, args.half)
    print(f"labels: the {args.half} half" if args.half != "all" else "labels: both halves")
    report = evaluate(load_store(str(args.db)), gold_articles, sentences, inconsistent)
    print_report(report)
    print(f"(scored in {time.time() - started:.1f}s)")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
