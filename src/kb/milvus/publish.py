"""The writer's side: make Milvus serve the index folder's committed generation by adding the chunks
and term counts that came since the generation Milvus serves, retiring those that left (kb's chunk
ids are never reused, so an id is one text forever), writing the generation's meta collection, and
only then moving the alias. Readers see the old generation or the new one, never half of one. A
publish that died half-way leaves the alias where it was; the next one first undoes what it wrote."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable

import numpy as np

from kb.config import Settings
from kb.index.indexer import Publisher
from kb.index.report import PublishReport
from kb.index.store import Store
from kb.index.vectors import MEAN_SAMPLE
from kb.milvus.collections import (
    ALIVE,
    ANALYZER,
    META_SUFFIX,
    MilvusError,
    chunk_collection,
    connect,
    ensure_loaded,
    generation_of,
    live_collection,
    meta_collection,
    quoted,
    read_meta,
    serves,
    split_json,
    term_collection,
    vector_index,
)
from kb.practices import Catalogue, build_catalogue

log = logging.getLogger(__name__)

BATCH = 1000


def publisher_for(settings: Settings) -> Publisher | None:
    """The step after each commit that the `search_backend` setting asks for (the indexer runs it under
    its writer lock): Milvus's publish, or none where searchers read the index folder itself."""
    return publish if settings.search_backend == "milvus" else None


def publish(settings: Settings, progress: Callable[[str, int, int], None] | None = None) -> PublishReport:
    """Makes Milvus serve the index folder's current generation (a no-op when it already does)."""
    started = time.perf_counter()
    client = connect(settings)
    store = Store(settings.index_dir, create=False)
    try:
        # Built before the read snapshot, which would keep it from saving the theme register (the indexer
        # runs a publish under its writer lock, so no generation is committed in between; checked below).
        catalogue = build_catalogue(store)
        with store.snapshot():
            manifest = store.manifest()
            if manifest is None:
                raise MilvusError(f"the index at {settings.index_dir} is empty: nothing to publish")
            generation = manifest.generation
            target = meta_collection(settings, generation)
            live = live_collection(client, settings)
            if live == target:
                return PublishReport(generation=generation, published=False)
            served = generation_of(live)  # None: nothing yet, or an earlier kb's layout, published afresh
            chunks, terms = chunk_collection(settings), term_collection(settings)
            if served is None:
                for name in (chunks, terms):
                    if client.has_collection(name):
                        client.drop_collection(name)
            local_ids = store.chunk_ids()
            index = _ensure_chunks(client, chunks, manifest.model.dimension, len(local_ids))
            _ensure_terms(client, terms)
            for name in (chunks, terms, *([live] if served is not None else [])):
                ensure_loaded(client, name)
            for name, key in ((chunks, "chunk_id"), (terms, "key")):
                _undo_unpublished(client, name, key, served)
            published_ids = _ids_of(read_meta(client, live)["chunk_ranges"]) if served is not None else local_ids[:0]
            added = np.setdiff1d(local_ids, published_ids, assume_unique=True)
            removed = np.setdiff1d(published_ids, local_ids, assume_unique=True)
            touched = _add_chunks(client, store, manifest, chunks, added, progress)
            if served is None:
                frequencies = store.vocabulary()
            else:
                touched |= _terms_of(client, chunks, removed)
                frequencies = store.document_frequencies(touched)
            _retire(client, chunks, "chunk_id", removed.tolist(), generation)
            _publish_terms(client, terms, frequencies, served, generation)
            if client.has_collection(target):  # a publish of this generation that died half-way
                client.drop_collection(target)
            if catalogue.generation != manifest.generation:
                catalogue = build_catalogue(store)
            _write_meta(client, store, manifest, target, local_ids, index, catalogue)
            for name in (chunks, terms):
                client.flush(name)
        if live is None:
            client.create_alias(collection_name=target, alias=settings.milvus_collection)
        else:
            client.alter_alias(collection_name=target, alias=settings.milvus_collection)
        dropped = _forget(client, settings, keep={target, live}, before=served)
        log.info("published generation %d to Milvus (%d chunks added, %d retired)", generation, len(added),
                 len(removed))
        return PublishReport(generation=generation, published=True, chunks=len(local_ids), added=len(added),
                             removed=len(removed), dropped=dropped, seconds=time.perf_counter() - started)
    finally:
        store.close()
        client.close()


