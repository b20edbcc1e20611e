"""The words CPPCC texts use for one thing, so that the keyword retriever finds a practice that staff
describe in other words ("委员到街道社区联系群众的驻点" for 委员工作站, "递交的建议" for 提案).

Each group is a set of words this corpus uses interchangeably, written from how CPPCC reviews, work
reports and write-ups name their venues, channels and functions. A question's word from a group
brings the group's other words into the keyword search (all alike to BM25, whose IDF weighs them);
the question's own words alone decide its coverage, the relevance floor's measure.
"""

from __future__ import annotations

GROUPS: tuple[tuple[str, ...], ...] = (
    ("委员工作站", "工作站", "委员工作室", "工作室", "委员之家", "驻点", "站点", "联络站"),
    ("社情民意", "民意", "民情", "群众意见", "意见建议", "反映"),
    ("提案", "建议"),
    ("界别", "行业", "各界"),
    ("议事", "商量", "协商"),
    ("监督", "督办", "民主监督"),
    ("品牌", "招牌", "名号"),
    ("调研", "课题", "智库"),
    ("律师", "法律"),
    ("读书", "书香", "学习"),
    ("考评", "考核", "积分", "管理"),
)
_GROUP_OF = {word: group for group in GROUPS for word in group}


def expanded(tokens: list[str]) -> list[str]:
    """The question's words, then the other words of their groups (each once)."""
    extra = [word for token in tokens for word in _GROUP_OF.get(token, ()) if word not in tokens]
    return tokens + list(dict.fromkeys(extra))
