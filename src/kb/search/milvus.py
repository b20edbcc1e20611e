"""The reader's side: a search backend over the collections `kb index` published, with no local
files. Dense and BM25 retrieval and filters run in Milvus over the rows the live generation serves
(kb.milvus.collections); what a searcher needs once per generation comes from the generation's meta
collection, and a question's term counts from the term collection."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Sequence

import numpy as np

from kb.config import Settings
from kb.milvus.collections import (
    ROW_FIELDS,
    chunk_collection,
    connect,
    ensure_loaded,
    filter_expression,
    generation_of,
    live_collection,
    quoted,
    read_meta,
    served_in,
    serves,
    term_collection,
    vector_search_params,
)
from kb.practices import Catalogue
from kb.records import IndexManifest
from kb.search.backend import Scope
from kb.search.bm25 import fts5_bm25
from kb.search.query import MAX_QUERY_TERMS, QueryError

# How often a searcher asks Milvus which generation is live: a publish reaches readers within this.
ALIAS_CHECK_SECONDS = 1.0


class MilvusBackend:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.client = connect(settings)
        self.chunks, self.terms = chunk_collection(settings), term_collection(settings)
        self.collection: str | None = None  # the live generation's meta collection
        self.generation = -1
        self._checked = 0.0
        self._pinned = False
        self.damage: str | None = None  # Milvus keeps the vectors: no local file here to be damaged

    # -- generations ---------------------------------------------------------------------
    def refresh(self) -> bool:
        if self._pinned or (self.collection and time.monotonic() - self._checked < ALIAS_CHECK_SECONDS):
            return False
        live = live_collection(self.client, self.settings)
        self._checked = time.monotonic()
        if live is None:
            raise QueryError(f"nothing is published to Milvus at {self.settings.milvus_uri} under "
                             f"{self.settings.milvus_collection!r}: run `kb index` with search_backend = milvus")
        if live == self.collection:
            return False
        generation = generation_of(live)
        if generation is None:
            raise QueryError(f"{live} at {self.settings.milvus_uri} was published by an earlier kb (a collection "
                             "per generation): run `kb index` on the indexer once to publish it again")
        for name in (self.chunks, self.terms, live):
            ensure_loaded(self.client, name)
        meta = read_meta(self.client, live)
        self.manifest = IndexManifest.model_validate(meta["manifest"])
        self._meta_values = meta
        self.generation = generation
        self.collection = live
        return True

    def _served(self, expression: str = "") -> str:
        """``expression`` over the chunks the pinned generation serves."""
        return " and ".join(filter(None, [served_in(self.generation), expression]))

    def _served_rows(self, rows: list[dict]) -> list[dict]:
        """The rows of a lookup by key that the pinned generation serves. A lookup by primary key or an
        indexed field filters here, not in its expression: a range condition beside the key makes
        Milvus Lite test every row (0.005 s for 100 ids at 10⁵ rows becomes 0.15 s)."""
        return [row for row in rows if serves(row, self.generation)]

    @contextlib.contextmanager
    def snapshot(self):
        """Every read inside goes to the collection that was live when it began, even if a publish
        switches the alias meanwhile (the previous generation is kept until the next publish)."""
        if self._pinned:
            yield
            return
        self.refresh()
        self._pinned = True
        try:
            yield
        finally:
            self._pinned = False

    # -- retrieval -------------------------------------------------------------------------
    def _search(self, data, field: str, params: dict, depth: int, scope: Scope,
                fields: list[str]) -> list[dict]:
        try:
            expression = filter_expression(scope.filters, scope.within, self.generation)
        except ValueError as exc:
            raise QueryError(str(exc)) from exc
        found = self.client.search(self.chunks, data=[data], anns_field=field, limit=depth, filter=expression,
                                   output_fields=fields, search_params=params)
        return found[0]

    @staticmethod
    def _scored(hits: list[dict]) -> list[tuple[int, float]]:
        return [(int(hit["chunk_id"] if "chunk_id" in hit else hit["id"]), float(hit["distance"])) for hit in hits]

    def dense(self, query_vector: np.ndarray, depth: int, scope: Scope) -> list[tuple[int, float]]:
        params = vector_search_params(self.vector_index(), depth)
        found = self._scored(self._search([float(x) for x in np.asarray(query_vector).ravel()], "vector", params,
                                          depth, scope, []))
        # Equal scores (the same text in two documents) in chunk id order: Milvus leaves their order open.
        return sorted(found, key=lambda item: (-item[1], item[0]))

    def keyword(self, tokens: list[str], depth: int, scope: Scope) -> list[tuple[int, float]]:
        """Milvus finds the candidates, with their keyword text, by its BM25; kb scores them by FTS5's
        BM25 (Milvus's IDF is another), so that keyword and hybrid rankings are the local backend's."""
        hits = self._search(" ".join(tokens), "sparse", {"metric_type": "BM25"}, depth, scope, ["search_text"])
        terms = list(dict.fromkeys(tokens))[:MAX_QUERY_TERMS]
        frequencies = self.document_frequencies(terms)
        meta = self._meta_values
        scored = [(chunk_id, fts5_bm25(terms, hit["entity"]["search_text"], frequencies, meta["passages"],
                                       meta["average_tokens"]))
                  for (chunk_id, _), hit in zip(self._scored(hits), hits)]
        return sorted(scored, key=lambda item: (-item[1], item[0]))

    def literal(self, needle: str, depth: int, scope: Scope) -> list[tuple[int, float]]:
        """Chunks containing ``needle`` literally, most occurrences first (as the local backend)."""
        escaped = needle.replace("\\", "\\\\").replace('"', '\\"').replace("%", "\\%").replace("_", "\\_")
        expression = " and ".join([f'text like "%{escaped}%"',
                                   filter_expression(scope.filters, scope.within, self.generation)])
        rows = self.client.query(self.chunks, filter=expression, output_fields=["chunk_id", "context", "text"],
                                 limit=depth * 4)
        counted = [(int(r["chunk_id"]), float((r["context"] + r["text"]).count(needle))) for r in rows]
        return sorted(counted, key=lambda item: (-item[1], item[0]))[:depth]

    # -- reading -----------------------------------------------------------------------------
    def _by_id(self, chunk_ids: Sequence[int], fields: list[str]) -> dict[int, dict]:
        ids = sorted({int(i) for i in chunk_ids})
        if not ids:
            return {}
        rows = self.client.query(self.chunks, filter=f"chunk_id in {ids}", output_fields=["chunk_id", "born", "died",
                                                                                          *fields])
        return {int(row["chunk_id"]): row for row in self._served_rows(rows)}

    def rows(self, chunk_ids: Sequence[int]) -> dict[int, dict]:
        rows = self._by_id(chunk_ids, ROW_FIELDS)
        for row in rows.values():
            row["heading_path"] = json.loads(row["heading_path"])
        return {chunk_id: {field: row.get(field) for field in ROW_FIELDS} for chunk_id, row in rows.items()}

    def tokens(self, chunk_ids: Sequence[int]) -> dict[int, set[str]]:
        return {i: set(row["search_text"].split()) for i, row in self._by_id(chunk_ids, ["search_text"]).items()}

    def kinds(self, chunk_ids: Sequence[int]) -> dict[int, str]:
        return {i: row["kind"] for i, row in self._by_id(chunk_ids, ["kind"]).items()}

    def vectors_of(self, chunk_ids: Sequence[int]) -> dict[int, np.ndarray]:
        return {i: np.asarray(row["vector"], dtype=np.float32) for i, row in self._by_id(chunk_ids, ["vector"]).items()}

    def vector_of(self, chunk_id: int) -> np.ndarray | None:
        return self.vectors_of([chunk_id]).get(int(chunk_id))

    def document_frequencies(self, terms: list[str]) -> dict[str, int]:
        wanted = list(dict.fromkeys(terms))
        if not wanted:
            return {}
        rows = self.client.query(self.terms, filter=f"term in {quoted(wanted)}",
                                 output_fields=["term", "frequency", "born", "died"])
        found = {row["term"]: int(row["frequency"]) for row in self._served_rows(rows)}
        return {term: found.get(term, 0) for term in wanted}

    def vector_index(self) -> str:
        """The index type of the chunks' vectors (FLAT or HNSW, by size: kb.milvus.collections.vector_index)."""
        return self._meta_values.get("vector_index", "FLAT")

    def passage_count(self) -> int:
        return self._meta_values["passages"]

    def mean_vector(self) -> np.ndarray:
        return np.asarray(self._meta_values["mean"], dtype=np.float32)

    def law_titles(self) -> list[str]:
        return self._meta_values["law_titles"]

    def facet_counts(self) -> dict[str, dict[str, int]]:
        return self._meta_values["facets"]

    def stats(self) -> dict:
        return self._meta_values["stats"]

    def documents(self) -> list[dict]:
        return self._meta_values["documents"]

    def catalogue(self) -> Catalogue:
        stored = self._meta_values["catalogue"]
        if "vectors" in stored and "practices" not in stored:  # published before vectors were a field
            stored = {**stored["catalogue"], "vectors": stored["vectors"]}
        return Catalogue.model_validate(stored)

    def neighbour_ids(self, chunk_id: int, before: int, after: int) -> list[int]:
        row = self._by_id([chunk_id], ["doc_id", "ordinal"]).get(int(chunk_id))
        if row is None:
            return []
        document = json.dumps(row["doc_id"], ensure_ascii=False)
        rows = self.client.query(self.chunks, output_fields=["chunk_id", "ordinal"],
                                 filter=self._served(f"doc_id == {document} and ordinal >= {row['ordinal'] - before}"
                                                     f" and ordinal <= {row['ordinal'] + after}"))
        return [int(r["chunk_id"]) for r in sorted(rows, key=lambda r: r["ordinal"])]

    def section_text(self, chunk_id: int) -> str:
        """The chunks of the section, laid end to end at their offsets (chunks overlap; each is the
        document's exact text between its offsets)."""
        row = self._by_id([chunk_id], ["doc_id", "heading_path"]).get(int(chunk_id))
        if row is None:
            return ""
        rows = self.client.query(
            self.chunks, output_fields=["start", "end", "text"],
            filter=self._served(f"doc_id == {json.dumps(row['doc_id'], ensure_ascii=False)} and "
                                f"heading_path == {json.dumps(row['heading_path'], ensure_ascii=False)}"))
        text, reached = [], None
        for part in sorted(rows, key=lambda r: r["start"]):
            if reached is None or part["start"] >= reached:
                text.append(part["text"])
            elif part["end"] > reached:
                text.append(part["text"][reached - part["start"]:])
            reached = max(reached or 0, part["end"])
        return "".join(text)

    def close(self) -> None:
        self.client.close()
