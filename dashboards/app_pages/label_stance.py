"""Label stance: the claims whose label would teach a target's stance model most, one click each.

Each label is a reviewer's stance (kept in the review log and never overwritten by a model run) and a training
example: the target's adapter refits from cached features and every model stance is rescored, in seconds.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages._common import act, flash, get_store, html_line, reviewer, safe, target_picker
from tracker import review, settings
from tracker.embed import get_embedder  # loads a model once per process
from tracker.store import Store


def _label_and_refit(store: Store, claim_id: int, target: str, label: str, *, reviewer: str) -> str:
    from tracker.pipeline.stance import refit

    review.correct_stance(store, "claim", claim_id, target, label, reviewer=reviewer)
    result = refit(store, target, get_embedder(settings.get("embedding_model")))
    return f"{result['version']} rescored {result['rescored']} claims"


st.title("Label stance")
flash()
st.caption("The model is least sure about these claims, and they are unlike each other: a label on one of them "
           "teaches it most. Each label goes to the review log, and the model refits at once.")
target = target_picker("ls_target")
if target is None:
    st.stop()
skipped: set[int] = st.session_state.setdefault("ls_skipped", set())
from tracker.pipeline.stance import stance_queue  # noqa: E402 - scikit-learn loads only on this page

queue = [c for c in stance_queue(get_store(), target, get_embedder(settings.get("embedding_model")),
                                 limit=10 + len(skipped)) if c["claim_id"] not in skipped]
if not queue:
    st.info(f"Nothing to label for {safe(target)}: no claims about it yet, or every one is labelled.")
    st.stop()
item = queue[0]
html_line(f"“{safe(item['text'])}”", tag="h4")
html_line(f"{safe(item['source'] or '?')}, {safe(item['published'] or 'undated')}"
          + (f" · {safe(item['title'])}" if item["title"] else ""))
probabilities = {label: float(item[f"p_{label}"]) for label in ("favor", "against", "none")}
st.caption("Model: " + " · ".join(f"{label} {p:.2f}" for label, p in probabilities.items()))
if not reviewer():
    st.warning("Type your name in the sidebar (Reviewer) to label; every label is logged under it.")
buttons = st.columns(4)
for column, label in zip(buttons, ("favor", "against", "none"), strict=False):
    if column.button(label, key=f"ls_{label}", use_container_width=True):
        act(_label_and_refit, item["claim_id"], target, label,
            done=f"Claim #{item['claim_id']} labelled {label} toward {target}; model {{result}}.")
if buttons[3].button("skip", key="ls_skip", use_container_width=True):
    skipped.add(int(item["claim_id"]))
    st.rerun()
st.subheader("Next in the queue")
st.dataframe(pd.DataFrame([{"claim": c["text"], "source": c["source"], "favor": c["p_favor"],
                            "against": c["p_against"], "none": c["p_none"], "claim_id": c["claim_id"]}
                           for c in queue[1:]]), hide_index=True,
             column_config={"claim": st.column_config.TextColumn(width="large")})
