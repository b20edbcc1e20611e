"""Indexing as every front end asks for it: the indexer with the publish step the `search_backend`
setting names, so that `kb index`, the page's 重新索引 and uploads, and the API all leave Milvus readers
on the new generation (the publish runs inside the indexer, under its writer lock)."""

from __future__ import annotations

from pathlib import Path

from kb.config import Settings
from kb.index.indexer import index_paths, remove_documents
from kb.index.report import IndexReport
from kb.milvus import publisher_for


def index_files(settings: Settings, paths: list[Path] | None = None, **options) -> IndexReport:
    """``options``: those of kb.index.indexer.index_paths (rebuild, embedder, progress, wait, strict, actor)."""
    return index_paths(settings, paths, publisher=publisher_for(settings), **options)


def remove_indexed(settings: Settings, doc_ids: list[str], **options) -> IndexReport:
    return remove_documents(settings, doc_ids, publisher=publisher_for(settings), **options)
