"""The read side's stages one by one: fuse keeps each retriever's rank, select keeps fused order
within kinds, hydrate reads what the judgement needs, judge applies the floor."""

from __future__ import annotations

from kb.config import Settings
from kb.records import OTHER, POLICY, PRACTICE, Hit
from kb.search.answers import asked_for
from kb.search.stages import Candidate, Retrieved, fuse, hydrate, judge, select

RETRIEVED = Retrieved(tokens=["委员"], semantic=[(7, 0.9), (3, 0.8), (5, 0.1)], keyword=[(3, 12.0), (9, 4.0)])


def test_fuse_keeps_each_retrievers_rank_beside_the_fused_score():
    fused = fuse("hybrid", RETRIEVED, Settings())
    # Min-max per retriever: 3 is high in both, 7 first in one; the last of each list scores 0 (ties by id).
    assert [c.chunk_id for c in fused] == [3, 7, 5, 9]
    by_id = {c.chunk_id: c for c in fused}
    assert (by_id[3].semantic.rank, by_id[3].keyword.rank) == (2, 1)
    assert by_id[7].keyword is None and by_id[9].semantic is None
    assert all(0.0 <= c.score <= 1.0 for c in fused)


def test_fuse_in_one_mode_is_that_retrievers_ranking():
    assert [(c.chunk_id, c.score) for c in fuse("semantic", RETRIEVED, Settings())] == RETRIEVED.semantic
    keyword = fuse("keyword", RETRIEVED, Settings())
    assert [c.chunk_id for c in keyword] == [3, 9] and keyword[0].semantic.rank == 2
    rrf = fuse("hybrid", RETRIEVED, Settings(fusion="rrf"))
    assert rrf[0].chunk_id == 3 and {c.chunk_id for c in rrf} == {3, 5, 7, 9}


def test_select_takes_k_overall_or_k_of_each_kind_in_fused_order():
    candidates = [Candidate(i, 1.0 - i / 10) for i in range(6)]
    assert [c.chunk_id for c in select(candidates, 2)] == [0, 1]
    kinds = {0: POLICY, 1: POLICY, 2: POLICY, 3: PRACTICE, 4: OTHER, 5: PRACTICE}
    assert [c.chunk_id for c in select(candidates, 2, kinds)] == [0, 1, 3, 4, 5]


def test_hydrate_reads_texts_and_evidence_and_skips_a_vanished_chunk(searcher):
    response = searcher.search("五常大米品牌", mode="keyword", k=3)
    ids = [hit.chunk_id for hit in response.hits]
    tokens = ["五常", "大米", "品牌"]
    retrieved = Retrieved(tokens=tokens, semantic=[], keyword=[(i, 1.0) for i in ids])
    hits = hydrate([Candidate(i, 1.0) for i in [*ids, 10**9]], searcher.backend, retrieved,
                   searcher.passage_count(), None)
    assert [hit.chunk_id for hit in hits] == ids  # the id no chunk has is left out
    first = hits[0]
    assert first.unit == "五常市政协" and "五常" in first.text and first.similarity is None
    assert first.coverage > 0.5 and {"五常", "大米"} <= set(first.matched_terms)
    assert not any(hit.weak for hit in hits)  # hydrate reads evidence; judging is the next stage


def _hit(similarity, coverage, margin=None, unit="", kind=PRACTICE, text="") -> Hit:
    return Hit(chunk_id=1, doc_id="d", document="d", unit=unit, unit_type="", year=None, doc_type="", heading_path=[],
               text=text, start=0, end=0, page=None, score=0.0, semantic=None, keyword=None, kind=kind,
               matched_terms=[], similarity=similarity, coverage=coverage, margin=margin)


def test_judge_marks_hits_under_the_floor_weak():
    settings = Settings()
    hits = judge([_hit(0.9, 0.0), _hit(0.1, 0.9), _hit(0.1, 0.1), _hit(None, 0.1), _hit(None, 0.9)], settings)
    assert [hit.weak for hit in hits] == [False, False, True, True, False]


def test_what_cppcc_bodies_wrote_answers_only_if_one_of_it_stands_out():
    """Close in meaning (0.45 ≥ the floor), but no practice or review above the question's typical
    match by floor_practice_margin, nor covering floor_practice_coverage of its words: no answer among
    them. The corpus's laws are tested likewise, among themselves; a passage of no unit (STARD's)
    keeps the floor alone."""
    settings = Settings()
    flat = [_hit(0.45, 0.2, 0.05, "五常市政协"), _hit(0.45, 0.2, 0.08, "哈尔滨市政协", OTHER),
            _hit(0.45, 0.2, 0.0, "全国人大常委会", POLICY), _hit(0.45, 0.2, 0.0)]
    assert [hit.weak for hit in judge(flat, settings)] == [True, True, True, False]
    # A law that stands out keeps the others of its kind by the floor; it does not rescue the practices.
    laws = [_hit(0.45, 0.2, 0.05, "五常市政协"), _hit(0.45, 0.2, 0.15, "全国人大常委会", POLICY),
            _hit(0.45, 0.2, 0.0, "国务院", POLICY)]
    assert [hit.weak for hit in judge(laws, settings)] == [True, False, False]
    # One that stands out (by its margin, or by its words) makes them all answers again, by the floor.
    for standing in (_hit(0.30, 0.2, 0.20, "延寿县政协"), _hit(0.30, 0.45, 0.0, "延寿县政协")):
        hits = judge([_hit(0.45, 0.2, 0.05, "五常市政协"), standing], settings)
        assert [hit.weak for hit in hits] == [False, True]  # the standing one is itself under the floor
    # Keyword mode has no margin: the floor alone.
    assert not judge([_hit(None, 0.5, None, "五常市政协")], settings)[0].weak
    # Without the test (floor_practice_margin = None), the floor as before.
    assert not judge([_hit(0.45, 0.2, 0.05, "五常市政协")], Settings(floor_practice_margin=None))[0].weak


def test_a_question_asking_for_a_fact_is_answered_only_by_a_passage_stating_one():
    """"多少名盟员": the practice that stands out but states no count of 名 is weak; one that does
    stays strong; a law keeps the floor (what the question asks of a law is not this check's)."""
    settings = Settings()
    asks = asked_for("民盟哈尔滨市委有多少名盟员")
    hits = [_hit(0.50, 0.6, 0.25, "民盟哈尔滨市委", text="民盟市委组建专家团队开展调研"),
            _hit(0.50, 0.6, 0.25, "民盟哈尔滨市委", text="现有盟员一千二百余名"),
            _hit(0.50, 0.6, 0.25, "全国人大常委会", POLICY, text="第一条")]
    assert [hit.weak for hit in judge(hits, settings, asks)] == [True, False, False]
    assert not judge([_hit(0.50, 0.6, 0.25, "民盟哈尔滨市委", text="组建专家团队")], settings)[0].weak
