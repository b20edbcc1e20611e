"""Adding uploaded files to the corpus folder and removing documents from it.

Uploads come from a browser: names may hold paths, odd characters or clash with existing
files, and the same content may arrive twice under other names. Every file is either saved
under a safe name, reported as a duplicate of what is already there, or refused with a reason.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from pathlib import Path

from pydantic import BaseModel, Field

from kb.config import Settings
from kb.index import audit
from kb.index.report import IndexReport
from kb.ingest import SKIPPED_NAMES, discover, doc_id_for, supported
from kb.office.indexing import index_files, remove_indexed
from kb.reasons import Reason

UPLOAD_FOLDER = "uploads"
# File systems limit a name's bytes (255 on ext4), not its characters: a Chinese character is 3 bytes
# in UTF-8. 180 leaves room for the temp suffix (".name.<pid>.part") and a "-N" for name clashes.
MAX_NAME_BYTES = 180
_UNSAFE = re.compile(r"[^\w\u4e00-\u9fff（）()【】《》\-—.，, ]+")


class Refused(BaseModel):
    name: str
    reason: Reason

    @property
    def english(self) -> str:
        return self.reason.english()


class AddResult(BaseModel):
    saved: list[str] = Field(default_factory=list)  # document ids
    duplicates: list[Refused] = Field(default_factory=list)
    refused: list[Refused] = Field(default_factory=list)


def _reason(code: str, **facts) -> Reason:
    return Reason(code=code, facts={name: str(value) for name, value in facts.items()})


def safe_name(name: str) -> str:
    """A file name with no folders, control characters or shell-hostile characters, Chinese kept."""
    base = unicodedata.normalize("NFC", name.replace("\\", "/").split("/")[-1]).strip()
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = _UNSAFE.sub("_", stem).strip(" ._") or "document"
    suffix = re.sub(r"[^A-Za-z0-9]", "", suffix).lower()
    room = MAX_NAME_BYTES - len(suffix) - 1
    stem = stem.encode("utf-8")[:room].decode("utf-8", errors="ignore").rstrip(" ._") or "document"
    return f"{stem}.{suffix}" if suffix else stem


def add_files(settings: Settings, files: list[tuple[str, bytes]], actor: str | None = None) -> AddResult:
    """Save uploads into ``<corpus>/uploads/``; index them with ``index_files`` afterwards."""
    result = AddResult()
    log: list[audit.AuditEntry] = []
    limit = settings.max_file_mb * 1024 * 1024
    corpus = Path(settings.corpus_dir)
    known: dict[str, str] = {}
    if corpus.exists():
        known = {f.content_hash: f.doc_id for f in discover([corpus], corpus, max_bytes=limit).files if f.content_hash}
    target_dir = corpus / UPLOAD_FOLDER
    for original, data in files:
        name = safe_name(original)
        path = Path(name)
        if not supported(path):
            result.refused.append(Refused(name=original, reason=Reason(code="readme") if name.lower() in SKIPPED_NAMES
                                          else _reason("unsupported", suffix=path.suffix or "(none)")))
            continue
        digest = hashlib.sha256(data).hexdigest()
        if len(data) > limit:
            result.refused.append(Refused(name=original, reason=_reason(
                "too_large", size_mb=f"{len(data) / 1e6:.1f}", limit_mb=settings.max_file_mb)))
            continue
        if not data.strip():
            result.refused.append(Refused(name=original, reason=Reason(code="empty")))
            continue
        if digest in known:
            duplicate = _reason("duplicate", owner=known[digest])
            result.duplicates.append(Refused(name=original, reason=duplicate))
            log.append(audit.entry(actor or "", "upload", original, "duplicate", digest, reason=duplicate))
            continue
        try:
            target = _save(target_dir, name, data)
        except OSError as exc:  # a full disk, a read-only folder: this file fails, the batch goes on
            result.refused.append(Refused(name=original, reason=_reason("save_failed", detail=exc.strerror or exc)))
            continue
        doc_id = doc_id_for(target, corpus)
        known[digest] = doc_id
        result.saved.append(doc_id)
        log.append(audit.entry(actor or "", "upload", doc_id, "saved", digest, reason=_reason("uploaded_as", name=original)))
    if actor:
        log += [audit.entry(actor, "upload", r.name, "refused", reason=r.reason) for r in result.refused]
        audit.record(settings.index_dir, log)
    return result


def add_and_index(
    settings: Settings, files: list[tuple[str, bytes]], progress=None, embedder=None, actor: str | None = None
) -> tuple[AddResult, IndexReport | None]:
    added = add_files(settings, files, actor)
    if not added.saved:
        return added, None
    paths = [Path(settings.corpus_dir) / doc_id for doc_id in added.saved]
    return added, index_files(settings, paths, embedder=embedder, progress=progress, wait=True, actor=actor)


def remove_document(settings: Settings, doc_id: str, actor: str | None = None) -> IndexReport:
    """Delete the document's file when it lies inside the corpus folder, and drop it from the index."""
    corpus = Path(settings.corpus_dir).resolve()
    path = (corpus / doc_id).resolve()
    if path.is_relative_to(corpus) and path.is_file():
        path.unlink()
    return remove_indexed(settings, [doc_id], wait=True, actor=actor)


def _save(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = _free_path(folder / name)
    temp = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        temp.write_bytes(data)
        os.replace(temp, target)
    except OSError:
        temp.unlink(missing_ok=True)
        raise
    return target


def _free_path(path: Path) -> Path:
    if not path.exists():
        return path
    for number in range(2, 10_000):
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
        if not candidate.exists():
            return candidate
    raise OSError(f"{path.parent}: too many files named {path.name}")
