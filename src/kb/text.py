"""Text at the edges: what a user types (a query, a filter value, a terminal's argv) is made into
clean text once, where it enters kb, so nothing inside sees lone surrogates or control characters."""

from __future__ import annotations

import os
import re

# Lone surrogates (U+D800-U+DFFF) cannot be encoded; C0/C1 controls and DEL are never meant in a query.
_UNWANTED = re.compile(r"[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# What Python's surrogateescape makes of bytes that are not UTF-8 (argv, file names).
_ESCAPED = re.compile(r"[\udc80-\udcff]")


def clean_text(value: str) -> str:
    """Drops lone surrogates and control characters (tabs and newlines become spaces)."""
    return _UNWANTED.sub("", value.replace("\t", " ").replace("\r", " ").replace("\n", " "))


def from_terminal(value: str) -> str:
    """Text from argv or a file name: bytes that were not UTF-8 (a Chinese Windows share, a GBK
    terminal) are read as GB18030; ValueError when they are not that either."""
    if not _ESCAPED.search(value):
        return value
    raw = os.fsencode(value)
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        raise ValueError(f"{raw!r} is neither UTF-8 nor GB18030 text") from None


def in_order(short: str, full: str) -> bool:
    """Whether every character of ``short`` is in ``full``, in the same order: how Chinese short forms
    are made (社法委 from 社会和法制委员会)."""
    rest = iter(full)
    return all(character in rest for character in short)


def readable_name(value: str) -> str:
    """A file name for people and for storage: UTF-8, else GB18030, else with replacement marks."""
    try:
        return from_terminal(value)
    except ValueError:
        return os.fsencode(value).decode("utf-8", errors="replace")


_SENTENCE_END = "。！？!?；;…”』」）)》.\""


def with_ellipsis(text: str) -> str:
    """A passage as a reader sees it: one cut in mid-sentence ends in “…”, so it is not taken for the
    whole statement."""
    text = text.rstrip()
    return text if not text or text[-1] in _SENTENCE_END else text + "…"


def local_time(stamp: str | None, zone: str) -> str:
    """A stored UTC ISO time as a person in ``zone`` reads it: “2026-11-26 09:03”; '' for none."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    if not stamp:
        return ""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without the whitespace at either end."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


# What a spreadsheet reads as the start of a formula (OWASP's list for CSV injection: = + - @, tab, CR).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert_cell(value):
    """A CSV cell no spreadsheet will run: text that opens like a formula gets a leading apostrophe,
    which Excel and WPS show as text and hide. Numbers and other values pass as they are."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


# ASCII punctuation that Markdown (CommonMark, GFM), Streamlit's :colour[…] and :emoji: directives and its
# KaTeX ($…$) give meaning to; a backslash before any of them makes it a plain character.
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:$<>&\"'=^])")


def markdown_text(value: str) -> str:
    """Text from a document, shown as text wherever the page renders Markdown: no link, image, colour,
    formula, emphasis or HTML that a heading or a file name brings along is ever rendered or fetched."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", value)
