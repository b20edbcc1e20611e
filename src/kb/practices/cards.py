"""Approach cards: numbered models ("45721 专题智库模式") and counted lists ("“三张网”") read from a
practice's text, each part with its items, or marked as not described where the text never says."""

from __future__ import annotations

import re

from pydantic import BaseModel

from kb.practices.records import ApproachCard, ApproachPart, Practice
from kb.text import markdown_text

_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}

# A model named by its digits: "45721 专题智库模式", "1+N工作法" is not one (it has no list).
_DIGIT_MODEL = re.compile(r"(?<![\d.])(?P<digits>[1-9]{3,6})[”\s]*(?P<rest>[\u4e00-\u9fff]{0,10}?(?:模式|工作法|机制|体系|模型))")
# "…、…、…4个全过程", "“三张网”", "5个原则：…、…".
_NUMBERED = re.compile(r"(?P<open>“)?(?<![\d.一二两三四五六七八九十百千])(?P<n>10|[1-9]|[一二两三四五六七八九十])"
                       r"(?P<measure>个|项|张|种|大|条|方面)(?P<cat>[\u4e00-\u9fff]{1,8})(?P<close>”)?")
_LIST_AFTER = re.compile(r"\s*(?:[：:]|，?即|，?分别是|，?包括)\s*([^。；\n]+)")
_LEADING_VERBS = ("坚持", "明确", "把握", "织密", "建立", "构建", "打造", "突出", "围绕", "实行", "推行", "落实",
                  "做到", "实现", "强化", "完善", "健全", "搭建", "聚焦", "包括", "涵盖", "形成", "设立", "成立",
                  "抓好", "抓住", "注重", "实施", "用好", "做好", "即", "是", "有")


class _Part(BaseModel):
    number: int
    category: str
    items: list[str]
    start: int
    end: int
    quoted_name: str = ""


def approach_cards(practice: Practice) -> list[ApproachCard]:
    """Cards for the numbered models a practice defines. A digit the text never explains gets a
    part marked as not described: the card shows the gap instead of filling it."""
    text = practice.text
    parts = numbered_parts(text)
    cards: list[ApproachCard] = []
    models = list(_DIGIT_MODEL.finditer(text))
    consumed: set[int] = set()
    for index, model in enumerate(models):
        scope_end = models[index + 1].start() if index + 1 < len(models) else len(text)
        available = [i for i, p in enumerate(parts) if model.start() <= p.start < scope_end and i not in consumed]
        card_parts, spans = [], [(model.start(), model.end())]
        for digit in model.group("digits"):
            number = int(digit)
            match = next((i for i in available if parts[i].number == number and i not in consumed), None)
            if match is None:
                card_parts.append(ApproachPart(number=number, described=False))
                continue
            consumed.add(match)
            part = parts[match]
            card_parts.append(ApproachPart(number=number, category=part.category, items=part.items))
            spans.append((part.start, part.end))
        if not any(part.described for part in card_parts):
            continue  # a number that only looks like a model name
        name = f"{model.group('digits')} {model.group('rest')}"
        cards.append(_card(practice, name, card_parts, spans))
    for index, part in enumerate(parts):
        if index in consumed:
            continue
        name = part.quoted_name or f"{part.number}个{part.category}"
        cards.append(_card(practice, name, [ApproachPart(number=part.number, category=part.category, items=part.items)],
                           [(part.start, part.end)]))
    return cards + counted_word_cards(practice)


# A name made of counted words: “三融三计”, “五有四上墙”, “一会三室”, with what it is (工作法, 模式 …).
_COUNTED_NAME = re.compile(r"“(?P<name>(?:[一二两三四五六七八九十][\u4e00-\u9fff]{1,2}?){2,4})”"
                           r"(?P<rest>工作法|工作机制|模式|机制|体系|做法)?")
_COUNTED_PART = re.compile(r"([一二两三四五六七八九十])([^一二两三四五六七八九十]{1,2})")


def counted_word_cards(practice: Practice) -> list[ApproachCard]:
    """Cards for names like “三融三计”: each counted word's items where the text spells them out —
    "“三融”，即阵地相融、力量相融、成果相融", or a list of that many items sharing the word
    ("有阵地、有制度、有人员、有活动、有成效" for 五有) — and marked as not described where it does not."""
    text = practice.text
    cards, seen = [], set()
    for model in _COUNTED_NAME.finditer(text):
        name = model.group("name")
        segments = _COUNTED_PART.findall(name)
        if name in seen or "".join(n + w for n, w in segments) != name:
            continue
        seen.add(name)
        parts, spans = [], [(model.start(), model.end())]
        for numeral, word in segments:
            number = _CN_DIGITS[numeral]
            items, span = _counted_items(text, numeral + word, word, number)
            parts.append(ApproachPart(number=number, category=word, items=items, described=bool(items)))
            if span:
                spans.append(span)
        if any(part.described for part in parts):
            cards.append(_card(practice, f"“{name}”{model.group('rest') or ''}", parts, spans))
    return cards


