"""Review actions for one narrative, as widgets; each calls a function of :mod:`tracker.review` via ``act``."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app_pages._common import act, default_target, query, reviewer
from tracker import review


def review_panel(info: dict[str, Any], claims: pd.DataFrame) -> None:
    """Rename, verdict, status, lock, merge, split, move, exclude and stance corrections for a narrative."""
    nid = int(info["id"])
    st.subheader("Review")
    if not reviewer():
        st.warning("Type your name in the sidebar (Reviewer) to make changes; every action is logged under it.")
    others = [(i, label) for i, label in query("narrative_choices") if i != nid]
    other_ids = [i for i, _ in others]
    names = dict(others)
    ids = [int(c) for c in claims["claim_id"]] if not claims.empty else []
    texts = dict(zip(ids, claims["text"], strict=True)) if ids else {}

    def claim_name(i: int) -> str:
        return f"#{i} {texts.get(i, '')[:90]}"

    tabs = st.tabs(["Label & verdict", "Merge", "Split", "Move / exclude", "Stance"])
    with tabs[0]:
        label = st.text_input("New label", value=info["label"] or "", key=f"rv_label_{nid}")
        if st.button("Rename", key="rv_rename"):
            act(review.rename, nid, label, done=f"Renamed #{nid}.")
        c1, c2 = st.columns(2)
        verdicts = list(review.VERDICTS)
        verdict = c1.selectbox("Verdict", verdicts, key=f"rv_verdict_{nid}",
                               index=verdicts.index(info["verdict"]) if info["verdict"] in verdicts else 0)
        url = c2.text_input("Fact-check URL", value=info["verdict_url"] or "", key=f"rv_url_{nid}")
        note = st.text_area("Verdict note", value=info["verdict_note"] or "", key=f"rv_note_{nid}", height=80)
        if st.button("Save verdict", key="rv_save_verdict"):
            act(review.set_verdict, nid, verdict, note=note, url=url, done=f"Verdict '{verdict}' saved on #{nid}.")
        c1, c2 = st.columns(2)
        statuses = list(review.REVIEW_STATUSES)
        status = c1.selectbox("Review status", statuses, index=statuses.index(info["review_status"])
                              if info["review_status"] in statuses else 0, key=f"rv_status_{nid}")
        if c1.button("Set status", key="rv_set_status"):
            act(review.set_review_status, nid, status, done=f"#{nid} is now '{status}'.")
        themes = dict(query("theme_choices"))
        theme_ids = [None, *themes]
        theme = c1.selectbox("Theme", theme_ids, key=f"rv_theme_{nid}",
                             index=theme_ids.index(info["theme_id"]) if info["theme_id"] in theme_ids else 0,
                             format_func=lambda t: "no theme" if t is None else f"#{t} {themes[t]}",
                             help="Regrouping leaves a narrative where a reviewer put it.")
        if c1.button("Set theme", key="rv_set_theme"):
            where = f"theme #{theme}" if theme else "no theme"
            act(review.set_theme, nid, theme, done=f"#{nid} is now in {where}.")
        c2.write("Locked: the model adds or removes nothing." if info["locked"] else "Not locked.")
        if info["locked"]:
            if c2.button("Unlock", key="rv_unlock"):
                act(review.unlock, nid, done=f"Unlocked #{nid}.")
        elif c2.button("Lock", key="rv_lock"):
            act(review.lock, nid, done=f"Locked #{nid}.")
    with tabs[1]:
        merge_ids = st.multiselect("Merge these narratives into this one", other_ids, key="rv_merge",
                                   format_func=lambda i: f"#{i} {names[i]}")
        if st.button("Merge", key="rv_merge_go", disabled=not merge_ids):
            act(review.merge, merge_ids, nid, done="Merged {result} claims into #" + str(nid) + ".")
    with tabs[2]:
        split_ids = st.multiselect("Claims to split off", ids, key="rv_split", format_func=claim_name)
        split_label = st.text_input("Label of the new narrative", key="rv_split_label")
        if st.button("Split", key="rv_split_go", disabled=not split_ids):
            act(review.split, nid, split_ids, split_label, done="Split off new narrative #{result}.")
    with tabs[3]:
        claim = st.selectbox("Claim", ids, key="rv_claim", format_func=claim_name) if ids else None
        c1, c2 = st.columns(2)
        to = c1.selectbox("Move to", other_ids, key="rv_move_to", format_func=lambda i: f"#{i} {names[i]}")
        if c1.button("Move claim", key="rv_move_go", disabled=claim is None or to is None):
            act(review.move, claim, to, done=f"Moved claim #{claim} to #{to}.")
        c2.write("The claim does not belong to this narrative:")
        if c2.button("Does not belong", key="rv_exclude_go", disabled=claim is None):
            act(review.exclude, claim, nid, done=f"Claim #{claim} excluded from #{nid}.")
    with tabs[4]:
        claim = st.selectbox("Claim", ids, key="rv_stance_claim", format_func=claim_name) if ids else None
        targets = query("targets")
        c1, c2, c3 = st.columns(3)
        target = c1.selectbox("Target", targets, key="rv_target",
                              index=targets.index(default_target()) if default_target() in targets else 0)
        subject = c2.radio("Correct the stance of", ["claim", "article"], key="rv_subject", horizontal=True)
        label = c3.radio("Stance", list(review.TARGET_LABELS), key="rv_stance_label", horizontal=True)
        if st.button("Save stance", key="rv_stance_go", disabled=claim is None or not targets):
            row = claims[claims["claim_id"] == claim].iloc[0]
            subject_id = int(claim) if subject == "claim" else int(row["article_id"])
            act(review.correct_stance, subject, subject_id, target, label,
                done=f"Stance of {subject} #{subject_id} toward {target} set to '{label}'.")
        nlabel = st.radio("Stance of the claim toward this narrative", list(review.NARRATIVE_LABELS),
                          key="rv_nstance_label", horizontal=True)
        if st.button("Save narrative stance", key="rv_nstance_go", disabled=claim is None):
            act(review.correct_narrative_stance, claim, nid, nlabel,
                done=f"Claim #{claim} {nlabel}s with narrative #{nid}.")
