"""Export: any view's data as CSV/JSON, and a narrative's verdict as schema.org ClaimReview JSON-LD."""

from __future__ import annotations

import streamlit as st

from app_pages._common import default_target, downloads, flash, get_db, narrative_picker, query, safe
from tracker import TrackerError, export, settings

st.title("Export")
flash()
VIEWS = ["Narratives", "Claims of a narrative", "Stance over time", "Article stances", "Sources",
         "Articles per week"]
view = st.selectbox("View", VIEWS, key="ex_view")
name = view.lower().replace(" ", "-")
if view == "Narratives":
    data = query("narratives_table", weeks=12)
elif view == "Claims of a narrative":
    nid = narrative_picker("ex_narrative")
    data = query("narrative_claims", nid, target=default_target()) if nid is not None else None
    name = f"narrative-{nid}-claims"
elif view == "Stance over time":
    targets = query("targets")
    c1, c2, c3, c4 = st.columns(4)
    target = c1.selectbox("Target", targets, key="ex_target") if targets else None
    freq = c2.radio("Period", ["M", "W"], key="ex_freq", horizontal=True)
    by = c3.selectbox("Group by", ["none", "source", "country", "narrative"], key="ex_by")
    subject = c4.radio("Count", ["article", "claim"], key="ex_subject", horizontal=True)
    data = query("stance_timeline", target=target, by=None if by == "none" else by, freq=freq,
                 subject=subject) if target else None
    name = f"stance-{target}-{freq}-{by}"
elif view == "Article stances":
    targets = query("targets")
    target = st.selectbox("Target", targets, key="ex_as_target") if targets else None
    data = query("article_stances", target=target) if target else None
    name = f"article-stances-{target}"
elif view == "Sources":
    data = query("sources_table")
else:
    data = query("articles_per_week")
if data is None:
    st.info("Nothing to export.")
else:
    st.caption(f"{len(data):,} rows")
    st.dataframe(data.head(200), hide_index=True, height=250)
    downloads(lambda: data, name, key="ex_view_dl")

st.header("Verdict as ClaimReview (JSON-LD)")
reviewed = query("narrative_choices", with_verdict=True)
if not reviewed:
    st.info("No narrative has a verdict yet (set one on the Narratives page).")
else:
    labels = dict(reviewed)
    nid = st.selectbox("Narrative with a verdict", [i for i, _ in reviewed], key="ex_cr_narrative",
                       format_func=lambda i: f"#{i} {labels[i]}")
    organisation = settings.get("organisation")
    author = st.text_input("Publishing organisation (author)", value=organisation or "", key="ex_cr_author",
                           help="Left empty, the reviewer who gave the verdict is the author.")
    try:
        jsonld = export.claim_review_json(get_db(), nid, author=author or None)
    except TrackerError as exc:
        st.error(safe(exc))
    else:
        st.code(jsonld, language="json")
        st.download_button("Download ClaimReview JSON-LD", jsonld.encode("utf-8"),
                           f"claimreview-narrative-{nid}.jsonld", "application/ld+json", key="ex_cr_dl")
