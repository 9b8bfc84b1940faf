"""Shared dashboard helpers: the store, cached queries, safe rendering, charts and review plumbing.

No SQL here: every read goes through :mod:`tracker.store.queries`, every write through :mod:`tracker.review`.
Each browser session has its own :class:`~tracker.store.Store` (and so its own connections: one session's
transaction can never roll back another's write); cached reads use a per-thread connection of a shared store.
"""

from __future__ import annotations

import argparse
import html
import os
import sys
from collections.abc import Callable
from typing import Any

import pandas as pd
import sqlite_utils
import streamlit as st

from tracker import TrackerError, export, settings
from tracker.store import Store, queries

TTL = 600  # seconds a cached query result lives; review actions clear the cache at once


def db_path() -> str:
    """The store path: ``--db`` after ``--`` on the streamlit command line, else ``TRACKER_DB``, else default."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--db")
    known, _ = parser.parse_known_args(sys.argv[1:])
    return str(known.db or os.environ.get("TRACKER_DB") or settings.get("db"))


@st.cache_resource(show_spinner=False)
def _reader(path: str) -> Store:
    """The store cached reads go through: each thread that uses it gets its own connection."""
    return Store(path, create=False)


def get_store() -> Store:
    """This browser session's own store (its own connections and transactions)."""
    path = db_path()
    store = st.session_state.get("_tracker_store")
    if store is None or store.path != _reader(path).path:
        store = st.session_state["_tracker_store"] = Store(path, create=False)
    return store


def get_db() -> sqlite_utils.Database:
    """This session's connection, for reads outside the cache (downloads built on click)."""
    return get_store().db


@st.cache_data(ttl=TTL, show_spinner=False)
def _cached(path: str, name: str, args: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...]) -> Any:
    return getattr(queries, name)(_reader(path).db, *args, **dict(kwargs))


def query(name: str, *args: Any, **kwargs: Any) -> Any:
    """Call ``tracker.store.queries.<name>(db, *args, **kwargs)``, cached per store path and arguments."""
    frozen = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in kwargs.items()))
    return _cached(db_path(), name, args, frozen)


def default_target() -> str | None:
    """The target pages show first: the ``default_target`` setting if the store has it, else its first target,
    else None (a store about something else has no target until someone adds one)."""
    targets = query("targets")
    wanted = str(settings.get("default_target"))
    return wanted if wanted in targets else (targets[0] if targets else None)


def target_picker(key: str, label: str = "Target") -> str | None:
    """A selectbox of the store's targets (the default first), or an invitation to add one when there is none."""
    targets = query("targets")
    if not targets:
        st.info("No stance target yet. Add what you want to measure stance toward (a policy, a project, a person) "
                "under 'Add a target' on the Stance page, or with `tracker targets add`.")
        return None
    first = default_target()
    return st.selectbox(label, targets, index=targets.index(first) if first in targets else 0, key=key)


def reviewer() -> str:
    """The reviewer name typed in the sidebar ('' when none)."""
    return str(st.session_state.get("reviewer") or "").strip()


def act(action: Callable[..., Any], *args: Any, done: str, **kwargs: Any) -> Any:
    """Run a review action as the sidebar's reviewer; on success clear caches and rerun so it shows at once."""
    name = reviewer()
    if not name:
        st.error("Type your name in the sidebar (Reviewer) before making changes.")
        return None
    try:
        result = action(get_store(), *args, reviewer=name, **kwargs)
    except TrackerError as exc:  # one clear line (a busy store included), never a traceback
        st.error(safe(str(exc)))
        return None
    st.cache_data.clear()
    st.session_state["flash"] = done.format(result=result)
    st.rerun()
    return result  # pragma: no cover - st.rerun does not return


def measure(name: str, aliases: list[str], related: list[str], favor: list[str], against: list[str]) -> None:
    """Add a stance target and measure stance toward it on the whole store (``tracker.pipeline.update``)."""
    from tracker.pipeline import update
    from tracker.pipeline.stance import add_target

    if not name.strip():
        st.error("A target needs a name.")
        return
    try:
        add_target(get_store(), name, aliases=aliases, related=related, favor=favor, against=against)
        with st.spinner(f"Measuring stance toward {safe(name)} …"):
            report = update(get_store(), stages=("stance",))
    except TrackerError as exc:
        st.error(safe(str(exc)))
        return
    st.cache_data.clear()
    measured = next((r.counts for r in report.stages if r.stage == "stance"), {})
    st.session_state["flash"] = (f"Target '{name.strip()}' added; stance measured for "
                                 f"{measured.get(name.strip(), 0)} claims.")
    st.rerun()


