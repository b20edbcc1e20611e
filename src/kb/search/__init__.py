"""Search over an index: the `Searcher` (hybrid, semantic, keyword), query and filter parsing,
fusion of rankings, and the evidence a hit shows."""

from kb.search.evidence import plain_reasons, score_details, term_spans
from kb.search.filters import check_filters, close_matches, parse_filters, resolve_unit
from kb.search.fusion import convex, rrf
from kb.search.query import MODES, QueryError, fts_query
from kb.search.searcher import Searcher

__all__ = [
    "MODES", "QueryError", "Searcher", "check_filters", "close_matches", "convex", "fts_query", "parse_filters",
    "plain_reasons", "resolve_unit", "rrf", "score_details", "term_spans",
]
