"""BM25 as the local keyword index (SQLite FTS5) computes it, so that a backend whose engine scores
BM25 its own way (Milvus uses another IDF) can rescore its candidates and rank them as kb does."""

from __future__ import annotations

import math
import re

K1, B = 1.2, 0.75
_TOKEN = re.compile(r"\w+")


def fts5_bm25(terms: list[str], token_text: str, frequencies: dict[str, int], passages: int,
              average_length: float) -> float:
    """FTS5's bm25() (as a positive score) of one passage, given its keyword-index text (space-joined
    tokens), each term's document frequency, the number of passages and their mean token count."""
    tokens = _TOKEN.findall(token_text.lower())
    length = len(tokens)
    counts: dict[str, int] = {}
    for token in tokens:
        counts[token] = counts.get(token, 0) + 1
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


# Past this many rows of posting lists a question's common words are not scored row by row (FTS5 scores
# every row that matches any word: 620,000 for 人民 政府 in 10⁶ law passages, bench/scale_path.py).
MATCH_BUDGET = 50_000
# How many passages of the rare words' ranking are rescored with every word, per passage wanted.
POOL_PER_WANTED = 4


def most_a_word_adds(frequency: int, passages: int) -> float:
    """The most one word adds to a passage's FTS5 bm25(): its IDF times (k1 + 1), the limit of a term
    frequency that grows without bound."""
    idf = math.log((passages - frequency + 0.5) / (frequency + 0.5))
    return (idf if idf > 0 else 1e-6) * (K1 + 1)


def bounded_ranking(terms: list[str], depth: int, frequencies: dict[str, int], passages: int,
                    average_length: float, search, token_texts) -> list[tuple[int, float]] | None:
    """FTS5's top ``depth`` for ``terms`` (whose postings pass MATCH_BUDGET) without scoring every row a
    common word matches, or None when that cannot be shown to be the top (the caller then asks FTS5 for
    all of it).

    The rarest words, up to MATCH_BUDGET rows of postings, are searched alone (``search(words, limit)``:
    FTS5's ranking for those words); a pool of their best passages is rescored with every word
    (``token_texts(ids)``: each passage's keyword-index text). A passage outside the pool scores at most
    the pool's last rare-word score plus the most each common word can add (most_a_word_adds); when the
    pool's ``depth``-th best reaches that, the pool's order is FTS5's own, exactly (the MaxScore argument
    of search engines)."""
    words = list(dict.fromkeys(terms))
    rare, postings = [], 0
    for word in sorted(words, key=lambda w: frequencies.get(w, 0)):
        if postings + frequencies.get(word, 0) > MATCH_BUDGET:
            break
        rare.append(word)
        postings += frequencies.get(word, 0)
    common = [w for w in words if w not in rare]
    if not rare:
        return None
    pool = max(POOL_PER_WANTED * depth, depth)
    first = search(rare, pool)
    texts = token_texts([chunk_id for chunk_id, _ in first])
    rescored = sorted(((chunk_id, fts5_bm25(words, texts[chunk_id], frequencies, passages, average_length))
                       for chunk_id, _ in first if chunk_id in texts), key=lambda pair: -pair[1])
    outside = (first[-1][1] if len(first) == pool else 0.0) + sum(most_a_word_adds(frequencies.get(w, 0), passages)
                                                                  for w in common)
    if len(rescored) < depth or rescored[depth - 1][1] < outside:
        return None
    return rescored[:depth]
