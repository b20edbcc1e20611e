"""The whole search path at scale: a kb index of real law texts (every law of
../shared/data/lawrefbook_laws with the bundled corpus, repeated with a changed title to pass the laws'
size), built by `kb index`'s own pipeline, then searched, checked and re-indexed as users do.

What is measured, per size: the build (and its embedding share), the index on disk, keyword / semantic /
hybrid p50 and p95 for questions of common words (人民政府 matches a large share of the laws) and of rare
ones, the catalogue and the 学习 tab's map, `kb check`, a one-file `kb index`, and the peak RSS of a
`kb search` process. Beside the local backend, the same index published to a `milvus-lite server`
(--no-milvus leaves it out): the first publish, p50/p95 per mode, recall@10 of Milvus's vector index
against the local exact search, and the publish of the one-file change.

The passages' vectors are not the model's: embedding 10⁵ chunks takes this 2-core machine about two
hours (bench/RESULTS.md, embedding speed). Each passage gets a vector drawn near the real embedding of one
of a few hundred real passages (picked by a hash of its text), as bench/scale.py scatters points around
real vectors. So the figures are of speed, size and memory; questions are embedded by the real model
and their semantic rankings mean nothing.

    python bench/scale_path.py --chunks 100000
    python bench/scale_path.py --smoke           # about 3,000 chunks (CI)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
import zlib
from pathlib import Path

import _shared
import numpy as np

from kb.config import Settings
from kb.index.indexer import index_paths
from kb.milvus import publish
from kb.model.embedder import Embedder
from kb.search import Searcher
from kb.search.backend import Scope

ROOT = _shared.ROOT
LAWS = ROOT.parent / "shared" / "data" / "lawrefbook_laws"
# Characters per chunk, near what kb's chunker gives laws (an article is a chunk: most are short): to pick how many files make a size.
CHARACTERS_PER_CHUNK = 140
COMMON = ["人民政府的职责", "委员会监督工作", "国家机关工作人员的法律责任", "人民法院依法审理", "县级以上地方人民政府应当"]
RARE = ["黑土地保护", "非物质文化遗产代表性传承人", "委员工作站", "商标注册申请", "种子生产经营许可证"]
ANCHORS = 400


class DrawnVectors:
    """kb's embedder for the passages of this bench: the real model's identity (queries are embedded by
    the real model, and an index must match it), vectors drawn near real embeddings of a few passages."""

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


def write_corpus(folder: Path, chunks: int) -> tuple[int, int]:
    """The bundled corpus, then law files (and, past the real ones, copies under another title) until
    about ``chunks`` chunks' worth of text. Returns (files, copies)."""
    shutil.copytree(ROOT / "corpus", folder)
    laws = sorted(LAWS.rglob("*.md"))
    if not laws:
        raise SystemExit(f"no law texts under {LAWS}: this bench needs ../shared beside the checkout")
    budget = chunks * CHARACTERS_PER_CHUNK - sum(len(p.read_text(encoding="utf-8")) for p in folder.rglob("*.md"))
    files = copies = 0
    while budget > 0:
        for law in laws:
            if budget <= 0:
                break
            text = law.read_text(encoding="utf-8")
            round_ = files // len(laws)
            target = folder / "laws" / "scale" / f"r{round_}" / law.relative_to(LAWS)
            if round_:  # a copy: another title, so that it is another document
                text = text.replace("\n", f"（第{round_}编）\n", 1)
                copies += 1
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            budget -= len(text)
            files += 1
    return files, copies


def timings(searcher: Searcher, questions: list[str], mode: str, repeats: int) -> tuple[float, float]:
    seconds = []
    for _ in range(repeats):
        for question in questions:
            started = time.perf_counter()
            searcher.search(question, mode=mode, k=10, grouped=True)
            seconds.append(time.perf_counter() - started)
    return statistics.median(seconds) * 1000, float(np.percentile(seconds, 95)) * 1000


def directory_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def recall_at_10(local: Searcher, milvus: Searcher, vectors: np.ndarray) -> float:
    """Share of the exact top 10 (local FAISS, exact below its IVF size) that Milvus's index finds."""
    found = []
    for vector in vectors:
        exact = {i for i, _ in local.backend.dense(vector, 10, Scope())}
        approximate = {i for i, _ in milvus.backend.dense(vector, 10, Scope())}
        found.append(len(exact & approximate) / max(len(exact), 1))
    return float(np.mean(found))


