"""The read side as a service: what the HTTP API and the MCP server both answer from.

One model per process, loaded and warmed once, shared by a small pool of searchers; each searcher
holds its own SQLite connection, so concurrent requests run side by side (the model's runtime and
SQLite release the GIL) and no lock is held across a whole search. Each searcher follows the index
to newer generations on its own and answers every search from one whole generation.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator

from kb.config import Settings
from kb.model.embedder import Embedder
from kb.practices import Catalogue
from kb.records import SearchResponse
from kb.search import Searcher
from kb.search.filters import parse_filters
from kb.search.query import QueryError

MAX_QUERY_CHARS = 500
MAX_K = 100


class FieldError(QueryError):
    """Bad input in one named request field."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class Service:
    def __init__(self, settings: Settings, workers: int = 4, embedder: Embedder | None = None):
        self.settings = settings
        self.embedder = embedder or Embedder(settings)
        self.model_ready = False
        # The catalogue is built once per generation for the whole pool, not once per searcher.
        self._catalogue: tuple[int, Catalogue] | None = None
        self._catalogue_lock = threading.Lock()
        self._pool: queue.Queue[Searcher] = queue.Queue()
        self._all: list[Searcher] = []
        try:
            for _ in range(workers):
                searcher = Searcher(settings, self.embedder)
                self._all.append(searcher)
                self._pool.put(searcher)
        except BaseException:
            self.close()
            raise

    def warm(self) -> None:
        """The model, jieba and the catalogue, before the first request."""
        with self.searcher() as searcher:
            searcher.warm()
        self.catalogue()
        self.model_ready = True

    @contextlib.contextmanager
    def searcher(self) -> Iterator[Searcher]:
        searcher = self._pool.get()
        try:
            yield searcher
        finally:
            self._pool.put(searcher)

    def search(self, query: str, mode: str | None = None, k: int = 10, kinds: list[str] | None = None,
               filters: list[str] | None = None, flat: bool = False) -> SearchResponse:
        """The same search as `kb search` (sections and weak marks as it shows them; ``flat``: the one
        fused ranking)."""
        if len(query) > MAX_QUERY_CHARS:
            raise FieldError("q", f"the query is {len(query)} characters long; at most {MAX_QUERY_CHARS}")
        if not 1 <= k <= MAX_K:
            raise FieldError("k", f"k must be from 1 to {MAX_K}")
        try:
            parsed = parse_filters(filters)
        except QueryError as exc:
            raise FieldError("filter", str(exc)) from None
        if kinds:
            parsed.setdefault("kind", []).extend(kinds)
        with self.searcher() as searcher:
            response = searcher.search(query, mode=mode, k=k, filters=parsed, grouped=not flat)
        if response.notices:
            # The CLI warns and searches on; a program gets a clear error instead of silently nothing.
            raise FieldError("filter", "; ".join(response.notices))
        return response

    def chunk(self, chunk_id: int, context: int = 1) -> dict:
        with self.searcher() as searcher:
            row = searcher.chunk(chunk_id)
            neighbours = searcher.neighbours(chunk_id, context, context) if context else [row]
        return {**row, "neighbours": [n for n in neighbours if n["chunk_id"] != chunk_id]}

    def catalogue(self) -> Catalogue:
        with self.searcher() as searcher:
            searcher.refresh()
            with self._catalogue_lock:
                if self._catalogue is None or self._catalogue[0] != searcher.generation:
                    self._catalogue = (searcher.generation, searcher.catalogue())
                return self._catalogue[1]

    def documents(self) -> list[dict]:
        with self.searcher() as searcher:
            return searcher.documents()

    def stats(self) -> dict:
        with self.searcher() as searcher:
            return {**searcher.stats(), "generation": searcher.generation, "facets": searcher.facets()}

    def health(self) -> dict:
        with self.searcher() as searcher:
            searcher.refresh()
            return {"status": "ok", "generation": searcher.generation, "model_ready": self.model_ready,
                    "model": self.embedder.identity.name}

    def close(self) -> None:
        for searcher in self._all:
            searcher.close()
        self._all = []

