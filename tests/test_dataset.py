"""Integrity of the bundled CPEC evaluation corpus (datasets/cpec): labels, counts, freshness, ingest round trip.

No model is loaded. The round trip ingests the whole corpus with tracker's own readers (about 10-60 s).
"""

from __future__ import annotations

import csv
import importlib.util
import json
import shutil
from collections import defaultdict
from pathlib import Path

import pytest

DATASET = Path(__file__).resolve().parents[1] / "datasets" / "cpec"


def _load_build():
    spec = importlib.util.spec_from_file_location("cpec_build", DATASET / "build.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


build = _load_build()


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def src_texts() -> dict[str, str]:
    """Article key -> text as written in src (the seed: its body after the dateline prefix)."""
    records, _ = build.load_records(DATASET / "src")
    texts = {r["id"]: r["text"] for r in records}
    texts["seed"] = build.parse_seed((DATASET / "corpus" / "seed" / build.SEED_NAME).read_bytes())["text"]
    return texts


@pytest.fixture(scope="module")
def labels() -> dict[str, list[dict]]:
    return {name: _jsonl(DATASET / "labels" / f"{name}.jsonl") for name in ("articles", "claims", "narratives")}


def test_every_label_points_to_a_real_article_and_sentence(labels, src_texts):
    articles = {a["key"]: a for a in labels["articles"]}
    assert len(articles) == len(labels["articles"]), "article keys repeat"
    assert set(articles) == set(src_texts)
    pairs = [(a["source"], a["title"]) for a in labels["articles"]]
    assert len(pairs) == len(set(pairs)), "(outlet, title) is not unique"
    urls = [a["url"] for a in labels["articles"] if a["url"]]
    assert len(urls) == len(set(urls)), "URLs repeat"
    narrative_ids = {n["id"] for n in labels["narratives"]}
    for a in labels["articles"]:
        assert (DATASET / "corpus" / a["file"]).is_file(), a
    for c in labels["claims"]:
        assert c["article"] in articles, c
        assert src_texts[c["article"]][c["start"]:c["end"]] == c["sentence"], c
        assert c["narrative"] in narrative_ids, c
        assert c["stance"] in {"favor", "against", "none"}, c
        assert c["attribution"] in {"assert", "report", "refute"}, c
        assert c["claimant"], c
    for a in labels["articles"]:
        if a["syndicated_from"]:
            assert a["syndicated_from"] in articles, a
            assert articles[a["syndicated_from"]]["source"] != a["source"], a


def test_counts(labels):
    articles = labels["articles"]
    assert len(articles) >= 300
    assert len({a["source"] for a in articles}) >= 12
    by_key = {a["key"]: a for a in articles}
    outlets_per_narrative: dict[str, set[str]] = defaultdict(set)
    for c in labels["claims"]:
        outlets_per_narrative[c["narrative"]].add(by_key[c["article"]]["source"])
    assert len(labels["narratives"]) >= 15
    assert len(outlets_per_narrative) >= 15
    thin = {n: len(o) for n, o in outlets_per_narrative.items() if len(o) < 4}
    assert not thin, f"narratives in fewer than 4 outlets: {thin}"
    stance_lines = (DATASET / "stance" / "target_stance_train.jsonl").read_text(encoding="utf-8").splitlines()
    assert len([line for line in stance_lines if line.strip()]) >= 400
    languages = {a["lang"] for a in articles}
    assert {"en", "ur", "zh"} <= languages
    for folder in build.FORMAT_DIRS:
        assert any((DATASET / "corpus" / folder).iterdir()), f"corpus/{folder} is empty"
    formats = {Path(a["file"]).parts[0] for a in articles}
    assert formats == set(build.FORMAT_DIRS)
    with open(DATASET / "sources.csv", encoding="utf-8", newline="") as handle:
        sources = list(csv.DictReader(handle))
    assert {row["name"] for row in sources} == {a["source"] for a in articles}
    assert all(len(row["country"]) == 2 and row["country"].isupper() for row in sources)


def _tree(root: Path) -> dict[str, bytes]:
    files = {}
    for folder in ("corpus", "labels"):
        for path in sorted((root / folder).rglob("*")):
            if path.is_file():
                files[path.relative_to(root).as_posix()] = path.read_bytes()
    for name in ("sources.csv", "STATS.md", "README.md"):
        if (root / name).is_file():
            files[name] = (root / name).read_bytes()
    return files


def test_built_corpus_is_up_to_date_with_src(tmp_path):
    shutil.copy(DATASET / "README.md", tmp_path / "README.md")  # so its generated tables are rebuilt too
    build.build(tmp_path, quiet=True)
    fresh, committed = _tree(tmp_path), _tree(DATASET)
    assert sorted(fresh) == sorted(committed), "file lists differ: run python datasets/cpec/build.py"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"out of date, run python datasets/cpec/build.py: {stale}"


def test_ingest_round_trip():
    result = build.check_ingest(DATASET, quiet=True)
    assert result["labels"] >= 300
    assert not result["errors"], result["errors"][:20]
    pairs = result["syndicated_pairs"]
    assert pairs and all(p[2] for p in pairs), pairs  # every syndicated copy is linked as a near-duplicate
    assert result["rejected"] == 0
    assert result["found"] == result["labels"]
