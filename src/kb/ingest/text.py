"""Plain text and Markdown, in whatever encoding an office machine saved them."""

from __future__ import annotations

import codecs
import hashlib
import re
from pathlib import Path

import yaml

from kb.ingest.errors import IngestError
from kb.metadata import document_metadata
from kb.records import Document
from kb.structure import sections_from_text

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*\r?\n", re.S)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_TITLE = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.M)


def decode(raw: bytes, path: Path) -> str:
    """Decode by BOM, then strict UTF-8, then GB18030 (a superset of GBK and GB2312)."""
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError as exc:
                raise IngestError(f"{path}: starts with a {encoding} byte-order mark but is not {encoding}") from exc
    if b"\x00" in raw[:4096]:
        raise IngestError(f"{path}: binary content (NUL bytes), not a text file")
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise IngestError(f"{path}: text is neither UTF-8 nor GB18030/GBK")


def load_text(path: Path, doc_id: str) -> Document:
    raw = path.read_bytes()
    text = decode(raw, path).replace("\r\n", "\n").replace("\r", "\n")
    front_matter: dict = {}
    match = _FRONT_MATTER.match(text)
    if match:
        try:
            front_matter = yaml.safe_load(match.group(1)) or {}
        except yaml.YAMLError as exc:
            raise IngestError(f"{path}: front matter is not valid YAML: {exc}") from exc
        if not isinstance(front_matter, dict):
            raise IngestError(f"{path}: front matter must be key: value lines")
        text = text[match.end() :]
    text = _HTML_COMMENT.sub("", text).strip("\n")
    if not text.strip():
        raise IngestError(f"{path}: no text")
    title = _TITLE.search(text)
    return Document(
        doc_id=doc_id,
        source=str(path),
        text=text,
        metadata=document_metadata(front_matter, title.group(1) if title else "", text, path),
        sections=sections_from_text(text),
        content_hash=hashlib.sha256(raw).hexdigest(),
    )
