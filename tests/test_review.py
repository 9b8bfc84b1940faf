"""Tests for tracker.review: every action writes its change, its constraints and one review log row."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sample_store import make_sample_store

from tracker import TrackerError, review
from tracker.review import ReviewError


@pytest.fixture
def db():
    return make_sample_store()


def one(db, sql, params=()):
    return db.execute(sql, list(params)).fetchone()


def members(db, nid):
    return {r[0] for r in db.execute("SELECT claim_id FROM narrative_claims WHERE narrative_id = ?", [nid])}


def last_review(db):
    return one(db, "SELECT reviewer, action, narrative_id, claim_id, payload FROM reviews "
                   "ORDER BY id DESC LIMIT 1")


def constraints(db, claim_id):
    return set(db.execute("SELECT kind, narrative_id FROM narrative_constraints WHERE claim_id = ?", [claim_id]))


def test_rename_locks_label_and_logs(db):
    review.rename(db, 2, "  CPEC is a game changer ", reviewer="Ayesha")
    assert one(db, "SELECT label, label_locked FROM narratives WHERE id = 2") == ("CPEC is a game changer", 1)
    assert last_review(db)[:3] == ("Ayesha", "rename", 2)
    assert one(db, "SELECT event, actor FROM narrative_history WHERE narrative_id = 2 ORDER BY id DESC") == (
        "renamed", "Ayesha")


def test_actions_need_a_reviewer_and_roll_back(db):
    before = one(db, "SELECT count(*) FROM reviews")
    with pytest.raises(TrackerError):
        review.rename(db, 2, "x", reviewer=" ")
    with pytest.raises(ReviewError):
        review.rename(db, 999, "x", reviewer="A")
    with pytest.raises(ReviewError):
        review.set_verdict(db, 1, "pants on fire", reviewer="A")
    assert one(db, "SELECT count(*) FROM reviews") == before
    assert one(db, "SELECT label FROM narratives WHERE id = 2")[0] == "CPEC creates jobs and growth"


def test_merge_moves_claims_and_repoints_constraints(db):
    review.exclude(db, sorted(members(db, 5))[0], 5, reviewer="A")  # a constraint on a source narrative
    excluded = sorted(members(db, 4))[0]
    review.exclude(db, excluded, 5, reviewer="A")  # excluded from 5 ...
    size4, size5, size1 = (one(db, "SELECT size FROM narratives WHERE id = ?", [i])[0] for i in (4, 5, 1))
    assigned = dict(db.execute("SELECT claim_id, assigned_by FROM narrative_claims WHERE narrative_id IN (4, 5)"))
    moved = review.merge(db, [4, 5], 1, reviewer="Bilal")
    assert moved == size4 + size5
    assert one(db, "SELECT size FROM narratives WHERE id = 1")[0] == size1 + size4 + size5
    for nid in (4, 5):
        assert one(db, "SELECT status, merged_into, size FROM narratives WHERE id = ?", [nid]) == ("merged", 1, 0)
        assert one(db, "SELECT event, other_id FROM narrative_history WHERE narrative_id = ? ORDER BY id DESC",
                   [nid]) == ("merged", 1)
    assert not members(db, 4) and not members(db, 5)
    # the reviewer decided these claims belong together: later clustering must not split them apart
    assert set(dict(db.execute(f"SELECT claim_id, assigned_by FROM narrative_claims WHERE claim_id IN "
                               f"({','.join(map(str, assigned))})")).values()) == {"reviewer"}
    assert one(db, "SELECT count(*) FROM narrative_constraints WHERE narrative_id IN (4, 5)")[0] == 0
    assert ("exclude", 1) in constraints(db, excluded)
    assert one(db, "SELECT count(*) FROM narrative_stances WHERE narrative_id IN (4, 5)")[0] == 0
    assert last_review(db)[:3] == ("Bilal", "merge", 1)
    with pytest.raises(ReviewError):
        review.merge(db, [4], 1, reviewer="Bilal")  # already merged


def test_merge_leaves_out_claims_excluded_from_target(db):
    claim = sorted(members(db, 4))[0]
    review.exclude(db, claim, 1, reviewer="A")  # not a member of 1: only the constraint is written
    review.merge(db, [4], 1, reviewer="A")
    assert claim not in members(db, 1)
    assert one(db, "SELECT 1 FROM unclustered_claims WHERE claim_id = ?", [claim])


def test_split_creates_pinned_narrative(db):
    claims = sorted(members(db, 3))[:3]
    size = one(db, "SELECT size FROM narratives WHERE id = 3")[0]
    new = review.split(db, 3, claims, "Chinese warships at Gwadar", reviewer="Chen")
    assert members(db, new) == set(claims)
    assert one(db, "SELECT size, label, label_locked, status FROM narratives WHERE id = ?", [new]) == (
        3, "Chinese warships at Gwadar", 1, "active")
    assert one(db, "SELECT size FROM narratives WHERE id = 3")[0] == size - 3
    for cid in claims:
        assert constraints(db, cid) == {("pin", new), ("exclude", 3)}
        assert one(db, "SELECT assigned_by FROM narrative_claims WHERE claim_id = ?", [cid])[0] == "reviewer"
    assert one(db, "SELECT event, other_id FROM narrative_history WHERE narrative_id = 3 ORDER BY id DESC") == (
        "split", new)
    assert json.loads(last_review(db)[4])["new"] == new
    with pytest.raises(ReviewError):
        review.split(db, 3, [claims[0]], "x", reviewer="Chen")  # no longer in 3
    with pytest.raises(ReviewError):
        review.split(db, new, claims, "all of it", reviewer="Chen")


def test_move_and_exclude(db):
    claim = sorted(members(db, 2))[0]
    review.move(db, claim, 1, reviewer="Dana")
    assert claim in members(db, 1) and claim not in members(db, 2)
    assert constraints(db, claim) == {("pin", 1), ("exclude", 2)}
    assert last_review(db)[:4] == ("Dana", "move", 1, claim)
    size = one(db, "SELECT size FROM narratives WHERE id = 1")[0]
    review.exclude(db, claim, 1, reviewer="Dana")
    assert claim not in members(db, 1)
    assert one(db, "SELECT size FROM narratives WHERE id = 1")[0] == size - 1
    assert constraints(db, claim) == {("exclude", 1), ("exclude", 2)}
    assert one(db, "SELECT 1 FROM unclustered_claims WHERE claim_id = ?", [claim])
    review.move(db, claim, 2, reviewer="Dana")  # a reviewer may put it back: pin replaces the exclude
    assert constraints(db, claim) == {("exclude", 1), ("pin", 2)}
    assert not one(db, "SELECT 1 FROM unclustered_claims WHERE claim_id = ?", [claim])


def test_refresh_counts_near_duplicates_once(db):
    # articles 3 and 61 are copies: their claims are in the same narratives
    nid = one(db, "SELECT nc.narrative_id FROM narrative_claims nc JOIN claims c ON c.id = nc.claim_id "
                  "WHERE c.article_id = 61")[0]
    row = one(db, "SELECT size, n_articles, n_sources FROM narratives WHERE id = ?", [nid])
    distinct_articles = one(db, "SELECT count(DISTINCT c.article_id) FROM narrative_claims nc JOIN claims c "
                                "ON c.id = nc.claim_id WHERE nc.narrative_id = ?", [nid])[0]
    assert row[1] == distinct_articles - 1
    before = one(db, "SELECT centroid FROM narratives WHERE id = ?", [nid])[0]
    review.exclude(db, sorted(members(db, nid))[0], nid, reviewer="A")
    assert one(db, "SELECT centroid FROM narratives WHERE id = ?", [nid])[0] != before


def test_lock_verdict_status(db):
    review.lock(db, 2, reviewer="E")
    assert one(db, "SELECT locked FROM narratives WHERE id = 2")[0] == 1
    review.unlock(db, 2, reviewer="E")
    assert one(db, "SELECT locked FROM narratives WHERE id = 2")[0] == 0
    review.set_verdict(db, 2, "mixed", note="Some jobs, fewer than claimed.", url="https://fc.example/2",
                       reviewer="E")
    assert one(db, "SELECT verdict, verdict_note, verdict_url, verdict_by, review_status FROM narratives "
                   "WHERE id = 2") == ("mixed", "Some jobs, fewer than claimed.", "https://fc.example/2", "E",
                                       "reviewed")
    review.set_review_status(db, 2, "in review", reviewer="E")
    assert one(db, "SELECT review_status FROM narratives WHERE id = 2")[0] == "in review"
    with pytest.raises(ReviewError):
        review.set_review_status(db, 2, "done", reviewer="E")
    actions = [r[0] for r in db.execute("SELECT action FROM reviews WHERE narrative_id = 2 ORDER BY id")]
    assert actions == ["lock", "unlock", "verdict", "status"]


def test_stance_corrections_become_training_labels(db):
    review.correct_stance(db, "claim", 1, "CPEC", "none", reviewer="F")
    assert one(db, "SELECT label, score, model, source FROM stances WHERE subject = 'claim' AND subject_id = 1 "
                   "AND target_id = 1") == ("none", 1.0, "reviewer:F", "reviewer")
    text = one(db, "SELECT text FROM claims WHERE id = 1")[0]
    assert one(db, "SELECT task, target, text, label, origin, claim_id FROM stance_labels ORDER BY id DESC") == (
        "target", "CPEC", text, "none", "reviewer", 1)
    review.correct_stance(db, "article", 7, "Gwadar", "against", reviewer="F")
    assert one(db, "SELECT label, source FROM stances WHERE subject = 'article' AND subject_id = 7 AND "
                   "target_id = 2") == ("against", "reviewer")
    assert "<script>" in one(db, "SELECT text FROM stance_labels ORDER BY id DESC")[0]
    nid = one(db, "SELECT narrative_id FROM narrative_claims WHERE claim_id = 2")[0]
    review.correct_narrative_stance(db, 2, nid, "disagree", reviewer="F")
    assert one(db, "SELECT label, source, model FROM narrative_stances WHERE claim_id = 2 AND narrative_id = ?",
               [nid]) == ("disagree", "reviewer", "reviewer:F")
    label = one(db, "SELECT label FROM narratives WHERE id = ?", [nid])[0]
    assert one(db, "SELECT task, target, label FROM stance_labels ORDER BY id DESC") == (
        "narrative", label, "disagree")
    with pytest.raises(ReviewError):
        review.correct_stance(db, "claim", 1, "Nowhere", "favor", reviewer="F")
    with pytest.raises(ReviewError):
        review.correct_narrative_stance(db, 2, nid, "favor", reviewer="F")
    assert [r[0] for r in db.execute("SELECT action FROM reviews WHERE reviewer = 'F'")] == [
        "stance", "stance", "narrative_stance"]


def test_review_cli(tmp_path):
    import click

    from tracker.cli_dashboard import review_group

    path = str(tmp_path / "s.db")
    make_sample_store(path).close()

    @click.group()
    def cli() -> None:
        pass

    cli.add_command(review_group)
    runner = CliRunner()
    result = runner.invoke(cli, ["review", "rename", "2", "Jobs narrative", "--reviewer", "G", "--db", path])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["review", "verdict", "2", "accurate", "--reviewer", "G", "--db", path])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["review", "merge", "4", "--into", "2", "--reviewer", "G", "--db", path])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["review", "merge", "4", "--into", "2", "--reviewer", "G", "--db", path])
    assert result.exit_code == 1 and "merged, not active" in result.output and "Traceback" not in result.output
    for name, command in review_group.commands.items():
        assert "Example:" in (command.help or ""), name
    from tracker.db import open_db

    db = open_db(path)
    assert db.execute("SELECT label, verdict FROM narratives WHERE id = 2").fetchone() == (
        "Jobs narrative", "accurate")
    assert [r[0] for r in db.execute("SELECT action FROM reviews WHERE reviewer = 'G'")] == [
        "rename", "verdict", "merge"]
