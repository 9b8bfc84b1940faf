"""The store's schema: numbered migrations, applied in order when a store is opened.

One file holds everything. Tables are plain SQLite tables with documented columns, so the file opens in any
SQLite tool; JSON columns hold JSON text; no column ever holds pickled Python (a store is a file people share,
and opening it must never run code from it). The journal is WAL, foreign keys are on, and every write that
belongs together runs in one transaction (``Store.write()``), so a process killed mid-write leaves either all or
none of it.

Tables (see the CREATE statements below for every column):

- ``sources``: outlets. ``articles``: one row per distinct article text; near-identical copies point to the
  first copy with ``duplicate_of``. ``article_lsh``: MinHash band keys used to find near-duplicates.
- ``claims``: sentences that make claims, with offsets into ``articles.text``; ``claims_fts`` indexes their exact
  words, ``claims_search`` their stemmed words and, for a claim that is its record's whole text, the record's title
  (view ``claim_titles``).
- ``embeddings``: float32 vectors keyed by content hash and model name.
- ``narratives``, ``narrative_claims``, ``narrative_history``, ``narrative_constraints``: clusters of claims,
  membership, merges/splits, and reviewer decisions that every later run must respect. ``themes``: narratives of
  one storyline, grouped one level up (``narratives.theme_id``).
- ``targets``, ``stances``, ``narrative_stances``, ``stance_labels``, ``models``: stance toward targets and
  narratives, the labels models learn from, and the fitted models with their scores.
- ``reviews``: append-only log of reviewer actions. ``runs``: what each pipeline stage did, with which settings.
- ``meta``: small key/value state (e.g. the clusterer's persisted state).
- ``narrative_flags``: pairs and narratives the model wants a reviewer to look at (a merge it did not make
  because the verdicts differ, a verdict a split part inherited).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import sqlite_utils
from sqlite_utils.migrations import Migrations

migrations = Migrations("tracker")


def _execute_script(db: sqlite_utils.Database, script: str) -> None:
    """Run ``script`` statement by statement inside the caller's transaction (``executescript`` would commit)."""
    statement = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""
    if statement.strip():
        raise ValueError("incomplete SQL statement in migration")


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    _execute_script(
        db,
        """
        -- Outlets. country is an ISO 3166 alpha-2 code where known.
        CREATE TABLE sources (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,      -- outlet name as it appears in the input
            domain TEXT,                    -- web domain, from the first URL seen
            country TEXT,                   -- e.g. PK, CN, IN, US
            language TEXT,                  -- most common article language
            kind TEXT                       -- news, wire, think tank, fact-checker ... (optional)
        );
        -- Articles. text is stored exactly as ingested (normalised newlines); claims point into it by offset.
        CREATE TABLE articles (
            id INTEGER PRIMARY KEY,
            source_id INTEGER REFERENCES sources(id),
            url TEXT,
            title TEXT,
            published TEXT,                 -- ISO date YYYY-MM-DD, NULL when unknown (never guessed)
            language TEXT,                  -- ISO 639-1 code detected from the text (or given)
            author TEXT,
            text TEXT NOT NULL,
            content_hash TEXT NOT NULL UNIQUE,  -- sha256 of outlet name + normalised text: exact re-ingest skipped
            duplicate_of INTEGER REFERENCES articles(id),  -- first stored near-identical copy, if any
            duplicate_similarity REAL,      -- estimated Jaccard similarity to duplicate_of
            external_id TEXT,               -- id given by the input (JSON/CSV id column), if any
            origin TEXT,                    -- where it came from: file path and record, or URL
            ingested_at TEXT NOT NULL       -- UTC timestamp
        );
        CREATE INDEX idx_articles_source ON articles(source_id);
        CREATE INDEX idx_articles_published ON articles(published);
        CREATE INDEX idx_articles_duplicate ON articles(duplicate_of);
        CREATE TABLE article_lsh (
            band TEXT NOT NULL,             -- band number and hash of a MinHash band
            article_id INTEGER NOT NULL REFERENCES articles(id)
        );
        CREATE INDEX idx_article_lsh_band ON article_lsh(band);
        -- Claims: one row per claim sentence. text == articles.text[start:end].
        CREATE TABLE claims (
            id INTEGER PRIMARY KEY,
            article_id INTEGER NOT NULL REFERENCES articles(id),
            idx INTEGER NOT NULL,           -- sentence index within the article (0-based)
            start INTEGER NOT NULL,         -- character offset of the sentence in articles.text
            end INTEGER NOT NULL,           -- character offset just past the sentence
            text TEXT NOT NULL,
            text_hash TEXT NOT NULL,        -- sha256 of text: key into embeddings
            claimant TEXT,                  -- who is said to assert it ("the outlet" when nobody else)
            attribution TEXT,               -- assert | report | refute
            checkworthy REAL,               -- 0..1, higher = more worth checking
            extractor TEXT,                 -- version of the extractor that made the row
            UNIQUE(article_id, idx)
        );
        CREATE INDEX idx_claims_hash ON claims(text_hash);
        CREATE VIRTUAL TABLE claims_fts USING fts5(text, content='claims', content_rowid='id');
        CREATE TRIGGER claims_ai AFTER INSERT ON claims BEGIN
            INSERT INTO claims_fts(rowid, text) VALUES (new.id, new.text);
        END;
        CREATE TRIGGER claims_ad AFTER DELETE ON claims BEGIN
            INSERT INTO claims_fts(claims_fts, rowid, text) VALUES ('delete', old.id, old.text);
        END;
        -- Embeddings: float32 little-endian vectors, one per distinct text and model.
        CREATE TABLE embeddings (
            content_hash TEXT NOT NULL,
            model TEXT NOT NULL,
            dim INTEGER NOT NULL,
            vector BLOB NOT NULL,
            PRIMARY KEY (content_hash, model)
        );
        -- Narratives: clusters of claims with a stable id.
        CREATE TABLE narratives (
            id INTEGER PRIMARY KEY,
            label TEXT,                     -- short label (reviewer's name when renamed)
            keywords TEXT,                  -- JSON list of distinctive keywords (c-TF-IDF)
            central_claim_id INTEGER REFERENCES claims(id),
            representatives TEXT,           -- JSON list of claim ids from different outlets
            size INTEGER NOT NULL DEFAULT 0,      -- claims in it
            n_articles INTEGER NOT NULL DEFAULT 0,  -- distinct articles, near-duplicates counted once
            n_sources INTEGER NOT NULL DEFAULT 0,   -- distinct outlets, near-duplicates counted once
            first_seen TEXT, last_seen TEXT,        -- ISO dates of the earliest / latest dated claim
            first_source_id INTEGER REFERENCES sources(id),
            status TEXT NOT NULL DEFAULT 'active',  -- active | merged (into merged_into) | dissolved
            merged_into INTEGER REFERENCES narratives(id),
            locked INTEGER NOT NULL DEFAULT 0,      -- 1: a reviewer locked it; the model adds or removes nothing
            label_locked INTEGER NOT NULL DEFAULT 0,  -- 1: a reviewer renamed it; the label is kept
            review_status TEXT NOT NULL DEFAULT 'unreviewed',  -- unreviewed | in review | reviewed
            verdict TEXT,                   -- false | misleading | unproven | accurate | ...
            verdict_note TEXT,
            verdict_url TEXT,               -- link to a published fact-check
            verdict_by TEXT, verdict_at TEXT,
            centroid BLOB,                  -- float32 mean of member embeddings (model in meta)
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE narrative_claims (
            claim_id INTEGER PRIMARY KEY REFERENCES claims(id),
            narrative_id INTEGER NOT NULL REFERENCES narratives(id),
            similarity REAL,                -- cosine similarity to the narrative centroid when assigned
            assigned_by TEXT NOT NULL,      -- model | reviewer
            assigned_at TEXT NOT NULL
        );
        CREATE INDEX idx_narrative_claims_narrative ON narrative_claims(narrative_id);
        -- Claims the model looked at and left out of every narrative (noise) are recorded, so they are not
        -- reconsidered on every run; a rebuild reconsiders them.
        CREATE TABLE unclustered_claims (
            claim_id INTEGER PRIMARY KEY REFERENCES claims(id)
        );
        CREATE TABLE narrative_history (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            event TEXT NOT NULL,            -- created | merged | split | renamed | rebuilt | dissolved | moved
            narrative_id INTEGER REFERENCES narratives(id),
            other_id INTEGER REFERENCES narratives(id),   -- the other side of a merge or split
            actor TEXT NOT NULL,            -- model, or the reviewer's name
            detail TEXT                     -- JSON
        );
        CREATE INDEX idx_narrative_history_narrative ON narrative_history(narrative_id);
        -- Reviewer decisions the clustering must respect: kind 'pin' (claim belongs to narrative) or
        -- 'exclude' (claim must not be in narrative).
        CREATE TABLE narrative_constraints (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            claim_id INTEGER NOT NULL REFERENCES claims(id),
            narrative_id INTEGER NOT NULL REFERENCES narratives(id),
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE(kind, claim_id, narrative_id)
        );
        -- Stance targets (e.g. CPEC).
        CREATE TABLE targets (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            aliases TEXT,                   -- JSON list of other names and spellings
            description TEXT,
            examples TEXT                   -- JSON {"favor": [...], "against": [...]}
        );
        -- Stance of a claim or article toward a target. source 'reviewer' rows are never overwritten by a model.
        CREATE TABLE stances (
            subject TEXT NOT NULL,          -- claim | article
            subject_id INTEGER NOT NULL,
            target_id INTEGER NOT NULL REFERENCES targets(id),
            label TEXT NOT NULL,            -- favor | against | none
            score REAL,                     -- probability of label
            model TEXT NOT NULL,            -- model version, or 'reviewer:<name>'
            source TEXT NOT NULL DEFAULT 'model',  -- model | reviewer
            PRIMARY KEY (subject, subject_id, target_id)
        );
        CREATE INDEX idx_stances_target ON stances(target_id, subject);
        -- Stance of a claim toward the narrative it belongs to.
        CREATE TABLE narrative_stances (
            claim_id INTEGER NOT NULL REFERENCES claims(id),
            narrative_id INTEGER NOT NULL REFERENCES narratives(id),
            label TEXT NOT NULL,            -- agree | disagree | discuss | unrelated
            score REAL,
            model TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT 'model',
            PRIMARY KEY (claim_id, narrative_id)
        );
        -- Labelled examples stance models learn from: shipped sets, user files and reviewer corrections.
        CREATE TABLE stance_labels (
            id INTEGER PRIMARY KEY,
            task TEXT NOT NULL,             -- target | narrative
            target TEXT,                    -- target name (task target) or narrative claim text
            text TEXT NOT NULL,
            label TEXT NOT NULL,
            origin TEXT NOT NULL,           -- shipped | user | reviewer
            claim_id INTEGER REFERENCES claims(id),
            created_by TEXT,
            created_at TEXT NOT NULL
        );
        -- Fitted models with their cross-validated scores; predictions name the version that made them.
        CREATE TABLE models (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,             -- e.g. target-stance
            version TEXT NOT NULL UNIQUE,   -- e.g. target-stance-v3
            params TEXT,                    -- JSON
            metrics TEXT,                   -- JSON, cross-validated scores
            n_train INTEGER,
            blob BLOB,                      -- pickled fitted model
            created_at TEXT NOT NULL
        );
        -- Append-only log of reviewer actions.
        CREATE TABLE reviews (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            reviewer TEXT NOT NULL,
            action TEXT NOT NULL,           -- rename | merge | split | move | exclude | verdict | stance | lock | ...
            narrative_id INTEGER,
            claim_id INTEGER,
            payload TEXT,                   -- JSON details of the action
            note TEXT
        );
        CREATE INDEX idx_reviews_narrative ON reviews(narrative_id);
        CREATE TRIGGER reviews_no_update BEFORE UPDATE ON reviews BEGIN
            SELECT RAISE(ABORT, 'reviews is append-only');
        END;
        CREATE TRIGGER reviews_no_delete BEFORE DELETE ON reviews BEGIN
            SELECT RAISE(ABORT, 'reviews is append-only');
        END;
        -- What each pipeline stage did.
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            stage TEXT NOT NULL,            -- ingest | claims | embed | narratives | stance
            started_at TEXT NOT NULL,
            finished_at TEXT,
            settings TEXT,                  -- JSON: model names and settings used
            counts TEXT                     -- JSON: what it read and wrote
        );
        CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value BLOB
        );
        """
    )