def flash() -> None:
    """Show (once) the message the last review action left."""
    message = st.session_state.pop("flash", None)
    if message:
        st.success(safe(message))


# --- untrusted text ------------------------------------------------------------------------------------------

_HTML = set("&<>\"'")
_MARKDOWN = set("\\`*_{}[]()#+-.!|~:$=@/")


def _inert(ch: str) -> str:
    if ch in _HTML:
        return html.escape(ch, quote=True)
    return f"&#{ord(ch)};" if ch in _MARKDOWN else ch


def safe(text: Any) -> str:
    """Text made inert for ``st.markdown``: HTML-escaped (``html.escape``) and every markdown, link, emoji and
    LaTeX character written as a character reference, so nothing in it is interpreted."""
    return "".join(_inert(ch) for ch in str("" if text is None else text))


def html_line(content: str, tag: str = "div") -> None:
    """Render one line of our own HTML (with untrusted parts already passed through :func:`safe`).

    It is emitted as a single raw HTML block, so markdown (links, autolinked URLs, emphasis) is never parsed in
    it; ``content`` must not contain newlines.
    """
    st.markdown(f'<{tag} class="tracker-line">{content.replace(chr(10), " ")}</{tag}>', unsafe_allow_html=True)


def highlighted(text: str, start: int, end: int) -> str:
    """Article text as an inert HTML block with ``text[start:end]`` in ``<mark>``.

    The text is untrusted: it is HTML-escaped and markdown-neutralised, newlines become ``<br>`` so the whole
    article is one raw HTML block (markdown is never parsed inside it).
    """
    def part(s: str) -> str:
        return safe(s).replace("\n", "<br>")

    start, end = max(0, int(start)), min(len(text), int(end))
    return (
        '<div class="article-text" style="white-space: normal; line-height: 1.6; max-height: 28em; '
        'overflow-y: auto; padding: 0.5em; border: 1px solid #ddd; border-radius: 4px;">'
        f'{part(text[:start])}<mark style="background: #ffe066;">{part(text[start:end])}</mark>{part(text[end:])}'
        "</div>"
    )


# --- exports and charts --------------------------------------------------------------------------------------

def downloads(frame: pd.DataFrame | Callable[[], pd.DataFrame], name: str, key: str) -> None:
    """CSV and JSON download buttons for a table (or a function that makes it: then built only on click)."""
    def make(convert: Callable[[pd.DataFrame], bytes]) -> Any:
        if callable(frame):
            return lambda: convert(frame())  # type: ignore[operator]
        return convert(frame)

    left, right = st.columns(2)
    left.download_button("Download CSV", make(export.to_csv), f"{name}.csv", "text/csv", key=f"{key}_csv")
    right.download_button("Download JSON", make(export.to_json), f"{name}.json", "application/json",
                          key=f"{key}_json")


def _events_layers(events: pd.DataFrame | None, height: int) -> list[dict[str, Any]]:
    if events is None or events.empty:
        return []
    values = [{"date": str(d), "label": str(label)}
              for d, label in zip(events["date"], events["label"], strict=True)]
    x = {"field": "date", "type": "temporal"}
    return [
        {"data": {"values": values}, "mark": {"type": "rule", "strokeDash": [4, 3], "color": "gray"},
         "encoding": {"x": x, "tooltip": [{"field": "date", "type": "temporal"}, {"field": "label"}]}},
        # a label longer than the chart is tall ends in an ellipsis (the rule's tooltip has it whole): narrative
        # labels are claims now, and a whole claim written upward ran out of the chart across the axis
        {"data": {"values": values}, "mark": {"type": "text", "angle": 270, "align": "left", "dx": 4, "dy": -4,
                                              "fontSize": 10, "color": "gray", "limit": int(height * 0.9)},
         "encoding": {"x": x, "y": {"value": height - 5}, "text": {"field": "label"}}},
    ]


