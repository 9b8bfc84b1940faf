"""Read-only queries behind the dashboard, the CLI and exports.

Every function takes an open store and returns plain dicts/lists or a pandas DataFrame; aggregation happens in
SQL so a store with a million claims never travels into pandas whole. Dates are ISO strings; a period is named
by its first day (weeks start on Monday).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import sqlite_utils

from tracker import TrackerError
from tracker.store import themes as store_themes
from tracker.store.base import BadBlob, blob_to_vector, counts

FREQS = {"W": "date(a.published, '-6 days', 'weekday 1')", "M": "substr(a.published, 1, 7) || '-01'",
         "Q": "substr(a.published, 1, 5) || "
              "printf('%02d', ((cast(substr(a.published, 6, 2) AS INTEGER) - 1) / 3) * 3 + 1) || '-01'",
         "Y": "substr(a.published, 1, 4) || '-01-01'"}
GROUPS = ("source", "country", "narrative")
TIMELINE_COLUMNS = ["period", "group", "favor", "against", "none", "uncertain", "n", "favor_share", "favor_lo",
                    "favor_hi", "against_share", "against_lo", "against_hi", "uncertain_share"]
UNCERTAIN = 0.5  # a model stance whose probability is below this is counted as uncertain, not as its label
# the stance columns of one row, as the timeline counts it: off-target items are left out (they are not about the
# target), and a side the model gives less than UNCERTAIN is 'uncertain'
_COUNTED_LABEL = (f"CASE WHEN s.source = 'model' AND s.label != 'none' AND s.score < {UNCERTAIN} "
                  "THEN 'uncertain' ELSE s.label END")
_ON_TARGET = "s.model NOT LIKE '%+off-target' AND s.model NOT LIKE '%+no-mention'"


class QueryError(TrackerError):
    """A query was asked for something the store does not have (an unknown target, group or period)."""


def _df(db: sqlite_utils.Database, sql: str, params: Iterable[Any] = ()) -> pd.DataFrame:
    cursor = db.execute(sql, list(params))
    return pd.DataFrame(cursor.fetchall(), columns=[d[0] for d in cursor.description])


def _one(db: sqlite_utils.Database, sql: str, params: Iterable[Any] = ()) -> dict[str, Any] | None:
    cursor = db.execute(sql, list(params))
    row = cursor.fetchone()
    return None if row is None else dict(zip([d[0] for d in cursor.description], row, strict=True))


def wilson(k: Any, n: Any, z: float = 1.96) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for ``k`` successes out of ``n`` (arrays or scalars); NaN where ``n`` is 0."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = np.where(n > 0, np.clip(centre - half, 0, 1), np.nan)
    hi = np.where(n > 0, np.clip(centre + half, 0, 1), np.nan)
    return lo, hi


# --- store-wide ----------------------------------------------------------------------------------------------

def store_status(db: sqlite_utils.Database) -> dict[str, Any]:
    """What the store holds, for ``tracker status``: counts per stage and the date range of articles."""
    c = counts(db)
    first, last = db.execute("SELECT min(published), max(published) FROM articles").fetchone()
    embedded = db.execute(
        "SELECT count(*) FROM claims c "
        "WHERE EXISTS (SELECT 1 FROM embeddings e WHERE e.content_hash = c.text_hash)"
    ).fetchone()[0]
    return {
        "articles": c["articles"], "sources": c["sources"], "near_duplicates": c["near_duplicates"],
        "first": first, "last": last, "claims": c["claims"], "embedded": embedded,
        "narratives_active": c["active_narratives"], "clustered_claims": c["clustered_claims"],
        "stances": c["stances"], "reviews": c["reviews"],
    }


def overview(db: sqlite_utils.Database) -> dict[str, Any]:
    """Headline counts for the overview page (cheaper than :func:`store_status`)."""
    c = counts(db)
    first, last = db.execute("SELECT min(published), max(published) FROM articles").fetchone()
    return {
        "articles": c["articles"], "outlets": c["sources"], "claims": c["claims"],
        "narratives": c["active_narratives"], "near_duplicates": c["near_duplicates"],
        "first": first, "last": last,
    }


def targets(db: sqlite_utils.Database) -> list[str]:
    """Names of the stance targets, in id order."""
    return [r[0] for r in db.execute("SELECT name FROM targets ORDER BY id")]


def articles_per_week(db: sqlite_utils.Database) -> pd.DataFrame:
    """Articles per week (``week``, ``articles``, ``distinct_articles`` with near-duplicates left out)."""
    return _df(db, f"""
        SELECT {FREQS['W']} AS week, count(*) AS articles, sum(a.duplicate_of IS NULL) AS distinct_articles
        FROM articles a WHERE a.published IS NOT NULL GROUP BY 1 ORDER BY 1""")


# --- narratives ----------------------------------------------------------------------------------------------

def _activity(db: sqlite_utils.Database, weeks: int) -> tuple[pd.DataFrame, str | None]:
    """Per narrative: claims dated in the last ``weeks`` weeks of data (``recent``).

    Only the articles of the window are read (through the ``published`` index), so this stays cheap on a large
    store; claims before the window are ``size - recent``. The CROSS JOINs fix that order: left to itself, SQLite
    walks every membership row in narrative order to save the GROUP BY's sort (2.6 s instead of 0.02 s on a
    450,000-claim store).
    """
    last = db.execute("SELECT max(published) FROM articles").fetchone()[0]
    if last is None:
        return pd.DataFrame(columns=["narrative_id", "recent"]), None
    cutoff = (dt.date.fromisoformat(last[:10]) - dt.timedelta(weeks=weeks)).isoformat()
    frame = _df(db, """
        SELECT nc.narrative_id, count(*) AS recent
        FROM articles a CROSS JOIN claims c ON c.article_id = a.id
        CROSS JOIN narrative_claims nc ON nc.claim_id = c.id
        WHERE a.published > ? GROUP BY nc.narrative_id""", [cutoff])
    return frame, cutoff


def _growth(frame: pd.DataFrame, cutoff: str | None, weeks: int) -> pd.Series:
    """Ratio of weekly claim rates, last ``weeks`` weeks vs before (from first_seen), add-one smoothed."""
    if cutoff is None or frame.empty:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    first = pd.to_datetime(frame["first_seen"], errors="coerce")
    weeks_before = ((pd.Timestamp(cutoff) - first).dt.days / 7).clip(lower=1).fillna(1)
    return ((frame["recent"].fillna(0) + 1) / weeks) / ((frame["before"].fillna(0) + 1) / weeks_before)


def _joined_keywords(column: pd.Series) -> list[str]:
    """JSON keyword lists as comma-separated text ("" where none)."""
    return [", ".join(json.loads(k)) if isinstance(k, str) and k else "" for k in column]


def narratives_table(db: sqlite_utils.Database, weeks: int = 12, status: str | None = "active",
                     with_mix: bool = True) -> pd.DataFrame:
    """One row per narrative: size, reach, dates, recent growth, stance mix, verdict and review status.

    ``recent`` counts claims dated in the last ``weeks`` weeks of data, ``before`` the others; ``growth`` is the
    ratio of their weekly rates (see :func:`_growth`). The stance mix counts the narrative stances recorded
    toward each narrative (agree / disagree / discuss / unrelated); ``with_mix=False`` skips it.
    """
    where = "WHERE n.status = ?" if status else ""
    table = _df(db, f"""
        SELECT n.id, n.label, n.size, n.n_articles, n.n_sources, n.first_seen, n.last_seen,
               s.name AS first_source, n.status, n.verdict, n.review_status, n.locked, n.keywords,
               t.id AS theme_id, t.label AS theme, n.checkworthy, n.boilerplate
        FROM narratives n LEFT JOIN sources s ON s.id = n.first_source_id
        LEFT JOIN themes t ON t.id = n.theme_id AND t.status = 'active' {where} ORDER BY n.size DESC, n.id""",
        [status] if status else [])
    activity, cutoff = _activity(db, weeks)
    table = table.merge(activity.rename(columns={"narrative_id": "id"}), on="id", how="left")
    table["recent"] = table["recent"].fillna(0).astype(int)
    table["before"] = (table["size"] - table["recent"]).clip(lower=0).astype(int)
    table["growth"] = _growth(table, cutoff, weeks).round(2)
    table["keywords"] = _joined_keywords(table["keywords"])
    table = table.merge(verdict_news(db), on="id", how="left")
    table["new_since_verdict"] = table["new_since_verdict"].fillna(0).astype(int)
    table["flags"] = table["flags"].fillna(0).astype(int)
    table = _prioritise(table)
    if not with_mix:
        return table
    mix = _df(db, "SELECT narrative_id AS id, label, count(*) AS k FROM narrative_stances GROUP BY 1, 2")
    labels = ["agree", "disagree", "discuss", "unrelated"]
    if not mix.empty:
        mix = mix.pivot_table(index="id", columns="label", values="k", fill_value=0, aggfunc="sum")
        table = table.merge(mix.reindex(columns=labels, fill_value=0), left_on="id", right_index=True, how="left")
    for label in labels:
        table[label] = table.get(label, pd.Series(0, index=table.index)).fillna(0).astype(int)
    table["stance_mix"] = [
        " / ".join(f"{k} {lab}" for k, lab in zip(row, labels, strict=True) if k)
        for row in zip(*(table[lab] for lab in labels), strict=True)
    ]
    return table


QUEUE_FLOOR = 0.25  # narratives whose claims average a lower check-worthiness are opinion or filler: hidden


def _prioritise(table: pd.DataFrame) -> pd.DataFrame:
    """Add the review queue's ``priority`` and ``hidden`` (see :func:`review_queue`), sorted by priority."""
    checkworthy = table["checkworthy"].fillna(0.5).astype(float)
    reach = np.log2(1 + table["n_sources"]) + 0.5 * np.log2(1 + table["n_articles"])
    momentum = 1 + np.log2(1 + table["recent"])
    needs_look = (table["new_since_verdict"] > 0) | (table["flags"] > 0)
    dismissed = table["verdict"].isna() & (table["review_status"] == "reviewed")  # looked at: nothing to check
    need = np.where(dismissed, 0.05, np.where(table["verdict"].isna(), 1.0, np.where(needs_look, 0.6, 0.05)))
    table["priority"] = (need * checkworthy * reach * momentum).round(3)
    table["hidden"] = (table["boilerplate"].astype(bool) | (checkworthy < QUEUE_FLOOR)) & table["verdict"].isna()
    table["boilerplate"] = table["boilerplate"].astype(bool)
    return table.sort_values(["priority", "size", "id"], ascending=[False, False, True]).reset_index(drop=True)


