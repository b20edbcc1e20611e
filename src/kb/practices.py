"""Practices as things to learn from, not only to search: a catalogue of every unit's practice
with its lead, key figures and keywords; themes that group related practices; similar practices
of other units; and approach cards for numbered models such as 民盟's 45721 think-tank model.

Everything is read from the indexed documents and their stored embeddings, offline and without a
language model: nothing here writes text the source does not contain. A practice is a section whose
heading starts with a unit's name ("五常市政协 发挥协商优势 …"), with any subsections under it.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import re
from collections import Counter
from collections.abc import Iterable

import jieba
import numpy as np
from pydantic import BaseModel, Field, PrivateAttr

from kb.metadata import unit_from_heading, unit_type_of
from kb.store import Store

jieba.setLogLevel(logging.WARNING)

EXPORT_FORMATS = ("csv", "md", "json")

# Words every CPPCC review repeats: they say nothing about what a practice is about.
BOILERPLATE = frozenset(
    "政协 委员 政协委员 工作 履职 开展 推动 推进 提升 加强 发挥 积极 全市 全区 全县 全省 哈尔滨 哈尔滨市 "
    "委员会 作用 活动 工作者 方面 单位 机构 领导 党组 主席 副主席 常委 常委会 专委会 部门 群众 人民 "
    "发展 建设 问题 情况 形式 方式 进一步 质量 水平 能力 力量 智慧 成效 成果 作出 贡献 举措 措施 "
    "机制 平台 体系 模式 全面 不断 深入 持续 有效 更好 重要 实际 相关 各类 一系列 新时代 高质量".split()
)
_KEYWORD_POS = ("n", "nz", "nt", "nw", "vn", "nr", "l", "eng")
KEYWORDS_PER_PRACTICE = 8

_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]*")
_CLAUSE_BREAK = "，。；！？：,;!?:\n"
_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}

# A count with what it counts: "46个", "12件", "两千多场", "3000余人次", "85%".
_FIGURE = re.compile(
    r"(?<![第\d.])(?P<value>\d+(?:\.\d+)?(?:万|亿)?|[一二两三四五六七八九十]*[十百千万亿][一二两三四五六七八九十百千万]*)"
    r"(?P<approx>余|多)?(?P<measure>%|人次|场次|万元|亿元|元|个|件|次|场|人|名|位|家|条|篇|项|期|户|所|处|批|份|天|册|本|套|座|支|类|组|轮|户|亩|吨)"
)
# A model named by its digits: "45721 专题智库模式", "1+N工作法" is not one (it has no list).
_DIGIT_MODEL = re.compile(r"(?<![\d.])(?P<digits>[1-9]{3,6})[”\s]*(?P<rest>[\u4e00-\u9fff]{0,10}?(?:模式|工作法|机制|体系|模型))")
# "…、…、…4个全过程", "“三张网”", "5个原则：…、…".
_NUMBERED = re.compile(r"(?P<open>“)?(?<![\d.一二两三四五六七八九十百千])(?P<n>10|[1-9]|[一二两三四五六七八九十])"
                       r"(?P<measure>个|项|张|种|大|条|方面)(?P<cat>[\u4e00-\u9fff]{1,8})(?P<close>”)?")
_LIST_AFTER = re.compile(r"\s*(?:[：:]|，?即|，?分别是|，?包括)\s*([^。；\n]+)")
_LEADING_VERBS = ("坚持", "明确", "把握", "织密", "建立", "构建", "打造", "突出", "围绕", "实行", "推行", "落实",
                  "做到", "实现", "强化", "完善", "健全", "搭建", "聚焦", "包括", "涵盖", "形成", "设立", "成立",
                  "抓好", "抓住", "注重", "实施", "用好", "做好", "即", "是", "有")


class Figure(BaseModel):
    value: str
    measure: str
    text: str  # the clause it is stated in, e.g. "在全区19个街镇挂牌成立委员工作站"


class Practice(BaseModel):
    practice_id: str
    doc_id: str
    document_title: str
    unit: str
    unit_type: str
    year: int | None
    title: str
    heading: str
    lead: str
    text: str
    start: int
    end: int
    # (chunk id, start, end) in document offsets, so a card can point at the chunks holding it.
    chunks: list[tuple[int, int, int]]
    figures: list[Figure] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    theme: str = ""


class Theme(BaseModel):
    name: str
    keywords: list[str]
    practice_ids: list[str]


class ApproachPart(BaseModel):
    number: int
    category: str = ""
    items: list[str] = Field(default_factory=list)
    described: bool = True


class ApproachCard(BaseModel):
    name: str
    unit: str
    practice_id: str
    doc_id: str
    parts: list[ApproachPart]
    passages: list[str]
    chunk_ids: list[int]


class SimilarPractice(BaseModel):
    practice_id: str
    unit: str
    title: str
    similarity: float
    shared_keywords: list[str]


class Catalogue(BaseModel):
    generation: int
    practices: list[Practice]
    themes: list[Theme]
    cards: list[ApproachCard]
    # One unit vector per practice, in catalogue order: the mean of its chunk embeddings, less
    # the mean of all practices, so that similarity reflects topic rather than shared genre.
    # Kept as an array, not a field: the page asks for similar practices of every practice it shows.
    _vectors: np.ndarray = PrivateAttr(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))

    def practice(self, practice_id: str) -> Practice:
        for practice in self.practices:
            if practice.practice_id == practice_id:
                return practice
        raise KeyError(f"no practice {practice_id!r}; `kb practices` lists them")

    def similar(self, practice_id: str, count: int = 5) -> list[SimilarPractice]:
        """The closest practices of other units: a unit's own practices are no news to it."""
        target = self.practice(practice_id)
        if not len(self._vectors):
            return []
        scores = self._vectors @ self._vectors[self.practices.index(target)]
        found = []
        for index in np.argsort(-scores):
            other = self.practices[int(index)]
            if other.unit == target.unit:
                continue
            shared = [word for word in target.keywords if word in other.keywords]
            found.append(SimilarPractice(practice_id=other.practice_id, unit=other.unit, title=other.title,
                                         similarity=float(scores[index]), shared_keywords=shared))
            if len(found) == count:
                break
        return found

    def card_for_chunk(self, chunk_id: int) -> ApproachCard | None:
        for card in self.cards:
            if chunk_id in card.chunk_ids:
                return card
        return None

    def theme_chunk_ids(self, theme: str) -> list[int]:
        members = next((t.practice_ids for t in self.themes if t.name == theme), [])
        return [chunk[0] for p in self.practices if p.practice_id in members for chunk in p.chunks]


