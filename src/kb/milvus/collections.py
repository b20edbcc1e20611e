"""What kb keeps in Milvus, and how it is named. Generation N lives in two collections: `{name}_g{N}`,
one row per chunk (text, BM25 input, vector, the fields users filter by), and `{name}_g{N}_meta`, what
a searcher needs once per generation (manifest, statistics, facets, document list, keyword
frequencies, the practice catalogue) as JSON split into rows. The alias `{name}` names the live
generation's chunk collection: switching it is the commit point of a publish."""

from __future__ import annotations

import json
import re
from pathlib import Path

from kb.config import Settings
from kb.reasons import KbError
from kb.records import FILTER_FIELDS

META_SUFFIX = "_meta"
# VARCHAR fields hold at most 65,535 bytes: a JSON value is stored in parts of this many characters
# (three bytes each at most).
PART_CHARS = 20_000
# kb's own jieba search tokens, joined by spaces, are what Milvus's BM25 function reads; Milvus
# Lite's `standard` analyzer splits on non-word characters, so it sees exactly kb's tokens (see
# README "Past one machine" for the comparison with Milvus's jieba analyzer on the raw text).
ANALYZER = {"tokenizer": "standard"}
ROW_FIELDS = ["chunk_id", "doc_id", "ordinal", "text", "context", "heading_path", "start", "end", "unit", "unit_type",
              "page", "kind", "title", "year", "doc_type", "source"]


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


def chunk_collection(settings: Settings, generation: int) -> str:
    return f"{settings.milvus_collection}_g{generation}"


def generation_of(collection: str) -> int | None:
    found = re.search(r"_g(\d+)$", collection)
    return int(found.group(1)) if found else None


def live_collection(client, settings: Settings) -> str | None:
    """The chunk collection the alias names now, or None before the first publish."""
    if settings.milvus_collection not in client.list_aliases().get("aliases", []):
        return None
    return client.describe_alias(settings.milvus_collection)["collection_name"]


def filter_expression(filters: dict[str, list[str]], within: list[int] | None) -> str:
    """A Milvus boolean expression for kb's filters (values of one field OR-ed, fields AND-ed)."""
    clauses = []
    if within is not None:
        clauses.append(f"chunk_id in {sorted({int(i) for i in within})}" if within else "chunk_id < 0")
    for field, values in filters.items():
        spec = FILTER_FIELDS.get(field)
        if spec is None or not spec.column:
            raise ValueError(f"not a stored filter field: {field!r}")
        literals = [str(int(v)) if spec.integer else json.dumps(str(v), ensure_ascii=False) for v in values]
        clauses.append(f"{spec.column} in [{', '.join(literals)}]")
    return " and ".join(clauses)


def split_json(value) -> list[str]:
    text = json.dumps(value, ensure_ascii=False)
    return [text[i : i + PART_CHARS] for i in range(0, len(text), PART_CHARS)] or [""]