def review_queue(db: sqlite_utils.Database, weeks: int = 12, *, include_hidden: bool = False,
                 limit: int | None = 200) -> pd.DataFrame:
    """Narratives in the order a fact-checker should look at them: most worth checking first.

    ``priority`` = need x check-worthiness x reach x momentum, where need is 1 for a narrative without a verdict,
    0.6 for one whose verdict needs a look (claims joined after it, or the model flagged it) and 0.05 otherwise
    (a verdict that needs nothing, or a narrative a reviewer marked reviewed without one: nothing to check);
    check-worthiness is the mean of its claims' scores; reach is ``log2(1 + outlets) + 0.5 * log2(1 + articles)``
    (near-duplicates counted once); momentum is ``1 + log2(1 + claims in the last `weeks` weeks of data)``.
    Boilerplate narratives (datelines, credits, a standing line repeated by one outlet) and those whose claims
    average a check-worthiness under 0.25 (opinion, filler) are hidden unless ``include_hidden``.
    """
    table = narratives_table(db, weeks=weeks, with_mix=False)
    if not include_hidden:
        table = table[~table["hidden"]]
    return (table.head(limit) if limit else table).reset_index(drop=True)


def verdict_news(db: sqlite_utils.Database) -> pd.DataFrame:
    """Per narrative with a verdict: claims that joined it after the verdict was given (``new_since_verdict``)
    and open flags on it (``flags``)."""
    news = _df(db, """
        SELECT n.id, count(nc.claim_id) AS new_since_verdict FROM narratives n
        JOIN narrative_claims nc ON nc.narrative_id = n.id AND nc.assigned_at > n.verdict_at
        WHERE n.verdict IS NOT NULL AND n.status = 'active' GROUP BY n.id""")
    flags = _df(db, """SELECT narrative_id AS id, count(*) AS flags FROM narrative_flags
                       WHERE resolved_at IS NULL GROUP BY narrative_id""")
    return news.merge(flags, on="id", how="outer")


