"""The 检索 tab: the question, how to search and what to filter by, and the hits in sections by kind,
with a Word export of what was found."""

from __future__ import annotations

import threading

import streamlit as st

from kb.config import SEARCH_MODES, Settings
from kb.page.hits import render_hit
from kb.page.shared import DOCX, cached_searcher, carry_theme_choice, download_name
from kb.page.words import counted_in_words
from kb.records import SearchResponse
from kb.report import search_docx
from kb.search import QueryError, Searcher

FACETS = {"unit": "发文单位", "unit_type": "单位类型", "year": "年份", "doc_type": "文件类型"}
EXAMPLE = "哪个县组织委员帮农民打造大米品牌？"


def search_view(settings: Settings, searcher: Searcher, lock: threading.Lock, semantic: bool) -> None:
    with st.expander("检索方式与筛选", expanded=False):
        mode_column, weight_column, count_column = st.columns([2, 3, 1])
        mode = mode_column.radio("检索方式", list(SEARCH_MODES), format_func=SEARCH_MODES.get, horizontal=True,
                                 key="mode")
        weight = weight_column.slider(
            "语义权重（混合模式）", 0.0, 1.0, 0.5, 0.1, key="weight", disabled=mode != "hybrid",
            help="0 只看关键词，1 只看意思；两路得分各自归一化后按此权重相加。",
        )
        top_k = count_column.number_input("每类结果数", 1, 50, settings.top_k, key="top_k")
        filters = _filters(searcher, lock)
    if not semantic and mode != "keyword":
        mode = "keyword"
        st.caption("语义模型加载完成前，先按关键词检索。")
    _search_results(settings.model_dump_json(), mode, weight, int(top_k), filters)


def _filters(searcher: Searcher, lock: threading.Lock) -> dict[str, list[str]]:
    with lock:
        facets = searcher.facet_counts()
        themes = searcher.catalogue().themes
    filters: dict[str, list[str]] = {}
    columns = st.columns(len(FACETS) + bool(themes))
    if themes:
        carry_theme_choice("facet-theme", searcher.catalogue())
        chosen_themes = columns[-1].multiselect(
            "主题（创新实践）", [t.name for t in themes], key="facet-theme", placeholder="不限", select_all=False,
            help="内容相近的实践归为一组，组名取自组内实践共同使用的说法；选中后只检索这些实践。",
        )
        if chosen_themes:
            filters["theme"] = chosen_themes
    for column, (field, label) in zip(columns, FACETS.items()):
        counts = facets.get(field, {})
        chosen = column.multiselect(
            label, list(counts), key=f"facet-{field}", placeholder="不限", select_all=False,
            format_func=lambda v, c=counts: f"{v}（{counted_in_words(c[v])}）", disabled=not counts,
        )
        if chosen:
            filters[field] = chosen
    return filters


@st.fragment
def _search_results(settings_json: str, mode: str, weight: float, top_k: int, filters: dict[str, list[str]]) -> None:
    """A fragment: a new query reruns only this, not the 学习 and 管理 tabs, which keeps each search
    cheap for the server when many people search at once (bench/load.py)."""
    searcher, lock = cached_searcher(settings_json)
    query = st.text_input("输入问题或关键词，按回车检索", placeholder=f"例如：{EXAMPLE}", key="query", max_chars=2000)
    similar_to = st.session_state.get("similar_to")
    if similar_to is not None:
        st.info("与所选段落意思相近的内容")
        st.button("返回检索结果", on_click=st.session_state.pop, args=("similar_to", None))
        with lock:
            try:
                response = searcher.more_like_this(similar_to, top_k)
            except QueryError:
                st.error("所选段落已不在索引中（索引已更新），请重新检索。")
                return
        _render_response(searcher, lock, response, "semantic", "相似段落")
        return
    if not query.strip():
        st.caption("可以用一句话描述想找的做法，例如“律师委员怎样提供公益法律服务”，也可以输入单位名称或关键词。")
        return
    with lock:
        try:
            response = searcher.search(
                query, mode=mode, k=top_k, filters=filters,
                semantic_weight=2 * weight, keyword_weight=2 * (1 - weight), grouped=True,
            )
        except QueryError:
            st.error("无法检索这个问题，请换个说法再试。")
            return
        damage = searcher.damage
    if damage:
        # The whole reason (with the server's path) is in the server's log; a visitor learns that much.
        st.info("索引的向量文件缺失或已损坏：本次检索改用数据库中保存的向量，结果不受影响。"
                "请管理员在服务器上运行 kb check --repair 修复。")
    _render_response(searcher, lock, response, mode, f"「{response.query}」")


def _render_response(searcher: Searcher, lock: threading.Lock, response: SearchResponse, mode: str,
                     label: str) -> None:
    other = "语义" if mode == "keyword" else "关键词"
    if not response.hits:
        st.warning(f"没有找到结果。可以换个说法，或切换到「{other}」方式再试。")
        return
    summary, export = st.columns([4, 1])
    summary.caption(f"{label}共 {len(response.hits)} 条结果，用时 {response.seconds * 1000:.0f} 毫秒"
                    f"（索引第 {response.generation} 版）")
    export.download_button(
        # Made when clicked, not at every search.
        "导出为 Word", lambda: search_docx(response, searcher.settings.timezone), mime=DOCX, key="export-search",
        file_name=download_name(f"检索结果-{label.strip('「」')}", ".docx"), on_click="ignore", width="stretch",
    )
    if all(hit.weak for hit in response.hits):
        asked = f"问题问的是{response.asks}，找到的实践和综述都没有写到。" if response.asks else ""
        st.warning(f"没有找到足够相关的结果。{asked}可以减少关键词、换个说法，或切换到「{other}」方式再试；"
                   "下面是较弱的匹配，仅供参考。")
    with lock:
        catalogue = searcher.catalogue()
    if response.groups:
        sections = [(g.title, g.hits, g.weak) for g in response.groups]
    else:  # similar passages: one ranking, its weak hits apart as in the sections
        sections = [("相似段落", [h for h in response.hits if h.weak is weak], weak) for weak in (False, True)]
    # The weak sections come last (kb.search.kinds): folded together, under the strong ones.
    strong = [(title, hits) for title, hits, weak in sections if hits and not weak]
    weak = [(title, hits) for title, hits, is_weak in sections if hits and is_weak]
    for title, hits in strong:
        st.subheader(f"{title}（{len(hits)}）")
        for rank, hit in enumerate(hits, start=1):
            render_hit(searcher, lock, hit, rank, catalogue)
    if weak:
        with st.expander(f"较弱的匹配（{sum(len(hits) for _, hits in weak)}）", expanded=not strong):
            for title, hits in weak:
                st.caption(f"{title}（{len(hits)}）")
                for rank, hit in enumerate(hits, start=1):
                    render_hit(searcher, lock, hit, rank, catalogue)

