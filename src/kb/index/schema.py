"""The index's SQLite schema as numbered migrations (``PRAGMA user_version``), each applied in its
own transaction, with the Python steps some of them need."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from kb.ingest.metadata import kind_of


class StoreError(RuntimeError):
    pass


_MIGRATIONS = [
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE documents (
        doc_id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        title TEXT NOT NULL,
        unit TEXT NOT NULL,
        unit_type TEXT NOT NULL,
        year INTEGER,
        doc_type TEXT NOT NULL,
        extra TEXT NOT NULL,
        text TEXT NOT NULL,
        indexed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    );
    CREATE TABLE chunks (
        chunk_id INTEGER PRIMARY KEY,
        doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL,
        text TEXT NOT NULL,
        context TEXT NOT NULL,
        heading_path TEXT NOT NULL,
        start INTEGER NOT NULL,
        end INTEGER NOT NULL,
        unit TEXT NOT NULL,
        unit_type TEXT NOT NULL,
        embed_hash TEXT NOT NULL,
        UNIQUE (doc_id, ordinal)
    );
    CREATE INDEX chunks_embed_hash ON chunks(embed_hash);
    CREATE VIRTUAL TABLE chunk_fts USING fts5(tokens, tokenize = 'unicode61 remove_diacritics 0');
    CREATE TABLE embeddings (
        model_key TEXT NOT NULL,
        text_hash TEXT NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY (model_key, text_hash)
    ) WITHOUT ROWID;
    """,
    # 2: the page a chunk starts on, for formats with pages (PDF); NULL elsewhere.
    """
    ALTER TABLE chunks ADD COLUMN page INTEGER;
    """,
    # 3: each chunk's kind (实践案例 / 政策法规 / 其他), filled in for chunks indexed before, and the
    # FTS5 vocabulary, whose document frequencies weigh query words (relevance floor, evidence words).
    """
    ALTER TABLE chunks ADD COLUMN kind TEXT NOT NULL DEFAULT '其他';
    CREATE INDEX chunks_kind ON chunks(kind);
    CREATE VIRTUAL TABLE chunk_vocab USING fts5vocab(chunk_fts, 'row');
    """,
]


def _fill_kinds(db: sqlite3.Connection) -> None:
    rows = db.execute(
        "SELECT c.chunk_id, d.doc_type, c.heading_path FROM chunks c JOIN documents d ON d.doc_id = c.doc_id"
    ).fetchall()
    db.executemany("UPDATE chunks SET kind = ? WHERE chunk_id = ?",
                   [(kind_of(doc_type, json.loads(path)), chunk_id) for chunk_id, doc_type, path in rows])


# Python steps that follow a migration's SQL, by migration number.
_MIGRATION_STEPS = {3: _fill_kinds}


def migrate(db: sqlite3.Connection, path: Path) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > len(_MIGRATIONS):
        raise StoreError(f"{path} was written by a newer kb (schema {version}); upgrade kb")
    for number in range(version, len(_MIGRATIONS)):
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in _split_sql(_MIGRATIONS[number]):
                db.execute(statement)
            if number + 1 in _MIGRATION_STEPS:
                _MIGRATION_STEPS[number + 1](db)
            db.execute(f"PRAGMA user_version = {number + 1}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise


def _split_sql(script: str) -> list[str]:
    return [part.strip() for part in script.split(";") if part.strip()]
