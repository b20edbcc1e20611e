"""Word .docx: headings from paragraph styles (Heading N, 标题 N, Title) become Markdown headings;
numbered titles such as 一、 are found later by the structure rules, as in plain text."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from kb.ingest.archives import check_paragraph_count, check_unpacked_size
from kb.ingest.document import build_document
from kb.ingest.errors import IngestError
from kb.ingest.legacy_word import OLE_MAGIC, word97_text
from kb.records import Document

_LEVEL = re.compile(r"(?:heading|标题)\s*(\d)", re.IGNORECASE)


def load_docx(path: Path, doc_id: str) -> Document:
    import docx

    raw = path.read_bytes()
    if raw.startswith(OLE_MAGIC):
        # An old Word file saved or renamed as .docx, or a password-protected .docx (which Word
        # wraps in an OLE file): read as what it is, or refused as encrypted.
        return build_document(path, doc_id, word97_text(path, raw), raw)
    if not raw:
        raise IngestError(path, "empty")
    check_unpacked_size(path)
    check_paragraph_count(path)
    try:
        document = docx.Document(path)
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise IngestError(path, "docx_damaged", detail=exc) from None
    except Exception as exc:  # noqa: BLE001 — python-docx raises its own PackageNotFoundError and lxml errors
        raise IngestError(path, "docx_damaged", detail=f"{exc.__class__.__name__}: {exc}") from None
    lines = []
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        if not text:
            continue
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        level = 1 if style.lower() == "title" else None
        match = _LEVEL.search(style)
        if match:
            level = int(match.group(1))
        lines.append(f"{'#' * min(level, 6)} {text}" if level else text)
    for table in document.tables:
        for row in table.rows:
            cells = [cell.text.strip() for cell in row.cells if cell.text.strip()]
            if cells:
                lines.append("｜".join(dict.fromkeys(cells)))
    return build_document(path, doc_id, "\n\n".join(lines), raw)