def themes_table(db: sqlite_utils.Database) -> pd.DataFrame:
    """One row per active theme: label, narratives, claims, outlets, dates, keywords and its largest narratives."""
    table = _df(db, """
        SELECT t.id, t.label, t.n_narratives, t.size, t.n_sources, t.first_seen, t.last_seen, t.keywords,
               (SELECT group_concat(label, ' | ') FROM (
                   SELECT coalesce(n.label, 'narrative ' || n.id) AS label FROM narratives n
                   WHERE n.theme_id = t.id AND n.status = 'active' ORDER BY n.size DESC, n.id LIMIT 3)
               ) AS top_narratives
        FROM themes t WHERE t.status = 'active' ORDER BY t.size DESC, t.id""")
    table["keywords"] = _joined_keywords(table["keywords"])
    return table


def theme_volume(db: sqlite_utils.Database, freq: str = "Y", limit: int = 8) -> pd.DataFrame:
    """Articles carrying each of the ``limit`` largest themes per period (``period``, ``theme``, ``articles``).

    An article counts once per theme however many of its claims belong to it, and a near-duplicate counts as
    its original (on the original's date), so a syndicated story is one article. The counts per day are stored
    with each theme when it is described and recounted by each update on the days whose claims changed narrative
    (:func:`tracker.store.themes.settle_volume`); days changed since (a reviewer's merge or move) are counted live,
    as is a theme described before counts were stored.
    """
    _freq(freq)
    top = db.execute("""SELECT id, coalesce(label, 'theme ' || id), volume FROM themes WHERE status = 'active'
                        ORDER BY size DESC, id LIMIT ?""", [limit]).fetchall()
    # days whose claims changed narrative since the last update (a reviewer's move or merge) are counted live
    volumes = store_themes.current_volume(db, {t: v for t, _, v in top}, store_themes.stale_days(db))
    frames = [pd.DataFrame({"day": volumes[t]["day"], "articles": volumes[t]["articles"], "theme": f"#{t} {label}"})
              for t, label, _ in top]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["day", "articles", "theme"])
    frame = frame[frame["articles"] > 0]
    if frame.empty:
        return pd.DataFrame({"period": pd.Series(dtype=str), "theme": pd.Series(dtype=str),
                             "articles": pd.Series(dtype=int)})
    frame["period"] = _period_start(pd.to_datetime(frame["day"], errors="coerce"), freq)
    frame = frame.dropna(subset=["period"])
    table = frame.groupby(["period", "theme"], as_index=False)["articles"].sum()
    return table.sort_values(["period", "theme"]).reset_index(drop=True)[["period", "theme", "articles"]]


