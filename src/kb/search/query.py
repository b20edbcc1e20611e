"""What a user's query and filters become before retrieval: FTS5 syntax that cannot be injected,
filters as {field: [values]}, and the error type for input the user must fix."""

from __future__ import annotations

MAX_QUERY_TERMS = 64
MODES = ("hybrid", "semantic", "keyword")


class QueryError(ValueError):
    pass


def fts_query(tokens: list[str]) -> str:
    """An FTS5 MATCH expression that ORs the tokens as quoted strings: user text can never
    become query syntax (AND, NEAR, *, ^, parentheses, column filters)."""
    unique = list(dict.fromkeys(tokens))[:MAX_QUERY_TERMS]
    return " OR ".join('"' + token.replace('"', '""') + '"' for token in unique)


def parse_filters(pairs: list[str] | None) -> dict[str, list[str]]:
    """``field=value`` strings to {field: [values]}; repeating a field ORs its values."""
    filters: dict[str, list[str]] = {}
    for pair in pairs or []:
        field, sep, value = pair.partition("=")
        if not sep or not field.strip() or not value.strip():
            raise QueryError(f"filter {pair!r} is not field=value")
        field = field.strip()
        if field == "year" and not value.strip().isdigit():
            raise QueryError(f"filter year={value!r}: the year must be a number")
        filters.setdefault(field, []).append(value.strip())
    return filters
