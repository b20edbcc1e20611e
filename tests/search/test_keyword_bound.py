"""The keyword ranking of a big index from its rare words' postings (kb.search.bm25.bounded_ranking):
the same passages in the same order, with the same scores, as FTS5 scoring every match."""

from __future__ import annotations

import math

import pytest
from support import out_of_domain, paraphrase_queries, seed_queries

from kb.search import local
from kb.search.backend import Scope
from kb.search.bm25 import most_a_word_adds
from kb.search.query import fts_query
from kb.tokenize import tokenize


@pytest.fixture(scope="module")
def backend(bundled_index):
    opened = local.LocalBackend(bundled_index)
    opened.refresh()
    yield opened
    opened.store.close()


def test_the_bounded_ranking_is_fts5s_own(backend, monkeypatch):
    """With a budget the bundled corpus's common words pass (委员 alone is in hundreds of its passages),
    every question is ranked from its rare words, checked against FTS5 scoring every match."""
    monkeypatch.setattr(local, "MATCH_BUDGET", 300)
    bounded = []
    original = local.bounded_ranking

    def counting(*args, **kwargs):
        ranking = original(*args, **kwargs)
        bounded.append(ranking is not None)
        return ranking

    monkeypatch.setattr(local, "bounded_ranking", counting)
    questions = [q for q, _ in seed_queries()] + [q for q, _ in paraphrase_queries()] + out_of_domain()[:20]
    for question in questions:
        words = list(dict.fromkeys(tokenize(question)))
        for depth in (10, 100):
            got = backend.keyword(words, depth, Scope())
            want = backend.store.keyword_search(fts_query(words), depth, None)
            assert [round(s, 6) for _, s in got] == pytest.approx([round(s, 6) for _, s in want], abs=1e-6), question
            assert {i for i, _ in got} == {i for i, _ in want} or _ties(got, want), question
    assert sum(bounded) >= 20, "the bounded path was hardly taken"


def _ties(got, want) -> bool:
    """Passages of equal score may come in another order at the cut."""
    return got[-1][1] == pytest.approx(want[-1][1]) and {i for i, s in got if s > got[-1][1] + 1e-9} == {
        i for i, s in want if s > want[-1][1] + 1e-9}


def test_a_word_adds_at_most_its_idf_times_k1_plus_one():
    assert most_a_word_adds(10, 1000) == pytest.approx(2.2 * math.log(990.5 / 10.5))  # BM25's IDF, k1 = 1.2
    assert most_a_word_adds(900, 1000) == pytest.approx(2.2e-6)  # FTS5's floor for a word in most passages
