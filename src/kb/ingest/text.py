"""Plain text and Markdown, in whatever encoding an office machine saved them."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import charset_normalizer
import yaml

from kb.ingest.document import build_document
from kb.ingest.errors import IngestError
from kb.records import Document

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*\r?\n", re.DOTALL)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def decode(raw: bytes, path: Path) -> str:
    """By byte-order mark, then strict UTF-8, then what charset-normalizer finds (GB18030/GBK,
    Big5, UTF-16 without BOM …), then strict GB18030; never a lossy decode."""
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError as exc:
                raise IngestError(path, "bom_mismatch", encoding=encoding) from exc
    if b"\x00" in raw[:4096]:
        # Text with NUL bytes is UTF-16/32 without a byte-order mark, or not text at all.
        best = charset_normalizer.from_bytes(raw).best()
        if best is not None and best.encoding.startswith("utf_") and _mostly_text(str(best)) and "\x00" not in str(best):
            return str(best)
        raise IngestError(path, "binary")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(raw).best()
    if best is not None and _mostly_text(str(best)):
        return str(best)
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        raise IngestError(path, "encoding") from None


def _mostly_text(text: str) -> bool:
    printable = sum(1 for ch in text if ch.isprintable() or ch in "\n\r\t")
    return printable >= 0.95 * max(len(text), 1)


def load_text(path: Path, doc_id: str) -> Document:
    raw = path.read_bytes()
    text = decode(raw, path).replace("\r\n", "\n").replace("\r", "\n")
    front_matter: dict = {}
    match = _FRONT_MATTER.match(text)
    if match:
        try:
            front_matter = yaml.safe_load(match.group(1)) or {}
        except yaml.YAMLError as exc:
            raise IngestError(path, "front_matter", detail=exc) from exc
        if not isinstance(front_matter, dict):
            raise IngestError(path, "front_matter_shape")
        text = text[match.end() :]
    return build_document(path, doc_id, _HTML_COMMENT.sub("", text), raw, front_matter)