def _period_start(days: pd.Series, freq: str) -> pd.Series:
    """The first day of each date's period as ``YYYY-MM-DD``, as :data:`FREQS` computes it in SQL (weeks start
    on Monday)."""
    if freq == "W":
        start = days - pd.to_timedelta(days.dt.dayofweek, unit="D")
    elif freq == "M":
        start = days.dt.to_period("M").dt.start_time
    elif freq == "Q":
        start = days.dt.to_period("Q").dt.start_time
    else:
        start = days.dt.to_period("Y").dt.start_time
    return start.dt.strftime("%Y-%m-%d")


def theme_choices(db: sqlite_utils.Database) -> list[tuple[int, str]]:
    """``(id, label)`` of active themes, largest first, for pickers."""
    return [(r[0], r[1] or f"theme {r[0]}") for r in db.execute(
        "SELECT id, label FROM themes WHERE status = 'active' ORDER BY size DESC, id")]


def rising_narratives(db: sqlite_utils.Database, weeks: int = 12, limit: int = 10) -> pd.DataFrame:
    """Active narratives rising fastest in the last ``weeks`` weeks of data.

    Ranked by how far recent claims exceed what the narrative's earlier weekly rate predicts, in Poisson standard
    deviations (``(recent - expected) / sqrt(expected + 1)``), so one stray claim in an old narrative does not
    outrank a burst; ``growth`` (the rate ratio) is shown alongside.
    """
    table = narratives_table(db, weeks=weeks, with_mix=False)
    table = table[table["recent"] > 0].copy()
    expected = (table["recent"] + 1) / table["growth"] - 1  # growth = (recent + 1) / (expected + 1)
    table["surge"] = (table["recent"] - expected) / np.sqrt(expected.clip(lower=0) + 1)
    table = table.sort_values(["surge", "recent"], ascending=False)
    return table[["id", "label", "size", "n_sources", "recent", "before", "growth", "surge", "first_seen",
                  "verdict"]].head(
        limit).reset_index(drop=True)


def narrative_choices(db: sqlite_utils.Database, status: str | None = "active",
                      with_verdict: bool = False) -> list[tuple[int, str]]:
    """``(id, label)`` of narratives (only those with a verdict if asked), largest first, for pickers."""
    where = "WHERE " + " AND ".join((["status = ?"] if status else []) + (
        ["verdict IS NOT NULL"] if with_verdict else ["1"]))
    return [(r[0], r[1] or f"narrative {r[0]}") for r in db.execute(
        f"SELECT id, label FROM narratives {where} ORDER BY size DESC, id", [status] if status else [])]


def narrative(db: sqlite_utils.Database, narrative_id: int) -> dict[str, Any] | None:
    """A narrative's row with keywords and representatives decoded and names resolved; None if unknown."""
    row = _one(db, """
        SELECT n.*, s.name AS first_source, c.text AS central_claim, m.label AS merged_into_label,
               t.label AS theme
        FROM narratives n LEFT JOIN sources s ON s.id = n.first_source_id
        LEFT JOIN claims c ON c.id = n.central_claim_id LEFT JOIN narratives m ON m.id = n.merged_into
        LEFT JOIN themes t ON t.id = n.theme_id AND t.status = 'active'
        WHERE n.id = ?""", [narrative_id])
    if row is None:
        return None
    row.pop("centroid", None)
    row["keywords"] = _json_list(row["keywords"])
    row["representatives"] = _json_list(row["representatives"])
    row["new_since_verdict"] = db.execute(
        "SELECT count(*) FROM narrative_claims WHERE narrative_id = ? AND assigned_at > ?",
        [narrative_id, row["verdict_at"]]).fetchone()[0] if row["verdict_at"] else 0
    return row


def _json_list(raw: Any) -> list[Any]:
    try:
        value = json.loads(raw) if raw else []
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def narrative_flags(db: sqlite_utils.Database, narrative_id: int) -> pd.DataFrame:
    """Open flags on a narrative: what the model wants a reviewer to look at (``id``, ``kind``, ``narrative_id``,
    ``other_id``, ``other_label``, ``detail``, ``created_at``)."""
    return _df(db, """
        SELECT f.id, f.kind, f.narrative_id, f.other_id,
               CASE WHEN f.narrative_id = ? THEN o.label ELSE n.label END AS other_label, f.detail, f.created_at
        FROM narrative_flags f LEFT JOIN narratives n ON n.id = f.narrative_id
        LEFT JOIN narratives o ON o.id = f.other_id
        WHERE f.resolved_at IS NULL AND (f.narrative_id = ? OR f.other_id = ?) ORDER BY f.id DESC""",
               [narrative_id, narrative_id, narrative_id])


