"""Overview: what the store holds, articles per week, narratives rising fastest, the largest themes over time,
stance toward the store's targets (or an invitation to add one)."""

from __future__ import annotations

import streamlit as st

from app_pages._common import bar_chart, downloads, flash, query, safe, stance_chart, target_picker
from tracker import TrackerError

st.title("Overview")
flash()
info = query("overview")
cols = st.columns(5)
cols[0].metric("Articles", f"{info['articles']:,}", help=f"{info['near_duplicates']:,} near-duplicates linked")
cols[1].metric("Outlets", f"{info['outlets']:,}")
cols[2].metric("Claims", f"{info['claims']:,}")
cols[3].metric("Narratives", f"{info['narratives']:,}")
cols[4].metric("Years", f"{(info['first'] or '?')[:4]}–{(info['last'] or '?')[:4]}",
               help=f"articles dated {info['first'] or '?'} to {info['last'] or '?'}")

st.subheader("Articles per week")
weekly = query("articles_per_week")
if weekly.empty:
    st.info("No dated articles yet.")
else:
    bar_chart(weekly, "week", "articles")

st.subheader("Narratives rising fastest")
weeks = st.slider("Recent window (weeks of data)", 2, 52, 12, key="overview_weeks",
                  help="Growth = weekly claim rate in the last N weeks of data vs the narrative's rate before "
                       "(add-one smoothed); narratives are ranked by surge, which also weighs how many claims.")
rising = query("rising_narratives", weeks=weeks, limit=10)
if rising.empty:
    st.info("No narrative has claims in that window.")
else:
    st.dataframe(rising, hide_index=True, width="stretch",
                 column_config={"growth": st.column_config.NumberColumn(format="%.2f×"),
                                "surge": st.column_config.NumberColumn(
                                    format="%.1f", help="Recent claims above the narrative's usual rate, in "
                                                        "Poisson standard deviations (the ranking)")})

st.subheader("Themes over time")
theme_freq = st.segmented_control("Period", ["Y", "Q", "M"], default="Y", key="overview_theme_freq",
                                  format_func={"Y": "Yearly", "Q": "Quarterly", "M": "Monthly"}.get) or "Y"
themes = query("theme_volume", freq=theme_freq, limit=8)
if themes.empty:
    st.info("No themes yet: they appear once narratives of one storyline are found (tracker update).")
else:
    st.caption("Articles carrying each of the eight largest themes (storylines grouping several narratives); "
               "a syndicated copy counts once. The Narratives page lists every theme.")
    bar_chart(themes, "period", "articles", color="theme", height=260)
    downloads(themes, f"themes-{theme_freq.lower()}", key="overview_themes")

st.subheader("Stance over time")
target = target_picker("overview_target")
if target is not None:
    periods = {"Y": "Yearly", "Q": "Quarterly", "M": "Monthly"}
    freq = st.segmented_control("Period", list(periods), default="Y", format_func=periods.get,
                                key="overview_freq") or "Y"
    try:
        timeline = query("stance_timeline", target=target, freq=freq, subject="article")
    except TrackerError as exc:
        st.info(f"No stance data for {safe(target)} ({safe(exc)}).")
    else:
        if timeline.empty:
            st.info(f"No stance toward {safe(target)} has been measured yet (tracker update measures it).")
        else:
            st.caption(f"{periods[freq]} share of articles in favor / against {safe(target)}, with Wilson 95% "
                       "intervals; bigger points = more articles, wide bands = few articles.")
            stance_chart(timeline)
            downloads(timeline, f"stance-{target}-{periods[freq].lower()}", key="overview_stance")
