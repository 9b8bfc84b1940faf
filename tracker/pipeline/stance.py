"""The stance stage: targets, training a target's model from its labels, and measuring stance for new claims.

A target's model is trained on every label the store knows for it: the shipped set (CPEC), the target's example
statements, users' labels and reviewer corrections. :func:`train` records each fitted model (JSON state plus
arrays, never pickle) with its version and cross-validated scores; each prediction names the version that made it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from tracker import TrackerError
from tracker.embed import Embedder
from tracker.metrics import expected_calibration_error, f_avg, macro_f1
from tracker.pipeline.claims import CachedEmbedder, article_chunks, crosslingual_embedder
from tracker.pipeline.progress import NO_PROGRESS, Progress, StageResult
from tracker.relevance import CLAIM_THRESHOLD, TargetTerms, article_relevance
from tracker.stance import (
    NARRATIVE_RULE_VERSION,
    TARGET_LABELS,
    TargetError,
    alias_pattern,
    article_stance,
    clean_aliases,
    narrative_stance,
    shipped_targets,
)
from tracker.stance_span import Encoded, FeatureCache, SpanStanceModel, shipped_examples, shipped_model
from tracker.store import Store
from tracker.store import base as store_base
from tracker.store import stance as store_stance

BATCH = 2000  # claims scored and written per transaction


# --- targets ----------------------------------------------------------------------------------------------------

def ensure_targets(store: Store, *, always: bool = False) -> list[str]:
    """Add each shipped target (CPEC) that the store's articles name (or every one, with ``always``), checking
    only articles not checked before; returns the targets added. A store about something else gets none: nothing
    assumes CPEC."""
    missing = [t for t in shipped_targets() if not store_stance.has_target(store.db, t["name"])]
    if not missing:
        return []
    named = set()
    if always:
        named = {t["name"] for t in missing}
    else:
        checked = int(store_base.get_meta(store.db, "targets.checked_upto", 0) or 0)
        patterns = {t["name"]: alias_pattern(clean_aliases(t["name"], t["aliases"])) for t in missing}
        while rows := store_stance.article_texts_after(store.db, checked, 2000):
            for _, title, text in rows:
                named |= {name for name, pattern in patterns.items() if pattern.search(f"{title or ''}\n{text}")}
            checked = rows[-1][0]
        with store.write() as db:
            store_base.set_meta(db, "targets.checked_upto", checked)
    for target in missing:
        if target["name"] in named:
            add_target(store, target["name"], aliases=target["aliases"], related=target.get("related", []),
                       description=target["description"], favor=target["examples"]["favor"],
                       against=target["examples"]["against"])
    return sorted(named)


def add_target(store: Store, name: str, *, aliases: list[str] | None = None, related: list[str] | None = None,
               description: str = "", favor: list[str] | None = None, against: list[str] | None = None) -> int:
    """Create or update target ``name``: ``aliases`` are its own other names and spellings, ``related`` the terms
    that point to it in context without naming it (its parts and places); returns its id."""
    names = clean_aliases(name, aliases)
    with store.write() as db:
        return store_stance.upsert_target(db, names[0], aliases=names, description=description,
                                          related=[r.strip() for r in related or [] if r.strip()],
                                          examples={"favor": list(favor or []), "against": list(against or [])})


def target_terms(target: dict[str, Any]) -> TargetTerms:
    """How ``target`` is named in text: its name and aliases, and its related terms."""
    return TargetTerms.of([target["name"], *target.get("aliases", [])], target.get("related", []))


def get_target(store: Store, name: str) -> dict[str, Any]:
    """Target ``name`` (case-insensitive).

    Raises:
        TargetError: there is no such target.
    """
    found = store_stance.target(store.db, name)
    if found is None:
        known = ", ".join(store_stance.target_names(store.db)) or "none yet"
        raise TargetError(f"unknown target {name!r} (targets: {known}; add one with 'tracker targets add')")
    return found


def training_rows(store: Store, target: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(text, target, label) examples for ``target``: shipped set, examples, users' and reviewers' labels."""
    rows: list[tuple[str, str, str]] = []
    if target["name"].upper() == "CPEC":
        from tracker.resources import dataset_path, read_jsonl

        rows.extend((r["text"], target["name"], r["label"])
                    for r in read_jsonl(dataset_path("cpec", "stance", "target_stance_train.jsonl")))
    for label in ("favor", "against"):
        rows.extend((text, target["name"], label) for text in target["examples"].get(label, []))
    rows.extend((text, target["name"], label) for text, label in store_stance.labels(store.db, target["name"]))
    return rows