def _ensure_chunks(client, name: str, dimension: int, chunks: int) -> str:
    """The chunk collection, with the vector index its size asks for (rebuilt when the size moves it
    past HNSW_FROM); returns the index type."""
    index_type, build = vector_index(chunks)
    if not client.has_collection(name):
        schema, index = _chunk_schema(client, dimension)
        index.add_index("vector", index_type=index_type, metric_type="IP", params=build)
        client.create_collection(name, schema=schema, index_params=index)
        return index_type
    if client.describe_index(name, "vector").get("index_type") != index_type:
        log.info("the vector index of %s becomes %s (%d chunks)", name, index_type, chunks)
        client.release_collection(name)
        client.drop_index(name, "vector")
        index = client.prepare_index_params()
        index.add_index("vector", index_type=index_type, metric_type="IP", params=build)
        client.create_index(name, index)
        client.load_collection(name)
    return index_type


def _chunk_schema(client, dimension: int):
    from pymilvus import DataType, Function, FunctionType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("chunk_id", DataType.INT64, is_primary=True)
    for field, length in (("doc_id", 1024), ("heading_path", 8192), ("unit", 512), ("unit_type", 64), ("kind", 32),
                          ("title", 2048), ("doc_type", 64), ("source", 2048), ("context", 4096), ("text", 65535)):
        schema.add_field(field, DataType.VARCHAR, max_length=length)
    schema.add_field("search_text", DataType.VARCHAR, max_length=65535, enable_analyzer=True, analyzer_params=ANALYZER)
    for field in ("ordinal", "start", "end", "born", "died"):
        schema.add_field(field, DataType.INT64)
    schema.add_field("year", DataType.INT64, nullable=True)
    schema.add_field("page", DataType.INT64, nullable=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["search_text"],
                                 output_field_names=["sparse"]))
    index = client.prepare_index_params()
    index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    return schema, index


def _ensure_terms(client, name: str) -> None:
    """Term → document frequency, versioned like the chunks: a reader fetches its question's terms only."""
    if client.has_collection(name):
        return
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=65535)  # term and generation born
    schema.add_field("term", DataType.VARCHAR, max_length=65535)
    for field in ("frequency", "born", "died"):
        schema.add_field(field, DataType.INT64)
    schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field in every collection
    index = client.prepare_index_params()
    index.add_index("unused", index_type="FLAT", metric_type="L2")
    index.add_index("term", index_type="INVERTED")
    client.create_collection(name, schema=schema, index_params=index)


def _undo_unpublished(client, name: str, key: str, served: int | None) -> None:
    """What a publish that died before its switch wrote: rows born after the served generation go,
    rows it retired are alive again (a query returns a bounded number of rows: repeated until none; a
    row a lagging read returns again is set alive again, which changes nothing)."""
    if served is None:
        return
    client.delete(name, filter=f"born > {served}")
    while retired := client.query(name, filter=f"died > {served} and died < {ALIVE}", output_fields=[key],
                                  limit=BATCH * 8):
        client.upsert(name, [{key: row[key], "died": ALIVE} for row in retired], partial_update=True)


def _id_ranges(ids: np.ndarray) -> list[list[int]]:
    """Ascending ids as [first, last] runs: a document's chunks have consecutive ids, so a generation's
    ids fit in its meta collection as a few thousand runs, not a million numbers."""
    if not len(ids):
        return []
    breaks = np.flatnonzero(np.diff(ids) != 1)
    starts, ends = np.r_[ids[0], ids[breaks + 1]], np.r_[ids[breaks], ids[-1]]
    return [[int(a), int(b)] for a, b in zip(starts, ends)]


def _ids_of(ranges: list[list[int]]) -> np.ndarray:
    if not ranges:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([np.arange(a, b + 1, dtype=np.int64) for a, b in ranges])


def _add_chunks(client, store: Store, manifest, name: str, ids: np.ndarray, progress) -> set[str]:
    """Writes the chunks; returns the terms they hold."""
    total, terms = len(ids), set()
    for start in range(0, total, BATCH):
        batch = [int(i) for i in ids[start : start + BATCH]]
        rows, tokens = store.chunk_rows(batch), store.chunk_token_text(batch)
        _, vectors = store.chunk_vectors(manifest.model.key(), manifest.model.dimension, batch)
        client.insert(name, [_row(rows[chunk_id], tokens.get(chunk_id, ""), vector, manifest.generation)
                             for chunk_id, vector in zip(batch, vectors)])
        for text in tokens.values():
            terms.update(text.split())
        if progress:
            progress("publishing", min(start + BATCH, total), total)
    return terms


def _terms_of(client, name: str, ids: np.ndarray) -> set[str]:
    """The terms the published chunks ``ids`` hold."""
    terms: set[str] = set()
    for start in range(0, len(ids), BATCH):
        batch = [int(i) for i in ids[start : start + BATCH]]
        for row in client.query(name, filter=f"chunk_id in {batch}", output_fields=["search_text"], limit=len(batch)):
            terms.update(row["search_text"].split())
    return terms


