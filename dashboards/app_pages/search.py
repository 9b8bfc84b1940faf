"""Search: paste a claim, find matching claims and the narratives they belong to, with any verdict."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages._common import downloads, flash, get_store, safe
from tracker import TrackerError
from tracker import search as search_module

st.title("Search")
flash()

text = st.text_area("Paste a claim", key="search_text", height=90,
                    placeholder="e.g. CPEC loans will push Pakistan into a debt trap")
k = st.slider("Results", 1, 50, 10, key="search_k")
if st.button("Search", key="search_go", type="primary") and text.strip():
    try:
        hits = search_module.search(get_store(), text.strip(), k=k)
    except TrackerError as exc:
        st.error(safe(exc))
        st.stop()
    if not hits:
        st.info("No matching claims.")
    else:
        frame = pd.DataFrame([{
            "score": round(float(h.score), 3), "claim": h.text, "narrative_id": h.narrative_id,
            "narrative": h.narrative_label, "verdict": h.verdict, "source": h.source,
            "published": h.published, "title": h.title, "claim_id": h.claim_id, "article_id": h.article_id}
            for h in hits])
        verdicts = frame.dropna(subset=["verdict"]).drop_duplicates("narrative_id")
        for _, row in verdicts.iterrows():
            st.warning(f"Narrative #{int(row['narrative_id'])} has a verdict: {safe(row['verdict'])}", icon="⚠️")
        matched = frame.dropna(subset=["narrative_id"])
        narratives = matched.groupby(["narrative_id", "narrative"], dropna=False).agg(
            matches=("claim_id", "count"), best=("score", "max")).reset_index()
        narratives = narratives.sort_values("best", ascending=False)
        st.subheader("Narratives")
        st.dataframe(narratives, hide_index=True)
        st.subheader("Claims")
        st.dataframe(frame, hide_index=True)
        downloads(frame, "search", key="search_dl")
