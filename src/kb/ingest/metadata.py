"""What users filter by: issuing unit, unit type, year, document type.

Front matter always wins; otherwise the values are read from headings, the first lines, the
title and the file name. A value that cannot be read stays empty rather than guessed.
"""

from __future__ import annotations

import re
from pathlib import Path

from kb.records import OTHER, POLICY, PRACTICE, DocumentMetadata

DEMOCRATIC_PARTIES = ("民革", "民盟", "民建", "民进", "农工党", "致公党", "九三学社", "台盟")

# A unit name heads a practice title: "五常市政协 发挥协商优势 …", "民盟哈尔滨市委 完善 …".
_UNIT_AT_START = re.compile(
    r"^((?:" + "|".join(DEMOCRATIC_PARTIES) + r")\S*?(?:市委|省委|区委|县委|委员会|支部|总支)"
    r"|\S{1,20}?政协\S{0,16}?委员会|\S{1,12}?政协)(?:[\s　]|$)"
)
_LAW_TITLE = re.compile(r"(法|条例|规定|办法|细则|决定|解释|规则|纲要|宪法)$")
_ISSUERS = (
    ("全国人民代表大会常务委员会", "全国人大常委会"),
    ("全国人民代表大会", "全国人大"),
    ("中共中央、国务院", "中共中央 国务院"),
    ("国务院", "国务院"),
)
_DATE_IN_NAME = re.compile(r"((?:19|20)\d{2})[-年.]\d{1,2}")
_YEAR = re.compile(r"((?:19|20)\d{2})年")


def unit_from_heading(heading: str) -> str:
    match = _UNIT_AT_START.match(heading.strip())
    return match.group(1) if match else ""


def kind_of(doc_type: str, heading_path: list[str]) -> str:
    """A law or policy document is supporting material; a section headed by a unit (the same test
    the practices catalogue uses) is a practice; anything else, such as a review's introduction, is
    other."""
    if doc_type in ("法律法规", "政策文件"):
        return POLICY
    if any(unit_from_heading(heading) for heading in heading_path):
        return PRACTICE
    return OTHER


def unit_type_of(unit: str) -> str:
    if not unit:
        return ""
    if unit.startswith(DEMOCRATIC_PARTIES):
        return "民主党派"
    if unit.startswith("市政协") and unit.endswith("委员会") and len(unit) > 3:
        return "市政协专门委员会"
    if unit in ("市政协", "哈尔滨市政协", "哈尔滨市政协系统"):
        return "市政协"
    if unit.endswith("区政协"):
        return "区政协"
    if unit.endswith(("县政协", "市政协")):
        return "县市政协"
    return "其他"


def document_metadata(front_matter: dict, title_from_text: str, text: str, path: Path) -> DocumentMetadata:
    known = {"title", "unit", "unit_type", "year", "doc_type"}
    title = str(front_matter.get("title") or title_from_text or path.stem)
    unit = str(front_matter.get("unit") or "")
    doc_type = str(front_matter.get("doc_type") or _doc_type(title, path))
    if not unit and doc_type == "法律法规":
        unit = _issuer(text)
    if not unit:
        unit = _unit_from_text_or_folder(title, text, path)
    year = front_matter.get("year")
    if year in (None, ""):
        year = _year(title, path, text)
    return DocumentMetadata(
        title=title,
        unit=unit,
        unit_type=str(front_matter.get("unit_type") or unit_type_of(unit)),
        year=int(year) if year not in (None, "") else None,
        doc_type=doc_type,
        extra={str(k): str(v) for k, v in front_matter.items() if k not in known},
    )


def _doc_type(title: str, path: Path) -> str:
    name = re.sub(r"[（(][^）)]*[）)]$", "", title.strip())
    if "综述" in title:
        return "综述"
    if _LAW_TITLE.search(name) or name.startswith("中华人民共和国"):
        return "法律法规"
    if "提案" in name:
        return "提案"
    if re.search(r"(意见|通知|方案|规划|决议)$", name):
        return "政策文件"
    return "其他"


def _unit_from_text_or_folder(title: str, text: str, path: Path) -> str:
    """A unit named at the start of the title or of one of the first short lines (a signature
    such as "五常市政协办公室"), else by the folder the file was filed in."""
    lines = [title] + [line.strip("# ").strip() for line in text.splitlines()[:8] if 0 < len(line.strip()) <= 40]
    for line in lines:
        unit = unit_from_heading(line)
        if unit:
            return unit
    for folder in list(path.parents)[:2]:
        unit = unit_from_heading(folder.name)
        if unit:
            return unit
    return ""


def _issuer(text: str) -> str:
    head = text[:400]
    for needle, name in _ISSUERS:
        if needle in head:
            return name
    return ""


def _year(title: str, path: Path, text: str) -> int | None:
    for source in (path.stem, title):
        match = _DATE_IN_NAME.search(source) or _YEAR.search(source)
        if match:
            return int(match.group(1))
    match = _YEAR.search(text[:300])
    return int(match.group(1)) if match else None
