"""The 学习 tab: practices at a glance (charts by unit type, year and theme, a map of similar
practices), then by unit and theme with similar practices and approach cards, each exportable."""

from __future__ import annotations

import threading

import altair as alt
import pandas as pd
import streamlit as st

from kb.config import Settings
from kb.page.shared import DOCX, XLSX, carry_theme_choice, download_name
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
    carry_theme_choice("learn-theme", catalogue)
    theme = right.selectbox("主题", list(sizes), index=None, placeholder="全部主题", key="learn-theme",
                            format_func=lambda name: f"{name}（{sizes[name]} 项）")
    for practice in matching(catalogue.practices, unit, catalogue.find_theme(theme) if theme else None):
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
    table = pd.DataFrame([{"单位类型": p.unit_type or "其他", "年份": p.year, "主题": p.theme}
                          for p in catalogue.practices])
    by_type, by_year = st.columns(2)
    with by_type:
        st.markdown("**按单位类型**")
        st.altair_chart(_bars(table, "单位类型"), width="stretch")
    with by_year:
        st.markdown("**按年份**")
        st.altair_chart(_timeline(table), width="stretch")
    st.markdown("**按主题**")
    st.altair_chart(_bars(table, "主题"), width="stretch")
    st.markdown("**实践地图**")
    st.caption("每个点是一项实践，点旁写着单位和标题的开头；点与点越近，做法越相似。颜色表示主题，"
               "主题名写在它的实践上方。把鼠标移到点上可看完整标题。")
    with lock:
        points = searcher.practice_map()
    st.altair_chart(_map(points), width="stretch")


def _map(points) -> alt.LayerChart:
    """The dots with their labels (unit and the start of the title, no hovering needed) and each theme's
    name over its practices."""
    dots = pd.DataFrame([{"x": p.x, "y": p.y, "单位": p.unit, "标题": p.title, "主题": p.theme,
                          "标注": f"{short_unit(p.unit)}\n{p.title[:10]}"} for p in points])
    base = alt.Chart(dots).encode(x=alt.X("x", axis=None), y=alt.Y("y", axis=None))
    colour = alt.Color("主题", scale=alt.Scale(scheme="tableau10"),
                       legend=alt.Legend(title="主题", orient="bottom", columns=3, labelLimit=320))
    circles = base.mark_circle(size=160, opacity=0.9).encode(color=colour, tooltip=["单位", "标题", "主题"])
    labels = base.mark_text(align="left", dx=9, dy=-2, fontSize=11, lineBreak="\n", color="#444").encode(
        text="标注")
    # Above each theme's practices (its middle across, its top), where no dot's label is.
    centres = dots.groupby("主题", as_index=False).agg(x=("x", "mean"), y=("y", "max"))
    names = alt.Chart(centres).mark_text(fontSize=13, fontWeight="bold", dy=-30, opacity=0.85).encode(
        x="x", y="y", text="主题", color=alt.Color("主题", scale=alt.Scale(scheme="tableau10"), legend=None))
    return alt.layer(circles, labels, names).properties(height=520)


def short_unit(unit: str) -> str:
    """A unit as a label can carry it: 五常市政协 → 五常市, 市政协社会和法制委员会 → 社会和法制委员会."""
    short = unit.removeprefix("市政协").removeprefix("省政协").removesuffix("政协")
    return short or unit


def _timeline(table: pd.DataFrame) -> alt.Chart:
    """Practices per year on a time axis: every year from the first to the last, each a bar (none where
    none), integer counts; practices of no known year are said under it, not drawn as a year."""
    known = table["年份"].dropna().astype(int)
    if known.empty:
        return _bars(table.assign(年份="不详"), "年份")
    years = pd.DataFrame({"年份": range(known.min(), known.max() + 1)})
    counts = years.merge(known.value_counts().rename_axis("年份").reset_index(name="实践数"), how="left").fillna(0)
    unknown = int(table["年份"].isna().sum())
    return alt.Chart(counts).mark_bar(size=28).encode(
        x=alt.X("年份:O", axis=alt.Axis(title=f"年份（另有 {unknown} 项年份不详）" if unknown else "年份", labelAngle=0)),
        y=alt.Y("实践数:Q", axis=alt.Axis(title="实践数", tickMinStep=1, format="d")),
        tooltip=["年份", "实践数"],
    ).properties(height=220)


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
            shared = f"（都讲到：{'、'.join(other.shared_keywords)}）" if other.shared_keywords else ""
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
