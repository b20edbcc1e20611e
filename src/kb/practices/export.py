"""The catalogue as CSV (for Excel), Markdown (for Word) or JSON (for programs)."""

from __future__ import annotations

import csv
import io
import json

from kb.practices.cards import card_markdown
from kb.practices.records import Catalogue, Practice
from kb.text import inert_cell

EXPORT_FORMATS = ("csv", "md", "json")
# A practice's fields as staff read them: the headers of the CSV and of the Excel workbook (the JSON,
# for programs, keeps the field names).
HEADERS = {"practice_id": "编号", "unit": "单位", "unit_type": "单位类型", "year": "年份", "title": "标题",
           "lead": "概要", "figures": "关键数字", "keywords": "关键词", "theme": "主题", "document_title": "来源文件"}


def export(catalogue: Catalogue, fmt: str) -> str:
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")
    if fmt == "json":
        return json.dumps({"practices": [p.model_dump(exclude={"text", "chunks"}) for p in catalogue.practices],
                           "themes": [t.model_dump() for t in catalogue.themes],
                           "cards": [c.model_dump(exclude={"chunk_ids"}) for c in catalogue.cards]},
                          ensure_ascii=False, indent=1)
    rows = [_flat(p) for p in catalogue.practices]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(HEADERS.values()))
        writer.writeheader()
        # Text from documents is data: a heading such as =HYPERLINK(…) must not become a live formula.
        writer.writerows({HEADERS[key]: inert_cell(value) for key, value in row.items()} for row in rows)
        # Excel reads a CSV as the local code page unless it starts with a BOM.
        return "\ufeff" + out.getvalue()
    return _markdown(catalogue)


def _flat(practice: Practice) -> dict:
    row = {key: getattr(practice, key) for key in HEADERS if key not in ("figures", "keywords")}
    row["year"] = practice.year or ""
    row["figures"] = "；".join(f.text for f in practice.figures)
    row["keywords"] = "、".join(practice.keywords)
    return row


def _markdown(catalogue: Catalogue) -> str:
    lines = ["# 创新实践目录", ""]
    for theme in catalogue.themes:
        lines += [f"## 主题：{theme.name}", ""]
        for practice in (catalogue.practice(pid) for pid in theme.practice_ids):
            lines += [f"### {practice.unit}：{practice.title}", "",
                      f"*{practice.document_title}* · {practice.year or '年份不详'} · {practice.unit_type or '—'}", "",
                      practice.lead, ""]
            if practice.figures:
                lines += ["关键数字：", *[f"- {f.text}" for f in practice.figures], ""]
            lines += [f"关键词：{'、'.join(practice.keywords)}", ""]
    if catalogue.cards:
        lines += ["## 方法卡片", ""]
        for card in catalogue.cards:
            lines += [card_markdown(card), ""]
    return "\n".join(lines).rstrip() + "\n"