def build_catalogue(store: Store) -> Catalogue:
    manifest = store.manifest()
    if manifest is None:
        return Catalogue(generation=0, practices=[], themes=[], cards=[])
    practices, vectors = _practices(store, manifest.model.key(), manifest.model.dimension)
    vectors = _centred(vectors)
    words = [_content_words(f"{p.title}\n{p.text}", p.unit) for p in practices]
    _add_keywords(practices, words)
    themes = _themes(practices, vectors, words)
    cards = [card for practice in practices for card in approach_cards(practice)]
    catalogue = Catalogue(generation=manifest.generation, practices=practices, themes=themes, cards=cards)
    catalogue._vectors = vectors
    return catalogue


# -- practices ---------------------------------------------------------------------------


def _practices(store: Store, model_key: str, dimension: int) -> tuple[list[Practice], np.ndarray]:
    groups: dict[tuple[str, tuple[str, ...]], list[tuple[int, int, int]]] = {}
    for chunk_id, doc_id, heading_path, start, end in store.chunk_spans():
        path = json.loads(heading_path)
        depth = next((i for i in range(len(path) - 1, -1, -1) if unit_from_heading(path[i])), None)
        if depth is not None:
            groups.setdefault((doc_id, tuple(path[: depth + 1])), []).append((chunk_id, start, end))
    if not groups:
        return [], np.zeros((0, dimension), dtype=np.float32)
    documents = store.documents_with_text({doc_id for doc_id, _ in groups})
    chunk_vectors = store.vectors_of([c for spans in groups.values() for c, _, _ in spans], model_key, dimension)

    practices, vectors = [], []
    counters: Counter[str] = Counter()
    for (doc_id, path), spans in sorted(groups.items(), key=lambda item: (item[0][0], min(s for _, s, _ in item[1]))):
        doc = documents[doc_id]
        start, end = min(s for _, s, _ in spans), max(e for _, _, e in spans)
        heading = path[-1]
        unit = unit_from_heading(heading)
        raw = doc["text"][start:end]
        text = raw.strip()
        start += len(raw) - len(raw.lstrip())
        counters[doc_id] += 1
        practices.append(Practice(
            practice_id=f"{doc_id}#{counters[doc_id]}",
            doc_id=doc_id,
            document_title=doc["title"],
            unit=unit,
            unit_type=unit_type_of(unit),
            year=doc["year"],
            title=heading[len(unit):].strip() or heading,
            heading=heading,
            lead=lead_of(text),
            text=text,
            start=start,
            end=start + len(text),
            chunks=sorted(spans),
            figures=figures_in(text),
        ))
        rows = [chunk_vectors[c] for c, _, _ in spans if c in chunk_vectors]
        mean = np.mean(rows, axis=0) if rows else np.zeros(dimension, dtype=np.float32)
        vectors.append(mean / (np.linalg.norm(mean) or 1.0))
    return practices, np.asarray(vectors, dtype=np.float32)


