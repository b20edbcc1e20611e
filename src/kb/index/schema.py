"""The index's SQLite schema as numbered migrations (``PRAGMA user_version``), each applied in its
own transaction, with the Python steps some of them need."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from kb.ingest.practices import detect_practices, kind_at
from kb.ingest.structure import sections_from_text
from kb.reasons import KbError
from kb.records import DocumentMetadata, PracticeSpan


class StoreError(KbError, RuntimeError):
    pass


class DamagedStoreError(StoreError):
    """The database file is not a readable SQLite index: the source of truth itself is damaged."""


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
    # 4: the practices the detector found in each document, stored once; chunks' kinds and units
    # are filled in from them for documents indexed before (migration 3's kinds included).
    """
    CREATE TABLE practices (
        doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL,
        unit TEXT NOT NULL,
        unit_type TEXT NOT NULL,
        title TEXT NOT NULL,
        heading TEXT NOT NULL,
        start INTEGER NOT NULL,
        end INTEGER NOT NULL,
        year INTEGER,
        layout TEXT NOT NULL,
        PRIMARY KEY (doc_id, ordinal)
    );
    """,
]


def _fill_practices(db: sqlite3.Connection) -> None:
    """Detect the practices of every stored document from its stored text and metadata (a later
    `kb index --rebuild` also re-reads the metadata with the current rules), then give each chunk
    the kind and unit of the practice it lies in."""
    documents = db.execute("SELECT doc_id, title, unit, unit_type, year, doc_type, text FROM documents").fetchall()
    for doc_id, title, unit, unit_type, year, doc_type, text in documents:
        metadata = DocumentMetadata(title=title, unit=unit, unit_type=unit_type, year=year, doc_type=doc_type)
        practices = detect_practices(text, sections_from_text(text), metadata)
        insert_practices(db, doc_id, practices)
        updates = []
        for chunk_id, start in db.execute("SELECT chunk_id, start FROM chunks WHERE doc_id = ?", (doc_id,)).fetchall():
            kind, practice = kind_at(practices, doc_type, start)
            updates.append((kind, practice.unit if practice else unit, practice.unit_type if practice else unit_type,
                            chunk_id))
        db.executemany("UPDATE chunks SET kind = ?, unit = ?, unit_type = ? WHERE chunk_id = ?", updates)


def insert_practices(db: sqlite3.Connection, doc_id: str, practices: Sequence[PracticeSpan]) -> None:
    db.executemany(
        "INSERT INTO practices (doc_id, ordinal, unit, unit_type, title, heading, start, end, year, layout)"
        " VALUES (?,?,?,?,?,?,?,?,?,?)",
        [(doc_id, ordinal, p.unit, p.unit_type, p.title, p.heading, p.start, p.end, p.year, p.layout)
         for ordinal, p in enumerate(practices, start=1)],
    )


# Python steps that follow a migration's SQL, by migration number.
_MIGRATION_STEPS = {4: _fill_practices}


@contextlib.contextmanager
def transaction(db: sqlite3.Connection):
    """BEGIN IMMEDIATE … COMMIT, rolled back on any error. Where SQLite has already rolled back itself
    (a COMMIT on a full disk), there is nothing to roll back, and the error that did it is the one raised."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def migrate(db: sqlite3.Connection, path: Path) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > len(_MIGRATIONS):
        raise StoreError(f"{path} was written by a newer kb (schema {version}); upgrade kb")
    for number in range(version, len(_MIGRATIONS)):
        with transaction(db):
            for statement in _split_sql(_MIGRATIONS[number]):
                db.execute(statement)
            if number + 1 in _MIGRATION_STEPS:
                _MIGRATION_STEPS[number + 1](db)
            db.execute(f"PRAGMA user_version = {number + 1}")


def _split_sql(script: str) -> list[str]:
    return [part.strip() for part in script.split(";") if part.strip()]
