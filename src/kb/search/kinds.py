"""Results by kind: someone looking for precedents wants the practices of other units first and
the laws behind them as supporting material, unless the question itself names a law or an article."""

from __future__ import annotations

import re
from collections.abc import Iterable

from kb.records import KINDS, OTHER, POLICY, PRACTICE, Hit, HitGroup

_ARTICLE = re.compile(r"第[一二三四五六七八九十百千零〇两\d]+条")
# Words that end like a law's name but name a way of working: 工作法, 方法, 办法, 做法 …
_NOT_A_LAW = ("工作法", "方法", "办法", "做法", "想法", "看法", "说法", "手法", "用法", "写法", "立法", "执法",
              "司法", "守法", "普法", "违法", "合法", "依法")
_PREFIX = "中华人民共和国"


def names_a_law(query: str, tokens: Iterable[str], law_titles: Iterable[str]) -> bool:
    """True when the question names an article (第三十九条), an indexed law or regulation by its title
    (with or without 中华人民共和国), or any law: 条例, or a word of three or more characters ending in
    法 (劳动合同法), other than words for a way of working (…工作法, …方法)."""
    if _ARTICLE.search(query):
        return True
    for title in law_titles:
        short = title.removeprefix(_PREFIX)
        if title in query or (len(short) >= 3 and short in query):
            return True
    return any(token.endswith("条例") or (len(token) >= 3 and token.endswith("法") and not token.endswith(_NOT_A_LAW))
               for token in tokens)


def kind_order(law_first: bool) -> tuple[str, ...]:
    return (POLICY, PRACTICE, OTHER) if law_first else KINDS


def pick_per_kind(ranked: list[tuple[int, float]], kinds: dict[int, str], k: int) -> list[tuple[int, float]]:
    """The best ``k`` of each kind from one fused ranking, still in fused order, so that a practice
    ranked below ten law articles still leads its own section."""
    taken: dict[str, int] = {}
    picked = []
    for chunk_id, score in ranked:
        kind = kinds.get(chunk_id, OTHER)
        if taken.get(kind, 0) < k:
            taken[kind] = taken.get(kind, 0) + 1
            picked.append((chunk_id, score))
    return picked


def group_by_kind(hits: list[Hit], law_first: bool) -> list[HitGroup]:
    """Sections in the order shown, each in fused order: no weak hit is ever shown above a strong
    one. The strong hits by kind (practices first, laws first when the question names one), then
    the weak hits by kind in the same order; empty sections are left out."""
    groups = []
    for weak in (False, True):
        for kind in kind_order(law_first):
            members = [hit for hit in hits if hit.kind == kind and hit.weak == weak]
            if members:
                groups.append(HitGroup(kind=kind, hits=members, weak=weak))
    return groups