@migrations()
def m002_claim_clusters(db: sqlite_utils.Database) -> None:
    _execute_script(
        db,
        """
        -- The clusterer's own cluster id for every claim it has seen (its state lives in meta
        -- 'narratives.state'); narrative_claims says which narrative each cluster is shown as.
        CREATE TABLE claim_clusters (
            claim_id INTEGER PRIMARY KEY REFERENCES claims(id),
            cluster_id INTEGER NOT NULL
        );
        """,
    )


@migrations()
def m003_dashboard_indexes(db: sqlite_utils.Database) -> None:
    db.execute("CREATE INDEX IF NOT EXISTS idx_narrative_stances_narrative ON narrative_stances(narrative_id, label)")



@migrations()
def m004_themes(db: sqlite_utils.Database) -> None:
    _execute_script(
        db,
        """
        -- Themes: narratives of one storyline, regrouped on every narratives run (ids kept by overlap).
        CREATE TABLE themes (
            id INTEGER PRIMARY KEY,
            label TEXT,                     -- top keywords, or the reviewer's name when renamed
            keywords TEXT,                  -- JSON list of distinctive keywords (c-TF-IDF over its claims)
            label_locked INTEGER NOT NULL DEFAULT 0,  -- 1: a reviewer renamed it; the label is kept
            n_narratives INTEGER NOT NULL DEFAULT 0,
            size INTEGER NOT NULL DEFAULT 0,          -- claims in its narratives
            n_sources INTEGER NOT NULL DEFAULT 0,     -- distinct outlets, near-duplicates counted once
            first_seen TEXT, last_seen TEXT,
            status TEXT NOT NULL DEFAULT 'active',    -- active | dissolved (its narratives drifted apart)
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        ALTER TABLE narratives ADD COLUMN theme_id INTEGER REFERENCES themes(id);
        CREATE INDEX idx_narratives_theme ON narratives(theme_id);
        """,
    )


