"""Stance over time: shares toward a target per period, by outlet, country or narrative, with intervals."""

from __future__ import annotations

import streamlit as st

from app_pages._common import default_target, downloads, flash, measure, query, safe, stance_chart
from tracker import TrackerError

st.title("Stance over time")
flash()
with st.expander("Add a target", expanded=not query("targets")):
    st.caption("What to measure stance toward: its name, its other names and spellings (aliases), terms that point "
               "to it without naming it (related: its parts and places), and a few statements for and against. "
               "Stance is measured at once; labelled claims refine it later.")
    with st.form("st_add_target"):
        name = st.text_input("Name", placeholder="e.g. Gwadar port")
        aliases = st.text_input("Other names, comma-separated", placeholder="e.g. Gwadar, گوادر")
        related = st.text_input("Related terms, comma-separated", placeholder="e.g. deep-sea port, Makran coast")
        favor = st.text_area("Statements in favor, one a line", height=80)
        against = st.text_area("Statements against, one a line", height=80)
        if st.form_submit_button("Add and measure stance"):
            measure(name, [a for a in aliases.split(",") if a.strip()], [r for r in related.split(",") if r.strip()],
                    [f for f in favor.splitlines() if f.strip()], [a for a in against.splitlines() if a.strip()])
targets = query("targets")
if not targets:
    st.stop()
c1, c2, c3, c4 = st.columns(4)
target = c1.selectbox("Target", targets, key="st_target",
                      index=targets.index(default_target()) if default_target() in targets else 0)
freq = c2.radio("Period", ["Y", "Q", "M", "W"], key="st_freq", horizontal=True,
                format_func=lambda f: {"Y": "year", "Q": "quarter", "M": "month", "W": "week"}[f])
by_label = c3.selectbox("Group by", ["none", "source", "country", "narrative"], key="st_by")
subject = c4.radio("Count", ["article", "claim"], key="st_subject", horizontal=True)
dedupe = st.checkbox("Count syndicated copies (near-duplicates) once", key="st_dedupe")
by = None if by_label == "none" else by_label
top = None
if by == "narrative":
    top_n = st.slider("Biggest narratives", 2, 50, 10, key="st_top")
    top = [i for i, _ in query("narrative_choices")[:top_n]]
try:
    timeline = query("stance_timeline", target=target, by=by, freq=freq, subject=subject, dedupe=dedupe,
                     narratives=top)
except TrackerError as exc:
    st.error(safe(exc))
    st.stop()
events = query("narrative_events", limit=5)
if timeline.empty:
    st.info(f"No stance toward {safe(target)} recorded for {subject}s.")
else:
    groups = sorted(timeline["group"].unique())
    if by is not None and len(groups) > 6:
        top = timeline.groupby("group")["n"].sum().sort_values(ascending=False).index[:6].tolist()
        picked = st.multiselect("Groups shown", groups, default=top, key="st_groups")
        shown = timeline[timeline["group"].isin(picked)]
    else:
        shown = timeline
    st.caption("Lines: share in favor / against, and (grey) the share the model is not sure about (a side below "
               "0.5); articles not about the target are left out. Bands: Wilson 95% intervals (wide where few "
               "items); point size: n. Dashed rules: first appearance of the five biggest narratives.")
    if not shown.empty:
        stance_chart(shown, events, height=360)
    with st.expander("Table"):
        st.dataframe(shown, hide_index=True)
    downloads(shown, f"stance-{target}-{freq}-{by_label}", key="st_table")

st.subheader("Compare two outlets")
names = query("source_names")
if len(names) >= 2:
    a, b = st.columns(2)
    first = a.selectbox("Outlet A", names, index=0, key="st_cmp_a")
    second = b.selectbox("Outlet B", names, index=1, key="st_cmp_b")
    for i, (column, name) in enumerate(((a, first), (b, second))):
        data = query("stance_timeline", target=target, freq=freq, subject=subject, sources=[name])
        with column:
            if data.empty:
                st.info(f"No stance data for {safe(name)}.")
            else:
                stance_chart(data, events, height=260, key=f"st_cmp_chart_{i}")
                st.caption(f"{safe(name)}: {int(data['n'].sum())} {subject}s")
