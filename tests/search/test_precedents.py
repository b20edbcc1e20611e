"""Precedent search staff can trust, on the whole bundled corpus: practices first as their own
section, laws first only when the question names one, weak matches set apart, evidence words that
distinguish a hit."""

from __future__ import annotations

import json
import sqlite3

import pytest
from support import kb, out_of_domain, paraphrase_queries, seed_queries

from kb.index.store import Store
from kb.records import OTHER, POLICY, PRACTICE, Hit
from kb.search import Searcher
from kb.search.kinds import group_by_kind, names_a_law, pick_per_kind
from kb.tokenize import tokenize


@pytest.fixture(scope="module")
def bundled(bundled_index, embedder):
    searcher = Searcher(bundled_index, embedder)
    yield searcher
    searcher.close()


@pytest.fixture(scope="module")
def seed_answers(bundled):
    """Each seed question asked once through the library, as the page and `kb search` ask it; the
    figures below are read from these answers."""
    return [(query, unit, bundled.search(query, k=10, grouped=True)) for query, unit in seed_queries()]


def _practice_units(response) -> list[str]:
    return [hit.unit for group in response.groups if group.kind == PRACTICE for hit in group.hits]


def test_the_seed_questions_cover_every_practice_twice(bundled):
    queries = seed_queries()
    units = {practice.unit for practice in bundled.catalogue().practices}
    counts = {unit: sum(1 for _, u in queries if u == unit) for unit in units}
    assert len(queries) >= 40 and min(counts.values()) >= 2, counts


def test_the_right_practice_leads_the_practice_section(seed_answers):
    """≥ 95% first and 100% in the top 3, as staff ask (some questions share no word with the text)."""
    first, misses = 0, []
    for query, unit, response in seed_answers:
        units = _practice_units(response)
        first += bool(units) and units[0] == unit
        if unit not in units[:3]:
            misses.append((query, unit, units[:3]))
    assert not misses, misses
    assert first / len(seed_answers) >= 0.95, first


def test_practices_come_first_and_each_section_ranks_within_itself(bundled):
    response = bundled.search("律师委员扫码提供免费公益法律咨询", k=5, grouped=True)
    assert [group.kind for group in response.groups][:2] == [PRACTICE, POLICY]
    assert response.groups[0].hits[0].unit == "市政协社会和法制委员会"
    assert response.hits == [hit for group in response.groups for hit in group.hits]
    for group in response.groups:
        assert len(group.hits) <= 5 and all(hit.kind == group.kind for hit in group.hits)
        assert [h.score for h in group.hits] == sorted((h.score for h in group.hits), reverse=True)


def test_a_question_naming_a_law_or_an_article_puts_laws_first(bundled):
    for query in ("人民调解法第十七条", "中华人民共和国农业法关于农民权益的规定", "劳动合同法第三十九条"):
        response = bundled.search(query, k=3, grouped=True)
        assert response.law_first and response.groups[0].kind == POLICY, query
    assert not bundled.search("有哪些推动基层协商的做法", k=3, grouped=True).law_first


def test_names_a_law_is_one_rule():
    titles = ["中华人民共和国人民调解法", "中华人民共和国农业法"]
    for query in ("劳动合同法第三十九条", "人民调解法怎么规定调解协议", "第十二条说了什么", "农业法", "食品安全条例"):
        assert names_a_law(query, tokenize(query), titles), query
    for query in ("有什么好的做法", "321协商工作法是怎么来的", "调研方法", "依法履职的委员"):
        assert not names_a_law(query, tokenize(query), titles), query


def test_kinds_are_stored_filterable_and_in_json(bundled, bundled_index):
    kinds = bundled.facets()["kind"]
    assert set(kinds) == {PRACTICE, POLICY, OTHER} and kinds[PRACTICE] >= 20
    hits = bundled.search("委员工作站", k=10, filters={"kind": [PRACTICE]}).hits
    assert hits and all(hit.kind == PRACTICE for hit in hits)
    printed = json.loads(kb("search", "委员工作站", "--kind", POLICY, "--json", "-k", "3",
                            index_dir=bundled_index.index_dir).stdout)
    assert printed and all(hit["kind"] == POLICY and "weak" in hit for hit in printed)


