"""The practices layer on the seed review: its 20 practices, their figures, themes, similar
practices, the 45721 approach card, and the exports people open in Excel and Word."""

from __future__ import annotations

import csv
import io
import json

import pytest
from support import kb

from kb.index.store import Store
from kb.practices import BOILERPLATE, Practice, approach_cards, export, figures_in
from kb.practices.areas import WORK_AREAS

# The units that head the seed's 20 practice sections, in the article's order.
SEED_UNITS = [
    "五常市政协", "巴彦县政协", "宾县政协", "市政协农业和农村委员会", "通河县政协", "市政协提案委员会",
    "延寿县政协", "松北区政协", "道里区政协", "市政协城乡建设资源环境委员会", "市政协教科卫体委员会",
    "阿城区政协", "香坊区政协", "南岗区政协", "市政协社会和法制委员会", "尚志市政协", "双城区政协",
    "道外区政协", "市政协文化文史和学习委员会", "民盟哈尔滨市委",
]


@pytest.fixture(scope="module")
def catalogue(searcher):
    return searcher.catalogue()


def _of(catalogue, unit: str):
    return next(p for p in catalogue.practices if p.unit == unit)


def test_every_seed_practice_with_its_unit(catalogue):
    assert [p.unit for p in catalogue.practices] == SEED_UNITS
    for practice in catalogue.practices:
        assert practice.year == 2022
        assert practice.title and not practice.title.startswith(practice.unit)
        assert practice.lead and practice.text.startswith(practice.lead)
        assert practice.lead.endswith("。")
        assert practice.keywords and not set(practice.keywords) & BOILERPLATE
        assert practice.unit not in practice.keywords
    assert _of(catalogue, "民盟哈尔滨市委").unit_type == "民主党派"
    assert _of(catalogue, "市政协提案委员会").unit_type == "市政协专门委员会"
    assert _of(catalogue, "五常市政协").title == "发挥协商优势 助力“五常大米”品牌价值提升"


def test_practice_text_is_the_section_of_the_document(catalogue, seed_index):
    store = Store(seed_index.index_dir, create=False)
    try:
        for practice in catalogue.practices:
            doc = store.documents_with_text([practice.doc_id])[practice.doc_id]
            assert doc["text"][practice.start:practice.end] == practice.text
    finally:
        store.close()


def test_key_figures_say_what_they_count(catalogue):
    xu = [f.text for f in _of(catalogue, "市政协农业和农村委员会").figures]
    assert any("16000余人次" in text and "服务农民" in text for text in xu)
    lawyers = _of(catalogue, "市政协社会和法制委员会").figures
    assert any(f.value == "47" and f.measure == "名" and "律师委员" in f.text for f in lawyers)
    # "5个原则" names a list for the card; it is not a figure of work done.
    assert not _of(catalogue, "民盟哈尔滨市委").figures


def test_figures_skip_years_and_ordinals():
    found = figures_in("2022年，全县召开第3次会议，走访企业32家，收集意见两百余条。")
    assert [(f.value, f.measure) for f in found] == [("32", "家"), ("两百余", "条")]


def test_the_45721_card_comes_from_the_source_only(catalogue):
    card = next(c for c in catalogue.cards if c.name.startswith("45721"))
    assert card.unit == "民盟哈尔滨市委"
    assert [p.number for p in card.parts] == [4, 5, 7, 2, 1]
    four, five, seven, two, one = card.parts
    assert four.items == ["指向明确", "定位准确", "定向发展", "过筛保障"] and four.category == "全过程"
    assert five.items == ["问题导向", "专业性", "客观性", "可行性", "前瞻性"] and five.category == "原则"
    assert seven.items == ["选题", "选人", "培训", "调研", "研讨", "成果形成", "发布转化"] and seven.category == "环节"
    assert not two.described and not two.items and not one.described and not one.items
    assert [part.number for part in card.parts if not part.described] == [2, 1]
    assert all("原文未说明" in line for line in card_lines(card) if line.startswith(("- **2**", "- **1**")))
    practice = _of(catalogue, "民盟哈尔滨市委")
    assert all(passage in practice.text for passage in card.passages)
    assert card.chunk_ids and catalogue.card_for_chunk(card.chunk_ids[0]) == card


def card_lines(card):
    from kb.practices import card_markdown

    return card_markdown(card).splitlines()


def test_a_quoted_list_becomes_its_own_card(catalogue):
    card = next(c for c in catalogue.cards if c.name == "“三张网”")
    assert card.unit == "通河县政协"
    assert card.parts[0].items == ["常委与界别委员联络网", "专委会与工作小组联络网", "党员委员与党外委员联络网"]


