"""The practice detector: which spans of a document are a unit's practice, whatever layout the CPPCC
body wrote it in. This is the one place that decides it; the index stores what it returns and
everything else (a chunk's kind and unit, the catalogue, filters, the 学习 tab) reads that.

Layouts, tried in this order:
- ``unit_heading`` / ``unit_colon``: sections headed by a unit, several units in one document — a
  system's review ("五常市政协 发挥协商优势…"), a list of cases ("湖州市政协：建立…");
- ``cppcc_rule``: a CPPCC body's own rules (规定/办法/细则 it adopted) — one practice of that body;
- ``numbered_section``: a work report, summary or review of one unit whose numbered sections
  (一、/（一）/1.) each tell what it did; plans, problems and scaffolding sections are left out;
- ``whole_document``: any other text of one CPPCC body — news feature, experience write-up,
  speech, journal article — is that body's practice as a whole.
A law or policy document, a proposal and a text that names no CPPCC body hold no practice.
"""

from __future__ import annotations

import re

from kb.ingest.units import unit_at_start, unit_type_of
from kb.records import (
    CPPCC_RULES,
    OTHER,
    POLICY,
    POLICY_DOC_TYPES,
    PRACTICE,
    DocumentMetadata,
    PracticeSpan,
    Section,
)
from kb.text import trimmed

# A report of what a unit did, whose numbered sections are its practices.
_REPORT_TITLE = re.compile(r"(工作报告|工作总结|年度总结|总结|综述|工作回顾|工作情况|履职情况|报告)")
# Sections that are not something done: what comes next, what is lacking, the write-up's scaffolding.
_NOT_DONE = re.compile(
    r"(下一步|今后|明年|新的一年|展望|工作安排|工作建议|工作思路|工作打算|工作计划|打算|展望|目标任务|存在的?问题|问题与不足|"
    r"不足|困难和问题|对策建议|意见和建议)"
)
_SCAFFOLD = re.compile(r"^(基本情况|背景|主要做法|做法|工作成效|主要成效|取得成效|成效|经验启示|启示|体会|几点体会|"
                       r"主要工作|工作回顾|.{0,8}年(?:主要)?工作回顾|.{0,8}年主要工作|过去一年.*|一年来.*)$")
_NUMBERING = re.compile(r"^(?:[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十]+[）)]|\d{1,2}[、.．])\s*")
# A report's unnumbered part titles ("回望2024：…", "展望2025：…"): the numbered sections under a part about
# plans are plans, under one about the year's work are practices.
_PART_TITLE = re.compile(r"(?m)^[ \t　#]*(?P<title>[^\n。；]{2,40}?)[ \t]*$")
_DONE_PART = re.compile(r"(回顾|回望|一年来|过去一年|主要工作|工作情况|取得的?成效)")
_ORDINAL_PARAGRAPH = re.compile(r"(?m)^[ \t　]*[一二三四五六七八九十]是")
_CITY_SYSTEM = re.compile(r"全市政协系统|全市各级政协|全市政协|市政协系统")


def detect_practices(text: str, sections: list[Section], metadata: DocumentMetadata) -> list[PracticeSpan]:
    if metadata.doc_type in POLICY_DOC_TYPES or metadata.doc_type == "提案":
        return []
    county_level = bool(_CITY_SYSTEM.search(text[:600]))
    unit = metadata.unit
    unit_type = metadata.unit_type or unit_type_of(unit)
    if metadata.doc_type == CPPCC_RULES and unit:
        return [_whole(text, metadata, unit, unit_type, "cppcc_rule")]
    found = _unit_headed(text, sections, metadata, county_level)
    if len(found) > 1:
        # A title that opens with a unit ("浙江省政协系统…典型案例选编") names the collection, not a practice.
        found = [practice for practice in found if practice.heading != metadata.title]
    if len(found) == 1 and found[0].heading == metadata.title:
        # The title names the unit ("# 湖州市政协2024年工作总结"): a one-unit document, read below.
        unit, unit_type = found[0].unit, found[0].unit_type
    elif found:
        return found
    if not unit or unit_type_of(unit) in ("", "其他"):
        return []
    if _REPORT_TITLE.search(metadata.title):
        found = _numbered(text, sections, metadata, unit, unit_type)
        if len(found) < 2:
            found = _ordinal_paragraphs(text, metadata, unit, unit_type)
        if len(found) >= 2:
            return found
    return [_whole(text, metadata, unit, unit_type, "whole_document")]


def kind_at(practices: list[PracticeSpan], doc_type: str, offset: int) -> tuple[str, PracticeSpan | None]:
    """The kind of the passage starting at ``offset``, with the practice it lies in."""
    for practice in practices:
        if practice.start <= offset < practice.end:
            return PRACTICE, practice
    return (POLICY if doc_type in POLICY_DOC_TYPES else OTHER), None


