"""Word .docx: headings from paragraph styles (Heading N, 标题 N, Title) become Markdown headings;
numbered titles such as 一、 are found later by the structure rules, as in plain text."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from kb.ingest.document import build_document
from kb.ingest.errors import IngestError
from kb.records import Document

OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
_LEVEL = re.compile(r"(?:heading|标题)\s*(\d)", re.IGNORECASE)


def load_docx(path: Path, doc_id: str) -> Document:
    import docx

    raw = path.read_bytes()
    if raw.startswith(OLE_MAGIC):
        raise IngestError(f"{path}: password-protected or old-format Word file (.doc); save it as .docx without a password")
    if not raw:
        raise IngestError(f"{path}: empty file")
    try:
        document = docx.Document(path)
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise IngestError(f"{path}: not a readable .docx (truncated or not a Word file): {exc}") from None
    except Exception as exc:  # noqa: BLE001 — python-docx raises its own PackageNotFoundError and lxml errors
        raise IngestError(f"{path}: not a readable .docx: {exc.__class__.__name__}: {exc}") from None
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