@migrations()
def m005_theme_locked(db: sqlite_utils.Database) -> None:
    # 1: a reviewer chose this narrative's theme (or no theme); regrouping leaves it there
    db.execute("ALTER TABLE narratives ADD COLUMN theme_locked INTEGER NOT NULL DEFAULT 0")


@migrations()
def m006_reviewer_safety(db: sqlite_utils.Database) -> None:
    _execute_script(
        db,
        """
        -- The embedding model a centroid was computed with: vectors of different models are never compared.
        ALTER TABLE narratives ADD COLUMN centroid_model TEXT;
        UPDATE narratives SET centroid_model = (SELECT value FROM meta WHERE key = 'narratives.model')
            WHERE centroid IS NOT NULL;
        -- A split part's verdict, inherited from the narrative it was split from (flagged for review).
        ALTER TABLE narratives ADD COLUMN verdict_from INTEGER REFERENCES narratives(id);
        -- What the model wants a reviewer to look at. kind: merge-proposed (the model would merge narrative_id
        -- and other_id, but their verdicts differ), verdict-inherited (a split part carries the verdict of
        -- other_id). Open until resolved_at is set.
        CREATE TABLE narrative_flags (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            narrative_id INTEGER NOT NULL REFERENCES narratives(id),
            other_id INTEGER REFERENCES narratives(id),
            detail TEXT,                    -- JSON
            created_at TEXT NOT NULL,
            resolved_at TEXT,
            resolved_by TEXT
        );
        CREATE INDEX idx_narrative_flags_narrative ON narrative_flags(narrative_id);
        CREATE INDEX idx_claim_clusters_cluster ON claim_clusters(cluster_id);
        CREATE INDEX idx_narrative_constraints_narrative ON narrative_constraints(narrative_id);
        CREATE INDEX idx_narrative_history_other ON narrative_history(other_id);
        -- Fitted models as JSON state plus numpy arrays (.npz read with allow_pickle=False). The pickled blob
        -- of earlier versions is never read again: it is dropped here and the model is refitted on first use.
        ALTER TABLE models ADD COLUMN state TEXT;
        ALTER TABLE models ADD COLUMN arrays BLOB;
        UPDATE models SET blob = NULL;
        """,
    )


