"""A store is a file people share: opening one must never run code from it, and nothing in it may turn into
markup in the dashboard."""

from __future__ import annotations

import json
import os
import pickle
import sys
from pathlib import Path

import pytest
from sample_store import make_sample_store
from streamlit.testing.v1 import AppTest

from tracker.store import Store

APP = str(Path(__file__).resolve().parent.parent / "dashboards" / "streamlit_app.py")
PAGES = ["overview", "queue", "narratives", "narrative", "stance", "sources", "search", "export"]


class _Exploit:
    """Unpickling this creates the marker file: proof that code from the store ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (os.system, (f"touch {self.marker}",))


def _plant(db_path: Path, marker: Path) -> None:
    """A crafted pickle in every blob column a store has, and where JSON is expected of a model."""
    payload = pickle.dumps(_Exploit(marker))
    with Store(db_path).write() as db:
        db.execute("INSERT INTO models(kind, version, params, metrics, n_train, blob, state, arrays, created_at) "
                   "VALUES ('target-stance:CPEC', 'target-stance:CPEC:v99', '{}', '{}', 1, ?, ?, ?, 'now')",
                   [payload, payload, payload])
        db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('narratives.state', ?)", [payload])
        db.execute("UPDATE embeddings SET vector = ? WHERE rowid = (SELECT min(rowid) FROM embeddings)", [payload])
        db.execute("UPDATE narratives SET centroid = ? WHERE id = 2", [payload])


def _cli(*args: str, env: dict[str, str]) -> tuple[int, str]:
    import subprocess

    script = Path(sys.executable).with_name("tracker")
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from tracker.cli import main; main()"]
    result = subprocess.run([*command, *args], env=env, capture_output=True, text=True, timeout=600)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.slow
def test_a_crafted_blob_runs_no_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "crafted.db"
    marker = tmp_path / "pwned"
    make_sample_store(db).close()
    _plant(db, marker)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")},
           "TRACKER_EMBEDDING_MODEL": "hashing", "PYTHONWARNINGS": "ignore"}
    for command in (["status"], ["search", "CPEC debt trap"], ["stance"], ["update"], ["narratives", "--rebuild"]):
        code, output = _cli(*command, "--db", str(db), env=env)
        assert not marker.exists(), f"tracker {command[0]} ran code from the store"
        assert "Traceback" not in output, output  # at most a one-line error
    monkeypatch.setenv("TRACKER_DB", str(db))
    monkeypatch.setattr(sys, "argv", ["streamlit_app.py"])
    for page in PAGES:
        at = AppTest.from_file(APP, default_timeout=60)
        at.run()
        if page != "overview":
            at.switch_page(f"app_pages/{page}.py")
            at.run()
        assert not marker.exists(), f"the dashboard's {page} page ran code from the store"
    # the model was refitted rather than read, and the unreadable clusterer state rebuilt
    versions = [r[0] for r in Store(db).db.execute("SELECT version FROM models WHERE state LIKE '{%' ORDER BY id")]
    assert versions and "v99" not in versions[-1]


# --- untrusted strings are inert in every widget ----------------------------------------------------------------

PAYLOADS = ["[click](javascript:alert(1))", "<img src=x onerror=alert(1)>", "**bold** _it_ `code` $x^2$",
            ":red[red] :material/home:", "# Heading"]
# what must never appear as written in a markdown-rendering element (escaped, each is shown but not interpreted)
RAW = ["](javascript:", "<img", "**bold**", "_it_", "`code`", "$x^2$", ":red[", ":material/home:", "# Heading"]
MARKUP_ELEMENTS = ("markdown", "caption", "info", "warning", "error", "success", "title", "header", "subheader",
                   "exception")


def _hostile_store(path: Path) -> None:
    make_sample_store(path).close()
    with Store(path).write() as db:
        for i, payload in enumerate(PAYLOADS, start=1):
            db.execute("UPDATE sources SET name = ?, country = ? WHERE id = ?", [f"Outlet {payload}", payload, i])
            db.execute("UPDATE narratives SET label = ?, keywords = ?, verdict_note = ?, verdict_by = ?, "
                       "verdict_url = ? WHERE id = ?",
                       [f"Label {payload}", json.dumps([payload, "kw"]), f"Note {payload}", f"Rev {payload}",
                        payload, i])
            db.execute("UPDATE themes SET label = ? WHERE id = ?", [f"Theme {payload}", 1 + i % 2])
        db.execute("UPDATE targets SET name = ? WHERE id = 2", [f"Target {PAYLOADS[0]}"])
        db.execute("UPDATE narratives SET verdict = ? WHERE id = 1", [PAYLOADS[1]])
        db.execute("INSERT INTO reviews(at, reviewer, action, narrative_id, payload, note) VALUES "
                   "('2025-01-01', ?, 'rename', 1, '{}', ?)", [PAYLOADS[0], PAYLOADS[2]])


def _markup_texts(at: AppTest) -> list[str]:
    texts = []
    for kind in MARKUP_ELEMENTS:
        for element in getattr(at, kind, []):
            texts.append(str(getattr(element, "value", "")))
    for tab in at.tabs:
        texts.append(str(tab.label))
    for metric in at.metric:
        texts.append(str(metric.label))
    return texts


def test_untrusted_strings_are_inert_on_every_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "hostile.db"
    _hostile_store(db)
    monkeypatch.setenv("TRACKER_DB", str(db))
    monkeypatch.setattr(sys, "argv", ["streamlit_app.py"])
    for page in PAGES:
        for narrative in (None, 1, 2):
            at = AppTest.from_file(APP, default_timeout=60)
            if narrative:
                at.query_params["narrative"] = str(narrative)
            at.run()
            if page != "overview":
                at.switch_page(f"app_pages/{page}.py")
                at.run()
            assert not at.exception, (page, at.exception)
            for text in _markup_texts(at):
                for fragment in RAW:
                    assert fragment not in text, f"{page}: {fragment!r} reached markup raw: {text[:200]!r}"
            if page != "narrative":
                break
