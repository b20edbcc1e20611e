"""FAISS over chunk vectors, keyed by chunk id: a derived cache of what SQLite holds.

Small corpora get an exact index. From ``IVF_FROM`` vectors an inverted-file index (4·√n lists,
``IVF_NPROBE`` probed) keeps queries fast: in bench/scale.py at 1M vectors it kept recall@10 ≥ 0.98
at ~50× exact speed and 1.01× the raw memory even on the hardest synthetic clusters, where HNSW32
fell to 0.30, and it builds in less than half HNSW's time.
A generation that changes a few documents does not rebuild the index: ``VectorIndex.updated`` takes the
previous generation's, removes the chunks that left and adds the new ones (training the inverted file's
lists again only once the corpus has grown or shrunk past ``IVF_RETRAIN_RATIO`` of the size they were
trained for). The inverted file keeps chunk ids itself (a hash-table direct map), because FAISS's
``IDMap2`` over an inverted file cannot remove vectors; files of earlier versions (``IDMap2,IVF…``) are
still read, and rebuilt by their next generation.
Files are written under a temporary name, fsynced and renamed, and carry the generation they
reflect in their name, so a reader never sees a half-written index.
"""

from __future__ import annotations

import errno
import math
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

IVF_FROM = 200_000
IVF_NPROBE = 64
IVF_TRAINING_PER_LIST = 50
# Lists trained for n vectors serve from n / ratio to n * ratio before a generation trains them again.
IVF_RETRAIN_RATIO = 2.0
# A filter that keeps this many vectors or fewer is searched exactly over just those vectors:
# probing a few lists could miss them all.
EXACT_SUBSET_MAX = 20_000
# Indexes built by earlier versions of kb past 200k vectors; still read and searched.
HNSW_EF_SEARCH = 128
# How many vectors (the lowest chunk ids) the corpus's mean direction is taken from, here and in Milvus.
MEAN_SAMPLE = 20_000
_FILE = re.compile(r"^vectors-(\d+)\.faiss$")


@dataclass(frozen=True)
class VectorDelta:
    """What one generation changes in the vectors: the chunk ids that left, those that came with their
    vectors, the ids of every chunk the generation holds (sorted), and (read only when an index is built
    afresh) every chunk's id and vector."""

    removed: np.ndarray
    added_ids: np.ndarray
    added: np.ndarray
    ids: np.ndarray
    everything: Callable[[], tuple[np.ndarray, np.ndarray]]

    @property
    def count(self) -> int:
        return len(self.ids)

    @property
    def most_replaced(self) -> bool:
        """A generation that replaces most of the index (a rebuild) builds afresh: cheaper, and trained on it."""
        return len(self.removed) + len(self.added_ids) > self.count


def factory_for(count: int) -> str:
    return f"IVF{_lists_for(count)},Flat" if count >= IVF_FROM else "IDMap2,Flat"


def _lists_for(count: int) -> int:
    return max(1, int(4 * math.sqrt(count)))


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
            cls._map_ids(index, factory)
        if len(ids):
            index.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))
        return cls(index, factory)

    @staticmethod
    def _map_ids(index: faiss.Index, factory: str) -> None:
        """reconstruct() by chunk id, for filtered searches and the floor: an earlier version's IDMap2
        wraps sequential ids (an array map); the inverted file holding chunk ids needs a hash table."""
        ivf = faiss.extract_index_ivf(index)
        if factory.startswith("IDMap2"):
            ivf.make_direct_map()
        else:
            ivf.set_direct_map_type(faiss.DirectMap.Hashtable)

    def updated(self, delta: VectorDelta) -> VectorIndex | None:
        """This index with the delta's chunks that left taken out and those that came put in, when it can
        hold the generation as well as a fresh build would (same kind, lists trained for a size within
        ``IVF_RETRAIN_RATIO``) and then holds exactly the generation's chunk ids (a damaged or stale file
        does not carry on); None when a generation must build afresh. Changes this index."""
        removed, added_ids, count = delta.removed, delta.added_ids, delta.count
        target = factory_for(count)
        if target == "IDMap2,Flat":
            if self.factory != target:
                return None
            selector = faiss.IDSelectorBatch(np.asarray(removed, dtype=np.int64))
        else:
            trained = faiss.extract_index_ivf(self.index).nlist if self.factory.startswith("IVF") else 0
            if not trained or not 1 / IVF_RETRAIN_RATIO <= trained / _lists_for(count) <= IVF_RETRAIN_RATIO:
                return None
            selector = faiss.IDSelectorArray(np.ascontiguousarray(removed, dtype=np.int64))
        if len(removed):
            self.index.remove_ids(selector)
        if len(added_ids):
            self.index.add_with_ids(np.ascontiguousarray(delta.added, dtype=np.float32),
                                    np.ascontiguousarray(added_ids, dtype=np.int64))
        return self if self.count == count and np.array_equal(np.sort(self.ids()), delta.ids) else None

    @property
    def count(self) -> int:
        return self.index.ntotal

    @property
    def dimension(self) -> int:
        return self.index.d

    def mean(self, sample: int = MEAN_SAMPLE) -> np.ndarray:
        """The mean of (up to ``sample``) stored vectors: the direction every text of the corpus
        shares, which the relevance floor removes before comparing a query with a passage."""
        count = min(self.count, sample)
        if count == 0:
            return np.zeros(self.dimension, dtype=np.float32)
        if hasattr(self.index, "id_map"):
            return faiss.downcast_index(self.index.index).reconstruct_n(0, count).mean(axis=0).astype(np.float32)
        return self.index.reconstruct_batch(np.sort(self.ids())[:count]).mean(axis=0).astype(np.float32)

    def ids(self) -> np.ndarray:
        if hasattr(self.index, "id_map"):
            return faiss.vector_to_array(self.index.id_map).astype(np.int64)
        lists = faiss.extract_index_ivf(self.index).invlists
        held = [faiss.rev_swig_ptr(lists.get_ids(n), lists.list_size(n)).copy()
                for n in range(lists.nlist) if lists.list_size(n)]
        return np.concatenate(held).astype(np.int64) if held else np.zeros(0, dtype=np.int64)

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


def updated_from(path: Path, factory: str, dimension: int, delta: VectorDelta) -> VectorIndex | None:
    """The last generation's vector index (its file, factory and dimension) with this generation's
    changes, or None where a fresh build is due: no usable file, most of the index replaced, or a size its
    lists were not trained for. At 10⁶ chunks a fresh build reads every vector and trains the inverted
    file, minutes for one changed file."""
    if delta.most_replaced or not path.exists():
        return None
    try:
        index = VectorIndex.load(path, factory)
    except RuntimeError:  # unreadable: the fresh build replaces it
        return None
    if index.dimension != dimension:
        return None
    return index.updated(delta)


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