def test_an_older_index_gets_its_kinds(seed_index, tmp_path):
    """Schema 2 had no kinds and no practices table: opening it detects the practices from the stored
    texts and gives every chunk its kind and unit."""
    import shutil

    copy = tmp_path / "index"
    shutil.copytree(seed_index.index_dir, copy)
    db = sqlite3.connect(copy / "kb.sqlite3")
    db.executescript("DROP TABLE chunk_vocab; DROP INDEX chunks_kind; ALTER TABLE chunks DROP COLUMN kind;"
                     " DROP TABLE practices; UPDATE chunks SET unit = ''; PRAGMA user_version = 2;")
    db.close()
    store = Store(copy, create=False)
    try:
        kinds = dict(store.db.execute("SELECT kind, count(*) FROM chunks GROUP BY kind").fetchall())
        assert kinds[PRACTICE] >= 20 and kinds[POLICY] > 0
        assert store.document_frequencies(["调解"])["调解"] > 0
        assert len(store.practices()) == 20
        units = dict(store.db.execute("SELECT kind, count(DISTINCT unit) FROM chunks GROUP BY kind").fetchall())
        assert units[PRACTICE] == 20
    finally:
        store.close()


def test_a_practice_below_ten_laws_still_leads_its_section():
    ranked = [(i, 1.0 - i / 100) for i in range(12)]
    kinds = {i: POLICY for i in range(11)} | {11: PRACTICE}
    picked = pick_per_kind(ranked, kinds, 3)
    assert picked == [ranked[0], ranked[1], ranked[2], ranked[11]]
    hits = [Hit(chunk_id=i, doc_id="d", document="", unit="", unit_type="", year=None, doc_type="", heading_path=[],
                text="", start=0, end=0, score=s, kind=kinds[i]) for i, s in picked]
    assert [g.kind for g in group_by_kind(hits, law_first=False)] == [PRACTICE, POLICY]
    assert [g.kind for g in group_by_kind(hits, law_first=True)] == [POLICY, PRACTICE]


def test_a_section_of_weak_hits_follows_every_strong_hit():
    """The practice section leads, unless all its hits are weak: then the strong law comes first, and
    each kind's weak hits follow every strong one."""
    def hit(i, kind, weak):
        return Hit(chunk_id=i, doc_id="d", document="", unit="", unit_type="", year=None, doc_type="",
                   heading_path=[], text="", start=0, end=0, score=1.0 - i / 10, kind=kind, weak=weak)

    hits = [hit(0, PRACTICE, True), hit(1, POLICY, False), hit(2, PRACTICE, True), hit(3, OTHER, False),
            hit(4, POLICY, True)]
    groups = group_by_kind(hits, law_first=False)
    assert [(g.kind, g.weak, [h.chunk_id for h in g.hits]) for g in groups] == [
        (POLICY, False, [1]), (OTHER, False, [3]), (PRACTICE, True, [0, 2]), (POLICY, True, [4])]
    assert groups[2].title == "实践案例（较弱的匹配）"


def test_out_of_domain_questions_find_nothing_strong(bundled):
    questions = out_of_domain()
    assert len(questions) >= 60
    nothing = [q for q in questions if all(h.weak for h in bundled.search(q, k=10, grouped=True).hits)]
    assert len(nothing) / len(questions) >= 0.9, set(questions) - set(nothing)


# In-domain questions of tests/data/unanswerable.txt that the judgement now answers with nothing:
# every practice is as near them as to any other CPPCC question, and none stands out.
NO_ANSWER = ["政协办公厅的值班电话是多少", "政协网站上的照片怎么下载高清版", "给政协写信反映问题寄到哪个邮编",
             "政协系统内部通讯录怎么拿到", "政协报怎么订阅"]


def test_in_domain_questions_without_an_answer_find_nothing_confident(bundled, bundled_index, embedder):
    for question in NO_ANSWER:
        assert all(hit.weak for hit in bundled.search(question, k=10, grouped=True).hits), question
    before = Searcher(bundled_index.model_copy(update={"floor_practice_margin": None}), embedder)
    try:  # the floor alone let some practice through for most of them
        confident = [q for q in NO_ANSWER if not all(h.weak for h in before.search(q, k=10, grouped=True).hits)]
    finally:
        before.close()
    assert len(confident) >= 4, confident
    shown = kb("search", NO_ANSWER[0], "--index-dir", str(bundled_index.index_dir)).stdout
    assert "nothing passed the relevance floor" in shown


# Questions naming what the corpus holds and asking a detail it does not give: the practice stands out,
# but states no such fact (kb.search.answers).
DETAIL_NOT_GIVEN = ["徐福志委员的手机号码是多少", "南岗区委员工作站的具体门牌地址", "今年市政协全会在哪个宾馆召开"]


def test_a_question_asking_a_detail_the_texts_do_not_give_finds_nothing_confident(bundled, bundled_index, embedder):
    for question in DETAIL_NOT_GIVEN:
        response = bundled.search(question, k=10, grouped=True)
        assert response.asks and all(hit.weak for hit in response.hits), question
    before = Searcher(bundled_index.model_copy(update={"answer_kinds": False}), embedder)
    try:  # without the check, each found a strong practice
        assert all(any(not h.weak for h in before.search(q, k=10, grouped=True).hits) for q in DETAIL_NOT_GIVEN)
    finally:
        before.close()
    shown = kb("search", DETAIL_NOT_GIVEN[0], "--index-dir", str(bundled_index.index_dir),
               env_extra={"LANG": "zh_CN.UTF-8"}).stdout
    assert "问题问的是电话号码，以上的实践和综述都没有写到。" in shown


