"""Word (.docx) reports: every passage with where it comes from (document, unit, heading path,
page), so that a quotation in a report can be traced back to its source."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from docx import Document
from docx.oxml.ns import qn
from docx.shared import Pt, RGBColor

from kb.practices.records import ApproachCard, Catalogue, Practice
from kb.records import Hit, SearchResponse
from kb.text import local_time, with_ellipsis

_GREY = RGBColor(0x59, 0x59, 0x59)
_FONT = "SimSun"  # what Chinese Word installs have; WPS maps it too


def _new_document(title: str, zone: str) -> Document:
    document = Document()
    normal = document.styles["Normal"]
    normal.font.name = _FONT
    normal.font.size = Pt(11)
    # Word takes East Asian text's font from its own attribute, not from font.name.
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), _FONT)
    document.core_properties.title = title
    document.core_properties.author = "kb 政协创新工作知识库"
    document.add_heading(title, level=1)
    _note(document, f"由 kb 导出于 {local_time(datetime.now(UTC).isoformat(), zone)}")
    return document


def _note(document: Document, text: str) -> None:
    run = document.add_paragraph().add_run(text)
    run.font.size = Pt(9)
    run.font.color.rgb = _GREY


def _bytes(document: Document) -> bytes:
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def source_line(hit: Hit) -> str:
    """“来源：《文件》 · 单位 · 章节 › 小节 · 第 3 页”."""
    parts = [f"来源：《{hit.document}》"]
    if hit.unit:
        parts.append(hit.unit)
    if hit.heading_path:
        parts.append(" › ".join(hit.heading_path))
    if hit.page:
        parts.append(f"第 {hit.page} 页")
    return " · ".join(parts)


def search_docx(response: SearchResponse, zone: str = "Asia/Shanghai") -> bytes:
    document = _new_document(f"检索结果：{response.query}", zone)
    sections = [(g.title, g.hits) for g in response.groups] or [("检索结果", response.hits)]
    for title, hits in sections:
        document.add_heading(f"{title}（{len(hits)}）", level=2)
        for rank, hit in enumerate(hits, start=1):
            heading = document.add_heading(f"{rank}. {hit.known_as}", level=3)
            if hit.weak:
                heading.add_run("（较弱的匹配）")
            document.add_paragraph(with_ellipsis(hit.text))
            _note(document, source_line(hit))
    if not response.hits:
        document.add_paragraph("没有找到结果。")
    return _bytes(document)


def practices_docx(catalogue: Catalogue, practices: list[Practice], zone: str = "Asia/Shanghai",
                   title: str = "创新实践") -> bytes:
    document = _new_document(title, zone)
    for practice in practices:
        document.add_heading(f"{practice.unit}：{practice.title}", level=2)
        _note(document, f"来源：《{practice.document_title}》 · {practice.year or '年份不详'} · "
                        f"{practice.unit_type or '单位类型不详'} · 主题：{practice.theme}")
        document.add_paragraph(practice.lead)
        if practice.figures:
            document.add_paragraph("关键数字", style="Heading 4")
            for figure in practice.figures:
                document.add_paragraph(figure.text, style="List Bullet")
        if practice.keywords:
            document.add_paragraph(f"关键词：{'、'.join(practice.keywords)}")
        for card in (c for c in catalogue.cards if c.practice_id == practice.practice_id):
            _card(document, card)
        document.add_paragraph("全文", style="Heading 4")
        for paragraph in practice.text.split("\n"):
            if paragraph.strip():
                document.add_paragraph(paragraph.strip())
    return _bytes(document)


def cards_docx(cards: list[ApproachCard], zone: str = "Asia/Shanghai") -> bytes:
    document = _new_document("方法卡片", zone)
    for card in cards:
        _card(document, card)
    return _bytes(document)


def _card(document: Document, card: ApproachCard) -> None:
    document.add_heading(f"{card.name}（{card.unit}）", level=3)
    for part in card.parts:
        text = f"{part.number} 个{part.category}：{'、'.join(part.items)}" if part.described else f"{part.number}：原文未说明"
        document.add_paragraph(text, style="List Bullet")
    for passage in card.passages:
        _note(document, f"出处：{passage}")