def lead_of(text: str, sentences: int = 2, limit: int = 160) -> str:
    """The first sentence or two: in these reviews they say who did what, and why."""
    lead = ""
    for match in _SENTENCE.finditer(text):
        sentence = match.group().strip()
        if not sentence:
            continue
        if lead and (len(lead) + len(sentence) > limit or sentences <= 0):
            break
        lead += sentence
        sentences -= 1
        if sentences <= 0:
            break
    return lead


def figures_in(text: str, limit: int = 8) -> list[Figure]:
    """Counts of what was done ("提交提案12件"), not the counts that name a list ("5个原则"):
    those belong to an approach card."""
    figures: list[Figure] = []
    seen: set[str] = set()
    lists = [(part.start, part.end) for part in _numbered_parts(text)]
    for match in _FIGURE.finditer(text):
        if any(start <= match.start() < end for start, end in lists):
            continue
        value = match.group("value")
        if value.isdigit() and len(value) == 4 and 1900 <= int(value) <= 2100:
            continue  # a year
        clause = _clause_around(text, match.start(), match.end())
        if clause in seen:
            continue
        seen.add(clause)
        figures.append(Figure(value=value + (match.group("approx") or ""), measure=match.group("measure"), text=clause))
        if len(figures) == limit:
            break
    return figures


def _clause_around(text: str, start: int, end: int, width: int = 40) -> str:
    left = max((text.rfind(ch, 0, start) for ch in _CLAUSE_BREAK), default=-1) + 1
    right = min((i for i in (text.find(ch, end) for ch in _CLAUSE_BREAK) if i >= 0), default=len(text))
    left, right = max(left, start - width), min(right, end + width)
    return text[left:right].strip(" “”\"")


def _centred(vectors: np.ndarray) -> np.ndarray:
    """Every review practice shares the genre; without its mean direction, clustering separates
    topics instead of peeling off outliers one by one, and similarities spread out."""
    if len(vectors) < 2:
        return vectors
    centred = vectors - vectors.mean(axis=0)
    return centred / np.maximum(np.linalg.norm(centred, axis=1, keepdims=True), 1e-9)


# -- keywords and themes -----------------------------------------------------------------


def _add_keywords(practices: list[Practice], words: list[Counter[str]]) -> None:
    """TF-IDF over the practices themselves, so that what every practice says weighs nothing."""
    for practice, scored in zip(practices, _tf_idf(words)):
        practice.keywords = _top(scored, KEYWORDS_PER_PRACTICE)


