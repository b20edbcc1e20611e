"""Find the heading structure of plain or Markdown Chinese text.

Headings come from Markdown ``#``, whole-line bold titles (as in review articles), the numbering of
Chinese documents: ``第X编/分编/章/节/条``, ``一、``, ``（一）`` and ``1.``, written with full- or
half-width punctuation as pasted web text has it, and lines that open with a unit and a colon
("湖州市政协：建立…", the case lists of CPPCC bodies). An article (``第X条``) is a section whose text
starts with its own number, so the number is never separated from what it says; numbered items
inside an article stay in the article. Which sections are practices is the practice detector's
business (kb.ingest.practices), not this module's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.ingest.units import opens_with_unit_and_colon, unit_at_start
from kb.records import Section

_NUM = r"[一二三四五六七八九十百千零〇两\d]+"
_SPACE = r"[ \t　]"
ARTICLE_RANK = 14


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern
    rank: int
    # Whether the heading line is part of the section's text (articles) or only its title.
    keeps_line: bool = False
    short_only: bool = False


_RULES = (
    _Rule(re.compile(rf"^\*\*(?P<title>[^*\n]{{1,80}})\*\*{_SPACE}*$"), 15),
    _Rule(re.compile(rf"^(?P<title>第{_NUM}编(?:{_SPACE}+\S.*)?){_SPACE}*$"), 10),
    _Rule(re.compile(rf"^(?P<title>第{_NUM}分编(?:{_SPACE}+\S.*)?){_SPACE}*$"), 11),
    _Rule(re.compile(rf"^(?P<title>第{_NUM}章(?:{_SPACE}+\S.*)?){_SPACE}*$"), 12),
    _Rule(re.compile(rf"^(?P<title>第{_NUM}节(?:{_SPACE}+\S.*)?){_SPACE}*$"), 13),
    _Rule(re.compile(rf"^(?P<title>第{_NUM}条(?:之{_NUM})?)(?:{_SPACE}|$)"), ARTICLE_RANK, keeps_line=True),
    _Rule(re.compile(r"^(?P<title>[一二三四五六七八九十]+[、.．].+)$"), 16, short_only=True),
    _Rule(re.compile(r"^(?P<title>[（(][一二三四五六七八九十]+[）)].+)$"), 17, short_only=True),
    _Rule(re.compile(r"^(?P<title>\d{1,2}[、.．](?!\d).+)$"), 18, short_only=True),
)
# A line that opens with a unit and a colon starts that unit's part, under whatever numbered section
# holds it; a long one ("湖州市政协：聚焦…，开展…。") is kept as the part's first sentence.
UNIT_COLON_RANK = 19
UNIT_TITLE_RANK = 15
_MARKDOWN = re.compile(r"^(?P<hashes>#{1,6})[ \t]+(?P<title>.+?)[ \t#]*$")
_SENTENCE_END = "。；;：:，,！？!?"
MAX_TITLE_CHARS = 40
# Numbered titles of work reports run long: "（一）牢牢把握…的本质特征，思想政治引领得到新加强".
NUMBERED_TITLE_CHARS = 60


@dataclass(frozen=True)
class Heading:
    title: str
    rank: int
    line_start: int
    body_start: int


def find_headings(text: str) -> list[Heading]:
    headings: list[Heading] = []
    in_article = False
    pos = 0
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        heading = _match_heading(stripped, pos, pos + len(line), in_article)
        if heading is not None:
            headings.append(heading)
            in_article = heading.rank == ARTICLE_RANK
        pos += len(line)
    return headings


def _match_heading(line: str, start: int, end: int, in_article: bool) -> Heading | None:
    if not line:
        return None
    markdown = _MARKDOWN.match(line)
    if markdown:
        return Heading(markdown.group("title").strip(), len(markdown.group("hashes")), start, end)
    if not in_article and len(line) <= MAX_TITLE_CHARS and line[-1] not in _SENTENCE_END and _a_unit_title(line):
        # A short line that opens with a unit is that unit's heading, as the bold titles of a review
        # read once a Word 97 file or a plain text has lost the bold.
        return Heading(line, UNIT_TITLE_RANK, start, end)
    if not in_article and opens_with_unit_and_colon(line):
        if len(line) <= MAX_TITLE_CHARS and line[-1] not in _SENTENCE_END:
            return Heading(line, UNIT_COLON_RANK, start, end)
        return Heading(_first_clause(line), UNIT_COLON_RANK, start, start)
    for rule in _RULES:
        match = rule.pattern.match(line)
        if not match:
            continue
        if rule.short_only and (in_article or len(line) > NUMBERED_TITLE_CHARS or line[-1] in _SENTENCE_END):
            return None
        title = match.group("title").strip()
        return Heading(title, rule.rank, start, start if rule.keeps_line else end)
    return None


def sections_from_text(text: str) -> list[Section]:
    """Sections in document order; text before the first heading has an empty heading path."""
    headings = find_headings(text)
    sections: list[Section] = []
    stack: list[Heading] = []
    first = headings[0].line_start if headings else len(text)
    if text[:first].strip():
        sections.append(Section(heading_path=[], start=0, end=first))
    for index, heading in enumerate(headings):
        while stack and stack[-1].rank >= heading.rank:
            stack.pop()
        stack.append(heading)
        end = headings[index + 1].line_start if index + 1 < len(headings) else len(text)
        if not text[heading.body_start : end].strip():
            continue
        path = [h.title for h in stack]
        sections.append(Section(heading_path=path, start=heading.body_start, end=end))
    return sections


def _a_unit_title(line: str) -> bool:
    """"五常市政协 发挥协商优势…": a unit, then the title of what it did — set off by a space, or run on
    where OCR or a paste dropped the space ("五常市政协发挥协商优势…")."""
    found = unit_at_start(line)
    return bool(found and len(found[1]) >= 4 and line.startswith(found[0])
                and line[len(found[0])] not in ":：")


def _first_clause(line: str) -> str:
    """A long line's title: up to its first full stop, cut at MAX_TITLE_CHARS."""
    cut = min((i for i in (line.find(ch) for ch in "。；;！？") if i > 0), default=len(line))
    title = line[:cut]
    return title if len(title) <= MAX_TITLE_CHARS else title[:MAX_TITLE_CHARS] + "…"
