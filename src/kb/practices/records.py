"""The learning layer's records: a practice with its figures and keywords, themes, approach cards,
and the catalogue that holds them with one vector per practice of what it does."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import BaseModel, Field, PlainSerializer, PlainValidator, WithJsonSchema

from kb.reasons import KbError

# Rows of float32, one per practice: an array in Python, a list of lists in JSON.
PracticeVectors = Annotated[
    np.ndarray,
    PlainValidator(lambda value: np.asarray(value, dtype=np.float32)),
    PlainSerializer(lambda array: array.tolist(), when_used="json"),
    WithJsonSchema({"type": "array", "items": {"type": "array", "items": {"type": "number"}}}),
]


class Figure(BaseModel):
    value: str
    measure: str
    text: str  # the clause it is stated in, e.g. "在全区19个街镇挂牌成立委员工作站"


class Practice(BaseModel):
    practice_id: str
    doc_id: str
    document_title: str
    unit: str
    unit_type: str
    year: int | None
    title: str
    heading: str
    # How the detector recognised it (kb.records.PracticeSpan.layout).
    layout: str = "unit_heading"
    lead: str
    text: str
    start: int
    end: int
    # (chunk id, start, end) in document offsets, so a card can point at the chunks holding it.
    chunks: list[tuple[int, int, int]]
    figures: list[Figure] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    theme: str = ""
    # Its most weighted words and phrases (title and lead first): what it shares with a similar practice.
    terms: list[str] = Field(default_factory=list)


class Theme(BaseModel):
    # Stable across re-indexing while most of its practices stay (kb.practices.lineage).
    theme_id: str = ""
    name: str
    # Names it had before, and names of themes merged into it: a filter by one of them finds it.
    former_names: list[str] = Field(default_factory=list)
    keywords: list[str]
    practice_ids: list[str]


class ApproachPart(BaseModel):
    number: int
    category: str = ""
    items: list[str] = Field(default_factory=list)
    described: bool = True


class ApproachCard(BaseModel):
    name: str
    unit: str
    practice_id: str
    doc_id: str
    parts: list[ApproachPart]
    passages: list[str]
    chunk_ids: list[int]


class SimilarPractice(BaseModel):
    practice_id: str
    unit: str
    title: str
    similarity: float
    # Why they are alike, in the practices' own words: the phrases and words both use most.
    shared_keywords: list[str]


class Catalogue(BaseModel):
    generation: int
    practices: list[Practice]
    themes: list[Theme]
    cards: list[ApproachCard]
    # One unit vector per practice, in catalogue order, of what it does (kb.practices.themes.what_they_do):
    # themes, similar practices and the map compare these. An array (the page asks for similar
    # practices of every practice it shows), a list in JSON.
    vectors: PracticeVectors = Field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))

    def practice(self, practice_id: str) -> Practice:
        for practice in self.practices:
            if practice.practice_id == practice_id:
                return practice
        raise KeyError(f"no practice {practice_id!r}; `kb practices` lists them")

    def similar(self, practice_id: str, count: int = 5) -> list[SimilarPractice]:
        """The closest practices of other units: a unit's own practices are no news to it."""
        target = self.practice(practice_id)
        if not len(self.vectors):
            return []
        scores = self.vectors @ self.vectors[self.practices.index(target)]
        found = []
        for index in np.argsort(-scores, kind="stable"):
            other = self.practices[int(index)]
            if other.unit == target.unit:
                continue
            theirs = set(other.terms)
            shared = [term for term in target.terms if term in theirs]
            # A phrase says more than the words inside it: "委员工作站建设" rather than also "工作站".
            shared = [term for term in shared if not any(term != longer and term in longer for longer in shared)][:4]
            found.append(SimilarPractice(practice_id=other.practice_id, unit=other.unit, title=other.title,
                                         similarity=float(scores[index]), shared_keywords=shared))
            if len(found) == count:
                break
        return found

    def card_for_chunk(self, chunk_id: int) -> ApproachCard | None:
        for card in self.cards:
            if chunk_id in card.chunk_ids:
                return card
        return None

    def find_theme(self, name: str) -> Theme | None:
        """The theme of this name, or the one that carries it as a former name (it was renamed, or its
        practices were merged into it): a saved filter keeps working."""
        return (next((t for t in self.themes if t.name == name), None)
                or next((t for t in self.themes if name in t.former_names), None))

    def theme_named(self, name: str) -> Theme:
        """find_theme, or a KbError that lists the themes there are."""
        theme = self.find_theme(name)
        if theme is None:
            known = "、".join(t.name for t in self.themes) or "none yet"
            raise KbError(f"unknown theme {name!r}; the themes are: {known}")
        return theme

    def theme_chunk_ids(self, theme: str) -> list[int]:
        found = self.find_theme(theme)
        members = set(found.practice_ids) if found else set()
        return [chunk[0] for p in self.practices if p.practice_id in members for chunk in p.chunks]