@migrations()
def m007_cluster_rows(db: sqlite_utils.Database) -> None:
    _execute_script(
        db,
        """
        -- The clusterer's clusters, one row each: member count, the cluster it was merged into (itself if live),
        -- and the sums of its members' features (float32: the embedding block, and the lexical block when the
        -- clusterer uses texts). An update reads every embedding row and only the lexical rows it scores, and
        -- writes back only the rows it changed. Settings-level state stays in meta 'narratives.state'; the single
        -- blob of earlier versions (every row in one value) is dropped and rebuilt from the claims on next run.
        CREATE TABLE clusters (
            id INTEGER PRIMARY KEY,
            count INTEGER NOT NULL,
            parent INTEGER NOT NULL,
            embedding BLOB NOT NULL,
            lexical BLOB
        );
        DELETE FROM meta WHERE key = 'narratives.state';
        -- claims not yet clustered / scored / measured are found through these, not by scanning every claim
        CREATE INDEX idx_claims_unscored ON claims(id) WHERE checkworthy IS NULL;
        CREATE INDEX idx_narrative_claims_assigned ON narrative_claims(assigned_at);
        """,
    )


@migrations()
def m008_review_queue(db: sqlite_utils.Database) -> None:
    _execute_script(
        db,
        """
        -- What the review queue ranks by: the mean check-worthiness of a narrative's claims, and whether it is
        -- boilerplate (bylines, datelines, photo credits repeated across articles): hidden from the queue.
        ALTER TABLE narratives ADD COLUMN checkworthy REAL;
        ALTER TABLE narratives ADD COLUMN boilerplate INTEGER NOT NULL DEFAULT 0;
        UPDATE narratives SET checkworthy = (SELECT avg(c.checkworthy) FROM narrative_claims nc
            JOIN claims c ON c.id = nc.claim_id WHERE nc.narrative_id = narratives.id);
        """,
    )


