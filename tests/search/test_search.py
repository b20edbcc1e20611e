"""Hybrid search over the seed article and two laws: natural questions, oracles for both
retrievers, filters, and user text that must never become FTS5 syntax."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kb.index.store import Store
from kb.index.vectors import IVF_FROM, VectorIndex, factory_for
from kb.search import QueryError, fts_query, parse_filters, rrf
from kb.tokenize import tokenize


def test_hits_carry_what_the_page_and_cli_show(searcher):
    hit = searcher.search("五常大米品牌", k=3).hits[0]
    assert hit.unit == "五常市政协" and hit.unit_type == "县市政协"
    assert hit.document and hit.heading_path and hit.text
    assert hit.semantic is not None and hit.keyword is not None
    assert hit.semantic.rank >= 1 and hit.keyword.rank >= 1
    assert "五常" in hit.matched_terms and "大米" in hit.matched_terms
    assert all(term in hit.text.lower() for term in hit.matched_terms)


def test_law_articles_are_found_by_meaning_and_by_words(searcher):
    by_words = searcher.search("人民调解协议的效力", mode="keyword", k=3).hits
    assert any("人民调解法" in h.document for h in by_words)
    by_meaning = searcher.search("邻居吵架了可以找谁免费帮忙说和", mode="semantic", k=3).hits
    assert "人民调解法" in by_meaning[0].document


def test_modes_differ_and_hybrid_fuses_both(searcher):
    query = "非遗传承人"
    semantic = [h.chunk_id for h in searcher.search(query, mode="semantic", k=10).hits]
    keyword = [h.chunk_id for h in searcher.search(query, mode="keyword", k=10).hits]
    hybrid = searcher.search(query, mode="hybrid", k=10).hits
    assert semantic != keyword
    assert all(h.chunk_id in semantic or h.chunk_id in keyword for h in hybrid)
    assert [h.score for h in hybrid] == sorted((h.score for h in hybrid), reverse=True)


def test_filters_by_metadata_and_document(searcher):
    hits = searcher.search("委员工作站", k=20, filters=parse_filters(["unit_type=区政协"])).hits
    assert hits and all(h.unit_type == "区政协" for h in hits)
    law = "laws/人民调解法(2010-08-28).md"
    hits = searcher.search("委员", k=5, filters=parse_filters([f"doc={law}"])).hits
    assert hits and all(h.doc_id == law for h in hits)
    hits = searcher.search("调解", k=5, filters=parse_filters(["year=2022", "doc_type=综述"])).hits
    assert all(h.year == 2022 for h in hits)


@pytest.mark.parametrize("bad", [["unit"], ["year=二〇二二"], ["colour=red"]])
def test_bad_filters_are_clear_errors(searcher, bad):
    with pytest.raises(QueryError):
        searcher.search("委员", filters=parse_filters(bad))


def test_single_character_and_english_word(searcher):
    assert searcher.search("米", mode="keyword", k=5).hits
    assert any("五常" in h.text for h in searcher.search("米", k=10).hits)
    # No English in the seed: the word still searches, by meaning.
    assert searcher.search("APP", k=3).hits


def test_empty_query_is_an_error(searcher):
    with pytest.raises(QueryError, match="empty"):
        searcher.search("   ")


@pytest.mark.parametrize(
    "query",
    ['"委员', "委员 AND 工作站", "NEAR(委员 工作站)", "委员*", "^委员", "(委员", "unit:五常", "委员 OR", "-", "'''", "\\"],
)
def test_fts_syntax_in_user_text_is_searched_as_text(searcher, query):
    searcher.search(query, mode="keyword", k=5)
    searcher.search(query, mode="hybrid", k=5)


def test_ten_kilobyte_query(searcher):
    response = searcher.search("委员工作站建设" * 1500, k=3)
    assert response.hits


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(min_size=1, max_size=60))
@example("\x00")  # once made SQLite's length() return 0 in the literal fallback
def test_any_text_searches_or_fails_clearly(searcher, text):
    try:
        searcher.search(text, mode="keyword", k=3)
    except QueryError as exc:
        assert "empty" in str(exc)


def test_fts_query_quotes_every_token():
    expression = fts_query(['a"b', "NEAR", "*"])
    assert expression == '"a""b" OR "NEAR" OR "*"'


def test_rrf_weights():
    fused = rrf({"semantic": [1, 2], "keyword": [2, 3]}, {"semantic": 1.0, "keyword": 0.5}, 60)
    scores = dict(fused)
    assert scores[2] == pytest.approx(1 / 62 + 0.5 / 61)
    assert fused[0][0] == 2


def test_faiss_top_k_matches_numpy():
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(500, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(1000, 1500, dtype=np.int64)
    index = VectorIndex.build(ids, vectors)
    for query in vectors[:5] + rng.normal(scale=0.1, size=(5, 384)).astype(np.float32):
        expected = ids[np.argsort(-(vectors @ query), kind="stable")[:10]]
        got = [i for i, _ in index.search(query, 10)]
        assert got == expected.tolist()
    allowed = ids[::7]
    query = vectors[3]
    mask = np.isin(ids, allowed)
    expected = ids[mask][np.argsort(-(vectors[mask] @ query))[:5]]
    assert [i for i, _ in index.search(query, 5, allowed)] == expected.tolist()


def test_large_corpus_index_is_inverted_file_with_exact_filters(tmp_path):
    assert factory_for(IVF_FROM - 1) == "IDMap2,Flat"
    assert factory_for(1_000_000) == "IVF4000,Flat"
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(40, 64)).astype(np.float32)
    vectors = centres[rng.integers(0, 40, 8000)] + rng.normal(scale=0.5, size=(8000, 64)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(5000, 13000, dtype=np.int64)
    VectorIndex.build(ids, vectors, "IDMap2,IVF256,Flat").save(tmp_path / "v.faiss")
    index = VectorIndex.load(tmp_path / "v.faiss", "IDMap2,IVF256,Flat")
    queries = vectors[:40] + rng.normal(scale=0.05, size=(40, 64)).astype(np.float32)
    recall = np.mean([
        len({i for i, _ in index.search(q, 10)} & set(ids[np.argsort(-(vectors @ q))[:10]].tolist())) / 10
        for q in queries
    ])
    assert recall >= 0.95
    for allowed in (ids[::53], ids[::2], np.array([ids[7], 99], dtype=np.int64)):
        mask = np.isin(ids, allowed)
        expected = ids[mask][np.argsort(-(vectors[mask] @ queries[0]), kind="stable")[:5]].tolist()
        assert [i for i, _ in index.search(queries[0], 5, allowed)] == expected


def test_faiss_index_survives_save_and_load(tmp_path):
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(50, 8)).astype(np.float32)
    index = VectorIndex.build(np.arange(50, dtype=np.int64), vectors)
    index.save(tmp_path / "v.faiss")
    loaded = VectorIndex.load(tmp_path / "v.faiss", index.factory)
    assert loaded.search(vectors[4], 3) == index.search(vectors[4], 3)


def _reference_bm25(docs: list[list[str]], query: list[str], k1: float = 1.2, b: float = 0.75) -> list[float]:
    """Okapi BM25 as SQLite FTS5 defines it (its idf floors at a tiny positive value)."""
    n = len(docs)
    avgdl = sum(map(len, docs)) / n
    scores = []
    for doc in docs:
        counts = Counter(doc)
        score = 0.0
        for term in set(query):
            df = sum(1 for d in docs if term in d)
            if not df:
                continue
            idf = max(math.log((n - df + 0.5) / (df + 0.5)), 1e-6)
            tf = counts[term]
            score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(doc) / avgdl))
        scores.append(score)
    return scores


def test_keyword_ranking_matches_reference_bm25(tmp_path):
    texts = [
        "委员工作站建在街道，委员定期接待群众。",
        "五常大米品牌价值提升，政协委员建言献策。",
        "律师委员提供免费法律咨询。法律援助进社区。",
        "书香政协建设，委员读书分享栏目。",
        "委员工作站党支部建设，委员工作站规范化。",
        "非物质文化遗产代表性传承人的认定。",
        "人民调解委员会调解民间纠纷，不收取任何费用。",
        "乡村振兴，农业技术推广，农民增收。",
    ]
    store = Store(tmp_path)
    token_lists = [tokenize(t) for t in texts]
    store.db.executemany(
        "INSERT INTO chunk_fts(rowid, tokens) VALUES (?, ?)",
        [(i + 1, " ".join(tokens)) for i, tokens in enumerate(token_lists)],
    )
    for query in ("委员工作站", "法律咨询", "政协委员 建言", "农民增收 乡村振兴"):
        q = tokenize(query)
        ours = store.keyword_search(fts_query(q), 100, None)
        reference = _reference_bm25(token_lists, q)
        expected = sorted((i + 1 for i, s in enumerate(reference) if s > 0), key=lambda i: (-reference[i - 1], i))
        assert [rowid for rowid, _ in ours] == expected, query
        for rowid, score in ours:
            assert score == pytest.approx(reference[rowid - 1], rel=1e-6)
    store.close()


def test_term_spans_prefer_longer_terms_and_never_overlap():
    from kb.search import term_spans

    text = "人民调解委员会调解民间纠纷，APP上可申请调解。"
    spans = term_spans(text, ["调解", "人民调解", "app", "a"])
    assert [text[s:e] for s, e in spans] == ["人民调解", "调解", "APP", "调解"]
