"""Benchmark tracker.cluster: scale (full fit, incremental add), dev-set quality, and BERTopic side by side.

Synthetic corpus: the MiniLM embeddings of the dev claims and headlines (embedded once, cached in --cache) are
mixed into ``n // 8`` synthetic narrative centres (each the normalised sum of two random real embeddings); every
claim is a centre plus Gaussian noise (per-dimension sigma ``--sigma``, mean within-cluster cosine about 0.75),
cluster sizes follow a Zipf law, and ``--noise`` of the claims are unrelated mixes of three real embeddings.
Each synthetic claim gets a text of words drawn from its centre's two real texts, so the scale runs pay for the
lexical similarity the product uses (``--no-texts``: embeddings only).

    python tests/benchmarks/bench_cluster.py --n 200000 --skip-bertopic --skip-dev   # scale
    python tests/benchmarks/bench_cluster.py --n 10000 --bertopic-n 10000            # BERTopic + dev quality
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tracker.cluster import IncrementalClusterer  # noqa: E402
from tracker.metrics import ari, bcubed, nmi  # noqa: E402

DEV = Path(__file__).resolve().parents[3] / "shared" / "data" / "dev"
FILES = ("headlines", "claims")


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load_dev(name: str, cache: Path) -> tuple[list[str], list[str], np.ndarray]:
    rows = [json.loads(line) for line in open(DEV / f"clusters_{name}_dev.jsonl")]
    path = cache / f"{name}_minilm.npy"
    if path.exists():
        X = np.load(path)
    else:
        from tracker.embed import get_embedder

        X = get_embedder("minilm").encode([r["text"] for r in rows])
        cache.mkdir(parents=True, exist_ok=True)
        np.save(path, X)
    return [r["text"] for r in rows], [r["gold"] for r in rows], X


def synthetic(base: np.ndarray, base_texts: list[str], n: int, sigma: float, noise: float,
              seed: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Synthetic claims: embeddings, gold labels (negative: noise) and texts.

    A claim's text is 14 words drawn from the two real texts its centre mixes (three for noise), so members of
    one synthetic narrative share vocabulary as paraphrases do and the lexical features cost what they cost.
    """
    rng = np.random.default_rng(seed)
    d = base.shape[1]
    k = max(1, n // 8)
    parents = rng.integers(0, len(base), (k, 2))
    centres = base[parents[:, 0]] + base[parents[:, 1]]
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    n_noise = int(n * noise)
    weights = 1.0 / np.arange(1, k + 1) ** 0.8
    gold = rng.choice(k, n - n_noise, p=weights / weights.sum())
    X = centres[gold] + rng.normal(0, sigma, (len(gold), d))
    noise_parents = rng.integers(0, len(base), (n_noise, 3))
    mix = base[noise_parents].sum(1) + rng.normal(0, sigma, (n_noise, d))
    X = np.vstack([X, mix]).astype(np.float32)
    words = [t.split() or ["claim"] for t in base_texts]
    sources = [parents[g] for g in gold] + list(noise_parents)
    texts = []
    for parent in sources:
        pool = [w for i in parent for w in words[i]]
        texts.append(" ".join(pool[j] for j in rng.integers(0, len(pool), 14)))
    gold = np.concatenate([gold, -1 - np.arange(n_noise)])
    perm = rng.permutation(n)
    X = X[perm] / np.linalg.norm(X[perm], axis=1, keepdims=True)
    return X.astype(np.float32), gold[perm], [texts[i] for i in perm]


def dev_quality(params: dict, cache: Path) -> None:
    for name in FILES:
        texts, gold, X = load_dev(name, cache)
        for bs in (200, 1):
            t0 = time.perf_counter()
            c = IncrementalClusterer(**params)
            ids = []
            for i in range(0, len(X), bs):
                c.partial_fit(X[i:i + bs], texts[i:i + bs])
                ids.append(c.cluster_ids_)
            lab = c.labels_for(np.concatenate(ids))
            p, r, f = bcubed(gold, lab)
            print(f"dev {name:9s} incremental bs={bs:<4d} B3 P={p:.4f} R={r:.4f} F1={f:.4f} "
                  f"ARI={ari(gold, lab):.4f} NMI={nmi(gold, lab):.4f} clusters>=2={len(set(lab[lab >= 0]))} "
                  f"({time.perf_counter() - t0:.1f}s)")
        lab = IncrementalClusterer(**params).fit(X, texts).labels_
        p, r, f = bcubed(gold, lab)
        print(f"dev {name:9s} fit (rebuild)      B3 P={p:.4f} R={r:.4f} F1={f:.4f} ARI={ari(gold, lab):.4f} "
              f"NMI={nmi(gold, lab):.4f}")


def bertopic_labels(X: np.ndarray, texts: list[str], min_topic_size: int, seed: int) -> np.ndarray:
    from bertopic import BERTopic
    from umap import UMAP

    umap = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=seed)
    model = BERTopic(embedding_model=None, umap_model=umap, min_topic_size=min_topic_size,
                     calculate_probabilities=False)
    topics, _ = model.fit_transform(texts, embeddings=X)
    return np.asarray(topics)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200_000, help="synthetic claims for the scale test")
    ap.add_argument("--add", type=int, default=1000, help="claims added by partial_fit to the fitted state")
    ap.add_argument("--bertopic-n", type=int, default=10_000, help="synthetic claims for the BERTopic comparison")
    ap.add_argument("--sigma", type=float, default=0.035)
    ap.add_argument("--noise", type=float, default=0.2)
    ap.add_argument("--threshold", type=float, default=None, help="override the default threshold")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/cluster_research"))
    ap.add_argument("--skip-dev", action="store_true")
    ap.add_argument("--skip-bertopic", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-texts", action="store_true",
                    help="embedding similarity only (the product mixes in lexical similarity of the texts)")
    args = ap.parse_args()
    params = {} if args.threshold is None else {"threshold": args.threshold,
                                                "embedding_threshold": args.threshold}
    print(f"settings: {vars(IncrementalClusterer(**params))}")

    dev = [load_dev(name, args.cache) for name in FILES]
    base = np.vstack([X for _, _, X in dev])
    X, gold, texts = synthetic(base, [t for d in dev for t in d[0]], args.n + args.add, args.sigma, args.noise,
                               args.seed)
    if args.no_texts:
        texts = None
    X_fit, X_add = X[: args.n], X[args.n:]
    texts_fit, texts_add = (texts[: args.n], texts[args.n:]) if texts else (None, None)
    rss0 = peak_rss_gib()
    t0, c0 = time.perf_counter(), cpu_s()
    c = IncrementalClusterer(**params).fit(X_fit, texts_fit)
    t_fit, c_fit = time.perf_counter() - t0, cpu_s() - c0
    p, r, f = bcubed(gold[: args.n], c.labels_)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"scale: fit n={args.n} d={X.shape[1]} texts={'no' if texts is None else 'yes'}: "
          f"{t_fit:.1f}s wall ({c_fit:.1f}s CPU), "
          f"peak RSS {peak_rss_gib():.2f} GiB "
          f"(before fit {rss0:.2f} GiB), clusters>=2={len(set(c.labels_[c.labels_ >= 0]))}, "
          f"synthetic B3 P={p:.4f} R={r:.4f} F1={f:.4f}")
    t0, c0 = time.perf_counter(), cpu_s()
    c.partial_fit(X_add, texts_add)
    print(f"scale: partial_fit {len(X_add)} into {args.n}-claim state: {time.perf_counter() - t0:.2f}s wall "
          f"({cpu_s() - c0:.2f}s CPU), "
          f"peak RSS {peak_rss_gib():.2f} GiB")

    if not args.skip_bertopic:
        m = min(args.bertopic_n, len(X))
        Xb, gb = X[:m], gold[:m]
        docs = texts[:m] if texts else [f"claim {i}" for i in range(m)]
        t0 = time.perf_counter()
        lab_ours = IncrementalClusterer(**params).fit(Xb, texts[:m] if texts else None).labels_
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        lab_bt = bertopic_labels(Xb, docs, min_topic_size=5, seed=args.seed)
        t_bt = time.perf_counter() - t0
        print(f"synthetic n={m}: ours {t_ours:.1f}s B3-F1={bcubed(gb, lab_ours)[2]:.4f}; BERTopic {t_bt:.1f}s "
              f"B3-F1={bcubed(gb, lab_bt)[2]:.4f}; time ratio BERTopic/ours = {t_bt / t_ours:.1f}x")
        for name in FILES:
            texts, g, Xd = load_dev(name, args.cache)
            for mts in (2, 5):
                lab = bertopic_labels(Xd, texts, min_topic_size=mts, seed=args.seed)
                p, r, f = bcubed(g, lab)
                print(f"dev {name:9s} BERTopic min_topic_size={mts}: B3 P={p:.4f} R={r:.4f} F1={f:.4f} "
                      f"ARI={ari(g, lab):.4f} NMI={nmi(g, lab):.4f}")
    if not args.skip_dev:
        dev_quality(params, args.cache)


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