def narrative_claims(db: sqlite_utils.Database, narrative_id: int, target: str = "CPEC",
                     limit: int | None = None, offset: int = 0, claim_ids: Iterable[int] | None = None
                     ) -> pd.DataFrame:
    """Claims of a narrative with outlet, date, claimant, attribution and stances, oldest first.

    Args:
        db: the store.
        narrative_id: the narrative.
        target: whose stance to show in ``target_stance``.
        limit, offset: one page of claims (by date, then id); all claims when ``limit`` is None.
        claim_ids: only these claims (still only members of the narrative).
    """
    page = ""
    params: list[Any] = [target, narrative_id]
    if claim_ids is not None:
        ids = [int(c) for c in claim_ids]
        page = f" AND nc.claim_id IN ({','.join('?' * len(ids)) or 'NULL'})"
        params += ids
    elif limit is not None:
        # pick the page's claim ids first (cheap joins), then fetch the details for those only
        page = """ AND nc.claim_id IN (SELECT nc2.claim_id FROM narrative_claims nc2
            JOIN claims c2 ON c2.id = nc2.claim_id JOIN articles a2 ON a2.id = c2.article_id
            WHERE nc2.narrative_id = ? ORDER BY a2.published, c2.id LIMIT ? OFFSET ?)"""
        params += [narrative_id, int(limit), int(offset)]
    return _df(db, f"""
        SELECT c.id AS claim_id, c.text, s.name AS source, s.country, a.published, c.claimant, c.attribution,
               ns.label AS narrative_stance, ns.source AS narrative_stance_by, st.label AS target_stance,
               st.score AS target_stance_p, st.relevance AS target_relevance, nc.assigned_by, nc.similarity,
               a.id AS article_id, a.title, a.url, a.duplicate_of,
               c.start, c.end, coalesce(nc.assigned_at > n.verdict_at, 0) AS new_since_verdict
        FROM narrative_claims nc JOIN narratives n ON n.id = nc.narrative_id
        JOIN claims c ON c.id = nc.claim_id JOIN articles a ON a.id = c.article_id
        LEFT JOIN sources s ON s.id = a.source_id
        LEFT JOIN narrative_stances ns ON ns.claim_id = c.id AND ns.narrative_id = nc.narrative_id
        LEFT JOIN stances st ON st.subject = 'claim' AND st.subject_id = c.id
             AND st.target_id = (SELECT id FROM targets WHERE name = ?)
        WHERE nc.narrative_id = ?{page} ORDER BY a.published, c.id""", params)


def representative_claims(db: sqlite_utils.Database, narrative_id: int, limit: int = 5) -> pd.DataFrame:
    """The narrative's representative claims (as stored), else its most central claims from distinct outlets."""
    columns = ["claim_id", "text", "source", "published", "attribution"]
    info = narrative(db, narrative_id)
    if info is None:
        return pd.DataFrame(columns=columns)
    wanted = [int(c) for c in info["representatives"]]
    if info["central_claim_id"]:
        wanted = [int(info["central_claim_id"]), *[c for c in wanted if c != info["central_claim_id"]]]
    # the stored representatives, then the most central claims (10 per wanted slot) from other outlets
    best = [r[0] for r in db.execute(
        "SELECT claim_id FROM narrative_claims WHERE narrative_id = ? ORDER BY similarity DESC LIMIT ?",
        [narrative_id, limit * 10])]
    claims = narrative_claims(db, narrative_id, claim_ids=list(dict.fromkeys(wanted + best)))
    if claims.empty:
        return pd.DataFrame(columns=columns)
    claims = claims.set_index("claim_id")
    chosen = claims.reindex([c for c in wanted if c in claims.index])
    rest = claims.drop(index=chosen.index).sort_values("similarity", ascending=False)
    rest = rest[~rest["source"].isin(chosen["source"])].drop_duplicates("source")
    return pd.concat([chosen, rest]).head(limit).reset_index()[columns]


def claim_context(db: sqlite_utils.Database, claim_id: int) -> dict[str, Any] | None:
    """A claim with its article's full text and metadata: what the reviewer reads it in."""
    return _one(db, """
        SELECT c.id AS claim_id, c.text AS claim, c.start, c.end, c.claimant, c.attribution, a.id AS article_id,
               a.title, a.url, a.published, a.text, a.duplicate_of, s.name AS source, s.country
        FROM claims c JOIN articles a ON a.id = c.article_id LEFT JOIN sources s ON s.id = a.source_id
        WHERE c.id = ?""", [claim_id])


