"""SQLite, the source of truth: documents, chunks, the lexical index, cached embeddings and
the manifest. Everything else (the FAISS file) can be rebuilt from here."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from pathlib import Path

import numpy as np

from kb.cache import write_atomically
from kb.index.prepare import PreparedDocument
from kb.index.reading import StoreReads
from kb.index.schema import (
    DamagedStoreError,
    StoreError,
    insert_practices,
    migrate,
    transaction,
)
from kb.index.vectors import VectorDelta
from kb.records import IndexManifest

log = logging.getLogger(__name__)

DB_NAME = "kb.sqlite3"
# What the database files were when kb's last writer closed them (mark_sound).
SOUND_NAME = "kb.sqlite3.sound"
NO_EMBEDDING = "some chunks have no embedding; the index was not changed"


def mark_sound(index_dir: Path) -> None:
    """Record the database files as a writer that checked them (or made them) and then wrote them itself
    leaves them: their inode, size, modification and change times, taken after the writer's connection
    closed (the last one to close folds the write-ahead log in). Where it cannot be written (a full
    disk) the next run checks in full, as it would anyway: nothing else changes."""
    try:
        write_atomically(Path(index_dir) / SOUND_NAME, json.dumps(_file_identities(index_dir)).encode())
    except OSError as exc:
        log.info("%s not written (%s): the next kb index checks the database in full", SOUND_NAME, exc)


def _file_identities(index_dir: Path) -> dict[str, list[int] | None]:
    identities: dict[str, list[int] | None] = {}
    for name in (DB_NAME, f"{DB_NAME}-wal"):
        try:
            stat = (Path(index_dir) / name).stat()
        except FileNotFoundError:
            identities[name] = None
        else:
            identities[name] = [stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns]
    return identities


def _unchanged_since_marked(index_dir: Path) -> bool:
    try:
        marked = json.loads((Path(index_dir) / SOUND_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return marked == _file_identities(index_dir)


def checked_in_background(index_dir: Path) -> Future[str] | None:
    """SQLite's integrity check of an index's database, started on a thread of its own over a read-only
    connection, so that a writer's first step runs while it reads the corpus: at 10⁶ passages the check
    takes 20 s or more, and SQLite and file reads release the GIL. The check sees the database as it was
    when it began; only kb's writers, under the writer lock, change it after. Where the files are as
    kb's last writer left them (mark_sound), nothing but kb has written them since, and the verdict is
    "ok" without reading them; a change by anything else (another program, a restore, a copy; a reader
    closing last folds the log in) makes the check run. Damage that changes no file's times (the disk
    itself) is `kb check`'s to find. None where there is no database."""
    path = Path(index_dir) / DB_NAME
    if not path.exists():
        return None
    if _unchanged_since_marked(index_dir):
        unchanged: Future[str] = Future()
        unchanged.set_result("ok")
        return unchanged

    def check() -> str:
        try:
            db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30, check_same_thread=False)
        except sqlite3.Error as exc:
            return str(exc)
        try:
            return _integrity(db)
        finally:
            db.close()

    verdict: Future[str] = Future()

    def run() -> None:
        try:
            verdict.set_result(check())
        except BaseException as exc:  # noqa: BLE001 - the writer waiting for the verdict raises it
            verdict.set_exception(exc)

    # A daemon: a run that fails before it needs the verdict (a path that does not exist) exits at once.
    threading.Thread(target=run, name="kb-integrity", daemon=True).start()
    return verdict


def _integrity(db: sqlite3.Connection) -> str:
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        return str(exc)


def _lenient_text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


