"""FAISS over chunk vectors, keyed by chunk id: a derived cache of what SQLite holds.

Small corpora get an exact index; past ``HNSW_FROM`` vectors an HNSW graph keeps queries fast.
Files are written under a temporary name, fsynced and renamed, and carry the generation they
reflect in their name, so a reader never sees a half-written index.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import faiss
import numpy as np

HNSW_FROM = 200_000
HNSW_M = 32
HNSW_EF_SEARCH = 128
HNSW_EF_CONSTRUCTION = 80
_FILE = re.compile(r"^vectors-(\d+)\.faiss$")


def factory_for(count: int) -> str:
    return f"IDMap2,HNSW{HNSW_M},Flat" if count >= HNSW_FROM else "IDMap2,Flat"


class VectorIndex:
    def __init__(self, index: faiss.Index, factory: str):
        self.index = index
        self.factory = factory

    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, factory: str | None = None) -> VectorIndex:
        dimension = vectors.shape[1] if vectors.ndim == 2 and vectors.shape[1] else 1
        factory = factory or factory_for(len(ids))
        index = faiss.index_factory(dimension, factory, faiss.METRIC_INNER_PRODUCT)
        if "HNSW" in factory:
            hnsw = faiss.downcast_index(index.index)
            hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            hnsw.hnsw.efSearch = HNSW_EF_SEARCH
        if len(ids):
            index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))
        return cls(index, factory)

    @property
    def count(self) -> int:
        return self.index.ntotal

    @property
    def dimension(self) -> int:
        return self.index.d

    def ids(self) -> np.ndarray:
        return faiss.vector_to_array(self.index.id_map).astype(np.int64)

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        if self.count == 0 or k <= 0:
            return []
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        params = None
        if allowed is not None:
            if len(allowed) == 0:
                return []
            selector = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
            params = (
                faiss.SearchParametersHNSW(sel=selector, efSearch=max(HNSW_EF_SEARCH, k))
                if "HNSW" in self.factory
                else faiss.SearchParameters(sel=selector)
            )
        elif "HNSW" in self.factory:
            params = faiss.SearchParametersHNSW(efSearch=max(HNSW_EF_SEARCH, k))
        scores, ids = self.index.search(query, min(k, self.count), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def save(self, path: Path) -> None:
        path = Path(path)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        faiss.write_index(self.index, str(tmp))
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    @classmethod
    def load(cls, path: Path, factory: str) -> VectorIndex:
        return cls(faiss.read_index(str(path)), factory)


def vector_file(index_dir: Path, generation: int) -> Path:
    return Path(index_dir) / f"vectors-{generation}.faiss"


def remove_stale(index_dir: Path, keep_generation: int) -> None:
    """Delete vector files of older generations and temp files left by dead writers."""
    for path in Path(index_dir).iterdir():
        match = _FILE.match(path.name)
        if match and int(match.group(1)) < keep_generation:
            path.unlink(missing_ok=True)
        elif path.name.startswith(".vectors-") and path.name.endswith(".tmp"):
            pid = path.name.rsplit(".", 2)[-2]
            if pid.isdigit() and not _alive(int(pid)):
                path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
