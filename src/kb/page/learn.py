"""The 学习 tab: practices at a glance (charts by unit type, year and theme, a map of similar
practices), then by unit and theme with similar practices and approach cards, each exportable."""

from __future__ import annotations

import threading

import altair as alt
import pandas as pd
import streamlit as st

from kb.config import Settings
from kb.page.shared import DOCX, XLSX, download_name
from kb.practices import Catalogue, Practice, card_markdown, export, matching
from kb.report import cards_docx, catalogue_xlsx, practices_docx
from kb.search import Searcher
from kb.text import markdown_text


def learn_view(settings: Settings, searcher: Searcher, lock: threading.Lock) -> None:
    with lock:
        catalogue: Catalogue = searcher.catalogue()
    if not catalogue.practices:
        st.info("索引中还没有创新实践。综述文章里以单位名称开头的小节（如“五常市政协 发挥协商优势 …”）会列在这里。")
        return
    units = list(dict.fromkeys(p.unit for p in catalogue.practices))
    st.caption(
        f"{len(catalogue.practices)} 项创新实践，来自 {len(units)} 个单位。先看概览，再按单位或主题浏览；"
        "展开一项可看关键数字、关键词和“谁还做过类似的”。"
    )
    _overview(searcher, lock, catalogue)
    _downloads(settings, catalogue)
    st.subheader("逐项浏览")
    left, right = st.columns(2)
    unit = left.selectbox("单位", units, index=None, placeholder="全部单位", key="learn-unit")
    sizes = {t.name: len(t.practice_ids) for t in catalogue.themes}
    theme = right.selectbox("主题", list(sizes), index=None, placeholder="全部主题", key="learn-theme",
                            format_func=lambda name: f"{name}（{sizes[name]} 项）")
    for practice in matching(catalogue.practices, unit, theme):
        with st.expander(markdown_text(f"{practice.unit}：{practice.title}")):
            _render_practice(settings, catalogue, practice)
    st.subheader("方法卡片")
    st.caption("文中定义的编号模式（如“45721”）及各数字对应的内容，只取自原文；原文没有说明的数字会注明。")
    for index, card in enumerate(catalogue.cards):
        with st.container(border=True):
            st.markdown(card_markdown(card))
            st.download_button("导出为 Word", lambda c=card: cards_docx([c], settings.timezone), mime=DOCX,
                               file_name=download_name(f"方法卡片-{card.unit}", ".docx"), key=f"export-card-{index}", on_click="ignore")


def _overview(searcher: Searcher, lock: threading.Lock, catalogue: Catalogue) -> None:
    st.subheader("概览")
    table = pd.DataFrame([{"单位类型": p.unit_type or "其他", "年份": str(p.year or "不详"), "主题": p.theme}
                          for p in catalogue.practices])
    by_type, by_year = st.columns(2)
    with by_type:
        st.markdown("**按单位类型**")
        st.altair_chart(_bars(table, "单位类型"), width="stretch")
    with by_year:
        st.markdown("**按年份**")
        st.altair_chart(_bars(table, "年份"), width="stretch")
    st.markdown("**按主题**")
    st.altair_chart(_bars(table, "主题"), width="stretch")
    st.markdown("**实践地图**")
    st.caption("每个点是一项实践，点与点越近，做法越相似；颜色表示主题。把鼠标移到点上可看单位和标题。")
    with lock:
        points = searcher.practice_map()
    dots = pd.DataFrame([{"x": p.x, "y": p.y, "单位": p.unit, "标题": p.title, "主题": p.theme} for p in points])
    chart = alt.Chart(dots).mark_circle(size=160, opacity=0.9).encode(
        x=alt.X("x", axis=None), y=alt.Y("y", axis=None),
        color=alt.Color("主题", scale=alt.Scale(scheme="tableau10"),
                        legend=alt.Legend(title="主题", orient="bottom", columns=3, labelLimit=320)),
        tooltip=["单位", "标题", "主题"],
    ).properties(height=420)
    st.altair_chart(chart, width="stretch")


def _bars(table: pd.DataFrame, column: str) -> alt.Chart:
    """Practices per value of ``column``, as horizontal bars whose labels are read whole."""
    counts = table.groupby(column).size().reset_index(name="实践数")
    return alt.Chart(counts).mark_bar().encode(
        y=alt.Y(column, sort="-x", axis=alt.Axis(title=None, labelLimit=320)),
        x=alt.X("实践数", axis=alt.Axis(title="实践数", tickMinStep=1, format="d")),
        tooltip=[column, "实践数"],
    ).properties(height=max(120, 28 * len(counts) + 60))


def _downloads(settings: Settings, catalogue: Catalogue) -> None:
    word, excel, text = st.columns(3)
    word.download_button("全部实践导出为 Word", lambda: practices_docx(catalogue, catalogue.practices, settings.timezone,
                                                                 "创新实践目录"),
                         file_name="创新实践目录.docx", mime=DOCX, key="export-all-docx", on_click="ignore",
                         width="stretch")
    excel.download_button("实践目录导出为 Excel", lambda: catalogue_xlsx(catalogue), file_name="创新实践目录.xlsx",
                          mime=XLSX, key="export-xlsx", on_click="ignore", width="stretch")
    text.download_button("实践目录导出为 CSV", lambda: export(catalogue, "csv").encode("utf-8"),
                         file_name="创新实践目录.csv", mime="text/csv", key="export-csv", on_click="ignore",
                         width="stretch")


def _render_practice(settings: Settings, catalogue: Catalogue, practice: Practice) -> None:
    st.caption(markdown_text(f"{practice.document_title} · {practice.year or '年份不详'} · {practice.unit_type or '—'}"
                             f" · 主题：{practice.theme}"))
    st.markdown(markdown_text(practice.lead))
    if practice.figures:
        st.markdown("**关键数字**\n" + "\n".join(f"- {markdown_text(f.text)}" for f in practice.figures))
    st.markdown(f"**关键词** {markdown_text('、'.join(practice.keywords))}")
    similar = catalogue.similar(practice.practice_id, 3)
    if similar:
        lines = []
        for other in similar:
            shared = f"（共同关键词：{'、'.join(other.shared_keywords)}）" if other.shared_keywords else ""
            lines.append(f"- {markdown_text(f'{other.unit}：{other.title}{shared}')}")
        st.markdown("**谁还做过类似的**\n" + "\n".join(lines))
    for card in catalogue.cards:
        if card.practice_id == practice.practice_id:
            st.markdown(card_markdown(card))
    show, download = st.columns([3, 1])
    download.download_button("导出为 Word", lambda: practices_docx(catalogue, [practice], settings.timezone,
                                                                 f"{practice.unit}：{practice.title}"),
                             file_name=download_name(f"创新实践-{practice.unit}", ".docx"), mime=DOCX, on_click="ignore",
                             key=f"export-practice-{practice.practice_id}")
    if show.checkbox("显示全文", key=f"full-{practice.practice_id}"):
        st.text(practice.text)
