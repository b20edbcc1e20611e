"""The one way a loader's text becomes a Document, whatever the format it came from."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from kb.ingest.errors import IngestError
from kb.ingest.metadata import document_metadata
from kb.ingest.practices import detect_practices
from kb.ingest.structure import sections_from_text
from kb.records import Document
from kb.text import readable_name

_TITLE = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
MAX_TITLE_CHARS = 60
SHORT_TITLE_CHARS = 30
_NUMBERED_LINE = re.compile(r"^(?:[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十]+[）)])\S{1,12}$")
_NAVIGATION = re.compile(r"^(当前位置|您的位置|首页\s*[>＞])|\s[>＞]\s")


def build_document(
    path: Path, doc_id: str, text: str, raw: bytes, front_matter: dict | None = None,
    title: str = "", page_starts: list[int] | None = None, notes: list | None = None,
) -> Document:
    text = text.strip("\n")
    # Names are read as people see them (a GBK name from a Windows share becomes its Chinese).
    path = Path(readable_name(str(path)))
    if not text.strip():
        raise IngestError(path, "no_text")
    heading = _TITLE.search(text)
    if heading:
        title = heading.group(1)
    elif not title:
        title = title_from_first_line(text)
    metadata = document_metadata(front_matter or {}, title, text, path)
    sections = sections_from_text(text)
    return Document(
        doc_id=doc_id,
        source=str(path),
        text=text,
        metadata=metadata,
        sections=sections,
        content_hash=hashlib.sha256(raw).hexdigest(),
        page_starts=page_starts or [],
        practices=detect_practices(text, sections, metadata),
        notes=notes or [],
    )


def title_from_first_line(text: str) -> str:
    """A short first line is a title in most office documents (a headline's part before "——" is
    the title, the rest its subtitle); when the first line is a sentence, its first clause cut
    short is, so that a text with words is never titled by its file name. Lines of a web page's
    navigation ("当前位置：首页 > …") are passed over."""
    lines = [line.strip().strip("*").strip() for line in text.strip().splitlines()]
    lines = [line for line in lines if line and not _NAVIGATION.search(line)]
    if not lines:
        return ""
    if _NUMBERED_LINE.match(lines[0]) and len(lines) > 1:
        # A write-up that opens with its first numbered section ("一、基本情况") has no title line.
        lines = lines[1:]
    first = lines[0]
    headline = first.split("——", 1)[0].strip()
    if headline and headline != first and len(headline) >= 4:
        first = headline
    if len(first) <= MAX_TITLE_CHARS and not first.endswith(("。", "；", "，", "：", ".", ";", ",")):
        return first
    clause = re.split(r"[。；！？;!?]", first, maxsplit=1)[0]
    return clause if len(clause) <= SHORT_TITLE_CHARS else clause[:SHORT_TITLE_CHARS] + "…"