# --- models -----------------------------------------------------------------------------------------------------

@dataclass
class TargetModels:
    """A target's stance models: ``main`` for the claims ``embedder`` covers, ``companion`` (e5 sentence heads)
    for claims in other languages, both with the target's adapter; ``version`` names them in every prediction."""

    version: str
    main: SpanStanceModel
    companion: SpanStanceModel | None
    embedder: Embedder
    crosslingual: Embedder | None

    def parts(self, languages: Sequence[str | None]) -> Iterator[tuple[SpanStanceModel, Embedder, np.ndarray]]:
        """``(model, embedder, rows)`` for the rows each model reads: the companion takes the languages the main
        embedder does not cover (where there is a companion), the main model the rest; empty parts are left out."""
        other = (_uncovered(self.embedder, languages) if self.companion is not None
                 else np.zeros(len(languages), dtype=bool))
        for model, embedder, rows in ((self.main, self.embedder, np.nonzero(~other)[0]),
                                      (self.companion, self.crosslingual, np.nonzero(other)[0])):
            if len(rows) and model is not None and embedder is not None:
                yield model, embedder, rows

    def predict(self, target: str, texts: Sequence[str], languages: Sequence[str | None],
                spans: Sequence[tuple[int, int] | None]) -> tuple[np.ndarray, np.ndarray]:
        """``(probabilities, shared probabilities)``, each (n, 3) in the order favor, against, none."""
        n = len(texts)
        proba, shared = np.zeros((n, 3)), np.zeros((n, 3))
        for model, embedder, rows in self.parts(languages):
            part = [texts[i] for i in rows]
            items = encode_for_stance(embedder, part, [spans[i] for i in rows])
            shared[rows] = model.shared_proba(items, [spans[i] for i in rows])
            proba[rows] = model.adapt(target, shared[rows], np.stack([it.sentence for it in items]), part)
        return proba, shared


def _uncovered(embedder: Embedder, languages: Sequence[str | None]) -> np.ndarray:
    covered = getattr(embedder, "languages", None)
    return np.array([covered is not None and lang is not None and lang not in covered for lang in languages],
                    dtype=bool)


def encode_for_stance(embedder: Embedder, texts: Sequence[str],
                      spans: Sequence[tuple[int, int] | None]) -> list[Encoded]:
    """Each text's sentence vector (read from the store where ``embedder`` caches) and, for texts with a mention
    span when the embedder is MiniLM, the layer-4 token states from one more pass over just those texts."""
    from tracker.embed import MiniLMEmbedder
    from tracker.stance_span import encode_tokens

    vectors = embedder.encode(list(texts)) if texts else np.zeros((0, 0), np.float32)
    items = [Encoded(v, text=t) for v, t in zip(vectors, texts, strict=True)]
    base = getattr(embedder, "base", embedder)
    need = [i for i, span in enumerate(spans) if span is not None]
    if need and isinstance(base, MiniLMEmbedder):
        for i, item in zip(need, encode_tokens(base.model, [texts[i] for i in need]), strict=True):
            items[i] = Encoded(items[i].sentence, item.tokens, item.offsets, texts[i])
    return items