@migrations()
def m009_target_relevance(db: sqlite_utils.Database) -> None:
    _execute_script(
        db,
        """
        -- A target's own names are its aliases; related terms (its parts and places: Gwadar, ML-1) signal it in
        -- context but are not names. A broader initiative (Belt and Road) is its own target, never an alias.
        ALTER TABLE targets ADD COLUMN related TEXT;    -- JSON list
        UPDATE targets SET aliases = (SELECT json_group_array(value) FROM json_each(targets.aliases)
            WHERE lower(value) NOT IN ('belt and road', 'bri', '一带一路', 'the corridor', 'gwadar', 'gwadar port',
                                       'ml-1', 'main line-1', 'special economic zone', 'sez', 'اقتصادی راہداری',
                                       'راہداری', 'گوادر', '瓜达尔'))
            WHERE name = 'CPEC';
        UPDATE targets SET related = '["the corridor", "economic corridor", "Gwadar", "Gwadar port", "ML-1",
            "Main Line-1", "special economic zone", "special economic zones", "اقتصادی راہداری", "راہداری", "گوادر",
            "瓜达尔", "瓜达尔港"]' WHERE name = 'CPEC';
        -- How likely the subject is about the target at all (0-1); label 'none' with a low relevance means
        -- off-target, with a high one a neutral piece about the target.
        ALTER TABLE stances ADD COLUMN relevance REAL;
        -- Articles checked for the shipped targets' names are remembered (meta 'targets.checked_upto').
        """,
    )


