"""Where a searcher's passages, vectors and keyword index live: a small protocol (its factory,
kb.search.searcher.open_backend, is keyed on the `search_backend` setting). `local` reads the index
folder (SQLite + FAISS, one machine); `milvus` reads what `kb index` published to a Milvus server
(many machines, no local files)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Protocol

import numpy as np
from pydantic import BaseModel

from kb.practices import Catalogue
from kb.records import IndexManifest


class Scope(BaseModel):
    """What a search may return: filter values by field (values of one field are OR-ed) and, for a
    theme, the chunk ids of its practices (None: any chunk)."""

    filters: dict[str, list[str]] = {}
    within: list[int] | None = None

    @property
    def everything(self) -> bool:
        return not self.filters and self.within is None


class SearchBackend(Protocol):
    manifest: IndexManifest
    # What of the current generation's files could not be used (searches go on without it), or None.
    damage: str | None

    def refresh(self) -> bool:
        """Move to the newest committed generation; True when it changed."""

    def snapshot(self) -> AbstractContextManager:
        """Reads inside it all see one generation."""

    def dense(self, query_vector: np.ndarray, depth: int, scope: Scope) -> list[tuple[int, float]]: ...

    def keyword(self, tokens: list[str], depth: int, scope: Scope) -> list[tuple[int, float]]:
        """BM25 matches of the tokens, scored as FTS5 scores them."""

    def literal(self, needle: str, depth: int, scope: Scope) -> list[tuple[int, float]]:
        """Chunks containing ``needle`` literally, with how often, most first (short queries)."""

    def rows(self, chunk_ids: Sequence[int]) -> dict[int, dict]: ...

    def tokens(self, chunk_ids: Sequence[int]) -> dict[int, set[str]]: ...

    def kinds(self, chunk_ids: Sequence[int]) -> dict[int, str]: ...

    def vectors_of(self, chunk_ids: Sequence[int]) -> dict[int, np.ndarray]: ...

    def vector_of(self, chunk_id: int) -> np.ndarray | None: ...

    def document_frequencies(self, terms: list[str]) -> dict[str, int]: ...

    def passage_count(self) -> int: ...

    def mean_vector(self) -> np.ndarray: ...

    def law_titles(self) -> list[str]: ...

    def facet_counts(self) -> dict[str, dict[str, int]]: ...

    def stats(self) -> dict: ...

    def documents(self) -> list[dict]: ...

    def catalogue(self) -> Catalogue: ...

    def neighbour_ids(self, chunk_id: int, before: int, after: int) -> list[int]: ...

    def section_text(self, chunk_id: int) -> str: ...

    def close(self) -> None: ...
