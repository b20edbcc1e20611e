"""The practice detector and the unit names it reads: each layout CPPCC bodies write in, units from
anywhere in China, titles, dates and sources; the development set's gold (tests/data/practices)."""

from __future__ import annotations

import json

import pytest
from support import DATA

from kb.evaluate import score_practices
from kb.ingest import load
from kb.ingest.chunking import chunk_document
from kb.ingest.units import most_named_unit, unit_at_start, unit_type_of, units_named_in
from kb.records import CPPCC_RULES, OTHER, POLICY, PRACTICE

DEVSET = DATA / "practices"


@pytest.mark.parametrize(("line", "unit", "rest"), [
    ("五常市政协 发挥协商优势", "五常市政协", "发挥协商优势"),
    ("市政协农业和农村委员会 打造“徐福志委员工作站”", "市政协农业和农村委员会", "打造“徐福志委员工作站”"),
    ("湖州市政协:市委书记带队调研", "湖州市政协", "市委书记带队调研"),
    ("湖州市政协：建立请你来协商平台", "湖州市政协", "建立请你来协商平台"),
    ("嘉兴南湖区政协组织委员开展委员会客厅活动", "嘉兴南湖区政协", "组织委员开展委员会客厅活动"),
    ("政协岳阳市第九届委员会常务委员会工作报告", "岳阳市政协", "常务委员会工作报告"),
    ("中国人民政治协商会议常宁市委员会", "常宁市政协", ""),
    ("一、青山县政协 建立乡镇工作站", "青山县政协", "建立乡镇工作站"),
    ("（二）锡林郭勒盟政协：推行", "锡林郭勒盟政协", "推行"),
    ("九三学社湖州市委员会 参政议政", "九三学社湖州市委", "参政议政"),
    ("中国民主同盟浙江省委员会 调研", "民盟浙江省委", "调研"),
    ("民建浙江省委会 调研", "民建浙江省委", "调研"),
    ("市政协社法委：法律服务进社区", "市政协社法委", "法律服务进社区"),
    ("杭州市上城区工商联 服务企业", "杭州市上城区工商联", "服务企业"),
])
def test_a_unit_opens_a_line(line, unit, rest):
    assert unit_at_start(line) == (unit, rest)


@pytest.mark.parametrize("line", ["在全市政协委员工作站建设推进会上的讲话", "全市政协系统创新工作综述", "人民政协报",
                                  "政协委员风采", "关于县政协工作的意见"])
def test_words_around_a_level_are_no_unit(line):
    assert unit_at_start(line) is None


def test_units_named_in_running_text_stop_at_other_words():
    text = ("近日湖州市政协组织委员赴安吉调研，紧扣省政协要求。民盟湖州市委参加。嘉兴南湖区政协也派员参加，"
            "并向政协岳阳市委员会通报。人民政协、全市政协系统都不是单位。")
    assert [m.unit for m in units_named_in(text)] == ["湖州市政协", "省政协", "民盟湖州市委", "嘉兴南湖区政协",
                                                     "岳阳市政协"]
    assert most_named_unit("市政协主席指出，安吉县政协要……安吉县政协在全县推开。") == "安吉县政协"
    assert most_named_unit("会上，市政协主席出席。") == ""  # named once: a passing mention


def test_unit_types_come_from_the_name():
    assert [unit_type_of(u) for u in ("浙江省政协", "湖州市政协", "安吉县政协", "南湖区政协", "市政协提案委员会",
                                      "市政协社法委", "九三学社湖州市委", "温州市工商联", "市政协经济界")] == [
        "省政协", "市政协", "县市政协", "区政协", "市政协专门委员会", "市政协专门委员会", "民主党派", "工商联", "政协界别"]
    # In a city system's review, the other cities it names are its county-level cities.
    assert unit_type_of("五常市政协", county_level_cities=True) == "县市政协"
    assert unit_type_of("市政协", county_level_cities=True) == "市政协"


def _doc(tmp_path, text: str, name: str = "doc.md"):
    (tmp_path / name).write_text(text, encoding="utf-8")
    return load(tmp_path / name, name)


def test_a_work_report_has_a_practice_per_numbered_section_and_none_for_plans(tmp_path):
    doc = _doc(tmp_path, "政协某某市第五届委员会常务委员会工作报告\n\n——2024年1月9日在政协某某市第五届委员会第三次会议上\n\n"
                         "一、2023年工作回顾\n\n（一）聚焦产业发展协商议政\n\n组织委员围绕产业发展开展调研十余次。\n\n"
                         "(二)深化委员工作室建设\n\n全市建成委员工作室二十个，每月开展活动。\n\n"
                         "二、2024年工作建议\n\n继续深化委员工作室建设。\n")
    assert doc.metadata.unit == "某某市政协" and doc.metadata.year == 2024
    assert [(p.title, p.layout) for p in doc.practices] == [("聚焦产业发展协商议政", "numbered_section"),
                                                            ("深化委员工作室建设", "numbered_section")]
    assert "继续深化" not in "".join(doc.text[p.start:p.end] for p in doc.practices)


def test_a_heading_that_is_a_numbered_unit_alone_titles_its_practice_by_what_it_did(tmp_path):
    """A Word collection numbers its units' headings (一、青山县政协): the number is neither unit nor title."""
    doc = _doc(tmp_path, "# 某县政协2023年创新工作汇编\n\n## 一、青山县政协\n\n青山县政协在全县组建委员工作室12个，委员每月"
                         "到工作室接待群众。\n\n## 二、绿水县政协：打造协商议事平台\n\n绿水县政协在乡镇建设协商议事室。\n")
    assert [(p.unit, p.title) for p in doc.practices] == [("青山县政协", "在全县组建委员工作室12个"),
                                                         ("绿水县政协", "打造协商议事平台")]


