"""The writer's side: copy the index folder's committed generation into new Milvus collections, then
switch the alias. Readers see the old generation or the new one, never half of one; a publish that
died half-way leaves the alias where it was, and the next one starts that generation over."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

import numpy as np

from kb.config import Settings
from kb.index.indexer import Publisher
from kb.index.report import PublishReport
from kb.index.store import Store
from kb.milvus.collections import (
    ANALYZER,
    META_SUFFIX,
    MilvusError,
    chunk_collection,
    connect,
    generation_of,
    live_collection,
    split_json,
)
from kb.practices import build_catalogue

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
        with store.snapshot():
            manifest = store.manifest()
            if manifest is None:
                raise MilvusError(f"the index at {settings.index_dir} is empty: nothing to publish")
            name = chunk_collection(settings, manifest.generation)
            live = live_collection(client, settings)
            if live == name:
                return PublishReport(generation=manifest.generation, published=False)
            for leftover in (name, name + META_SUFFIX):  # a publish of this generation that died half-way
                if client.has_collection(leftover):
                    client.drop_collection(leftover)
            ids, vectors = store.chunk_vectors(manifest.model.key(), manifest.model.dimension)
            _write_chunks(client, store, manifest, name, ids, vectors, progress)
            _write_meta(client, store, manifest, name + META_SUFFIX, vectors)
        if live is None:
            client.create_alias(collection_name=name, alias=settings.milvus_collection)
        else:
            client.alter_alias(collection_name=name, alias=settings.milvus_collection)
        dropped = _drop_old(client, settings, keep={name, live})
        log.info("published generation %d to Milvus (%d chunks)", manifest.generation, len(ids))
        return PublishReport(generation=manifest.generation, published=True, chunks=len(ids), dropped=dropped,
                             seconds=time.perf_counter() - started)
    finally:
        store.close()
        client.close()


def _chunk_schema(client, dimension: int):
    from pymilvus import DataType, Function, FunctionType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("chunk_id", DataType.INT64, is_primary=True)
    for field, length in (("doc_id", 1024), ("heading_path", 8192), ("unit", 512), ("unit_type", 64), ("kind", 32),
                          ("title", 2048), ("doc_type", 64), ("source", 2048), ("context", 4096), ("text", 65535)):
        schema.add_field(field, DataType.VARCHAR, max_length=length)
    schema.add_field("search_text", DataType.VARCHAR, max_length=65535, enable_analyzer=True, analyzer_params=ANALYZER)
    for field in ("ordinal", "start", "end", "generation"):
        schema.add_field(field, DataType.INT64)
    schema.add_field("year", DataType.INT64, nullable=True)
    schema.add_field("page", DataType.INT64, nullable=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["search_text"],
                                 output_field_names=["sparse"]))
    index = client.prepare_index_params()
    index.add_index("vector", index_type="FLAT", metric_type="IP")
    index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    return schema, index


def _write_chunks(client, store: Store, manifest, name: str, ids: np.ndarray, vectors: np.ndarray, progress) -> None:
    schema, index = _chunk_schema(client, manifest.model.dimension)
    client.create_collection(name, schema=schema, index_params=index)
    total = len(ids)
    for start in range(0, total, BATCH):
        batch_ids = [int(i) for i in ids[start : start + BATCH]]
        rows, tokens = store.chunk_rows(batch_ids), store.chunk_token_text(batch_ids)
        client.insert(name, [_row(rows[chunk_id], tokens.get(chunk_id, ""), vector, manifest.generation)
                             for chunk_id, vector in zip(batch_ids, vectors[start : start + BATCH])])
        if progress:
            progress("publishing", min(start + BATCH, total), total)
    client.flush(name)


def _row(row: dict, tokens: str, vector: np.ndarray, generation: int) -> dict:
    return {
        "chunk_id": row["chunk_id"], "doc_id": row["doc_id"], "ordinal": row["ordinal"], "text": row["text"],
        "context": row["context"] or "", "heading_path": json.dumps(row["heading_path"], ensure_ascii=False),
        "start": row["start"], "end": row["end"], "unit": row["unit"] or "", "unit_type": row["unit_type"] or "",
        "page": row["page"], "kind": row["kind"], "title": row["title"] or "", "year": row["year"],
        "doc_type": row["doc_type"] or "", "source": row["source"] or "",
        "search_text": tokens or " ", "generation": generation,
        "vector": [float(x) for x in vector],
    }


def _write_meta(client, store: Store, manifest, name: str, vectors: np.ndarray) -> None:
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=128)
    schema.add_field("value", DataType.VARCHAR, max_length=65535)
    schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field in every collection
    index = client.prepare_index_params()
    index.add_index("unused", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema, index_params=index)
    catalogue = build_catalogue(store)
    passages = store.chunk_count()
    values = {
        "passages": passages,
        "average_tokens": store.token_total() / max(passages, 1),
        "mean": vectors.mean(axis=0).tolist() if len(vectors) else [0.0] * manifest.model.dimension,
        "frequencies": store.vocabulary(),
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


def _drop_old(client, settings: Settings, keep: set[str | None]) -> list[str]:
    """Generations before the previous live one: the previous one stays for searches that began
    before the switch."""
    dropped = []
    prefix = settings.milvus_collection + "_g"
    for collection in client.list_collections():
        base = collection.removesuffix(META_SUFFIX)
        if collection.startswith(prefix) and generation_of(base) is not None and base not in keep:
            client.drop_collection(collection)
            dropped.append(collection)
    return dropped
