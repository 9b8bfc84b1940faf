"""tracker dashboard: review narratives, explore stance over time, export.

Run with ``tracker dashboard --db cpec.db`` or ``streamlit run dashboards/streamlit_app.py -- --db cpec.db``
(the store may also come from ``TRACKER_DB``). Page files in ``app_pages/`` read like scripts; all queries and
writes live in the ``tracker`` package.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

from app_pages._common import db_path, get_store, safe  # noqa: E402

from tracker import TrackerError  # noqa: E402

st.set_page_config(page_title="tracker", page_icon=":material/fact_check:", layout="wide")

try:
    get_store()
except TrackerError as exc:
    st.error(f"Cannot open the store: {safe(exc)}")
    st.stop()

with st.sidebar:
    st.text_input("Reviewer", key="reviewer", help="Your name: every review action is logged under it.",
                  placeholder="your name")
    st.caption(f"Store: {safe(Path(db_path()).name)}")

pages = [
    st.Page("app_pages/overview.py", title="Overview", icon=":material/dashboard:", url_path="overview",
            default=True),
    st.Page("app_pages/queue.py", title="To review", icon=":material/checklist:", url_path="queue"),
    st.Page("app_pages/narratives.py", title="Narratives", icon=":material/hub:", url_path="narratives"),
    st.Page("app_pages/narrative.py", title="Narrative", icon=":material/fact_check:", url_path="narrative"),
    st.Page("app_pages/stance.py", title="Stance over time", icon=":material/timeline:", url_path="stance"),
    st.Page("app_pages/label_stance.py", title="Label stance", icon=":material/label:", url_path="label-stance"),
    st.Page("app_pages/sources.py", title="Sources", icon=":material/newspaper:", url_path="sources"),
    st.Page("app_pages/search.py", title="Search", icon=":material/search:", url_path="search"),
    st.Page("app_pages/export.py", title="Export", icon=":material/download:", url_path="export"),
]
st.navigation(pages).run()
