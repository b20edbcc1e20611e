"""Whatever a user types, in any mode and with any filter: an answer or a clear QueryError, never
a crash, and every answer keeps the invariants. Seeded; -m slow runs five times as many."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from kb.records import FILTER_FIELDS
from kb.search import QueryError, parse_filters

EXAMPLES = 2_000
SLOW_EXAMPLES = 10_000

# Text as it arrives: Chinese, ASCII, punctuation and FTS5 syntax, lone surrogates, controls, NUL.
_pieces = st.one_of(
    st.text(min_size=0, max_size=30),
    st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF), max_size=12),
    st.sampled_from(["委员工作站", "调解", "五常", "民盟", "45721", "AND", "OR", "NEAR(", "*", "^", '"', "(", ")",
                     "\x00", "\ud800", "\udcff", "\x1b[31m", "第十七条", "人民调解法", " ", "\n"]),
)
queries = st.lists(_pieces, min_size=1, max_size=4).map("".join)
filter_values = st.one_of(st.text(max_size=20), st.sampled_from(
    ["区政协", "五常", "民盟", "政协", "2022", "1982", "99999999999999999999", "²", "实践案例", "政策法规", "其他",
     "综述", "法律法规", "\ud800", "x=y", ""]))
filter_pairs = st.lists(st.tuples(st.sampled_from([*FILTER_FIELDS, "colour", ""]), filter_values), max_size=3)


def _check(searcher, query, mode, k, pairs, grouped):
    try:
        filters = parse_filters([f"{field}={value}" for field, value in pairs])
        response = searcher.search(query, mode=mode, k=k, filters=filters, grouped=grouped)
    except QueryError:
        return
    ids = [hit.chunk_id for hit in response.hits]
    assert len(ids) == len(set(ids))
    sections = [group.hits for group in response.groups] if grouped else [response.hits]
    for hits in sections:
        assert len(hits) <= k
        scores = [hit.score for hit in hits]
        assert scores == sorted(scores, reverse=True)
    for field, values in filters.items():
        wanted = set(values)
        if field == "unit" and not any(notice.startswith("no unit") for notice in response.notices):
            assert all(hit.unit in wanted or any(v in hit.unit for v in wanted) for hit in response.hits)
        if field in ("unit_type", "doc_type", "kind"):
            assert all(getattr(hit, field) in wanted for hit in response.hits)
        if field == "year":
            assert all(str(hit.year) in wanted for hit in response.hits)


def _run(searcher, examples):
    @seed(20261125)
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(queries, st.sampled_from(["keyword", "semantic", "hybrid"]), st.integers(1, 12), filter_pairs,
           st.booleans())
    def fuzz(query, mode, k, pairs, grouped):
        _check(searcher, query, mode, k, pairs, grouped)

    fuzz()


def test_fuzzed_searches_never_crash(searcher):
    _run(searcher, EXAMPLES)


@pytest.mark.slow
def test_many_more_fuzzed_searches(searcher):
    _run(searcher, int(os.environ.get("FUZZ_EXAMPLES", SLOW_EXAMPLES)))