def milvus_side(settings: Settings, real: Embedder, work: Path, repeats: int, uri: str) -> dict:
    """The index as Milvus Lite serves it to a reader with no index folder."""
    remote = settings.model_copy(update={"search_backend": "milvus", "milvus_uri": uri})
    report = publish(remote)
    figures = {"milvus_publish_s": report.seconds}
    local = Searcher(settings, real)
    milvus = Searcher(remote.model_copy(update={"index_dir": work / "no-index-here"}), real)
    try:
        milvus.warm()
        figures["milvus_vector_index"] = milvus.backend.vector_index()
        for mode in ("keyword", "semantic", "hybrid"):
            for name, questions in (("common", COMMON), ("rare", RARE)):
                figures[f"milvus_{mode}_{name}_p50_ms"], figures[f"milvus_{mode}_{name}_p95_ms"] = timings(
                    milvus, questions, mode, repeats)
        # The questions, and passages' own vectors as questions (they sit in the corpus's clusters).
        rows = local.backend.rows(list(range(1, local.passage_count(), max(1, local.passage_count() // 100))))
        vectors = [real.embed_query(q) for q in COMMON + RARE]
        vectors += [v for v in local.backend.vectors_of(list(rows)).values()]
        figures["milvus_recall_at_10"] = recall_at_10(local, milvus, np.array(vectors))
        figures["milvus_recall_queries"] = len(vectors)
    finally:
        local.close()
        milvus.close()
    return figures


def run(chunks: int, work: Path, repeats: int, uri: str | None) -> dict:
    corpus, index = work / "corpus", work / "index"
    files, copies = write_corpus(corpus, chunks)
    settings = Settings(corpus_dir=corpus, index_dir=index)
    real = Embedder(settings)
    samples = [p.read_text(encoding="utf-8")[:400] for p in sorted((corpus / "laws").rglob("*.md"))[:ANCHORS]]
    drawn = DrawnVectors(real, samples)

    started = time.perf_counter()
    report = index_paths(settings, embedder=drawn)
    build = time.perf_counter() - started
    figures = {"files": files, "copies": copies, "build_s": build, "embedding_s": report.embedding_seconds,
               "index_mb": directory_mb(index)}

    searcher = Searcher(settings, real)
    try:
        figures["chunks"] = searcher.passage_count()
        searcher.warm()
        for mode in ("keyword", "semantic", "hybrid"):
            for name, questions in (("common", COMMON), ("rare", RARE)):
                figures[f"{mode}_{name}_p50_ms"], figures[f"{mode}_{name}_p95_ms"] = timings(
                    searcher, questions, mode, repeats)
        started = time.perf_counter()
        searcher.catalogue()
        figures["catalogue_s"] = time.perf_counter() - started
        started = time.perf_counter()
        searcher.practice_map()
        figures["map_s"] = time.perf_counter() - started
    finally:
        searcher.close()

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "KB_INDEX_DIR": str(index), "KB_CORPUS_DIR": str(corpus)}
    for mode in ("keyword", "hybrid"):
        figures[f"kb_search_{mode}_s"], figures[f"kb_search_{mode}_rss_mb"], _ = _shared.kb_command(
            "search", COMMON[0], "--mode", mode, env=env)
    figures["kb_check_s"], figures["kb_check_rss_mb"], _ = _shared.kb_command("check", env=env)
    if uri:
        figures.update(milvus_side(settings, real, work, repeats, uri))
    # One file changed, indexed through kb's pipeline again (the drawn vectors, as the build).
    changed = next((corpus / "laws" / "scale").rglob("*.md"))
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\n本法自公布之日起施行。\n", encoding="utf-8")
    started = time.perf_counter()
    index_paths(settings, embedder=drawn)
    figures["one_file_index_s"] = time.perf_counter() - started
    if uri:  # and its publish: only the changed file's chunks and terms
        published = publish(settings.model_copy(update={"search_backend": "milvus", "milvus_uri": uri}))
        figures["milvus_one_file_publish_s"] = published.seconds
        figures["milvus_one_file_added_removed"] = f"{published.added}/{published.removed}"
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, nargs="+", default=[100_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument("--no-milvus", action="store_true", help="the local backend only")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.chunks, args.repeats = [3_000], 1
    results = {}
    for size in args.chunks:  # each size printed when done: a 10⁶ run takes long
        with tempfile.TemporaryDirectory() as work:
            server, uri = _shared.lite_server(Path(work) / "milvus") if not args.no_milvus else (None, None)
            try:
                figures = results[size] = run(size, Path(work), args.repeats, uri)
            finally:
                if server:
                    server.terminate()
                    server.wait(timeout=120)
        print(f"\n{figures['chunks']} chunks ({figures['files']} files, {figures['copies']} of them copies under "
              f"another title); vectors drawn near real ones", flush=True)
        for name, value in figures.items():
            print(f"  {name:<34} {value:>10.1f}" if isinstance(value, float) else f"  {name:<34} {value:>10}", flush=True)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
