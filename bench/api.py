"""The HTTP API's cost and its behaviour under load: `kb api` on loopback against a plain in-process
`Searcher.search` loop over the same questions, in one run.

Questions: the 56 seed questions (tests/data/seed_queries.tsv), hybrid mode, grouped as the page shows
them, k = 10. For 1, 10 and 50 concurrent clients (one httpx connection each): p50/p95 latency per
request, throughput and errors. Then the same 10 clients while `kb index --rebuild` rewrites the
index: errors, empty answers, and the generations the answers came from (each answer is one
generation's; a rebuild moves it on by one).

    python bench/api.py            # the bundled corpus (indexed once into bench/out/api-index)
    python bench/api.py --smoke    # the seed review and two laws, fewer requests (CI)
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import _shared
import httpx

from kb.config import Settings
from kb.index.indexer import index_paths
from kb.model.embedder import Embedder
from kb.search import Searcher

ROOT = _shared.ROOT
KB = [sys.executable, "-m", "kb"]


def questions() -> list[str]:
    with open(ROOT / "tests" / "data" / "seed_queries.tsv", encoding="utf-8") as handle:
        return [row["query"] for row in csv.DictReader(handle, delimiter="\t")]


def corpus(smoke: bool, folder: Path) -> Path:
    if not smoke:
        return ROOT / "corpus"
    target = folder / "corpus"
    (target / "laws").mkdir(parents=True)
    shutil.copy(ROOT / "corpus" / "2022-哈尔滨市政协系统创新工作综述.md", target)
    for name in ("人民调解法(2010-08-28).md", "非物质文化遗产法(2011-02-25).md"):
        shutil.copy(ROOT / "corpus" / "laws" / name, target / "laws" / name)
    return target


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def in_process(settings: Settings, asked: list[str], rounds: int) -> dict:
    searcher = Searcher(settings, Embedder(settings))
    searcher.warm()
    searcher.search(asked[0], k=10, grouped=True)
    seconds = []
    for _ in range(rounds):
        for question in asked:
            started = time.perf_counter()
            searcher.search(question, k=10, grouped=True)
            seconds.append(time.perf_counter() - started)
    searcher.close()
    return {"requests": len(seconds), "p50_ms": 1000 * statistics.median(seconds),
            "p95_ms": 1000 * percentile(seconds, 0.95)}


def start_api(settings: Settings) -> tuple[subprocess.Popen, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(HF_HUB_OFFLINE="1", KB_INDEX_DIR=str(settings.index_dir), KB_CORPUS_DIR=str(settings.corpus_dir))
    process = subprocess.Popen([*KB, "api", "--port", "0"], env=env, stderr=subprocess.PIPE, text=True)
    url = "http://127.0.0.1:" + re.search(r"127\.0\.0\.1:(\d+)/", process.stderr.readline()).group(1)
    while True:
        try:
            if httpx.get(url + "/health", timeout=5).status_code == 200:
                return process, url
        except httpx.TransportError:
            if process.poll() is not None:
                sys.exit("kb api did not start")
            time.sleep(0.3)


def load(url: str, asked: list[str], clients: int, per_client: int, until: threading.Event | None = None) -> dict:
    """``clients`` threads, each with its own connection, asking in turn; until ``until`` is set when given."""

    def client(number: int) -> tuple[list[float], int, int, set[int]]:
        seconds, errors, empty, generations = [], 0, 0, set()
        with httpx.Client(base_url=url, timeout=120) as http:
            done = 0
            while (done < per_client) if until is None else not until.is_set():
                question = asked[(number * 7 + done) % len(asked)]
                started = time.perf_counter()
                try:
                    answer = http.get("/search", params={"q": question, "k": 10})
                    seconds.append(time.perf_counter() - started)
                    if answer.status_code != 200:
                        errors += 1
                    else:
                        body = answer.json()
                        empty += not body["hits"]
                        generations.add(body["generation"])
                except httpx.HTTPError:
                    errors += 1
                done += 1
        return seconds, errors, empty, generations

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(client, range(clients)))
    wall = time.perf_counter() - started
    seconds = [s for r in results for s in r[0]]
    return {"clients": clients, "requests": len(seconds), "p50_ms": 1000 * statistics.median(seconds),
            "p95_ms": 1000 * percentile(seconds, 0.95), "per_second": len(seconds) / wall,
            "errors": sum(r[1] for r in results), "empty": sum(r[2] for r in results),
            "generations": sorted(set().union(*(r[3] for r in results)))}


def during_rebuild(settings: Settings, url: str, asked: list[str]) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(HF_HUB_OFFLINE="1", KB_INDEX_DIR=str(settings.index_dir), KB_CORPUS_DIR=str(settings.corpus_dir))
    before = httpx.get(url + "/health").json()["generation"]
    finished = threading.Event()
    rebuild = subprocess.Popen([*KB, "index", "--rebuild", "-q"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    watcher = threading.Thread(target=lambda: (rebuild.wait(), time.sleep(2), finished.set()))
    watcher.start()
    result = load(url, asked, 10, 0, until=finished)
    watcher.join()
    result.update(before=before, after=httpx.get(url + "/health").json()["generation"], rebuild_exit=rebuild.returncode)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="a small corpus and fewer requests (CI)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    asked = questions()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        index_dir = folder / "index" if args.smoke else ROOT / "bench" / "out" / "api-index"
        settings = Settings(corpus_dir=corpus(args.smoke, folder), index_dir=index_dir)
        index_paths(settings)
        rounds, per_client = (1, 4) if args.smoke else (3, 20)
        base = in_process(settings, asked[:12] if args.smoke else asked, rounds)
        process, url = start_api(settings)
        try:
            runs = [load(url, asked, clients, per_client) for clients in (1, 10, 50)]
            rebuild = during_rebuild(settings, url, asked)
        finally:
            process.terminate()
            process.wait(timeout=30)
    print(f"kb api on loopback vs in-process Searcher.search; hybrid, grouped, k = 10; {len(asked)} seed questions")
    print(f"in-process        {base['requests']:>5} searches  p50 {base['p50_ms']:7.1f} ms  p95 {base['p95_ms']:7.1f} ms")
    print("clients  requests   p50 ms   p95 ms   req/s  errors  empty")
    for run in runs:
        print(f"{run['clients']:>7}  {run['requests']:>8}  {run['p50_ms']:7.1f}  {run['p95_ms']:7.1f}  "
              f"{run['per_second']:6.1f}  {run['errors']:>6}  {run['empty']:>5}")
    print(f"p50 overhead of the API at 1 client: {runs[0]['p50_ms'] - base['p50_ms']:+.1f} ms")
    print(f"during `kb index --rebuild` (exit {rebuild['rebuild_exit']}): {rebuild['requests']} requests from 10 clients, "
          f"p50 {rebuild['p50_ms']:.1f} ms, p95 {rebuild['p95_ms']:.1f} ms, {rebuild['errors']} errors, "
          f"{rebuild['empty']} empty; generations seen {rebuild['generations']} "
          f"(before {rebuild['before']}, after {rebuild['after']})")
    if args.json:
        args.json.write_text(json.dumps({"in_process": base, "api": runs, "rebuild": rebuild}, indent=2),
                             encoding="utf-8")


if __name__ == "__main__":
    main()
