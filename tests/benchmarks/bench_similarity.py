"""How far can the similarity itself go? Full-matrix average linkage on the dev cluster files, per similarity mix.

This is the ceiling the incremental clusterer works under: for each mix of sentence-embedding cosines and TF-IDF
cosines (character n-grams and words, fitted on the file), it clusters each dev file with scikit-learn's
average-linkage agglomerative clustering over the full similarity matrix and reports the B3-F1 at the best
threshold shared by both files (one setting for both, as the issue asks), plus each file's own best.

    python tests/benchmarks/bench_similarity.py                       # MiniLM and e5 mixes
    python tests/benchmarks/bench_similarity.py --model mpnet=/path/to/all-mpnet-base-v2 --mix "mpnet:0.7,char:0.3"

``--model NAME=PATH`` adds a sentence-transformers model loaded from a folder. Embeddings are cached in --cache.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer

from tracker.cluster import clean_text
from tracker.metrics import bcubed

DEV = Path(__file__).resolve().parents[3] / "shared" / "data" / "dev"
FILES = ("headlines", "claims")
DEFAULT_MIXES = ("minilm:1", "minilm:0.7,char:0.3", "minilm:0.6,char:0.2,word:0.2", "e5:0.7,char:0.3",
                 "minilm:0.35,e5:0.35,char:0.3")
THRESHOLDS = np.round(np.arange(0.30, 0.76, 0.03), 2)


def embed(name: str, texts: list[str], paths: dict[str, str], cache: Path, file: str) -> np.ndarray:
    target = cache / f"{file}.{name}.npy"
    if target.exists():
        return np.load(target)
    if name in paths:
        from sentence_transformers import SentenceTransformer

        X = SentenceTransformer(paths[name], device="cpu").encode(texts, batch_size=32, normalize_embeddings=True)
    else:
        from tracker.embed import get_embedder

        X = get_embedder(name).encode(texts)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(target, X)
    return X


def b3_by_threshold(similarity: np.ndarray, gold: list[str]) -> list[float]:
    distance = np.clip(1.0 - similarity, 0.0, None)
    np.fill_diagonal(distance, 0.0)
    out = []
    for threshold in THRESHOLDS:
        labels = AgglomerativeClustering(n_clusters=None, metric="precomputed", linkage="average",
                                         distance_threshold=1.0 - threshold).fit_predict(distance)
        out.append(bcubed(gold, labels)[2])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mix", action="append", help="weights, e.g. 'minilm:0.7,char:0.3' (repeatable)")
    ap.add_argument("--model", action="append", default=[], help="NAME=PATH of a sentence-transformers folder")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/similarity_bench"))
    args = ap.parse_args()
    paths = dict(m.split("=", 1) for m in args.model)
    mixes = [[(k, float(w)) for k, w in (part.split(":") for part in mix.split(","))]
             for mix in (args.mix or DEFAULT_MIXES)]
    data = {}
    for file in FILES:
        rows = [json.loads(line) for line in open(DEV / f"clusters_{file}_dev.jsonl", encoding="utf-8")]
        texts, gold = [r["text"] for r in rows], [str(r["gold"]) for r in rows]
        lexical = {
            "char": TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True,
                                    preprocessor=clean_text).fit_transform(texts),
            "word": TfidfVectorizer(sublinear_tf=True, preprocessor=clean_text,
                                    stop_words="english").fit_transform(texts),
        }
        data[file] = (texts, gold, lexical)
    for mix in mixes:
        scores = {}
        for file in FILES:
            texts, gold, lexical = data[file]
            similarity = np.zeros((len(texts), len(texts)))
            for name, weight in mix:
                if name in lexical:
                    similarity += weight * (lexical[name] @ lexical[name].T).toarray()
                else:
                    X = embed(name, texts, paths, args.cache, file)
                    similarity += weight * (X @ X.T)
            scores[file] = b3_by_threshold(similarity, gold)
        both = np.minimum(scores["headlines"], scores["claims"])
        i = int(np.argmax(both))
        label = " + ".join(f"{w:g} {n}" for n, w in mix)
        print(f"{label:45s} threshold {THRESHOLDS[i]:.2f}: headlines {scores['headlines'][i]:.3f}, "
              f"claims {scores['claims'][i]:.3f} | best of each {max(scores['headlines']):.3f}, "
              f"{max(scores['claims']):.3f}", flush=True)


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