@cache
def _fallback_heads(embedder_name: str, embedder: Embedder) -> SpanStanceModel:
    """Sentence heads for an embedder without shipped ones, fitted on the project's own CPEC stance sentences."""
    from tracker.resources import dataset_path, read_jsonl

    rows = read_jsonl(dataset_path("cpec", "stance", "target_stance_train.jsonl"))
    items = [Encoded(v, text=r["text"]) for v, r in zip(embedder.encode([r["text"] for r in rows]), rows)]
    return SpanStanceModel(C_sentence=0.1).fit(items, None, [r["label"] for r in rows])


def shared_heads(embedder: Embedder) -> SpanStanceModel:
    """The shared heads for ``embedder``: shipped (MiniLM, e5; fitted on NewsMTSC train) or a fallback."""
    return shipped_model(embedder.name) or _fallback_heads(embedder.name, getattr(embedder, "base", embedder)
                                                           ).copy_shared()


def _latin(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.isascii() for c in letters) / len(letters) > 0.9


Features = tuple[np.ndarray, np.ndarray]  # (shared probabilities (n, 3), sentence vectors (n, d)) of examples


def _example_features(model: SpanStanceModel, embedder: Embedder, target: dict[str, Any], texts: list[str],
                      cache: FeatureCache) -> Features:
    """Shared probabilities and sentence vectors of labelled example texts; texts in ``cache`` (content hash ->
    features from the previous model, same heads) need no transformer pass, the rest are encoded and added."""
    hashes = [store_base.content_hash(t) for t in texts]
    missing = [i for i, h in enumerate(hashes) if h not in cache]
    if missing:
        terms = target_terms(target)
        part = [texts[i] for i in missing]
        spans = [terms.mention(t) for t in part]
        items = encode_for_stance(embedder, part, spans)
        shared = model.shared_proba(items, spans)
        for i, p, item in zip(missing, shared, items, strict=True):
            cache[hashes[i]] = (np.asarray(p, dtype=np.float32), np.asarray(item.sentence, dtype=np.float32))
    if not texts:
        return np.zeros((0, 3), np.float32), np.zeros((0, 0), np.float32)
    return (np.stack([cache[h][0] for h in hashes]), np.stack([cache[h][1] for h in hashes]))


def _cached_features(store: Store, target_name: str, key: str, fingerprint: str,
                     embedder_name: str) -> FeatureCache:
    """Example features already computed under the same shared heads: those shipped for the CPEC set, and those
    stored with the target's latest model for ``key`` (main, companion)."""
    cached = shipped_examples(embedder_name, fingerprint)
    try:
        found = store_stance.latest_model(store.db, f"target-stance:{target_name}")
    except TrackerError:  # an unreadable stored model: its features are not trusted either
        return cached
    if found is None or not isinstance(found[1], dict) or found[1].get(f"{key}_heads") != fingerprint:
        return cached
    arrays = found[2]
    hashes = arrays.get(f"cache/{key}/hash")
    if hashes is not None:
        shared, sentences = arrays[f"cache/{key}/shared"], arrays[f"cache/{key}/sentence"]
        cached.update({str(h): (shared[i], sentences[i]) for i, h in enumerate(hashes)})
    return cached


