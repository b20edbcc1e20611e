"""What a hit shows as its evidence: the spans of its matched terms, for highlighting."""

from __future__ import annotations


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