def _tf_idf(counts: list[Counter[str]]) -> list[dict[str, float]]:
    frequency = Counter(word for words in counts for word in words)
    total = len(counts)
    scored = []
    for words in counts:
        length = sum(words.values()) or 1
        scored.append({w: (c / length) * (math.log((total + 1) / (frequency[w] + 1)) + 1) for w, c in words.items()})
    return scored


def _top(scored: dict[str, float], count: int) -> list[str]:
    return [word for word, _ in sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))][:count]


def _content_words(text: str, unit: str) -> Counter[str]:
    import jieba.posseg  # loads its tagging model: only when practices are built, never for a search

    words: Counter[str] = Counter()
    for token in jieba.posseg.cut(text):
        word = token.word.strip()
        if (len(word) < 2 or word in BOILERPLATE or word in unit or not token.flag.startswith(_KEYWORD_POS)
                or token.flag.startswith("ns")):
            continue
        words[word] += 1
    return words


def _themes(practices: list[Practice], vectors: np.ndarray, words: list[Counter[str]]) -> list[Theme]:
    """Groups of related practices by their (centred) embeddings, each named by the keywords its
    members share most."""
    if not practices:
        return []
    count = min(len(practices), max(1, round(math.sqrt(len(practices) * 1.25))))
    if count > 1:
        from sklearn.cluster import AgglomerativeClustering

        labels = AgglomerativeClustering(n_clusters=count, metric="cosine", linkage="average").fit_predict(vectors)
    else:
        labels = np.zeros(len(practices), dtype=int)
    groups = [[i for i, lab in enumerate(labels) if lab == label]
              for label in sorted(set(labels.tolist()), key=lambda lab: (-int((labels == lab).sum()), lab))]
    # A group's name: its words that are frequent across its members and rare in the other groups,
    # weighted by how many members use them, so one member's pet word cannot name the group.
    group_words = [sum((words[i] for i in group), Counter()) for group in groups]
    themes: list[Theme] = []
    used: set[str] = set()  # a word names one group only, so that names tell groups apart
    for group, scored in zip(groups, _tf_idf(group_words)):
        spread = Counter(word for i in group for word in words[i])
        weighted = {w: score * spread[w] / len(group) for w, score in scored.items() if w not in used}
        keywords = _top(weighted, 3)
        used.update(keywords)
        name = "·".join(keywords) or practices[group[0]].title
        for i in group:
            practices[i].theme = name
        themes.append(Theme(name=name, keywords=keywords, practice_ids=[practices[i].practice_id for i in group]))
    return themes


# -- approach cards ----------------------------------------------------------------------


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
    parts = _numbered_parts(text)
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
    return cards


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


def _numbered_parts(text: str) -> list[_Part]:
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


# -- export ------------------------------------------------------------------------------

_COLUMNS = ("practice_id", "unit", "unit_type", "year", "title", "lead", "figures", "keywords", "theme",
            "document_title")


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
        writer = csv.DictWriter(out, fieldnames=_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
        # Excel reads a CSV as the local code page unless it starts with a BOM.
        return "\ufeff" + out.getvalue()
    return _markdown(catalogue)


def _flat(practice: Practice) -> dict:
    row = {key: getattr(practice, key) for key in _COLUMNS if key not in ("figures", "keywords")}
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


def card_markdown(card: ApproachCard) -> str:
    lines = [f"### {card.name}（{card.unit}）", ""]
    for part in card.parts:
        if part.described:
            lines.append(f"- **{part.number}** 个{part.category}：{'、'.join(part.items)}")
        else:
            lines.append(f"- **{part.number}**：原文未说明")
    lines += ["", "出处：", *[f"> {passage}" for passage in card.passages]]
    return "\n".join(lines)


def matching(practices: Iterable[Practice], unit: str | None = None, theme: str | None = None) -> list[Practice]:
    return [p for p in practices if (not unit or p.unit == unit) and (not theme or p.theme == theme)]
