"""Word (.docx) reports in the form of Chinese official documents (kb.report.official): every passage
with where it comes from (document, unit, heading path, page), so that a quotation in a report can be
traced back to its source; the document's title said once for passages that follow one from it."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from docx import Document

from kb.practices.records import ApproachCard, Catalogue, Practice
from kb.records import Hit, SearchResponse
from kb.report.official import NOTE_STYLE, official_document
from kb.text import local_time, with_ellipsis


def _new_document(title: str, zone: str, about: str = "") -> Document:
    document = official_document(title)
    exported = f"由 kb 导出于 {local_time(datetime.now(UTC).isoformat(), zone)}"
    _note(document, f"{about} · {exported}" if about else exported)
    return document


def _note(document: Document, text: str) -> None:
    document.add_paragraph(text, style=NOTE_STYLE)


def _paragraphs(document: Document, text: str) -> None:
    """A text's paragraphs as the body's, each indented two characters (never one paragraph with line breaks)."""
    for paragraph in text.split("\n"):
        if paragraph.strip():
            document.add_paragraph(paragraph.strip())


def _bytes(document: Document) -> bytes:
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def source_line(hit: Hit, after: Hit | None = None) -> str:
    """“来源：《文件》 · 单位 · 章节 › 小节 · 第 3 页”; “来源：同上 · …” when the passage before (``after``)
    came from the same document."""
    parts = ["来源：同上" if after is not None and after.document == hit.document else f"来源：《{hit.document}》"]
    if hit.unit:
        parts.append(hit.unit)
    # A heading path opens with the document's own title where the document has one: said once already.
    opens_with_title = hit.heading_path and hit.document.startswith(hit.heading_path[0])
    path = hit.heading_path[1:] if opens_with_title else hit.heading_path
    if path:
        parts.append(" › ".join(path))
    if hit.page:
        parts.append(f"第 {hit.page} 页")
    return " · ".join(parts)


def search_docx(response: SearchResponse, zone: str = "Asia/Shanghai", include_weak: bool = False) -> bytes:
    """The results as a report: the question and the date on top, each section with its passages; weak
    matches are left out unless ``include_weak`` (a report quotes what answers the question)."""
    left_out = 0 if include_weak else sum(hit.weak for hit in response.hits)
    about = f"检索：{response.query}" + (f"（{left_out} 条较弱的匹配未列入）" if left_out else "")
    document = _new_document(f"检索结果：{response.query}", zone, about)
    sections = [(g.title, g.hits) for g in response.groups] or [("检索结果", response.hits)]
    shown = 0
    for title, hits in sections:
        hits = [hit for hit in hits if include_weak or not hit.weak]
        if not hits:
            continue
        document.add_heading(f"{title}（{len(hits)}）", level=1)
        previous = None
        for rank, hit in enumerate(hits, start=1):
            heading = document.add_heading(f"{rank}. {hit.known_as}", level=2)
            if hit.weak:
                heading.add_run("（较弱的匹配）")
            _paragraphs(document, with_ellipsis(hit.text))
            _note(document, source_line(hit, previous))
            previous, shown = hit, shown + 1
    if not shown:
        document.add_paragraph("没有找到足够相关的结果。" if response.hits else "没有找到结果。")
    return _bytes(document)


def practices_docx(catalogue: Catalogue, practices: list[Practice], zone: str = "Asia/Shanghai",
                   title: str = "创新实践") -> bytes:
    document = _new_document(title, zone)
    previous = None
    for practice in practices:
        document.add_heading(f"{practice.unit}：{practice.title}", level=1)
        source = "来源：同上" if previous == practice.document_title else f"来源：《{practice.document_title}》"
        _note(document, f"{source} · {practice.year or '年份不详'} · {practice.unit_type or '单位类型不详'} · "
                        f"主题：{practice.theme}")
        previous = practice.document_title
        document.add_paragraph(practice.lead)
        if practice.figures:
            document.add_paragraph("关键数字", style="Heading 3")
            for figure in practice.figures:
                document.add_paragraph(figure.text, style="List Bullet")
        if practice.keywords:
            document.add_paragraph(f"关键词：{'、'.join(practice.keywords)}")
        for card in (c for c in catalogue.cards if c.practice_id == practice.practice_id):
            _card(document, card)
        document.add_paragraph("全文", style="Heading 3")
        _paragraphs(document, practice.text)
    return _bytes(document)


def cards_docx(cards: list[ApproachCard], zone: str = "Asia/Shanghai") -> bytes:
    document = _new_document("方法卡片", zone)
    for card in cards:
        _card(document, card)
    return _bytes(document)


def _card(document: Document, card: ApproachCard) -> None:
    document.add_heading(f"{card.name}（{card.unit}）", level=2)
    for part in card.parts:
        text = f"{part.number} 个{part.category}：{'、'.join(part.items)}" if part.described else f"{part.number}：原文未说明"
        document.add_paragraph(text, style="List Bullet")
    for passage in card.passages:
        _note(document, f"出处：{passage}")