@migrations()
def m010_probabilities_and_description_size(db: sqlite_utils.Database) -> None:
    _execute_script(
        db,
        """
        -- A stance is a probability distribution: the model's calibrated probability of each label (NULL for a
        -- reviewer's stance and for rows written before). 'score' stays the probability of 'label'.
        ALTER TABLE stances ADD COLUMN p_favor REAL;
        ALTER TABLE stances ADD COLUMN p_against REAL;
        ALTER TABLE stances ADD COLUMN p_none REAL;
        -- How many claims a narrative had when it was last described: a large narrative is described again
        -- once it has changed by a tenth, not on every claim that joins it (its label and keywords barely move).
        ALTER TABLE narratives ADD COLUMN described_size INTEGER;
        """,
    )


@migrations()
def m011_claim_search_index(db: sqlite_utils.Database) -> None:
    _execute_script(
        db,
        """
        -- The title of each claim that is its record's whole text (a fact-check or claim-database row, a tweet, a
        -- headline record): a second wording of that same claim, which claim search embeds and indexes with it. A
        -- news article's title describes the article, not each of its sentences, so sentences have none here.
        CREATE VIEW claim_titles AS
            SELECT c.id AS claim_id, trim(a.title) AS title FROM claims c JOIN articles a ON a.id = c.article_id
            WHERE trim(coalesce(a.title, '')) != '' AND c.end - c.start >= length(trim(a.text));
        -- Claim search's full-text index: Porter-stemmed words ("loans" finds "loan") of the text and of the title
        -- above. Contentless (the words are in claims and articles). claims_fts keeps the exact words: narrative
        -- keywords count claims per word in its vocabulary.
        CREATE VIRTUAL TABLE claims_search USING fts5(text, title, content='', tokenize='porter unicode61');
        INSERT INTO claims_search(rowid, text, title)
            SELECT c.id, c.text, t.title FROM claims c LEFT JOIN claim_titles t ON t.claim_id = c.id;
        CREATE TRIGGER claims_search_ai AFTER INSERT ON claims BEGIN
            INSERT INTO claims_search(rowid, text, title)
                VALUES (new.id, new.text, (SELECT title FROM claim_titles WHERE claim_id = new.id));
        END;
        -- before the row goes, so the title it was indexed with is still found (a contentless index forgets a row
        -- only when given the values it indexed)
        CREATE TRIGGER claims_search_bd BEFORE DELETE ON claims BEGIN
            INSERT INTO claims_search(claims_search, rowid, text, title)
                VALUES ('delete', old.id, old.text, (SELECT title FROM claim_titles WHERE claim_id = old.id));
        END;
        -- The embed stage looks at every claim once more, so the titles of claims stored before are embedded too
        -- (a text that has its vector already is skipped).
        DELETE FROM meta WHERE key LIKE 'embed.%.last_claim_id';
        """,
    )


@migrations()
def m012_shared_stance_probabilities(db: sqlite_utils.Database) -> None:
    _execute_script(
        db,
        """
        -- The shared stance heads' probabilities of a claim before its target's adapter: the adapter is refitted
        -- from these and the stored sentence vector when a reviewer labels a claim, without a transformer pass.
        ALTER TABLE stances ADD COLUMN shared_favor REAL;
        ALTER TABLE stances ADD COLUMN shared_against REAL;
        ALTER TABLE stances ADD COLUMN shared_none REAL;
        """,
    )