def test_no_card_without_a_list_that_matches_its_count(catalogue):
    # "三种类型委员工作站" follows a quoted name, not its list; "发挥三个作用" lists nothing.
    assert {c.name for c in catalogue.cards} == {"45721 专题智库模式", "“三张网”"}


def _practice(text: str) -> Practice:
    return Practice(practice_id="t#1", doc_id="t", document_title="t", unit="某区政协", unit_type="区政协",
                    year=2023, title="t", heading="某区政协 t", lead="", text=text, start=0, end=len(text),
                    chunks=[(1, 0, len(text))])


def test_a_model_whose_parts_are_listed_after_their_count():
    cards = approach_cards(_practice(
        "某区政协推行“321”协商工作法。3个环节：会前调研、会中协商、会后督办；2个机制，即专家咨询、跟踪问效；"
        "1个平台。"
    ))
    assert len(cards) == 1 and cards[0].name == "321 协商工作法"
    three, two, one = cards[0].parts
    assert three.items == ["会前调研", "会中协商", "会后督办"]
    assert two.items == ["专家咨询", "跟踪问效"]
    assert not one.described


def test_a_number_alone_is_not_a_model():
    assert approach_cards(_practice("全区建成345个委员工作站，覆盖全部社区。")) == []


def test_themes_partition_the_practices(catalogue):
    members = [pid for theme in catalogue.themes for pid in theme.practice_ids]
    assert sorted(members) == sorted(p.practice_id for p in catalogue.practices)
    names = [t.name for t in catalogue.themes]
    assert len(set(names)) == len(names) >= 2
    for theme in catalogue.themes:
        assert all(catalogue.practice(pid).theme == theme.name for pid in theme.practice_ids)
        assert not set(theme.keywords) & BOILERPLATE


def test_theme_filter_keeps_search_inside_the_theme(searcher, catalogue):
    theme = catalogue.themes[0]
    allowed = set(catalogue.theme_chunk_ids(theme.name))
    response = searcher.search("委员如何联系群众", filters={"theme": [theme.name]}, k=20)
    assert response.hits and {hit.chunk_id for hit in response.hits} <= allowed


def test_similar_practices_are_other_units_closest_first(catalogue):
    practice = _of(catalogue, "延寿县政协")
    similar = catalogue.similar(practice.practice_id, 5)
    assert len(similar) == 5 and practice.unit not in {s.unit for s in similar}
    assert [s.similarity for s in similar] == sorted((s.similarity for s in similar), reverse=True)
    for other in similar:
        assert other.shared_keywords and set(other.shared_keywords) <= set(practice.terms) & set(catalogue.practice(other.practice_id).terms)
    # Volunteer stations in townships: another station practice should be among the closest.
    assert any("工作站" in s.title for s in similar[:3])


def test_csv_export_opens_in_excel(catalogue):
    text = export(catalogue, "csv")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text[1:])))
    # Headers as staff read them, the same as the workbook's; the JSON keeps the field names.
    assert list(rows[0]) == ["编号", "单位", "单位类型", "年份", "标题", "概要", "关键数字", "关键词", "主题", "来源文件"]
    assert [r["单位"] for r in rows] == SEED_UNITS
    assert all(r["主题"] and r["关键词"] and r["概要"] for r in rows)
    assert "16000余人次" in next(r for r in rows if r["单位"] == "市政协农业和农村委员会")["关键数字"]
    assert "practice_id" in json.loads(export(catalogue, "json"))["practices"][0]


def test_markdown_and_json_exports(catalogue):
    markdown = export(catalogue, "md")
    assert markdown.count("### ") >= len(SEED_UNITS) and "原文未说明" in markdown
    data = json.loads(export(catalogue, "json"))
    assert len(data["practices"]) == 20 and {c["name"] for c in data["cards"]} >= {"45721 专题智库模式"}
    with pytest.raises(ValueError, match="xlsx"):
        export(catalogue, "xlsx")


