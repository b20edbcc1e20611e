"""The API's own request and response records; hits, practices, cards and themes are kb's records
(kb.records, kb.practices) as they are, so a program reads the same fields as `kb search --json`."""

from __future__ import annotations

from pydantic import BaseModel, Field

from kb.api.service import MAX_K, MAX_QUERY_CHARS
from kb.config import SEARCH_MODES, SearchMode
from kb.practices import ApproachCard, Practice, SimilarPractice
from kb.records import FILTER_FIELDS, KINDS


class SearchRequest(BaseModel):
    q: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, description="问题或关键词",
                   examples=["哪个县组织委员帮农民打造大米品牌？"])
    mode: SearchMode | None = Field(None, description="、".join(SEARCH_MODES) + "（默认 hybrid）")
    k: int = Field(10, ge=1, le=MAX_K, description="每个分区的条数（flat 时为总条数）")
    kind: list[str] = Field(default_factory=list, description="只要这些类别：" + "、".join(KINDS))
    filter: list[str] = Field(default_factory=list, examples=[["unit_type=区政协"]], description=(
        "field=value，可重复；" + "; ".join(f"{field}: {spec.meaning}" for field, spec in FILTER_FIELDS.items())))
    flat: bool = Field(False, description="true：一个融合排序，不分区")


class ErrorBody(BaseModel):
    detail: str
    field: str | None = None


class Health(BaseModel):
    status: str
    generation: int
    model_ready: bool
    model: str


class ChunkRow(BaseModel):
    chunk_id: int
    doc_id: str
    ordinal: int
    text: str
    heading_path: list[str]
    start: int
    end: int
    unit: str
    unit_type: str
    page: int | None = None
    kind: str
    title: str
    year: int | None = None
    doc_type: str
    source: str


class ChunkView(ChunkRow):
    neighbours: list[ChunkRow]


class DocumentRow(BaseModel):
    doc_id: str
    title: str
    unit: str
    unit_type: str
    year: int | None = None
    doc_type: str
    indexed_at: str
    chunks: int


class Stats(BaseModel):
    documents: int
    chunks: int
    last_indexed: str | None = None
    cached_embeddings: int | None = None
    database_bytes: int | None = None
    generation: int
    facets: dict[str, dict[str, int]]


class PracticeView(BaseModel):
    practice: Practice
    similar: list[SimilarPractice]
    cards: list[ApproachCard]


class IndexRun(BaseModel):
    summary: str
    generation: int
    failed: list[dict[str, str]]


class UploadResult(BaseModel):
    saved: list[str]
    refused: list[dict[str, str]]
    report: IndexRun | None = None
