"""Keywords of each practice, what each practice does as a vector (the areas of CPPCC work it speaks
of and its own words), and themes that group the practices doing the same kind of work."""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections import Counter

import jieba
import numpy as np
from pydantic import BaseModel, Field

from kb.practices.areas import AREA_NAMES, area_profile, main_area
from kb.practices.lineage import ThemeRegister, settle
from kb.practices.records import Practice, Theme
from kb.text import in_order

jieba.setLogLevel(logging.WARNING)

# Words every CPPCC review repeats, and the formulas of political writing (leaders, central organs,
# "全力"): they say nothing about what a practice is about.
BOILERPLATE = frozenset(
    ["政协", "委员", "政协委员", "党委政府", "工作", "履职", "开展", "推动", "推进", "提升", "加强", "发挥", "积极", "全市", "全区", "全县", "全省", "哈尔滨", "哈尔滨市", "委员会", "作用", "活动", "工作者", "方面", "单位", "机构", "领导", "党组", "主席", "副主席", "常委", "常委会", "专委会", "部门", "群众", "人民", "发展", "建设", "问题", "情况", "形式", "方式", "进一步", "质量", "水平", "能力", "力量", "智慧", "成效", "成果", "作出", "贡献", "举措", "措施", "机制", "平台", "体系", "模式", "全面", "不断", "深入", "持续", "有效", "更好", "重要", "实际", "相关", "各类", "一系列", "新时代", "高质量", "人民政协", "中共中央", "党中央", "中央", "习近平", "总书记", "全国政协", "人民日报", "国家", "全国", "全力", "全部", "全体", "全心全意", "个人", "众人", "意见", "基础", "重点", "主题", "因素", "主体", "优化", "定期", "传统", "意愿", "首要任务", "充分肯定", "积极探索", "中共党员", "党组书记", "本市", "市区", "每季度", "每人每年",
     "下功夫", "出席会议", "区政府", "市政府", "县政府", "区委", "市委", "县委", "党委", "政府", "书记", "主任", "主任委员", "同志", "精神", "思想", "重要讲话", "指示", "批示", "部署", "要求", "意义"]
)
_KEYWORD_POS = ("n", "nz", "nt", "nw", "vn", "l", "eng")
# Person names (nr) and places (ns) are left out: a keyword names what was done, not who or where.
_NAME_POS = ("nr", "ns")
KEYWORDS_PER_PRACTICE = 8
MIN_KEYWORDS = 5
PHRASE_CHARS = (4, 8)
# Practices further apart than this (cosine distance, average linkage) are not one theme. Chosen on
# the bundled corpus with the development documents against tests/data/practices/themes_judged.json
# (bench/themes.py).
THEME_DISTANCE = 0.7
VOCABULARY = 2048


class PracticeWords(BaseModel):
    """What a practice's text says, counted once: its content words and its two-word phrases."""

    words: Counter = Field(default_factory=Counter)
    phrases: Counter = Field(default_factory=Counter)
    in_title: set[str] = Field(default_factory=set)
    # Words and phrases together, a title's three times and a lead's twice: what grouping compares.
    weighted: Counter = Field(default_factory=Counter)


def add_keywords(practices: list[Practice], words: list[PracticeWords]) -> None:
    """TF-IDF over the practices themselves, so that what every practice says weighs nothing; a word
    said once in passing is no keyword unless the title says it."""
    known = jieba.dt.FREQ
    for practice, scored, said in zip(practices, _tf_idf([w.words for w in words]), words):
        ranked = _top(scored, len(scored))
        repeated = [w for w in ranked if said.words[w] >= 2 or w in said.in_title]
        # A word jieba's dictionary does not know, said once outside the title, is most often a cut
        # across two words (“实事办好” → 事办): it does not fill the list.
        filling = [w for w in ranked if w not in repeated and known.get(w)]
        practice.keywords = (repeated + filling)[:max(len(repeated), MIN_KEYWORDS)]
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


