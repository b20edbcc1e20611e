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
# Anything in a keyword-index text that is neither a letter, a digit nor white space. kb writes that
# text as jieba's words joined by spaces, so mostly there is none, and splitting on spaces (ten times
# faster than the regular expression) cuts exactly what FTS5 cuts.
_SEPARATOR = re.compile(r"[^\w\s]|_")


def fts5_tokens(token_text: str) -> list[str]:
    """The tokens FTS5's unicode61 tokenizer reads in a keyword-index text, case folded."""
    lowered = token_text.lower()
    return _TOKEN.findall(lowered) if _SEPARATOR.search(lowered) else lowered.split()


def fts5_bm25(terms: list[str], token_text: str, frequencies: dict[str, int], passages: int,
              average_length: float) -> float:
    """FTS5's bm25() (as a positive score) of one passage, given its keyword-index text (space-joined
    tokens), each term's document frequency, the number of passages and their mean token count."""
    tokens = fts5_tokens(token_text)
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
