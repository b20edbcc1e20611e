"""What users filter by: issuing unit, unit type, year, document type; and the source line.

Front matter always wins; otherwise the values are read the way these texts are written: the unit
from the title ("湖州市政协：…", "政协岳阳市委员会…"), the headline's "——XX政协…", a byline or source
line, else the CPPCC body the text names most, else the folder; the year from a date line (发布日期,
2017-03-09, 2022年5月6日) before any year the text mentions. A value that cannot be read stays empty
rather than guessed.
"""

from __future__ import annotations

import re
from pathlib import Path

from kb.ingest.units import most_named_unit, unit_at_start, unit_type_of, units_named_in
from kb.records import CPPCC_RULES, DocumentMetadata

_LAW_TITLE = re.compile(r"(法|条例|规定|办法|细则|决定|解释|规则|纲要|宪法)$")
# What a CPPCC body adopts for itself: its own rules, not national law.
_RULE_TITLE = re.compile(r"(规定|办法|细则|规则|规程|制度|实施意见|工作意见|意见|守则|准则)$")
_ISSUERS = (
    ("全国人民代表大会常务委员会", "全国人大常委会"),
    ("全国人民代表大会", "全国人大"),
    ("中共中央、国务院", "中共中央 国务院"),
    ("国务院", "国务院"),
)
_DATE_IN_NAME = re.compile(r"((?:19|20)\d{2})[-年.]\d{1,2}")
_YEAR = re.compile(r"((?:19|20)\d{2})年")
# A full date: 2022年5月6日, 2017-03-09, 2017/3/9, 2017.03.09.
_FULL_DATE = re.compile(r"((?:19|20)\d{2})(?:年\d{1,2}月\d{1,2}日|[-/.]\d{1,2}[-/.]\d{1,2}(?!\d))")
_DATE_LABEL = re.compile(r"(发布日期|发布时间|日期|时间|发稿时间|更新时间)\s*[:：]")
_SOURCE = re.compile(r"(?:来源|稿源|供稿|出处)\s*[:：]\s*([^\s|｜]{2,40})")
_BYLINE_UNIT = re.compile(r"^[（(]?(?:供稿|作者(?:系|单位|为)?|来源|稿源|文/|文\s)?\s*[:：]?\s*")
HEAD_LINES = 12
# How far into a text (and back from its end) those lines are looked for.
HEAD_CHARS = 4000
_AUTHOR_NOTE = re.compile(r"[（(]\s*(?:作者系|作者单位[:：]?|作者为|作者[:：]|供稿[:：]?)\s*([^）)]{2,60})[）)]")


def document_metadata(front_matter: dict, title_from_text: str, text: str, path: Path) -> DocumentMetadata:
    known = {"title", "unit", "unit_type", "year", "doc_type"}
    title = str(front_matter.get("title") or title_from_text or path.stem)
    unit = str(front_matter.get("unit") or "")
    doc_type = str(front_matter.get("doc_type") or _doc_type(title, text, path))
    if not unit and doc_type == "法律法规":
        unit = _issuer(text)
    if not unit:
        unit = _unit_of(title, text, path)
    year = front_matter.get("year")
    if year in (None, ""):
        year = _year(title, path, text)
    extra = {str(k): str(v) for k, v in front_matter.items() if k not in known}
    source = source_line(text)
    if source and "来源" not in extra:
        extra["来源"] = source
    return DocumentMetadata(
        title=title,
        unit=unit,
        unit_type=str(front_matter.get("unit_type") or unit_type_of(unit)),
        year=int(year) if year not in (None, "") else None,
        doc_type=doc_type,
        extra=extra,
    )


def head_lines(text: str, count: int = HEAD_LINES) -> list[str]:
    """The first non-empty lines, stripped of Markdown marks: where titles, headlines, bylines and
    date lines stand."""
    lines = []
    for line in text[:HEAD_CHARS].splitlines():
        line = line.strip().strip("#*").strip()
        if line:
            lines.append(line)
        if len(lines) == count:
            break
    return lines


