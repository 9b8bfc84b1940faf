"""Narratives: a sortable, filterable list of every active narrative (open one on the Narrative page), and the
themes that group narratives of one storyline."""

from __future__ import annotations

import streamlit as st

from app_pages._common import downloads, flash, query

st.title("Narratives")
flash()
themes = query("themes_table")
with st.expander(f"Themes: {len(themes):,} storylines, each grouping narratives that tell one story",
                 expanded=False):
    st.caption("A theme groups narratives of one storyline (a graph of each narrative's closest neighbours, "
               "settings theme_floor and theme_resolution; no theme holds more than theme_max_share of them); it is "
               "recomputed on every update and keeps its id while its storyline lasts. Rename one with "
               "'tracker review rename-theme'.")
    st.dataframe(themes[["id", "label", "n_narratives", "size", "n_sources", "first_seen", "last_seen",
                         "top_narratives", "keywords"]], hide_index=True,
                 column_config={"top_narratives": st.column_config.TextColumn(width="large")})
    downloads(lambda: themes, "themes", key="nar_themes")
theme_labels = dict(zip(themes["id"], themes["label"].fillna(""), strict=True))
theme = st.selectbox("Theme", [None, *theme_labels], key="nar_theme",
                     format_func=lambda t: "All themes" if t is None else f"#{t} {theme_labels[t]}")
c1, c2, c3, c4, c5 = st.columns([3, 1, 2, 2, 1])
text = c1.text_input("Label or keyword contains", key="nar_filter")
min_size = c2.number_input("Min size", min_value=0, value=0, step=1, key="nar_min_size")
verdicts = c3.multiselect("Verdict", ["(none)", "false", "misleading", "unproven", "accurate", "mixed"],
                          key="nar_verdict")
statuses = c4.multiselect("Review status", ["unreviewed", "in review", "reviewed"], key="nar_status")
weeks = int(c5.number_input("Growth window (weeks)", 1, 104, 12, key="nar_weeks"))
table = query("narratives_table", weeks=weeks)
if text:
    mask = table["label"].fillna("").str.contains(text, case=False, regex=False)
    table = table[mask | table["keywords"].str.contains(text, case=False, regex=False)]
table = table[table["size"] >= min_size]
if theme is not None:
    table = table[table["theme_id"] == theme]
if verdicts:
    table = table[table["verdict"].fillna("(none)").isin(verdicts)]
if statuses:
    table = table[table["review_status"].isin(statuses)]
shown = ["id", "label", "size", "n_sources", "n_articles", "first_seen", "last_seen", "growth", "recent",
         "stance_mix", "verdict", "review_status", "locked", "theme", "first_source", "keywords"]
st.caption(f"{len(table):,} narratives · click a column header to sort · growth: weekly claim rate in the last "
           f"{weeks} weeks of data vs before (add-one smoothed)")
st.dataframe(table[shown], hide_index=True, height=520,
             column_config={"growth": st.column_config.NumberColumn(format="%.2f×"),
                            "label": st.column_config.TextColumn(width="large")})
downloads(lambda: table[shown], "narratives", key="nar_list")

if len(table):
    ids = table["id"].tolist()
    labels = dict(zip(table["id"], table["label"], strict=True))
    chosen = st.selectbox("Open narrative", ids, key="nar_open", format_func=lambda i: f"#{i} {labels[i]}")
    st.session_state["narrative_id"] = chosen
    st.page_link("app_pages/narrative.py", label=f"Open narrative #{chosen}", icon=":material/open_in_new:",
                 query_params={"narrative": str(chosen)})