def train(store: Store, target_name: str, embedder: Embedder, *, folds: int = 5) -> dict[str, Any]:
    """Fit the target's adapter on all its labels, cross-validate it (``folds`` >= 2), and record the models.

    The shared heads come with tracker (:func:`shared_heads`); the adapter learns the target from the shipped set
    (CPEC), the target's example statements, users' and reviewers' labels. English examples adapt the MiniLM
    model; with the multilingual extra, every example also adapts the e5 companion for other languages. Each
    example's features are stored with the model, so the next fit (after a reviewer's label) encodes only new
    texts: a refit takes seconds.

    Returns:
        {"version", "n_train", "metrics"}: cross-validated scores of the adapted main model (none where the target
        has too few examples of each stance, and then the shared heads alone answer where it has none).
    """
    from sklearn.model_selection import StratifiedKFold

    target = get_target(store, target_name)
    rows = [(text, label) for text, _, label in training_rows(store, target)]
    companion_embedder = crosslingual_embedder(store, embedder)
    parts: dict[str, tuple[SpanStanceModel, Embedder, list[tuple[str, str]]]] = {
        "main": (shared_heads(embedder), embedder, [r for r in rows if _latin(r[0])])}
    if companion_embedder is not None:
        parts["companion"] = (shared_heads(companion_embedder), companion_embedder, rows)
    metrics: dict[str, Any] = {}
    state: dict[str, Any] = {"class": "SpanStanceModel"}
    arrays: dict[str, np.ndarray] = {}
    for key, (model, part_embedder, examples) in parts.items():
        fingerprint = model.fingerprint()
        cache = _cached_features(store, target["name"], key, fingerprint, part_embedder.name)
        texts, labels = [r[0] for r in examples], [r[1] for r in examples]
        shared, sentences = _example_features(model, part_embedder, target, texts, cache)
        counts = [labels.count(label) for label in TARGET_LABELS]
        n_folds = min(folds, *counts)
        if key == "main" and n_folds >= 2:
            proba = np.zeros_like(shared)
            for fit_idx, test_idx in StratifiedKFold(n_folds, shuffle=True, random_state=0).split(texts, labels):
                fold = model.copy_shared().fit_target(target["name"], shared[fit_idx], sentences[fit_idx],
                                                      [texts[i] for i in fit_idx], [labels[i] for i in fit_idx])
                proba[test_idx] = fold.adapt(target["name"], shared[test_idx], sentences[test_idx],
                                             [texts[i] for i in test_idx])
            pred = [TARGET_LABELS[i] for i in proba.argmax(1)]
            metrics = {"cv_folds": n_folds, "f_avg": round(f_avg(labels, pred), 4),
                       "macro_f1": round(macro_f1(labels, pred, list(TARGET_LABELS)), 4),
                       "ece": round(expected_calibration_error(proba, [TARGET_LABELS.index(x) for x in labels]), 4)}
        if texts:
            model.fit_target(target["name"], shared, sentences, texts, labels)
        part_state, part_arrays = model.to_state()
        state[key], state[f"{key}_heads"] = part_state, fingerprint
        arrays.update({f"{key}/{name}": value for name, value in part_arrays.items()})
        kept = {store_base.content_hash(t) for t in texts}
        cached = sorted(h for h in cache if h in kept)
        if cached:
            arrays[f"cache/{key}/hash"] = np.asarray(cached, dtype=str)
            arrays[f"cache/{key}/shared"] = np.stack([cache[h][0] for h in cached])
            arrays[f"cache/{key}/sentence"] = np.stack([cache[h][1] for h in cached])
    with store.write() as db:
        version = store_stance.save_model(
            db, f"target-stance:{target['name']}", metrics=metrics, n_train=len(rows), state=state, arrays=arrays,
            params={"embedder": embedder.name,
                    "crosslingual_embedder": companion_embedder.name if companion_embedder else None})
    return {"version": version, "n_train": len(rows), "metrics": metrics}


def latest_model(store: Store, target_name: str, embedder: Embedder) -> TargetModels | None:
    """The newest models of a target with live embedders set, or None when it has none yet (or only a model of an
    earlier kind, which is then refitted).

    Raises:
        TrackerError: the stored model is not one tracker writes.
    """
    found = store_stance.latest_model(store.db, f"target-stance:{target_name}")
    if found is None:
        return None
    version, state, arrays = found
    if not isinstance(state, dict) or state.get("class") != "SpanStanceModel":
        return None

    def part(key: str) -> SpanStanceModel | None:
        if key not in state:
            return None
        prefix = f"{key}/"
        try:
            return SpanStanceModel.from_state(state[key], {k[len(prefix):]: v for k, v in arrays.items()
                                                           if k.startswith(prefix)})
        except ValueError as exc:
            raise TrackerError(f"model {version}: {exc}") from exc

    main = part("main")
    if main is None:
        raise TrackerError(f"model {version}: no main model")
    companion_embedder = crosslingual_embedder(store, embedder)
    companion = part("companion") if companion_embedder is not None else None
    return TargetModels(version, main, companion, embedder, companion_embedder if companion else None)


