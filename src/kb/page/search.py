"""The 检索 tab: query, mode, filters, and hits with their evidence, context and similar passages."""

from __future__ import annotations

import html
import threading

import streamlit as st

from kb.config import Settings
from kb.page.shared import (
    cached_searcher,
)
from kb.practices import Catalogue, card_markdown
from kb.records import PRACTICE, SECTION_TITLES, Hit, SearchResponse
from kb.search import QueryError, Searcher, term_spans

MODES = {"混合": "hybrid", "语义": "semantic", "关键词": "keyword"}
FACETS = {"unit": "发文单位", "unit_type": "单位类型", "year": "年份", "doc_type": "文件类型"}
EXAMPLE = "哪个县组织委员帮农民打造大米品牌？"


def _highlighted(text: str, terms: list[str]) -> str:
    pieces, last = [], 0
    for start, end in term_spans(text, terms):
        pieces += [html.escape(text[last:start]), f"<mark>{html.escape(text[start:end])}</mark>"]
        last = end
    pieces.append(html.escape(text[last:]))
    return "".join(pieces).replace("\n", "<br>")


def _why(hit: Hit) -> str:
    parts = [f"融合得分 {hit.score:.4f}"]
    if hit.semantic:
        parts.append(f"语义排名 #{hit.semantic.rank}（相似度 {hit.semantic.score:.3f}）")
    if hit.keyword:
        parts.append(f"关键词排名 #{hit.keyword.rank}（BM25 {hit.keyword.score:.2f}）")
    if hit.matched_terms:
        parts.append("命中词：" + "、".join(hit.matched_terms[:8]))
    return " · ".join(parts)


def _render_hit(searcher: Searcher, lock: threading.Lock, hit: Hit, rank: int, catalogue: Catalogue) -> None:
    card = catalogue.card_for_chunk(hit.chunk_id)
    with st.container(border=True):
        where = " › ".join(hit.heading_path[1:] if len(hit.heading_path) > 1 else hit.heading_path)
        if hit.page:
            where += f"（第 {hit.page} 页）"
        # A practice is known by its unit; a law by its title.
        source = hit.unit if hit.kind == PRACTICE else hit.document
        st.markdown(f"**{rank}. {html.escape(source or '—')}** · {html.escape(where)}")
        st.markdown(f"<div class='kb-hit'>{_highlighted(hit.text, hit.matched_terms)}</div>", unsafe_allow_html=True)
        st.caption(_why(hit))
        with st.expander("上下文与全文"):
            with lock:
                neighbours = searcher.neighbours(hit.chunk_id, 1, 1)
                section = searcher.section_text(hit.chunk_id)
            for row in neighbours:
                if row["chunk_id"] == hit.chunk_id:
                    st.markdown(f"**▶ {html.escape(row['text'])}**")
                else:
                    st.caption(row["text"])
            st.markdown("**所在章节全文**")
            st.text(section)
        if card:
            with st.expander(f"方法卡片：{card.name}"):
                st.markdown(card_markdown(card))
        st.button("相似段落", key=f"similar-{hit.chunk_id}", on_click=_show_similar, args=(hit.chunk_id,))


def _show_similar(chunk_id: int) -> None:
    st.session_state["similar_to"] = chunk_id


def _render_response(searcher: Searcher, lock: threading.Lock, response: SearchResponse, mode: str) -> None:
    other = "语义" if mode == "keyword" else "关键词"
    if not response.hits:
        st.warning(f"没有找到结果。可以换个说法，或切换到「{other}」模式再试。")
        return
    st.caption(f"「{response.query}」共 {len(response.hits)} 条结果，用时 {response.seconds * 1000:.0f} 毫秒"
               f"（索引第 {response.generation} 代）")
    if all(hit.weak for hit in response.hits):
        st.warning(f"没有找到足够相关的结果。可以减少关键词、换个说法，或切换到「{other}」模式再试；"
                   "下面是较弱的匹配，仅供参考。")
    with lock:
        catalogue = searcher.catalogue()
    sections = [(SECTION_TITLES[g.kind], g.hits) for g in response.groups] or [("相似段落", response.hits)]
    for title, hits in sections:
        strong = [hit for hit in hits if not hit.weak]
        weak = [hit for hit in hits if hit.weak]
        st.subheader(f"{title}（{len(hits)}）")
        for rank, hit in enumerate(strong, start=1):
            _render_hit(searcher, lock, hit, rank, catalogue)
        if weak:
            with st.expander(f"较弱的匹配（{len(weak)}）", expanded=not strong and len(sections) == 1):
                for rank, hit in enumerate(weak, start=len(strong) + 1):
                    _render_hit(searcher, lock, hit, rank, catalogue)


def search_view(settings: Settings, searcher: Searcher, lock: threading.Lock) -> None:
    with st.sidebar:
        st.header("检索设置")
        mode_label = st.radio("检索方式", list(MODES), horizontal=True, key="mode")
        mode = MODES[mode_label]
        weight = st.slider(
            "语义权重（混合模式）", 0.0, 1.0, 0.5, 0.1, key="weight", disabled=mode != "hybrid",
            help="0 只看关键词，1 只看语义；两路得分各自归一化后按此权重相加。",
        )
        top_k = st.number_input("结果数", 1, 50, settings.top_k, key="top_k")
        st.header("筛选")
        with lock:
            facets = searcher.facets()
            themes = searcher.catalogue().themes
        filters: dict[str, list[str]] = {}
        if themes:
            chosen_themes = st.multiselect(
                "主题（创新实践）", [t.name for t in themes], key="facet-theme", placeholder="不限",
                help="按内容相近的实践分组，组名取自组内共同的关键词；选中后只检索这些实践。",
            )
            if chosen_themes:
                filters["theme"] = chosen_themes
        for field, label in FACETS.items():
            counts = facets.get(field, {})
            if not counts:
                continue
            chosen = st.multiselect(
                label, list(counts), key=f"facet-{field}", placeholder="不限",
                format_func=lambda v, c=counts: f"{v}（{c[v]}）",
            )
            if chosen:
                filters[field] = chosen
    _search_results(settings.model_dump_json(), mode, weight, int(top_k), filters)


@st.fragment
def _search_results(settings_json: str, mode: str, weight: float, top_k: int, filters: dict[str, list[str]]) -> None:
    """A fragment: a new query reruns only this, not the 学习 and 管理 tabs, which keeps each search
    cheap for the server when many people search at once (bench/load.py)."""
    searcher, lock = cached_searcher(settings_json)
    query = st.text_input("输入问题或关键词，按回车检索", placeholder=f"例如：{EXAMPLE}", key="query", max_chars=2000)
    similar_to = st.session_state.get("similar_to")
    if similar_to is not None:
        st.info("与所选段落相似的内容")
        st.button("返回检索结果", on_click=st.session_state.pop, args=("similar_to", None))
        with lock:
            try:
                response = searcher.more_like_this(similar_to, top_k)
            except QueryError as exc:
                st.error(str(exc))
                return
        _render_response(searcher, lock, response, "semantic")
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
        except QueryError as exc:
            st.error(f"无法检索：{exc}")
            return
    _render_response(searcher, lock, response, mode)
