"""The pipeline: ``update()`` runs every stage on what is new, for the CLI and the dashboard alike.

``ingest`` -> ``claims`` -> ``embed`` -> ``checkworthy`` -> ``narratives`` (clusters, other languages, themes) ->
``stance``. Each stage is incremental: it works only on what is new since its last run, so a second run with no new
input does no work, and every stage records in ``runs`` the models and settings it used and what it did. Stages
write in short transactions, so a reviewer working in the dashboard at the same time waits a moment at most.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from tracker import settings
from tracker.embed import Embedder, get_embedder
from tracker.ingest import IngestOptions, ingest, load_sources
from tracker.pipeline.claims import CachedEmbedder, crosslingual_embedder, run_checkworthy, run_claims, run_embed
from tracker.pipeline.narratives import place_crosslingual, run_narratives, run_themes
from tracker.pipeline.progress import NO_PROGRESS, Progress, StageResult, tqdm_progress
from tracker.pipeline.stance import run_stance
from tracker.records import IngestReport, Problem
from tracker.store import Store, StoreBusy
from tracker.store import base as store_base

__all__ = ["update", "UpdateReport", "STAGES", "StageResult", "CachedEmbedder", "crosslingual_embedder",
           "run_claims", "run_embed", "run_checkworthy", "run_narratives", "place_crosslingual", "run_themes",
           "run_stance", "tqdm_progress", "NO_PROGRESS", "update_lock"]

STAGES = ("claims", "embed", "narratives", "stance")


@dataclass
class UpdateReport:
    """What one :func:`update` did: the ingest counts (if it ingested) and one result per stage."""

    ingest: IngestReport | None = None
    stages: list[StageResult] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return self.ingest.rejected if self.ingest else 0


@contextmanager
def update_lock(store: Store) -> Iterator[None]:
    """Hold the store's update lock: one ``update`` at a time per store file (reviewers are not affected).

    Raises:
        StoreBusy: another update of this store is running.
    """
    if store.memory:
        yield
        return
    with open(store.path + ".update-lock", "a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise StoreBusy(f"{store.path}: another 'tracker update' is running on this store; try again when it "
                            "has finished") from exc
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def update(store: Store, paths: Sequence[str] = (), *, options: IngestOptions | None = None,
           sources_file: str | None = None, embedder: Embedder | None = None, stages: Iterable[str] = STAGES,
           rebuild: bool = False, recompute: bool = False, progress: Progress = NO_PROGRESS,
           on_problem: Callable[[Problem], None] | None = None,
           on_result: Callable[[StageResult], None] | None = None) -> UpdateReport:
    """Ingest ``paths`` (if any), then run ``stages`` on what is new.

    Args:
        store: the store.
        paths: inputs to ingest first (files, folders, globs, '-', URLs).
        options: how to read them (defaults from settings).
        sources_file: outlet metadata (CSV/JSONL) to load before ingesting.
        embedder: the claim embedder (default: the ``embedding_model`` setting).
        stages: which of ``claims``, ``embed``, ``narratives``, ``stance`` to run (``embed`` includes scoring
            check-worthiness; ``narratives`` includes other-language placement and themes).
        rebuild: re-cluster every claim (reviewer decisions and verdicts hold).
        recompute: measure stance again for every claim.
        progress: progress bars for long stages (:func:`tqdm_progress` on a terminal).
        on_problem: called with each rejected input record.
        on_result: called with each stage's result as it finishes.

    Raises:
        StoreBusy: another update of the same store is running.
    """
    report = UpdateReport()
    stages = tuple(stages)
    clock = [time.perf_counter()]

    def done(result: StageResult) -> None:
        now = time.perf_counter()
        result.seconds, clock[0] = now - clock[0], now
        report.stages.append(result)
        if on_result:
            on_result(result)

    with update_lock(store):
        if sources_file:
            load_sources(store, sources_file)
        if paths:
            report.ingest = run_ingest(store, paths, options, progress=progress, on_problem=on_problem)
            done(StageResult("ingest", {"read": report.ingest.read, "stored": report.ingest.stored,
                                        "near-duplicates": report.ingest.near_duplicates,
                                        "duplicates": report.ingest.duplicates,
                                        "rejected": report.ingest.rejected}))
        needs_model = any(s in stages for s in ("embed", "narratives", "stance"))
        embedder = embedder or (get_embedder(settings.get("embedding_model")) if needs_model else None)
        if "claims" in stages:
            done(run_claims(store, progress=progress))
        if "embed" in stages and embedder is not None:
            done(run_embed(store, embedder, progress=progress))
            done(run_checkworthy(store, embedder, progress=progress))
        if "narratives" in stages and embedder is not None:
            clustered = run_narratives(store, embedder, rebuild=rebuild, progress=progress)
            done(clustered)
            placed = place_crosslingual(store, embedder, threshold=float(settings.get("crosslingual_threshold")),
                                        touched=None if rebuild or "rebuilt" in clustered.counts
                                        else clustered.touched)
            if placed:
                done(StageResult("other languages", placed))
            regroup = rebuild or "rebuilt" in clustered.counts
            done(StageResult("themes", run_themes(store, embedder, touched=clustered.touched, full=regroup)))
        if "stance" in stages and embedder is not None:
            done(run_stance(store, embedder, recompute=recompute, progress=progress))
    return report


def run_ingest(store: Store, paths: Sequence[str], options: IngestOptions | None = None, *,
               progress: Progress = NO_PROGRESS,
               on_problem: Callable[[Problem], None] | None = None) -> IngestReport:
    """Ingest ``paths`` and record the run."""
    options = options or IngestOptions(near_duplicate_threshold=float(settings.get("near_duplicate_threshold")),
                                       timeout=float(settings.get("fetch_timeout")))
    with store.write() as db:
        run_id = store_base.start_run(db, "ingest", {"paths": list(paths), "strict": options.strict,
                                                     "mapping": options.mapping})
    counts: dict[str, object] = {}
    try:
        with progress("ingest", unit=" records") as bar:
            result = ingest(store, paths, options, on_problem=on_problem, progress=bar.update)
        counts = {"read": result.read, "stored": result.stored, "duplicates": result.duplicates,
                  "near_duplicates": result.near_duplicates, "rejected": result.rejected}
        return result
    except Exception as exc:
        counts = {"aborted": str(exc)}
        raise
    finally:
        with store.write() as db:
            store_base.finish_run(db, run_id, counts)
