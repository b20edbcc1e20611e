"""Speed of kb on this machine, each figure beside its baseline from the same run:

- indexing: kb's whole pipeline (ingest, chunk, embed on the default ONNX runtime, SQLite, FAISS)
  against the bare sentence-transformers model on torch fp32 encoding the very same chunk texts
  (target ≥ 0.95×), with peak RSS;
- queries: p50/p95 latency of keyword, semantic and hybrid search over the full STARD corpus on each
  runtime (target: hybrid p95 ≤ 1.3× semantic p95; ONNX p50 ≤ torch's), with the peak RSS of the
  searching process (target ≤ 600 MB on ONNX) and whether it imported torch;
- cold start: a fresh `kb search` process per runtime, from start to its first result printed
  (target: hybrid ≤ 1.5 s on ONNX, ≤ 1.5× keyword).

    python bench/speed.py             # 1,000 articles indexed; 308 dev queries on the full corpus
    python bench/speed.py --smoke     # 40 articles, 10 queries on a 300-article corpus (CI)

`--cold-start` measures only the cold start, on an index already built (README's first command builds
`index/`), with each process's peak RSS (targets: hybrid ≤ 1.5 s and ≤ 1.5× keyword, ≤ 600 MB). With
`--before SRC` the same commands also run another checkout's `src` (git worktree add /tmp/before REV),
alternating with this one, so that both see the same machine:

    python bench/speed.py --cold-start --runs 7 --before /tmp/before/src

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
    from kb.index.indexer import index_candidates
    from kb.index.prepare import prepare
    from kb.model.embedder import Embedder

    rows = [BeirRow(doc_id=r["_id"], title=r.get("title", ""), text=r["text"]) for r in _shared.rows()[:articles]]
    with tempfile.TemporaryDirectory() as work:
        settings = Settings(index_dir=Path(work) / "index")
        embedder = Embedder(settings)
        embedder.embed_passages(["预热"])  # both sides start with the model loaded
        texts = []
        for candidate in candidates_from_rows(rows):
            doc = candidate.load()
            texts += [c.embed_text for c in prepare(doc, settings).chunks]
        # The reference: the bare sentence-transformers model on torch, fp32 (kb's default runs ONNX).
        model = Embedder(settings.model_copy(update={"runtime": "torch"})).model
        model.encode(texts[:8], prompt="passage: ", batch_size=settings.batch_size, normalize_embeddings=True)
        started = time.perf_counter()
        model.encode(texts, prompt="passage: ", batch_size=settings.batch_size, normalize_embeddings=True)
        raw_s = time.perf_counter() - started
        started = time.perf_counter()
        report = index_candidates(settings, candidates_from_rows(rows), [""], embedder=embedder,
                                  unique_content=False)
        kb_s = time.perf_counter() - started
    return {"documents": len(rows), "chunks": len(texts), "embedded": report.chunks_embedded,
            "raw_s": raw_s, "kb_s": kb_s, "peak_rss_mb": peak_rss_mb()}


def query_worker(folder: str, limit: int, runtime: str) -> dict:
    from kb.config import Settings
    from kb.evaluate import prepare
    from kb.model.embedder import Embedder
    from kb.search import Searcher

    settings = Settings(runtime=runtime)
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
    return {"runtime": runtime, "documents": judged_set.documents, "queries": len(questions),
            "index_dir": str(judged_set.settings.index_dir), "torch_imported": "torch" in sys.modules,
            "latency_ms": {mode: {"p50": _percentile(t, 50) * 1000, "p95": _percentile(t, 95) * 1000}
                           for mode, t in latencies.items()},
            "peak_rss_mb": peak_rss_mb()}


RUNTIMES = ("onnx", "torch")


def _percentile(values: list[float], q: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def cold_start(index_dir: str, mode: str, runs: int, runtime: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(HF_HUB_OFFLINE="1", KB_INDEX_DIR=index_dir, KB_RUNTIME=runtime)
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "kb", "search", "哪些情形可以申请法律援助", "--mode", mode, "-k", "1"],
                       env=env, check=True, capture_output=True)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def cold_starts(index_dir: Path, runs: int, sources: dict[str, str | None]) -> dict:
    """Median seconds and peak RSS of `kb search` per source and mode, runs alternating between sources."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(HF_HUB_OFFLINE="1", KB_INDEX_DIR=str(index_dir))
    measured: dict[str, dict[str, list]] = {label: {"keyword": [], "hybrid": []} for label in sources}
    for _ in range(runs):
        for mode in ("keyword", "hybrid"):
            for label, src in sources.items():
                run_env = {**env, "PYTHONPATH": src} if src else env
                seconds, rss, _ = _shared.kb_command("search", "哪些情形可以申请法律援助", "--mode", mode, "-k", "1",
                                                     env=run_env)
                measured[label][mode].append((seconds, rss))
    return {label: {mode: {"s": statistics.median(s for s, _ in values), "rss_mb": max(r for _, r in values)}
                    for mode, values in modes.items()} for label, modes in measured.items()}


