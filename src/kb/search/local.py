"""The local search backend: the index folder's SQLite (passages, FTS5 keyword index) and FAISS file
(vectors), read by processes on this machine."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from kb.config import Settings
from kb.index.store import Store
from kb.index.vectors import VectorIndex, vector_file, vector_generations
from kb.practices import Catalogue, build_catalogue
from kb.search.backend import Scope
from kb.search.bounded import bounded_search
from kb.search.query import MAX_QUERY_TERMS, QueryError, fts_query

log = logging.getLogger(__name__)
# Words whose document frequency a backend keeps before it starts afresh.
FREQUENCIES_KEPT = 100_000


class LocalBackend:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.store = Store(settings.index_dir, create=False)
        self.generation = -1
        self.vectors: VectorIndex | None = None
        self.damage: str | None = None
        # Each word's document frequency in this generation: FTS5 counts it by reading the word's postings
        # (50–90 ms for a question of common words at 10⁶ passages), and the keyword search and the
        # judgement of its hits both ask, as do the next questions with the same words.
        self._frequencies: dict[str, int] = {}

    def refresh(self) -> bool:
        manifest = self.store.manifest()
        if manifest is None:
            raise QueryError(f"the index at {self.settings.index_dir.resolve()} is empty: run `kb index` first")
        if manifest.generation == self.generation:
            return False
        self.manifest = manifest
        self.vectors = self._vectors(manifest)
        self._frequencies = {}
        self.generation = manifest.generation
        return True

    def _vectors(self, manifest) -> VectorIndex:
        """The generation's vector file, or, when it is missing, unreadable or does not hold one vector per
        chunk, the same vectors rebuilt in memory from SQLite (the source of truth): a damaged file never
        stops a search, and ``damage`` says what was wrong for the page and the log. `kb check` names it
        and `kb check --repair` writes it again."""
        path = vector_file(self.settings.index_dir, manifest.generation)
        self.damage = None
        if path.exists():
            try:
                loaded = VectorIndex.load(path, manifest.vector_index)
            except RuntimeError as exc:
                self.damage = f"{path} cannot be read ({str(exc).splitlines()[0] if str(exc) else 'damaged'})"
            else:
                chunks = self.store.chunk_count()
                if loaded.count == chunks:
                    return loaded
                self.damage = f"{path} holds {loaded.count} vectors for {chunks} chunks"
        elif max(vector_generations(self.settings.index_dir), default=0) > manifest.generation:
            # This snapshot's generation was superseded while it was opened: read its vectors from
            # SQLite, whose snapshot still holds them; the next search moves on.
            log.info("%s was superseded; reading its vectors from SQLite", path)
        else:
            self.damage = f"{path} is missing"
        if self.damage:
            log.warning("%s; searching with vectors rebuilt from SQLite (run `kb check --repair`)", self.damage)
        ids, vectors = self.store.chunk_vectors(manifest.model.key(), manifest.model.dimension)
        return VectorIndex.build(ids, vectors, manifest.vector_index or None)

    def snapshot(self):
        return self.store.snapshot()

    def _allowed_sql(self, scope: Scope):
        if scope.everything:
            return None
        try:
            return self.store.filter_sql(scope.filters, scope.within)
        except ValueError as exc:
            raise QueryError(str(exc)) from exc

    def dense(self, query_vector: np.ndarray, depth: int, scope: Scope) -> list[tuple[int, float]]:
        allowed_sql = self._allowed_sql(scope)
        allowed = self.store.chunk_ids_for(allowed_sql) if allowed_sql else None
        return self.vectors.search(query_vector, depth, allowed)

    def keyword(self, tokens: list[str], depth: int, scope: Scope) -> list[tuple[int, float]]:
        allowed_sql = self._allowed_sql(scope)
        terms = list(dict.fromkeys(tokens))[:MAX_QUERY_TERMS]
        bounded = bounded_search(
            terms, depth, self.settings.keyword_budget, self.document_frequencies,
            lambda match, limit: self.store.keyword_search(match, limit, allowed_sql),
            self.store.chunk_token_text, self.store.keyword_totals,
        )
        if bounded is not None:
            return bounded
        return self.store.keyword_search(fts_query(terms), depth, allowed_sql)

    def literal(self, needle: str, depth: int, scope: Scope) -> list[tuple[int, float]]:
        return self.store.substring_search(needle, depth, self._allowed_sql(scope))

    def rows(self, chunk_ids: Sequence[int]) -> dict[int, dict]:
        return self.store.chunk_rows(chunk_ids)

    def tokens(self, chunk_ids: Sequence[int]) -> dict[int, set[str]]:
        return self.store.chunk_tokens(chunk_ids)

    def kinds(self, chunk_ids: Sequence[int]) -> dict[int, str]:
        return self.store.chunk_kinds(chunk_ids)

    def vectors_of(self, chunk_ids: Sequence[int]) -> dict[int, np.ndarray]:
        return self.vectors.vectors_of(chunk_ids)

    def vector_of(self, chunk_id: int) -> np.ndarray | None:
        try:
            return np.asarray(self.vectors.index.reconstruct(int(chunk_id)))
        except RuntimeError:
            return None

    def document_frequencies(self, terms: list[str]) -> dict[str, int]:
        known = self._frequencies
        if len(known) > FREQUENCIES_KEPT:
            known.clear()
        missing = [term for term in dict.fromkeys(terms) if term not in known]
        if missing:
            known.update(self.store.document_frequencies(missing))
        return {term: known[term] for term in terms}

    def passage_count(self) -> int:
        return self.store.chunk_count()

    def mean_vector(self) -> np.ndarray:
        return self.vectors.mean()

    def law_titles(self) -> list[str]:
        return self.store.law_titles()

    def facet_counts(self) -> dict[str, dict[str, int]]:
        return self.store.facet_counts()

    def stats(self) -> dict:
        return self.store.stats()

    def documents(self) -> list[dict]:
        return self.store.documents()

    def catalogue(self) -> Catalogue:
        return build_catalogue(self.store)

    def neighbour_ids(self, chunk_id: int, before: int, after: int) -> list[int]:
        return self.store.neighbour_ids(chunk_id, before, after)

    def section_text(self, chunk_id: int) -> str:
        return self.store.section_text(chunk_id)

    def close(self) -> None:
        self.store.close()
