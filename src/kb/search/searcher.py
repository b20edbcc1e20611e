"""Hybrid retrieval: dense and lexical (BM25 over jieba tokens) from a search backend (kb.search.backend:
the local FAISS + FTS5 index, or Milvus), fused here (kb.search.fusion) since the two scores are on
scales that cannot be compared; hits carry their kind and whether they fall under the relevance floor."""

from __future__ import annotations

import functools
import math
import time
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property

import numpy as np

from kb.config import MODEL_MODES, SearchMode, Settings
from kb.index.indexer import check_compatible
from kb.model.embedder import Embedder
from kb.practices import Catalogue, MapPoint, practice_map
from kb.records import Hit, SearchResponse
from kb.search.answers import asked_for
from kb.search.backend import Scope, SearchBackend
from kb.search.filters import FacetCount, check_filters, facet_counts
from kb.search.kinds import group_by_kind, names_a_law
from kb.search.lexicon import expanded
from kb.search.query import MODES, QueryError
from kb.search.stages import (
    TYPICAL_OF,
    Candidate,
    Retrieved,
    fuse,
    hydrate,
    judge,
    select,
)
from kb.text import clean_text
from kb.tokenize import tokenize

SHORT_QUERY_CHARS = 2


def open_backend(settings: Settings) -> SearchBackend:
    """The backend the `search_backend` setting names."""
    if settings.search_backend == "milvus":
        from kb.search.milvus import MilvusBackend

        return MilvusBackend(settings)
    from kb.search.local import LocalBackend

    return LocalBackend(settings)


