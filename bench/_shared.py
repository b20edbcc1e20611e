"""What several benchmarks share; not a benchmark itself (the underscore keeps CI from running it).

The STARD dev split as the benchmarks use it: the full reconstructed corpus, or a paired sub-corpus
(every relevant article plus a fixed random sample of distractors) small enough to re-embed once per
setting; and running a benchmark's worker in its own process, so that its peak RSS is its own; and
passage vectors drawn near real ones, for benches that do not measure what vectors mean."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np

from kb.evaluate import CUTOFFS, ModeScores, read_qrels, read_queries, score
from kb.model.embedder import Embedder
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


# A small parent for the measured process: a child's peak RSS counts what it inherited at fork, and a
# benchmark's own process may hold the model.
_MEASURED = ("import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(code)")


def kb_command(*args: str, env: dict[str, str]) -> tuple[float, int, str]:
    """(seconds, peak RSS in MB, output) of one `kb` process, as a user starts it."""
    started = time.perf_counter()
    ran = subprocess.run([sys.executable, "-c", _MEASURED, sys.executable, "-m", "kb", *args], env=env,
                         check=False, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if ran.returncode not in (0, 1):
        raise SystemExit(f"kb {' '.join(args)} failed ({ran.returncode}): {ran.stderr[-2000:]}")
    return seconds, int(ran.stderr.strip().splitlines()[-1]) // 1024, ran.stdout


def lite_server(folder: Path) -> tuple[subprocess.Popen, str]:
    """A `milvus-lite server` process on a free port, as several kb readers share one: (process, uri)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(folder),
                                "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("Milvus Lite did not start")


class DrawnVectors:
    """kb's embedder for passages whose vectors' meaning a bench does not measure (speed at scale, the
    keyword ranking): the real model's identity (queries are embedded by the real model, and an index
    must match it), vectors drawn near real embeddings of a few passages, in seconds instead of hours."""

    def __init__(self, real: Embedder, samples: list[str]):
        self.identity = real.identity
        self.dimension = real.dimension
        self.anchors = real.embed_passages(samples)
        self.rng = np.random.default_rng(1)

    def embed_passages(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        picked = self.anchors[[zlib.crc32(t.encode()) % len(self.anchors) for t in texts]]
        noise = self.rng.normal(scale=0.27 / np.sqrt(self.dimension), size=picked.shape).astype(np.float32)
        drawn = picked + noise
        return drawn / np.linalg.norm(drawn, axis=1, keepdims=True)
