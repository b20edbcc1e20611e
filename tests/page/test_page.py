"""The Streamlit page driven through Streamlit's AppTest, as a user clicks and types."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest
from support import ROOT

from kb.config import Settings
from kb.model.embedder import ModelLoadError
from kb.page import shared
from kb.page.shared import model_loader

APP = str(ROOT / "app.py")


def _open_page(settings, monkeypatch) -> AppTest:
    monkeypatch.setenv("KB_INDEX_DIR", str(settings.index_dir))
    monkeypatch.setenv("KB_CORPUS_DIR", str(settings.corpus_dir))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    # The model loads in the background; these tests search as a visitor does once it is ready.
    model_loader(Settings.load().model_dump_json()).wait()
    at.run()
    return at


@pytest.fixture
def page(seed_index, monkeypatch):
    return _open_page(seed_index, monkeypatch)


def _hit_titles(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("**") and ". " in m.value[:8]]


def test_page_is_in_chinese_and_ready(page):
    assert page.title[0].value.startswith("kb · 政协创新工作知识库")
    assert [t.label for t in page.tabs] == ["检索", "学习", "管理"]
    assert page.radio(key="mode").options == ["混合", "语义", "关键词"]


def test_question_about_a_practice_shows_it_first(page):
    page.text_input(key="query").input("律师委员怎样提供免费的法律咨询").run()
    titles = _hit_titles(page)
    assert titles and "市政协社会和法制委员会" in titles[0]
    highlighted = [m.value for m in page.markdown if "<mark>" in m.value]
    assert highlighted and "<mark>律师</mark>" in highlighted[0]
    # Why, in words; the numbers are in the 得分详情 popover.
    assert any(c.value.startswith("意思相近 · 关键词命中：") and "律师" in c.value for c in page.caption)
    assert any(c.value.startswith("语义检索第 1 名") for c in page.caption)
    assert not any("融合得分" in c.value or "BM25 2" in c.value.split("·")[0] for c in page.caption[:4])


def test_expander_holds_context_and_the_whole_practice(page):
    page.text_input(key="query").input("五常大米品牌").run()
    expander = page.expander[1]  # [0] holds the search settings
    assert expander.label == "上下文与全文"
    section = " ".join(t.value for t in expander.text)
    assert "五常大米" in section and len(section) > 200


def test_similar_passages(page):
    page.text_input(key="query").input("委员读书分享").run()
    page.button(key=next(b.key for b in page.button if b.key and b.key.startswith("similar-"))).click().run()
    assert any("与所选段落意思相近" in i.value for i in page.info)
    assert any(c.value.startswith("相似段落共") for c in page.caption)
    assert not any("more like" in c.value for c in page.caption)
    assert _hit_titles(page)


def test_filters_by_unit_type(page):
    page.multiselect(key="facet-unit_type").select("区政协").run()
    page.text_input(key="query").input("委员工作站").run()
    titles = _hit_titles(page)
    assert titles and all("区政协" in t for t in titles)


def test_modes_and_weight(page):
    page.radio(key="mode").set_value("keyword").run()
    assert page.slider(key="weight").disabled
    page.text_input(key="query").input("人民调解协议").run()
    assert any(s.value.startswith("相关政策法规") for s in page.subheader)
    assert any("人民调解法" in title for title in _hit_titles(page))


def test_nothing_found_suggests_the_other_mode(page):
    page.radio(key="mode").set_value("keyword").run()
    page.text_input(key="query").input("qwertyuiopzxcv").run()
    assert any("没有找到结果" in w.value and "语义" in w.value for w in page.warning)


def test_syntax_characters_are_just_text(page):
    page.text_input(key="query").input('"委员 AND (工作站 NEAR*').run()
    assert not page.exception and not page.error


def test_manage_tab_shows_status(page):
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["文档"] == "3" and metrics["索引版本"] == "第 1 版"
    assert any("multilingual-e5-small" in c.value for c in page.caption)


def test_without_an_index_the_page_builds_one(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text("# 委员工作站\n\n南岗区政协在街道建立委员工作站。\n", encoding="utf-8")
    monkeypatch.setenv("KB_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("KB_CORPUS_DIR", str(corpus))
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert not at.exception, at.exception
    assert any("索引完成" in s.value for s in at.success)
    at.text_input(key="query").input("委员工作站").run()
    assert _hit_titles(at)


def test_learn_tab_browses_practices_by_unit_and_theme(page):
    learn = page.tabs[1]
    assert len(learn.expander) == 20
    page.selectbox(key="learn-unit").select("民盟哈尔滨市委").run()
    learn = page.tabs[1]
    assert [e.label for e in learn.expander] == ["民盟哈尔滨市委：完善 45721 专题智库模式 提高参政“含金量”"]
    text = " ".join(m.value for m in learn.expander[0].markdown)
    assert "谁还做过类似的" in text and "指向明确、定位准确、定向发展、过筛保障" in text and "原文未说明" in text
    page.selectbox(key="learn-unit").set_value(None).run()
    theme = page.selectbox(key="learn-theme").options[0]
    page.selectbox(key="learn-theme").select_index(0).run()
    assert 0 < len(page.tabs[1].expander) < 20, theme


def test_search_hit_links_to_its_approach_card(page):
    page.text_input(key="query").input("民盟的专题智库模式是怎样的").run()
    cards = [e for e in page.tabs[0].expander if e.label.startswith("方法卡片")]
    assert cards and cards[0].label == "方法卡片：45721 专题智库模式"
    assert any("过筛保障" in m.value for m in cards[0].markdown)


def test_theme_filter_on_the_search_page(page, searcher):
    theme = page.multiselect(key="facet-theme").options[0]
    catalogue = searcher.catalogue()
    units = {catalogue.practice(pid).unit for t in catalogue.themes if t.name == theme for pid in t.practice_ids}
    page.multiselect(key="facet-theme").select(theme).run()
    page.text_input(key="query").input("委员工作站").run()
    shown = {title.split("**")[1].split(". ", 1)[1] for title in _hit_titles(page)}
    assert shown and shown <= units


@pytest.fixture
def bundled_page(bundled_index, monkeypatch):
    return _open_page(bundled_index, monkeypatch)


def _first_section_titles(at: AppTest) -> list[str]:
    """The hit titles of the first section: numbering starts again at 1 in the next one."""
    titles = _hit_titles(at)
    ends = [i for i, title in enumerate(titles) if i and title.startswith("**1. ")]
    return titles[: ends[0]] if ends else titles


def test_seed_questions_through_the_page(bundled_page):
    from support import seed_queries

    queries = seed_queries()
    first, misses = 0, []
    for query, unit in queries:
        bundled_page.text_input(key="query").input(query).run()
        assert bundled_page.subheader[0].value.startswith("实践案例"), query
        titles = _first_section_titles(bundled_page)
        first += bool(titles) and unit in titles[0]
        if not any(unit in title for title in titles[:3]):
            misses.append((query, unit, titles[:3]))
    assert not misses, misses
    assert first / len(queries) >= 0.95, first


def test_sections_and_the_no_result_message(bundled_page):
    bundled_page.text_input(key="query").input("律师委员扫码提供免费法律咨询").run()
    headers = [s.value for s in bundled_page.subheader]
    # The practice leads; the laws' weak matches are folded under every strong hit.
    assert headers[0].startswith("实践案例（") and not any(h.startswith("其他资料") for h in headers)
    assert any(e.label.startswith("较弱的匹配") for e in bundled_page.expander)
    assert any(c.value.startswith("相关政策法规（较弱的匹配）") for c in bundled_page.caption)
    bundled_page.text_input(key="query").input("红烧肉怎么做才肥而不腻").run()
    assert any("没有找到足够相关的结果" in w.value for w in bundled_page.warning)
    # A CPPCC question the corpus does not answer: the same message, not a practice as the answer.
    bundled_page.text_input(key="query").input("政协办公厅的值班电话是多少").run()
    assert any("没有找到足够相关的结果" in w.value for w in bundled_page.warning)
    assert any(e.label.startswith("较弱的匹配") for e in bundled_page.expander)


def test_first_visit_shows_loading_and_keyword_search_works_meanwhile(seed_index, monkeypatch):
    # A process whose model no visit has loaded yet, whichever tests ran before: this visit starts it.
    monkeypatch.setattr(shared, "_loaders", {})
    shared.cached_searcher.clear()
    monkeypatch.setenv("KB_INDEX_DIR", str(seed_index.index_dir))
    monkeypatch.setenv("KB_CORPUS_DIR", str(seed_index.corpus_dir))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception, at.exception
    assert any(i.value.startswith("语义模型加载中") and "关键词" in i.value for i in at.info)
    assert [t.label for t in at.tabs] == ["检索", "学习", "管理"]
    model_loader(Settings.load().model_dump_json()).wait()
    at.run()
    assert not any("语义模型加载中" in i.value for i in at.info)
    at.text_input(key="query").input("五常大米品牌").run()
    assert not any("先按关键词检索" in c.value for c in at.caption)
    assert any(c.value.startswith("意思相近") for c in at.caption)


def test_without_the_model_keyword_search_still_answers(seed_index, monkeypatch, tmp_path):
    monkeypatch.setenv("KB_MODEL", str(tmp_path / "no-such-model"))
    monkeypatch.setenv("KB_INDEX_DIR", str(seed_index.index_dir))
    monkeypatch.setenv("KB_CORPUS_DIR", str(seed_index.corpus_dir))
    at = AppTest.from_file(APP, default_timeout=120).run()
    with pytest.raises(ModelLoadError, match="does not exist"):
        model_loader(Settings.load().model_dump_json()).wait()
    at.run()
    assert any("语义模型未能加载" in w.value for w in at.warning)
    at.text_input(key="query").input("五常大米品牌").run()
    assert not at.exception, at.exception
    assert any("先按关键词检索" in c.value for c in at.caption)
    assert "五常市政协" in _hit_titles(at)[0]


def test_evidence_in_words_context_labels_and_no_stray_markdown(page):
    page.text_input(key="query").input("五常大米品牌").run()
    first = _hit_titles(page)[0]
    assert first.startswith("**1. 五常市政协** · ") and first.count("五常市政协") == 1  # the unit once
    assert any(c.value.startswith("意思相近 · 关键词命中：") and "五常" in c.value for c in page.caption)
    context = page.expander[1]  # [0] holds the search settings
    assert context.label == "上下文与全文"
    shown = [m.value for m in context.markdown]
    assert any("kb-current" in m and "五常大米" in m for m in shown)
    assert not any(m.startswith("**▶") or m.rstrip().endswith("**") and "所在章节全文" not in m for m in shown)
    # The next passage is 巴彦县政协's practice: it says so.
    assert any("以下属于另一单位的做法：巴彦县政协" in m for m in shown)
    # A passage cut in mid-sentence ends in "…".
    passages = [m.value for m in page.markdown if m.value.startswith("<div class='kb-hit'>")]
    assert passages and all(p.rstrip("</div>")[-1] in "。！？；…”）" for p in passages)


def test_search_settings_live_in_the_search_tab(page):
    assert not page.sidebar.children or not any(True for _ in page.sidebar)
    search_tab = page.tabs[0]
    assert search_tab.radio(key="mode") is not None and search_tab.multiselect(key="facet-unit_type") is not None


def test_learn_tab_has_charts_map_and_exports(page):
    learn = page.tabs[1]
    charts = [e for e in learn if type(e).__name__ == "UnknownElement" and e.type == "vega_lite_chart"]
    assert len(charts) == 4  # unit type, year, theme, and the map
    downloads = {b.label for b in learn.get("download_button")}
    assert {"全部实践导出为 Word", "实践目录导出为 Excel", "实践目录导出为 CSV", "导出为 Word"} <= downloads


def test_times_are_local(page, searcher):
    from kb.text import local_time

    stored = {row["doc_id"]: row["indexed_at"] for row in searcher.documents()}
    table = page.dataframe[0].value
    first = table["文档"][0]
    assert table["索引时间"][0] == local_time(stored[first], "Asia/Shanghai")
    assert "T" not in table["索引时间"][0] and "+" not in table["索引时间"][0]


HOSTILE_REVIEW = """# 某市政协系统创新工作综述