# --- active learning --------------------------------------------------------------------------------------------

QUEUE_POOL = 10  # the queue picks from this many times its length of least certain claims
QUEUE_SIMILAR = 0.8  # a claim this close (cosine) to one already queued is skipped: the queue stays diverse


def rescore(store: Store, target_name: str, embedder: Embedder) -> int:
    """Apply the target's latest adapter to every model claim stance from its stored shared probabilities and
    sentence vector (no transformer pass), then aggregate the articles again; returns the claims rescored.
    Reviewers' stances are never touched."""
    target = get_target(store, target_name)
    models = latest_model(store, target["name"], embedder)
    if models is None:
        return 0
    rows = store_stance.adaptable_claims(store.db, target["id"])
    if not rows:
        return 0
    values = []
    for model, part_embedder, idx in models.parts([r[3] for r in rows]):
        texts = [rows[i][1] for i in idx]
        shared = np.asarray([rows[i][4:7] for i in idx], dtype=np.float64)
        proba = model.adapt(target["name"], shared, part_embedder.encode(texts), texts)
        for i, p in zip(idx, proba, strict=True):
            best = int(np.argmax(p))
            values.append((rows[i][0], TARGET_LABELS[best], float(p[best]), models.version, *map(float, p)))
    article_ids = sorted({r[2] for r in rows})
    with store.write() as db:
        store_stance.update_probabilities(db, target["id"], values)
        _article_stances(db, target, models.version, article_ids,
                         store_stance.article_relevance(db, target["id"], article_ids))
    return len(values)


def refit(store: Store, target_name: str, embedder: Embedder) -> dict[str, Any]:
    """After new labels: fit the target's adapter again (example features cached, so seconds) and rescore every
    model claim stance with it. Returns :func:`train`'s result with ``rescored``."""
    cached = CachedEmbedder(store, embedder)
    result = train(store, target_name, cached, folds=0)
    result["rescored"] = rescore(store, target_name, cached)
    return result


def stance_queue(store: Store, target_name: str, embedder: Embedder, *, limit: int = 20,
                 strategy: str = "uncertainty", seed: int = 0) -> list[dict[str, Any]]:
    """Claims whose label would teach the target's model most: the least certain unlabelled on-target claims,
    skipping any too close to one already listed (``uncertainty``), or a random sample of them (``random``, the
    baseline a learning curve compares against)."""
    target = get_target(store, target_name)
    if strategy == "random":
        pool = store_stance.stance_queue_candidates(store.db, target["id"], 10 ** 9)
        order = np.random.default_rng(seed).permutation(len(pool))[:limit]
        return [pool[i] for i in order]
    if strategy != "uncertainty":
        raise TargetError(f"queue strategy must be 'uncertainty' or 'random', not {strategy!r}")
    pool = store_stance.stance_queue_candidates(store.db, target["id"], limit * QUEUE_POOL)
    if not pool:
        return []
    vectors = CachedEmbedder(store, embedder).encode([c["text"] for c in pool])
    picked: list[int] = []
    for i in range(len(pool)):
        if len(picked) == limit:
            break
        if not picked or float(np.max(vectors[picked] @ vectors[i])) < QUEUE_SIMILAR:
            picked.append(i)
    return [pool[i] for i in picked]


# --- the stage --------------------------------------------------------------------------------------------------

