"""What kb keeps in Milvus, and how it is named. Three kinds of collection:

- `{name}_chunks`: one row per chunk that any live generation serves (text, BM25 input, vector, the
  fields users filter by), with `born`, the generation that first served it, and `died`, the first
  that no longer does (ALIVE while every generation since serves it). Generation G is the rows with
  born ≤ G < died: a publish adds and retires only what changed, and never touches what G's readers see.
- `{name}_terms`: the keyword index's document frequency of each term, versioned the same way.
- `{name}_g{N}_meta`: what a searcher needs once per generation (manifest, statistics, facets, the
  document list, the practice catalogue, the vector index's parameters) as JSON split into rows.

The alias `{name}` names the live generation's meta collection: moving it is the commit point of a
publish, and readers switch whole, never half."""

from __future__ import annotations

import json
import re
from pathlib import Path

from kb.config import Settings
from kb.reasons import KbError
from kb.records import FILTER_FIELDS

CHUNKS_SUFFIX = "_chunks"
TERMS_SUFFIX = "_terms"
META_SUFFIX = "_meta"
# `died` of a row that no generation has retired yet.
ALIVE = 1 << 62
# VARCHAR fields hold at most 65,535 bytes: a JSON value is stored in parts of this many characters
# (three bytes each at most).
PART_CHARS = 20_000
# kb's own jieba search tokens, joined by spaces, are what Milvus's BM25 function reads; Milvus
# Lite's `standard` analyzer splits on non-word characters, so it sees exactly kb's tokens (see
# README "Past one machine" for the comparison with Milvus's jieba analyzer on the raw text).
ANALYZER = {"tokenizer": "standard"}
ROW_FIELDS = ["chunk_id", "doc_id", "ordinal", "text", "context", "heading_path", "start", "end", "unit", "unit_type",
              "page", "kind", "title", "year", "doc_type", "source"]
# Exact search (FLAT) up to this many chunks: a few milliseconds, nothing to build, recall 1. From here on
# HNSW, with the build parameters below and the search breadth `ef` of vector_search_params; recall
# against exact search is measured by bench/scale_path.py (README "Past one machine").
HNSW_FROM = 50_000
HNSW_BUILD = {"M": 16, "efConstruction": 200}


class MilvusError(KbError, RuntimeError):
    """Milvus cannot be reached, or holds nothing kb published."""


def connect(settings: Settings):
    """A client for ``milvus_uri``: a path opens Milvus Lite in this process (one process at a time);
    http://host:port reaches a server (a Milvus cluster, or `milvus-lite server`) shared by many."""
    from pymilvus import MilvusClient
    from pymilvus.exceptions import MilvusException

    uri = settings.milvus_uri.strip()
    if not uri:
        raise MilvusError("search_backend = milvus needs milvus_uri (KB_MILVUS_URI): a folder path for "
                          "Milvus Lite, or http://host:19530 for a Milvus server")
    if "://" not in uri:
        if not uri.endswith(".db"):
            uri = uri.rstrip("/") + ".db"  # pymilvus hands paths ending in .db to Milvus Lite
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
    try:
        return MilvusClient(uri=uri, token=settings.milvus_token or "")
    except (MilvusException, OSError, RuntimeError) as exc:
        raise MilvusError(f"cannot reach Milvus at {settings.milvus_uri}: {exc}") from exc


def chunk_collection(settings: Settings) -> str:
    return settings.milvus_collection + CHUNKS_SUFFIX


def term_collection(settings: Settings) -> str:
    return settings.milvus_collection + TERMS_SUFFIX


def meta_collection(settings: Settings, generation: int) -> str:
    return f"{settings.milvus_collection}_g{generation}{META_SUFFIX}"


def generation_of(collection: str | None) -> int | None:
    """The generation a meta collection belongs to; None for any other name (an earlier kb named each
    generation's chunk collection `{name}_g{N}`, and the alias pointed there)."""
    found = re.search(r"_g(\d+)" + META_SUFFIX + "$", collection or "")
    return int(found.group(1)) if found else None


def served_in(generation: int) -> str:
    """The rows of a versioned collection that generation ``generation`` serves."""
    return f"born <= {int(generation)} and died > {int(generation)}"


def serves(row: dict, generation: int) -> bool:
    """Whether ``generation`` serves a row (with its born and died) that a lookup by key returned."""
    return row["born"] <= generation < row["died"]


def live_collection(client, settings: Settings) -> str | None:
    """The collection the alias names now, or None before the first publish."""
    if settings.milvus_collection not in client.list_aliases().get("aliases", []):
        return None
    return client.describe_alias(settings.milvus_collection)["collection_name"]


def ensure_loaded(client, name: str) -> None:
    """A collection must be loaded to be searched or queried; a Milvus Lite folder opened by a new
    process, or a restarted Milvus Lite server, has forgotten that it was."""
    from pymilvus.client.types import LoadState

    if client.get_load_state(name).get("state") != LoadState.Loaded:
        client.load_collection(name)


def vector_index(chunks: int) -> tuple[str, dict]:
    """The vector index for a collection of this many chunks, with its build parameters."""
    return ("FLAT", {}) if chunks < HNSW_FROM else ("HNSW", dict(HNSW_BUILD))


def vector_search_params(index_type: str, depth: int) -> dict:
    """HNSW looks at `ef` candidates: twice the depth asked for, and at least 128 (recall@10 1.000 on
    111 queries at 10⁵ chunks, bench/scale_path.py); the other index types take no parameter."""
    params = {"ef": max(2 * depth, 128)} if index_type == "HNSW" else {}
    return {"metric_type": "IP", "params": params}


def filter_expression(filters: dict[str, list[str]], within: list[int] | None, generation: int) -> str:
    """A Milvus boolean expression for kb's filters (values of one field OR-ed, fields AND-ed), over
    the chunks ``generation`` serves."""
    clauses = [served_in(generation)]
    if within is not None:
        clauses.append(f"chunk_id in {sorted({int(i) for i in within})}" if within else "chunk_id < 0")
    for field, values in filters.items():
        spec = FILTER_FIELDS.get(field)
        if spec is None or not spec.column:
            raise ValueError(f"not a stored filter field: {field!r}")
        literals = [str(int(v)) if spec.integer else json.dumps(str(v), ensure_ascii=False) for v in values]
        clauses.append(f"{spec.column} in [{', '.join(literals)}]")
    return " and ".join(clauses)


def read_meta(client, name: str) -> dict:
    """A generation's meta collection: each value put together from its parts."""
    parts: dict[str, list[tuple[str, str]]] = {}
    for row in client.query(name, filter='key != ""', output_fields=["key", "value"], limit=16_384):
        key, index = row["key"].rsplit("/", 1)
        parts.setdefault(key, []).append((index, row["value"]))
    if "manifest" not in parts:
        raise MilvusError(f"{name} is incomplete (a publish died half-way?); run `kb index` to publish again")
    return {key: json.loads("".join(value for _, value in sorted(chunks))) for key, chunks in parts.items()}


def split_json(value) -> list[str]:
    text = json.dumps(value, ensure_ascii=False)
    return [text[i : i + PART_CHARS] for i in range(0, len(text), PART_CHARS)] or [""]


def quoted(values) -> str:
    """A list literal of strings for a Milvus expression."""
    return json.dumps([str(v) for v in values], ensure_ascii=False)
