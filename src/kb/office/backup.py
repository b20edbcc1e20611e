"""`kb backup` and `kb restore`: the index and the corpus, copied so that a broken disk loses neither.

The database is copied with SQLite's online backup API, which yields one committed state even
while the page searches and a re-index commits; the vector file is the one of that state's
generation (rebuilt from the copied vectors when a newer commit has already replaced it). Every file
is listed with its SHA-256 in ``kb-backup.json``, so a damaged backup is refused rather than restored.

A restore replaces the index in one step for readers: the backup's database gets a generation newer
than the live one and its vector file first, then SQLite's backup API copies it over the live
database. The corpus folder it replaces is moved aside, never deleted.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

from pydantic import BaseModel

import kb
from kb.config import Settings
from kb.hashing import file_sha256
from kb.index import audit
from kb.index.indexer import FORMAT_VERSION
from kb.index.lock import WriterLock
from kb.index.store import DB_NAME, Store
from kb.index.vectors import VectorIndex, remove_stale, vector_file
from kb.office.indexing import index_files
from kb.reasons import KbError, Reason
from kb.records import IndexManifest

MANIFEST_NAME = "kb-backup.json"


class BackupError(KbError, ValueError):
    pass


class BackupInfo(BaseModel):
    created_at: str
    kb_version: str
    format_version: int
    schema_version: int
    index: IndexManifest
    documents: int
    chunks: int
    corpus_files: int
    files: dict[str, str]  # relative path -> sha256


class RestoreReport(BaseModel):
    generation: int
    documents: int
    rebuilt: bool
    corpus_moved_to: str | None = None


def backup(settings: Settings, dest: Path, actor: str | None = None) -> BackupInfo:
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest} is not empty; give a new folder for the backup")
    if not (Path(settings.index_dir) / DB_NAME).exists():
        raise BackupError(f"no index at {settings.index_dir} to back up: run `kb index` first")
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        (work / "index").mkdir()
        _online_copy(Path(settings.index_dir) / DB_NAME, work / "index" / DB_NAME)
        store = Store(work / "index", create=False)
        try:
            manifest = store.manifest()
            if manifest is None:
                raise BackupError(f"the index at {settings.index_dir} was never committed: run `kb index` first")
            _vectors_for(store, manifest, Path(settings.index_dir), work / "index")
            documents = store.db.execute("SELECT count(*) FROM documents").fetchone()[0]
            chunks = store.chunk_count()
            schema = store.db.execute("PRAGMA user_version").fetchone()[0]
        finally:
            store.close()
        if (Path(settings.index_dir) / audit.AUDIT_FILE).exists():
            _online_copy(Path(settings.index_dir) / audit.AUDIT_FILE, work / "index" / audit.AUDIT_FILE)
        corpus_files = _copy_corpus(Path(settings.corpus_dir), work / "corpus")
        info = BackupInfo(
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            kb_version=kb.__version__,
            format_version=FORMAT_VERSION,
            schema_version=schema,
            index=manifest,
            documents=documents,
            chunks=chunks,
            corpus_files=corpus_files,
            files={str(p.relative_to(work)): file_sha256(p) for p in sorted(work.rglob("*")) if p.is_file()},
        )
        (work / MANIFEST_NAME).write_text(info.model_dump_json(indent=2), encoding="utf-8")
        if dest.exists():
            dest.rmdir()
        os.replace(work, dest)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    if actor:
        audit.record(settings.index_dir, [audit.entry(actor, "backup", str(dest), "done", reason=Reason(
            code="backup_made", facts={"generation": str(manifest.generation), "documents": str(documents),
                                       "files": str(corpus_files)}))])
    return info


def read_backup(src: Path) -> BackupInfo:
    src = Path(src)
    try:
        info = BackupInfo.model_validate_json((src / MANIFEST_NAME).read_text(encoding="utf-8"))
    except OSError as exc:
        raise BackupError(f"{src}: not a kb backup ({MANIFEST_NAME} unreadable: {exc.strerror or exc})") from None
    except ValueError as exc:
        raise BackupError(f"{src / MANIFEST_NAME}: damaged ({exc.__class__.__name__})") from None
    for name, digest in info.files.items():
        path = src / name
        if not path.is_file():
            raise BackupError(f"{src}: {name} is missing; the backup is incomplete")
        if file_sha256(path) != digest:
            raise BackupError(f"{src}: {name} does not match its checksum; the backup is damaged")
    listed = set(info.files) | {MANIFEST_NAME}
    # A file slipped into a backup after it was made would be restored and indexed unchecked.
    extra = sorted(str(p.relative_to(src)) for p in src.rglob("*") if p.is_file() and
                   str(p.relative_to(src)) not in listed)
    if extra:
        raise BackupError(f"{src}: {extra[0]} is not in the backup's manifest"
                          + (f" (and {len(extra) - 1} more)" if len(extra) > 1 else "")
                          + "; was it added after the backup was made? Remove it and restore again")
    return info


def restore(settings: Settings, src: Path, rebuild: bool = False, actor: str | None = None,
            embedder=None) -> RestoreReport:
    src = Path(src)
    info = read_backup(src)
    problems = _incompatibilities(info, settings, embedder)
    if problems and not rebuild:
        raise BackupError(
            f"{src} was made with other settings: {'; '.join(problems)}. "
            "`kb restore --rebuild` restores its corpus and re-indexes it with this kb's settings."
        )
    index_dir = Path(settings.index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    with WriterLock(index_dir, wait=True):
        moved = _replace_corpus(src / "corpus", Path(settings.corpus_dir))
        if not (index_dir / audit.AUDIT_FILE).exists() and (src / "index" / audit.AUDIT_FILE).exists():
            _online_copy(src / "index" / audit.AUDIT_FILE, index_dir / audit.AUDIT_FILE)
        if not problems:
            generation = _restore_index(src / "index", index_dir)
    if problems:
        report = index_files(settings, rebuild=True, embedder=embedder, wait=True)
        generation = report.generation
    result = RestoreReport(generation=generation, documents=info.documents, rebuilt=bool(problems),
                           corpus_moved_to=str(moved) if moved else None)
    if actor:
        more = (", re-indexed" if problems else "") + (f"; previous corpus kept at {moved}" if moved else "")
        more_zh = ("，已重新索引" if problems else "") + (f"；原语料保存在 {moved}" if moved else "")
        audit.record(index_dir, [audit.entry(actor, "restore", str(src), "done", reason=Reason(
            code="restored", facts={"made": info.created_at, "generation": str(generation), "more": more,
                                    "more_zh": more_zh}))])
    return result


def _incompatibilities(info: BackupInfo, settings: Settings, embedder) -> list[str]:
    from kb.model.embedder import Embedder

    problems = []
    if info.format_version != FORMAT_VERSION:
        problems.append(f"index format {info.format_version} (this kb: {FORMAT_VERSION})")
    identity = (embedder or Embedder(settings)).identity
    if info.index.model.key() != identity.key():
        problems.append(f"model {info.index.model.name}@{info.index.model.revision} ({info.index.model.precision}),"
                        f" configured here {identity.name}@{identity.revision} ({identity.precision})")
    if info.index.chunking != settings.chunking_identity():
        problems.append(f"chunking {info.index.chunking}, configured here {settings.chunking_identity()}")
    return problems


def _restore_index(backup_index: Path, index_dir: Path) -> int:
    """Stage the backup's database with a generation newer than the live one and write its vector
    file, then copy it over the live database in one step: a reader sees the old index or the new."""
    live = Store(index_dir)
    try:
        current = live.generation()
        with tempfile.TemporaryDirectory(dir=index_dir, prefix=".restore-") as staging:
            shutil.copy2(backup_index / DB_NAME, Path(staging) / DB_NAME)
            staged = Store(Path(staging), create=False)
            try:
                manifest = staged.manifest()
                generation = max(current, manifest.generation) + 1
                staged.write_manifest(manifest.model_copy(update={"generation": generation}))
                source = vector_file(backup_index, _backup_generation(backup_index))
                target = vector_file(index_dir, generation)
                temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
                shutil.copy2(source, temp)
                with open(temp, "rb") as handle:
                    os.fsync(handle.fileno())
                os.replace(temp, target)
                staged.db.backup(live.db)
            finally:
                staged.close()
    finally:
        live.close()
    remove_stale(index_dir, generation)
    return generation


def _backup_generation(backup_index: Path) -> int:
    files = sorted(backup_index.glob("vectors-*.faiss"))
    if len(files) != 1:
        raise BackupError(f"{backup_index}: expected one vector file, found {len(files)}")
    return int(files[0].stem.split("-")[1])


def _vectors_for(store: Store, manifest: IndexManifest, live_dir: Path, target_dir: Path) -> None:
    """The vector file of the copied generation: the live one if it is still there and whole,
    else rebuilt from the copied database (a newer commit may have replaced it meanwhile)."""
    target = vector_file(target_dir, manifest.generation)
    try:
        shutil.copy2(vector_file(live_dir, manifest.generation), target)
        if VectorIndex.load(target, manifest.vector_index).count == store.chunk_count():
            return
    except (OSError, RuntimeError):
        pass
    ids, vectors = store.chunk_vectors(manifest.model.key(), manifest.model.dimension)
    VectorIndex.build(ids, vectors, manifest.vector_index or None).save(target)


def _online_copy(source: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _copy_corpus(corpus: Path, target: Path) -> int:
    target.mkdir(parents=True)
    if not corpus.exists():
        return 0
    count = 0
    for path in sorted(corpus.rglob("*")):
        # Half-written uploads (.part) and editor temp files are not part of the corpus.
        if not path.is_file() or path.name.startswith(".") or path.is_symlink():
            continue
        copy = target / path.relative_to(corpus)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, copy)
        count += 1
    return count


def _replace_corpus(backup_corpus: Path, corpus: Path) -> Path | None:
    moved = None
    if corpus.exists() and any(corpus.iterdir()):
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        moved = corpus.with_name(f"{corpus.name}.before-restore-{stamp}")
        os.replace(corpus, moved)
    elif corpus.exists():
        corpus.rmdir()
    shutil.copytree(backup_corpus, corpus)
    return moved
