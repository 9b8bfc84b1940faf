"""Themes: narratives grouped one level up, with stable ids, keywords, reviewer names, and the CLI stage."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.test_narratives import World, batch
from tracker import review
from tracker.embed import get_embedder
from tracker.pipeline import run_themes as run_themes_stage
from tracker.store import themes as store_themes
from tracker.store.base import vector_to_blob
from tracker.store.themes import members as theme_members
from tracker.themes import attach, group_narratives

HASHING = get_embedder("hashing")


def run_themes(world: World, *, threshold: float) -> dict:
    """A full grouping at ``threshold`` as the theme floor (the test centroids are three-dimensional)."""
    import os

    os.environ["TRACKER_THEME_FLOOR"] = str(threshold)
    os.environ["TRACKER_THEME_MAX_SHARE"] = "1.0"
    try:
        return run_themes_stage(world.store, HASHING, full=True)
    finally:
        del os.environ["TRACKER_THEME_FLOOR"], os.environ["TRACKER_THEME_MAX_SHARE"]


def unit(*values: float) -> np.ndarray:
    v = np.asarray(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_group_narratives_joins_close_centroids_and_leaves_loners_out() -> None:
    rng = np.random.default_rng(0)
    axes = np.eye(16, dtype=np.float32)
    centroids = np.stack([axes[i % 3] + 0.15 * rng.standard_normal(16).astype(np.float32) for i in range(30)]
                         + [axes[10]])
    labels = group_narratives(centroids, floor=0.6, max_share=0.5)
    for k in range(3):  # each storyline in one theme, none mixing two
        assert len(set(labels[k:30:3].tolist())) == 1 and labels[k] >= 0
    assert len({labels[0], labels[1], labels[2]}) == 3
    assert labels[30] == -1  # nothing close enough: no theme


def test_the_cap_holds_by_construction() -> None:
    rng = np.random.default_rng(1)
    blob = np.ones(16, np.float32) + 0.1 * rng.standard_normal((60, 16)).astype(np.float32)
    labels = group_narratives(blob, floor=0.5, max_share=0.15)
    assert np.bincount(labels[labels >= 0]).max() <= int(0.15 * 60)
    assert np.array_equal(labels, group_narratives(blob, floor=0.5, max_share=0.15))  # deterministic


def test_the_previous_themes_are_kept_when_nothing_changed() -> None:
    rng = np.random.default_rng(2)
    axes = np.eye(16, dtype=np.float32)
    centroids = np.stack([axes[i % 4] + 0.2 * rng.standard_normal(16).astype(np.float32) for i in range(40)])
    first = group_narratives(centroids, floor=0.5, max_share=0.5)
    again = group_narratives(centroids, floor=0.5, max_share=0.5, previous=first)
    assert np.array_equal(first, again)


def test_group_narratives_handles_tiny_inputs() -> None:
    assert group_narratives(np.zeros((0, 3), np.float32)).tolist() == []
    assert group_narratives(np.ones((1, 3), np.float32)).tolist() == [-1]


def test_attach_follows_the_nearest_themed_neighbours_above_the_floor() -> None:
    X = np.array([[1, 0, 0], [0.95, 0.05, 0], [0, 1, 0], [0.97, 0.03, 0], [0, 0, 1]], np.float32)
    themes = np.array([4, 4, 9, -1, -1])
    assert attach(X, themes, np.array([3, 4]), floor=0.6).tolist() == [4, -1]


@pytest.fixture
def store(tmp_path: Path) -> World:
    s = World(tmp_path, get_embedder("hashing"))
    s.add(batch(range(4)))
    return s


def place(store: World, directions: dict[str, np.ndarray]) -> dict[str, int]:
    """Overwrite the topic narratives' centroids, so the test decides which ones belong together."""
    ids = {}
    for topic, vector in directions.items():
        ids[topic] = store.topic_narrative(topic)
        with store.store.write() as db:
            db.execute("UPDATE narratives SET centroid = ? WHERE id = ?", [vector_to_blob(vector), ids[topic]])
    return ids


def themes_of(store: World) -> dict[int, int | None]:
    return dict(store.db.execute("SELECT id, theme_id FROM narratives WHERE status = 'active'").fetchall())


