"""Reproduce the shipped stance heads (``tracker/data/stance/*.npz`` + ``.json``) from NewsMTSC train.

NewsMTSC (Hamborg & Donnay, EACL 2021; MIT licence) holds real news sentences, each with a named target (a person,
a party, an organisation), its mention span and the sentence's sentiment toward it. Its train split is
``news_stance_train.jsonl`` (``{target, text, label, start, end}``). For each shipped embedder this script

1. embeds every training sentence once (MiniLM: sentence vector plus layer-4 token states; e5: sentence vector);
2. cross-validates the shared heads in 5 folds grouped by sentence and fits the temperature on the out-of-fold
   logits (so a stored score is a calibrated probability);
3. fits the heads on all of it and writes ``<out>/<minilm|e5>.npz`` (plain arrays) and ``.json`` (settings,
   temperature, cross-validated figures);
4. writes ``<out>/examples_<minilm|e5>.npz``: the features of the project's own CPEC stance set under those heads
   (shared probabilities and sentence vectors, by content hash), so a new store adapts its CPEC target without
   encoding them (``--examples-only`` redoes just this step).

``--vectors`` writes ``tracker/data/vectors/minilm.npz``: MiniLM's vectors (float16) of the texts of the
check-worthiness and narrative-stance training sets, so fitting those shipped models in a new process embeds
nothing.

No development file is read. Example::

    python -m tracker.stance_train --news ../shared/data/dev/news_stance_train.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np

from tracker.metrics import expected_calibration_error, macro_f1
from tracker.resources import read_jsonl
from tracker.stance_span import LABELS, SHIPPED, Encoded, SpanStanceModel, encode_tokens

FOLDS = 5


def encode(embedder_name: str, texts: list[str]) -> dict[str, Encoded]:
    """text -> :class:`Encoded` for every distinct text, from one pass of the embedder."""
    from tracker.embed import get_embedder

    texts = list(dict.fromkeys(texts))
    started = time.time()
    if embedder_name == "minilm":
        encoded = encode_tokens(get_embedder("minilm").model, texts)  # type: ignore[attr-defined]
    else:
        vectors = get_embedder(embedder_name).encode(texts)
        encoded = [Encoded(v, text=t) for v, t in zip(vectors, texts, strict=True)]
    print(f"{embedder_name}: embedded {len(texts)} sentences in {time.time() - started:.0f} s", flush=True)
    return {e.text or "": e for e in encoded}


def fit(records: list[dict], encoded: dict[str, Encoded], *, spans: bool) -> tuple[SpanStanceModel, dict]:
    """Cross-validate, fit the temperature on out-of-fold logits, fit on everything."""
    items = [encoded[r["text"]] for r in records]
    mention = [(int(r["start"]), int(r["end"])) if spans and r.get("start") is not None else None for r in records]
    labels = [r["label"] for r in records]
    # grouped by sentence (a sentence with two targets stays in one fold), deterministic
    fold = np.array([int(hashlib.sha1(r["text"].encode()).hexdigest(), 16) % FOLDS for r in records])
    oof = np.zeros((len(records), len(LABELS)))
    for f in range(FOLDS):
        train, test = np.nonzero(fold != f)[0], np.nonzero(fold == f)[0]
        model = SpanStanceModel().fit([items[i] for i in train], [mention[i] for i in train],
                                      [labels[i] for i in train])
        oof[test] = model.shared_logits([items[i] for i in test], [mention[i] for i in test])
    model = SpanStanceModel().fit(items, mention, labels).fit_temperature(oof, labels)
    gold = [LABELS.index(label) for label in labels]
    pred = [LABELS[i] for i in oof.argmax(1)]
    from tracker.stance_span import softmax

    figures = {"cv_macro_f1": round(macro_f1(labels, pred, list(LABELS)), 4),
               "cv_ece": round(expected_calibration_error(softmax(oof / model.temperature_), gold), 4),
               "temperature": round(model.temperature_, 4), "n_train": len(records)}
    return model, figures


def write_examples(out: Path, short: str) -> int:
    """Step 4 for one embedder; returns how many examples."""
    from tracker.embed import get_embedder
    from tracker.pipeline.stance import _example_features, _latin
    from tracker.resources import dataset_path
    from tracker.stance import shipped_targets

    state = json.loads((out / f"{short}.json").read_text(encoding="utf-8"))
    with np.load(out / f"{short}.npz", allow_pickle=False) as z:
        model = SpanStanceModel.from_state(state, {k: z[k] for k in z.files})
    target = next(t for t in shipped_targets() if t["name"] == "CPEC")
    rows = read_jsonl(dataset_path("cpec", "stance", "target_stance_train.jsonl"))
    texts = [r["text"] for r in rows if short != "minilm" or _latin(r["text"])]
    cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    _example_features(model, get_embedder(short), target, texts, cache)
    hashes = sorted(cache)
    np.savez_compressed(out / f"examples_{short}.npz", hash=np.asarray(hashes, dtype=str),
                        shared=np.stack([cache[h][0] for h in hashes]),
                        sentence=np.stack([cache[h][1] for h in hashes]).astype(np.float16),  # half the size
                        heads=np.asarray(model.fingerprint()))
    return len(hashes)


def write_vectors() -> str:
    """MiniLM's vectors of tracker's own training texts that every new process would otherwise embed to fit its
    shipped models (check-worthiness, narrative stance), for :class:`tracker.embed.ShippedVectors`."""
    from tracker.checkworthy import shipped_training_data
    from tracker.embed import get_embedder, write_shipped_vectors
    from tracker.resources import dataset_path

    texts = shipped_training_data()[0]
    for row in read_jsonl(dataset_path("cpec", "stance", "narrative_stance_train.jsonl")):
        texts += [row["text"], row["claim"]]
    path = write_shipped_vectors(get_embedder("minilm"), texts)
    return f"vectors of {len(set(texts))} training texts -> {path} ({path.stat().st_size / 1e6:.2f} MB)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--news", help="news_stance_train.jsonl (NewsMTSC train); not needed with --examples-only")
    parser.add_argument("--examples-only", action="store_true",
                        help="only recompute the CPEC examples' features under the heads already written")
    parser.add_argument("--out", default=str(Path(__file__).parent / "data" / "stance"), help="output folder")
    parser.add_argument("--embedder", choices=["minilm", "e5", "all"], default="all")
    parser.add_argument("--vectors", action="store_true",
                        help="only write the shipped vectors of the check-worthiness and narrative-stance texts")
    args = parser.parse_args(argv)
    if args.vectors:
        print(write_vectors(), flush=True)
        return
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    chosen = ["minilm", "e5"] if args.embedder == "all" else [args.embedder]
    if args.examples_only:
        for short in chosen:
            print(f"{short}: features of {write_examples(out, short)} CPEC examples", flush=True)
        return
    if not args.news:
        parser.error("--news is required (or --examples-only)")
    records = [r for r in read_jsonl(args.news) if r.get("label") in LABELS]
    names = {v: k for k, v in SHIPPED.items()}
    for short in chosen:
        encoded = encode(short, [r["text"] for r in records])
        model, figures = fit(records, encoded, spans=short == "minilm")
        state, arrays = model.to_state()
        state.update({"embedder": names[short], "trained_on": "NewsMTSC train (MIT licence)", **figures})
        np.savez(out / f"{short}.npz", **arrays)
        (out / f"{short}.json").write_text(json.dumps(state, indent=1) + "\n", encoding="utf-8")
        size = (out / f"{short}.npz").stat().st_size / 1e6
        print(f"{short}: {figures} -> {out / short}.npz ({size:.2f} MB)", flush=True)
        print(f"{short}: features of {write_examples(out, short)} CPEC examples", flush=True)


if __name__ == "__main__":
    main()
