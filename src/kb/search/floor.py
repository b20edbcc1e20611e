"""Where the real answers end: a hit is weak unless the passage means nearly what the question
means (centred cosine similarity) or contains most of the question's distinctive words (IDF-weighted
coverage). Both thresholds were chosen on STARD dev from relevant against non-relevant hits
(`bench/floor.py`); they decide what is shown apart, never the ranking or its scores."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

# A word in more than this share of the passages says nothing about why one of them was found.
COMMON_SHARE = 0.05


def idf(document_frequency: int, passages: int) -> float:
    """BM25's inverse document frequency: a word the index has never seen weighs most."""
    return math.log((passages - document_frequency + 0.5) / (document_frequency + 0.5) + 1.0)


def coverage(query_terms: Iterable[str], found: set[str], weights: Mapping[str, float]) -> float:
    """The IDF-weighted share of the query's words that the passage contains."""
    terms = list(dict.fromkeys(query_terms))
    total = sum(weights[t] for t in terms)
    return sum(weights[t] for t in terms if t in found) / total if total else 0.0


def distinctive(terms: Iterable[str], frequencies: Mapping[str, int], passages: int) -> list[str]:
    """The matched words worth showing as evidence: not those in most passages (组织, 委员 …)."""
    return [t for t in terms if frequencies.get(t, 0) <= COMMON_SHARE * passages]


def centred_similarities(query: np.ndarray, vectors: Mapping[int, np.ndarray], mean: np.ndarray) -> dict[int, float]:
    """Cosine similarity after removing the corpus's mean direction. e5 places every Chinese text
    at 0.8-0.9 of every other (a cookery question scores 0.85 against a law article, the right
    practice 0.87); without the direction they all share, unrelated texts fall near 0.2."""
    centred_query = _unit(np.asarray(query, dtype=np.float32) - mean)
    return {i: float(np.dot(centred_query, _unit(np.asarray(v, dtype=np.float32) - mean))) for i, v in vectors.items()}


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-9)


def stands_out(margin: float | None, covered: float, min_margin: float, min_coverage: float) -> bool:
    """Inside the domain a question that kb cannot answer ("政协大楼食堂几点开饭") is as near every
    practice as one it can (政协 and 委员 carry it there): what tells them apart is whether one hit
    stands out from the rest. Without a similarity (keyword mode) only the words count."""
    if margin is not None and margin >= min_margin:
        return True
    return covered >= min_coverage if margin is not None else True


def is_weak(similarity: float | None, covered: float, min_similarity: float, min_coverage: float) -> bool:
    """Without a similarity (keyword mode) only the words count."""
    if similarity is not None and similarity >= min_similarity:
        return False
    return covered < min_coverage