def foot_lines(text: str, count: int = 3) -> list[str]:
    """The last non-empty lines: where sources and author notes stand in articles."""
    return [line.strip() for line in text[-HEAD_CHARS:].strip().splitlines()[-count:] if line.strip()]


def _doc_type(title: str, text: str, path: Path) -> str:
    name = re.sub(r"[（(][^）)]*[）)]$", "", title.strip())
    if "综述" in title:
        return "综述"
    if _RULE_TITLE.search(name) and _adopted_by_cppcc(name, text):
        return CPPCC_RULES
    if _LAW_TITLE.search(name) or name.startswith("中华人民共和国"):
        return "法律法规"
    if "提案" in name:
        return "提案"
    if re.search(r"(意见|通知|方案|规划|决议)$", name):
        return "政策文件"
    return "其他"


def _adopted_by_cppcc(title: str, text: str) -> bool:
    """A rule is the CPPCC's own when its title opens with a CPPCC body ("政协湖州市委员会关于…的
    规定", "市政协社情民意信息工作办法"), or a line at its head says a CPPCC body adopted or issued it
    ("（2023年3月政协某市委员会第五次常委会议通过）")."""
    return unit_at_start(title) is not None or bool(_adopting_unit(text))


def _adopting_unit(text: str) -> str:
    """The CPPCC body a head line says adopted or issued the text ("（…市政协十三届第五次主席会议通过）")."""
    for line in head_lines(text, 6)[1:]:
        if re.search(r"(通过|印发|审议|修订|施行)", line) and len(line) <= 80:
            named = units_named_in(line)
            if named:
                return named[0].unit
    return ""


def _unit_of(title: str, text: str, path: Path) -> str:
    """The title's unit, a headline's "——XX政协…", a byline or source line, the body the text names
    most, or the folder the file was filed in."""
    found = unit_at_start(title)
    if found:
        return found[0]
    lines = head_lines(text)
    for line in lines[:6]:
        if line.startswith(("——", "—", "--")) or (len(line) <= 40 and not line.endswith(("。", "！", "？", "；"))):
            found = unit_at_start(_BYLINE_UNIT.sub("", line.lstrip("—-").strip()))
            if found:
                return found[0]
    source = source_line(text)
    if source:
        found = unit_at_start(source)
        if found:
            return found[0]
    adopted = _adopting_unit(text)
    if adopted:
        return adopted
    author = _author_unit(text)
    if author:
        return author
    named = most_named_unit(text)
    if named:
        return named
    for folder in list(path.parents)[:2]:
        found = unit_at_start(folder.name)
        if found:
            return found[0]
    return ""


def _author_unit(text: str) -> str:
    """A journal article's note on its author, at its head or foot: "（作者单位：安吉县政协）",
    "（作者系某某县政协主席）"."""
    lines = head_lines(text, 6) + foot_lines(text)
    for line in lines:
        for note in _AUTHOR_NOTE.finditer(line):
            named = units_named_in(note.group(1))
            if named:
                return named[0].unit
    return ""


def source_line(text: str) -> str:
    """Where the text says it came from ("来源：人民政协网"), at its head or its foot."""
    lines = head_lines(text)
    tail = foot_lines(text)
    for line in lines + tail:
        match = _SOURCE.search(line)
        if match and len(line) <= 120:
            return match.group(1).strip("（）()")
    return ""


def _issuer(text: str) -> str:
    head = text[:400]
    for needle, name in _ISSUERS:
        if needle in head:
            return name
    return ""


def _year(title: str, path: Path, text: str) -> int | None:
    """The file name's date (the office's own filing), a date line at the head, the title's year,
    the first year in the first lines."""
    match = _DATE_IN_NAME.search(path.stem) or _YEAR.search(path.stem)
    if match:
        return int(match.group(1))
    for line in head_lines(text):
        date = _FULL_DATE.search(line)
        if date and (_DATE_LABEL.search(line) or len(line) <= 60 or line.startswith(("——", "—", "（", "("))):
            return int(date.group(1))
    match = _DATE_IN_NAME.search(title) or _YEAR.search(title)
    if match:
        return int(match.group(1))
    match = _YEAR.search(text[:300])
    return int(match.group(1)) if match else None