def _retire(client, name: str, key: str, values: list, generation: int) -> None:
    """Rows the generation no longer serves: `died` set, the rows kept for the readers of the one before."""
    for start in range(0, len(values), BATCH):
        client.upsert(name, [{key: value, "died": generation} for value in values[start : start + BATCH]],
                      partial_update=True)


def _publish_terms(client, name: str, frequencies: dict[str, int], served: int | None, generation: int) -> None:
    """``frequencies``: the new count of every term whose count may have changed (those of the chunks that
    came or left). Only those that did change get a row of this generation; their old rows are retired."""
    current: dict[str, tuple[str, int]] = {}
    terms = list(frequencies)
    for start in range(0, len(terms) if served is not None else 0, BATCH):
        batch = terms[start : start + BATCH]
        for row in client.query(name, filter=f"term in {quoted(batch)}", output_fields=["key", "term", "frequency",
                                                                                      "born", "died"]):
            if serves(row, served):  # filtered here, not in the expression: see MilvusBackend._served_rows
                current[row["term"]] = (row["key"], int(row["frequency"]))
    changed = [(term, count) for term, count in frequencies.items()
               if count and current.get(term, ("", 0))[1] != count]
    _retire(client, name, "key", [key for term, (key, count) in current.items() if frequencies[term] != count],
            generation)
    for start in range(0, len(changed), BATCH):
        client.insert(name, [{"key": f"{generation}:{term}", "term": term, "frequency": count,
                              "born": generation, "died": ALIVE, "unused": [1.0, 0.0]}
                             for term, count in changed[start : start + BATCH]])


def _row(row: dict, tokens: str, vector: np.ndarray, generation: int) -> dict:
    return {
        "chunk_id": row["chunk_id"], "doc_id": row["doc_id"], "ordinal": row["ordinal"], "text": row["text"],
        "context": row["context"] or "", "heading_path": json.dumps(row["heading_path"], ensure_ascii=False),
        "start": row["start"], "end": row["end"], "unit": row["unit"] or "", "unit_type": row["unit_type"] or "",
        "page": row["page"], "kind": row["kind"], "title": row["title"] or "", "year": row["year"],
        "doc_type": row["doc_type"] or "", "source": row["source"] or "",
        "search_text": tokens or " ", "born": generation, "died": ALIVE,
        "vector": [float(x) for x in vector],
    }


def _write_meta(client, store: Store, manifest, name: str, local_ids: np.ndarray, index_type: str,
                catalogue: Catalogue) -> None:
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=128)
    schema.add_field("value", DataType.VARCHAR, max_length=65535)
    schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field in every collection
    index = client.prepare_index_params()
    index.add_index("unused", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema, index_params=index)
    passages = store.chunk_count()
    # The same sample of vectors as the local backend's mean (kb.index.vectors): the lowest chunk ids.
    _, sample = store.chunk_vectors(manifest.model.key(), manifest.model.dimension,
                                    [int(i) for i in local_ids[:MEAN_SAMPLE]])
    values = {
        "passages": passages,
        "average_tokens": store.keyword_totals()[1] / max(passages, 1),
        "mean": sample.mean(axis=0).tolist() if len(sample) else [0.0] * manifest.model.dimension,
        "vector_index": index_type,
        "chunk_ranges": _id_ranges(local_ids),
        "facets": store.facet_counts(),
        "stats": store.stats(),
        "documents": store.documents(),
        "law_titles": store.law_titles(),
        "catalogue": catalogue.model_dump(mode="json"),
        # Last: a meta collection with a manifest is whole.
        "manifest": manifest.model_dump(mode="json"),
    }
    for key, value in values.items():
        parts = split_json(value)
        client.insert(name, [{"key": f"{key}/{i:05d}", "value": part, "unused": [1.0, 0.0]}
                             for i, part in enumerate(parts)])
    client.flush(name)


def _forget(client, settings: Settings, keep: set[str | None], before: int | None) -> list[str]:
    """What neither the new generation nor the one before (kept for searches that began before the
    switch) serves: rows retired up to the one before, meta collections of older generations, and the
    collections of an earlier kb's layout."""
    if before is not None:
        for name in (chunk_collection(settings), term_collection(settings)):
            client.delete(name, filter=f"died <= {before}")
    dropped = []
    generations = re.compile(re.escape(settings.milvus_collection) + r"_g\d+(" + META_SUFFIX + ")?")
    for collection in client.list_collections():
        if generations.fullmatch(collection) and collection not in keep:
            client.drop_collection(collection)
            dropped.append(collection)
    return dropped