def stance_chart(frame: pd.DataFrame, events: pd.DataFrame | None = None, height: int = 300, *,
                 key: str | None = None) -> None:
    """Draw favor and against shares per period with Wilson 95% bands, and the share the model is uncertain about
    (dotted, grey); point size shows n (thin periods stand out).

    ``frame`` is :func:`tracker.store.queries.stance_timeline` output; ``events`` (date, label) become dashed rules.
    The chart is a plain Vega-Lite spec (no Altair validation on every rerun: it keeps pages fast).
    """
    rows = []
    for label in ("favor", "against", "uncertain"):
        bands = [f"{label}_lo", f"{label}_hi"] if label != "uncertain" else [f"{label}_share"] * 2
        part = frame[["period", "group", "n", f"{label}_share", *bands]].copy()
        part.columns = ["period", "group", "n", "share", "lo", "hi"]
        part["stance"] = label
        rows.append(part)
    long = pd.concat(rows, ignore_index=True)
    long["series"] = long["stance"] if long["group"].nunique() == 1 else long["group"] + " · " + long["stance"]
    x = {"field": "period", "type": "temporal", "title": None}
    color: dict[str, Any] = {"field": "series", "type": "nominal", "title": None}
    if long["group"].nunique() == 1:
        color["scale"] = {"domain": ["favor", "against", "uncertain"], "range": ["#2e8b57", "#c0392b", "#999999"]}
    tooltip = [{"field": "period", "type": "temporal"}, {"field": "series"},
               {"field": "n", "type": "quantitative"},
               *({"field": f, "type": "quantitative", "format": ".2f"} for f in ("share", "lo", "hi"))]
    spec = {
        "height": height,
        "layer": [
            {"mark": {"type": "area", "opacity": 0.18},
             "encoding": {"x": x, "color": color, "y2": {"field": "hi"},
                          "y": {"field": "lo", "type": "quantitative", "title": "share (95% interval)",
                                "scale": {"domain": [0, 1]}}}},
            {"mark": "line",
             "encoding": {"x": x, "color": color, "y": {"field": "share", "type": "quantitative"}}},
            {"mark": "circle", "encoding": {
                "x": x, "color": color, "y": {"field": "share", "type": "quantitative"}, "tooltip": tooltip,
                "size": {"field": "n", "type": "quantitative", "title": "n", "scale": {"range": [10, 160]}}}},
            *_events_layers(events, height),
        ],
    }
    st.vega_lite_chart(long, spec, width="stretch", key=key)


def bar_chart(frame: pd.DataFrame, x: str, y: str, color: str | None = None, height: int = 220) -> None:
    """A bar chart over time (``x`` a date column), optionally stacked by ``color``."""
    encoding: dict[str, Any] = {
        "x": {"field": x, "type": "temporal", "title": None},
        "y": {"field": y, "type": "quantitative", "stack": True},
        "tooltip": [{"field": x, "type": "temporal"}, {"field": y, "type": "quantitative"}],
    }
    if color:
        encoding["color"] = {"field": color, "type": "nominal"}
        encoding["tooltip"].append({"field": color})
    st.vega_lite_chart(frame, {"height": height, "mark": "bar", "encoding": encoding}, width="stretch")


def narrative_picker(key: str, label: str = "Narrative", status: str | None = "active") -> int | None:
    """A narrative selectbox (largest first); the choice is shared across pages via ``?narrative=`` and state."""
    choices = query("narrative_choices", status=status)
    if not choices:
        st.info("No narratives yet: run `tracker update` to cluster claims.")
        return None
    ids = [c[0] for c in choices]
    names = dict(choices)
    wanted = st.query_params.get("narrative") or st.session_state.get("narrative_id")
    index = ids.index(int(wanted)) if wanted and str(wanted).isdigit() and int(wanted) in ids else 0
    chosen = st.selectbox(label, ids, index=index, key=key, format_func=lambda i: f"#{i} {names[i]}")
    if chosen is not None:
        st.session_state["narrative_id"] = chosen
        st.query_params["narrative"] = str(chosen)
    return chosen
