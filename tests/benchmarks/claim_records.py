"""How many records that are themselves claims yield a claim, and do headings inside articles stay out?

Usage::

    python tests/benchmarks/claim_records.py [--dev ../shared/data/dev]

Record-shaped inputs (each record is one claim or a headline, as in claim databases, tweet exports and headline
lists) are read from the dev files; each record's text goes through claim extraction as a stored article would,
both as written and with its final punctuation removed (claim databases rarely end a row with a period). The
bundled CPEC corpus checks the other side: sentences of its articles that are headings or subscribe boxes, which
must stay out, against the labelled claim sentences, which must stay in.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from tracker.claims import extract_claims

ROOT = Path(__file__).resolve().parents[2]
FILES = {"match_corpus.jsonl": "fact-checked claims (CheckThat! 2020)",
         "clusters_headlines_dev.jsonl": "news headlines (FNC-1)",
         "clusters_claims_dev.jsonl": "claims and tweets (CheckThat! 2020)",
         "checkworthy_claimbuster_dev.jsonl": "debate sentences (ClaimBuster)"}


def rate(texts: list[str]) -> float:
    return sum(1 for t in texts if extract_claims(1, t, "en")) / max(len(texts), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dev", type=Path, default=ROOT.parent / "shared" / "data" / "dev")
    args = parser.parse_args()
    print(f"{'records':<45} {'n':>6} {'as written':>11} {'no final stop':>14}")
    for name, what in FILES.items():
        path = args.dev / name
        if not path.exists():
            continue
        texts = [str(json.loads(line)["text"]).strip() for line in path.open(encoding="utf-8") if line.strip()]
        texts = [t for t in texts if t and not t.endswith("?")]  # a question is not a claim, however short
        stripped = [re.sub(r"[.!]+[\"'”’)]*$", "", t) for t in texts]
        print(f"{what:<45} {len(texts):>6} {rate(texts):>11.1%} {rate(stripped):>14.1%}")
    labelled = {}
    for line in (ROOT / "datasets/cpec/labels/claims.jsonl").open(encoding="utf-8"):
        row = json.loads(line)
        labelled.setdefault(row["article"], set()).add(row["sentence"])
    kept = found = 0
    headings = []
    for part in sorted((ROOT / "datasets/cpec/src").glob("part*.jsonl")):
        for line in part.open(encoding="utf-8"):
            record = json.loads(line)
            claims = {c.text for c in extract_claims(1, record["text"], record.get("lang", "en"))}
            gold = labelled.get(record["id"], set())
            found += len(gold)
            kept += len(gold & claims)
            headings += [c for c in claims if not c.rstrip().endswith((".", "!", "۔", "。", '"', "”", "’", ")"))]
    print(f"CPEC corpus: labelled claim sentences extracted {kept} of {found} ({kept / max(found, 1):.1%}); "
          f"extracted lines without final punctuation (headings would show here): {len(headings)}")
    for line in headings[:5]:
        print(f"  {line[:100]!r}")


if __name__ == "__main__":
    main()
