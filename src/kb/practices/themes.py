"""Keywords of each practice and themes that group related practices, from the practices' own words
and their embeddings."""

from __future__ import annotations

import logging
import math
from collections import Counter

import jieba
import numpy as np

from kb.practices.records import Practice, Theme

jieba.setLogLevel(logging.WARNING)

# Words every CPPCC review repeats: they say nothing about what a practice is about.
BOILERPLATE = frozenset(
    "政协 委员 政协委员 工作 履职 开展 推动 推进 提升 加强 发挥 积极 全市 全区 全县 全省 哈尔滨 哈尔滨市 "
    "委员会 作用 活动 工作者 方面 单位 机构 领导 党组 主席 副主席 常委 常委会 专委会 部门 群众 人民 "
    "发展 建设 问题 情况 形式 方式 进一步 质量 水平 能力 力量 智慧 成效 成果 作出 贡献 举措 措施 "
    "机制 平台 体系 模式 全面 不断 深入 持续 有效 更好 重要 实际 相关 各类 一系列 新时代 高质量".split()
)
_KEYWORD_POS = ("n", "nz", "nt", "nw", "vn", "nr", "l", "eng")
KEYWORDS_PER_PRACTICE = 8


def centred(vectors: np.ndarray) -> np.ndarray:
    """Every review practice shares the genre; without its mean direction, clustering separates
    topics instead of peeling off outliers one by one, and similarities spread out."""
    if len(vectors) < 2:
        return vectors
    centred = vectors - vectors.mean(axis=0)
    return centred / np.maximum(np.linalg.norm(centred, axis=1, keepdims=True), 1e-9)


def add_keywords(practices: list[Practice], words: list[Counter[str]]) -> None:
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


def content_words(text: str, unit: str) -> Counter[str]:
    import jieba.posseg  # loads its tagging model: only when practices are built, never for a search

    words: Counter[str] = Counter()
    for token in jieba.posseg.cut(text):
        word = token.word.strip()
        if (len(word) < 2 or word in BOILERPLATE or word in unit or not token.flag.startswith(_KEYWORD_POS)
                or token.flag.startswith("ns")):
            continue
        words[word] += 1
    return words


def group_into_themes(practices: list[Practice], vectors: np.ndarray, words: list[Counter[str]]) -> list[Theme]:
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


