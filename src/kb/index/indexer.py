"""Batch and incremental indexing.

Each run hashes every source; unchanged documents are skipped, and of the changed ones only
chunk texts never embedded with this model are embedded (the cache is keyed by model identity
and text hash, and committed batch by batch, so an interrupted run resumes where it stopped).
The document and chunk changes, the FAISS file of the new generation and the manifest then
land together in one SQLite transaction: readers see the old generation or the new one.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import kb
from kb.config import Settings
from kb.index import audit
from kb.index.report import DocumentChange, FileFailure, IndexReport
from kb.index.store import Store
from kb.index.vectors import VectorIndex, factory_for, remove_stale, vector_file
from kb.ingest import IngestError, SourceFile, Unreadable, discover, load
from kb.ingest.chunking import chunk_document, context_line
from kb.model.embedder import Embedder
from kb.reasons import Reason
from kb.records import Chunk, Document, IndexManifest, ModelIdentity
from kb.text import readable_name
from kb.tokenize import tokenize

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
EMBED_BATCH = 64
LOCK_NAME = "index.lock"
LAST_RUN_NAME = "last-run.json"
STRICT_NOTE = "--strict: nothing was indexed"

Progress = Callable[[str, int, int], None]


class IndexMismatchError(RuntimeError):
    """The index was built with other settings; the message names them and says to rebuild."""


class IndexBusyError(RuntimeError):
    pass


@dataclass(frozen=True)
class Candidate:
    """A document-to-be: its id, the hash of its raw content, and how to load it."""

    doc_id: str
    content_hash: str
    source: str
    load: Callable[[], Document]


def candidates_from_files(files: Iterable[SourceFile], max_bytes: int | None = None) -> list[Candidate]:
    return [
        Candidate(f.doc_id, f.content_hash, readable_name(str(f.path)), lambda f=f: load(f.path, f.doc_id, max_bytes))
        for f in files
    ]


def index_paths(
    settings: Settings,
    paths: list[Path] | None = None,
    rebuild: bool = False,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
    wait: bool = False,
    strict: bool = False,
    actor: str | None = None,
) -> IndexReport:
    paths = [Path(p) for p in paths] if paths else [settings.corpus_dir]
    try:
        found = discover(paths, settings.corpus_dir, settings.follow_symlinks)
    except IngestError as exc:
        raise ValueError(str(exc)) from exc
    candidates = candidates_from_files(found.files, settings.max_file_mb * 1024 * 1024)
    report = index_candidates(settings, candidates, found.scopes, rebuild, embedder, progress, wait, strict,
                              actor=actor, unreadable=found.unreadable)
    report.skipped = [FileFailure.of(item.path, item.reason) for item in found.skipped]
    return report


def index_candidates(
    settings: Settings,
    candidates: list[Candidate],
    scopes: list[str],
    rebuild: bool = False,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
    wait: bool = False,
    strict: bool = False,
    unique_content: bool = True,
    actor: str | None = None,
    unreadable: list[Unreadable] | None = None,
) -> IndexReport:
    """``strict``: the first file that cannot be indexed stops the run before anything is written.
    ``unique_content``: a file whose content is indexed under another name is refused (a judged
    test collection turns this off: there, equal texts under two ids are two documents).
    ``actor``: who asked, for the audit log; None (benchmarks, eval indexes) records nothing.
    ``unreadable``: files and folders found but not taken; reported, and their documents kept."""
    unreadable = unreadable or []
    if strict and unreadable:
        first = unreadable[0]
        raise IngestError(first.path, first.reason.code, note=STRICT_NOTE, **first.reason.facts)
    started = time.monotonic()
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    with WriterLock(settings.index_dir, wait):
        embedder = embedder or Embedder(settings)
        store = Store(settings.index_dir)
        try:
            report = _run(store, settings, embedder, candidates, scopes, rebuild, progress, strict, unique_content,
                          unreadable)
        except BaseException as exc:
            if actor:
                target = ", ".join(scopes) or str(settings.corpus_dir)
                audit.record(settings.index_dir, [audit.entry(actor, "index", target, "error", reason=Reason(
                    code="run_error", facts={"detail": str(exc)[:500]}))])
            raise
        finally:
            store.close()
        report.seconds = time.monotonic() - started
        report.finished_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        _write_atomically(settings.index_dir / LAST_RUN_NAME, report.model_dump_json(indent=2))
        if actor:
            action = "remove" if not candidates else "index"
            audit.record(settings.index_dir, [
                audit.entry(actor, action, change.doc_id, change.kind, change.content_hash, change.detail, change.reason)
                for change in report.changes
            ])
    return report


def last_run(index_dir: Path) -> IndexReport | None:
    """The report of the last finished run, for the page's status panel."""
    try:
        return IndexReport.model_validate_json((Path(index_dir) / LAST_RUN_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def remove_documents(
    settings: Settings, doc_ids: list[str], wait: bool = False, actor: str | None = None
) -> IndexReport:
    """Drop documents from the index whatever their files hold now."""
    return index_candidates(settings, [], list(doc_ids), wait=wait, actor=actor)


def _write_atomically(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


def check_compatible(manifest: IndexManifest | None, identity: ModelIdentity, chunking: dict) -> None:
    if manifest is None:
        return
    problems = []
    if manifest.format_version != FORMAT_VERSION:
        problems.append(f"index format {manifest.format_version} (this kb writes {FORMAT_VERSION})")
    if manifest.model.key() != identity.key():
        problems.append(
            f"model {manifest.model.name}@{manifest.model.revision} ({manifest.model.precision}) "
            f"-> {identity.name}@{identity.revision} ({identity.precision})"
        )
    if manifest.chunking != chunking:
        problems.append(f"chunking {manifest.chunking} -> {chunking}")
    if problems:
        raise IndexMismatchError(
            "the index was built with other settings: " + "; ".join(problems) + ". Run `kb index --rebuild`."
        )


def _covered(doc_id: str, prefixes: Iterable[str]) -> bool:
    """Whether ``doc_id`` is one of ``prefixes`` or lies under one that names a folder (ends in /)."""
    return any(doc_id == p or (p.endswith("/") or p == "") and doc_id.startswith(p) for p in prefixes)


def _run(store, settings, embedder, candidates, scopes, rebuild, progress, strict, unique_content,
         unreadable) -> IndexReport:
    report = IndexReport()
    manifest = store.manifest()
    if not rebuild:
        check_compatible(manifest, embedder.identity, settings.chunking_identity())
    stored = store.document_hashes()
    seen = {c.doc_id for c in candidates}
    # What could not be read is unknown, not gone: its documents keep their last indexed version.
    unknown = [u.doc_id for u in unreadable]
    for item in unreadable:
        report.failed.append(FileFailure.of(item.path, item.reason))
        report.changes.append(DocumentChange(doc_id=item.doc_id, kind="failed", detail=item.message,
                                             reason=item.reason))
    in_scope = [d for d in stored if _covered(d, scopes)]
    removed = [d for d in in_scope if d not in seen and not _covered(d, unknown)]
    removed_hashes = {stored[d] for d in removed}

    todo: list[Document] = []
    # Content already held under another name: the same text twice would only crowd results.
    owner_of = {h: d for d, h in stored.items() if d not in removed}
    for index, candidate in enumerate(candidates):
        if progress:
            progress("reading", index + 1, len(candidates))
        if not rebuild and stored.get(candidate.doc_id) == candidate.content_hash:
            report.unchanged += 1
            continue
        owner = (
            owner_of.setdefault(candidate.content_hash, candidate.doc_id)
            if unique_content and candidate.content_hash else None
        )
        try:
            if owner and owner != candidate.doc_id:
                raise IngestError(candidate.source, "duplicate", owner=owner)
            doc = _load_with_page_progress(candidate, progress)
        except (IngestError, OSError, ValueError) as exc:
            reason = exc.reason if isinstance(exc, IngestError) else Reason(
                code="unreadable", facts={"detail": readable_name(getattr(exc, "strerror", None) or str(exc))})
            message = f"{candidate.source}: {reason.english()}"
            if strict:
                raise IngestError(candidate.source, reason.code, note=STRICT_NOTE, **reason.facts) from None
            report.failed.append(FileFailure.of(candidate.source, reason))
            report.changes.append(DocumentChange(doc_id=candidate.doc_id, kind="failed",
                                                 content_hash=candidate.content_hash, detail=message, reason=reason))
            log.info("%s", message)
            # A file that cannot be read now keeps its last indexed version rather than vanishing.
            continue
        report.notes += [FileFailure.of(candidate.source, note) for note in doc.notes]
        if candidate.doc_id in stored:
            kind = "changed"
        elif candidate.content_hash in removed_hashes:
            kind = "renamed"
        else:
            kind = "added"
        setattr(report, kind, getattr(report, kind) + 1)
        report.changes.append(DocumentChange(doc_id=candidate.doc_id, kind=kind, content_hash=candidate.content_hash))
        todo.append(doc)
    report.removed = len(removed) - report.renamed
    report.changes += [DocumentChange(doc_id=d, kind="removed", content_hash=stored[d]) for d in removed]

    if rebuild:
        removed = sorted(set(stored) - {d.doc_id for d in todo})
    prepared = [_prepare(doc, settings) for doc in todo]
    identity = embedder.identity
    embedding_started = time.monotonic()
    _embed_missing(store, embedder, identity.key(), prepared, report, settings, progress)
    report.embedding_seconds = time.monotonic() - embedding_started

    generation = (manifest.generation if manifest else 0) + 1
    target = vector_file(settings.index_dir, generation)
    if not prepared and not removed and manifest is not None and not rebuild:
        report.generation = manifest.generation
        if vector_file(settings.index_dir, manifest.generation).exists():
            return report
    new_manifest = IndexManifest(
        format_version=FORMAT_VERSION,
        kb_version=kb.__version__,
        model=identity,
        chunking=settings.chunking_identity(),
        vector_index="",
        generation=generation,
        built_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )

    def write_vectors(tx_store: Store) -> None:
        ids, vectors = tx_store.chunk_vectors(identity.key(), identity.dimension)
        if len(ids) != tx_store.chunk_count():
            raise RuntimeError("some chunks have no embedding; the index was not changed")
        factory = factory_for(len(ids))
        new_manifest.vector_index = factory
        tx_store.db.execute(
            "UPDATE meta SET value = ? WHERE key = 'manifest'", (new_manifest.model_dump_json(),)
        )
        if progress:
            progress("writing vectors", len(ids), len(ids))
        VectorIndex.build(ids, vectors, factory).save(target)

    try:
        store.commit_generation(prepared, removed, new_manifest, before_commit=write_vectors)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    remove_stale(settings.index_dir, generation)
    report.generation = generation
    return report


def _load_with_page_progress(candidate: Candidate, progress: Progress | None) -> Document:
    """Loads a file; OCR reports its pages as it reads them (a scan takes seconds a page)."""
    from kb.ingest import ocr

    token = ocr.page_progress.set((lambda done, total: progress("OCR", done, total)) if progress else None)
    try:
        return candidate.load()
    finally:
        ocr.page_progress.reset(token)


def _prepare(doc: Document, settings: Settings) -> tuple[Document, list[Chunk], list[str], list[list[str]]]:
    chunks = chunk_document(doc, settings.chunk_size, settings.chunk_overlap)
    texts = [embed_text(doc.metadata.title, chunk) for chunk in chunks]
    hashes = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
    return doc, chunks, hashes, [tokenize(t) for t in texts]


def embed_text(title: str, chunk: Chunk) -> str:
    """What is embedded and tokenized for a chunk: its context line, then its text."""
    return embed_text_from_context(context_line(title, chunk.heading_path), chunk.text)


def embed_text_from_context(context: str, text: str) -> str:
    return f"{context}\n{text}" if context else text


def _embed_missing(store, embedder, model_key, prepared, report, settings, progress) -> None:
    wanted: dict[str, str] = {}
    total = 0
    for doc, chunks, hashes, _ in prepared:
        for chunk, text_hash in zip(chunks, hashes):
            total += 1
            wanted.setdefault(text_hash, embed_text(doc.metadata.title, chunk))
    cached = store.cached_hashes(model_key, wanted)
    missing = [(h, t) for h, t in wanted.items() if h not in cached]
    report.chunks_reused = total - len(missing)
    report.chunks_embedded = len(missing)
    # Similar lengths together waste less padding.
    missing.sort(key=lambda item: len(item[1]))
    done = 0
    for start in range(0, len(missing), EMBED_BATCH):
        batch = missing[start : start + EMBED_BATCH]
        vectors = embedder.embed_passages([t for _, t in batch], settings.batch_size)
        store.put_embeddings(model_key, [h for h, _ in batch], vectors)
        done += len(batch)
        if progress:
            progress("embedding", done, len(missing))


class WriterLock:
    """One writer per index; a lock held by a dead process is released by the OS with it."""

    def __init__(self, index_dir: Path, wait: bool):
        self.path = Path(index_dir) / LOCK_NAME
        self.wait = wait
        self.handle = None

    def __enter__(self):
        self.handle = open(self.path, "a+")
        flags = fcntl.LOCK_EX if self.wait else fcntl.LOCK_EX | fcntl.LOCK_NB
        try:
            fcntl.flock(self.handle, flags)
        except BlockingIOError:
            self.handle.seek(0)
            holder = self.handle.read().strip() or "unknown"
            self.handle.close()
            raise IndexBusyError(
                f"index busy: {self.path.parent} is being written by pid {holder}; try again or pass --wait"
            ) from None
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(str(os.getpid()))
        self.handle.flush()
        return self

    def __exit__(self, *exc):
        self.handle.seek(0)
        self.handle.truncate()
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()
