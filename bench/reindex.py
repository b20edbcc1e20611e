"""Re-indexing cost: full build, no-op, one changed and one added document, on a corpus of real
law articles (one file each, from STARD's reconstructed corpus), as seconds and as ratios.

    python bench/reindex.py                 # 1,000 documents
    python bench/reindex.py --smoke         # 50 documents, for CI

Targets (issue "Batch re-indexing"): no-op <= 2% of the full build; one changed document costs
its own embedding plus <= 1 s. Each step runs `kb index` as a fresh process, as a user would.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STARD = ROOT.parent / "shared" / "data" / "stard" / "reconstructed" / "corpus.jsonl"


def write_corpus(folder: Path, count: int) -> list[dict]:
    rows = []
    with open(STARD, encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if len(row["text"]) >= 40:
                rows.append(row)
            if len(rows) == count + 1:
                break
    folder.mkdir(parents=True)
    for row in rows[:count]:
        (folder / f"{row['_id']}.md").write_text(f"# {row['title']}\n\n{row['text']}\n", encoding="utf-8")
    return rows


def kb_index(corpus: Path, index_dir: Path) -> tuple[float, dict]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "KB_CORPUS_DIR": str(corpus), "KB_INDEX_DIR": str(index_dir)}
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "kb", "index", "--json", "-q"], env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if out.returncode != 0:
        sys.exit(f"kb index failed:\n{out.stderr}")
    return seconds, json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--smoke", action="store_true", help="50 documents (CI)")
    parser.add_argument("--json", type=Path, help="also write the steps here")
    args = parser.parse_args()
    count = 50 if args.smoke else args.documents
    with tempfile.TemporaryDirectory() as work:
        corpus, index_dir = Path(work) / "corpus", Path(work) / "index"
        rows = write_corpus(corpus, count)
        steps = []
        full, report = kb_index(corpus, index_dir)
        steps.append(("full build", full, report))
        steps.append(("no-op", *kb_index(corpus, index_dir)))
        changed = corpus / f"{rows[0]['_id']}.md"
        changed.write_text(changed.read_text(encoding="utf-8") + "\n本条自公布之日起施行。\n", encoding="utf-8")
        steps.append(("one changed", *kb_index(corpus, index_dir)))
        extra = rows[count]
        (corpus / f"{extra['_id']}.md").write_text(f"# {extra['title']}\n\n{extra['text']}\n", encoding="utf-8")
        steps.append(("one added", *kb_index(corpus, index_dir)))

    print(f"{count} documents, {report['chunks_embedded']} chunks; each step is a fresh `kb index` process")
    print("seconds: the whole process; embedding s: model load + embedding inside it; overhead: the rest")
    print(f"{'step':<12} {'seconds':>8} {'of full':>8} {'embedded':>9} {'reused':>7} {'embedding s':>12} {'overhead s':>11}")
    for name, seconds, rep in steps:
        print(f"{name:<12} {seconds:>8.2f} {seconds / full:>8.1%} {rep['chunks_embedded']:>9} {rep['chunks_reused']:>7}"
              f" {rep['embedding_seconds']:>12.2f} {seconds - rep['embedding_seconds']:>11.2f}")
    if args.json:
        args.json.write_text(json.dumps({"documents": count, "steps": [
            {"step": name, "seconds": seconds, "embedded": rep["chunks_embedded"], "reused": rep["chunks_reused"],
             "embedding_seconds": rep["embedding_seconds"]} for name, seconds, rep in steps]}, indent=1))


if __name__ == "__main__":
    main()
