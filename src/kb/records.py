"""Typed records that cross module boundaries."""

from __future__ import annotations

from pydantic import BaseModel, Field

from kb.reasons import Reason

# What a passage is to someone looking for precedents: a practice of a unit (a practice section of a
# review article), a law, regulation or policy document (supporting material), or anything else.
PRACTICE, POLICY, OTHER = "实践案例", "政策法规", "其他"
KINDS = (PRACTICE, POLICY, OTHER)
# The heading of each kind's section of results, on the page and in `kb search`.
SECTION_TITLES = {PRACTICE: "实践案例", POLICY: "相关政策法规", OTHER: "其他资料"}
# The document type of a CPPCC body's own rules (规定/办法/细则 a 政协 adopted): shown with that body's
# practices, never as national law.
CPPCC_RULES = "政协制度"
# Document types whose passages are supporting material.
POLICY_DOC_TYPES = ("法律法规", "政策文件")

class FilterField(BaseModel):
    """A field a search can be filtered by, and where it is stored: the chunk's own column, or its
    document's (``of_document``); a theme has no column (it is resolved to its practices' chunks)."""

    meaning: str
    column: str = ""
    of_document: bool = False
    integer: bool = False
    # Counted per value for the page's filters and `kb stats`.
    facet: bool = True

    def stored(self, value: str) -> str | int:
        """A filter value as the column holds it."""
        return int(value) if self.integer else value


# What a search can be filtered by (`--filter FIELD=VALUE`, the page's filters, the API): the one
# registry that the CLI's help, its errors, the store's SQL and the Milvus expression are made from.
FILTER_FIELDS = {
    "kind": FilterField(meaning="实践案例, 政策法规 or 其他", column="kind"),
    "unit": FilterField(meaning="a unit; a unique part of its name will do (民盟, 五常)", column="unit"),
    "unit_type": FilterField(
        meaning="省政协, 市政协, 县市政协, 区政协, 市政协专门委员会 (and 省/县/区…), 政协界别, 民主党派, 工商联 or 其他",
        column="unit_type"),
    "year": FilterField(meaning="a year, 1900-2100", column="year", of_document=True, integer=True),
    "doc_type": FilterField(meaning="综述, 政协制度, 政策文件, 法律法规, 提案 or 其他", column="doc_type",
                            of_document=True),
    "doc": FilterField(meaning="a document id (its path under the corpus folder)", column="doc_id",
                       of_document=True, facet=False),
    "theme": FilterField(meaning="a practice theme (`kb practices themes`)", facet=False),
}


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


class PracticeSpan(BaseModel):
    """One unit's practice inside a document, as the practice detector (kb.ingest.practices) found
    it: the one record of what a practice is, stored once per index and read by chunks' kinds, the
    catalogue, the filters and the 学习 tab."""

    unit: str
    unit_type: str
    title: str
    # The heading it was found under, or the document's title for a whole-document practice.
    heading: str
    start: int
    end: int
    year: int | None = None
    # How it was recognised: unit_heading, unit_colon, numbered_section, whole_document, cppcc_rule.
    layout: str


class Document(BaseModel):
    doc_id: str
    source: str
    text: str
    metadata: DocumentMetadata
    sections: list[Section]
    content_hash: str
    # Offsets in ``text`` where each page begins (PDF); empty for formats without pages.
    page_starts: list[int] = Field(default_factory=list)
    practices: list[PracticeSpan] = Field(default_factory=list)
    # What the report should say about a file that was read, such as OCR pages left out.
    notes: list[Reason] = Field(default_factory=list)


class Chunk(BaseModel):
    doc_id: str
    ordinal: int
    text: str
    heading_path: list[str]
    start: int
    end: int
    # The practice's unit when the chunk lies in one, else the document's.
    unit: str = ""
    unit_type: str = ""
    kind: str = OTHER
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
    # Query terms found in the passage that distinguish it (words in most passages are left out).
    matched_terms: list[str] = Field(default_factory=list)
    kind: str = OTHER
    # Cosine similarity of query and passage (None in keyword mode, where the model is not loaded) and
    # the IDF-weighted share of the query's words the passage contains: what the relevance floor reads.
    similarity: float | None = None
    coverage: float = 0.0
    # How far the similarity stands above the question's typical match (the mean of the first semantic
    # candidates'): the same for every hit of a question that everything matches a little.
    margin: float | None = None
    # Under the relevance floor: shown apart, never as if it were an answer.
    weak: bool = False

    @property
    def known_as(self) -> str:
        """What staff call the hit's source: a practice by its unit, a law or other document by its title."""
        return self.unit if self.kind == PRACTICE and self.unit else self.document


class HitGroup(BaseModel):
    kind: str
    hits: list[Hit]
    # The weak hits of a kind: shown after every strong hit of any kind (kb.search.kinds).
    weak: bool = False

    @property
    def title(self) -> str:
        return SECTION_TITLES[self.kind] + ("（较弱的匹配）" if self.weak else "")


class SearchResponse(BaseModel):
    query: str
    mode: str
    hits: list[Hit]
    seconds: float
    generation: int
    # What the user should know about the query: unknown filter values, with close matches.
    notices: list[str] = Field(default_factory=list)
    # Grouped searches: the hits by kind in the order shown (practices first, or laws first when the
    # query names a law or an article); ``hits`` then lists the same hits in that order.
    groups: list[HitGroup] = Field(default_factory=list)
    law_first: bool = False
    # The kind of fact the question asks for (时间, 电话号码, “几名”的数目 …: kb.search.answers), if any:
    # a passage of what CPPCC bodies wrote that states none is weak.
    asks: str | None = None


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