def test_run_themes_groups_narratives_with_stable_ids_keywords_and_counts(store: World) -> None:
    ids = place(store, {"debt": unit(1, 0.2, 0), "jobs": unit(1, -0.2, 0), "naval": unit(0, 0.2, 1),
                        "attack": unit(0, -0.2, 1)})
    counts = run_themes(store, threshold=0.8)
    assert counts == {"themes": 2, "new": 2, "dissolved": 0, "narratives_in_themes": 4, "regrouped": True}
    theme = themes_of(store)
    assert theme[ids["debt"]] == theme[ids["jobs"]] != theme[ids["naval"]] == theme[ids["attack"]]
    row = store.db.execute("SELECT label, keywords, n_narratives, size, n_sources, first_seen, last_seen, status "
                           "FROM themes WHERE id = ?", [theme[ids["debt"]]]).fetchone()
    label, keywords, n_narratives, size, n_sources, first_seen, last_seen, status = row
    assert n_narratives == 2 and size == 8 and n_sources >= 2 and first_seen <= last_seen and status == "active"
    assert "debt" in keywords and "jobs" in keywords and label
    assert sorted(theme_members(store.db)[theme[ids["naval"]]]) == sorted([ids["naval"], ids["attack"]])
    # unchanged narratives: same themes, nothing new
    assert run_themes(store, threshold=0.8)["new"] == 0
    assert themes_of(store) == theme
    # the articles per day it stores are those of its claims, and no day is left to recount
    for theme_id in set(theme.values()):
        stored = json.loads(store.db.execute("SELECT volume FROM themes WHERE id = ?", [theme_id]).fetchone()[0])
        assert stored == store_themes.day_volume(store.db, [theme_id])[theme_id] and sum(stored["articles"]) >= 4
    assert not store_themes.stale_days(store.db)


def test_theme_ids_follow_their_storyline_and_empty_themes_dissolve(store: World) -> None:
    ids = place(store, {"debt": unit(1, 0.2, 0), "jobs": unit(1, -0.2, 0), "naval": unit(0, 0.2, 1),
                        "attack": unit(0, -0.2, 1)})
    run_themes(store, threshold=0.8)
    before = themes_of(store)
    place(store, {"jobs": unit(0.1, 1, 0)})  # jobs drifts away: the debt theme has one narrative left
    counts = run_themes(store, threshold=0.8)
    after = themes_of(store)
    assert after[ids["naval"]] == before[ids["naval"]] and after[ids["debt"]] is None
    assert counts["dissolved"] == 1
    status = store.db.execute("SELECT status FROM themes WHERE id = ?", [before[ids["debt"]]]).fetchone()[0]
    assert status == "dissolved"


def test_a_reviewer_name_for_a_theme_is_kept(store: World) -> None:
    ids = place(store, {"debt": unit(1, 0.2, 0), "jobs": unit(1, -0.2, 0)})
    run_themes(store, threshold=0.8)
    theme_id = themes_of(store)[ids["debt"]]
    review.rename_theme(store.store, theme_id, "Economy of the corridor", reviewer="Ayesha")
    run_themes(store, threshold=0.8)
    assert store.db.execute("SELECT label, label_locked FROM themes WHERE id = ?", [theme_id]).fetchone() == (
        "Economy of the corridor", 1)
    action, payload = store.db.execute("SELECT action, payload FROM reviews").fetchone()
    assert action == "rename-theme" and f'"theme_id": {theme_id}' in payload
    with pytest.raises(review.ReviewError, match="no theme"):
        review.rename_theme(store.store, 999, "x", reviewer="Ayesha")
    with pytest.raises(review.ReviewError, match="empty"):
        review.rename_theme(store.store, theme_id, "  ", reviewer="Ayesha")


def test_run_themes_on_a_store_without_narratives(tmp_path: Path) -> None:
    s = World(tmp_path, get_embedder("hashing"))
    assert run_themes(s, threshold=0.5) == {"themes": 0, "new": 0, "dissolved": 0, "narratives_in_themes": 0,
                                            "regrouped": True}


def test_a_reviewer_choice_of_theme_holds_through_regrouping(store: World) -> None:
    ids = place(store, {"debt": unit(1, 0.2, 0), "jobs": unit(1, -0.2, 0), "naval": unit(0, 0.2, 1),
                        "attack": unit(0, -0.2, 1)})
    run_themes(store, threshold=0.8)
    economy, security = themes_of(store)[ids["debt"]], themes_of(store)[ids["naval"]]
    review.set_theme(store.store, ids["jobs"], security, reviewer="Ayesha")  # jobs: a security matter, says she
    review.set_theme(store.store, ids["attack"], None, reviewer="Ayesha")    # attack: in no theme
    counts = run_themes(store, threshold=0.8)
    after = themes_of(store)
    assert after[ids["jobs"]] == security and after[ids["attack"]] is None
    # pinned narratives stay out of the grouping, so debt and naval are each alone and get no theme: economy
    # dissolves, security lives on through the narrative the reviewer put there
    assert after[ids["debt"]] is None and after[ids["naval"]] is None and counts["dissolved"] == 1
    assert store.db.execute("SELECT status, n_narratives FROM themes WHERE id = ?", [security]).fetchone() == (
        "active", 1)
    assert store.db.execute("SELECT status FROM themes WHERE id = ?", [economy]).fetchone() == ("dissolved",)
    actions = store.db.execute("SELECT action, narrative_id FROM reviews ORDER BY id").fetchall()
    assert actions == [("set-theme", ids["jobs"]), ("set-theme", ids["attack"])]
    with pytest.raises(review.ReviewError, match="no active theme"):
        review.set_theme(store.store, ids["debt"], economy, reviewer="Ayesha")
