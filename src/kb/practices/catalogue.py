"""Practices as things to learn from, not only to search: a catalogue of every unit's practice
with its lead, key figures and keywords, its theme, similar practices and approach cards.

Everything is read from the indexed documents, offline and without a
language model: nothing here writes text the source does not contain. What a practice is was decided
once, at indexing time, by the practice detector (kb.ingest.practices); the catalogue reads the spans
it stored.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from kb.index.store import Store
from kb.practices.cards import approach_cards, numbered_parts
from kb.practices.lineage import load_register, save_register
from kb.practices.records import Catalogue, Figure, Practice, Theme
from kb.practices.themes import (
    add_keywords,
    group_into_themes,
    practice_words,
    what_they_do,
)

# A practice's most weighted words and phrases, kept to say why two practices are alike.
TERMS = 40
_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]*")
_CLAUSE_BREAK = "，。；！？：,;!?:\n"
# A count with what it counts: "46个", "12件", "两千多场", "3000余人次", "85%".
_FIGURE = re.compile(
    r"(?<![第\d.])(?P<value>\d+(?:\.\d+)?(?:万|亿)?|[一二两三四五六七八九十]*[十百千万亿][一二两三四五六七八九十百千万]*)"
    r"(?P<approx>余|多)?(?P<measure>%|人次|场次|万元|亿元|元|个|件|次|场|人|名|位|家|条|篇|项|期|户|所|处|批|份|天|册|本|套|座|支|类|组|轮|户|亩|吨)"
)


def build_catalogue(store: Store, regroup: bool = False) -> Catalogue:
    """``regroup``: group every practice afresh (kb.practices.themes.group_into_themes)."""
    manifest = store.manifest()
    if manifest is None:
        return Catalogue(generation=0, practices=[], themes=[], cards=[])
    practices = _practices(store)
    words = [practice_words(p.title, p.text, p.unit, p.lead) for p in practices]
    add_keywords(practices, words)
    profiles = what_they_do(practices, words)
    previous = load_register(store)
    themes, register = group_into_themes(practices, profiles, words, previous, manifest.generation, regroup)
    if register != previous:  # a reader of an unchanged generation takes no write lock
        save_register(store, register)
    cards = [card for practice in practices for card in approach_cards(practice)]
    for practice, said in zip(practices, words):
        practice.terms = [term for term, _ in sorted(said.weighted.items(), key=lambda kv: (-kv[1], kv[0]))][:TERMS]
    return Catalogue(generation=manifest.generation, practices=practices, themes=themes, cards=cards, vectors=profiles)


# -- practices ---------------------------------------------------------------------------


def _practices(store: Store) -> list[Practice]:
    """The practices the detector stored at indexing time, with their text and chunks."""
    stored = store.practices()
    if not stored:
        return []
    doc_ids = {doc_id for doc_id, _ in stored}
    documents = store.documents_with_text(doc_ids)
    spans_of = store.chunk_spans(doc_ids)
    members = [[c for c in spans_of.get(doc_id, []) if span.start <= c[1] < span.end] for doc_id, span in stored]

    practices = []
    counters: Counter[str] = Counter()
    for (doc_id, span), chunks in zip(stored, members):
        doc = documents[doc_id]
        text = doc["text"][span.start:span.end]
        counters[doc_id] += 1
        practices.append(Practice(
            practice_id=f"{doc_id}#{counters[doc_id]}",
            doc_id=doc_id,
            document_title=doc["title"],
            unit=span.unit,
            unit_type=span.unit_type,
            year=span.year if span.year is not None else doc["year"],
            title=span.title,
            heading=span.heading,
            layout=span.layout,
            lead=lead_of(text),
            text=text,
            start=span.start,
            end=span.end,
            chunks=sorted(chunks),
            figures=figures_in(text),
        ))
    return practices


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
    lists = [(part.start, part.end) for part in numbered_parts(text)]
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


def matching(practices: Iterable[Practice], unit: str | None = None, theme: Theme | None = None) -> list[Practice]:
    """The practices of a unit (its exact name) and of a theme (as Catalogue.find_theme found it)."""
    members = set(theme.practice_ids) if theme else None
    return [p for p in practices if (not unit or p.unit == unit) and (members is None or p.practice_id in members)]
