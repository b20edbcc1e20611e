"""The areas of CPPCC work a practice can be about, and the words CPPCC texts use for each.

A practice's embedding carries its document (every chunk is embedded with the document's title)
and the genre every review shares, so practices cluster by file. What a practice *does* is said in
the vocabulary of the CPPCC's functions and venues: a station or studio, consultation at the
grassroots, democratic supervision, proposals and public-opinion information, the management of
members, the sectors (界别). The lexicon below is that vocabulary, written from how CPPCC bodies
describe their own work; each area's name is what a theme built on it is called.
"""

from __future__ import annotations

import math

import numpy as np

WORK_AREAS: dict[str, tuple[str, ...]] = {
    "委员工作站建设": ("委员工作站", "工作站", "委员工作室", "工作室", "会客厅", "委员之家", "履职阵地", "阵地", "驻站",
                 "挂牌"),
    "基层协商议事": ("协商在基层", "基层协商", "议事", "议事会", "议事厅", "驿站", "网格", "社区", "好商量", "请你来协商",
                "家门口", "居民", "小板凳", "基层治理"),
    "助力产业发展": ("产业", "品牌", "农业", "助农", "乡村振兴", "农民", "特产", "生态产品", "开发区", "招商", "经济"),
    "政企协商": ("企业", "民营", "企业家", "营商环境", "政企", "纾困", "工商联"),
    "民主监督": ("民主监督", "监督", "督办", "视察", "整改", "特邀监督员", "监督员"),
    "提案和社情民意": ("提案", "社情民意", "民意信息", "信息", "建议", "微建议", "办理", "采用"),
    "委员履职管理": ("履职档案", "积分", "考评", "考核", "履职管理", "档案", "述职", "履职报告", "约谈"),
    "界别工作": ("界别", "界别群众", "界别委员", "界别协商", "召集人"),
    "文化文史和读书": ("文化", "文史", "读书", "书香", "书苑", "传承", "非遗", "陶瓷", "讲堂", "学习"),
    "法律服务": ("律师", "法律", "法律服务", "公益法律", "普法", "法治"),
    "党建引领": ("党建", "党支部", "党员", "党组", "党建指导员", "党的建设"),
    "智库和调研": ("智库", "调研", "课题", "参政议政", "专家", "调研报告"),
}
AREA_NAMES = tuple(WORK_AREAS)
# Where a practice says it matters most: its title names the practice, its lead says what was done.
_WEIGHTS = {"title": 3, "lead": 2, "text": 1}
# A small constant direction, so that a practice using none of the words is a vector like the others
# (it then sits with the practices its words say it is near).
_NONE = 0.05


def area_profile(title: str, lead: str, text: str) -> np.ndarray:
    """How much a practice speaks of each area (log of weighted mentions), as a unit vector."""
    parts = {"title": title, "lead": lead, "text": text}
    scores = [math.log1p(sum(weight * sum(parts[part].count(term) for term in terms)
                             for part, weight in _WEIGHTS.items()))
              for terms in WORK_AREAS.values()]
    vector = np.asarray([*scores, _NONE], dtype=np.float32)
    return vector / np.linalg.norm(vector)


def main_area(profiles: np.ndarray) -> str | None:
    """The area most of a group's practices speak of most, if at least half of them do."""
    if not len(profiles):
        return None
    firsts = np.argmax(profiles[:, :len(AREA_NAMES)], axis=1)
    spoken = profiles[:, :len(AREA_NAMES)].max(axis=1) > 0
    counts = np.bincount(firsts[spoken], minlength=len(AREA_NAMES))
    best = int(np.argmax(counts)) if spoken.any() else -1
    return AREA_NAMES[best] if best >= 0 and counts[best] * 2 >= len(profiles) else None