def practice_words(title: str, text: str, unit: str, lead: str = "") -> PracticeWords:
    import jieba.posseg  # loads its tagging model: only when practices are built, never for a search

    said = PracticeWords()
    for part, weight in ((title, 3), (lead, 2), (text, 1)):
        is_title, counted = weight == 3, weight != 2  # the lead is inside the text: weighted, not counted again
        previous, counted_before = None, False
        for token in jieba.posseg.cut(part):
            word = token.word.strip()
            # Not the unit's name or a short form of it (社法 of 社会和法制委员会), not the rest of a
            # count ("420余场" → 余场).
            content = (len(word) >= 2 and word not in unit and not in_order(word, unit)
                       and token.flag.startswith(_KEYWORD_POS) and not token.flag.startswith(_NAME_POS)
                       and not (counted_before and word[0] in "余多"))
            counted_before = token.flag.startswith("m") or word.isdigit()
            if content and previous and word not in BOILERPLATE:  # the head word must say something
                phrase = previous + word
                if PHRASE_CHARS[0] <= len(phrase) <= PHRASE_CHARS[1]:
                    said.weighted[phrase] += weight
                    if counted:
                        said.phrases[phrase] += 1
            if content and word not in BOILERPLATE:
                said.weighted[word] += weight
                if counted:
                    said.words[word] += 1
                if is_title:
                    said.in_title.add(word)
            previous = word if content else None
    return said


def what_they_do(practices: list[Practice], words: list[PracticeWords]) -> np.ndarray:
    """One vector per practice for what it does: the areas of CPPCC work it speaks of
    (kb.practices.areas) beside its own words and phrases (TF-IDF, the title's and the lead's
    weighted up), half and half. Themes, similar practices and the map all compare these; an
    embedding of the passages would compare documents, since every chunk carries its document's title."""
    if not practices:
        return np.zeros((0, len(AREA_NAMES) + 1), dtype=np.float32)
    areas = np.stack([area_profile(p.title, p.lead, p.text) for p in practices])
    counted = Counter(term for said in words for term in said.weighted)
    # Terms one practice alone uses say nothing about what it shares; the cap bounds the width.
    vocabulary = [term for term, df in sorted(counted.items(), key=lambda kv: (-kv[1], kv[0])) if df >= 2][:VOCABULARY]
    column = {term: i for i, term in enumerate(vocabulary)}
    lexical = np.zeros((len(practices), len(vocabulary)), dtype=np.float32)
    total = len(practices)
    for row, said in enumerate(words):
        for term, count in said.weighted.items():
            if term in column:
                lexical[row, column[term]] = (1 + math.log(count)) * math.log((total + 1) / (counted[term] + 0.5))
    lexical /= np.maximum(np.linalg.norm(lexical, axis=1, keepdims=True), 1e-9)
    return (np.hstack([areas, lexical]) / math.sqrt(2)).astype(np.float32)


def group_into_themes(practices: list[Practice], profiles: np.ndarray, words: list[PracticeWords],
                      previous: ThemeRegister, generation: int, regroup: bool = False) -> tuple[list[Theme], ThemeRegister]:
    """Practices grouped by what they do. The last generation's themes keep the practices they still
    have; a new practice joins the theme it is closest to (average cosine distance to its practices)
    if that is within THEME_DISTANCE, and the rest are grouped among themselves under the same
    threshold. So a one-document change never moves or renames a theme it does not touch, and a
    saved theme filter keeps its practices. ``regroup`` (or no earlier themes) groups every practice
    afresh; a theme then keeps its id and name while most of its practices stay (kb.practices.lineage).
    A new theme is named by the area of work most of its practices speak of, or by phrases they share."""
    if not practices:
        return [], previous.model_copy(update={"generation": generation, "themes": []})
    keys = [member_key(p) for p in practices]
    groups = _regrouped(profiles) if regroup else _carried(keys, profiles, previous)
    groups.sort(key=lambda group: (-len(group), group[0]))
    # Keywords of a group: frequent across its members and rare in the other groups, weighted by how
    # many members use them, so one member's pet word cannot name the group.
    group_words = [sum((words[i].words for i in group), Counter()) for group in groups]
    group_phrases = [sum((words[i].phrases for i in group), Counter()) for group in groups]
    keywords_of: list[list[str]] = []
    phrases_of: list[list[str]] = []
    used_words: set[str] = set()
    for group, scored, phrase_scores in zip(groups, _tf_idf(group_words), _tf_idf(group_phrases)):
        keywords_of.append(_top(_spread_weighted(scored, group, [w.words for w in words], used_words), 3))
        used_words.update(keywords_of[-1])
        phrases_of.append(_top(_spread_weighted(phrase_scores, group, [w.phrases for w in words], set()), 6))

    def name_of(index: int, taken: set[str]) -> str:
        members = groups[index]
        area = main_area(profiles[members, :len(AREA_NAMES)])
        if area is None and len(members) == 1:  # a practice of its own kind: its title says what it does
            named = re.split(r"[\s，,：:；;]", practices[members[0]].title.strip(" “”"))[0].strip("“”")
            if 2 <= len(named) <= 12 and named not in taken:
                return named
        # A title says what its practice does: phrases the members' titles use come first.
        titles = " ".join(practices[i].title for i in members)
        phrases = sorted(phrases_of[index], key=lambda phrase: phrase not in titles)
        return _theme_name(area, phrases, keywords_of[index], taken) or practices[members[0]].title

    settled, register = settle([[keys[i] for i in group] for group in groups], previous, generation, name_of)
    themes = []
    for group, place, keywords in zip(groups, settled, keywords_of):
        for i in group:
            practices[i].theme = place.name
        themes.append(Theme(theme_id=place.theme_id, name=place.name, former_names=place.former_names,
                            keywords=keywords, practice_ids=[practices[i].practice_id for i in group]))
    return themes, register


