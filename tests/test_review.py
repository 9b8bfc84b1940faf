"""Tests for tracker.review: every action writes its change, its constraints and one review log row."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sample_store import make_sample_store

from tracker import TrackerError, review
from tracker.review import ReviewError


@pytest.fixture
def store():
    return make_sample_store()


def one(store, sql, params=()):
    return store.db.execute(sql, list(params)).fetchone()


def members(store, nid):
    return {r[0] for r in store.db.execute("SELECT claim_id FROM narrative_claims WHERE narrative_id = ?", [nid])}


def last_review(store):
    return one(store, "SELECT reviewer, action, narrative_id, claim_id, payload FROM reviews "
                   "ORDER BY id DESC LIMIT 1")


def constraints(store, claim_id):
    return set(store.db.execute("SELECT kind, narrative_id FROM narrative_constraints WHERE claim_id = ?", [claim_id]))


def test_rename_locks_label_and_logs(store):
    review.rename(store, 2, "  CPEC is a game changer ", reviewer="Ayesha")
    assert one(store, "SELECT label, label_locked FROM narratives WHERE id = 2") == ("CPEC is a game changer", 1)
    assert last_review(store)[:3] == ("Ayesha", "rename", 2)
    assert one(store, "SELECT event, actor FROM narrative_history WHERE narrative_id = 2 ORDER BY id DESC") == (
        "renamed", "Ayesha")


def test_actions_need_a_reviewer_and_roll_back(store):
    before = one(store, "SELECT count(*) FROM reviews")
    with pytest.raises(TrackerError):
        review.rename(store, 2, "x", reviewer=" ")
    with pytest.raises(ReviewError):
        review.rename(store, 999, "x", reviewer="A")
    with pytest.raises(ReviewError):
        review.set_verdict(store, 1, "pants on fire", reviewer="A")
    assert one(store, "SELECT count(*) FROM reviews") == before
    assert one(store, "SELECT label FROM narratives WHERE id = 2")[0] == "CPEC creates jobs and growth"


def test_merge_moves_claims_and_repoints_constraints(store):
    review.exclude(store, sorted(members(store, 5))[0], 5, reviewer="A")  # a constraint on a source narrative
    excluded = sorted(members(store, 4))[0]
    review.exclude(store, excluded, 5, reviewer="A")  # a member of 4, excluded from 5 ...
    size4, size5, size1 = (one(store, "SELECT size FROM narratives WHERE id = ?", [i])[0] for i in (4, 5, 1))
    assigned = [c for c in members(store, 4) | members(store, 5) if c != excluded]
    moved = review.merge(store, [4, 5], 1, reviewer="Bilal")
    # ... so once 5 is merged into 1 it stays out of 1: never a member of a narrative it is excluded from
    assert moved == size4 + size5 - 1
    assert excluded not in members(store, 1)
    assert one(store, "SELECT 1 FROM unclustered_claims WHERE claim_id = ?", [excluded])
    assert ("exclude", 1) in constraints(store, excluded)
    assert not store.db.execute("SELECT 1 FROM narrative_claims nc JOIN narrative_constraints k ON "
                                "k.claim_id = nc.claim_id AND k.narrative_id = nc.narrative_id "
                                "AND k.kind = 'exclude'").fetchall()
    assert one(store, "SELECT size FROM narratives WHERE id = 1")[0] == size1 + size4 + size5 - 1
    for nid in (4, 5):
        assert one(store, "SELECT status, merged_into, size FROM narratives WHERE id = ?", [nid]) == ("merged", 1, 0)
        assert ("merged", 1) in set(store.db.execute(
            "SELECT event, other_id FROM narrative_history WHERE narrative_id = ?", [nid]))
    assert not members(store, 4) and not members(store, 5)
    # the reviewer decided these claims belong together: later clustering must not split them apart
    assert set(dict(store.db.execute(f"SELECT claim_id, assigned_by FROM narrative_claims WHERE claim_id IN "
                                     f"({','.join(map(str, assigned))})")).values()) == {"reviewer"}
    assert all(("pin", 1) in constraints(store, c) for c in assigned)
    assert one(store, "SELECT count(*) FROM narrative_constraints WHERE narrative_id IN (4, 5)")[0] == 0
    assert one(store, "SELECT count(*) FROM narrative_stances WHERE narrative_id IN (4, 5)")[0] == 0
    assert last_review(store)[:3] == ("Bilal", "merge", 1)
    with pytest.raises(ReviewError):
        review.merge(store, [4], 1, reviewer="Bilal")  # already merged


def test_merge_keeps_every_verdict(store):
    """A verdict on a merged narrative moves to the survivor; narratives with different verdicts are not merged."""
    review.set_verdict(store, 3, "false", reviewer="A")
    review.merge(store, [3], 2, reviewer="A")  # 2 has no verdict: it takes 3's
    assert one(store, "SELECT verdict, verdict_by FROM narratives WHERE id = 2") == ("false", "A")
    with pytest.raises(ReviewError, match="different verdicts"):
        review.merge(store, [2], 1, reviewer="A")  # 1 is 'misleading'
    assert one(store, "SELECT status FROM narratives WHERE id = 2")[0] == "active"


def test_split_keeps_the_verdict_on_both_parts_and_flags_the_new_one(store):
    claims = sorted(members(store, 1))[:2]
    new = review.split(store, 1, claims, "A part of the debt narrative", reviewer="Chen")
    assert one(store, "SELECT verdict, verdict_from FROM narratives WHERE id = ?", [new]) == ("misleading", 1)
    assert one(store, "SELECT verdict FROM narratives WHERE id = 1")[0] == "misleading"
    assert one(store, "SELECT kind, other_id FROM narrative_flags WHERE narrative_id = ? AND resolved_at IS NULL",
               [new]) == ("verdict-inherited", 1)
    review.set_verdict(store, new, "false", reviewer="Chen")  # a reviewer's own verdict settles the flag
    assert not one(store, "SELECT 1 FROM narrative_flags WHERE narrative_id = ? AND resolved_at IS NULL", [new])
    assert one(store, "SELECT verdict_from FROM narratives WHERE id = ?", [new])[0] is None


def test_merge_leaves_out_claims_excluded_from_target(store):
    claim = sorted(members(store, 4))[0]
    review.exclude(store, claim, 1, reviewer="A")  # not a member of 1: only the constraint is written
    review.merge(store, [4], 1, reviewer="A")
    assert claim not in members(store, 1)
    assert one(store, "SELECT 1 FROM unclustered_claims WHERE claim_id = ?", [claim])


def test_split_creates_pinned_narrative(store):
    claims = sorted(members(store, 3))[:3]
    size = one(store, "SELECT size FROM narratives WHERE id = 3")[0]
    new = review.split(store, 3, claims, "Chinese warships at Gwadar", reviewer="Chen")
    assert members(store, new) == set(claims)
    assert one(store, "SELECT size, label, label_locked, status FROM narratives WHERE id = ?", [new]) == (
        3, "Chinese warships at Gwadar", 1, "active")
    assert one(store, "SELECT size FROM narratives WHERE id = 3")[0] == size - 3
    for cid in claims:
        assert constraints(store, cid) == {("pin", new), ("exclude", 3)}
        assert one(store, "SELECT assigned_by FROM narrative_claims WHERE claim_id = ?", [cid])[0] == "reviewer"
    assert one(store, "SELECT event, other_id FROM narrative_history WHERE narrative_id = 3 ORDER BY id DESC") == (
        "split", new)
    assert json.loads(last_review(store)[4])["new"] == new
    with pytest.raises(ReviewError):
        review.split(store, 3, [claims[0]], "x", reviewer="Chen")  # no longer in 3
    with pytest.raises(ReviewError):
        review.split(store, new, claims, "all of it", reviewer="Chen")


def test_move_and_exclude(store):
    claim = sorted(members(store, 2))[0]
    review.move(store, claim, 1, reviewer="Dana")
    assert claim in members(store, 1) and claim not in members(store, 2)
    assert constraints(store, claim) == {("pin", 1), ("exclude", 2)}
    assert last_review(store)[:4] == ("Dana", "move", 1, claim)
    size = one(store, "SELECT size FROM narratives WHERE id = 1")[0]
    review.exclude(store, claim, 1, reviewer="Dana")
    assert claim not in members(store, 1)
    assert one(store, "SELECT size FROM narratives WHERE id = 1")[0] == size - 1
    assert constraints(store, claim) == {("exclude", 1), ("exclude", 2)}
    assert one(store, "SELECT 1 FROM unclustered_claims WHERE claim_id = ?", [claim])
    review.move(store, claim, 2, reviewer="Dana")  # a reviewer may put it back: pin replaces the exclude
    assert constraints(store, claim) == {("exclude", 1), ("pin", 2)}
    assert not one(store, "SELECT 1 FROM unclustered_claims WHERE claim_id = ?", [claim])


def test_refresh_counts_near_duplicates_once(store):
    # articles 3 and 61 are copies: their claims are in the same narratives
    nid = one(store, "SELECT nc.narrative_id FROM narrative_claims nc JOIN claims c ON c.id = nc.claim_id "
                  "WHERE c.article_id = 61")[0]
    row = one(store, "SELECT size, n_articles, n_sources FROM narratives WHERE id = ?", [nid])
    distinct_articles = one(store, "SELECT count(DISTINCT c.article_id) FROM narrative_claims nc JOIN claims c "
                                "ON c.id = nc.claim_id WHERE nc.narrative_id = ?", [nid])[0]
    assert row[1] == distinct_articles - 1
    before = one(store, "SELECT centroid FROM narratives WHERE id = ?", [nid])[0]
    review.exclude(store, sorted(members(store, nid))[0], nid, reviewer="A")
    assert one(store, "SELECT centroid FROM narratives WHERE id = ?", [nid])[0] != before


def test_lock_verdict_status(store):
    review.lock(store, 2, reviewer="E")
    assert one(store, "SELECT locked FROM narratives WHERE id = 2")[0] == 1
    review.unlock(store, 2, reviewer="E")
    assert one(store, "SELECT locked FROM narratives WHERE id = 2")[0] == 0
    review.set_verdict(store, 2, "mixed", note="Some jobs, fewer than claimed.", url="https://fc.example/2",
                       reviewer="E")
    assert one(store, "SELECT verdict, verdict_note, verdict_url, verdict_by, review_status FROM narratives "
                   "WHERE id = 2") == ("mixed", "Some jobs, fewer than claimed.", "https://fc.example/2", "E",
                                       "reviewed")
    review.set_review_status(store, 2, "in review", reviewer="E")
    assert one(store, "SELECT review_status FROM narratives WHERE id = 2")[0] == "in review"
    with pytest.raises(ReviewError):
        review.set_review_status(store, 2, "done", reviewer="E")
    actions = [r[0] for r in store.db.execute("SELECT action FROM reviews WHERE narrative_id = 2 ORDER BY id")]
    assert actions == ["lock", "unlock", "verdict", "status"]


def test_stance_corrections_become_training_labels(store):
    review.correct_stance(store, "claim", 1, "CPEC", "none", reviewer="F")
    assert one(store, "SELECT label, score, model, source FROM stances WHERE subject = 'claim' AND subject_id = 1 "
                   "AND target_id = 1") == ("none", 1.0, "reviewer:F", "reviewer")
    text = one(store, "SELECT text FROM claims WHERE id = 1")[0]
    assert one(store, "SELECT task, target, text, label, origin, claim_id FROM stance_labels ORDER BY id DESC") == (
        "target", "CPEC", text, "none", "reviewer", 1)
    review.correct_stance(store, "article", 7, "Gwadar", "against", reviewer="F")
    assert one(store, "SELECT label, source FROM stances WHERE subject = 'article' AND subject_id = 7 AND "
                   "target_id = 2") == ("against", "reviewer")
    assert "<script>" in one(store, "SELECT text FROM stance_labels ORDER BY id DESC")[0]
    nid = one(store, "SELECT narrative_id FROM narrative_claims WHERE claim_id = 2")[0]
    review.correct_narrative_stance(store, 2, nid, "disagree", reviewer="F")
    assert one(store, "SELECT label, source, model FROM narrative_stances WHERE claim_id = 2 AND narrative_id = ?",
               [nid]) == ("disagree", "reviewer", "reviewer:F")
    label = one(store, "SELECT label FROM narratives WHERE id = ?", [nid])[0]
    assert one(store, "SELECT task, target, label FROM stance_labels ORDER BY id DESC") == (
        "narrative", label, "disagree")
    with pytest.raises(ReviewError):
        review.correct_stance(store, "claim", 1, "Nowhere", "favor", reviewer="F")
    with pytest.raises(ReviewError):
        review.correct_narrative_stance(store, 2, nid, "favor", reviewer="F")
    assert [r[0] for r in store.db.execute("SELECT action FROM reviews WHERE reviewer = 'F'")] == [
        "stance", "stance", "narrative_stance"]


def test_review_cli(tmp_path):
    import click

    from tracker.cli_dashboard import review_group

    path = str(tmp_path / "s.store")
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
    from tracker.store import Store

    store = Store(path)
    assert store.db.execute("SELECT label, verdict FROM narratives WHERE id = 2").fetchone() == (
        "Jobs narrative", "accurate")
    assert [r[0] for r in store.db.execute("SELECT action FROM reviews WHERE reviewer = 'G'")] == [
        "rename", "verdict", "merge"]