def test_a_list_of_units_cases_with_either_colon(tmp_path):
    doc = _doc(tmp_path, "典型案例选编\n\n甲市政协：建立网上议事厅\n\n群众在线提交议题。\n\n"
                         "乙县政协:推行三色督办\n\n未按期办理的亮红灯。\n")
    assert [(p.unit, p.title, p.layout) for p in doc.practices] == [
        ("甲市政协", "建立网上议事厅", "unit_colon"), ("乙县政协", "推行三色督办", "unit_colon")]
    chunks = chunk_document(doc, 200, 0)
    assert [(c.unit, c.kind) for c in chunks if "红灯" in c.text] == [("乙县政协", PRACTICE)]


def test_a_news_feature_is_its_units_practice_with_its_date_and_source(tmp_path):
    doc = _doc(tmp_path, "“小板凳”议出大民生\n\n——某某区政协推动协商向院落延伸\n\n发布时间：2017-03-09 10:30　来源：某某日报\n\n"
                         "2015年，某某区政协开始把议事会开到院落。某某区政协委员带着议题进社区。\n")
    assert doc.metadata.title == "“小板凳”议出大民生"
    assert (doc.metadata.unit, doc.metadata.year, doc.metadata.extra["来源"]) == ("某某区政协", 2017, "某某日报")
    assert [(p.unit, p.layout) for p in doc.practices] == [("某某区政协", "whole_document")]


def test_a_text_of_no_cppcc_body_and_a_law_hold_no_practice(tmp_path):
    news = _doc(tmp_path, "社区开展宣传周活动\n\n社区志愿者在小区门口设置宣传台。\n", "a.md")
    law = _doc(tmp_path, "# 中华人民共和国某某法\n\n第一条 为了规范某某工作，制定本法。\n", "b.md")
    assert not news.practices and not law.practices
    from kb.ingest.practices import kind_at

    assert kind_at(law.practices, law.metadata.doc_type, 0)[0] == POLICY
    assert kind_at(news.practices, news.metadata.doc_type, 0)[0] == OTHER


def test_a_cppcc_bodys_own_rule_is_not_national_law(tmp_path):
    doc = _doc(tmp_path, "# 政协某某市委员会社情民意信息工作办法\n\n（2023年3月10日政协某某市委员会常委会议通过）\n\n"
                         "第一条 为做好社情民意信息工作，制定本办法。\n")
    assert (doc.metadata.doc_type, doc.metadata.unit) == (CPPCC_RULES, "某某市政协")
    assert [(p.unit, p.layout) for p in doc.practices] == [("某某市政协", "cppcc_rule")]
    policy = _doc(tmp_path, "# 中共中央关于加强和改进新时代政协工作的意见\n\n各地要加强政协工作。\n", "c.md")
    assert policy.metadata.doc_type == "政策文件" and not policy.practices


def test_a_first_line_that_is_a_sentence_titles_the_document_by_its_first_clause(tmp_path):
    doc = _doc(tmp_path, "某某县政协围绕乡村振兴开展了大量工作，取得了明显成效，受到群众广泛好评，各方面都很满意。\n\n正文。\n")
    assert doc.metadata.title == "某某县政协围绕乡村振兴开展了大量工作，取得了明显成效，受到群…"


def test_the_development_set_against_its_gold():
    """≥ 0.9 precision and recall with the right unit, on the development set's 16 documents."""
    gold = json.loads((DEVSET / "gold.json").read_text(encoding="utf-8"))
    scores = score_practices(DEVSET / "docs", gold)
    assert scores.precision >= 0.9 and scores.recall >= 0.9, (scores.misses, scores.wrong)
    layouts = {p.layout for name in gold for p in load(DEVSET / "docs" / name, name).practices}
    assert layouts == {"unit_heading", "unit_colon", "numbered_section", "whole_document", "cppcc_rule"}
    assert {name.rsplit(".", 1)[1] for name in gold} >= {"md", "docx", "pdf", "txt"}


def test_a_reports_unnumbered_part_about_plans_holds_no_practice(tmp_path):
    """"回望2024：…" then "展望2025：…": the numbered sections under the second are plans."""
    doc = _doc(tmp_path, "政协某某市第九届委员会常务委员会工作报告\n\n回望2024：初心如磐担使命\n\n"
                         "（一）牢牢把握本质特征，思想政治引领得到新加强\n\n全年举行党组会议二十七次，组织委员学习。\n\n"
                         "（二）聚焦中心大局，协商议政取得新成效\n\n召开专题协商会十二次，形成建议八十条。\n\n"
                         "展望2025：凝心聚力谱新篇\n\n（一）坚持党的领导，进一步筑牢思想基础\n\n新的一年要继续加强学习和培训。\n")
    assert [p.title for p in doc.practices] == ["牢牢把握本质特征，思想政治引领得到新加强", "聚焦中心大局，协商议政取得新成效"]


def test_a_journal_articles_author_note_names_its_unit(tmp_path):
    text = "以协商推动基层治理\n\n" + "近年来，我们探索协商议事新路子，取得明显成效。\n\n" * 8 + "（作者单位：浙江省青山县政协）\n"
    doc = _doc(tmp_path, text)
    assert [(p.unit, p.layout) for p in doc.practices] == [("浙江省青山县政协", "whole_document")]
    short = _doc(tmp_path, "以协商推动基层治理\n\n县政协组织委员深入村组。\n\n（作者系青山县政协主席）\n", "b.md")
    assert short.metadata.unit == "青山县政协"
