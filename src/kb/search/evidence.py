"""What a hit shows as its evidence: the spans of its matched terms, for highlighting, and why it was
found, in words staff understand, with the numbers kept for whoever asks."""

from __future__ import annotations

from kb.records import Hit


def term_spans(text: str, terms: list[str]) -> list[tuple[int, int]]:
    """Non-overlapping (start, end) spans of the matched terms in ``text``, longest terms first,
    case-insensitive; single ASCII letters are left out, they would light up everything."""
    lowered = text.lower()
    taken = [False] * len(text)
    spans = []
    for term in sorted({t.lower() for t in terms if t and not (len(t) == 1 and t.isascii())}, key=len, reverse=True):
        start = lowered.find(term)
        while start != -1:
            end = start + len(term)
            if not any(taken[start:end]):
                spans.append((start, end))
                taken[start:end] = [True] * len(term)
            start = lowered.find(term, end)
    return sorted(spans)


def plain_reasons(hit: Hit, similarity_floor: float) -> str:
    """“意思相近 · 关键词命中：五常大米、品牌”: why a hit is here, without ranks or scores."""
    reasons = []
    if hit.similarity is not None and hit.similarity >= similarity_floor:
        reasons.append("意思相近")
    elif hit.semantic is not None and hit.semantic.rank <= 3:
        reasons.append("意思较接近")
    if hit.matched_terms:
        reasons.append("关键词命中：" + "、".join(hit.matched_terms[:6]))
    elif hit.keyword is not None:
        reasons.append("含有所查的词")
    return " · ".join(reasons) or "与问题部分相关"


def score_details(hit: Hit) -> list[str]:
    """The numbers behind the reasons, one line each, for the curious and for checking a ranking."""
    lines = [f"综合得分 {hit.score:.4f}"]
    if hit.semantic:
        lines.append(f"语义检索第 {hit.semantic.rank} 名，原始相似度 {hit.semantic.score:.3f}")
    if hit.similarity is not None:
        lines.append(f"与问题的相似度（扣除全库平均）{hit.similarity:.3f}")
    if hit.margin is not None:
        lines.append(f"比这个问题一般的匹配高 {hit.margin:.3f}")
    if hit.keyword:
        lines.append(f"关键词检索第 {hit.keyword.rank} 名，BM25 得分 {hit.keyword.score:.2f}")
    lines.append(f"问题关键词覆盖 {hit.coverage:.0%}")
    return lines
