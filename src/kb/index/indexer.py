"""Batch and incremental indexing, in steps: plan (what changed, from content hashes), read,
prepare (chunks and their embed texts), embed (only texts never embedded with this model: the cache
is keyed by model identity and text hash and committed batch by batch, so an interrupted run resumes
where it stopped), commit, publish.

The commit lands the document and chunk changes, the FAISS file of the new generation and the
manifest together in one SQLite transaction: readers see the old generation or the new one. Where
readers use another backend (Milvus), its publisher runs next, under the same writer lock.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

import kb
from kb.config import Settings
from kb.index import audit
from kb.index.lock import WriterLock
from kb.index.plan import Candidate, ChangePlan, candidates_from_files, plan_changes
from kb.index.prepare import PreparedDocument, prepare
from kb.index.report import DocumentChange, FileFailure, IndexReport, PublishReport
from kb.index.runlog import PENDING_KEY, records_for, write_pending, write_records
from kb.index.store import DB_NAME, Store, checked_in_background, mark_sound
from kb.index.vectors import (
    VectorDelta,
    VectorIndex,
    factory_for,
    remove_stale,
    updated_from,
    vector_file,
)
from kb.ingest import IngestError, Unreadable, discover
from kb.ingest.limits import IngestLimits, limited
from kb.model.embedder import Embedder
from kb.reasons import DiskFullError, KbError, Reason, is_disk_full
from kb.records import Document, IndexManifest, ModelIdentity
from kb.text import readable_name

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
EMBED_BATCH = 64
STRICT_NOTE = "--strict: nothing was indexed"

Progress = Callable[[str, int, int], None]
# The step after a commit that makes another backend serve the new generation (kb.milvus.publisher_for).
Publisher = Callable[[Settings, Progress | None], PublishReport]


class IndexMismatchError(KbError, RuntimeError):
    """The index was built with other settings; the message names them and says to rebuild."""


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
    # The database's integrity check runs while the corpus is walked and hashed (a rebuild checks its own).
    verdict = None if rebuild else checked_in_background(settings.index_dir)
    found = discover(paths, settings.corpus_dir, settings.follow_symlinks, max_bytes)
    candidates = candidates_from_files(found.files, max_bytes)
    report = index_candidates(settings, candidates, found.scopes, rebuild, embedder, progress, wait, strict,
                              actor=actor, unreadable=found.unreadable, publisher=publisher, verdict=verdict)
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
    verdict: Future[str] | None = None,
) -> IndexReport:
    """``strict``: the first file that cannot be indexed stops the run before anything is written.
    ``unique_content``: a file whose content is indexed under another name is refused (a judged
    test collection turns this off: there, equal texts under two ids are two documents).
    ``actor``: who asked, for the audit log; None (benchmarks, eval indexes) records nothing.
    ``unreadable``: files and folders found but not taken; reported, and their documents kept.
    ``publisher``: run after the commit (or after a no-op run, to finish a publish that died).
    ``verdict``: the database's integrity check, started before the candidates were found (else run here)."""
    unreadable = unreadable or []
    if strict and unreadable:
        first = unreadable[0]
        raise IngestError(first.path, first.reason.code, note=STRICT_NOTE, **first.reason.facts)
    started = time.monotonic()
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    action = "remove" if not candidates else "index"
    with WriterLock(settings.index_dir, wait):
        embedder = embedder or Embedder(settings)
        if rebuild:  # checked there: a damaged database is set aside for a new one
            store, set_aside = Store.opened_for_rebuild(settings.index_dir)
        else:
            store, set_aside = Store(settings.index_dir), None
            try:
                store.ensure_sound(verdict)
            except BaseException:
                store.close()
                raise
        before = store.generation()
        try:
            write_pending(store, settings.index_dir)  # what an earlier run committed but could not write
            report = _run(store, settings, embedder, candidates, scopes, rebuild, progress, strict, unique_content,
                          unreadable, _Run(started, actor, action, set_aside))
            if report.generation == before:  # nothing committed: the records go straight to their files
                write_records(settings.index_dir, records_for(report, actor, action))
            else:
                write_pending(store, settings.index_dir)
        except BaseException as exc:
            if is_disk_full(exc, settings.index_dir):
                raise DiskFullError(_disk_full_message(settings.index_dir, exc, before)) from exc
            if actor:
                _record_error(settings, scopes, actor, exc)
            raise
        finally:
            store.close()
        mark_sound(settings.index_dir)
        if publisher is not None:
            # After the commit is on record: a publish that fails leaves a committed generation that the
            # next run (a no-op one too) publishes again.
            report.published = publisher(settings, progress)
    return report


def _record_error(settings: Settings, scopes: list[str], actor: str, exc: BaseException) -> None:
    """The failed run in the change log, where the log can still be written (never in place of the error)."""
    target = ", ".join(scopes) or str(settings.corpus_dir)
    try:
        audit.record(settings.index_dir, [audit.entry(actor, "index", target, "error", reason=Reason(
            code="run_error", facts={"detail": str(exc)[:500]}))])
    except (OSError, sqlite3.Error) as unwritten:
        log.warning("the failed run could not be put in the change log: %s", unwritten)


