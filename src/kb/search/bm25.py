"""BM25 as the local keyword index (SQLite FTS5) computes it, so that a backend whose engine scores
BM25 its own way (Milvus uses another IDF) can rescore its candidates and rank them as kb does, and so
that the bounded keyword search (kb.search.bounded) can score the few passages it picked."""

from __future__ import annotations

import math
import re
from collections import Counter

K1, B = 1.2, 0.75
# A token as FTS5's unicode61 tokenizer cuts one: a run of letters and digits (the underscore, which \w
# also matches, separates tokens there).
_TOKEN = re.compile(r"[^\W_]+")


def fts5_bm25(terms: list[str], token_text: str, frequencies: dict[str, int], passages: int,
              average_length: float) -> float:
    """FTS5's bm25() (as a positive score) of one passage, given its keyword-index text (space-joined
    tokens), each term's document frequency, the number of passages and their mean token count."""
    tokens = _TOKEN.findall(token_text.lower())
    length = len(tokens)
    counts = Counter(tokens)
    score = 0.0
    for term in dict.fromkeys(term.lower() for term in terms):
        found = counts.get(term, 0)
        if not found:
            continue
        hits = frequencies.get(term, 0)
        idf = math.log((passages - hits + 0.5) / (hits + 0.5))
        idf = idf if idf > 0 else 1e-6
        score += idf * found * (K1 + 1) / (found + K1 * (1 - B + B * length / max(average_length, 1e-9)))
    return score
