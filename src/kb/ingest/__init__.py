"""Reading files into Documents: one loader per format (by suffix), section structure (`structure`),
metadata such as unit and year (`metadata`) and chunking (`chunking`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from kb.ingest.beir import load_jsonl
from kb.ingest.errors import IngestError
from kb.ingest.pdf import load_pdf
from kb.ingest.text import load_text
from kb.ingest.web import load_html
from kb.ingest.word import load_docx
from kb.records import Document

LOADERS = {
    ".txt": load_text,
    ".md": load_text,
    ".markdown": load_text,
    ".docx": load_docx,
    ".pdf": load_pdf,
    ".html": load_html,
    ".htm": load_html,
    ".jsonl": load_jsonl,
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


def doc_id_for(path: Path, corpus_root: Path) -> str:
    """Path relative to the corpus root, so ids survive moving the whole corpus; absolute otherwise."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path(corpus_root).resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def discover(paths: list[Path], corpus_root: Path) -> tuple[list[SourceFile], list[str]]:
    """Every supported file under ``paths``, and the id prefixes those paths cover (a document
    under a covered prefix that is no longer found has been removed)."""
    found: dict[str, SourceFile] = {}
    scopes: list[str] = []
    for root in paths:
        root = Path(root)
        if not root.exists():
            raise IngestError(f"{root}: no such file or folder")
        if root.is_file():
            files = [root]
            scopes.append(doc_id_for(root, corpus_root))
        else:
            prefix = doc_id_for(root, corpus_root)
            scopes.append("" if prefix == "." else prefix.rstrip("/") + "/")
            files = [
                path
                for path in sorted(root.rglob("*"))
                if path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts)
            ]
        for path in files:
            if not supported(path):
                continue
            doc_id = doc_id_for(path, corpus_root)
            try:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError:
                digest = ""  # loading it again reports why it cannot be read
            found[doc_id] = SourceFile(path, doc_id, digest)
    return [found[k] for k in sorted(found)], scopes


def load(path: Path, doc_id: str, max_bytes: int | None = None) -> Document:
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise IngestError(f"{path}: unsupported file type {path.suffix or '(none)'}")
    if max_bytes is not None:
        size = path.stat().st_size
        if size > max_bytes:
            raise IngestError(f"{path}: {size / 1e6:.1f} MB is over the {max_bytes / 1024 / 1024:.0f} MB limit (max_file_mb)")
    return loader(path, doc_id)
