"""What several benchmarks share; not a benchmark itself (the underscore keeps CI from running it).

The STARD dev split as the benchmarks use it: the full reconstructed corpus, or a paired sub-corpus
(every relevant article plus a fixed random sample of distractors) small enough to re-embed once per
setting; and running a benchmark's worker in its own process, so that its peak RSS is its own."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from kb.evaluate import CUTOFFS, ModeScores, read_qrels, read_queries, score
from kb.tokenize import tokenize

ROOT = Path(__file__).resolve().parents[1]
STARD = ROOT.parent / "shared" / "data" / "stard" / "reconstructed"


def files(folder: Path = STARD) -> tuple[Path, Path, Path]:
    return folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels"


def rows(folder: Path = STARD) -> list[dict]:
    with open(folder / "corpus.jsonl", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def write_subset(folder: Path, distractors: int, queries: int) -> Path:
    questions = list(read_queries(STARD / "queries.jsonl").items())[:queries]
    qrels = read_qrels(STARD / "qrels")
    wanted = {doc for qid, _ in questions for doc in qrels.get(qid, ())}
    every = rows()
    others = [r for r in every if r["_id"] not in wanted]
    kept = [r for r in every if r["_id"] in wanted] + random.Random(13).sample(others, distractors)
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in kept), encoding="utf-8")
    (folder / "queries.jsonl").write_text(
        "\n".join(json.dumps({"_id": q, "text": t}, ensure_ascii=False) for q, t in questions), encoding="utf-8"
    )
    (folder / "qrels" / "dev.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t1\n" for q, _ in questions for d in sorted(qrels[q])),
        encoding="utf-8",
    )
    return folder


def bm25s_reference(folder: Path, judged_set) -> ModeScores:
    """bm25s (default parameters) over kb's own jieba tokens of title + text: the outside reference."""
    import bm25s

    corpus = rows(folder)
    ids = [row["_id"] for row in corpus]
    retriever = bm25s.BM25()
    retriever.index([tokenize(f"{row.get('title', '')}\n{row['text']}") for row in corpus], show_progress=False)
    ranked, seconds = {}, 0.0
    for qid in judged_set.asked:
        started = time.perf_counter()
        tokens = tokenize(judged_set.questions[qid]) or ["\u3000"]
        found, _ = retriever.retrieve([tokens], k=min(max(CUTOFFS), len(ids)), show_progress=False)
        seconds += time.perf_counter() - started
        ranked[qid] = [ids[i] for i in found[0]]
    return score("bm25s", ranked, judged_set.judged, seconds)


def run_worker(script: str, *args: str) -> dict:
    """Run ``script args`` in a fresh Python and return the JSON object it prints last."""
    out = subprocess.run([sys.executable, script, *args], capture_output=True, text=True,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"}, check=False)
    if out.returncode != 0:
        sys.exit(f"worker {' '.join(args)} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])