def print_cold_starts(results: dict, runs: int) -> None:
    print(f"cold start of `kb search` (process start to its answer printed), median of {runs}; peak RSS")
    for label, modes in results.items():
        keyword, hybrid = modes["keyword"], modes["hybrid"]
        print(f"  {label:<7} keyword {keyword['s']:.2f} s / {keyword['rss_mb']} MB   hybrid {hybrid['s']:.2f} s / "
              f"{hybrid['rss_mb']} MB   hybrid / keyword {hybrid['s'] / keyword['s']:.2f}")
    print("  targets: hybrid ≤ 1.5 s, ≤ 1.5× keyword, peak RSS ≤ 600 MB")


def run_worker(*args: str) -> dict:
    return _shared.run_worker(str(SELF), "--worker", *args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=1000, help="indexed for the throughput comparison")
    parser.add_argument("--queries", type=int, default=0, help="at most this many dev queries (0: all)")
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--cold-start", action="store_true", help="only the cold start, on --index-dir")
    parser.add_argument("--index-dir", type=Path, default=_shared.ROOT / "index")
    parser.add_argument("--runs", type=int, default=5, help="cold starts per mode (--cold-start)")
    parser.add_argument("--before", help="another checkout's src folder, measured beside this one")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cold_start:
        sources = {"now": None, **({"before": args.before} if args.before else {})}
        results = cold_starts(args.index_dir, args.runs, sources)
        print_cold_starts(results, args.runs)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))
        return
    if args.worker:
        kind, *rest = args.worker
        result = index_worker(int(rest[0])) if kind == "index" else query_worker(rest[0], int(rest[1]), rest[2])
        print(json.dumps(result))
        return

    work = tempfile.TemporaryDirectory()
    folder = _shared.STARD
    if args.smoke:
        args.articles, args.queries, args.cold_runs = 40, 10, 1
        folder = _shared.write_subset(Path(work.name) / "stard-smoke", 300, args.queries)
    indexing = run_worker("index", str(args.articles))
    queries = {runtime: run_worker("query", str(folder), str(args.queries), runtime) for runtime in RUNTIMES}
    querying = queries["onnx"]
    cold = {runtime: {mode: cold_start(querying["index_dir"], mode, args.cold_runs, runtime)
                      for mode in ("keyword", "hybrid")} for runtime in RUNTIMES}
    work.cleanup()

    ratio = indexing["raw_s"] / indexing["kb_s"]
    print(f"indexing {indexing['documents']} STARD articles ({indexing['chunks']} chunks), model loaded beforehand")
    print(f"{'':<28} {'seconds':>8} {'chunks/s':>9}")
    print(f"{'bare torch model (encode)':<28} {indexing['raw_s']:>8.1f} {indexing['chunks'] / indexing['raw_s']:>9.1f}")
    print(f"{'kb index (whole pipeline)':<28} {indexing['kb_s']:>8.1f} {indexing['chunks'] / indexing['kb_s']:>9.1f}")
    print(f"kb (onnx) / bare torch model throughput = {ratio:.2f}× (target ≥ 0.95); peak RSS while indexing "
          f"{indexing['peak_rss_mb']:.0f} MB")
    print(f"\nquery latency over {querying['queries']} dev queries, {querying['documents']} documents")
    print(f"{'runtime':<8} {'mode':<9} {'p50 ms':>8} {'p95 ms':>8}")
    for runtime, result in queries.items():
        for mode, values in result["latency_ms"].items():
            print(f"{runtime:<8} {mode:<9} {values['p50']:>8.1f} {values['p95']:>8.1f}")
    for runtime, result in queries.items():
        lat = result["latency_ms"]
        print(f"{runtime}: hybrid p95 / semantic p95 = {lat['hybrid']['p95'] / lat['semantic']['p95']:.2f} "
              f"(target ≤ 1.3); peak RSS of the searching process {result['peak_rss_mb']:.0f} MB (target ≤ 600 "
              f"for onnx); torch imported: {result['torch_imported']}")
    print(f"\ncold start of `kb search` (process start to first result, median of {args.cold_runs}):")
    for runtime, seconds in cold.items():
        print(f"  {runtime:<6} keyword {seconds['keyword']:.1f} s, hybrid {seconds['hybrid']:.1f} s"
              + ("  (target: hybrid ≤ 1.5 s, ≤ 1.5× keyword)" if runtime == "onnx" else ""))
    if args.json:
        args.json.write_text(json.dumps({"indexing": indexing, "querying": queries, "cold_start_s": cold}, indent=1))


if __name__ == "__main__":
    main()
