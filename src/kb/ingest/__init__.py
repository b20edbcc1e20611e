"""Reading files into Documents: one loader per format (by suffix), section structure (`structure`),
metadata such as unit and year (`metadata`) and chunking (`chunking`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from kb.hashing import file_sha256
from kb.ingest.beir import load_jsonl
from kb.ingest.errors import IngestError
from kb.ingest.image import SUFFIXES as IMAGE_SUFFIXES
from kb.ingest.image import load_image
from kb.ingest.legacy_word import load_doc, load_wps
from kb.ingest.ofd import load_ofd
from kb.ingest.pdf import load_pdf
from kb.ingest.text import load_text
from kb.ingest.web import load_html
from kb.ingest.word import load_docx
from kb.reasons import Reason
from kb.records import Document
from kb.text import readable_name

LOADERS = {
    ".txt": load_text,
    ".md": load_text,
    ".markdown": load_text,
    ".docx": load_docx,
    ".doc": load_doc,
    ".wps": load_wps,
    ".ofd": load_ofd,
    ".pdf": load_pdf,
    ".html": load_html,
    ".htm": load_html,
    ".jsonl": load_jsonl,
    **{suffix: load_image for suffix in IMAGE_SUFFIXES},
}
# A README describes its folder; it is not a document of the knowledge base.
SKIPPED_NAMES = {"readme.md", "readme.txt"}


def supported(path: Path) -> bool:
    return path.suffix.lower() in LOADERS and path.name.lower() not in SKIPPED_NAMES


@dataclass(frozen=True)
class SourceFile:
    path: Path
    doc_id: str
    content_hash: str


@dataclass(frozen=True)
class Unreadable:
    """A file or folder found but not taken: named in the report, and whatever is indexed under
    ``doc_id`` (a document id, or a folder's id prefix ending in /) keeps its last version."""

    doc_id: str
    path: str
    reason: Reason

    @property
    def message(self) -> str:
        return f"{self.path}: {self.reason.english()}"


def _unreadable(doc_id: str, path: str, code: str, **facts) -> Unreadable:
    return Unreadable(doc_id, path, Reason(code=code, facts={k: str(v) for k, v in facts.items()}))


@dataclass
class Discovery:
    files: list[SourceFile]
    # Id prefixes the paths cover: a document under one that is no longer found has been removed.
    scopes: list[str]
    unreadable: list[Unreadable] = field(default_factory=list)
    # Files of a type kb does not read: listed, never passed over without a word (a README and
    # hidden files are not documents and are not listed).
    skipped: list[Unreadable] = field(default_factory=list)


def doc_id_for(path: Path, corpus_root: Path) -> str:
    """Path relative to the corpus root, so ids survive moving the whole corpus; absolute otherwise.
    A name whose bytes are not UTF-8 (GBK names from Windows shares and old zip files) is read as
    GB18030, else kept with replacement marks: an id is always text that can be stored and shown."""
    return _DocIds(corpus_root)(path)


class _DocIds:
    """doc_id_for over one walk of the corpus, with the root and each folder resolved once: resolving a
    path reads every folder above it, and at 23,867 files that was 7 s of a one-file `kb index`. A file
    that is not a link resolves to its resolved folder and its own name."""

    def __init__(self, corpus_root: Path):
        self.root = Path(corpus_root).resolve()
        self.folders: dict[Path, Path] = {}

    def __call__(self, path: Path) -> str:
        if path.is_symlink() or not path.name or path.name in (".", ".."):
            resolved = path.resolve()
        else:
            folder = self.folders.get(path.parent)
            if folder is None:
                folder = self.folders[path.parent] = path.parent.resolve()
            resolved = folder / path.name
        try:
            relative = resolved.relative_to(self.root).as_posix()
        except ValueError:
            relative = resolved.as_posix()
        return readable_name(relative)


def discover(paths: list[Path], corpus_root: Path, follow_symlinks: bool = False,
             max_bytes: int | None = None) -> Discovery:
    """Every supported file under ``paths``. Hidden files and folders are skipped; a folder that
    cannot be listed and a link that leads out of the corpus folder are reported, not skipped in
    silence (``follow_symlinks`` allows such links). Each file is hashed in blocks, never read whole;
    one over ``max_bytes`` is not read at all (loading it then names it as too large)."""
    found: dict[str, SourceFile] = {}
    scopes: list[str] = []
    unreadable: list[Unreadable] = []
    skipped: list[Unreadable] = []
    ids = _DocIds(corpus_root)
    corpus = ids.root
    for root in paths:
        root = Path(root)
        if not root.exists():
            raise IngestError(readable_name(str(root)), "unreadable", detail="no such file or folder")
        if root.is_file():
            files = [root]
            scopes.append(ids(root))
        else:
            prefix = ids(root)
            scopes.append("" if prefix == "." else prefix.rstrip("/") + "/")
            files = _walk(root, ids, unreadable)
        for path in files:
            if not supported(path):
                if path.name.lower() not in SKIPPED_NAMES:
                    skipped.append(_unreadable(ids(path), readable_name(str(path)), "unsupported",
                                               suffix=path.suffix.lower() or "(none)"))
                continue
            doc_id = ids(path)
            shown = readable_name(str(path))
            if path.is_symlink() and not follow_symlinks and not path.resolve().is_relative_to(corpus):
                unreadable.append(_unreadable(readable_name(_unresolved_id(path, corpus_root)), shown, "link_outside",
                                              target=readable_name(str(path.resolve()))))
                continue
            if doc_id in found and found[doc_id].path != path:
                unreadable.append(_unreadable(doc_id, shown, "name_clash", other=readable_name(str(found[doc_id].path))))
                continue
            try:
                too_large = max_bytes is not None and path.stat().st_size > max_bytes
                digest = "" if too_large else file_sha256(path)
            except OSError:
                digest = ""  # loading it again reports why it cannot be read
            found[doc_id] = SourceFile(path, doc_id, digest)
    return Discovery([found[k] for k in sorted(found)], scopes, unreadable, skipped)


def _walk(root: Path, ids: _DocIds, unreadable: list[Unreadable]) -> list[Path]:
    def refused(error: OSError) -> None:
        folder = Path(error.filename)
        shown = readable_name(str(folder))
        unreadable.append(_unreadable(ids(folder).rstrip("/") + "/", shown, "folder_unreadable",
                                      detail=error.strerror))

    files = []
    for folder, subfolders, names in os.walk(root, onerror=refused):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        files += [Path(folder) / name for name in sorted(names) if not name.startswith(".")]
    return [path for path in files if path.is_file()]


def _unresolved_id(path: Path, corpus_root: Path) -> str:
    """The id a link has by its own place in the corpus (its target is elsewhere)."""
    try:
        return path.absolute().relative_to(Path(corpus_root).absolute()).as_posix()
    except ValueError:
        return path.absolute().as_posix()


def load(path: Path, doc_id: str, max_bytes: int | None = None) -> Document:
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise IngestError(path, "unsupported", suffix=path.suffix or "(none)")
    if max_bytes is not None:
        size = path.stat().st_size
        if size > max_bytes:
            raise IngestError(path, "too_large", size_mb=f"{size / 1e6:.1f}", limit_mb=f"{max_bytes / 1024 / 1024:.0f}")
    return loader(path, doc_id)