def narrative_volume(db: sqlite_utils.Database, narrative_id: int, freq: str = "W") -> pd.DataFrame:
    """Claims of a narrative per period and outlet (``period``, ``source``, ``claims``)."""
    return _df(db, f"""
        SELECT {_freq(freq)} AS period, coalesce(s.name, '?') AS source, count(*) AS claims
        FROM narrative_claims nc JOIN claims c ON c.id = nc.claim_id JOIN articles a ON a.id = c.article_id
        LEFT JOIN sources s ON s.id = a.source_id
        WHERE nc.narrative_id = ? AND a.published IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2""", [narrative_id])


def related_narratives(db: sqlite_utils.Database, narrative_id: int, k: int = 5) -> pd.DataFrame:
    """Active narratives nearest to this one by centroid cosine similarity (``id``, ``label``, ``similarity``);
    only centroids computed with the same embedding model are compared."""
    empty = pd.DataFrame(columns=["id", "label", "size", "similarity"])
    mine = db.execute("SELECT centroid, centroid_model FROM narratives WHERE id = ?", [narrative_id]).fetchone()
    if mine is None or mine[0] is None or mine[1] is None:
        return empty
    try:
        query = blob_to_vector(mine[0])
    except BadBlob:
        return empty
    rows = db.execute("SELECT id, label, size, centroid FROM narratives WHERE centroid IS NOT NULL "
                      "AND status = 'active' AND centroid_model = ? AND id != ? AND length(centroid) = ?",
                      [mine[1], narrative_id, len(mine[0])]).fetchall()
    if not rows:
        return empty
    matrix = np.vstack([blob_to_vector(r[3]) for r in rows])
    norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(query) or 1.0)
    sims = matrix @ query / np.where(norms == 0, 1.0, norms)
    order = np.argsort(-sims)[:k]
    return pd.DataFrame({"id": [rows[i][0] for i in order], "label": [rows[i][1] for i in order],
                         "size": [rows[i][2] for i in order], "similarity": np.round(sims[order], 3)})


def narrative_history(db: sqlite_utils.Database, narrative_id: int) -> pd.DataFrame:
    """The narrative's history (model and reviewer events) and reviewer log, oldest first."""
    return _df(db, """
        SELECT at, actor AS who, event AS what, other_id, detail, NULL AS note, 'history' AS log
        FROM narrative_history WHERE narrative_id = ?
        UNION ALL
        SELECT at, reviewer, action, claim_id, payload, note, 'review' FROM reviews WHERE narrative_id = ?
        ORDER BY at, log""", [narrative_id, narrative_id])


def narrative_events(db: sqlite_utils.Database, limit: int = 5) -> pd.DataFrame:
    """First appearance of the biggest active narratives, for marking a time axis (``date``, ``label``)."""
    return _df(db, """
        SELECT first_seen AS date, label, id, size FROM narratives
        WHERE status = 'active' AND first_seen IS NOT NULL ORDER BY size DESC, id LIMIT ?""", [limit])


# --- stance over time ----------------------------------------------------------------------------------------

def _freq(freq: str) -> str:
    try:
        return FREQS[freq]
    except KeyError:
        raise QueryError(f"period must be W (week), M (month), Q (quarter) or Y (year), not {freq!r}") from None


