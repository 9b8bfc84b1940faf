"""Tests for tracker.queries on the sample store."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sample_store import make_sample_store

from tracker.store import queries
from tracker.store.queries import QueryError, stance_timeline, wilson


@pytest.fixture(scope="module")
def db():
    """A read connection to the sample store (queries take a connection)."""
    return make_sample_store().db


def test_store_status(db):
    status = queries.store_status(db)
    assert status["articles"] == 61 and status["sources"] == 8 and status["near_duplicates"] == 1
    assert status["first"] <= status["last"]
    assert status["claims"] == status["embedded"] > 0
    assert status["narratives_active"] == 5
    assert set(status) >= {"clustered_claims", "stances", "reviews"}


def test_wilson_matches_known_values():
    lo, hi = wilson(5, 10)
    assert math.isclose(float(lo), 0.2366, abs_tol=1e-3) and math.isclose(float(hi), 0.7634, abs_tol=1e-3)
    lo, hi = wilson(np.array([0, 3]), np.array([0, 3]))
    assert np.isnan(lo[0]) and np.isnan(hi[0]) and hi[1] == 1.0 and lo[1] < 0.5


def test_stance_timeline_columns_and_totals(db):
    frame = stance_timeline(db, "CPEC", freq="M")
    assert list(frame.columns) == queries.TIMELINE_COLUMNS
    assert frame["n"].sum() == 61  # every dated article has a stance
    assert (frame["favor_lo"] <= frame["favor_share"]).all() and (frame["favor_share"] <= frame["favor_hi"]).all()
    assert all(p.endswith("-01") for p in frame["period"])
    assert stance_timeline(db, "CPEC", freq="M", dedupe=True)["n"].sum() == 60


def test_stance_timeline_weeks_start_monday_and_groups(db):
    import datetime as dt

    weekly = stance_timeline(db, "CPEC", freq="W", subject="claim", by="country")
    assert {dt.date.fromisoformat(p).weekday() for p in weekly["period"]} == {0}
    assert set(weekly["group"]) == {"PK", "CN", "IN", "GB", "US"}
    by_source = stance_timeline(db, "CPEC", by="source", sources=["Karachi Ledger", 1])
    assert set(by_source["group"]) == {"Karachi Ledger", "Islamabad Daily Star"}
    by_narrative = stance_timeline(db, "CPEC", by="narrative", subject="claim")
    assert by_narrative["group"].str.startswith("#").all()


def test_stance_timeline_errors(db):
    with pytest.raises(QueryError):
        stance_timeline(db, "Nope")
    with pytest.raises(QueryError):
        stance_timeline(db, freq="D")
    with pytest.raises(QueryError):
        stance_timeline(db, by="colour")
    assert stance_timeline(db, "Gwadar").empty


def test_narratives_table_and_rising(db):
    table = queries.narratives_table(db, weeks=26)
    assert len(table) == 5
    assert {"growth", "stance_mix", "verdict", "review_status", "n_sources"} <= set(table.columns)
    assert table.loc[table["id"] == 1, "verdict"].item() == "misleading"
    rising = queries.rising_narratives(db, weeks=26)
    assert rising.iloc[0]["id"] == 3  # the Gwadar narrative dominates the last weeks of data
    assert (rising["recent"] > 0).all()


def test_narrative_detail_queries(db):
    info = queries.narrative(db, 1)
    assert info["keywords"] == ["debt", "loans", "trap"] and "centroid" not in info
    claims = queries.narrative_claims(db, 1)
    assert len(claims) == info["size"]
    for _, row in claims.iterrows():
        ctx = queries.claim_context(db, int(row["claim_id"]))
        assert ctx["text"][ctx["start"]:ctx["end"]] == row["text"]
    reps = queries.representative_claims(db, 1)
    assert reps.iloc[0]["claim_id"] == info["central_claim_id"]
    assert queries.narrative_volume(db, 1)["claims"].sum() == info["size"]
    related = queries.related_narratives(db, 1, k=3)
    assert len(related) == 3 and 1 not in set(related["id"])
    assert (np.diff(related["similarity"].to_numpy()) <= 0).all()
    history = queries.narrative_history(db, 1)
    assert set(history["log"]) == {"history", "review"}
    assert queries.narrative(db, 999) is None


def test_sources_queries(db):
    table = queries.sources_table(db)
    assert len(table) == 8 and table["first_to_carry"].sum() == 5
    full = queries.sources_table(db, with_narratives=True)
    assert (full["claims"] == table["claims"]).all()
    assert queries.source_narrative_count(db, 1) == full.loc[full["id"] == 1, "narratives"].item() == 5
    assert queries.source_volume(db, 1)["articles"].sum() == table.loc[table["id"] == 1, "articles"].item()
    carried = queries.source_narratives(db, 1)
    assert carried["first_to_carry"].sum() == table.loc[table["id"] == 1, "first_to_carry"].item()
    assert queries.narrative_events(db, limit=2)["size"].is_monotonic_decreasing
    assert queries.targets(db) == ["CPEC", "Gwadar"]
    assert queries.articles_per_week(db)["articles"].sum() == 61
    assert queries.narrative_choices(db, with_verdict=True) == [(1, "CPEC is a debt trap for Pakistan")]


def test_themes_queries(db):
    themes = queries.themes_table(db)
    assert themes["id"].tolist() == [1, 2] and themes["n_narratives"].tolist() == [3, 2]
    assert themes["size"].sum() == queries.narratives_table(db)["size"].sum()
    assert "CPEC is a debt trap for Pakistan" in themes.loc[0, "top_narratives"]
    assert queries.theme_choices(db) == [(1, themes.loc[0, "label"]), (2, themes.loc[1, "label"])]
    table = queries.narratives_table(db).set_index("id")
    assert table.loc[3, "theme_id"] == 2 and table.loc[1, "theme"] == themes.loc[0, "label"]
    assert queries.narrative(db, 4)["theme"] == themes.loc[1, "label"]
    yearly = queries.theme_volume(db, freq="Y")
    assert list(yearly.columns) == ["period", "theme", "articles"] and yearly["theme"].nunique() == 2
    # an article counts once per theme per period, so no period can exceed the articles dated in it
    dated = dict(db.execute("SELECT substr(published, 1, 4), count(*) FROM articles WHERE duplicate_of IS NULL "
                            "GROUP BY 1").fetchall())
    for period, k in zip(yearly["period"], yearly["articles"], strict=True):
        assert 0 < k <= dated[period[:4]]
    assert len(queries.theme_volume(db, freq="Y", limit=1)["theme"].unique()) == 1
    with pytest.raises(QueryError):
        queries.theme_volume(db, freq="D")


def _counted_from_claims(db, freq):
    """Theme volume straight from the claims, in SQL: distinct originals per theme and period of the original."""
    period = queries.FREQS[freq].replace("a.published", "coalesce(o.published, a.published)")
    return db.execute(f"""
        SELECT {period}, '#' || t.id || ' ' || t.label, count(DISTINCT coalesce(o.id, a.id))
        FROM themes t JOIN narratives n ON n.theme_id = t.id AND n.status = 'active'
        JOIN narrative_claims nc ON nc.narrative_id = n.id JOIN claims c ON c.id = nc.claim_id
        JOIN articles a ON a.id = c.article_id LEFT JOIN articles o ON o.id = a.duplicate_of
        WHERE coalesce(o.published, a.published) IS NOT NULL AND t.status = 'active'
        GROUP BY 1, 2 ORDER BY 1, 2""").fetchall()


@pytest.mark.parametrize("freq", ["W", "M", "Q", "Y"])
def test_theme_volume_stored_counts_match_a_live_count(freq):
    db = make_sample_store().db
    stored = queries.theme_volume(db, freq=freq)
    assert db.execute("SELECT count(*) FROM themes WHERE volume IS NULL").fetchone()[0] == 0
    assert [tuple(r) for r in stored.itertuples(index=False)] == _counted_from_claims(db, freq)
    db.execute("UPDATE themes SET volume = NULL")  # a store whose themes were described before counts were stored
    assert queries.theme_volume(db, freq=freq).equals(stored)


def test_theme_volume_follows_a_reviewers_moves_at_once_and_settles():
    from tracker import review
    from tracker.store import themes as store_themes

    store = make_sample_store()
    db = store.db
    theme_of = dict(db.execute("SELECT id, theme_id FROM narratives WHERE status = 'active'").fetchall())
    first = next(n for n, t in theme_of.items() if t == 1)
    other = next(n for n, t in theme_of.items() if t == 2)
    claim = db.execute("SELECT claim_id FROM narrative_claims WHERE narrative_id = ? ORDER BY claim_id LIMIT 1",
                       [first]).fetchone()[0]
    review.move(store, claim, other, reviewer="ana")
    review.merge(store, [next(n for n, t in theme_of.items() if t == 2 and n != other)], first, reviewer="ana")
    assert store_themes.stale_days(db)
    for freq in "WY":
        assert [tuple(r) for r in queries.theme_volume(db, freq=freq).itertuples(index=False)] == \
            _counted_from_claims(db, freq)
    with store.write() as w:
        assert store_themes.settle_volume(w) > 0
    assert not store_themes.stale_days(db)
    assert [tuple(r) for r in queries.theme_volume(db, freq="M").itertuples(index=False)] == \
        _counted_from_claims(db, "M")
