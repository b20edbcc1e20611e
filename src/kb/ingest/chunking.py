"""Split documents into chunks of whole Chinese sentences, within one section each.

A chunk never crosses a heading, so every chunk belongs to exactly one practice or article
and carries its heading path. Sentences end at 。！？；… and line ends; a sentence longer
than the chunk size is cut at commas, and only as a last resort at the size itself.
"""

from __future__ import annotations

import re
from bisect import bisect_right

from kb.ingest.practices import kind_at
from kb.records import Chunk, Document
from kb.text import trimmed

_SENTENCE = re.compile(r"[^。！？；!?;…\n]*(?:[。！？；!?;…]+[”’」』）)\"']*|\n|$)")
_CLAUSE = re.compile(r"[^，,、：:]*(?:[，,、：:]+|$)")


def chunk_document(doc: Document, size: int, overlap: int) -> list[Chunk]:
    """Each chunk carries the kind and unit of the practice it lies in (the detector's spans follow
    section bounds, so a chunk never straddles two practices)."""
    chunks: list[Chunk] = []
    for section in doc.sections:
        spans = _pieces(doc.text, section.start, section.end, size)
        for start, end in _pack(spans, size, overlap):
            kind, practice = kind_at(doc.practices, doc.metadata.doc_type, start)
            chunks.append(
                Chunk(
                    doc_id=doc.doc_id,
                    ordinal=len(chunks),
                    text=doc.text[start:end],
                    heading_path=section.heading_path,
                    start=start,
                    end=end,
                    unit=practice.unit if practice else doc.metadata.unit,
                    unit_type=practice.unit_type if practice else doc.metadata.unit_type,
                    kind=kind,
                    page=bisect_right(doc.page_starts, start) if doc.page_starts else None,
                )
            )
    return chunks


def context_line(title: str, heading_path: list[str]) -> str:
    """The document title and heading path, without repeats, to index beside the chunk text.

    A chunk of a practice often never names its unit or topic; the heading does.
    """
    parts: list[str] = []
    for part in [title, *heading_path]:
        part = part.strip()
        if part and not any(part in kept for kept in parts):
            parts.append(part)
    return " ".join(parts)


def _pieces(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    """Sentence spans (trimmed of whitespace), each at most ``size`` characters."""
    pieces: list[tuple[int, int]] = []
    for match in _SENTENCE.finditer(text, start, end):
        s, e = trimmed(text, match.start(), match.end())
        if s >= e:
            continue
        if e - s <= size:
            pieces.append((s, e))
            continue
        pieces.extend(_split_long(text, s, e, size))
    return pieces


def _split_long(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    clauses = [(m.start(), m.end()) for m in _CLAUSE.finditer(text, start, end) if m.end() > m.start()]
    parts: list[tuple[int, int]] = []
    for s, e in _pack(clauses, size, 0):
        while e - s > size:
            parts.append((s, s + size))
            s += size
        parts.append((s, e))
    return parts


def _pack(spans: list[tuple[int, int]], size: int, overlap: int) -> list[tuple[int, int]]:
    """Greedily pack consecutive spans up to ``size``; the next chunk repeats trailing
    spans of the previous one that fit in ``overlap``."""
    chunks: list[tuple[int, int]] = []
    current: list[tuple[int, int]] = []
    for span in spans:
        if current and span[1] - current[0][0] > size:
            chunks.append((current[0][0], current[-1][1]))
            carried: list[tuple[int, int]] = []
            for prev in reversed(current[1:]):
                if current[-1][1] - prev[0] > overlap or span[1] - prev[0] > size:
                    break
                carried.insert(0, prev)
            current = carried
        current.append(span)
    if current:
        chunks.append((current[0][0], current[-1][1]))
    return chunks

