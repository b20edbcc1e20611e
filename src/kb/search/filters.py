"""Filters as users type them: ``field=value`` pairs checked against the one list of fields, units
found by a unique part of their name, and values the index has never seen reported with the
closest ones it has, so that a typo does not look like an empty knowledge base."""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable, Mapping

from pydantic import BaseModel

from kb.ingest.units import strip_numbering
from kb.records import FILTER_FIELDS
from kb.search.query import QueryError
from kb.text import clean_text, in_order

YEARS = range(1900, 2101)


def parse_filters(pairs: list[str] | None) -> dict[str, list[str]]:
    """``field=value`` strings to {field: [values]}; repeating a field ORs its values."""
    filters: dict[str, list[str]] = {}
    for pair in pairs or []:
        field, sep, value = clean_text(pair).partition("=")
        field, value = field.strip(), value.strip()
        if not sep or not field or not value:
            raise QueryError(f"filter {pair!r} is not field=value")
        if field not in FILTER_FIELDS:
            raise QueryError(f"unknown filter field {field!r}; use one of {', '.join(FILTER_FIELDS)}")
        if field == "year" and not (value.isascii() and value.isdigit() and int(value) in YEARS):
            raise QueryError(f"filter year={value!r}: the year must be a number from {YEARS[0]} to {YEARS[-1]}")
        filters.setdefault(field, []).append(value)
    return filters


def resolve_unit(name: str, units: Iterable[str]) -> str | None:
    """The unit ``name`` stands for: itself; the one unit whose name contains it (民盟 → 民盟哈尔滨市委);
    else the one whose name holds its characters in order, as Chinese short forms are made (社法委 →
    市政协社会和法制委员会, 教科卫体委 → …教育科技卫生体育委员会). Numbering before a name (一、, （一）, 1.)
    is not part of it. None when no unit fits; QueryError when several do."""
    units = list(dict.fromkeys(units))
    name = strip_numbering(name)
    if name in units:
        return name
    found = [unit for unit in units if name in unit]
    if not found and len(name) >= 2:
        found = [unit for unit in units if in_order(name, unit)]
    if len(found) > 1:
        raise QueryError(f"ambiguous unit {name!r}: it could be {', '.join(found[:8])}"
                         + (f" and {len(found) - 8} more" if len(found) > 8 else ""))
    return found[0] if found else None


def close_matches(value: str, known: Iterable[str], count: int = 3) -> list[str]:
    known = list(dict.fromkeys(known))
    containing = [k for k in known if value in k or k in value]
    similar = difflib.get_close_matches(value, known, n=count, cutoff=0.5)
    return list(dict.fromkeys(containing + similar))[:count]


def check_filters(
    filters: Mapping[str, list[str]], known: Mapping[str, Iterable[str]]
) -> tuple[dict[str, list[str]], list[str]]:
    """Units resolved to their full names, and a notice for each value the index has never seen
    (the search still runs; that value matches nothing). ``known``: the values per field."""
    resolved: dict[str, list[str]] = {}
    notices: list[str] = []
    for field, values in filters.items():
        seen = list(known.get(field, ()))
        kept = []
        for value in (clean_text(v).strip() for v in values):
            if field == "unit":
                value = resolve_unit(value, seen) or value
            if value not in seen:
                hint = close_matches(value, seen)
                suggestion = f"; did you mean {', '.join(hint)}?" if hint else ""
                notices.append(f"no {field} {value!r} in the index{suggestion}")
            kept.append(value)
        resolved[field] = kept
    return resolved, notices


class FacetCount(BaseModel):
    """What a filter value holds, as staff count it: practices, documents, passages."""

    practices: int = 0
    documents: int = 0
    passages: int = 0


def facet_counts(passages: Mapping[str, Mapping[str, int]], practices: Iterable, documents: Iterable[dict]
                 ) -> dict[str, dict[str, FacetCount]]:
    """Each facet value's practices (``practices``: the catalogue's, with unit, unit_type and year),
    documents (by the document's own value: a law's unit, a review's type) and passages (``passages``: the
    index's counts per value)."""
    practices, documents = list(practices), list(documents)
    counted: dict[str, dict[str, FacetCount]] = {}
    for field, values in passages.items():
        had = Counter(str(getattr(p, field, "") or "") for p in practices)
        held = Counter(str(d.get(field) or "") for d in documents)
        counted[field] = {value: FacetCount(practices=had[value], documents=held[value], passages=passage_count)
                          for value, passage_count in values.items()}
    return counted
