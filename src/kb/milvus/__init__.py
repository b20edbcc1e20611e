"""Past one machine: `kb index` publishes each committed generation to Milvus, and searchers with
`search_backend = milvus` read it from there, with no local index files. SQLite in the index folder
stays the writer's source of truth (hashes, embedding cache, audit). The reader is a search backend,
kb.search.milvus."""

from kb.milvus.collections import MilvusError, connect
from kb.milvus.publish import publish, publisher_for

__all__ = ["MilvusError", "connect", "publish", "publisher_for"]
