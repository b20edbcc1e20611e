"""Typed records that cross module boundaries."""

from __future__ import annotations

from pydantic import BaseModel, Field


class DocumentMetadata(BaseModel):
    """What a user filters by. Empty fields are unknown, never guessed."""

    title: str = ""
    unit: str = ""
    unit_type: str = ""
    year: int | None = None
    doc_type: str = ""
    extra: dict[str, str] = Field(default_factory=dict)


class Section(BaseModel):
    """A span of a document under one heading path; offsets index into Document.text."""

    heading_path: list[str]
    start: int
    end: int
    # A section may name its own unit (a practice of one unit inside a review article).
    unit: str = ""


class Document(BaseModel):
    doc_id: str
    source: str
    text: str
    metadata: DocumentMetadata
    sections: list[Section]
    content_hash: str
    # Offsets in ``text`` where each page begins (PDF); empty for formats without pages.
    page_starts: list[int] = Field(default_factory=list)


class Chunk(BaseModel):
    doc_id: str
    ordinal: int
    text: str
    heading_path: list[str]
    start: int
    end: int
    unit: str = ""
    page: int | None = None


class RetrieverScore(BaseModel):
    rank: int
    score: float


class Hit(BaseModel):
    chunk_id: int
    doc_id: str
    document: str
    unit: str
    unit_type: str
    year: int | None
    doc_type: str
    heading_path: list[str]
    text: str
    start: int
    end: int
    page: int | None = None
    score: float
    semantic: RetrieverScore | None = None
    keyword: RetrieverScore | None = None
    matched_terms: list[str] = Field(default_factory=list)


class SearchResponse(BaseModel):
    query: str
    mode: str
    hits: list[Hit]
    seconds: float
    generation: int


class ModelIdentity(BaseModel):
    """Enough to tell whether stored vectors came from the model in use now."""

    name: str
    revision: str
    dimension: int
    query_prompt: str
    passage_prompt: str
    max_seq_length: int
    normalized: bool
    precision: str
    source: str = ""

    def key(self) -> str:
        """The part that changes vectors; the embedding cache is keyed by it."""
        return f"{self.name}@{self.revision}/{self.precision}/{self.passage_prompt!r}/{self.max_seq_length}"


class IndexManifest(BaseModel):
    format_version: int
    kb_version: str
    model: ModelIdentity
    chunking: dict[str, int]
    vector_index: str
    generation: int
    built_at: str