def stance_timeline(
    db: sqlite_utils.Database,
    target: str = "CPEC",
    by: str | None = None,
    freq: str = "W",
    subject: str = "article",
    sources: Iterable[int | str] | None = None,
    dedupe: bool = False,
    narratives: Iterable[int] | None = None,
) -> pd.DataFrame:
    """Stance toward ``target`` per period (and group), with Wilson 95% intervals on the shares.

    Args:
        db: the store.
        target: target name (``targets.name``).
        by: None (one series, group ``all``), ``source``, ``country`` or ``narrative``.
        freq: ``W`` (weeks from Monday) or ``M`` (calendar months).
        subject: count stances of ``article`` or ``claim``.
        sources: only these outlets (names or ids).
        dedupe: leave near-duplicate articles out (count syndicated copies once).
        narratives: with ``by="narrative"``, only these narratives (a store has thousands; a chart shows few).

    Returns:
        Columns period (first day, ISO), group, favor, against, none, n, favor_share, favor_lo, favor_hi,
        against_share, against_lo, against_hi; sorted by group and period.

    Raises:
        QueryError: unknown target, grouping, subject or period.
    """
    period = _freq(freq)
    row = db.execute("SELECT id FROM targets WHERE name = ?", [target]).fetchone()
    if row is None:
        raise QueryError(f"no stance target {target!r}")
    if by is not None and by not in GROUPS:
        raise QueryError(f"group by one of {', '.join(GROUPS)}, not {by!r}")
    if subject not in ("article", "claim"):
        raise QueryError(f"subject must be 'article' or 'claim', not {subject!r}")
    params: list[Any] = []
    stance_on = "s.subject = ? AND s.target_id = ?"
    if by == "narrative":
        # start from the chosen narratives' members (CROSS JOIN keeps SQLite from scanning all stances first)
        wanted_ids = [int(n) for n in narratives] if narratives is not None else None
        only = "" if wanted_ids is None else f"m.narrative_id IN ({','.join('?' * len(wanted_ids)) or 'NULL'})"
        if subject == "article":
            joins = (f"(SELECT DISTINCT c.article_id, m.narrative_id FROM narrative_claims m "
                     f"CROSS JOIN claims c ON c.id = m.claim_id {'WHERE ' + only if only else ''}) m "
                     f"CROSS JOIN articles a ON a.id = m.article_id "
                     f"CROSS JOIN stances s ON s.subject_id = a.id AND {stance_on}")
            params += (wanted_ids or []) + [subject, row[0]]
            where = ["a.published IS NOT NULL"]
        else:
            joins = ("narrative_claims m CROSS JOIN claims c ON c.id = m.claim_id "
                     "CROSS JOIN articles a ON a.id = c.article_id "
                     f"CROSS JOIN stances s ON s.subject_id = c.id AND {stance_on}")
            params += [subject, row[0]] + (wanted_ids or [])
            where = ["a.published IS NOT NULL"] + ([only] if only else [])
            if only:  # the IN list must bind after the stance parameters: move it last in WHERE
                where = [only, "a.published IS NOT NULL"]
        joins += " JOIN narratives n ON n.id = m.narrative_id AND n.status = 'active'"
    else:
        joins = "stances s " + ("JOIN articles a ON a.id = s.subject_id" if subject == "article" else
                                "JOIN claims c ON c.id = s.subject_id JOIN articles a ON a.id = c.article_id")
        if by in ("source", "country"):
            joins += " LEFT JOIN sources src ON src.id = a.source_id"
        where = [stance_on, "a.published IS NOT NULL"]
        params += [subject, row[0]]
    group = {"source": "coalesce(src.name, '?')", "country": "coalesce(src.country, '?')",
             "narrative": "'#' || n.id || ' ' || coalesce(n.label, '')", None: "'all'"}[by]
    if dedupe:
        where.append("a.duplicate_of IS NULL")
    if sources is not None:
        wanted = list(sources)
        ids = [int(x) for x in wanted if isinstance(x, int) or str(x).isdigit()]
        names = [str(x) for x in wanted if not (isinstance(x, int) or str(x).isdigit())]
        ids += [r[0] for r in db.execute(
            f"SELECT id FROM sources WHERE name IN ({','.join('?' * len(names))})", names)] if names else []
        where.append(f"a.source_id IN ({','.join('?' * len(ids)) or 'NULL'})")
        params += ids
    raw = _df(db, f"""
        SELECT {period} AS period, {group} AS "group", {_COUNTED_LABEL} AS label, count(*) AS k FROM {joins}
        WHERE {' AND '.join(where)} AND {_ON_TARGET} GROUP BY 1, 2, 3""", params)
    if raw.empty:
        return pd.DataFrame(columns=TIMELINE_COLUMNS)
    out = raw.pivot_table(index=["period", "group"], columns="label", values="k", fill_value=0, aggfunc="sum")
    out = out.reindex(columns=["favor", "against", "none", "uncertain"], fill_value=0).reset_index()
    out.columns.name = None
    out["n"] = out[["favor", "against", "none", "uncertain"]].sum(axis=1)
    for label in ("favor", "against"):
        out[f"{label}_share"] = out[label] / out["n"]
        out[f"{label}_lo"], out[f"{label}_hi"] = wilson(out[label], out["n"])
    out["uncertain_share"] = out["uncertain"] / out["n"]
    return out[TIMELINE_COLUMNS].sort_values(["group", "period"]).reset_index(drop=True)


def article_stances(db: sqlite_utils.Database, target: str = "CPEC", *, limit: int | None = None) -> pd.DataFrame:
    """Every article's stance toward ``target`` with its probabilities and relevance: ``about`` is False for an
    article the stance stage judged not to be about the target (its stance is then ``none``, with no
    probability); ``stance_by`` is ``model`` or ``reviewer``. Newest first."""
    frame = _df(db, f"""
        SELECT a.id AS article_id, a.title, src.name AS source, a.published, s.label AS stance,
               s.score AS probability, s.p_favor, s.p_against, s.p_none, s.relevance,
               NOT (s.model LIKE '%+off-target' OR s.model LIKE '%+no-mention') AS about, s.source AS stance_by,
               s.model, a.url
        FROM stances s JOIN articles a ON a.id = s.subject_id LEFT JOIN sources src ON src.id = a.source_id
        WHERE s.subject = 'article' AND s.target_id = (SELECT id FROM targets WHERE name = ?)
        ORDER BY a.published DESC, a.id DESC{' LIMIT ?' if limit else ''}""", [target] + ([limit] if limit else []))
    frame["about"] = frame["about"].astype(bool)
    return frame


