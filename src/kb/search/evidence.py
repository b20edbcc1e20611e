"""What a hit shows as its evidence: the spans of matched terms, and hits grouped by document."""

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


def group_by_document(hits: list[Hit]) -> list[tuple[str, list[Hit]]]:
    """Hits grouped under their document, documents in the order of their best hit."""
    groups: dict[str, list[Hit]] = {}
    for hit in hits:
        groups.setdefault(hit.doc_id, []).append(hit)
    return [(group[0].document or doc_id, group) for doc_id, group in groups.items()]