def _counted_items(text: str, counted: str, word: str, number: int) -> tuple[list[str], tuple[int, int] | None]:
    said = re.search(rf"“{counted}”[，,]?\s*(?:即|是|就是|指|包括)[：:]?([^。；\n]+)", text)
    if said:
        items = [item.strip(" “”") for item in re.split(r"[、，,]", said.group(1)) if item.strip(" “”")]
        if len(items) == number:
            return items, said.span()
    if number < 2:
        return [], None
    for listed in re.finditer(r"[^，。；：:\n]+", text):
        items = [item.strip(" “”") for item in listed.group().split("、")]
        at = items[0].find(word)
        if at > 0 and not items[0].endswith(word):
            items[0] = items[0][at:]  # "做到有阵地" → "有阵地": what introduces the list is not an item
        if len(items) == number and all(2 <= len(i) <= 10 and (i.startswith(word) or i.endswith(word)) for i in items):
            return items, listed.span()
    return [], None


def _card(practice: Practice, name: str, parts: list[ApproachPart], spans: list[tuple[int, int]]) -> ApproachCard:
    text = practice.text
    sentences: list[str] = []
    for start, end in spans:
        sentence = _sentence_around(text, start, end)
        if sentence not in sentences:
            sentences.append(sentence)
    covering = [
        chunk_id for chunk_id, chunk_start, chunk_end in practice.chunks
        if any(chunk_start < practice.start + e and practice.start + s < chunk_end for s, e in spans)
    ]
    return ApproachCard(name=name, unit=practice.unit, practice_id=practice.practice_id, doc_id=practice.doc_id,
                        parts=parts, passages=sentences, chunk_ids=covering)


def _sentence_around(text: str, start: int, end: int) -> str:
    left = max(text.rfind("。", 0, start), text.rfind("\n", 0, start)) + 1
    right_candidates = [i for i in (text.find("。", end), text.find("\n", end)) if i >= 0]
    right = min(right_candidates) + 1 if right_candidates else len(text)
    return text[left:right].strip()


def numbered_parts(text: str) -> list[_Part]:
    parts = []
    for match in _NUMBERED.finditer(text):
        raw = match.group("n")
        number = int(raw) if raw.isdigit() else _CN_DIGITS[raw]
        if number < 2:
            continue
        items, start, end = _items_before(text, match.start()), 0, match.end()
        if len(items) == number:
            start = _list_start(text, match.start())
        else:
            items, end = _items_after(text, match.end())
            start = match.start()
        if len(items) != number:
            continue  # the text names a count but does not list it here: nothing to put on a card
        quoted = match.group("open") and match.group("close")
        name = f"“{raw}{match.group('measure')}{match.group('cat')}”" if quoted else ""
        parts.append(_Part(number=number, category=match.group("cat"), items=items, start=start, end=end,
                           quoted_name=name))
    return parts


def _list_start(text: str, position: int) -> int:
    return max(text.rfind(ch, 0, position) for ch in "，。；：\n") + 1


def _items_before(text: str, position: int) -> list[str]:
    """The 、-separated list that ends right before a count: "指向明确、…、过筛保障4个全过程"."""
    start = _list_start(text, position)
    items = [item.strip(" “”") for item in text[start:position].split("、")]
    # A quote inside an item means the list belongs to a name ("按照“A、B”模式建立了三种…").
    if len(items) < 2 or not all(items) or any("“" in item or "”" in item for item in items):
        return []
    items[0] = _strip_lead(items[0], max(len(item) for item in items[1:]))
    return items if items[0] else []


def _items_after(text: str, position: int) -> tuple[list[str], int]:
    """The list that follows a count: "5个原则：问题导向、专业性、…"."""
    match = _LIST_AFTER.match(text, position)
    if not match:
        return [], position
    items = [item.strip(" “”") for item in re.split(r"[、，,]", match.group(1)) if item.strip(" “”")]
    return items, match.end()


def _strip_lead(first: str, longest_other: int) -> str:
    """Drop what introduces a list from its first item: "…模式即坚持指向明确" → "指向明确"."""
    best = first
    for verb in _LEADING_VERBS:
        at = first.rfind(verb)
        while at >= 0:
            remainder = first[at + len(verb):]
            if len(remainder) >= 2 and len(remainder) < len(best):
                best = remainder
                break
            at = first.rfind(verb, 0, at)
    if len(best) > max(longest_other * 2, 8):
        return ""  # no recognisable start: better no card than a wrong first item
    return best


def card_text(card: ApproachCard) -> str:
    """The card as plain text, for a terminal: no Markdown marks to read past."""
    lines = [f"{card.name}（{card.unit}）"]
    for part in card.parts:
        lines.append(f"  {part.number} 个{part.category}：{'、'.join(part.items)}" if part.described
                     else f"  {part.number}：原文未说明")
    lines += ["  出处：", *[f"    {passage}" for passage in card.passages]]
    return "\n".join(lines)


def card_markdown(card: ApproachCard) -> str:
    """The card in Markdown; every word from the document escaped, so the card shows them as text."""
    lines = [f"### {markdown_text(card.name)}（{markdown_text(card.unit)}）", ""]
    for part in card.parts:
        if part.described:
            items = "、".join(markdown_text(item) for item in part.items)
            lines.append(f"- **{part.number}** 个{markdown_text(part.category)}：{items}")
        else:
            lines.append(f"- **{part.number}**：原文未说明")
    lines += ["", "出处：", *[f"> {markdown_text(passage)}" for passage in card.passages]]
    return "\n".join(lines)
