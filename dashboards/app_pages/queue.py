"""To review: narratives in the order a fact-checker should look at them, with a verdict a few clicks away."""

from __future__ import annotations

import streamlit as st

from app_pages._common import act, flash, html_line, query, reviewer, safe
from tracker import review

st.title("To review")
flash()
st.caption("Most worth checking first: the check-worthiness of a narrative's claims × how many outlets and "
           "articles carry it × how fast it is growing, for narratives without a verdict (and verdicted ones that "
           "gained claims since, or that the model flagged). Boilerplate and opinion are hidden unless shown.")
c1, c2, c3 = st.columns([2, 1, 1])
show_hidden = c1.toggle("Show boilerplate and non-check-worthy narratives", key="q_hidden")
weeks = int(c2.number_input("Growth window (weeks)", 1, 104, 12, key="q_weeks"))
limit = int(c3.number_input("Show", 10, 1000, 50, step=10, key="q_limit"))
queue = query("review_queue", weeks=weeks, include_hidden=show_hidden, limit=limit)
if queue.empty:
    st.info("Nothing to review: no narratives yet, or every one has a verdict.")
    st.stop()
shown = ["id", "label", "priority", "checkworthy", "n_sources", "n_articles", "recent", "size", "verdict",
         "new_since_verdict", "flags", "review_status", "theme"] + (["hidden"] if show_hidden else [])
st.dataframe(queue[shown], hide_index=True, height=380,
             column_config={"label": st.column_config.TextColumn(width="large"),
                            "checkworthy": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0,
                                                                           format="%.2f"),
                            "recent": st.column_config.NumberColumn(help=f"claims in the last {weeks} weeks")})

ids = queue["id"].tolist()
labels = dict(zip(queue["id"], queue["label"].fillna(""), strict=True))
nid = st.selectbox("Narrative", ids, key="q_pick", format_func=lambda i: f"#{i} {labels[i][:120]}")
info = query("narrative", nid)
html_line(f"<b>#{nid}</b> {safe(info['label'] or '')}", tag="h4")
if info["verdict"]:
    html_line(f"Verdict: <b>{safe(info['verdict'])}</b> by {safe(info['verdict_by'] or '?')}; "
              f"{int(info['new_since_verdict'])} claims joined since it")
for _, claim in query("representative_claims", nid, limit=3).iterrows():
    html_line(f"“{safe(claim['text'])}” — {safe(claim['source'] or '?')}, {safe(claim['published'] or 'undated')}")
st.page_link("app_pages/narrative.py", label=f"Open narrative #{nid} (every claim, history, merge and split)",
              icon=":material/open_in_new:", query_params={"narrative": str(nid)})
if not reviewer():
    st.warning("Type your name in the sidebar (Reviewer) to give verdicts; every action is logged under it.")
note = st.text_input("Note (optional)", key=f"q_note_{nid}")
url = st.text_input("Fact-check URL (optional)", key=f"q_url_{nid}")
buttons = st.columns(len(review.VERDICTS) + 1)
for column, verdict in zip(buttons, review.VERDICTS, strict=False):
    if column.button(verdict, key=f"q_verdict_{verdict}", use_container_width=True):
        act(review.set_verdict, nid, verdict, note=note, url=url, done=f"Verdict '{verdict}' saved on #{nid}.")
if buttons[-1].button("nothing to check", key="q_dismiss", use_container_width=True,
                      help="Marks the narrative reviewed without a verdict; it drops to the end of the queue."):
    act(review.set_review_status, nid, "reviewed", note=note or None, done=f"#{nid} marked reviewed.")