## 青山县政协 ![图](http://127.0.0.1:9/t.png) [点此领奖](javascript:alert(1)) :red[红字] $x^2$ **粗体** 委员议事厅

青山县政协在每个乡镇设立委员议事厅 <img src=http://127.0.0.1:9/a.png>，委员每月接待群众，![片](http://127.0.0.1:9/b.png)
全年接待群众 300 余人次，[详情](http://127.0.0.1:9/c) 形成“1+3”议事模式，即 1 个议事厅 3 类议题 :red[注意]。
"""


def test_text_from_a_document_renders_as_text(tmp_path, monkeypatch, embedder):
    """A heading and a lead carrying an image, links, a colour directive, a formula and emphasis: every
    Markdown element the page shows renders (as CommonMark renders it) without an image, a link or any
    markup from the document, and holds no unescaped Streamlit directive."""
    from markdown_it import MarkdownIt

    from kb.index.indexer import index_paths

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "review.md").write_text(HOSTILE_REVIEW, encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    index_paths(settings, embedder=embedder)
    shared.cached_searcher.clear()
    at = _open_page(settings, monkeypatch)
    at.text_input(key="query").input("委员议事厅接待群众").run()
    assert not at.exception, at.exception
    markdown = MarkdownIt()
    texts = [m.value for m in at.markdown if not m.value.lstrip().startswith("<")]  # kb's own HTML blocks
    texts += [e.label for e in at.expander] + [c.value for c in at.caption]
    assert any("青山县政协" in text for text in texts)
    for text in texts:
        rendered = markdown.render(text)
        assert "<img" not in rendered and "<a " not in rendered and "<strong>粗体" not in rendered, text
        # Streamlit's own syntax beyond CommonMark: a colour directive and KaTeX, unless escaped.
        assert not re.search(r"(?<!\\):red\[|(?<!\\)\$x", text), text
    blocks = [m.value for m in at.markdown if m.value.lstrip().startswith("<div")]
    assert blocks and all("<img" not in block and "<a " not in block for block in blocks)


def test_serving_on_every_interface_asks_no_server_for_an_address(monkeypatch):
    """Streamlit looks up the machine's external address over HTTP when bound to 0.0.0.0; kb serve answers
    it with none, so no request is made (what the banner and the origin check then ask for)."""
    from streamlit import net_util
    from streamlit.web.server import server_util

    from kb.page.serve import no_network_lookups

    requests = []
    monkeypatch.setattr(net_util, "_make_blocking_http_get", lambda url, timeout: requests.append(url))
    monkeypatch.setattr(net_util, "_external_ip", None)
    monkeypatch.setattr(net_util, "get_external_ip", net_util.get_external_ip)  # restored after the test
    monkeypatch.setattr(net_util, "get_internal_ip", net_util.get_internal_ip)
    no_network_lookups()
    assert net_util.get_external_ip() is None and net_util.get_internal_ip() is None
    server_util.is_url_from_allowed_origins("http://evil.example")
    assert requests == []


def test_the_map_is_labelled_and_the_years_read_as_a_timeline(page):
    """A new member reads the map without hovering: each dot with its unit and the start of its title,
    each theme's name among its practices; the year chart is a time axis with whole counts."""
    import json

    specs = [json.loads(chart.proto.spec) for chart in page.get("vega_lite_chart")]
    layered = next(spec for spec in specs if "layer" in spec)
    texts = [layer["encoding"]["text"]["field"] for layer in layered["layer"] if layer["mark"]["type"] == "text"]
    assert texts == ["标注", "主题"]
    import pyarrow

    chart = next(chart for chart in page.get("vega_lite_chart") if "layer" in json.loads(chart.proto.spec))
    tables = [pyarrow.ipc.open_stream(dataset.data.data).read_all() for dataset in chart.proto.datasets]
    labels = next(table for table in tables if "标注" in table.column_names).column("标注").to_pylist()
    assert len(labels) == 20 and "五常市\n发挥协商优势 助力“" in labels
    timeline = next(spec for spec in specs if spec.get("encoding", {}).get("x", {}).get("field") == "年份")
    assert timeline["encoding"]["x"]["type"] == "ordinal"
    assert timeline["encoding"]["y"]["axis"]["format"] == "d" and timeline["encoding"]["y"]["axis"]["tickMinStep"] == 1


def test_filters_count_what_staff_count(page, searcher):
    """A unit type counts its practices (not its passages: "其他（1825）" said nothing); a document type its
    documents; a value with neither its passages."""
    practices = searcher.catalogue().practices
    district = sum(1 for p in practices if p.unit_type == "区政协")
    assert f"区政协（{district} 项实践）" in page.multiselect(key="facet-unit_type").options
    laws = sum(1 for d in searcher.documents() if d["doc_type"] == "法律法规")
    assert f"法律法规（{laws} 份文件）" in page.multiselect(key="facet-doc_type").options
    units = page.multiselect(key="facet-unit").options
    assert "全国人大常委会（2 份文件）" in units and "五常市政协（1 项实践）" in units