def _one_snapshot(method):
    """Ranks and reads hits inside one read transaction, so that the hits come from the very
    generation that was ranked even while a writer commits (a rebuild renumbers every chunk)."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self.backend.snapshot():
            return method(self, *args, **kwargs)

    return wrapper


class Searcher:
    """Opens an index for reading and follows it to newer generations as they are committed."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None, backend: SearchBackend | None = None):
        self.settings = settings
        self.backend = backend or open_backend(settings)
        if embedder is not None:
            self.use_embedder(embedder)
        self.generation = -1
        # Facets, stats and the document list change only with the generation: computed once each.
        self._per_generation: dict[str, object] = {}
        try:
            self.refresh()
        except BaseException:
            self.backend.close()
            raise

    @cached_property
    def embedder(self) -> Embedder:
        return Embedder(self.settings)

    @property
    def damage(self) -> str | None:
        """What of the index's files the last search could not use (it searched without them), or None."""
        return self.backend.damage

    @property
    def has_model(self) -> bool:
        """Whether the model is loaded (a searcher made without one loads it at the first semantic search)."""
        return "embedder" in self.__dict__

    def use_embedder(self, embedder: Embedder) -> None:
        """The model loaded elsewhere (the page loads it in the background)."""
        self.__dict__["embedder"] = embedder

    def practice_map(self) -> list[MapPoint]:
        return self._memo("practice_map", lambda: practice_map(self.catalogue()))

    @cached_property
    def _keyword_worker(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="kb-keyword")

    def warm(self, mode: SearchMode | None = None) -> None:
        """Load what a search in ``mode`` needs (jieba's dictionary; the model unless keyword) now,
        so that the first search's time is the search's. The model loads on a thread of its own: ONNX
        Runtime builds its session outside the GIL, so jieba's dictionary loads meanwhile (a hybrid
        `kb search` starts about 0.1 s sooner; bench/speed.py)."""
        if (mode or self.settings.mode) == "keyword":
            tokenize("预热")
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kb-model") as loader:
            model = loader.submit(self.embedder.warm)
            tokenize("预热")
            model.result()

    def refresh(self) -> bool:
        """Reload if a newer generation was committed; True when it did."""
        if not self.backend.refresh() and self.backend.manifest.generation == self.generation:
            return False
        self.manifest = self.backend.manifest
        self.generation = self.manifest.generation
        self._per_generation = {}
        return True

    def _memo(self, name: str, compute):
        self.refresh()
        if name not in self._per_generation:
            self._per_generation[name] = compute()
        return self._per_generation[name]

    def check_model(self) -> None:
        check_compatible(self.manifest, self.embedder.identity, self.manifest.chunking)

    @_one_snapshot
    def search(
        self,
        query: str,
        mode: SearchMode | None = None,
        k: int | None = None,
        filters: dict[str, list[str]] | None = None,
        semantic_weight: float | None = None,
        keyword_weight: float | None = None,
        grouped: bool = False,
    ) -> SearchResponse:
        """The best ``k`` hits of the fused ranking; ``grouped``: the best ``k`` of each kind, in
        sections (practices first, or laws first when the query names one), as the page and
        `kb search` show them. Ranking and scores are the same either way (`kb eval` scores them)."""
        started = time.perf_counter()
        self.refresh()
        mode = mode or self.settings.mode
        if mode not in MODES:
            raise QueryError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
        query = clean_text(query or "").strip()
        if not query:
            raise QueryError("the query is empty")
        for name, weight in (("semantic_weight", semantic_weight), ("keyword_weight", keyword_weight)):
            if weight is not None and not (math.isfinite(weight) and weight >= 0):
                raise QueryError(f"{name} must be a number ≥ 0, not {weight!r}")
        k = k or self.settings.top_k
        depth = max(self.settings.candidates, k)
        filters, renamed = self._current_themes(filters or {})
        filters, notices = check_filters(filters, {field: self.filter_values(field) for field in filters})
        notices = renamed + notices
        themes = filters.pop("theme", None)
        scope = Scope(filters=filters, within=self.theme_chunk_ids(themes) if themes else None)
        tokens = tokenize(query)

        retrieved = self._retrieve(mode, query, tokens, depth, scope)
        candidates = fuse(mode, retrieved, self.settings, semantic_weight, keyword_weight)
        law_first = grouped and names_a_law(query, tokens, self.law_titles())
        kinds = self.backend.kinds([c.chunk_id for c in candidates]) if grouped else None
        asks = asked_for(query) if self.settings.answer_kinds else None
        hits = judge(self._hydrate(select(candidates, k, kinds), retrieved), self.settings, asks)
        groups = group_by_kind(hits, law_first) if grouped else []
        return SearchResponse(
            query=query, mode=mode, hits=[hit for group in groups for hit in group.hits] if grouped else hits,
            seconds=time.perf_counter() - started, generation=self.generation, notices=notices, groups=groups,
            law_first=law_first, asks=asks.name if asks else None,
        )

    def _retrieve(self, mode: str, query: str, tokens: list[str], depth: int, scope: Scope) -> Retrieved:
        semantic: list[tuple[int, float]] = []
        keyword: list[tuple[int, float]] = []
        usual = None
        pending = None
        query_vector = None
        if mode in MODEL_MODES:
            self.check_model()
            if mode == "hybrid":
                # SQLite (or the Milvus client) and the model's runtime both release the GIL: the
                # keyword search runs while the query is embedded, so hybrid costs about as much as
                # its slower half (bench/speed.py).
                pending = self._keyword_worker.submit(self._keyword, query, tokens, depth, scope)
            query_vector = self.embedder.embed_query(query)
            semantic = self.backend.dense(query_vector, depth, scope)
            if not scope.everything:
                usual = [chunk_id for chunk_id, _ in self.backend.dense(query_vector, TYPICAL_OF, Scope())]
        if pending is not None:
            keyword = pending.result()
        elif mode == "keyword":
            keyword = self._keyword(query, tokens, depth, scope)
        return Retrieved(tokens=tokens, semantic=semantic, keyword=keyword, query_vector=query_vector, usual=usual)

    def _hydrate(self, candidates: list[Candidate], retrieved: Retrieved) -> list[Hit]:
        return hydrate(candidates, self.backend, retrieved, self.passage_count(),
                       self.mean_vector() if retrieved.query_vector is not None else None)

    def _keyword(self, query: str, tokens: list[str], depth: int, scope: Scope) -> list[tuple[int, float]]:
        searched = expanded(tokens) if self.settings.query_expansion else tokens
        results = self.backend.keyword(searched, depth, scope) if tokens else []
        if len(query) <= SHORT_QUERY_CHARS and len(results) < depth:
            # Too short for the word index to be sure (jieba may have glued the character
            # into longer words): add literal matches after the word matches.
            seen = {chunk_id for chunk_id, _ in results}
            literal = [(i, n) for i, n in self.backend.literal(query, depth, scope) if i not in seen]
            if results and literal:
                # Ranked after the word matches, so scores must stay below theirs (and keep their
                # own order): a share of the lowest word score, by occurrences.
                floor, most = results[-1][1], literal[0][1]
                literal = [(i, floor * n / (most + 1)) for i, n in literal]
            results += literal
        return results[:depth]

    @_one_snapshot
    def more_like_this(self, chunk_id: int, k: int | None = None) -> SearchResponse:
        """Passages nearest to a stored chunk, the chunk itself left out."""
        started = time.perf_counter()
        self.refresh()
        k = k or self.settings.top_k
        vector = self.backend.vector_of(chunk_id)
        if vector is None:
            raise QueryError(f"no chunk {chunk_id} in the index")
        semantic = [(i, s) for i, s in self.backend.dense(vector, k + 1, Scope()) if i != chunk_id][:k]
        # A passage's neighbours are alike by construction: whether one stands out from the others is
        # a question's test (Hit.margin), not theirs.
        retrieved = Retrieved(tokens=[], semantic=semantic, keyword=[], query_vector=vector, usual=[])
        hits = judge(self._hydrate(fuse("semantic", retrieved, self.settings), retrieved), self.settings)
        return SearchResponse(
            query=f"more like #{chunk_id}", mode="semantic", hits=hits,
            seconds=time.perf_counter() - started, generation=self.generation,
        )

    def chunk(self, chunk_id: int) -> dict:
        rows = self.backend.rows([chunk_id])
        if chunk_id not in rows:
            raise QueryError(f"no chunk {chunk_id} in the index: it was removed or re-indexed since "
                             "(chunk ids are never reused)")
        return rows[chunk_id]

    def section_text(self, chunk_id: int) -> str:
        return self.backend.section_text(chunk_id)

    def facets(self) -> dict[str, dict[str, int]]:
        """Passages per value of each filter field."""
        return self._memo("facets", self.backend.facet_counts)

    def facet_counts(self) -> dict[str, dict[str, FacetCount]]:
        """Practices, documents and passages per value of each filter field, for the page's filters."""
        return self._memo("facet_counts", lambda: facet_counts(self.facets(), self.catalogue().practices,
                                                               self.documents()))

    def stats(self) -> dict:
        return self._memo("stats", self.backend.stats)

    def documents(self) -> list[dict]:
        return self._memo("documents", self.backend.documents)

    def law_titles(self) -> list[str]:
        return self._memo("law_titles", self.backend.law_titles)

    def mean_vector(self) -> np.ndarray:
        return self._memo("mean_vector", self.backend.mean_vector)

    def passage_count(self) -> int:
        return self._memo("passages", self.backend.passage_count)

    def catalogue(self) -> Catalogue:
        return self._memo("catalogue", self.backend.catalogue)

    def theme_chunk_ids(self, themes: list[str]) -> list[int]:
        """The chunks of these themes' practices; a theme that does not exist has none."""
        catalogue = self.catalogue()
        return [chunk_id for theme in themes for chunk_id in catalogue.theme_chunk_ids(theme)]

    def _current_themes(self, filters: dict[str, list[str]]) -> tuple[dict[str, list[str]], list[str]]:
        """A theme filter by a name the theme had before (a saved search) as its name now, said once."""
        if not filters.get("theme"):
            return filters, []
        catalogue, names, notices = self.catalogue(), [], []
        for value in filters["theme"]:
            theme = catalogue.find_theme(value)
            if theme is not None and theme.name != value:
                notices.append(f"theme {value!r} is now {theme.name!r}")
            names.append(theme.name if theme is not None else value)
        return {**filters, "theme": names}, notices

    def filter_values(self, field: str) -> list[str]:
        """Every value a filter field has in this generation, to check what a user typed. Themes
        only when asked for: they need the catalogue, which a plain search never builds."""
        if field == "doc":
            return [row["doc_id"] for row in self.documents()]
        if field == "theme":
            return [theme.name for theme in self.catalogue().themes]
        return list(self.facets().get(field, {}))

    def neighbours(self, chunk_id: int, before: int = 1, after: int = 1) -> list[dict]:
        ids = self.backend.neighbour_ids(chunk_id, before, after)
        rows = self.backend.rows(ids)
        return [rows[i] for i in ids]

    def close(self) -> None:
        if "_keyword_worker" in self.__dict__:
            self._keyword_worker.shutdown(wait=True)
        self.backend.close()