# --- sources -------------------------------------------------------------------------------------------------

def sources_table(db: sqlite_utils.Database, with_narratives: bool = False) -> pd.DataFrame:
    """One row per outlet: articles, claims, how often it carried a narrative first (and, if asked, how many
    narratives it carries: that reads every clustered claim, so it is off by default)."""
    table = _df(db, """
        SELECT s.id, s.name, s.country, s.kind, count(a.id) AS articles, sum(a.duplicate_of IS NOT NULL) AS copies,
               min(a.published) AS first_article, max(a.published) AS last_article
        FROM sources s LEFT JOIN articles a ON a.source_id = s.id GROUP BY s.id ORDER BY articles DESC, s.name""")
    if with_narratives:
        carried = _df(db, """
            SELECT a.source_id AS id, count(*) AS claims, count(DISTINCT nc.narrative_id) AS narratives
            FROM articles a CROSS JOIN claims c ON c.article_id = a.id
            LEFT JOIN narrative_claims nc ON nc.claim_id = c.id GROUP BY a.source_id""")
    else:  # index-only: claims per article from the (article_id, idx) index
        carried = _df(db, """SELECT a.source_id AS id, count(*) AS claims FROM articles a
                             CROSS JOIN claims c ON c.article_id = a.id GROUP BY a.source_id""")
    first = _df(db, """SELECT first_source_id AS id, count(*) AS first_to_carry FROM narratives
                       WHERE status = 'active' AND first_source_id IS NOT NULL GROUP BY 1""")
    table = table.merge(carried, on="id", how="left").merge(first, on="id", how="left")
    for col in ("claims", "narratives", "first_to_carry", "copies"):
        if col in table:
            table[col] = table[col].fillna(0).astype(int)
    return table


def source_names(db: sqlite_utils.Database) -> list[str]:
    """Outlet names, busiest first."""
    return [r[0] for r in db.execute(
        "SELECT s.name FROM sources s LEFT JOIN articles a ON a.source_id = s.id GROUP BY s.id "
        "ORDER BY count(a.id) DESC, s.name")]


def source_volume(db: sqlite_utils.Database, source_id: int, freq: str = "M") -> pd.DataFrame:
    """Articles of one outlet per period (``period``, ``articles``)."""
    return _df(db, f"""SELECT {_freq(freq)} AS period, count(*) AS articles FROM articles a
                       WHERE a.source_id = ? AND a.published IS NOT NULL GROUP BY 1 ORDER BY 1""", [source_id])


def source_narrative_count(db: sqlite_utils.Database, source_id: int) -> int:
    """How many active narratives an outlet carries (at least one claim in each)."""
    return int(db.execute("""
        SELECT count(DISTINCT nc.narrative_id) FROM articles a CROSS JOIN claims c ON c.article_id = a.id
        JOIN narrative_claims nc ON nc.claim_id = c.id JOIN narratives n ON n.id = nc.narrative_id
        WHERE a.source_id = ? AND n.status = 'active'""", [source_id]).fetchone()[0])


def source_narratives(db: sqlite_utils.Database, source_id: int, limit: int = 100) -> pd.DataFrame:
    """Narratives an outlet carries: its claims in each, its first date, and whether it carried it first."""
    return _df(db, """
        SELECT n.id, n.label, count(*) AS claims, min(a.published) AS first_here, n.first_seen,
               n.first_source_id = ? AS first_to_carry, n.size, n.verdict
        FROM articles a JOIN claims c ON c.article_id = a.id JOIN narrative_claims nc ON nc.claim_id = c.id
        JOIN narratives n ON n.id = nc.narrative_id
        WHERE a.source_id = ? AND n.status = 'active' GROUP BY n.id ORDER BY claims DESC LIMIT ?""",
        [source_id, source_id, limit])


def narrative_appearances(db: sqlite_utils.Database, narrative_id: int, limit: int = 50) -> list[tuple[Any, ...]]:
    """``(url, title, published, outlet)`` of the articles carrying a narrative (those with a URL), earliest
    first: where a ClaimReview says the claim appeared."""
    return db.execute(
        """
        SELECT a.url, a.title, min(a.published) AS published, s.name FROM narrative_claims nc
        JOIN claims c ON c.id = nc.claim_id JOIN articles a ON a.id = c.article_id
        LEFT JOIN sources s ON s.id = a.source_id
        WHERE nc.narrative_id = ? AND a.url IS NOT NULL
        GROUP BY a.id ORDER BY a.published IS NULL, a.published, a.id LIMIT ?
        """, [narrative_id, limit]).fetchall()


def review_log(db: sqlite_utils.Database, limit: int | None = None) -> pd.DataFrame:
    """The review log, newest first: who did what, when, to which narrative or claim."""
    return _df(db, "SELECT id, at, reviewer, action, narrative_id, claim_id, payload, note FROM reviews "
                   "ORDER BY id DESC" + (" LIMIT ?" if limit else ""), [limit] if limit else [])
