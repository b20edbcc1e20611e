"""`kb check`: is the index whole? SQLite is the source of truth; the FTS rows and the FAISS
file are derived from it, so `--repair` rebuilds them from SQLite and never touches documents."""

from __future__ import annotations

import sqlite3

import numpy as np
from pydantic import BaseModel, Field

from kb.config import Settings
from kb.index.lock import WriterLock
from kb.index.prepare import embed_text_from_context
from kb.index.schema import transaction
from kb.index.store import Store
from kb.index.vectors import VectorIndex, factory_for, vector_file
from kb.tokenize import tokenize

SAMPLE_VECTORS = 64
# The source of truth itself damaged: the corpus is read again into a new database, the damaged one kept.
REBUILD_REMEDY = "kb index --rebuild"
DAMAGED_TEXT = "stored text is not UTF-8 (damaged on disk) in"


class CheckReport(BaseModel):
    generation: int = 0
    documents: int = 0
    chunks: int = 0
    problems: list[str] = Field(default_factory=list)
    repaired: list[str] = Field(default_factory=list)
    # The one command that fixes what was found.
    remedy: str = "kb check --repair"

    @property
    def ok(self) -> bool:
        return not self.problems


def check_index(settings: Settings, full: bool = False) -> CheckReport:
    """``full``: every vector of the FAISS file against its stored embedding, not a sample."""
    store = Store(settings.index_dir, create=False)
    try:
        return _check(store, settings, full)
    finally:
        store.close()


def damaged_documents(db: sqlite3.Connection) -> dict[str, bytes]:
    """Documents whose stored text (or a chunk's) is no longer UTF-8, by name (their id as bytes):
    bytes of a page flipped on disk, which SQLite's own integrity check does not see (it checks
    structure, not content)."""
    damaged: dict[str, bytes] = {}
    for doc_id, *texts in db.execute(
        "SELECT CAST(doc_id AS BLOB), CAST(title AS BLOB), CAST(unit AS BLOB), CAST(text AS BLOB) FROM documents"
    ).fetchall() + db.execute(
        "SELECT CAST(doc_id AS BLOB), CAST(text AS BLOB), CAST(context AS BLOB), CAST(heading_path AS BLOB)"
        " FROM chunks"
    ).fetchall():
        try:
            for text in texts:
                if text is not None:
                    text.decode("utf-8")
        except UnicodeDecodeError:
            damaged[doc_id.decode("utf-8", "replace")] = doc_id
    return dict(sorted(damaged.items()))


