"""Narrative labels read as claims: the central claim, shortened; the doctests of tracker.labels and
tracker.themes run here too."""

from __future__ import annotations

import doctest

import tracker.labels
import tracker.themes
from tracker.labels import ELLIPSIS, LabelCandidate, claim_label, label_source
from tracker.narratives import Member, describe


def test_the_modules_examples_hold() -> None:
    for module in (tracker.labels, tracker.themes):
        failed, tried = doctest.testmod(module)
        assert tried and not failed, module.__name__


def test_labels_drop_frames_and_keep_the_claim() -> None:
    assert claim_label("ISLAMABAD, Feb 22 (Reuters) - Pakistan and China rejected disinformation campaigns "
                       "about the corridor, officials said.") == (
        "Pakistan and China rejected disinformation campaigns about the corridor")
    assert claim_label("According to critics, CPEC loans are pushing Pakistan into a debt trap.") == (
        "CPEC loans are pushing Pakistan into a debt trap")
    long = claim_label("The corridor has added thousands of megawatts of electricity to Pakistan's grid, ended "
                       "years of load-shedding in Punjab and Sindh, and created tens of thousands of jobs.", 90)
    assert len(long) <= 90 and long.endswith(ELLIPSIS)
    assert claim_label("Coronavirus was created in a laboratory", keep_frames=True) == (
        "Coronavirus was created in a laboratory")
    assert claim_label("   ") == "(empty)"


def test_the_label_comes_from_a_well_phrased_central_member() -> None:
    members = [Member(1, "It will never be repaid.", "A"), Member(2, "CPEC loans will never be repaid.", "B"),
               Member(3, "Loans under CPEC will never be repaid, critics say.", "C")]
    import numpy as np

    vectors = np.array([[0.96, 0.28], [1.0, 0.0], [0.9, 0.44]], np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    found = describe(members, vectors, total_claims=100, document_frequency={})
    assert found.central_claim_id == 1  # the most central member stays the anchor
    # but the label reads as a claim: not "It will never be repaid", and without the attribution
    assert found.label in ("CPEC loans will never be repaid", "Loans under CPEC will never be repaid")
    assert label_source([]) is None
    assert label_source([LabelCandidate(5, "Gwadar is a naval base.", 0.5)]).claim_id == 5