@migrations()
def m013_theme_volume(db: sqlite_utils.Database) -> None:
    _execute_script(
        db,
        """
        -- A theme's articles per day, counted when the theme is described: the overview's theme chart reads these
        -- instead of joining every claim of the largest themes (seconds on a million-claim store). JSON
        -- {"day": [...], "articles": [...]}, filled here for the active themes and whenever a theme is described.
        ALTER TABLE themes ADD COLUMN volume TEXT;
        -- Days whose stored counts may be out of date: a claim dated then changed narrative. The chart counts them
        -- live until the next update's themes stage recounts them and clears the list.
        CREATE TABLE theme_volume_days (day TEXT PRIMARY KEY);
        """,
    )
    from tracker.store.themes import day_volume, volume_json  # here, not at the top: the store modules import this

    active = [t for (t,) in db.execute("SELECT id FROM themes WHERE status = 'active'")]
    for theme_id, volume in day_volume(db, active).items():
        db.execute("UPDATE themes SET volume = ? WHERE id = ?", [volume_json(volume), theme_id])


@migrations()
def m014_outlet_index_covers_dates(db: sqlite_utils.Database) -> None:
    _execute_script(
        db,
        """
        -- The outlets page counts articles, copies and dates per outlet. From an index on source_id alone that
        -- read every article row (text included): 0.37 s on 100,000 articles. This one answers it by itself and
        -- serves every lookup by outlet the old one did.
        CREATE INDEX idx_articles_outlet ON articles(source_id, published, duplicate_of);
        DROP INDEX idx_articles_source;
        """,
    )


@migrations()
def m015_incremental_narrative_stats(db: sqlite_utils.Database) -> None:
    _execute_script(
        db,
        """
        -- What a narrative's counts need to grow without reading its members again: the outlets it carries (JSON
        -- list of source ids, near-duplicates as their original's outlet) and how many members have a
        -- check-worthiness score. NULL until its stats are next computed from all its members.
        ALTER TABLE narratives ADD COLUMN outlets TEXT;
        ALTER TABLE narratives ADD COLUMN scored INTEGER;
        """,
    )
    db.execute("""
        UPDATE narratives SET (outlets, scored) = (
            SELECT json_group_array(DISTINCT coalesce(orig.source_id, a.source_id))
                       FILTER (WHERE coalesce(orig.source_id, a.source_id) IS NOT NULL), count(c.checkworthy)
            FROM narrative_claims nc JOIN claims c ON c.id = nc.claim_id JOIN articles a ON a.id = c.article_id
            LEFT JOIN articles orig ON orig.id = a.duplicate_of WHERE nc.narrative_id = narratives.id)
        WHERE status = 'active'""")


@migrations()
def m016_indexes_for_new_work(db: sqlite_utils.Database) -> None:
    _execute_script(
        db,
        """
        -- Claims that joined a narrative since it was last described have no similarity yet; an update fills them
        -- in. Found through the narrative index, that read every member of every narrative a batch touched (0.76M
        -- rows, 2.2 s, for 1,000 articles into a million claims); this index holds only the unfilled ones.
        CREATE INDEX idx_narrative_claims_unscored ON narrative_claims(narrative_id) WHERE similarity IS NULL;
        -- Claims in languages the embedding model does not represent are placed cross-lingually on every update.
        -- Finding them read every article row, text included; this index finds their articles directly.
        CREATE INDEX idx_articles_language ON articles(language);
        """,
    )


def _count(sign: str, cluster: str, narrative: str, by: str, where: str) -> str:
    """Trigger statements that add ``sign`` 1 to the count of (cluster, narrative, assigned_by) selected by
    ``where`` (no row: nothing happens, as for a claim outside any cluster or narrative), dropping a count at 0."""
    if sign == "+":
        return (f"INSERT INTO cluster_narratives(cluster_id, narrative_id, assigned_by, claims) "
                f"SELECT {cluster}, {narrative}, {by}, 1 FROM {where} ON CONFLICT DO UPDATE SET claims = claims + 1;")
    key = f"(cluster_id, narrative_id, assigned_by) = (SELECT {cluster}, {narrative}, {by} FROM {where})"
    return (f"UPDATE cluster_narratives SET claims = claims - 1 WHERE {key};\n"
            f"DELETE FROM cluster_narratives WHERE {key} AND claims <= 0;")


