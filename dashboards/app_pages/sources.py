"""Sources: each outlet's volume over time, the narratives it carries, its stance, and how often it was first."""

from __future__ import annotations

import streamlit as st

from app_pages._common import bar_chart, default_target, downloads, flash, query, safe, stance_chart

st.title("Sources")
flash()
table = query("sources_table")
if table.empty:
    st.info("No outlets yet: ingest some articles first.")
    st.stop()
st.dataframe(table, hide_index=True, height=260,
             column_config={"first_to_carry": st.column_config.NumberColumn(
                 help="active narratives this outlet carried before any other")})
downloads(table, "sources", key="src_table")

ids = table["id"].tolist()
names = dict(zip(table["id"], table["name"], strict=True))
source_id = st.selectbox("Outlet", ids, key="src_pick", format_func=lambda i: names[i])
row = table[table["id"] == source_id].iloc[0]
m = st.columns(5)
m[0].metric("Articles", int(row["articles"]))
m[1].metric("Claims", int(row["claims"]))
m[2].metric("Narratives carried", query("source_narrative_count", int(source_id)))
m[3].metric("First to carry", int(row["first_to_carry"]))
m[4].metric("Country", row["country"] or "?")

st.subheader("Volume over time")
volume = query("source_volume", source_id, freq="M")
if not volume.empty:
    bar_chart(volume, "period", "articles", height=200)

st.subheader("Narratives it carries")
carried = query("source_narratives", source_id)
st.dataframe(carried, hide_index=True, height=260)

target = default_target()
if target is not None:
    st.subheader(f"Stance toward {safe(target)}, by year")
    data = query("stance_timeline", target=target, freq="Y", subject="article", sources=[int(source_id)])
    if data.empty:
        st.info("No stance measured for this outlet.")
    else:
        stance_chart(data)
