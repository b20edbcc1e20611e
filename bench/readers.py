"""Searches during commits: a reader searches in a loop (keyword, semantic and hybrid) while a writer
commits generation after generation — adding and removing a document, and `--rebuild`, which
renumbers every chunk. Counts the searches, the empty answers to a question that has answers before
and after, and the errors (goal: ≥ 5,000 searches during ≥ 10 commits, 0 empty, 0 errors).

    python bench/readers.py            # 12 commits (4 of them --rebuild), 15 s of searching between them
    python bench/readers.py --smoke    # 2 commits (CI)
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import threading
import time
from pathlib import Path

import _shared

from kb.config import Settings
from kb.index.indexer import index_paths
from kb.model.embedder import Embedder
from kb.search import Searcher

ROOT = _shared.ROOT
QUESTIONS = ("委员工作站", "人民调解委员会怎样调解纠纷", "五常大米品牌")
LAWS = ("人民调解法(2010-08-28).md", "非物质文化遗产法(2011-02-25).md")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commits", type=int, default=12)
    parser.add_argument("--pause", type=float, default=15.0, help="seconds of searching between commits")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    commits = 2 if args.smoke else args.commits
    with tempfile.TemporaryDirectory() as work:
        corpus = Path(work) / "corpus"
        (corpus / "laws").mkdir(parents=True)
        shutil.copy(next((ROOT / "corpus").glob("2022-*.md")), corpus)
        for name in LAWS:
            shutil.copy(ROOT / "corpus" / "laws" / name, corpus / "laws" / name)
        settings = Settings(corpus_dir=corpus, index_dir=Path(work) / "index")
        embedder = Embedder(settings)
        index_paths(settings, embedder=embedder)
        searcher = Searcher(settings, embedder)
        stop = threading.Event()
        counts = {"searches": 0, "empty": 0, "errors": 0}
        generations: set[int] = set()
        problems: list[str] = []

        def read() -> None:
            while not stop.is_set():
                for question in QUESTIONS:
                    for mode in ("keyword", "semantic", "hybrid"):
                        try:
                            response = searcher.search(question, mode=mode, k=5)
                        except Exception as exc:  # noqa: BLE001 - every failure is counted and shown
                            counts["errors"] += 1
                            problems.append(repr(exc))
                            continue
                        counts["searches"] += 1
                        generations.add(response.generation)
                        if not response.hits:
                            counts["empty"] += 1
                            problems.append(f"empty: {question} ({mode}, generation {response.generation})")

        reader = threading.Thread(target=read)
        started = time.monotonic()
        reader.start()
        extra = corpus / "extra.md"
        try:
            for number in range(commits):
                time.sleep(0.5 if args.smoke else args.pause)
                if number % 3 == 2:
                    index_paths(settings, rebuild=True, embedder=embedder)
                elif extra.exists():
                    extra.unlink()
                    index_paths(settings, embedder=embedder)
                else:
                    extra.write_text(f"# 新增材料 {number}\n\n委员工作站第{number}次议事协商的记录。\n", encoding="utf-8")
                    index_paths(settings, embedder=embedder)
        finally:
            stop.set()
            reader.join()
            searcher.close()
        seconds = time.monotonic() - started
    result = {**counts, "commits": commits, "rebuilds": sum(1 for n in range(commits) if n % 3 == 2),
              "generations_seen": len(generations), "seconds": round(seconds, 1)}
    print(f"{result['searches']} searches during {commits} commits ({result['rebuilds']} of them --rebuild) "
          f"in {seconds:.0f} s; answers came from {len(generations)} generations")
    print(f"empty answers {counts['empty']}, errors {counts['errors']} (goal 0 and 0)")
    for line in problems[:5]:
        print("  " + line)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
