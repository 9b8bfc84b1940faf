"""Narrative: one narrative in depth: every claim in its article, volume by outlet, relatives, history, review."""

from __future__ import annotations

import streamlit as st

from app_pages._common import (
    act,
    bar_chart,
    default_target,
    downloads,
    flash,
    get_db,
    highlighted,
    html_line,
    narrative_picker,
    query,
    safe,
)
from app_pages._review_panel import review_panel
from tracker import review
from tracker.store import queries

st.title("Narrative")
flash()
narrative_id = narrative_picker("nar_pick")
if narrative_id is None:
    st.stop()
info = query("narrative", narrative_id)
st.header(f"#{narrative_id}", anchor=False)
html_line(safe(info["label"]), tag="h3")
if info["keywords"]:
    html_line("<b>Keywords:</b> " + ", ".join(safe(k) for k in info["keywords"]))
if info["theme"]:
    html_line(f"<b>Theme:</b> {safe(info['theme'])} (#{info['theme_id']}; other narratives of this storyline are "
              "listed under Narratives, filtered by theme)")
m = st.columns(4)
m[0].metric("Claims", info["size"])
m[1].metric("Articles", info["n_articles"], help="near-duplicates counted once")
m[2].metric("Outlets", info["n_sources"])
m[3].metric("Verdict", info["verdict"] or "none", help=info["review_status"])
html_line(f"First seen {safe(info['first_seen'] or '?')} (first carried by {safe(info['first_source'] or '?')}), "
          f"last seen {safe(info['last_seen'] or '?')}")
flags = [info["status"], info["review_status"]] + (["locked"] if info["locked"] else []) + (
    ["label kept"] if info["label_locked"] else [])
st.caption(" · ".join(flags))
if info["verdict_note"] or info["verdict_url"]:
    html_line(f"<b>Verdict note:</b> {safe(info['verdict_note'] or '')} {safe(info['verdict_url'] or '')}")
if info["new_since_verdict"]:
    st.warning(f"{info['new_since_verdict']:,} claims joined after the verdict was given "
               f"({safe(info['verdict_at'] or '')}); they are marked in the claim table (new_since_verdict).")

open_flags = query("narrative_flags", narrative_id)
if not open_flags.empty:
    st.subheader(f"Open flags ({len(open_flags)})")
    st.caption("What the model wants a reviewer to look at: a proposed merge with another narrative, or a verdict "
               "inherited by claims from elsewhere. Nothing changes until a reviewer acts; resolving a flag only "
               "marks it seen.")
    st.dataframe(open_flags[["id", "kind", "other_id", "other_label", "detail", "created_at"]], hide_index=True)
    flag_ids = [int(f) for f in open_flags["id"]]
    c1, c2 = st.columns([1, 2])
    flag_id = c1.selectbox("Flag", flag_ids, key=f"nar_flag_{narrative_id}")
    flag_note = c2.text_input("Note (optional)", key=f"nar_flag_note_{narrative_id}")
    if c1.button("Mark resolved", key="nar_flag_resolve"):
        act(review.resolve_flag, flag_id, note=flag_note or None, done=f"Flag {flag_id} resolved.")

st.subheader("Representative claims")
st.dataframe(query("representative_claims", narrative_id), hide_index=True)

PAGE = 500
st.subheader(f"Every claim ({info['size']:,})")
pages = max(1, -(-int(info["size"]) // PAGE))
page = 1
if pages > 1:
    page = int(st.number_input(f"Page (of {pages}, {PAGE} claims each, oldest first)", 1, pages, 1,
                               key=f"nar_page_{narrative_id}"))
claims = query("narrative_claims", narrative_id, target=default_target(), limit=PAGE, offset=(page - 1) * PAGE)
cols = ["claim_id", "published", "source", "country", "claimant", "attribution", "narrative_stance",
        "target_stance", "assigned_by", "new_since_verdict", "text", "title", "url"]
st.dataframe(claims[cols], hide_index=True, height=320,
             column_config={"url": st.column_config.LinkColumn("url"),
                            "target_stance": st.column_config.TextColumn(f"stance to {default_target()}")})
downloads(lambda: queries.narrative_claims(get_db(), narrative_id, target=default_target())[cols],
          f"narrative-{narrative_id}-claims", key="nar_claims")

st.subheader("Claim in its article")
if claims.empty:
    st.info("This narrative has no claims.")
else:
    ids = [int(c) for c in claims["claim_id"]]
    texts = dict(zip(ids, claims["text"], strict=True))
    wanted = st.query_params.get("claim")
    if wanted and wanted.isdigit() and int(wanted) not in ids:  # a linked claim on another page
        ids.insert(0, int(wanted))
        texts[int(wanted)] = ""
    index = ids.index(int(wanted)) if wanted and wanted.isdigit() else 0
    claim_id = st.selectbox("Claim", ids, index=index, key="nar_claim",
                            format_func=lambda i: f"#{i} {texts[i][:110]}")
    ctx = query("claim_context", claim_id)
    html_line(
        f"<b>{safe(ctx['source'] or '?')}</b> ({safe(ctx['country'] or '?')}), "
        f"{safe(ctx['published'] or 'undated')} — <i>{safe(ctx['title'] or '')}</i> · "
        f"claimant: {safe(ctx['claimant'] or '?')} · attribution: {safe(ctx['attribution'] or '?')}"
        + (f" · near-duplicate of article {int(ctx['duplicate_of'])}" if ctx["duplicate_of"] else ""))
    st.markdown(highlighted(ctx["text"], ctx["start"], ctx["end"]), unsafe_allow_html=True)
    if ctx["url"]:
        html_line(f"Source URL: {safe(ctx['url'])}")

st.subheader("Weekly volume by outlet")
volume = query("narrative_volume", narrative_id, freq="W")
if not volume.empty:
    bar_chart(volume, "period", "claims", color="source")

left, right = st.columns(2)
with left:
    st.subheader("Related narratives")
    st.dataframe(query("related_narratives", narrative_id, k=5), hide_index=True)
with right:
    st.subheader("History")
    st.dataframe(query("narrative_history", narrative_id), hide_index=True)

review_panel(info, claims)
