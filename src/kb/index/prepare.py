"""A document made ready to store: its chunks, each with the one text that is embedded and
tokenized for it (the context line, then the chunk's text), that text's hash (the embedding
cache's key) and its keyword tokens. Built once per chunk; the store, the embedder and the
keyword index all read it from here."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from kb.config import Settings
from kb.ingest.chunking import chunk_document, context_line
from kb.records import Chunk, Document
from kb.tokenize import tokenize


@dataclass(frozen=True)
class PreparedChunk:
    chunk: Chunk
    context: str
    embed_text: str
    embed_hash: str
    tokens: list[str]


@dataclass(frozen=True)
class PreparedDocument:
    document: Document
    chunks: list[PreparedChunk]


def prepare(doc: Document, settings: Settings) -> PreparedDocument:
    chunks = []
    for chunk in chunk_document(doc, settings.chunk_size, settings.chunk_overlap):
        context = context_line(doc.metadata.title, chunk.heading_path)
        text = embed_text_from_context(context, chunk.text)
        chunks.append(PreparedChunk(chunk=chunk, context=context, embed_text=text,
                                    embed_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
                                    tokens=tokenize(text)))
    return PreparedDocument(document=doc, chunks=chunks)


def embed_text_from_context(context: str, text: str) -> str:
    """The same from a stored chunk's context line (the repair of the keyword index reads it so)."""
    return f"{context}\n{text}" if context else text
