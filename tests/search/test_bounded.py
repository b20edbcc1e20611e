"""The bounded keyword search (kb.search.bounded): its scores are FTS5's to the last bits, its ranking is
FTS5's over the passages holding a head word, and below the budget nothing changes."""

from __future__ import annotations

import pytest

from kb.index.store import Store
from kb.search.backend import Scope
from kb.search.bounded import MIN_CANDIDATES, bounded_search, plan
from kb.search.lexicon import expanded
from kb.search.local import LocalBackend
from kb.tokenize import tokenize

QUESTIONS = ["委员会监督工作", "县级以上地方人民政府应当", "人民法院依法审理", "政协委员提案办理", "律师委员法律咨询服务",
             "社情民意信息反映", "农业农村部门的职责"]


def _bounded(store: Store, terms: list[str], depth: int, budget: int):
    return bounded_search(terms, depth, budget, store.document_frequencies,
                          lambda match, limit: store.keyword_search(match, limit, None),
                          store.chunk_token_text, store.keyword_totals)


def test_plan_keeps_the_rarest_words_within_the_budget():
    frequencies = {"人民": 900, "职责": 40, "政府": 500, "黑土地": 3}
    chosen = plan(frequencies, budget=100)
    assert chosen.head == ["黑土地", "职责"]
    assert chosen.words == list(frequencies)
    assert chosen.expression == '("黑土地" OR "职责") AND ("人民" OR "职责" OR "政府" OR "黑土地")'
    # The rarest word chooses even when it alone is past the budget.
    assert plan(frequencies, budget=2).head == ["黑土地"]
    # Within the budget, or no budget: FTS5 over every match.
    assert plan(frequencies, budget=1443) is None
    assert plan(frequencies, budget=0) is None
    # A word FTS5 cuts into several tokens is a phrase: not rescored word by word.
    assert plan({**frequencies, "covid-19": 1}, budget=100) is None


def test_keyword_totals_are_what_bm25_counts(seed_index):
    store = Store(seed_index.index_dir, create=False)
    try:
        passages, tokens = store.keyword_totals()
        assert passages == store.chunk_count()
        assert tokens == store.db.execute("SELECT sum(cnt) FROM chunk_vocab").fetchone()[0] > 0
    finally:
        store.close()


def test_bounded_ranking_is_fts5s_over_the_head_words_passages(seed_index):
    """With a budget small enough to bound every question, each result has FTS5's own score, and the
    results are FTS5's ranking of every match with the passages that hold no head word taken out."""
    store = Store(seed_index.index_dir, create=False)
    try:
        branches = set()
        for question in QUESTIONS:
            terms = list(dict.fromkeys(expanded(tokenize(question))))
            frequencies = store.document_frequencies(terms)
            chosen = plan(frequencies, budget=20)
            exact = _bounded(store, terms, 10_000, budget=0)
            assert exact is None  # no budget: the caller asks FTS5
            every = store.keyword_search(" OR ".join(f'"{t}"' for t in terms), 10_000, None)
            for depth in (5, 20):
                got = _bounded(store, terms, depth, budget=20)
                if chosen is None:
                    assert got is None
                    continue
                scores = dict(every)
                for chunk_id, score in got:
                    assert score == pytest.approx(scores[chunk_id], rel=1e-12, abs=1e-12)
                texts = store.chunk_token_text([chunk_id for chunk_id, _ in every])
                head_holders = [(chunk_id, score) for chunk_id, score in every
                                if set(texts[chunk_id].lower().split()) & set(chosen.head)]
                assert len(head_holders) <= MIN_CANDIDATES
                branches.add(len(head_holders) >= depth)
                if len(head_holders) >= depth:
                    want = sorted(head_holders, key=lambda pair: (-pair[1], pair[0]))[:depth]
                    assert [i for i, _ in got] == [i for i, _ in want], question
                else:  # the next rarest words joined the head until enough passages came
                    assert len(got) == min(depth, len(every))
        assert branches == {True, False}
    finally:
        store.close()


def test_too_few_head_passages_take_in_the_next_rarest_word(tmp_path):
    store = Store(tmp_path)
    texts = ["黑土地 保护 人民", "人民 政府 职责", "人民 政府", "人民 代表", "人民 群众 政府"]
    store.db.executemany("INSERT INTO chunk_fts(rowid, tokens) VALUES (?, ?)",
                         [(i + 1, text) for i, text in enumerate(texts)])
    got = _bounded(store, ["黑土地", "人民", "政府"], depth=3, budget=2)
    every = store.keyword_search('"黑土地" OR "人民" OR "政府"', 3, None)
    assert [i for i, _ in got] == [i for i, _ in every]
    assert [s for _, s in got] == pytest.approx([s for _, s in every], rel=1e-12)
    store.close()


def test_default_budget_leaves_a_small_index_as_fts5_ranks_it(seed_index):
    bounded, every = LocalBackend(seed_index), LocalBackend(seed_index.model_copy(update={"keyword_budget": 0}))
    try:
        for backend in (bounded, every):
            backend.refresh()
        for question in QUESTIONS:
            tokens = expanded(tokenize(question))
            assert bounded.keyword(tokens, 100, Scope()) == every.keyword(tokens, 100, Scope())
    finally:
        bounded.close()
        every.close()


def test_document_frequencies_follow_the_generation(seed_index, tmp_path, embedder):
    """The backend keeps each word's document frequency for the generation it read: a new generation
    counts afresh (a frequency kept across one would weigh words by a corpus that is gone)."""
    import shutil

    from kb.index.indexer import index_paths

    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(seed_index.corpus_dir, corpus)
    shutil.copytree(seed_index.index_dir, index_dir)
    settings = seed_index.model_copy(update={"corpus_dir": corpus, "index_dir": index_dir})
    backend = LocalBackend(settings)
    try:
        backend.refresh()
        before = backend.document_frequencies(["黑土地", "委员"])
        assert before["黑土地"] == 0 and before["委员"] > 0
        (corpus / "黑土地.md").write_text("# 黑土地保护\n\n委员调研黑土地保护。\n\n黑土地保护的委员提案。\n", encoding="utf-8")
        index_paths(settings, embedder=embedder)
        assert backend.document_frequencies(["黑土地"]) == {"黑土地": 0}  # still the generation it read
        assert backend.refresh()
        after = backend.document_frequencies(["黑土地", "委员"])
        assert after["黑土地"] >= 1 and after["委员"] > before["委员"]
    finally:
        backend.close()
