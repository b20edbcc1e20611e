"""A .jsonl file in BEIR corpus form ({"_id", "title", "text"} per line): one document whose
sections are its rows, each headed by its title (or id), so every hit names its row."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from kb.ingest.errors import IngestError
from kb.ingest.text import decode
from kb.records import Document, DocumentMetadata, Section


def json_rows(lines: Iterable[str], path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line; a line that is not a JSON object is an
    error naming the file and line."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise IngestError(path, "jsonl_row", line=number, detail=f"not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise IngestError(path, "jsonl_row", line=number, detail="expected a JSON object")
        yield number, row


def load_jsonl(path: Path, doc_id: str) -> Document:
    raw = path.read_bytes()
    parts: list[str] = []
    sections: list[Section] = []
    offset = 0
    for number, row in json_rows(decode(raw, path).splitlines(), path):
        if not str(row.get("text") or "").strip():
            raise IngestError(path, "jsonl_row", line=number, detail="a row needs a non-empty 'text' (BEIR corpus form)")
        heading = str(row.get("title") or row.get("_id") or f"#{number}").strip()
        body = str(row["text"]).strip()
        block = f"{heading}\n{body}"
        sections.append(Section(heading_path=[heading], start=offset + len(heading) + 1, end=offset + len(block)))
        parts.append(block)
        offset += len(block) + 2
    if not parts:
        raise IngestError(path, "jsonl_empty")
    return Document(
        doc_id=doc_id,
        source=str(path),
        text="\n\n".join(parts),
        metadata=DocumentMetadata(title=path.stem),
        sections=sections,
        content_hash=hashlib.sha256(raw).hexdigest(),
    )
