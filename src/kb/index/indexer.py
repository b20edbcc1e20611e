"""Batch and incremental indexing, in steps: plan (what changed, from content hashes), read,
prepare (chunks and their embed texts), embed (only texts never embedded with this model: the cache
is keyed by model identity and text hash and committed batch by batch, so an interrupted run resumes
where it stopped), commit, publish.

The commit lands the document and chunk changes, the FAISS file of the new generation and the
manifest together in one SQLite transaction: readers see the old generation or the new one. Where
readers use another backend (Milvus), its publisher runs next, under the same writer lock.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import kb
from kb.config import Settings
from kb.index import audit
from kb.index.plan import Candidate, ChangePlan, candidates_from_files, plan_changes
from kb.index.prepare import PreparedDocument, prepare
from kb.index.report import DocumentChange, FileFailure, IndexReport, PublishReport
from kb.index.store import Store
from kb.index.vectors import VectorIndex, factory_for, remove_stale, vector_file
from kb.ingest import IngestError, Unreadable, discover
from kb.model.embedder import Embedder
from kb.reasons import KbError, Reason
from kb.records import Document, IndexManifest, ModelIdentity
from kb.text import readable_name

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
EMBED_BATCH = 64
LOCK_NAME = "index.lock"
LAST_RUN_NAME = "last-run.json"
STRICT_NOTE = "--strict: nothing was indexed"

Progress = Callable[[str, int, int], None]
# The step after a commit that makes another backend serve the new generation (kb.milvus.publisher_for).
Publisher = Callable[[Settings, Progress | None], PublishReport]


class IndexMismatchError(KbError, RuntimeError):
    """The index was built with other settings; the message names them and says to rebuild."""


class IndexBusyError(KbError, RuntimeError):
    """Another process is writing this index."""


def index_paths(
    settings: Settings,
    paths: list[Path] | None = None,
    rebuild: bool = False,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
    wait: bool = False,
    strict: bool = False,
    actor: str | None = None,
    publisher: Publisher | None = None,
) -> IndexReport:
    paths = [Path(p) for p in paths] if paths else [settings.corpus_dir]
    max_bytes = settings.max_file_mb * 1024 * 1024
    found = discover(paths, settings.corpus_dir, settings.follow_symlinks, max_bytes)
    candidates = candidates_from_files(found.files, max_bytes)
    report = index_candidates(settings, candidates, found.scopes, rebuild, embedder, progress, wait, strict,
                              actor=actor, unreadable=found.unreadable, publisher=publisher)
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
    publisher: Publisher | None = None,
) -> IndexReport:
    """``strict``: the first file that cannot be indexed stops the run before anything is written.
    ``unique_content``: a file whose content is indexed under another name is refused (a judged
    test collection turns this off: there, equal texts under two ids are two documents).
    ``actor``: who asked, for the audit log; None (benchmarks, eval indexes) records nothing.
    ``unreadable``: files and folders found but not taken; reported, and their documents kept.
    ``publisher``: run after the commit (or after a no-op run, to finish a publish that died)."""
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
        if publisher is not None:
            # After the commit is on record: a publish that fails leaves a committed generation that the
            # next run (a no-op one too) publishes again.
            report.published = publisher(settings, progress)
    return report


def last_run(index_dir: Path) -> IndexReport | None:
    """The report of the last finished run, for the page's status panel."""
    try:
        return IndexReport.model_validate_json((Path(index_dir) / LAST_RUN_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def remove_documents(
    settings: Settings, doc_ids: list[str], wait: bool = False, actor: str | None = None,
    publisher: Publisher | None = None,
) -> IndexReport:
    """Drop documents from the index whatever their files hold now."""
    return index_candidates(settings, [], list(doc_ids), wait=wait, actor=actor, publisher=publisher)


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


def _run(store: Store, settings: Settings, embedder: Embedder, candidates: list[Candidate], scopes: list[str],
         rebuild: bool, progress: Progress | None, strict: bool, unique_content: bool,
         unreadable: list[Unreadable]) -> IndexReport:
    """plan -> read -> prepare -> embed -> commit; each step's result feeds the next."""
    report = IndexReport()
    manifest = store.manifest()
    if not rebuild:
        check_compatible(manifest, embedder.identity, settings.chunking_identity())
    for item in unreadable:
        report.failed.append(FileFailure.of(item.path, item.reason))
        report.changes.append(DocumentChange(doc_id=item.doc_id, kind="failed", detail=item.message,
                                             reason=item.reason))
    plan = plan_changes(store.document_hashes(), candidates, scopes, unreadable, rebuild, unique_content)
    documents = _read(plan, report, progress, strict)
    removed = sorted(set(plan.stored) - {d.doc_id for d in documents}) if rebuild else plan.removed
    prepared = [prepare(doc, settings) for doc in documents]
    embedding_started = time.monotonic()
    _embed_missing(store, embedder, prepared, report, settings, progress)
    report.embedding_seconds = time.monotonic() - embedding_started

    if not prepared and not removed and manifest is not None and not rebuild \
            and vector_file(settings.index_dir, manifest.generation).exists():
        report.generation = manifest.generation
    else:
        report.generation = _commit(store, settings, embedder.identity, manifest, prepared, removed, progress)
    return report


def _read(plan: ChangePlan, report: IndexReport, progress: Progress | None, strict: bool) -> list[Document]:
    """Loads what the plan reads; a file that cannot be read is reported and keeps its last indexed
    version rather than vanishing (``strict``: the first one stops the run before anything is written)."""

    def failed(candidate: Candidate, reason: Reason) -> None:
        if strict:
            raise IngestError(candidate.source, reason.code, note=STRICT_NOTE, **reason.facts)
        message = f"{candidate.source}: {reason.english()}"
        log.info("%s", message)
        report.failed.append(FileFailure.of(candidate.source, reason))
        report.changes.append(DocumentChange(doc_id=candidate.doc_id, kind="failed",
                                             content_hash=candidate.content_hash, detail=message, reason=reason))

    for candidate, owner in plan.duplicates:
        failed(candidate, Reason(code="duplicate", facts={"owner": owner}))
    documents = []
    for index, planned in enumerate(plan.reads):
        if progress:
            progress("reading", index + 1, len(plan.reads))
        try:
            doc = _load_with_page_progress(planned.candidate, progress)
        except (IngestError, OSError, ValueError) as exc:
            failed(planned.candidate, exc.reason if isinstance(exc, IngestError) else Reason(
                code="unreadable", facts={"detail": readable_name(getattr(exc, "strerror", None) or str(exc))}))
            continue
        report.notes += [FileFailure.of(planned.candidate.source, note) for note in doc.notes]
        setattr(report, planned.kind, getattr(report, planned.kind) + 1)
        report.changes.append(DocumentChange(doc_id=doc.doc_id, kind=planned.kind,
                                             content_hash=planned.candidate.content_hash))
        documents.append(doc)
    report.unchanged = plan.unchanged
    report.removed = len(plan.removed) - report.renamed
    report.changes += [DocumentChange(doc_id=d, kind="removed", content_hash=plan.stored[d]) for d in plan.removed]
    return documents


def _commit(store: Store, settings: Settings, identity: ModelIdentity, manifest: IndexManifest | None,
            prepared: list[PreparedDocument], removed: list[str], progress: Progress | None) -> int:
    """One transaction: the documents' rows, the new generation's vector file and its manifest."""
    generation = (manifest.generation if manifest else 0) + 1
    target = vector_file(settings.index_dir, generation)

    def write_vectors(ids: np.ndarray, vectors: np.ndarray) -> str:
        factory = factory_for(len(ids))
        if progress:
            progress("writing vectors", len(ids), len(ids))
        VectorIndex.build(ids, vectors, factory).save(target)
        return factory

    new_manifest = IndexManifest(
        format_version=FORMAT_VERSION,
        kb_version=kb.__version__,
        model=identity,
        chunking=settings.chunking_identity(),
        vector_index="",
        generation=generation,
        built_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    try:
        store.commit_generation(prepared, removed, new_manifest, write_vectors)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    remove_stale(settings.index_dir, generation)
    return generation


def _load_with_page_progress(candidate: Candidate, progress: Progress | None) -> Document:
    """Loads a file; OCR reports its pages as it reads them (a scan takes seconds a page)."""
    from kb.ingest import ocr

    token = ocr.page_progress.set((lambda done, total: progress("OCR", done, total)) if progress else None)
    try:
        return candidate.load()
    finally:
        ocr.page_progress.reset(token)


def _embed_missing(store: Store, embedder: Embedder, prepared: list[PreparedDocument], report: IndexReport,
                   settings: Settings, progress: Progress | None) -> None:
    """Embeds the chunk texts the cache does not hold for this model, batch by batch."""
    model_key = embedder.identity.key()
    wanted = {c.embed_hash: c.embed_text for doc in prepared for c in doc.chunks}
    total = sum(len(doc.chunks) for doc in prepared)
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
                f"index busy: {self.path.parent.resolve()} is being written by pid {holder}; try again or pass --wait"
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
