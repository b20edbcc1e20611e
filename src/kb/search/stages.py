"""The read side as stages over one typed candidate: retrieve (per retriever; in the Searcher, which
holds the backend and the model) → fuse → select (kinds, k) → hydrate (texts and the evidence a
judgement needs) → judge (the relevance floor). Each stage is a function of what the one before it
gave, so a new stage (a rescoring between fuse and select, another judgement) is a function put in
between, tested on its own."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from kb.config import Settings
from kb.records import POLICY, Hit, RetrieverScore
from kb.search.answers import AnswerKind, holds
from kb.search.backend import SearchBackend
from kb.search.floor import (
    centred_similarities,
    coverage,
    distinctive,
    idf,
    is_weak,
    stands_out,
)
from kb.search.fusion import convex, rrf
from kb.search.kinds import pick_per_kind

Ranking = list[tuple[int, float]]
# How many of the first semantic candidates make a question's typical match (Hit.margin).
TYPICAL_OF = 30


@dataclass(frozen=True)
class Retrieved:
    """What each retriever returned for a question, best first, and what it was given."""

    tokens: list[str]
    semantic: Ranking
    keyword: Ranking
    query_vector: np.ndarray | None = None
    # The question's nearest chunks in the whole index, whatever the filters: its typical match
    # (Hit.margin) is what it meets anyway, not what a filter left.
    usual: list[int] | None = None


@dataclass(frozen=True)
class Candidate:
    """A chunk on its way to becoming a hit: its fused score and its rank in each retriever."""

    chunk_id: int
    score: float
    semantic: RetrieverScore | None = None
    keyword: RetrieverScore | None = None


def fuse(mode: str, retrieved: Retrieved, settings: Settings, semantic_weight: float | None = None,
         keyword_weight: float | None = None) -> list[Candidate]:
    """One ranking from the retrievers the mode uses (convex or RRF, as `fusion` says)."""
    if mode == "semantic":
        fused = retrieved.semantic
    elif mode == "keyword":
        fused = retrieved.keyword
    else:
        weights = {
            "semantic": settings.semantic_weight if semantic_weight is None else semantic_weight,
            "keyword": settings.keyword_weight if keyword_weight is None else keyword_weight,
        }
        if settings.fusion == "convex":
            fused = convex({"semantic": retrieved.semantic, "keyword": retrieved.keyword}, weights)
        else:
            fused = rrf({"semantic": [i for i, _ in retrieved.semantic], "keyword": [i for i, _ in retrieved.keyword]},
                        weights, settings.rrf_k)
    semantic_at = _ranks(retrieved.semantic)
    keyword_at = _ranks(retrieved.keyword)
    return [Candidate(chunk_id, float(score), semantic_at.get(chunk_id), keyword_at.get(chunk_id))
            for chunk_id, score in fused]


def _ranks(ranking: Ranking) -> dict[int, RetrieverScore]:
    return {chunk_id: RetrieverScore(rank=rank, score=score) for rank, (chunk_id, score) in enumerate(ranking, start=1)}


def select(candidates: list[Candidate], k: int, kinds: Mapping[int, str] | None = None) -> list[Candidate]:
    """The best ``k``; with ``kinds`` (chunk id → kind), the best ``k`` of each kind, in fused order."""
    if kinds is None:
        return candidates[:k]
    kept = {chunk_id for chunk_id, _ in pick_per_kind([(c.chunk_id, c.score) for c in candidates], kinds, k)}
    return [candidate for candidate in candidates if candidate.chunk_id in kept]


def hydrate(candidates: list[Candidate], backend: SearchBackend, retrieved: Retrieved, passages: int,
            mean: np.ndarray | None) -> list[Hit]:
    """Hits with their texts and places, and the evidence the judgement reads: the centred similarity
    to the question, the IDF-weighted coverage of its words, the distinctive words matched. A chunk
    deleted between the ranking and this read is left out (the next refresh drops it). ``mean``: the
    index's mean vector, needed only when the question was embedded."""
    ids = [candidate.chunk_id for candidate in candidates]
    tokens = retrieved.tokens
    rows = backend.rows(ids)
    chunk_tokens = backend.tokens(ids) if tokens else {}
    frequencies = backend.document_frequencies(tokens) if tokens else {}
    weights = {term: idf(count, passages) for term, count in frequencies.items()}
    telling = set(distinctive(frequencies, frequencies, passages))
    similarities, typical = {}, None
    if retrieved.query_vector is not None:
        usual = retrieved.usual if retrieved.usual is not None else [i for i, _ in retrieved.semantic[:TYPICAL_OF]]
        similarities = centred_similarities(retrieved.query_vector, backend.vectors_of(list({*ids, *usual})), mean)
        typical = float(np.mean([similarities[i] for i in usual if i in similarities])) if usual else None
    hits = []
    for candidate in candidates:
        row = rows.get(candidate.chunk_id)
        if row is None:
            continue
        present = chunk_tokens.get(candidate.chunk_id, set())
        lowered = row["text"].lower()
        matched = [t for t in dict.fromkeys(tokens) if t in present and t in lowered]
        hits.append(Hit(
            chunk_id=candidate.chunk_id, doc_id=row["doc_id"], document=row["title"], unit=row["unit"],
            unit_type=row["unit_type"], year=row["year"], doc_type=row["doc_type"], heading_path=row["heading_path"],
            text=row["text"], start=row["start"], end=row["end"], page=row["page"], score=candidate.score,
            semantic=candidate.semantic, keyword=candidate.keyword, kind=row["kind"],
            matched_terms=[t for t in matched if t in telling],
            similarity=similarities.get(candidate.chunk_id), coverage=coverage(tokens, present, weights),
            margin=similarities[candidate.chunk_id] - typical
            if typical is not None and candidate.chunk_id in similarities else None,
        ))
    return hits


def judge(hits: list[Hit], settings: Settings, asks: AnswerKind | None = None) -> list[Hit]:
    """Marks the hits under the relevance floor weak (README, "What kb guarantees"): a hit is strong
    when it is close enough to the question in meaning or covers enough of its words. Inside the domain
    that is not enough, for two populations each near every CPPCC question: what CPPCC bodies wrote
    (practices, reviews: a hit with a unit that is not a law) and the corpus's laws and policies (a law
    with its issuing body). Each counts as an answer only if one of its hits stands out from what the
    question matches anyway (kb.search.floor.stands_out); if none does, they are all weak. A question
    that asks for a kind of fact (``asks``: a time, a number, an address) is answered by what CPPCC
    bodies wrote only where the passage holds one (kb.search.answers). Both are the in-domain judgement:
    with floor_practice_margin = None neither applies. Passages of no unit (STARD's articles) keep the
    floor alone, which was chosen on them."""
    for hit in hits:
        floor = settings.floor_coverage if hit.similarity is not None else settings.floor_keyword_coverage
        hit.weak = is_weak(hit.similarity, hit.coverage, settings.floor_similarity, floor)
    if settings.floor_practice_margin is None:
        return hits
    written = [hit for hit in hits if hit.kind != POLICY and hit.unit]
    laws = [hit for hit in hits if hit.kind == POLICY and hit.unit]
    for population in (written, laws):
        if not any(stands_out(hit.margin, hit.coverage, settings.floor_practice_margin,
                              settings.floor_practice_coverage) for hit in population):
            for hit in population:
                hit.weak = True
    if asks is not None:
        for hit in written:
            if not holds(asks, hit.text):
                hit.weak = True
    return hits
