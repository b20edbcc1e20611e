"""The one way a loader's text becomes a Document, whatever the format it came from."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from kb.ingest.errors import IngestError
from kb.ingest.metadata import document_metadata
from kb.ingest.structure import sections_from_text
from kb.records import Document
from kb.text import readable_name

_TITLE = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
MAX_TITLE_CHARS = 60


def build_document(
    path: Path, doc_id: str, text: str, raw: bytes, front_matter: dict | None = None,
    title: str = "", page_starts: list[int] | None = None,
) -> Document:
    text = text.strip("\n")
    # Names are read as people see them (a GBK name from a Windows share becomes its Chinese).
    path = Path(readable_name(str(path)))
    if not text.strip():
        raise IngestError(f"{path}: no text")
    heading = _TITLE.search(text)
    if not heading and not title:
        # A short first line is a title in most office documents; a sentence is not.
        first = text.strip().split("\n", 1)[0].strip()
        if len(first) <= MAX_TITLE_CHARS and not first.endswith(("。", "；", "，", "：", ".", ";", ",")):
            title = first
    return Document(
        doc_id=doc_id,
        source=str(path),
        text=text,
        metadata=document_metadata(front_matter or {}, heading.group(1) if heading else title, text, path),
        sections=sections_from_text(text),
        content_hash=hashlib.sha256(raw).hexdigest(),
        page_starts=page_starts or [],
    )