def _check(store: Store, settings: Settings, full: bool = False) -> CheckReport:
    report = CheckReport()
    db = store.db
    verdict = store.integrity()
    if verdict != "ok":
        report.problems.append(f"SQLite integrity check: {verdict}")
        report.remedy = REBUILD_REMEDY
        return report
    manifest = store.manifest()
    if manifest is None:
        report.problems.append("no manifest: the index was never committed")
        report.remedy = "kb index"
        return report
    report.generation = manifest.generation
    report.documents = db.execute("SELECT count(*) FROM documents").fetchone()[0]
    report.chunks = store.chunk_count()
    damaged = damaged_documents(db)
    if damaged:
        report.problems.append(f"{DAMAGED_TEXT} {len(damaged)} document(s): {', '.join(list(damaged)[:10])}")

    orphans = db.execute("SELECT count(*) FROM chunks WHERE doc_id NOT IN (SELECT doc_id FROM documents)").fetchone()[0]
    if orphans:
        report.problems.append(f"{orphans} chunks belong to no document")
    fts_rows = db.execute("SELECT count(*) FROM chunk_fts").fetchone()[0]
    unindexed = db.execute("SELECT count(*) FROM chunks WHERE chunk_id NOT IN (SELECT rowid FROM chunk_fts)").fetchone()[0]
    if fts_rows != report.chunks or unindexed:
        report.problems.append(f"keyword index has {fts_rows} rows for {report.chunks} chunks ({unindexed} missing)")
    try:
        db.execute("INSERT INTO chunk_fts(chunk_fts) VALUES ('integrity-check')")
    except sqlite3.DatabaseError as exc:  # FTS5 reports corruption this way
        report.problems.append(f"keyword index is corrupt: {exc}")

    key = manifest.model.key()
    unembedded = db.execute(
        "SELECT count(*) FROM chunks c WHERE NOT EXISTS "
        "(SELECT 1 FROM embeddings e WHERE e.model_key = ? AND e.text_hash = c.embed_hash)",
        (key,),
    ).fetchone()[0]
    if unembedded:
        report.problems.append(f"{unembedded} chunks have no stored embedding for {manifest.model.name}")
        report.remedy = REBUILD_REMEDY
        return report

    path = vector_file(settings.index_dir, manifest.generation)
    if not path.exists():
        report.problems.append(f"{path.name} is missing")
        return report
    try:
        vectors = VectorIndex.load(path, manifest.vector_index)
    except RuntimeError as exc:  # faiss, on a truncated or foreign file
        report.problems.append(f"{path.name} cannot be read: {exc}")
        return report
    ids, stored = store.chunk_vectors(key, manifest.model.dimension)
    if vectors.dimension != manifest.model.dimension:
        report.problems.append(f"{path.name} has dimension {vectors.dimension}, the model {manifest.model.dimension}")
        return report
    faiss_ids = np.sort(vectors.ids())
    if len(faiss_ids) != len(ids) or not np.array_equal(faiss_ids, ids):
        extra = len(np.setdiff1d(faiss_ids, ids))
        missing = len(np.setdiff1d(ids, faiss_ids))
        report.problems.append(
            f"{path.name} holds {len(faiss_ids)} vectors for {len(ids)} chunks ({missing} missing, {extra} stale)"
        )
        return report
    if len(ids) and manifest.vector_index.startswith("IDMap"):
        rows = np.arange(len(ids)) if full else np.random.default_rng(manifest.generation).choice(
            len(ids), min(SAMPLE_VECTORS, len(ids)), replace=False)
        for row in rows:
            if not np.allclose(vectors.index.reconstruct(int(ids[row])), stored[row], atol=1e-6):
                report.problems.append(f"{path.name}: the vector of chunk {ids[row]} differs from its stored embedding")
                break
    return report


def repair_index(settings: Settings, wait: bool = False, full: bool = False) -> CheckReport:
    """Rebuild the keyword index and the vector file from SQLite, under the writer lock, after dropping
    the documents whose stored text is damaged (their files are read again by the next `kb index`)."""
    with WriterLock(settings.index_dir, wait):
        store = Store(settings.index_dir, create=False)
        try:
            before = _check(store, settings, full)
            if before.ok:
                return before
            manifest = store.manifest()
            if manifest is None or any(p.startswith("SQLite") or "no stored embedding" in p for p in before.problems):
                # The source of truth itself is damaged or incomplete: only a re-index can fix it.
                before.problems.append(f"not repairable from SQLite: run `{REBUILD_REMEDY}`")
                return before
            repaired = []
            db = store.db
            damaged = damaged_documents(db)
            with transaction(db):
                for stored_id in damaged.values():
                    db.execute("DELETE FROM documents WHERE CAST(doc_id AS BLOB) = ?", (stored_id,))
                if damaged:
                    repaired.append(f"{len(damaged)} damaged document(s) dropped: `kb index` reads them again from "
                                    f"the corpus ({', '.join(list(damaged)[:10])})")
                db.execute("DELETE FROM chunks WHERE doc_id NOT IN (SELECT doc_id FROM documents)")
                db.execute("DELETE FROM chunk_fts")
                rows = db.execute("SELECT chunk_id, context, text FROM chunks").fetchall()
                db.executemany(
                    "INSERT INTO chunk_fts (rowid, tokens) VALUES (?, ?)",
                    ((chunk_id, " ".join(tokenize(embed_text_from_context(context, text)))) for chunk_id, context, text in rows),
                )
                repaired.append(f"keyword index rebuilt ({len(rows)} rows)")
                ids, vectors = store.chunk_vectors(manifest.model.key(), manifest.model.dimension)
                factory = factory_for(len(ids))
                VectorIndex.build(ids, vectors, factory).save(vector_file(settings.index_dir, manifest.generation))
                if factory != manifest.vector_index:
                    store.write_manifest(manifest.model_copy(update={"vector_index": factory}))
                repaired.append(f"vectors-{manifest.generation}.faiss rebuilt ({len(ids)} vectors)")
            after = _check(store, settings, full)
            after.repaired = repaired
            return after
        finally:
            store.close()