def run_stance(store: Store, embedder: Embedder, *, recompute: bool = False,
               progress: Progress = NO_PROGRESS) -> StageResult:
    """Target stance for new claims and their articles (relevance first), and narrative stance for newly
    clustered claims."""
    ensure_targets(store)
    with store.write() as db:
        run_id = store_base.start_run(db, "stance", {"model": embedder.name, "recompute": recompute})
    counts: dict[str, Any] = {}
    cached = CachedEmbedder(store, embedder)
    for name in store_stance.target_names(store.db):
        try:
            found = latest_model(store, name, cached)
        except TrackerError:  # a stored model tracker cannot read (damaged, or crafted): it is refitted, not run
            found = None
        if found is None:  # cross-validation is left to 'tracker stance train': the stage only needs the fit
            train(store, name, cached, folds=0)
            found = latest_model(store, name, cached)
        assert found is not None
        counts[name] = _target_stances(store, get_target(store, name), found, recompute=recompute,
                                       progress=progress)
    counts["narrative"] = _narrative_stances(store, embedder)
    with store.write() as db:
        store_base.finish_run(db, run_id, counts)
    return StageResult("stance", counts)


def target_vector(embedder: Embedder, target: dict[str, Any]) -> np.ndarray:
    """The target as one unit vector: the mean of its description's, name's and example statements' vectors."""
    texts = [t for t in [target.get("description") or "", target["name"],
                         *target["examples"].get("favor", []), *target["examples"].get("against", [])] if t.strip()]
    mean = np.asarray(embedder.encode(texts), dtype=np.float32).mean(0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


def _target_stances(store: Store, target: dict[str, Any], models: TargetModels, *, recompute: bool,
                    progress: Progress) -> int:
    """Relevance of each new claim's article and claims; then stance of every claim of an article about the
    target (and of a claim that names it in an article about something else); then each article's stance from its
    claims' probabilities weighted by their relevance."""
    rows, upto = store_stance.claims_without_stance(store.db, target["id"], recompute=recompute)
    rows.sort(key=lambda r: (r[2], r[0]))  # article by article
    terms = target_terms(target)
    anchor = target_vector(models.embedder, target)
    name, version = target["name"], models.version
    with progress(f"stance toward {name}", total=len(rows), unit=" claims") as bar:
        for chunk in article_chunks(rows, BATCH):
            article_ids = sorted({r[2] for r in chunk})
            headers = store_stance.article_headers(store.db, article_ids)
            members = store_stance.claim_spans_of_articles(store.db, article_ids)
            everyone = [c for article_id in article_ids for c in members.get(article_id, [])]
            similarity = dict(zip([c[0] for c in everyone],
                                  (models.embedder.encode([c[3] for c in everyone]) @ anchor).tolist()
                                  if everyone else [], strict=True))
            relevance: dict[int, float] = {}
            articles: dict[int, tuple[bool, float]] = {}
            for article_id in article_ids:
                claims = members.get(article_id, [])
                title, text = headers[article_id]
                judged = article_relevance(terms, title, text, [(c[1], c[2]) for c in claims],
                                           [similarity[c[0]] for c in claims])
                articles[article_id] = (judged.about, judged.score)
                relevance.update({c[0]: s for c, s in zip(claims, judged.claims, strict=True)})
            # every claim of an article about the target is read (a claim need not name it: "the corridor has
            # failed"); in an article about something else only a claim that names the target is
            todo = [r for r in chunk if articles[r[2]][0] or relevance.get(r[0], 0.0) >= CLAIM_THRESHOLD]
            spans = [terms.mention(r[1]) for r in todo]
            proba, shared = models.predict(name, [r[1] for r in todo], [r[3] for r in todo], spans)
            values = []
            measured = {r[0]: (p, s) for r, p, s in zip(todo, proba, shared, strict=True)}
            for claim_id, *_ in chunk:
                if claim_id in measured:
                    p, s = measured[claim_id]
                    label = TARGET_LABELS[int(np.argmax(p))]
                    values.append((claim_id, label, float(p.max()), version, relevance.get(claim_id, 0.0),
                                   *map(float, p), *map(float, s)))
                else:
                    values.append((claim_id, "none", None, f"{version}+off-target", relevance.get(claim_id, 0.0),
                                   None, None, None, None, None, None))
            with store.write() as db:
                store_stance.save_claim_stances(db, target["id"], values)
                _article_stances(db, target, version, article_ids, articles)
            bar.update(len(chunk))
    with store.write() as db:
        store_stance.set_stance_upto(db, target["id"], upto)
    return len(rows)


def _article_stances(db: Any, target: dict[str, Any], version: str, article_ids: list[int],
                     relevance: dict[int, tuple[bool, float]]) -> None:
    """Each article's stance from its relevant claims' probabilities, ``none`` for an article that is not about
    the target, with its relevance (inside the caller's transaction)."""
    claims: dict[int, list[tuple[np.ndarray, float]]] = defaultdict(list)
    for article_id, weight, *p in store_stance.claim_probabilities_of_articles(db, target["id"], article_ids):
        claims[article_id].append((np.asarray(p, dtype=float), float(weight or 0.0)))
    values = []
    for article_id in article_ids:
        about, score = relevance.get(article_id, (False, 0.0))
        found = claims.get(article_id, []) if about else []
        label, p = article_stance([q for q, _ in found], [w for _, w in found])
        if p is None:
            values.append((article_id, "none", None, f"{version}+off-target", score, None, None, None))
        else:
            values.append((article_id, label, float(p[TARGET_LABELS.index(label)]), version, score, *map(float, p)))
    store_stance.save_article_stances(db, target["id"], values)


NARRATIVE_MODEL_VERSION = "narrative-stance-model-1"
UNRELATED = 0.5  # the model's P(unrelated) at which a member is taken not to make its narrative's claim at all


@cache
def _narrative_model(embedder_name: str, embedder: Embedder) -> Any:
    from tracker.stance_model import default_narrative_model

    return default_narrative_model(embedder)


def _narrative_stances(store: Store, embedder: Embedder) -> int:
    """Stance of each newly clustered claim toward its narrative (model rows only). The narrative-stance model
    reads the claim against the narrative's central claim, with its attribution: where it finds the claim
    unrelated (P >= ``UNRELATED``) the claim is ``unrelated`` to the narrative it was clustered into; otherwise how
    the outlet carries it decides (asserts: agree, reports: discuss, refutes: disagree), which on the tuning half
    of the CPEC labels reads direction better than the model's own agree/disagree/discuss (macro-F1 0.478 against
    0.338 for the model alone and 0.469 for attribution alone). The score is the model's probability of the
    label. A claim that is itself the central claim (or a narrative without one) takes the attribution rule."""
    rows, started = store_stance.members_without_narrative_stance(store.db)
    values: list[tuple[int, int, str, float, str]] = []
    paired = [r for r in rows if r[4] and r[4] != r[3]]
    if paired:
        model = _narrative_model(embedder.name, getattr(embedder, "base", embedder))
        cached = CachedEmbedder(store, getattr(embedder, "base", embedder))
        for start in range(0, len(paired), BATCH):
            chunk = paired[start:start + BATCH]
            claims, centrals = [r[3] for r in chunk], [r[4] for r in chunk]
            X = model.transform(claims, centrals, [r[2] for r in chunk],
                                vectors=(cached.encode(claims), cached.encode(centrals)))
            proba = model.predict_proba_features(X)
            classes = [str(c) for c in model.classes_]
            for (claim_id, narrative_id, attribution, *_), p in zip(chunk, proba, strict=True):
                unrelated = p[classes.index("unrelated")] >= UNRELATED
                label = "unrelated" if unrelated else narrative_stance(attribution)
                values.append((claim_id, narrative_id, label, float(p[classes.index(label)]),
                               NARRATIVE_MODEL_VERSION))
    done = {(v[0], v[1]) for v in values}
    values += [(claim_id, narrative_id, narrative_stance(attribution), 1.0, NARRATIVE_RULE_VERSION)
               for claim_id, narrative_id, attribution, *_ in rows if (claim_id, narrative_id) not in done]
    with store.write() as db:
        store_stance.save_narrative_stances(db, values, since=started)
    return len(rows)