def _unit_headed(text, sections, metadata, county_level) -> list[PracticeSpan]:
    """Sections whose heading opens with a unit, with everything under them (their subsections)."""
    groups: dict[tuple[str, ...], list[Section]] = {}
    for section in sections:
        path = section.heading_path
        depth = next((i for i in range(len(path) - 1, -1, -1) if unit_at_start(path[i])), None)
        if depth is not None:
            groups.setdefault(tuple(path[: depth + 1]), []).append(section)
    practices = []
    for path, members in sorted(groups.items(), key=lambda item: min(s.start for s in item[1])):
        heading = path[-1]
        unit, rest = unit_at_start(heading)
        start, end = trimmed(text, min(s.start for s in members), max(s.end for s in members))
        layout = "unit_colon" if re.match(r"^\S*?[:：]", _NUMBERING.sub("", heading)) else "unit_heading"
        practices.append(PracticeSpan(
            unit=unit, unit_type=unit_type_of(unit, county_level_cities=county_level),
            title=rest.strip() or _first_clause(text[start:end], heading, unit), heading=heading, start=start,
            end=end, year=metadata.year, layout=layout,
        ))
    return practices


def _first_clause(body: str, heading: str, unit: str) -> str:
    """A title for a practice whose heading is its unit alone ("一、青山县政协"): what its text first says
    the unit did, up to the first comma or stop ("在全县组建委员工作室12个"); the unit where it says nothing."""
    lines = [line.strip(" \t　#") for line in body.splitlines() if line.strip(" \t　#")]
    first = next((line for line in lines if line != heading.strip(" \t　#")), "")
    clause = re.split(r"[，,。；;！？：:]", first, maxsplit=1)[0].strip()
    if clause.startswith(unit):
        clause = clause[len(unit):].strip()
    return clause[:40] or unit


def _numbered(text, sections, metadata, unit, unit_type) -> list[PracticeSpan]:
    """The leaf numbered sections of a report, outside plans, problems and scaffolding."""
    numbered = [s for s in sections if s.heading_path and _NUMBERING.match(s.heading_path[-1])]
    parents = {tuple(s.heading_path[:-1]) for s in numbered}
    practices = []
    for section in numbered:
        if tuple(section.heading_path) in parents:
            continue  # not a leaf: its subsections are the practices
        titles = [_NUMBERING.sub("", title) for title in section.heading_path]
        if any(_NOT_DONE.search(title) for title in titles) or _SCAFFOLD.match(titles[-1]):
            continue
        if _in_a_part_about_plans(text, section.start):
            continue
        start, end = trimmed(text, section.start, section.end)
        if end - start < 10:  # a heading with next to no text under it
            continue
        practices.append(PracticeSpan(unit=unit, unit_type=unit_type, title=titles[-1], heading=section.heading_path[-1],
                                      start=start, end=end, year=metadata.year, layout="numbered_section"))
    return practices


def _in_a_part_about_plans(text: str, position: int) -> bool:
    last = ""
    for match in _PART_TITLE.finditer(text, 0, position):
        title = match.group("title").strip()
        if _NUMBERING.match(title):
            continue
        if _NOT_DONE.search(title):
            last = "plans"
        elif _DONE_PART.search(title):
            last = "done"
    return last == "plans"


def _ordinal_paragraphs(text, metadata, unit, unit_type) -> list[PracticeSpan]:
    """A report whose practices are paragraphs opening "一是…", "二是…": each runs to the next one, or
    to the end of its section (the next heading or a paragraph that is not one of them)."""
    practices = []
    starts = [m.start() for m in _ORDINAL_PARAGRAPH.finditer(text)]
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else len(text)
        end = min(end, _paragraph_end(text, start))
        start, end = trimmed(text, start, end)
        clause = re.split(r"[。；，,;]", text[start + 2:end], maxsplit=1)[0]
        practices.append(PracticeSpan(unit=unit, unit_type=unit_type, title=clause[:40], heading=text[start:start + 2],
                                      start=start, end=end, year=metadata.year, layout="numbered_section"))
    return practices


def _paragraph_end(text: str, start: int) -> int:
    end = text.find("\n\n", start)
    return len(text) if end < 0 else end


def _whole(text, metadata, unit, unit_type, layout) -> PracticeSpan:
    found = unit_at_start(metadata.title)
    title = (found[1].strip() if found else "") or metadata.title
    start, end = trimmed(text, 0, len(text))
    return PracticeSpan(unit=unit, unit_type=unit_type, title=title, heading=metadata.title, start=start, end=end,
                        year=metadata.year, layout=layout)