def member_key(practice: Practice) -> str:
    """A practice as the register knows it: its id and a digest of its text, so that a practice whose
    document was edited is placed again rather than kept where its old text was."""
    return f"{practice.practice_id}@{hashlib.blake2b(practice.text.encode('utf-8'), digest_size=6).hexdigest()}"


def _carried(keys: list[str], profiles: np.ndarray, previous: ThemeRegister) -> list[list[int]]:
    row = {key: i for i, key in enumerate(keys)}
    groups = [members for theme in previous.themes if (members := [row[pid] for pid in theme.members if pid in row])]
    if not groups:
        return _regrouped(profiles)
    placed = {i for group in groups for i in group}
    arrivals = [i for i in range(len(keys)) if i not in placed]
    strays = []
    for i in arrivals:
        distances = [float(np.mean(1 - profiles[group] @ profiles[i])) for group in groups]
        best = int(np.argmin(distances))
        if distances[best] <= THEME_DISTANCE:
            groups[best].append(i)
        else:
            strays.append(i)
    if strays:
        groups += [[strays[i] for i in group] for group in _regrouped(profiles[strays])]
    return groups


def _regrouped(profiles: np.ndarray) -> list[list[int]]:
    if len(profiles) < 2:
        return [list(range(len(profiles)))]
    from sklearn.cluster import AgglomerativeClustering

    labels = AgglomerativeClustering(n_clusters=None, distance_threshold=THEME_DISTANCE, metric="cosine",
                                     linkage="average").fit_predict(profiles)
    return [[i for i, lab in enumerate(labels) if lab == label] for label in sorted(set(labels.tolist()))]


def _spread_weighted(scored: dict[str, float], group: list[int], counts: list[Counter], skip: set[str]) -> dict:
    spread = Counter(item for i in group for item in counts[i])
    return {item: score * spread[item] / len(group) for item, score in scored.items() if item not in skip}


def _theme_name(area: str | None, phrases: list[str], keywords: list[str], taken: set[str]) -> str:
    """The area of work most members speak of ("民主监督"), or two phrases the group's text uses (its
    keywords where it has none) not contained in each other, joined by "、"; a second group of the
    same area adds its first phrase after "·". Short enough for a filter list and unlike any name taken."""
    candidates = [phrase for phrase in phrases + keywords if not area or (phrase not in area and area not in phrase)]
    if area:
        for name in [area] + [f"{area}·{phrase}" for phrase in candidates]:
            if name not in taken:
                return name
    chosen: list[str] = []
    for phrase in candidates:
        if any(phrase in other or other in phrase for other in chosen):
            continue
        chosen.append(phrase)
        if len(chosen) == 2:
            break
    name = "、".join(chosen)
    return name if name not in taken else "、".join(chosen + keywords[2:3])