def test_cli_lists_exports_and_shows(seed_index, tmp_path):
    table = kb("practices", index_dir=seed_index.index_dir).stdout
    assert "20 practices" in table and "民盟哈尔滨市委" in table
    out = tmp_path / "实践目录.csv"
    kb("practices", "--format", "csv", "-o", str(out), index_dir=seed_index.index_dir)
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    shown = kb("practices", "show", "民盟哈尔滨市委", index_dir=seed_index.index_dir).stdout
    assert "指向明确、定位准确、定向发展、过筛保障" in shown and "原文未说明" in shown and "谁还做过类似的" in shown
    assert "###" not in shown and "**" not in shown  # a card as text in a terminal, not Markdown
    cards = kb("practices", "cards", index_dir=seed_index.index_dir).stdout
    assert "45721 专题智库模式（民盟哈尔滨市委）" in cards and "###" not in cards and "> " not in cards
    themes = kb("practices", "themes", index_dir=seed_index.index_dir).stdout
    assert len(themes.strip().splitlines()) >= 2
    # Units by the names staff use: a short form the text uses, a station's own name, a numbered heading.
    for name, unit in (("社法委", "市政协社会和法制委员会"), ("徐福志委员工作站", "市政协农业和农村委员会"),
                       ("一、五常市政协", "五常市政协"), ("五常政协", "五常市政协")):
        named = kb("practices", "show", name, index_dir=seed_index.index_dir).stdout
        assert named.startswith(f"{unit}："), (name, named[:60])
    filtered = kb("search", "公益法律服务", "-f", "unit=社法委", "--json", index_dir=seed_index.index_dir).stdout
    assert json.loads(filtered) and {hit["unit"] for hit in json.loads(filtered)} == {"市政协社会和法制委员会"}
    unknown = kb("practices", "show", "不存在的单位", index_dir=seed_index.index_dir, check=False)
    assert unknown.returncode == 2 and "不存在的单位" in unknown.stderr


def test_theme_names_say_the_work_the_practices_share(catalogue):
    """An area of CPPCC work most members speak of (its words in their text), or phrases of their text."""
    for theme in catalogue.themes:
        members = [catalogue.practice(pid) for pid in theme.practice_ids]
        area, _, phrase = theme.name.partition("·")
        if area in WORK_AREAS:
            speaking = [p for p in members if any(term in f"{p.title}\n{p.text}" for term in WORK_AREAS[area])]
            assert len(speaking) * 2 >= len(members), theme.name
            parts = [phrase] if phrase else []
        else:
            parts = theme.name.split("、")
        for part in parts:
            assert 2 <= len(part) <= 12, theme.name
            assert any(part in f"{p.title}\n{p.text}" for p in members), (part, theme.name)
            assert part not in BOILERPLATE
    # The seed review's stations and its lawyers are themes of their own, named for that work.
    assert catalogue.practice(_of(catalogue, "延寿县政协").practice_id).theme.startswith(("委员工作站建设", "基层协商议事"))
    assert catalogue.practice(_of(catalogue, "市政协社会和法制委员会").practice_id).theme.startswith("法律服务")


def test_keywords_leave_out_leaders_formulas_and_names(catalogue):
    # Also cuts across words ("实事办好" → 事办) and short forms of the unit's own name (社法, 科委).
    noise = {"中共中央", "习近平", "总书记", "全力", "全国政协", "人民日报", "徐福", "中共党员", "事办", "社法", "科委"}
    for practice in catalogue.practices:
        assert not set(practice.keywords) & noise, (practice.unit, practice.keywords)
        assert len(practice.keywords) >= 5, (practice.unit, practice.keywords)
    # 徐福志's workstation is known by what it does, not by a cut-off name.
    workstation = _of(catalogue, "市政协农业和农村委员会")
    assert "工作站" in workstation.keywords


def test_map_puts_similar_practices_near_each_other(catalogue):
    from kb.practices import practice_map

    points = practice_map(catalogue)
    assert [p.practice_id for p in points] == [p.practice_id for p in catalogue.practices]
    assert points == practice_map(catalogue)  # seeded: the same map every time
    # The practice most similar to each one lies nearer than the average other practice.
    nearer = 0
    for point in points:
        closest = catalogue.similar(point.practice_id, 1)[0]
        other = next(p for p in points if p.practice_id == closest.practice_id)
        distance = ((point.x - other.x) ** 2 + (point.y - other.y) ** 2) ** 0.5
        mean = sum(((point.x - p.x) ** 2 + (point.y - p.y) ** 2) ** 0.5 for p in points) / (len(points) - 1)
        nearer += distance < mean
    assert nearer >= 0.8 * len(points), nearer


def test_a_name_of_counted_words_gets_a_card_of_what_the_text_spells_out():
    cards = approach_cards(_practice(
        "某区政协推行“三融三计”工作法。所谓“三融”，即阵地相融、力量相融、成果相融；所谓“三计”，即问计于民、聚计于委、献计于政。"
        "工作站按“五有四上墙”标准建设，做到有阵地、有制度、有人员、有活动、有成效。另设“一会三室”。"
    ))
    by_name = {card.name: card for card in cards}
    assert set(by_name) == {"“三融三计”工作法", "“五有四上墙”"}  # “一会三室” is never spelled out: no card
    melt, plan = by_name["“三融三计”工作法"].parts
    assert melt.items == ["阵地相融", "力量相融", "成果相融"] and plan.items == ["问计于民", "聚计于委", "献计于政"]
    five, four = by_name["“五有四上墙”"].parts
    assert five.items == ["有阵地", "有制度", "有人员", "有活动", "有成效"]
    assert four.number == 4 and not four.described and not four.items  # never invented