class Store(StoreReads):
    """The writer's and the readers' handle on one index's database (its reads: kb.index.reading)."""

    def __init__(self, index_dir: Path, create: bool = True):
        self.index_dir = Path(index_dir)
        self.path = self.index_dir / DB_NAME
        if not self.path.exists() and not create:
            raise StoreError(f"no index at {self.index_dir}: run `kb index` first")
        self.index_dir.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        # A text damaged on disk reads with U+FFFD where its bytes broke, rather than failing the search
        # that met it; `kb check` finds such texts (kb.index.integrity.damaged_documents).
        self.db.text_factory = _lenient_text
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            migrate(self.db, self.path)
        except sqlite3.DatabaseError as exc:
            self.db.close()
            if type(exc) is not sqlite3.DatabaseError:
                raise
            raise DamagedStoreError(f"{self.path} cannot be read as an index ({exc}): `kb restore` a backup, or "
                                    "`kb index --rebuild` to set it aside and build the index again") from exc

    def close(self) -> None:
        self.db.close()

    def integrity(self) -> str:
        """SQLite's integrity check: "ok", or its first finding (about 1 ms per MB of database)."""
        return _integrity(self.db)

    def ensure_sound(self, verdict: Future[str] | None = None) -> None:
        """A writer's first step: a damaged database is named, never written to, nor reported unchanged.
        ``verdict``: the check already under way (checked_in_background), waited for here."""
        verdict = verdict.result() if verdict is not None else self.integrity()
        if verdict != "ok":
            raise DamagedStoreError(f"{self.path} is damaged (SQLite integrity check: {verdict}): `kb index "
                                    "--rebuild` keeps it aside and builds the index again, or `kb restore` a backup")

    @classmethod
    def opened_for_rebuild(cls, index_dir: Path) -> tuple[Store, str | None]:
        """The store a rebuild writes to: this one, or, where the database is damaged (it does not open,
        or SQLite's integrity check fails), a new one, the damaged file kept beside it under another name
        (returned), never deleted."""
        try:
            store = cls(index_dir)
            if store.integrity() == "ok":
                return store, None
            store.close()
        except DamagedStoreError:
            pass
        path = Path(index_dir) / DB_NAME
        kept = path.with_name(f"{DB_NAME}.damaged-{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S}")
        path.replace(kept)
        for suffix in ("-wal", "-shm"):  # they belong to the damaged file, and go with it
            if Path(f"{path}{suffix}").exists():
                Path(f"{path}{suffix}").replace(f"{kept}{suffix}")
        return cls(index_dir), kept.name

    # -- manifest and generation -------------------------------------------------------
    def manifest(self) -> IndexManifest | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'manifest'").fetchone()
        return IndexManifest.model_validate_json(row[0]) if row else None

    def generation(self) -> int:
        manifest = self.manifest()
        return manifest.generation if manifest else 0

    # -- documents and chunks ----------------------------------------------------------
    def document_hashes(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT doc_id, content_hash FROM documents"))

    def commit_generation(
        self,
        upserts: Sequence[PreparedDocument],
        removed: Iterable[str],
        manifest: IndexManifest,
        write_vectors: Callable[[VectorDelta], str],
        meta: dict[str, str] | None = None,
    ) -> IndexManifest:
        """Replace documents and their chunks and move the manifest on, in one transaction.

        ``write_vectors(delta)`` runs inside the transaction, after the writes, with the chunks that
        left and those that came (and every chunk's vector on demand): it writes the new generation's
        vector file (so a committed generation always has one) and returns the FAISS factory it used,
        which the committed manifest records. ``meta``: further keys committed with it (the run's
        records, kb.index.runlog).
        """
        db = self.db
        model_key, dimension = manifest.model.key(), manifest.model.dimension
        left: list[int] = []
        came: list[tuple[int, str]] = []
        with transaction(db):
            next_id = self._next_chunk_id()
            for doc_id in [*removed, *(p.document.doc_id for p in upserts)]:
                left += [row[0] for row in db.execute("SELECT chunk_id FROM chunks WHERE doc_id = ?", (doc_id,))]
                self._delete_document(doc_id)
            for prepared in upserts:
                doc, m = prepared.document, prepared.document.metadata
                db.execute(
                    "INSERT INTO documents (doc_id, source, content_hash, title, unit, unit_type, year, doc_type,"
                    " extra, text) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (doc.doc_id, doc.source, doc.content_hash, m.title, m.unit, m.unit_type, m.year, m.doc_type,
                     json.dumps(m.extra, ensure_ascii=False), doc.text),
                )
                insert_practices(db, doc.doc_id, doc.practices)
                for item in prepared.chunks:
                    chunk = item.chunk
                    db.execute(
                        "INSERT INTO chunks (chunk_id, doc_id, ordinal, text, context, heading_path, start, end,"
                        " unit, unit_type, embed_hash, page, kind) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (next_id, doc.doc_id, chunk.ordinal, chunk.text, item.context,
                         json.dumps(chunk.heading_path, ensure_ascii=False), chunk.start, chunk.end, chunk.unit,
                         chunk.unit_type, item.embed_hash, chunk.page, chunk.kind),
                    )
                    db.execute("INSERT INTO chunk_fts (rowid, tokens) VALUES (?, ?)", (next_id, " ".join(item.tokens)))
                    came.append((next_id, item.embed_hash))
                    next_id += 1
            self.put_meta("next_chunk_id", str(next_id))
            chunk_ids = self.chunk_ids()

            def everything() -> tuple[np.ndarray, np.ndarray]:
                ids, vectors = self.chunk_vectors(model_key, dimension)
                if not np.array_equal(ids, chunk_ids):
                    raise RuntimeError(NO_EMBEDDING)
                return ids, vectors

            delta = VectorDelta(removed=np.array(left, dtype=np.int64),
                                added_ids=np.array([i for i, _ in came], dtype=np.int64),
                                added=self._vectors_of_hashes(model_key, dimension, [h for _, h in came]),
                                ids=chunk_ids, everything=everything)
            manifest = manifest.model_copy(update={"vector_index": write_vectors(delta)})
            self.write_manifest(manifest)
            for key, value in (meta or {}).items():
                self.put_meta(key, value)
        return manifest

    def write_manifest(self, manifest: IndexManifest) -> None:
        """The manifest says which generation, model and vector file an index is: written here only."""
        self.put_meta("manifest", manifest.model_dump_json())

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    def _next_chunk_id(self) -> int:
        """Chunk ids are never reused: an id means one text forever, so `kb show N` and a page that
        still holds an older generation can never show another text under the same id."""
        stored = self.db.execute("SELECT value FROM meta WHERE key = 'next_chunk_id'").fetchone()
        highest = self.db.execute("SELECT max(chunk_id) FROM chunks").fetchone()[0] or 0
        return max(int(stored[0]) if stored else 0, highest + 1)

    @contextlib.contextmanager
    def snapshot(self):
        """One read transaction: every read inside it sees the same committed generation, however
        many commits a writer makes meanwhile (WAL keeps the snapshot)."""
        if self.db.in_transaction:
            yield
            return
        self.db.execute("BEGIN")
        try:
            yield
        finally:
            self.db.execute("COMMIT")

    def _delete_document(self, doc_id: str) -> None:
        self.db.execute(
            "DELETE FROM chunk_fts WHERE rowid IN (SELECT chunk_id FROM chunks WHERE doc_id = ?)", (doc_id,)
        )
        self.db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
        self.db.execute("DELETE FROM practices WHERE doc_id = ?", (doc_id,))
        self.db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))

    # -- embeddings cache --------------------------------------------------------------
    def cached_hashes(self, model_key: str, hashes: Iterable[str]) -> set[str]:
        return {row[0] for row in self._embedding_rows("text_hash", model_key, hashes)}

    def _embedding_rows(self, columns: str, model_key: str, hashes: Iterable[str]) -> Iterable[tuple]:
        """``columns`` of the cached embeddings of these texts, 500 hashes a query (SQLite's bound on
        parameters)."""
        wanted = list(set(hashes))
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            yield from self.db.execute(
                f"SELECT {columns} FROM embeddings WHERE model_key = ? AND text_hash IN ({','.join('?' * len(part))})",
                [model_key, *part],
            )

    def put_embeddings(self, model_key: str, hashes: Sequence[str], vectors: np.ndarray) -> None:
        """Committed at once, so an interrupted run keeps what it embedded."""
        rows = [(model_key, h, np.asarray(v, dtype="<f4").tobytes()) for h, v in zip(hashes, vectors)]
        with transaction(self.db):
            self.db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)", rows)

    def _vectors_of_hashes(self, model_key: str, dimension: int, hashes: Sequence[str]) -> np.ndarray:
        """The cached embeddings of these texts, in order; every one must be cached."""
        found = dict(self._embedding_rows("text_hash, vector", model_key, hashes))
        if len(found) != len(set(hashes)):
            raise RuntimeError(NO_EMBEDDING)
        return np.frombuffer(b"".join(found[h] for h in hashes), dtype="<f4").reshape(len(hashes), dimension)

    def chunk_vectors(self, model_key: str, dimension: int,
                      chunk_ids: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(chunk ids, vectors) of every chunk, or of those of ``chunk_ids`` that exist, in chunk id order."""
        # CROSS JOIN keeps chunks the outer table: left to itself, SQLite's planner walks every embedding of
        # the model and looks each up in chunks (19 s for 500 ids at 10⁵ chunks, against 0.02 s this way).
        sql = ("SELECT c.chunk_id, e.vector FROM chunks c CROSS JOIN embeddings e "
               "ON e.model_key = ? AND e.text_hash = c.embed_hash")
        if chunk_ids is None:
            rows = self.db.execute(sql + " ORDER BY c.chunk_id", (model_key,)).fetchall()
        else:
            wanted = sorted({int(i) for i in chunk_ids})
            rows = []
            for start in range(0, len(wanted), 500):
                part = wanted[start : start + 500]
                rows += self.db.execute(sql + f" WHERE c.chunk_id IN ({','.join('?' * len(part))}) ORDER BY c.chunk_id",
                                        [model_key, *part]).fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(len(rows), dimension)
        return ids, vectors
