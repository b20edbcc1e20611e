"""The local backend (FAISS + FTS5) against Milvus Lite, same run, same index: STARD dev nDCG@10 and
per-query latency (p50/p95) for each mode, the publish time, and Milvus Lite with synthetic vectors.

    python bench/backends.py                      # the full STARD corpus (its eval index is cached)
    python bench/backends.py --vectors 1000000    # and Milvus Lite holding 1M synthetic vectors
    python bench/backends.py --no-stard --vectors 1000000   # the synthetic vectors only
    python bench/backends.py --smoke              # 100 distractors, 10 queries, 20,000 vectors (CI)

The Milvus side runs as deployed for many readers: a `milvus-lite server` process, reached over
gRPC. Dev split only: the held-back train queries are never read.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import _shared
import numpy as np

from kb.config import Settings
from kb.evaluate import documents_of, prepare, score
from kb.milvus import connect, publish
from kb.model.embedder import Embedder
from kb.search import Searcher


def quality_and_latency(judged_set, searcher: Searcher, label: str) -> list[dict]:
    rows = []
    for mode in ("keyword", "semantic", "hybrid"):
        ranked, times = {}, []
        for qid in judged_set.asked:
            started = time.perf_counter()
            response = searcher.search(judged_set.questions[qid], mode=mode, k=100)
            times.append(time.perf_counter() - started)
            ranked[qid] = documents_of(response)
        scores = score(mode, ranked, judged_set.judged)
        times.sort()
        rows.append({"backend": label, "mode": mode, "ndcg_at_10": scores.ndcg_at_10, "p50_ms": 1000 * times[len(times) // 2],
                     "p95_ms": 1000 * times[min(len(times) - 1, int(0.95 * len(times)))], "queries": len(times)})
    return rows


def synthetic(uri: str, count: int, dimension: int = 384, queries: int = 50) -> dict:
    """Milvus Lite holding ``count`` random unit vectors: insert time, then exact-search latency."""
    from pymilvus import DataType

    client = connect(Settings(search_backend="milvus", milvus_uri=uri))
    name = "synthetic"
    if client.has_collection(name):
        client.drop_collection(name)
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    index = client.prepare_index_params()
    index.add_index("vector", index_type="FLAT", metric_type="IP")
    client.create_collection(name, schema=schema, index_params=index)
    generator = np.random.default_rng(7)
    started, done = time.perf_counter(), 0
    result: dict = {"vectors": count}
    try:
        while done < count:
            size = min(10_000, count - done)
            block = generator.standard_normal((size, dimension)).astype(np.float32)
            block /= np.linalg.norm(block, axis=1, keepdims=True)
            client.insert(name, [{"id": done + i, "vector": row.tolist()} for i, row in enumerate(block)])
            done += size
            if done % 100_000 == 0:
                print(f"  synthetic: {done:,} vectors in {time.perf_counter() - started:.0f} s", flush=True)
        client.flush(name)
    except Exception as exc:  # noqa: BLE001 - what Milvus Lite does at this size is the finding
        result["failed_after"] = done
        result["error"] = f"{exc.__class__.__name__}: {str(exc)[:200]}"
    result["insert_s"] = time.perf_counter() - started
    if done:
        times = []
        for _ in range(queries):
            query = generator.standard_normal(dimension).astype(np.float32)
            query /= np.linalg.norm(query)
            started = time.perf_counter()
            client.search(name, data=[query.tolist()], anns_field="vector", limit=10,
                          search_params={"metric_type": "IP"})
            times.append(time.perf_counter() - started)
        times.sort()
        result.update(held=done, p50_ms=1000 * statistics.median(times), p95_ms=1000 * times[int(0.95 * len(times))])
    client.drop_collection(name)
    client.close()
    return result


def _print_vectors(vectors: dict) -> None:
    if "error" in vectors:
        print(f"synthetic: Milvus Lite stopped after {vectors['failed_after']:,} of {vectors['vectors']:,} "
              f"vectors: {vectors['error']}")
    print(f"synthetic: {vectors.get('held', 0):,} 384-d vectors inserted in {vectors['insert_s']:.0f} s; top-10 "
          f"search p50 {vectors.get('p50_ms', float('nan')):.0f} ms, p95 {vectors.get('p95_ms', float('nan')):.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index-dir", type=Path, default=Path("index"), help="where the eval index is cached")
    parser.add_argument("--vectors", type=int, default=0, help="also fill Milvus Lite with this many synthetic vectors")
    parser.add_argument("--no-stard", action="store_true", help="only the synthetic vectors")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    work = tempfile.TemporaryDirectory(prefix="kb-backends-")
    folder = _shared.STARD
    if args.smoke:
        folder = _shared.write_subset(Path(work.name) / "stard-smoke", 100, 10)
        args.vectors = args.vectors or 20_000
        args.index_dir = Path(work.name) / "index"
    server, uri = _shared.lite_server(Path(work.name) / "milvus")
    if args.no_stard:
        try:
            vectors = synthetic(uri, args.vectors)
        finally:
            server.terminate()
            server.wait(timeout=60)
        _print_vectors(vectors)
        if args.json:
            args.json.write_text(json.dumps({"synthetic": vectors}, indent=1))
        return
    settings = Settings(index_dir=args.index_dir)
    embedder = Embedder(settings)
    judged_set = prepare(settings, *_shared.files(folder), embedder)
    try:
        remote = judged_set.settings.model_copy(update={"search_backend": "milvus", "milvus_uri": uri})
        published = publish(remote)
        local, milvus = Searcher(judged_set.settings, embedder), Searcher(remote, embedder)
        embedder.embed_query("预热")
        rows = quality_and_latency(judged_set, local, "local") + quality_and_latency(judged_set, milvus, "milvus-lite")
        local.close()
        milvus.close()
        vectors = synthetic(uri, args.vectors) if args.vectors else None
    finally:
        server.terminate()
        server.wait(timeout=60)
    print(f"STARD dev{' (smoke subset)' if args.smoke else ''}: {judged_set.documents} articles, "
          f"{published.chunks} chunks, {len(judged_set.asked)} questions; publish to Milvus Lite "
          f"{published.seconds:.1f} s")
    print(f"{'backend':<12} {'mode':<9} {'nDCG@10':>8} {'p50 ms':>8} {'p95 ms':>8}")
    for row in rows:
        print(f"{row['backend']:<12} {row['mode']:<9} {row['ndcg_at_10']:>8.4f} {row['p50_ms']:>8.1f} {row['p95_ms']:>8.1f}")
    if vectors:
        _print_vectors(vectors)
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "publish_s": published.seconds, "chunks": published.chunks,
                                         "synthetic": vectors}, indent=1))
    hybrid = {row["backend"]: row["ndcg_at_10"] for row in rows if row["mode"] == "hybrid"}
    if abs(hybrid["local"] - hybrid["milvus-lite"]) > 0.02:
        raise SystemExit(f"the backends disagree: hybrid nDCG@10 {hybrid}")


if __name__ == "__main__":
    main()
