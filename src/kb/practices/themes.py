"""Keywords of each practice and themes that group related practices, from the practices' own words
and their embeddings."""

from __future__ import annotations

import logging
import math
from collections import Counter

import jieba
import numpy as np
from pydantic import BaseModel, Field

from kb.practices.records import Practice, Theme

jieba.setLogLevel(logging.WARNING)

# Words every CPPCC review repeats, and the formulas of political writing (leaders, central organs,
# "全力"): they say nothing about what a practice is about.
BOILERPLATE = frozenset(
    ["政协", "委员", "政协委员", "工作", "履职", "开展", "推动", "推进", "提升", "加强", "发挥", "积极", "全市", "全区", "全县", "全省", "哈尔滨", "哈尔滨市", "委员会", "作用", "活动", "工作者", "方面", "单位", "机构", "领导", "党组", "主席", "副主席", "常委", "常委会", "专委会", "部门", "群众", "人民", "发展", "建设", "问题", "情况", "形式", "方式", "进一步", "质量", "水平", "能力", "力量", "智慧", "成效", "成果", "作出", "贡献", "举措", "措施", "机制", "平台", "体系", "模式", "全面", "不断", "深入", "持续", "有效", "更好", "重要", "实际", "相关", "各类", "一系列", "新时代", "高质量", "人民政协", "中共中央", "党中央", "中央", "习近平", "总书记", "全国政协", "人民日报", "国家", "全国", "全力", "全部", "全体", "全心全意", "个人", "众人", "意见", "基础", "重点", "主题", "因素", "主体", "优化", "定期", "传统", "意愿", "首要任务", "充分肯定", "积极探索", "区政府", "市政府", "县政府", "区委", "市委", "县委", "党委", "政府", "书记", "主任", "主任委员", "同志", "精神", "思想", "重要讲话", "指示", "批示", "部署", "要求", "意义"]
)
_KEYWORD_POS = ("n", "nz", "nt", "nw", "vn", "l", "eng")
# Person names (nr) and places (ns) are left out: a keyword names what was done, not who or where.
_NAME_POS = ("nr", "ns")
KEYWORDS_PER_PRACTICE = 8
MIN_KEYWORDS = 5
PHRASE_CHARS = (4, 8)


class PracticeWords(BaseModel):
    """What a practice's text says, counted once: its content words and its two-word phrases."""

    words: Counter = Field(default_factory=Counter)
    phrases: Counter = Field(default_factory=Counter)
    in_title: set[str] = Field(default_factory=set)


def centred(vectors: np.ndarray) -> np.ndarray:
    """Every review practice shares the genre; without its mean direction, clustering separates
    topics instead of peeling off outliers one by one, and similarities spread out."""
    if len(vectors) < 2:
        return vectors
    centred = vectors - vectors.mean(axis=0)
    return centred / np.maximum(np.linalg.norm(centred, axis=1, keepdims=True), 1e-9)


def add_keywords(practices: list[Practice], words: list[PracticeWords]) -> None:
    """TF-IDF over the practices themselves, so that what every practice says weighs nothing; a word
    said once in passing is no keyword unless the title says it."""
    for practice, scored, said in zip(practices, _tf_idf([w.words for w in words]), words):
        ranked = _top(scored, len(scored))
        repeated = [w for w in ranked if said.words[w] >= 2 or w in said.in_title]
        practice.keywords = (repeated + [w for w in ranked if w not in repeated])[:max(len(repeated), MIN_KEYWORDS)]
        practice.keywords = practice.keywords[:KEYWORDS_PER_PRACTICE]


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


def warm() -> None:
    """Load what building a catalogue needs (jieba's tagger, the clustering and map code) ahead of
    the first catalogue, so that a server can do it before its first visitor."""
    import jieba.posseg
    import sklearn.cluster
    import sklearn.manifold  # noqa: F401

    jieba.posseg.lcut("预热")


def practice_words(title: str, text: str, unit: str) -> PracticeWords:
    import jieba.posseg  # loads its tagging model: only when practices are built, never for a search

    said = PracticeWords()
    for part, is_title in ((title, True), (text, False)):
        previous = None
        for token in jieba.posseg.cut(part):
            word = token.word.strip()
            content = (len(word) >= 2 and word not in unit and token.flag.startswith(_KEYWORD_POS)
                       and not token.flag.startswith(_NAME_POS))
            if content and previous and word not in BOILERPLATE:  # the head word must say something
                phrase = previous + word
                if PHRASE_CHARS[0] <= len(phrase) <= PHRASE_CHARS[1]:
                    said.phrases[phrase] += 1
            if content and word not in BOILERPLATE:
                said.words[word] += 1
                if is_title:
                    said.in_title.add(word)
            previous = word if content else None
    return said


def group_into_themes(practices: list[Practice], vectors: np.ndarray, words: list[PracticeWords]) -> list[Theme]:
    """Groups of related practices by their (centred) embeddings, each named by a phrase its members
    share (“委员工作站”, “民主监督”) and its keywords."""
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
    # Keywords of a group: frequent across its members and rare in the other groups, weighted by how
    # many members use them, so one member's pet word cannot name the group.
    group_words = [sum((words[i].words for i in group), Counter()) for group in groups]
    group_phrases = [sum((words[i].phrases for i in group), Counter()) for group in groups]
    themes: list[Theme] = []
    used_words: set[str] = set()
    used_names: set[str] = set()
    for group, scored, phrase_scores in zip(groups, _tf_idf(group_words), _tf_idf(group_phrases)):
        keywords = _top(_spread_weighted(scored, group, [w.words for w in words], used_words), 3)
        used_words.update(keywords)
        phrases = _top(_spread_weighted(phrase_scores, group, [w.phrases for w in words], set()), 6)
        name = _theme_name(phrases, keywords, used_names) or practices[group[0]].title
        used_names.add(name)
        for i in group:
            practices[i].theme = name
        themes.append(Theme(name=name, keywords=keywords, practice_ids=[practices[i].practice_id for i in group]))
    return themes


def _spread_weighted(scored: dict[str, float], group: list[int], counts: list[Counter], skip: set[str]) -> dict:
    spread = Counter(item for i in group for item in counts[i])
    return {item: score * spread[item] / len(group) for item, score in scored.items() if item not in skip}


def _theme_name(phrases: list[str], keywords: list[str], taken: set[str]) -> str:
    """Two phrases the group's text uses (or its keywords where it has none), not contained in each
    other, joined by “、”: short enough for a filter list, different from every other theme's name."""
    chosen: list[str] = []
    for phrase in phrases + keywords:
        if any(phrase in other or other in phrase for other in chosen):
            continue
        chosen.append(phrase)
        if len(chosen) == 2:
            break
    name = "、".join(chosen)
    return name if name not in taken else "、".join(chosen + keywords[2:3])
