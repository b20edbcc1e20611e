"""FAISS index types at scale: exact (Flat) vs HNSW vs IVF on clustered, normalized 384-d vectors
like sentence embeddings, reporting recall@10 against exact search, query latency p50/p95,
build time and memory. These numbers decide when `kb.index.vectors.factory_for` leaves exact search.

    python bench/scale.py                      # 100,000 vectors
    python bench/scale.py --vectors 1000000    # 1M (about 1.5 GB of vectors; builds take minutes)
    python bench/scale.py --from-index index/eval/reconstructed-*   # real STARD vectors of a kb index
    python bench/scale.py --vectors 1000000 --around-index index/eval/reconstructed-*
                                               # 1M points spread around those real vectors
    python bench/scale.py --smoke              # 5,000 vectors, for CI
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import faiss
import numpy as np

DIM = 384
K = 10


def clustered(count: int, seed: int) -> np.ndarray:
    """Points around 1,000 random centres, so neighbours are not trivially far apart."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(1000, DIM)).astype(np.float32)
    vectors = centres[rng.integers(0, len(centres), count)] + rng.normal(scale=0.6, size=(count, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def stored_vectors(index_dir: Path) -> np.ndarray:
    from kb.index.store import Store

    store = Store(index_dir, create=False)
    try:
        manifest = store.manifest()
        _, vectors = store.chunk_vectors(manifest.model.key(), manifest.model.dimension)
    finally:
        store.close()
    return vectors


def from_index(index_dir: Path, queries: int) -> tuple[np.ndarray, np.ndarray]:
    """The chunk vectors of a kb index; a random few are held out as queries."""
    vectors = stored_vectors(index_dir)
    order = np.random.default_rng(4).permutation(len(vectors))
    return np.ascontiguousarray(vectors[order[queries:]]), np.ascontiguousarray(vectors[order[:queries]])


def around(index_dir: Path, count: int, seed: int) -> np.ndarray:
    """Points scattered around real embeddings, so a corpus larger than any we hold keeps their
    anisotropy and neighbourhood structure. The noise puts a point at cosine ~0.965 from its
    source, the mean top-1 similarity among the real STARD vectors."""
    real = stored_vectors(index_dir)
    rng = np.random.default_rng(seed)
    vectors = np.empty((count, real.shape[1]), dtype=np.float32)
    for start in range(0, count, 100_000):
        size = min(100_000, count - start)
        block = real[rng.integers(0, len(real), size)]
        block = block + rng.normal(scale=0.27 / np.sqrt(real.shape[1]), size=block.shape).astype(np.float32)
        vectors[start:start + size] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return vectors


def measure(index: faiss.Index, queries: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    latencies = []
    found = []
    for query in queries:
        started = time.perf_counter()
        _, ids = index.search(query.reshape(1, -1), K)
        latencies.append(time.perf_counter() - started)
        found.append(ids[0])
    recall = np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth)])
    return float(recall), float(np.percentile(latencies, 50) * 1000), float(np.percentile(latencies, 95) * 1000)


def memory_mb(index: faiss.Index) -> float:
    return faiss.serialize_index(index).nbytes / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--from-index", type=Path, help="use the stored vectors of this kb index")
    parser.add_argument("--around-index", type=Path, help="scatter --vectors points around this index's vectors")
    parser.add_argument("--hnsw-m", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.vectors, args.queries = 5_000, 50
    if args.from_index:
        data, queries = from_index(args.from_index, args.queries)
        args.vectors, source = len(data), f"real vectors from {args.from_index}"
    elif args.around_index:
        data, queries = around(args.around_index, args.vectors, seed=1), around(args.around_index, args.queries, seed=2)
        source = f"vectors scattered around the real ones of {args.around_index}"
    else:
        data, queries = clustered(args.vectors, seed=1), clustered(args.queries, seed=2)
        source = "clustered random vectors"
    raw_mb = data.nbytes / 1e6

    rows = []
    started = time.perf_counter()
    exact = faiss.IndexFlatIP(DIM)
    exact.add(data)
    build = time.perf_counter() - started
    _, truth = exact.search(queries, K)
    recall, p50, p95 = measure(exact, queries, truth)
    rows.append(("Flat (exact)", "", build, recall, p50, p95, memory_mb(exact)))
    exact_p95 = p95

    for m in args.hnsw_m:
        started = time.perf_counter()
        hnsw = faiss.IndexHNSWFlat(DIM, m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = 80
        hnsw.add(data)
        build = time.perf_counter() - started
        size = memory_mb(hnsw)
        for ef in (32, 64, 128, 256):
            hnsw.hnsw.efSearch = ef
            rows.append((f"HNSW{m}", f"efSearch {ef}", build, *measure(hnsw, queries, truth), size))

    nlist = max(16, int(4 * np.sqrt(args.vectors)))
    started = time.perf_counter()
    quantizer = faiss.IndexFlatIP(DIM)
    ivf = faiss.IndexIVFFlat(quantizer, DIM, nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.cp.min_points_per_centroid = 1  # the smoke run trains on fewer points than faiss would like
    ivf.train(data[np.random.default_rng(3).choice(len(data), min(len(data), 50 * nlist), replace=False)])
    ivf.add(data)
    build = time.perf_counter() - started
    size = memory_mb(ivf)
    for nprobe in (4, 16, 32, 64):
        ivf.nprobe = nprobe
        rows.append((f"IVF{nlist},Flat", f"nprobe {nprobe}", build, *measure(ivf, queries, truth), size))

    print(f"{args.vectors} {DIM}-d {source} ({raw_mb:.0f} MB raw), {args.queries} queries, "
          f"recall@{K} against exact; faiss threads {faiss.omp_get_max_threads()}")
    print(f"{'index':<16} {'setting':<13} {'build s':>8} {'recall@10':>10} {'p50 ms':>8} {'p95 ms':>8}"
          f" {'speed-up':>9} {'MB':>8} {'× raw':>6}")
    for name, setting, build, recall, p50, p95, size in rows:
        print(f"{name:<16} {setting:<13} {build:>8.1f} {recall:>10.3f} {p50:>8.2f} {p95:>8.2f}"
              f" {exact_p95 / p95:>8.1f}x {size:>8.0f} {size / raw_mb:>6.2f}")
    if args.json:
        keys = ("index", "setting", "build_s", "recall_at_10", "p50_ms", "p95_ms", "memory_mb")
        args.json.write_text(json.dumps({"vectors": args.vectors, "source": source, "raw_mb": raw_mb,
                                         "rows": [dict(zip(keys, row)) for row in rows]}, indent=1))


if __name__ == "__main__":
    main()
