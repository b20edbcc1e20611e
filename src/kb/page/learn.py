"""The 学习 tab: practices by unit and theme, similar practices, approach cards."""

from __future__ import annotations

import html
import threading

import streamlit as st

from kb.practices import Catalogue, card_markdown, matching
from kb.search import Searcher


def learn_view(searcher: Searcher, lock: threading.Lock) -> None:
    with lock:
        catalogue: Catalogue = searcher.catalogue()
    if not catalogue.practices:
        st.info("索引中还没有创新实践。综述文章里以单位名称开头的小节（如“五常市政协 发挥协商优势 …”）会列在这里。")
        return
    units = list(dict.fromkeys(p.unit for p in catalogue.practices))
    st.caption(
        f"{len(catalogue.practices)} 项创新实践，来自 {len(units)} 个单位。按单位或主题浏览；"
        "展开一项可看关键数字、关键词和“谁还做过类似的”。"
    )
    left, right = st.columns(2)
    unit = left.selectbox("单位", units, index=None, placeholder="全部单位", key="learn-unit")
    sizes = {t.name: len(t.practice_ids) for t in catalogue.themes}
    theme = right.selectbox("主题", list(sizes), index=None, placeholder="全部主题", key="learn-theme",
                            format_func=lambda name: f"{name}（{sizes[name]} 项）")
    chosen = matching(catalogue.practices, unit, theme)
    for practice in chosen:
        with st.expander(f"{practice.unit}：{practice.title}"):
            _render_practice(catalogue, practice)
    st.subheader("方法卡片")
    st.caption("文中定义的编号模式（如“45721”）及各数字对应的内容，只取自原文；原文没有说明的数字会注明。")
    for card in catalogue.cards:
        with st.container(border=True):
            st.markdown(card_markdown(card))


def _render_practice(catalogue: Catalogue, practice) -> None:
    st.caption(f"{practice.document_title} · {practice.year or '年份不详'} · {practice.unit_type or '—'} · 主题：{practice.theme}")
    st.markdown(practice.lead)
    if practice.figures:
        st.markdown("**关键数字**\n" + "\n".join(f"- {html.escape(f.text)}" for f in practice.figures))
    st.markdown(f"**关键词** {'、'.join(practice.keywords)}")
    similar = catalogue.similar(practice.practice_id, 3)
    if similar:
        lines = []
        for other in similar:
            shared = f"（共同关键词：{'、'.join(other.shared_keywords)}）" if other.shared_keywords else ""
            lines.append(f"- {html.escape(other.unit)}：{html.escape(other.title)}{shared}")
        st.markdown("**谁还做过类似的**\n" + "\n".join(lines))
    for card in catalogue.cards:
        if card.practice_id == practice.practice_id:
            st.markdown(card_markdown(card))
    if st.checkbox("显示全文", key=f"full-{practice.practice_id}"):
        st.text(practice.text)