def _counting_triggers(name: str, table: str, columns: Sequence[str], other: str) -> str:
    """Insert, delete and update triggers on ``table`` (whose ``columns`` hold part of the count's key; the rest
    comes from the claim's row in ``other``) that move a claim's count in ``cluster_narratives``."""
    def key(row: str) -> tuple[str, str, str, str]:
        mine = {c: f"{row}.{c}" for c in columns}
        return (mine.get("cluster_id", "cluster_id"), mine.get("narrative_id", "narrative_id"),
                mine.get("assigned_by", "assigned_by"), f"{other} WHERE claim_id = {row}.claim_id")

    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
    return f"""
        CREATE TRIGGER cluster_narratives_{name}_ai AFTER INSERT ON {table} BEGIN
            {_count("+", *key("NEW"))}
        END;
        CREATE TRIGGER cluster_narratives_{name}_ad AFTER DELETE ON {table} BEGIN
            {_count("-", *key("OLD"))}
        END;
        CREATE TRIGGER cluster_narratives_{name}_au AFTER UPDATE OF {", ".join(columns)} ON {table}
        WHEN {changed} BEGIN
            {_count("-", *key("OLD"))}
            {_count("+", *key("NEW"))}
        END;
    """


@migrations()
def m017_cluster_narrative_counts(db: sqlite_utils.Database) -> None:
    # An update decides which narrative each cluster it touched continues from the clusters' composition. Counted
    # from the members, that read every claim of every touched cluster: with clusters of Zipf sizes most of a
    # million-claim store (2.2 s for 1,000 articles). The counts are kept here instead, by triggers, so every
    # writer of memberships or clusters (the planner, reviewers' actions, a rebuild) keeps them exact.
    _execute_script(
        db,
        """
        CREATE TABLE cluster_narratives (
            cluster_id INTEGER NOT NULL,
            narrative_id INTEGER NOT NULL,
            assigned_by TEXT NOT NULL,
            claims INTEGER NOT NULL,        -- claims of the cluster in the narrative, placed by assigned_by
            PRIMARY KEY (cluster_id, narrative_id, assigned_by)
        ) WITHOUT ROWID;
        INSERT INTO cluster_narratives(cluster_id, narrative_id, assigned_by, claims)
            SELECT cc.cluster_id, nc.narrative_id, nc.assigned_by, count(*) FROM claim_clusters cc
            JOIN narrative_claims nc ON nc.claim_id = cc.claim_id GROUP BY 1, 2, 3;
        """
        + _counting_triggers("member", "narrative_claims", ["narrative_id", "assigned_by"], "claim_clusters")
        + _counting_triggers("cluster", "claim_clusters", ["cluster_id"], "narrative_claims"),
    )


@migrations()
def m018_term_docs(db: sqlite_utils.Database) -> None:
    _execute_script(
        db,
        """
        -- Claims containing each word, as keywords' c-TF-IDF reads them, kept between runs. Counting a common word
        -- in the FTS5 vocabulary walks its whole posting list (6 ms for a word in 120,000 of a million claims);
        -- an update of 1,000 articles into a million claims asked for 7,500 words, 2.5 s. A count is used again
        -- until the store has grown by a tenth since it was made (see TermFrequency).
        CREATE TABLE term_docs (
            term TEXT PRIMARY KEY,
            docs INTEGER NOT NULL,          -- claims containing the word (0: none)
            claims INTEGER NOT NULL         -- claims in the store when it was counted
        ) WITHOUT ROWID;
        """,
    )
