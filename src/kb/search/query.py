"""What a user's query and filters become before retrieval: FTS5 syntax that cannot be injected,
and the error type for input the user must fix."""

from __future__ import annotations

from kb.config import SEARCH_MODES
from kb.reasons import KbError

MAX_QUERY_TERMS = 64
MODES = tuple(SEARCH_MODES)


class QueryError(KbError, ValueError):
    pass


def fts_query(tokens: list[str]) -> str:
    """An FTS5 MATCH expression that ORs the tokens as quoted strings: user text can never
    become query syntax (AND, NEAR, *, ^, parentheses, column filters)."""
    unique = list(dict.fromkeys(tokens))[:MAX_QUERY_TERMS]
    return " OR ".join('"' + token.replace('"', '""') + '"' for token in unique)
