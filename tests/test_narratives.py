"""Narratives over a real store (hashing embedder): creation, incremental updates, stable ids on rebuild,
reviewer decisions that survive later runs, near-duplicates, noise and history."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tracker import review
from tracker.embed import get_embedder
from tracker.ingest import IngestOptions, ingest
from tracker.pipeline import run_claims, run_embed, run_narratives
from tracker.store import Store as TrackerStore

TOPICS = {
    "debt": [
        "Chinese loans under CPEC are pushing Pakistan into a debt trap.",
        "CPEC loans from China are pushing Pakistan deeper into a debt trap.",
        "Chinese CPEC loans are pushing Pakistan into a dangerous debt trap.",
        "CPEC debt from Chinese loans is pushing Pakistan into a debt trap.",
        "Chinese loans under CPEC keep pushing Pakistan into a debt trap.",
        "Costly Chinese loans under CPEC are pushing Pakistan into a debt trap.",
    ],
    "jobs": [
        "CPEC power plants have created thousands of jobs in Sindh and Punjab.",
        "Thousands of jobs in Sindh and Punjab were created by CPEC power plants.",
        "CPEC power plants created thousands of new jobs in Punjab and Sindh.",
        "New CPEC power plants have created thousands of local jobs in Sindh and Punjab.",
        "CPEC power plants in Sindh and Punjab have created thousands of jobs.",
        "CPEC coal power plants have created thousands of jobs in Sindh and Punjab.",
    ],
    "naval": [
        "Gwadar port will become a Chinese naval base for warships.",
        "Chinese warships will use Gwadar port as a naval base.",
        "Gwadar port is set to become a naval base for Chinese warships.",
        "Gwadar port could become a Chinese naval base hosting warships.",
        "A Chinese naval base for warships will be built at Gwadar port.",
        "Gwadar port will soon become a Chinese naval base for warships.",
    ],
    "attack": [
        "Militants attacked a convoy of Chinese engineers near Dasu dam.",
        "A convoy of Chinese engineers was attacked by militants near Dasu dam.",
        "Militants attacked Chinese engineers travelling in a convoy near the Dasu dam.",
        "Chinese engineers in a convoy near Dasu dam were attacked by militants.",
        "Militants staged an attack on a convoy of Chinese engineers near Dasu dam.",
        "Armed militants attacked a convoy of Chinese engineers near Dasu dam.",
    ],
}
NOISE = [
    "The weather in Lahore was pleasant and sunny on Sunday afternoon.",
    "Cricket fans queued overnight for tickets to the final in Karachi.",
]
OUTLETS = ["Dawn", "Xinhua", "The Hindu", "Global Times", "Express Tribune", "Reuters"]
TOPIC_OF = {text: topic for topic, texts in TOPICS.items() for text in texts}


def narrative_members(db) -> dict[int, list[int]]:  # noqa: ANN001
    """Claim ids of every active narrative."""
    out: dict[int, list[int]] = {}
    for claim_id, narrative_id in db.execute(
            "SELECT nc.claim_id, nc.narrative_id FROM narrative_claims nc JOIN narratives n ON n.id = nc.narrative_id "
            "WHERE n.status = 'active' ORDER BY nc.claim_id"):
        out.setdefault(narrative_id, []).append(claim_id)
    return out


def batch(indices: range, *, noise: bool = False) -> list[dict]:
    records = []
    for t, texts in enumerate(TOPICS.values()):
        for i in indices:
            records.append({"text": texts[i], "source": OUTLETS[(i + t) % len(OUTLETS)],
                            "date": f"2024-0{1 + i // 3}-{10 + i:02d}"})
    if noise:
        records += [{"text": text, "source": "Dawn", "date": "2024-01-20"} for text in NOISE]
    return records


@pytest.fixture(autouse=True)
def _default_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKER_CLUSTER_THRESHOLD", raising=False)


@pytest.fixture
def embedder():  # noqa: ANN201
    return get_embedder("hashing")


class World:
    """A store fed by small JSONL files, updated the way ``tracker update`` does."""

    def __init__(self, tmp_path: Path, embedder) -> None:  # noqa: ANN001
        self.store = TrackerStore(":memory:")
        self.tmp_path = tmp_path
        self.embedder = embedder
        self.files = 0

    def add(self, records: list[dict]) -> dict:
        self.files += 1
        path = self.tmp_path / f"batch{self.files}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        report = ingest(self.store, [str(path)], IngestOptions())
        assert report.rejected == 0
        run_claims(self.store)
        run_embed(self.store, self.embedder)
        return run_narratives(self.store, self.embedder).counts

    @property
    def db(self):  # noqa: ANN201
        return self.store.db

    def claim_id(self, text: str) -> int:
        return self.db.execute("SELECT id FROM claims WHERE text = ? ORDER BY id LIMIT 1", [text]).fetchone()[0]

    def narrative_of(self, text: str) -> int | None:
        row = self.db.execute("SELECT narrative_id FROM narrative_claims WHERE claim_id = ?",
                              [self.claim_id(text)]).fetchone()
        return None if row is None else row[0]

    def membership(self) -> dict[int, int]:
        return dict(self.db.execute("SELECT claim_id, narrative_id FROM narrative_claims").fetchall())

    def narrative(self, narrative_id: int) -> dict:
        cursor = self.db.execute("SELECT * FROM narratives WHERE id = ?", [narrative_id])
        return dict(zip([d[0] for d in cursor.description], cursor.fetchone()))

    def topic_narrative(self, topic: str) -> int:
        ids = {self.narrative_of(text) for text in TOPICS[topic][:4]}
        assert len(ids) == 1 and None not in ids, f"{topic} is not one narrative: {ids}"
        return ids.pop()


@pytest.fixture
def store(tmp_path: Path, embedder) -> World:  # noqa: ANN001
    s = World(tmp_path, embedder)
    counts = s.add(batch(range(4), noise=True))
    assert counts["claims"] == 18
    return s


def test_narratives_are_created_with_descriptions(store: World) -> None:
    members = narrative_members(store.db)
    assert len(members) == 4
    for topic in TOPICS:
        nid = store.topic_narrative(topic)
        assert sorted(members[nid]) == sorted(store.claim_id(t) for t in TOPICS[topic][:4])
        row = store.narrative(nid)
        assert row["status"] == "active" and row["size"] == 4
        assert row["n_sources"] == 4 and row["n_articles"] == 4
        keywords = json.loads(row["keywords"])
        assert keywords and row["label"]
        assert {"debt": "debt", "jobs": "jobs", "naval": "naval", "attack": "convoy"}[topic] in keywords
        assert row["central_claim_id"] in members[nid]
        assert set(json.loads(row["representatives"])) <= set(members[nid])
        assert row["first_seen"] == "2024-01-10" and row["last_seen"] == "2024-02-13"
        assert row["centroid"] is not None and row["centroid_model"] == "hashing"
    # every member carries its similarity to its narrative's centroid (representatives are ranked by it)
    assert store.db.execute("SELECT count(*) FROM narrative_claims WHERE similarity IS NULL").fetchone()[0] == 0


def test_word_frequencies_read_whole_or_word_by_word_agree(store: World) -> None:
    from tracker.store.narratives import TermFrequency, document_frequency

    store.db.execute("DELETE FROM term_docs")  # the pipeline kept the words it described with
    words = ["debt", "convoy", "china-pakistan", "nosuchword", "jobs", 3, "debt", "naval"]
    total, by_word = document_frequency(store.db)
    by_word._budget = 10**9  # never reads the vocabulary whole
    whole = TermFrequency(store.db, claims=0)  # reads it whole at the first word it does not know
    assert [w in by_word for w in words] == [w in whole for w in words]
    assert {w: by_word[w] for w in words if w in by_word} == {w: whole[w] for w in words if w in whole}
    assert whole["debt"] > 0 and "nosuchword" not in whole
    assert whole._vocabulary is not None and by_word._vocabulary is None
    switching = TermFrequency(store.db, claims=2 * TermFrequency.WORDS_PER_CLAIM_SCAN)  # two lookups, then whole
    assert [switching.get(w) for w in words if isinstance(w, str)] == [whole.get(w) for w in words
                                                                       if isinstance(w, str)]
    assert switching._vocabulary is not None and total > 0


def test_word_frequencies_are_kept_until_the_store_grows_by_a_tenth(store: World) -> None:
    from tracker.store.narratives import TermFrequency, document_frequency

    store.db.execute("DELETE FROM term_docs")
    words = ["debt", "convoy", "nosuchword", "jobs"]
    total, counted = document_frequency(store.db)
    expected = {w: counted.get(w) for w in words}
    with store.store.write() as db:
        counted.save(db)
    assert store.db.execute("SELECT count(*) FROM term_docs").fetchone()[0] == len(words)
    kept = TermFrequency(store.db, total)
    kept._budget = 0  # any word counted again would read the vocabulary whole
    assert {w: kept.get(w) for w in words} == expected and kept._vocabulary is None and not kept._counted
    grown = TermFrequency(store.db, int(total / (1 - TermFrequency.STALE)) + 1)  # a tenth more claims since
    assert {w: grown.get(w) for w in words} == expected and set(grown._counted) == set(words)


STATS = "size, n_articles, n_sources, first_seen, last_seen, first_source_id, outlets, scored, checkworthy"


def _stats(db) -> dict:  # noqa: ANN001
    return {r[0]: r[1:] for r in db.execute(f"SELECT id, {STATS} FROM narratives WHERE status = 'active'")}


def _same_as_counted_from_all_members(store: World) -> None:
    from tracker.store.narratives import refresh_stats

    grown = _stats(store.db)
    with store.store.write() as db:
        refresh_stats(db, list(grown))  # no ``joined``: every narrative counted from all its members
    counted = _stats(store.db)
    assert grown.keys() == counted.keys()
    for n in grown:
        assert grown[n][:-1] == counted[n][:-1], n
        assert grown[n][-1] == pytest.approx(counted[n][-1]), n


def test_stats_grown_from_the_joining_claims_equal_stats_counted_from_all(store: World) -> None:
    _same_as_counted_from_all_members(store)
    store.add(batch(range(4, 6)))  # later articles join the topic narratives
    _same_as_counted_from_all_members(store)
    # copies of stored articles by new outlets (near-duplicates), one set dated before every member
    early = [{**r, "date": "2023-12-01", "source": "Early Wire"} for r in batch(range(1))]
    copies = [{**r, "source": "Copycat"} for r in batch(range(5, 6))]
    store.add(early + copies)
    _same_as_counted_from_all_members(store)
    debt = store.topic_narrative("debt")
    review.move(store.store, store.claim_id(TOPICS["jobs"][0]), debt, reviewer="ana")
    _same_as_counted_from_all_members(store)
    assert store.narrative(debt)["first_seen"] == "2023-12-01"
    # a member scored again after it joined: the stored mean is not grown from, but counted again
    from tracker.store.claims import set_checkworthy

    with store.store.write() as db:
        set_checkworthy(db, [(store.claim_id(TOPICS["debt"][1]), 0.99)])
    assert store.narrative(debt)["scored"] is None
    store.add([{**r, "source": "Late Wire", "date": "2024-06-01"} for r in batch(range(2, 3))])
    _same_as_counted_from_all_members(store)


def test_cluster_narrative_counts_kept_by_triggers_equal_counts_from_members(store: World) -> None:
    from tracker.store.narratives import counted_overlap

    def kept() -> dict:
        return {(k, n, by): c for k, n, by, c in store.db.execute("SELECT * FROM cluster_narratives")}

    assert kept() == counted_overlap(store.db) and kept()
    store.add(batch(range(4, 6)))  # claims join clusters and narratives
    assert kept() == counted_overlap(store.db)
    debt, jobs = store.topic_narrative("debt"), store.topic_narrative("jobs")
    review.move(store.store, store.claim_id(TOPICS["jobs"][0]), debt, reviewer="ana")  # now reviewer-placed
    assert kept() == counted_overlap(store.db)
    assert any(by == "reviewer" for _, _, by in kept())
    review.exclude(store.store, store.claim_id(TOPICS["debt"][2]), debt, reviewer="ana")
    review.split(store.store, jobs, [store.claim_id(TOPICS["jobs"][i]) for i in (1, 2)], "jobs, again",
                 reviewer="ana")
    review.merge(store.store, [store.topic_narrative("naval")], debt, reviewer="ana")
    assert kept() == counted_overlap(store.db)
    store.add([{**r, "source": "Late Wire", "date": "2024-06-01"} for r in batch(range(2, 4))])
    assert kept() == counted_overlap(store.db)
    run_narratives(store.store, store.embedder, rebuild=True)  # every cluster written again
    assert kept() == counted_overlap(store.db)
    # the clusterer's own writes: a merge of two clusters, and a claim given another cluster
    from tracker.store.narratives import set_claim_clusters

    (first, second), claim = sorted({k for k, _, _ in kept()})[:2], store.claim_id(TOPICS["debt"][0])
    with store.store.write() as db:
        set_claim_clusters(db, [(claim, 10_000)], merged={second: first})
    assert kept() == counted_overlap(store.db)
    assert not any(k == second for k, _, _ in kept()) and any(k == 10_000 for k, _, _ in kept())


def test_central_claim_is_the_closest_member_from_the_first_run(tmp_path: Path, embedder) -> None:  # noqa: ANN001
    s = World(tmp_path, embedder)
    order = [4, 5, 0, 1, 2, 3]  # the first claims stored are not the most typical wordings
    s.add([{"text": TOPICS[topic][i], "source": OUTLETS[i], "date": f"2024-01-{10 + i:02d}"}
           for topic in ("debt", "naval") for i in order])
    texts = dict(s.db.execute("SELECT id, text FROM claims"))
    for nid, members in narrative_members(s.db).items():
        vectors = embedder.encode([texts[c] for c in members])
        closest = members[int(np.argmax(vectors @ vectors.mean(axis=0)))]
        assert closest != min(members)  # otherwise this test could not tell
        assert s.narrative(nid)["central_claim_id"] == closest


def test_noise_claims_stay_unclustered(store: World) -> None:
    for text in NOISE:
        assert store.narrative_of(text) is None
    clustered = set(store.membership())
    assert all(store.claim_id(t) not in clustered for t in NOISE)


def test_history_records_created_narratives(store: World) -> None:
    created = store.db.execute(
        "SELECT narrative_id, actor FROM narrative_history WHERE event = 'created'").fetchall()
    assert sorted(n for n, _ in created) == sorted(narrative_members(store.db))
    assert {actor for _, actor in created} == {"model"}


def test_second_batch_joins_existing_narratives(store: World) -> None:
    ids = {topic: store.topic_narrative(topic) for topic in TOPICS}
    before = store.membership()
    counts = store.add(batch(range(4, 6)))
    assert counts["claims"] == 8 and counts["created"] == 0
    after = store.membership()
    assert {k: v for k, v in after.items() if k in before} == before
    for topic, nid in ids.items():
        assert {store.narrative_of(t) for t in TOPICS[topic]} == {nid}
        assert store.narrative(nid)["size"] == 6
    # nothing new: a further run does nothing
    assert run_narratives(store.store, store.embedder).counts == {"claims": 0}


def test_rebuild_keeps_ids_and_memberships_on_unchanged_data(store: World) -> None:
    store.add(batch(range(4, 6)))
    before = store.membership()
    labels = dict(store.db.execute("SELECT id, label FROM narratives").fetchall())
    counts = run_narratives(store.store, store.embedder, rebuild=True).counts
    assert counts["created"] == 0 and counts["merged"] == 0 and counts["split"] == 0
    assert store.membership() == before
    assert dict(store.db.execute("SELECT id, label FROM narratives").fetchall()) == labels
    assert store.db.execute("SELECT count(*) FROM narrative_history WHERE event = 'rebuilt'").fetchone()[0] == 1
    # and a second rebuild is just as stable
    run_narratives(store.store, store.embedder, rebuild=True)
    assert store.membership() == before


def test_changed_settings_rebuild_and_keep_ids(store: World, monkeypatch: pytest.MonkeyPatch) -> None:
    before = store.membership()
    monkeypatch.setenv("TRACKER_CLUSTER_THRESHOLD", "0.44")
    counts = run_narratives(store.store, store.embedder).counts
    assert "settings changed" in counts["rebuilt"] and "0.44" in counts["rebuilt"]
    assert store.membership() == before  # the same clusters keep their narrative ids
    assert "rebuilt" not in run_narratives(store.store, store.embedder).counts  # now the stored settings


# --- reviewer decisions --------------------------------------------------------------------------------------

def test_renamed_label_survives_updates_and_rebuild(store: World) -> None:
    nid = store.topic_narrative("debt")
    review.rename(store.store, nid, "CPEC is a debt trap", reviewer="ana")
    store.add(batch(range(4, 6)))
    assert store.narrative(nid)["size"] == 6
    run_narratives(store.store, store.embedder, rebuild=True)
    row = store.narrative(nid)
    assert row["label"] == "CPEC is a debt trap" and row["status"] == "active"
    assert json.loads(row["keywords"])  # keywords are still derived


def test_moved_claim_stays_where_the_reviewer_put_it(store: World) -> None:
    debt, jobs = store.topic_narrative("debt"), store.topic_narrative("jobs")
    moved = TOPICS["debt"][0]
    review.move(store.store, store.claim_id(moved), jobs, reviewer="ana")
    assert store.narrative_of(moved) == jobs
    store.add(batch(range(4, 6)))
    assert store.narrative_of(moved) == jobs
    run_narratives(store.store, store.embedder, rebuild=True)
    assert store.narrative_of(moved) == jobs
    assert store.narrative(jobs)["size"] == 7 and store.narrative(debt)["size"] == 5
    assert store.db.execute("SELECT assigned_by FROM narrative_claims WHERE claim_id = ?",
                            [store.claim_id(moved)]).fetchone()[0] == "reviewer"


def test_excluded_claim_never_returns(store: World) -> None:
    debt = store.topic_narrative("debt")
    excluded = TOPICS["debt"][1]
    review.exclude(store.store, store.claim_id(excluded), debt, reviewer="ana")
    assert store.narrative_of(excluded) is None
    store.add(batch(range(4, 6)))
    assert store.narrative_of(excluded) != debt
    run_narratives(store.store, store.embedder, rebuild=True)
    assert store.narrative_of(excluded) != debt
    assert store.narrative(debt)["size"] == 5


def test_merged_narrative_receives_nothing_and_its_claims_stay_in_the_target(store: World) -> None:
    naval, attack = store.topic_narrative("naval"), store.topic_narrative("attack")
    review.merge(store.store, [naval], attack, reviewer="ana")
    naval_claims = [store.claim_id(t) for t in TOPICS["naval"][:4]]
    assert {store.membership()[c] for c in naval_claims} == {attack}
    store.add(batch(range(4, 6)))
    membership = store.membership()
    assert naval not in membership.values()
    assert {membership[c] for c in naval_claims} == {attack}
    for text in TOPICS["naval"][4:]:  # new claims of the merged narrative follow it into its target
        assert store.narrative_of(text) in (attack, None)
    run_narratives(store.store, store.embedder, rebuild=True)
    membership = store.membership()
    assert naval not in membership.values()
    assert {membership[c] for c in naval_claims} == {attack}
    row = store.narrative(naval)
    assert row["status"] == "merged" and row["merged_into"] == attack
    history = store.db.execute(
        "SELECT narrative_id, other_id FROM narrative_history WHERE event = 'merged'").fetchall()
    assert (naval, attack) in history


def test_locked_narrative_does_not_change(store: World) -> None:
    jobs = store.topic_narrative("jobs")
    members = sorted(narrative_members(store.db)[jobs])
    review.lock(store.store, jobs, reviewer="ana")
    store.add(batch(range(4, 6)))
    assert sorted(narrative_members(store.db)[jobs]) == members
    run_narratives(store.store, store.embedder, rebuild=True)
    assert sorted(narrative_members(store.db)[jobs]) == members
    assert store.narrative(jobs)["size"] == 4
    for text in TOPICS["jobs"][4:]:
        assert store.narrative_of(text) != jobs


def test_split_survives_updates_and_rebuild(store: World) -> None:
    attack = store.topic_narrative("attack")
    split_off = [store.claim_id(t) for t in TOPICS["attack"][2:4]]
    new_id = review.split(store.store, attack, split_off, "Dasu convoy attack (second wave)", reviewer="ana")
    assert new_id != attack
    store.add(batch(range(4, 6)))
    run_narratives(store.store, store.embedder, rebuild=True)
    membership = store.membership()
    assert [membership[c] for c in split_off] == [new_id, new_id]
    assert store.narrative(new_id)["label"] == "Dasu convoy attack (second wave)"
    assert store.narrative(new_id)["status"] == "active"
    kept = [store.claim_id(t) for t in TOPICS["attack"][:2]]
    assert [membership[c] for c in kept] == [attack, attack]
    events = {r[0] for r in store.db.execute(
        "SELECT event FROM narrative_history WHERE narrative_id IN (?, ?)", [attack, new_id])}
    assert "split" in events


# --- near-duplicates -------------------------------------------------------------------------------------------

def test_near_duplicate_articles_do_not_inflate_sources(store: World) -> None:
    jobs = store.topic_narrative("jobs")
    before = store.narrative(jobs)
    copy = {"text": TOPICS["jobs"][0], "source": "Syndicated Daily", "date": "2024-03-01"}
    store.add([copy])
    linked = store.db.execute(
        "SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL").fetchone()[0]
    assert linked == 1
    after = store.narrative(jobs)
    assert after["size"] == before["size"] + 1
    assert after["n_sources"] == before["n_sources"]
    assert after["n_articles"] == before["n_articles"]


def test_reviewer_merge_is_not_undone_by_the_next_update(store: World) -> None:
    naval, attack = store.topic_narrative("naval"), store.topic_narrative("attack")
    review.merge(store.store, [naval], attack, reviewer="ana")
    merged = [store.claim_id(t) for topic in ("naval", "attack") for t in TOPICS[topic][:4]]
    store.add(batch(range(4, 6)))
    membership = store.membership()
    assert {membership[c] for c in merged} == {attack}
    assert store.narrative(attack)["size"] >= 8


def test_large_narratives_are_described_again_only_when_they_have_changed(store: World,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from tracker.pipeline import narratives as stage

    monkeypatch.setattr(stage, "DESCRIBE_SMALL", 3)  # narratives of 4 claims count as large here
    monkeypatch.setattr(stage, "DESCRIBE_CHANGE", 0.5)
    nid = store.topic_narrative("debt")
    assert store.narrative(nid)["described_size"] == 4
    # one claim joins (4 -> 5, a quarter): the description holds, the newcomer is measured against the centroid
    store.db.execute("UPDATE narratives SET keywords = '[\"kept\"]' WHERE id = ?", [nid])
    store.add(batch(range(4, 5)))
    assert store.narrative(nid)["size"] == 5 and store.narrative(nid)["described_size"] == 4
    assert store.narrative(nid)["keywords"] == '["kept"]'
    similarity = store.db.execute("SELECT similarity FROM narrative_claims WHERE claim_id = ?",
                                  [store.claim_id(TOPICS["debt"][4])]).fetchone()[0]
    assert similarity is not None and 0 < similarity <= 1
    # another joins (4 -> 6, half): described again
    store.add(batch(range(5, 6)))
    assert store.narrative(nid)["described_size"] == 6 and store.narrative(nid)["keywords"] != '["kept"]'
    # a reviewer's action describes at once, however small the change
    review.split(store.store, nid, [store.claim_id(TOPICS["debt"][5])], "Split off", reviewer="T")
    assert store.narrative(nid)["size"] == store.narrative(nid)["described_size"] == 5
