"""Speed of kb on this machine, each figure beside its baseline from the same run:

- indexing: kb's whole pipeline (ingest, chunk, embed, SQLite, FAISS) against the bare
  sentence-transformers model encoding the very same chunk texts (target ≥ 0.9×), with peak RSS;
- queries: p50/p95 latency of keyword, semantic and hybrid search over the full STARD corpus
  (target: hybrid p95 ≤ 1.3× semantic p95), with the peak RSS of the searching process;
- cold start: a fresh `kb search` process, from start to its first result printed.

    python bench/speed.py             # 1,000 articles indexed; 308 dev queries on the full corpus
    python bench/speed.py --smoke     # 40 articles, 10 queries on a 300-article corpus (CI)

The full-corpus index is the one `kb eval` / bench/quality.py cache under index/eval/ (built on
first use: about 50 minutes). Each part runs in its own process so that its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _shared

SELF = Path(__file__).resolve()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def index_worker(articles: int) -> dict:
    from kb.config import Settings
    from kb.evaluate import BeirRow, candidates_from_rows
    from kb.index.indexer import embed_text, index_candidates
    from kb.ingest.chunking import chunk_document
    from kb.model.embedder import Embedder

    rows = [BeirRow(doc_id=r["_id"], title=r.get("title", ""), text=r["text"]) for r in _shared.rows()[:articles]]
    with tempfile.TemporaryDirectory() as work:
        settings = Settings(index_dir=Path(work) / "index")
        embedder = Embedder(settings)
        embedder.embed_passages(["预热"])  # both sides start with the model loaded
        texts = []
        for candidate in candidates_from_rows(rows):
            doc = candidate.load()
            texts += [embed_text(doc.metadata.title, c) for c in chunk_document(doc, settings.chunk_size,
                                                                                settings.chunk_overlap)]
        model = embedder.model
        started = time.perf_counter()
        model.encode(texts, prompt="passage: ", batch_size=settings.batch_size, normalize_embeddings=True)
        raw_s = time.perf_counter() - started
        started = time.perf_counter()
        report = index_candidates(settings, candidates_from_rows(rows), [""], embedder=embedder,
                                  unique_content=False)
        kb_s = time.perf_counter() - started
    return {"documents": len(rows), "chunks": len(texts), "embedded": report.chunks_embedded,
            "raw_s": raw_s, "kb_s": kb_s, "peak_rss_mb": peak_rss_mb()}


def query_worker(folder: str, limit: int) -> dict:
    from kb.config import Settings
    from kb.evaluate import prepare
    from kb.model.embedder import Embedder
    from kb.search import Searcher

    settings = Settings()
    embedder = Embedder(settings)
    judged_set = prepare(settings, *_shared.files(Path(folder)), embedder, limit=limit or None)
    searcher = Searcher(judged_set.settings, embedder)
    embedder.embed_query("预热")
    questions = [judged_set.questions[qid] for qid in judged_set.asked]
    latencies: dict[str, list[float]] = {"keyword": [], "semantic": [], "hybrid": []}
    # Interleaved, so that a noisy moment on the machine falls on every mode alike.
    for question in questions:
        for mode, times in latencies.items():
            started = time.perf_counter()
            searcher.search(question, mode=mode)
            times.append(time.perf_counter() - started)
    searcher.close()
    return {"documents": judged_set.documents, "queries": len(questions), "index_dir": str(judged_set.settings.index_dir),
            "latency_ms": {mode: {"p50": _percentile(t, 50) * 1000, "p95": _percentile(t, 95) * 1000}
                           for mode, t in latencies.items()},
            "peak_rss_mb": peak_rss_mb()}


def _percentile(values: list[float], q: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def cold_start(index_dir: str, mode: str, runs: int) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(HF_HUB_OFFLINE="1", KB_INDEX_DIR=index_dir)
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "kb", "search", "哪些情形可以申请法律援助", "--mode", mode, "-k", "1"],
                       env=env, check=True, capture_output=True)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def run_worker(*args: str) -> dict:
    return _shared.run_worker(str(SELF), "--worker", *args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=1000, help="indexed for the throughput comparison")
    parser.add_argument("--queries", type=int, default=0, help="at most this many dev queries (0: all)")
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, *rest = args.worker
        result = index_worker(int(rest[0])) if kind == "index" else query_worker(rest[0], int(rest[1]))
        print(json.dumps(result))
        return

    work = tempfile.TemporaryDirectory()
    folder = _shared.STARD
    if args.smoke:
        args.articles, args.queries, args.cold_runs = 40, 10, 1
        folder = _shared.write_subset(Path(work.name) / "stard-smoke", 300, args.queries)
    indexing = run_worker("index", str(args.articles))
    querying = run_worker("query", str(folder), str(args.queries))
    cold = {mode: cold_start(querying["index_dir"], mode, args.cold_runs) for mode in ("keyword", "hybrid")}
    work.cleanup()

    ratio = indexing["raw_s"] / indexing["kb_s"]
    print(f"indexing {indexing['documents']} STARD articles ({indexing['chunks']} chunks), model loaded beforehand")
    print(f"{'':<28} {'seconds':>8} {'chunks/s':>9}")
    print(f"{'bare model (encode only)':<28} {indexing['raw_s']:>8.1f} {indexing['chunks'] / indexing['raw_s']:>9.1f}")
    print(f"{'kb index (whole pipeline)':<28} {indexing['kb_s']:>8.1f} {indexing['chunks'] / indexing['kb_s']:>9.1f}")
    print(f"kb / bare model throughput = {ratio:.2f}× (target ≥ 0.9); peak RSS while indexing "
          f"{indexing['peak_rss_mb']:.0f} MB")
    print(f"\nquery latency over {querying['queries']} dev queries, {querying['documents']} documents")
    print(f"{'mode':<9} {'p50 ms':>8} {'p95 ms':>8}")
    for mode, values in querying["latency_ms"].items():
        print(f"{mode:<9} {values['p50']:>8.1f} {values['p95']:>8.1f}")
    lat = querying["latency_ms"]
    print(f"hybrid p95 / semantic p95 = {lat['hybrid']['p95'] / lat['semantic']['p95']:.2f} (target ≤ 1.3); "
          f"peak RSS of the searching process {querying['peak_rss_mb']:.0f} MB")
    print(f"\ncold start of `kb search` (process start to first result, median of {args.cold_runs}): "
          f"keyword {cold['keyword']:.1f} s, hybrid {cold['hybrid']:.1f} s")
    if args.json:
        args.json.write_text(json.dumps({"indexing": indexing, "querying": querying, "cold_start_s": cold}, indent=1))


if __name__ == "__main__":
    main()
