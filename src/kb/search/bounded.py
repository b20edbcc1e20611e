"""Keyword search whose work is bounded: at 10⁶ passages a question of common words (人民政府, 应当,
监督) matches most of the index, and FTS5 scores every match (about 1.5 µs each on this machine), so one
question costs a second. Below the budget nothing changes: FTS5 ranks every match.

Above it, the question's rarest words (the head), as many as fit the budget of postings, choose the
passages; the common ones only rank them:

1. FTS5 scores only the passages holding a head word, with the expression ``(head) AND (all words)``:
   its matches are the head's, and bm25() sees every word, the head's twice (each appears in both
   halves). That ranking, which leans to the rare words, picks the candidates.
2. The candidates are scored again exactly as FTS5's bm25() scores the whole question (kb.search.bm25,
   from their keyword-index text, each word's document frequency and the index's averages), and the
   best ``depth`` are returned.

What this leaves out: passages holding only common words (their IDF is low: 人民 in more than half the
passages weighs nothing in FTS5's BM25). Where the head's passages are fewer than ``depth`` the next
rarest word joins the head, up to every word (FTS5 over every match again). `bench/scale_path.py`
measures the time and how much of FTS5's own top 10 and top 100 this keeps, `bench/bounded_keyword.py`
what it does to nDCG@10 on STARD dev.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kb.search.bm25 import fts5_bm25
from kb.search.query import fts_query

Ranking = list[tuple[int, float]]
# How many candidates the head's ranking passes to the exact scoring, per passage asked for.
CANDIDATES_PER_RESULT = 4
MIN_CANDIDATES = 400


@dataclass(frozen=True)
class Plan:
    head: list[str]
    words: list[str]

    @property
    def expression(self) -> str:
        if set(self.head) == set(self.words):
            return fts_query(self.words)
        return f"({fts_query(self.head)}) AND ({fts_query(self.words)})"


def plan(frequencies: dict[str, int], budget: int) -> Plan | None:
    """Which words choose the passages, rarest first while their postings fit ``budget`` (the rarest
    always); None when every word fits (FTS5 over every match) or a word is not one FTS5 token (its
    phrase could not be rescored word by word)."""
    words = list(frequencies)
    if not budget or sum(frequencies.values()) <= budget or not all(word.isalnum() for word in words):
        return None
    head: list[str] = []
    postings = 0
    for word in sorted(words, key=frequencies.__getitem__):
        if head and postings + frequencies[word] > budget:
            break
        head.append(word)
        postings += frequencies[word]
    return Plan(head=head, words=words)


def bounded_search(
    terms: list[str],
    depth: int,
    budget: int,
    frequencies_of: Callable[[list[str]], dict[str, int]],
    search: Callable[[str, int], Ranking],
    texts_of: Callable[[list[int]], dict[int, str]],
    totals: Callable[[], tuple[int, int]],
) -> Ranking | None:
    """The best ``depth`` passages for ``terms`` with the work bounded (module docstring), or None when
    the question fits the budget and FTS5 should score every match. The callables are the backend's:
    document frequencies, an FTS5 MATCH with a limit, the keyword-index text of chunks, and the index's
    (passages, tokens) as bm25() counts them."""
    words = list(dict.fromkeys(term.lower() for term in terms))
    frequencies = frequencies_of(words)
    chosen = plan(frequencies, budget)
    if chosen is None:
        return None
    wanted = max(MIN_CANDIDATES, CANDIDATES_PER_RESULT * depth)
    head = chosen.head
    rest = [word for word in sorted(words, key=frequencies.__getitem__) if word not in head]
    while True:
        candidates = [chunk_id for chunk_id, _ in search(Plan(head, words).expression, wanted)]
        if len(candidates) >= depth or not rest:
            break
        head = [*head, rest.pop(0)]
    passages, tokens = totals()
    average = tokens / max(passages, 1)
    texts = texts_of(candidates)
    scored = [(chunk_id, fts5_bm25(words, texts[chunk_id], frequencies, passages, average))
              for chunk_id in candidates if chunk_id in texts]
    scored.sort(key=lambda pair: (-pair[1], pair[0]))
    return scored[:depth]
