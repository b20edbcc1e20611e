"""FAISS over chunk vectors, keyed by chunk id: a derived cache of what SQLite holds.

Small corpora get an exact index. From ``IVF_FROM`` vectors an inverted-file index (4·√n lists,
``IVF_NPROBE`` probed) keeps queries fast: in bench/scale.py at 1M vectors it kept recall@10 ≥ 0.98
at ~50× exact speed and 1.01× the raw memory even on the hardest synthetic clusters, where HNSW32
fell to 0.30, and it builds in less than half HNSW's time (the index is rebuilt per generation).
Files are written under a temporary name, fsynced and renamed, and carry the generation they
reflect in their name, so a reader never sees a half-written index.
"""

from __future__ import annotations

import errno
import math
import os
import re
import shutil
from pathlib import Path

import faiss
import numpy as np

IVF_FROM = 200_000
IVF_NPROBE = 64
IVF_TRAINING_PER_LIST = 50
# A filter that keeps this many vectors or fewer is searched exactly over just those vectors:
# probing a few lists could miss them all.
EXACT_SUBSET_MAX = 20_000
# Indexes built by earlier versions of kb past 200k vectors; still read and searched.
HNSW_EF_SEARCH = 128
_FILE = re.compile(r"^vectors-(\d+)\.faiss$")


def factory_for(count: int) -> str:
    return f"IDMap2,IVF{max(1, int(4 * math.sqrt(count)))},Flat" if count >= IVF_FROM else "IDMap2,Flat"


class VectorIndex:
    def __init__(self, index: faiss.Index, factory: str):
        self.index = index
        self.factory = factory

    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, factory: str | None = None) -> VectorIndex:
        dimension = vectors.shape[1] if vectors.ndim == 2 and vectors.shape[1] else 1
        factory = factory or factory_for(len(ids))
        index = faiss.index_factory(dimension, factory, faiss.METRIC_INNER_PRODUCT)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if "IVF" in factory:
            ivf = faiss.extract_index_ivf(index)
            ivf.cp.min_points_per_centroid = 1  # small test indexes train on few points per list
            sample = min(len(vectors), IVF_TRAINING_PER_LIST * ivf.nlist)
            rows = np.random.default_rng(0).choice(len(vectors), sample, replace=False)
            index.train(vectors[np.sort(rows)])
            ivf.nprobe = IVF_NPROBE
        if len(ids):
            index.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))
        if "IVF" in factory:
            faiss.extract_index_ivf(index).make_direct_map()  # reconstruct() for filtered searches
        return cls(index, factory)

    @property
    def count(self) -> int:
        return self.index.ntotal

    @property
    def dimension(self) -> int:
        return self.index.d

    def mean(self, sample: int = 20_000) -> np.ndarray:
        """The mean of (up to ``sample``) stored vectors: the direction every text of the corpus
        shares, which the relevance floor removes before comparing a query with a passage."""
        count = min(self.count, sample)
        if count == 0:
            return np.zeros(self.dimension, dtype=np.float32)
        inner = faiss.downcast_index(self.index.index) if hasattr(self.index, "id_map") else self.index
        return inner.reconstruct_n(0, count).mean(axis=0).astype(np.float32)

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
            allowed = np.asarray(allowed, dtype=np.int64)
            if self.factory != "IDMap2,Flat" and len(allowed) <= EXACT_SUBSET_MAX:
                return self._exact_among(query[0], k, allowed)
            selector = faiss.IDSelectorBatch(allowed)
            if "IVF" in self.factory:
                # A filter keeping a fraction f of the vectors finds f as many per list: probe 1/f more.
                nlist = faiss.extract_index_ivf(self.index).nlist
                nprobe = min(nlist, math.ceil(IVF_NPROBE * self.count / len(allowed)))
                params = faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)
            elif "HNSW" in self.factory:
                params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(HNSW_EF_SEARCH, k))
            else:
                params = faiss.SearchParameters(sel=selector)
        elif "HNSW" in self.factory:
            params = faiss.SearchParametersHNSW(efSearch=max(HNSW_EF_SEARCH, k))
        elif "IVF" in self.factory:
            params = faiss.SearchParametersIVF(nprobe=IVF_NPROBE)
        scores, ids = self.index.search(query, min(k, self.count), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def vectors_of(self, chunk_ids) -> dict[int, np.ndarray]:
        """The stored vectors of these chunks (those this generation holds), from memory."""
        found = {}
        for chunk_id in chunk_ids:
            try:
                found[int(chunk_id)] = self.index.reconstruct(int(chunk_id))
            except RuntimeError:  # filtered by SQLite, but not in this generation's vectors
                continue
        return found

    def _exact_among(self, query: np.ndarray, k: int, allowed: np.ndarray) -> list[tuple[int, float]]:
        found = self.vectors_of(allowed.tolist())
        if not found:
            return []
        present = list(found)
        vectors = np.vstack([found[i] for i in present])
        scores = vectors @ query
        order = np.argsort(-scores, kind="stable")[:k]
        return [(present[i], float(scores[i])) for i in order]

    def save(self, path: Path) -> None:
        path = Path(path)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            try:
                faiss.write_index(self.index, str(tmp))
            except RuntimeError as exc:
                # FAISS says only "write error"; where the disk is out of room, that is what it was.
                if shutil.disk_usage(path.parent).free < 2**20:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path)) from exc
                raise
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
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


def vector_generations(index_dir: Path) -> list[int]:
    """The generations whose vector files are in the index folder now."""
    return [int(m.group(1)) for path in Path(index_dir).iterdir() if (m := _FILE.match(path.name))]


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
