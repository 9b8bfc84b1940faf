"""Dashboard tests with streamlit.testing.v1.AppTest: every page renders, every review action persists."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sample_store import make_sample_store
from streamlit.testing.v1 import AppTest

from tracker.store import Store
from tracker.store import narratives as store_narratives

APP = str(Path(__file__).resolve().parent.parent / "dashboards" / "streamlit_app.py")
PAGES = ["overview", "queue", "narratives", "narrative", "stance", "label_stance", "sources", "search", "export"]


@pytest.fixture
def store(tmp_path, monkeypatch):
    path = tmp_path / "sample.db"
    make_sample_store(path).close()
    monkeypatch.setenv("TRACKER_DB", str(path))
    monkeypatch.setattr(sys, "argv", ["streamlit_app.py"])
    return path


def app(page: str | None = None, reviewer: str | None = "Tester") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert not at.exception
    if reviewer:
        at.sidebar.text_input(key="reviewer").input(reviewer)
    if page and page != "overview":
        at.switch_page(f"app_pages/{page}.py")
    at.run()
    assert not at.exception, at.exception
    return at


def query(path, sql, params=()):
    db = Store(path).db
    try:
        return db.execute(sql, list(params)).fetchall()
    finally:
        db.conn.close()


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(store, page):
    at = app(page)
    assert not at.error
    assert at.title[0].value


def test_overview_shows_counts(store):
    at = app()
    assert {m.label: m.value for m in at.metric}["Articles"] == "61"
    assert at.dataframe  # rising narratives
    assert any("largest themes" in c.value for c in at.caption) and not at.exception


def test_narratives_list_filters(store):
    at = app("narratives")
    themes, narratives = at.dataframe[0].value, at.dataframe[1].value
    assert themes["id"].tolist() == [1, 2] and themes["n_narratives"].tolist() == [3, 2]
    assert len(narratives) == 5 and narratives.set_index("id")["theme"].notna().all()
    at.selectbox(key="nar_theme").select(2).run()
    assert sorted(at.dataframe[1].value["id"]) == [3, 4]
    at.selectbox(key="nar_theme").select_index(0).run()  # all themes
    assert len(at.dataframe[1].value) == 5
    at.text_input(key="nar_filter").input("gwadar").run()
    assert at.dataframe[1].value["id"].tolist() == [3]
    at.multiselect(key="nar_verdict").select("misleading").run()
    assert at.dataframe[1].value.empty and not at.exception


def test_narrative_page_escapes_article_text(store):
    claim = query(store, "SELECT id FROM claims WHERE article_id = 7")[0][0]
    at = app("narrative")
    at.selectbox(key="nar_pick").select(1).run()
    at.selectbox(key="nar_claim").select(claim).run()
    assert not at.exception
    html = [m.value for m in at.markdown if "article-text" in m.value][0]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "](http" not in html and "&#91;click&#93;" in html
    assert "<mark" in html and "CPEC loans are pushing Pakistan into a debt trap&#46;</mark>" in html


def test_review_needs_reviewer_name(store):
    at = app("narrative", reviewer=None)
    at.text_input(key="rv_label_3").input("Nameless").run()
    at.button(key="rv_rename").click().run()
    assert any("Reviewer" in e.value for e in at.error)
    assert query(store, "SELECT label FROM narratives WHERE id = 3")[0][0] != "Nameless"


def test_rename_verdict_status_lock(store):
    at = app("narrative")  # narrative 3 is the largest, so it is selected first
    at.text_input(key="rv_label_3").input("Gwadar as a naval base").run()
    at.button(key="rv_rename").click().run()
    assert not at.exception
    assert query(store, "SELECT label, label_locked FROM narratives WHERE id = 3") == [
        ("Gwadar as a naval base", 1)]
    assert any("Renamed" in s.value for s in at.success)
    assert "<h3" in [m.value for m in at.markdown if "Gwadar as a naval base" in m.value][0]
    at.selectbox(key="rv_verdict_3").select("unproven").run()
    at.text_input(key="rv_url_3").input("https://fc.example/gwadar").run()
    at.text_area(key="rv_note_3").input("No evidence of a base.").run()
    at.button(key="rv_save_verdict").click().run()
    assert query(store, "SELECT verdict, verdict_url, verdict_note, review_status, verdict_by FROM narratives "
                        "WHERE id = 3") == [("unproven", "https://fc.example/gwadar", "No evidence of a base.",
                                            "reviewed", "Tester")]
    at.selectbox(key="rv_status_3").select("in review").run()
    at.button(key="rv_set_status").click().run()
    assert query(store, "SELECT review_status FROM narratives WHERE id = 3") == [("in review",)]
    at.button(key="rv_lock").click().run()
    assert query(store, "SELECT locked FROM narratives WHERE id = 3") == [(1,)]
    at.button(key="rv_unlock").click().run()
    assert query(store, "SELECT locked FROM narratives WHERE id = 3") == [(0,)]
    assert not at.exception
    actions = [r[0] for r in query(store, "SELECT action FROM reviews WHERE reviewer = 'Tester' ORDER BY id")]
    assert actions == ["rename", "verdict", "status", "lock", "unlock"]


def test_merge_split_move_exclude(store):
    at = app("narrative")
    at.multiselect(key="rv_merge").select(5).run()
    at.button(key="rv_merge_go").click().run()
    assert not at.exception
    assert query(store, "SELECT status, merged_into FROM narratives WHERE id = 5") == [("merged", 3)]
    members = [r[0] for r in query(store, "SELECT claim_id FROM narrative_claims WHERE narrative_id = 3 "
                                          "ORDER BY claim_id")]
    at.multiselect(key="rv_split").select(members[0]).select(members[1]).run()
    at.text_input(key="rv_split_label").input("Split part").run()
    at.button(key="rv_split_go").click().run()
    assert not at.exception
    new = query(store, "SELECT id FROM narratives WHERE label = 'Split part'")[0][0]
    assert {r[0] for r in query(store, "SELECT claim_id FROM narrative_claims WHERE narrative_id = ?", [new])} == \
        set(members[:2])
    at.selectbox(key="rv_claim").select(members[2]).run()
    at.selectbox(key="rv_move_to").select(1).run()
    at.button(key="rv_move_go").click().run()
    assert query(store, "SELECT narrative_id, assigned_by FROM narrative_claims WHERE claim_id = ?",
                 [members[2]]) == [(1, "reviewer")]
    at.selectbox(key="rv_claim").select(members[3]).run()
    at.button(key="rv_exclude_go").click().run()
    assert not at.exception
    assert query(store, "SELECT count(*) FROM narrative_claims WHERE claim_id = ?", [members[3]]) == [(0,)]
    assert ("exclude", 3) in query(
        store, "SELECT kind, narrative_id FROM narrative_constraints WHERE claim_id = ?", [members[3]])
    actions = [r[0] for r in query(store, "SELECT action FROM reviews WHERE reviewer = 'Tester' ORDER BY id")]
    assert actions == ["merge", "split", "move", "exclude"]


def test_stance_corrections(store):
    at = app("narrative")
    claim = at.selectbox(key="rv_stance_claim").value
    at.radio(key="rv_stance_label").set_value("none").run()
    at.button(key="rv_stance_go").click().run()
    assert query(store, "SELECT label, source FROM stances WHERE subject = 'claim' AND subject_id = ? "
                        "AND target_id = 1", [claim]) == [("none", "reviewer")]
    at.radio(key="rv_subject").set_value("article").run()
    at.radio(key="rv_stance_label").set_value("against").run()
    at.button(key="rv_stance_go").click().run()
    article = query(store, "SELECT article_id FROM claims WHERE id = ?", [claim])[0][0]
    assert query(store, "SELECT label, model FROM stances WHERE subject = 'article' AND subject_id = ? "
                        "AND target_id = 1", [article]) == [("against", "reviewer:Tester")]
    at.radio(key="rv_nstance_label").set_value("unrelated").run()
    at.button(key="rv_nstance_go").click().run()
    assert not at.exception
    assert query(store, "SELECT label, source FROM narrative_stances WHERE claim_id = ? AND narrative_id = 3",
                 [claim]) == [("unrelated", "reviewer")]
    assert [r[0] for r in query(store, "SELECT task FROM stance_labels ORDER BY id")] == [
        "target", "target", "narrative"]


def test_stance_page_options(store):
    at = app("stance")
    for by in ("source", "country", "narrative"):
        at.selectbox(key="st_by").select(by).run()
        assert not at.exception
    at.radio(key="st_freq").set_value("W").run()
    at.radio(key="st_subject").set_value("claim").run()
    at.checkbox(key="st_dedupe").check().run()
    assert not at.exception and not at.error


def test_sources_and_export_views(store):
    at = app("sources")
    at.selectbox(key="src_pick").select(3).run()
    assert not at.exception
    at = app("export")
    for view in ["Claims of a narrative", "Stance over time", "Sources", "Articles per week", "Narratives"]:
        at.selectbox(key="ex_view").select(view).run()
        assert not at.exception and not at.error
    code = at.code[0].value
    assert '"@type": "ClaimReview"' in code and '"alternateName": "misleading"' in code


def test_search_page_with_search_module(store, monkeypatch):
    import types
    from dataclasses import dataclass

    @dataclass
    class SearchHit:
        claim_id: int
        text: str
        score: float
        article_id: int
        title: str
        source: str
        published: str
        narrative_id: int | None
        narrative_label: str | None
        verdict: str | None

    fake = types.ModuleType("tracker.search")
    fake.SearchHit = SearchHit
    fake.search = lambda db, query, k=10, embedder=None: [
        SearchHit(9, "CPEC loans are pushing Pakistan into a debt trap.", 0.91, 5, "CPEC report 5",
                  "Delhi Chronicle", "2016-07-26", 1, "CPEC is a debt trap for Pakistan", "misleading"),
        SearchHit(3, "Gwadar port will become a Chinese naval base.", 0.2, 2, "CPEC report 2",
                  "Karachi Ledger", "2015-11-03", 3, "Gwadar", None)][:k]
    monkeypatch.setitem(sys.modules, "tracker.search", fake)
    import tracker

    monkeypatch.setattr(tracker, "search", fake, raising=False)
    at = app("search")
    at.text_area(key="search_text").input("debt trap loans").run()
    at.button(key="search_go").click().run()
    assert not at.exception
    assert any("misleading" in w.value for w in at.warning)
    assert len(at.dataframe) == 2


def test_dashboard_command_args():
    from tracker.cli_dashboard import APP as CLI_APP
    from tracker.cli_dashboard import dashboard_args, dashboard_command

    assert Path(CLI_APP) == Path(APP)
    args = dashboard_args("/x/s.db", port=8600, headless=True)
    assert args[-3:] == ["--", "--db", "/x/s.db"] and "8600" in args and "true" in args
    assert "Example:" in dashboard_command.help


def test_set_theme_from_the_narrative_page(store):
    at = app("narrative")  # narrative 3, in theme 2 (security) in the sample store
    assert at.selectbox(key="rv_theme_3").value == 2
    at.selectbox(key="rv_theme_3").select(1).run()
    at.button(key="rv_set_theme").click().run()
    assert not at.exception
    assert query(store, "SELECT theme_id, theme_locked FROM narratives WHERE id = 3") == [(1, 1)]
    assert query(store, "SELECT n_narratives FROM themes ORDER BY id") == [(4,), (1,)]
    at.selectbox(key="rv_theme_3").select_index(0).run()  # "no theme"
    at.button(key="rv_set_theme").click().run()
    assert query(store, "SELECT theme_id, theme_locked FROM narratives WHERE id = 3") == [(None, 1)]
    assert [r[0] for r in query(store, "SELECT action FROM reviews WHERE reviewer = 'Tester'")] == ["set-theme"] * 2


def test_review_queue_gives_a_verdict_in_a_few_clicks_and_updates_at_once(store):
    at = app("queue")
    table = at.dataframe[0].value
    assert list(table["priority"]) == sorted(table["priority"], reverse=True)
    first = int(table["id"].iloc[0])
    assert at.selectbox(key="q_pick").value == first
    at.button(key="q_verdict_false").click().run()
    assert not at.exception
    assert query(store, "SELECT verdict, verdict_by FROM narratives WHERE id = ?", [first]) == [("false", "Tester")]
    assert int(at.dataframe[0].value["id"].iloc[0]) != first  # the queue moved on at once
    hidden = at.dataframe[0].value["id"].tolist()
    at.toggle(key="q_hidden").set_value(True).run()
    assert len(at.dataframe[0].value) >= len(hidden)


def test_narrative_page_shows_and_resolves_flags(store):
    s = Store(store)
    with s.write() as db:
        store_narratives.add_flag(db, "merge-proposed", 3, 1, {"similarity": 0.91})
    s.close()
    at = app("narrative")  # narrative 3
    assert any(h.value == "Open flags (1)" for h in at.subheader)
    assert at.dataframe[0].value["kind"].tolist() == ["merge-proposed"]
    at.text_input(key="nar_flag_note_3").input("same claim, kept apart on purpose")
    at.button(key="nar_flag_resolve").click().run()
    assert not at.exception
    assert query(store, "SELECT resolved_by FROM narrative_flags") == [("Tester",)]
    assert query(store, "SELECT action, note FROM reviews WHERE reviewer = 'Tester'") == [
        ("resolve-flag", "same claim, kept apart on purpose")]
    assert not any(h.value.startswith("Open flags") for h in at.subheader)


def test_label_stance_page_labels_the_queue_head_in_one_click_and_refits(store, monkeypatch):
    from tracker.embed import get_embedder
    from tracker.pipeline.stance import run_stance

    monkeypatch.setenv("TRACKER_EMBEDDING_MODEL", "hashing")
    stocked = Store(str(store))
    run_stance(stocked, get_embedder("hashing"), recompute=True)
    models = stocked.db.execute("SELECT count(*) FROM models").fetchone()[0]
    stocked.close()
    at = app("label_stance")
    assert not at.error and at.dataframe  # the claim to label, and the rest of the queue
    at.button(key="ls_against").click().run()
    assert not at.exception and not at.error
    labelled = query(store, "SELECT subject_id, label, model FROM stances WHERE source = 'reviewer'")
    assert len(labelled) == 1 and labelled[0][1:] == ("against", "reviewer:Tester")
    assert query(store, "SELECT count(*) FROM reviews WHERE action = 'stance'") == [(1,)]
    assert query(store, "SELECT count(*) FROM models") == [(models + 1,)]  # refitted at once
    # the labelled claim has left the queue
    assert labelled[0][0] not in [int(v) for v in at.dataframe[0].value["claim_id"]]