def test_a_count_the_text_states_is_still_an_answer(bundled):
    """阿城's review states its three types of station: asking how many types is answered."""
    response = bundled.search("阿城区委员工作站分为几种类型", k=10, grouped=True)
    assert response.asks == "“几种”的数目"
    assert response.hits[0].unit == "阿城区政协" and not response.hits[0].weak


def test_the_keyword_retriever_also_looks_for_the_words_the_texts_use(bundled_index, embedder):
    """驻点 is not a word of the seed review; 工作站 is (kb.search.lexicon): with the expansion the
    keyword ranking leads with the stations, without it a law does. Coverage stays the question's own."""
    question = "委员的驻点怎么规范运作"
    plain = Searcher(bundled_index.model_copy(update={"query_expansion": False}), embedder)
    expanding = Searcher(bundled_index, embedder)
    try:
        before = plain.search(question, mode="keyword", k=3).hits
        after = expanding.search(question, mode="keyword", k=3).hits
    finally:
        plain.close()
        expanding.close()
    assert before[0].kind == POLICY and after[0].kind == PRACTICE and "工作站" in after[0].text
    assert "驻点" not in after[0].matched_terms and "工作站" not in after[0].matched_terms


def test_a_filter_leaves_the_typical_match_as_it_is(bundled):
    """The margin is measured against the question's nearest chunks in the whole index: a unit filter
    leaves a hit's margin as it was, rather than comparing it with the unit's own other passages."""
    question = "律师委员扫码提供免费法律咨询"
    everywhere = {hit.chunk_id: hit.margin for hit in bundled.search(question, k=20).hits}
    filtered = bundled.search(question, k=5, filters={"unit": ["社法委"]}).hits
    assert filtered and all(abs(hit.margin - everywhere[hit.chunk_id]) < 1e-6 for hit in filtered
                            if hit.chunk_id in everywhere)
    assert not filtered[0].weak


def test_practices_described_in_other_words_are_found(bundled):
    """Staff describing a practice without its words (帮本地出名的粮食打响名号 for 五常大米): the right
    practice leads its section for 54 of these 60 today (57 in its top 3): a guard at that level."""
    first = top3 = 0
    for query, unit in paraphrase_queries():
        units = _practice_units(bundled.search(query, k=10, grouped=True))
        first += bool(units) and units[0] == unit
        top3 += unit in units[:3]
    assert first >= 54 and top3 >= 57, (first, top3)


def test_seed_answers_stay_above_the_floor(seed_answers):
    weak = []
    for query, unit, response in seed_answers:
        practices = next(g.hits for g in response.groups if g.kind == PRACTICE)
        right = next((hit for hit in practices if hit.unit == unit), None)
        if right is None or right.weak:
            weak.append(query)
    assert len(weak) / len(seed_answers) <= 0.05, weak


def test_keyword_mode_folds_a_stray_word_match(bundled):
    """量子计算机 matches 计算 in "自…之日起计算": the rest of the question is nowhere."""
    hits = bundled.search("量子计算机", mode="keyword", k=10).hits
    assert hits and all(hit.weak for hit in hits)


def test_evidence_words_leave_out_words_found_everywhere(bundled):
    hit = bundled.search("哪个县组织委员帮农民打造大米品牌？", k=5, grouped=True).groups[0].hits[0]
    assert hit.unit == "五常市政协"
    assert "大米" in hit.matched_terms
    assert not {"组织", "委员", "农民"} & set(hit.matched_terms)


def test_the_seed_questions_through_kb_search(bundled_index, tmp_path):
    """The same questions as a user's `kb search` sees them: one process, one JSON line each."""
    queries = seed_queries()
    questions = tmp_path / "questions.txt"
    questions.write_text("\n".join(q for q, _ in queries) + "\n", encoding="utf-8")
    out = kb("search", "--queries", str(questions), "-k", "10", index_dir=bundled_index.index_dir).stdout
    answers = [json.loads(line) for line in out.splitlines()]
    assert [a["query"] for a in answers] == [q for q, _ in queries]
    first, misses = 0, []
    for (query, unit), answer in zip(queries, answers):
        units = [hit["unit"] for hit in answer["hits"] if hit["kind"] == PRACTICE]
        assert answer["hits"][0]["kind"] == PRACTICE  # practices are shown first
        first += units[0] == unit
        if unit not in units[:3]:
            misses.append(query)
    assert not misses and first / len(queries) >= 0.95, (first, misses)
