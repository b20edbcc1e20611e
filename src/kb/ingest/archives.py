"""Zip-based formats (.docx, .ofd) are bounded before anything is inflated: the declared sizes of their
parts, past which Python's zipfile never inflates a part, are summed first, and a file whose parts come
to more than the limit (kb.ingest.limits) is refused by name. A 1 MB .docx whose image inflates to 1 GB
would otherwise be read whole into memory. A .docx's paragraphs are counted in its XML, streamed, before
python-docx parses it: a 300 KB file can hold a million empty paragraphs."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from kb.ingest import limits
from kb.ingest.errors import IngestError

# A paragraph element under any namespace prefix, empty or not: <w:p>, <w:p w:rsidR=…>, <w:p/>, <x:p>.
_PARAGRAPH = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?p[\s/>]")


def check_unpacked_size(path: Path) -> None:
    """IngestError ``archive_too_large`` when the parts unpack to more than kb reads from one file; a file
    that is not a zip at all is left for its loader to name."""
    try:
        with zipfile.ZipFile(path) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return
    bound = limits.current().unpacked_bytes
    if total > bound:
        raise IngestError(path, "archive_too_large", size_mb=f"{total / 1e6:.0f}", limit_mb=f"{bound / 1024 / 1024:.0f}")


def check_paragraph_count(path: Path, part: str = "word/document.xml") -> None:
    """IngestError ``too_many_paragraphs`` past the limit, counted as the part streams by (a tag cut
    between two reads is seen whole, as each read keeps the previous one's last bytes)."""
    bound = limits.current().paragraphs
    count, tail = 0, b""
    try:
        with zipfile.ZipFile(path) as archive, archive.open(part) as stream:
            while block := stream.read(1 << 20):
                window = tail + block
                count += len(_PARAGRAPH.findall(window)) - len(_PARAGRAPH.findall(tail))
                tail = window[-64:]
                if count > bound:
                    break
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        return  # not a readable .docx: its loader names it
    if count > bound:
        raise IngestError(path, "too_many_paragraphs", limit=str(bound))