def _disk_full_message(index_dir: Path, exc: BaseException, before: int) -> str:
    """Whether the run committed, read afresh from the index (the run's own connection may be in a
    failed state), and what to do."""
    try:
        store = Store(index_dir)
        try:
            now = store.generation()
        finally:
            store.close()
    except Exception:  # noqa: BLE001 - even reading fails on this disk: the generation stays unknown
        now = None
    where = f"the disk holding {Path(index_dir).resolve()} is full ({getattr(exc, 'strerror', None) or exc})"
    if now == before:
        return (f"{where}: nothing of this run was committed, the index is as it was (generation {before}); "
                "free space and run it again")
    if now is None:
        return f"{where}; `kb check` says which generation the index holds once there is space"
    return (f"generation {now} was committed and is searchable, but {where}: its report and change-log "
            "entries are kept in the index and written by the next `kb index` once there is space")


def remove_documents(
    settings: Settings, doc_ids: list[str], wait: bool = False, actor: str | None = None,
    publisher: Publisher | None = None,
) -> IndexReport:
    """Drop documents from the index whatever their files hold now."""
    return index_candidates(settings, [], list(doc_ids), wait=wait, actor=actor, publisher=publisher)


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


@dataclasses.dataclass(frozen=True)
class _Run:
    """What the records of a run say beside its report: when it started, who asked, what for."""

    started: float
    actor: str | None
    action: str
    set_aside: str | None = None  # the damaged database a rebuild kept aside

    def finish(self, report: IndexReport, generation: int) -> None:
        if self.set_aside:
            report.notes.insert(0, FileFailure.of(DB_NAME, Reason(code="database_set_aside",
                                                                  facts={"name": self.set_aside})))
        report.generation = generation
        report.seconds = time.monotonic() - self.started
        report.finished_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _run(store: Store, settings: Settings, embedder: Embedder, candidates: list[Candidate], scopes: list[str],
         rebuild: bool, progress: Progress | None, strict: bool, unique_content: bool,
         unreadable: list[Unreadable], run: _Run) -> IndexReport:
    """plan -> read -> prepare -> embed -> commit; each step's result feeds the next. A commit carries
    the run's records (kb.index.runlog), finished but for the publish."""
    report = IndexReport()
    manifest = store.manifest()
    if not rebuild:
        check_compatible(manifest, embedder.identity, settings.chunking_identity())
    for item in unreadable:
        report.failed.append(FileFailure.of(item.path, item.reason))
        report.changes.append(DocumentChange(doc_id=item.doc_id, kind="failed", detail=item.message,
                                             reason=item.reason))
    plan = plan_changes(store.document_hashes(), candidates, scopes, unreadable, rebuild, unique_content)
    prepared = _read(plan, report, progress, strict, settings)
    removed = sorted(set(plan.stored) - {p.document.doc_id for p in prepared}) if rebuild else plan.removed
    embedding_started = time.monotonic()
    _embed_missing(store, embedder, prepared, report, settings, progress)
    report.embedding_seconds = time.monotonic() - embedding_started

    if not prepared and not removed and manifest is not None and not rebuild \
            and vector_file(settings.index_dir, manifest.generation).exists():
        run.finish(report, manifest.generation)
    else:
        run.finish(report, (manifest.generation if manifest else 0) + 1)
        records = records_for(report, run.actor, run.action).model_dump_json()
        _commit(store, settings, embedder.identity, report.generation, prepared, removed, progress,
                {PENDING_KEY: records})
    return report


def _read(plan: ChangePlan, report: IndexReport, progress: Progress | None, strict: bool,
          settings: Settings) -> list[PreparedDocument]:
    """Loads and prepares what the plan reads, within the settings' bounds per file; a file that cannot
    be read, or passes a bound, is reported and keeps its last indexed version rather than vanishing
    (``strict``: the first one stops the run before anything is written)."""

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
            with limited(IngestLimits.of(settings)):
                doc = _load_with_page_progress(planned.candidate, progress)
        except (IngestError, OSError, ValueError) as exc:
            failed(planned.candidate, exc.reason if isinstance(exc, IngestError) else Reason(
                code="unreadable", facts={"detail": readable_name(getattr(exc, "strerror", None) or str(exc))}))
            continue
        ready = prepare(doc, settings)
        if len(ready.chunks) > settings.max_chunks_per_file:
            failed(planned.candidate, Reason(code="too_many_chunks", facts={
                "chunks": str(len(ready.chunks)), "limit": str(settings.max_chunks_per_file)}))
            continue
        report.notes += [FileFailure.of(planned.candidate.source, note) for note in doc.notes]
        setattr(report, planned.kind, getattr(report, planned.kind) + 1)
        report.changes.append(DocumentChange(doc_id=doc.doc_id, kind=planned.kind,
                                             content_hash=planned.candidate.content_hash))
        documents.append(ready)
    report.unchanged = plan.unchanged
    report.removed = len(plan.removed) - report.renamed
    report.changes += [DocumentChange(doc_id=d, kind="removed", content_hash=plan.stored[d]) for d in plan.removed]
    return documents


def _commit(store: Store, settings: Settings, identity: ModelIdentity, generation: int,
            prepared: list[PreparedDocument], removed: list[str], progress: Progress | None,
            meta: dict[str, str]) -> None:
    """One transaction: the documents' rows, the new generation's vector file, its manifest and ``meta``."""
    target = vector_file(settings.index_dir, generation)
    previous = store.manifest()

    def write_vectors(delta: VectorDelta) -> str:
        if progress:
            progress("writing vectors", delta.count, delta.count)
        index = None if previous is None else updated_from(
            vector_file(settings.index_dir, previous.generation), previous.vector_index, previous.model.dimension, delta)
        if index is None:
            ids, vectors = delta.everything()
            index = VectorIndex.build(ids, vectors, factory_for(len(ids)))
        index.save(target)
        return index.factory

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
        store.commit_generation(prepared, removed, new_manifest, write_vectors, meta)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    remove_stale(settings.index_dir, generation)


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
