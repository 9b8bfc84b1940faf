"""Fast tests for tracker.cluster (synthetic arrays and the hashing embedder only)."""

from __future__ import annotations

import numpy as np
import pytest

from tracker.cluster import IncrementalClusterer, match_labels
from tracker.metrics import ari, bcubed, nmi


def _blobs(n_clusters: int = 5, per: int = 20, d: int = 32, spread: float = 0.05, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_clusters, d))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    gold = np.repeat(np.arange(n_clusters), per)
    X = centres[gold] + spread * rng.normal(size=(len(gold), d))
    perm = rng.permutation(len(gold))
    X = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)
    return X[perm], gold[perm]


def test_incremental_recovers_blobs_in_batches() -> None:
    X, gold = _blobs()
    c = IncrementalClusterer(embedding_threshold=0.5)
    ids = np.concatenate([(c.partial_fit(X[i:i + 17]), c.cluster_ids_)[1] for i in range(0, len(X), 17)])
    labels = c.labels_for(ids)
    assert bcubed(gold, labels)[2] == pytest.approx(1.0)
    assert c.n_clusters_ == 5
    assert set(np.unique(labels)) == set(range(5))


def test_batch_size_one_matches_batches() -> None:
    X, gold = _blobs(seed=1)
    c = IncrementalClusterer(embedding_threshold=0.5)
    ids = np.array([(c.partial_fit(X[i:i + 1]), c.cluster_ids_[0])[1] for i in range(len(X))])
    assert bcubed(gold, c.labels_for(ids))[2] == pytest.approx(1.0)


def test_noise_stays_unclustered_and_is_promoted_by_a_match() -> None:
    X, _ = _blobs(n_clusters=3, per=10)
    rng = np.random.default_rng(5)
    noise = rng.normal(size=(4, X.shape[1])).astype(np.float32)
    c = IncrementalClusterer(embedding_threshold=0.5)
    c.partial_fit(X)
    labels = c.partial_fit(noise)
    assert (labels == -1).all()
    noise_ids = c.cluster_ids_.copy()
    # a near-duplicate of the first noise claim makes it a cluster of two
    dup = labels_dup = c.partial_fit(noise[:1] + 0.01)
    assert dup[0] >= 0
    assert c.labels_for(noise_ids)[0] == labels_dup[0]
    assert (c.labels_for(noise_ids)[1:] == -1).all()


def test_fit_assigns_all_rows_and_renumbers() -> None:
    X, gold = _blobs(seed=2)
    c = IncrementalClusterer(embedding_threshold=0.5).fit(X)
    assert c.labels_.shape == (len(X),)
    assert bcubed(gold, c.labels_)[2] == pytest.approx(1.0)
    assert list(np.unique(c.labels_)) == list(range(5))
    assert c.labels_[0] == 0


def test_state_round_trip_continues_identically() -> None:
    X, _ = _blobs(seed=3)
    first, second = X[:60], X[60:]
    a = IncrementalClusterer(embedding_threshold=0.5)
    a.partial_fit(first)
    _, counts, parents, sums, _ = a.cluster_rows()
    b = IncrementalClusterer.from_state(a.get_state(), counts, parents, sums, embedding_threshold=0.5)
    np.testing.assert_array_equal(a.partial_fit(second), b.partial_fit(second))
    np.testing.assert_allclose(a.sums_, b.sums_)


def test_state_round_trip_with_texts() -> None:
    from tracker.embed import get_embedder

    emb = get_embedder("hashing")
    texts = ["the senator voted against the bill", "senator votes against bill", "flood hits the coast",
             "coastal flood warning issued", "the senator voted against that bill"]
    X = emb.encode(texts)
    a = IncrementalClusterer(threshold=0.3, lexical_weight=0.3)
    a.partial_fit(X[:3], texts[:3])
    ids, counts, parents, sums, lexical = a.cluster_rows()
    b = IncrementalClusterer.from_state(a.get_state(), counts, parents, sums, lexical=lexical, threshold=0.3,
                                        lexical_weight=0.3)
    loads: list[list[int]] = []

    def load(wanted: list[int]) -> np.ndarray:  # a store that is read only for the clusters scored
        loads.append(list(wanted))
        return lexical[np.asarray(wanted)]

    lazy = IncrementalClusterer.from_state(a.get_state(), counts, parents, sums, load_lexical=load, threshold=0.3,
                                           lexical_weight=0.3)
    expected = a.partial_fit(X[3:], texts[3:])
    np.testing.assert_array_equal(expected, b.partial_fit(X[3:], texts[3:]))
    np.testing.assert_array_equal(expected, lazy.partial_fit(X[3:], texts[3:]))
    assert a.n_docs_ == b.n_docs_ == lazy.n_docs_ == 5
    assert loads and all(set(w) <= set(ids.tolist()) for w in loads)
    changed, *_ = lazy.changes()  # only what the batch touched is written back
    assert set(changed.tolist()) <= set(range(len(a.counts_))) and len(changed) < len(a.counts_) + 1
    np.testing.assert_allclose(lazy.cluster_rows()[4], a.cluster_rows()[4], atol=1e-6)


def test_merge_pass_joins_clusters_bridged_later() -> None:
    c = IncrementalClusterer(embedding_threshold=0.6)
    u = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    c.partial_fit(u)  # orthogonal: two singletons
    assert c.n_clusters_ == 2
    mid = np.tile(np.array([[0.7071, 0.7071]], np.float32), (6, 1))
    c.partial_fit(mid)
    assert c.n_clusters_ <= 2


def test_match_labels_keeps_ids_on_unchanged_data() -> None:
    old = np.array([3, 3, 7, 7, 7, -1, 9])
    new = np.array([0, 0, 1, 1, 1, -1, 2])
    assert match_labels(old, new) == {0: 3, 1: 7, 2: 9}


def test_match_labels_split_gives_largest_overlap() -> None:
    old = np.array([5, 5, 5, 5, 6, 6])
    new = np.array([0, 0, 0, 1, 2, 2])
    assert match_labels(old, new) == {0: 5, 2: 6}


def test_bcubed_known_values() -> None:
    assert bcubed([0, 0, 1, 1], [5, 5, 9, 9]) == pytest.approx((1.0, 1.0, 1.0))
    # all in one cluster: precision = 0.5, recall = 1
    p, r, f = bcubed([0, 0, 1, 1], [0, 0, 0, 0])
    assert (p, r) == pytest.approx((0.5, 1.0))
    assert f == pytest.approx(2 / 3)
    # noise counts as singletons: precision 1, recall 0.5
    p, r, _ = bcubed([0, 0, 1, 1], [-1, -1, -1, -1])
    assert (p, r) == pytest.approx((1.0, 0.5))
    # textbook: gold {a,b,c},{d,e}; pred {a,b},{c,d,e}
    p, r, _ = bcubed(list("AAABB"), [0, 0, 1, 1, 1])
    assert p == pytest.approx((1 + 1 + 1 / 3 + 2 / 3 + 2 / 3) / 5)
    assert r == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1 + 1) / 5)


def test_ari_nmi_perfect_and_noise() -> None:
    assert ari([0, 0, 1, 1], [1, 1, 0, 0]) == pytest.approx(1.0)
    assert nmi([0, 0, 1, 1], [1, 1, 0, 0]) == pytest.approx(1.0)
    assert ari([0, 1, 2], [-1, -1, -1]) == pytest.approx(1.0)
