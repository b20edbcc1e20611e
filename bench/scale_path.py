"""The whole search path at scale: a kb index of real law texts (every law of
../shared/data/lawrefbook_laws with the bundled corpus, repeated with a changed title to pass the laws'
size), built by `kb index`'s own pipeline, then searched, checked and re-indexed as users do.

What is measured, per size: the build (and its embedding share), the index on disk, keyword / semantic /
hybrid p50 and p95 for questions of common words (人民政府 matches a large share of the laws) and of rare
ones, with the keyword work bounded (the default `keyword_budget`) and with FTS5 scoring every match, and
how much of FTS5's own keyword top 10 / top 100 the bounded search keeps; the catalogue and the 学习 tab's
map, `kb serve` (the page's first render, searches over its websocket, its peak RSS), `kb check`, a
one-file `kb index` with SQLite's integrity check and one where it is skipped (kb.index.store.mark_sound),
and the time and peak RSS of a `kb search` process. Beside the local backend, the same index published to a `milvus-lite server`
(--no-milvus leaves it out): the first publish, p50/p95 per mode, recall@10 of Milvus's vector index
against the local exact search, and the publish of the one-file change.

The passages' vectors are not the model's: embedding 10⁵ chunks takes this 2-core machine about two
hours (bench/RESULTS.md, embedding speed). Each passage gets a vector drawn near the real embedding of one
of a few hundred real passages (picked by a hash of its text), as bench/scale.py scatters points around
real vectors. So the figures are of speed, size and memory; questions are embedded by the real model
and their semantic rankings mean nothing.

    python bench/scale_path.py --chunks 100000
    python bench/scale_path.py --chunks 1000000 --no-milvus --keep /tmp/kb-1m   # by hand; again: reuse it
    python bench/scale_path.py --smoke           # about 3,000 chunks (CI)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import _shared
import load
import numpy as np

from kb.config import Settings
from kb.index.indexer import index_paths
from kb.index.store import SOUND_NAME
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
# Seconds `kb serve` is given to load the model after its first visit before the searches are timed.
SERVE_MODEL_WAIT_S = 20


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


def keyword_agreement(bounded: Searcher, every: Searcher) -> tuple[float, float]:
    """Mean share of FTS5's own keyword top 10 and top 100 (every match scored) that the bounded keyword
    search returns, over the common- and rare-word questions."""
    tens, hundreds = [], []
    for question in COMMON + RARE:
        got = [hit.chunk_id for hit in bounded.search(question, mode="keyword", k=100).hits]
        want = [hit.chunk_id for hit in every.search(question, mode="keyword", k=100).hits]
        tens.append(len(set(got[:10]) & set(want[:10])) / max(1, len(want[:10])))
        hundreds.append(len(set(got) & set(want)) / max(1, len(want)))
    return float(np.mean(tens)), float(np.mean(hundreds))


def serve_side(env: dict[str, str], repeats: int) -> dict:
    """`kb serve` on the index, as staff open it: the first render of the page (the 学习 tab's catalogue
    and map included, all tabs are drawn in one run), searches over the page's own websocket once the
    model is ready, and the server's peak RSS."""
    port = load.free_port()
    server = load.start_server(env, port)
    url = f"http://127.0.0.1:{port}/"

    async def visit() -> tuple[float, list[float]]:
        started = time.perf_counter()
        async with load.Session(url):
            first = time.perf_counter() - started
        await asyncio.sleep(SERVE_MODEL_WAIT_S)  # the model loads on the first visit; the searches come after
        seconds = []
        async with load.Session(url) as session:
            for _ in range(repeats):
                for question in COMMON + RARE:
                    started = time.perf_counter()
                    texts, errors = await session.run(question)
                    seconds.append(time.perf_counter() - started)
                    if errors or not any(text.startswith(f"「{question}」共") for text in texts):
                        raise SystemExit(f"kb serve did not answer {question!r}: {errors or texts[-3:]}")
        return first, seconds

    try:
        first, seconds = asyncio.run(visit())
        peak = load.peak_rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)
    return {"serve_first_render_s": first, "serve_search_p50_ms": statistics.median(seconds) * 1000,
            "serve_search_p95_ms": float(np.percentile(seconds, 95)) * 1000, "serve_peak_rss_mb": peak}


def run(chunks: int, work: Path, repeats: int, uri: str | None) -> dict:
    corpus, index = work / "corpus", work / "index"
    settings = Settings(corpus_dir=corpus, index_dir=index)
    reused = (index / "kb.sqlite3").exists()
    if reused:  # --keep: an index an earlier run built here
        files = sum(1 for _ in (corpus / "laws" / "scale").rglob("*.md"))
        copies = sum(1 for _ in (corpus / "laws" / "scale").glob("r[1-9]*/**/*.md"))
    else:
        files, copies = write_corpus(corpus, chunks)
    real = Embedder(settings)
    samples = [p.read_text(encoding="utf-8")[:400] for p in sorted((corpus / "laws").rglob("*.md"))[:ANCHORS]]
    drawn = _shared.DrawnVectors(real, samples)

    figures = {"files": files, "copies": copies}
    if not reused:
        started = time.perf_counter()
        report = index_paths(settings, embedder=drawn)
        figures.update(build_s=time.perf_counter() - started, embedding_s=report.embedding_seconds)
    figures["index_mb"] = directory_mb(index)

    searcher = Searcher(settings, real)
    every = Searcher(settings.model_copy(update={"keyword_budget": 0}), real)
    try:
        figures["chunks"] = searcher.passage_count()
        searcher.warm()
        every.warm()
        for mode in ("keyword", "semantic", "hybrid"):
            for name, questions in (("common", COMMON), ("rare", RARE)):
                figures[f"{mode}_{name}_p50_ms"], figures[f"{mode}_{name}_p95_ms"] = timings(
                    searcher, questions, mode, repeats)
                if mode != "semantic":  # the same questions with FTS5 scoring every match (keyword_budget 0)
                    figures[f"{mode}_every_match_{name}_p50_ms"], figures[f"{mode}_every_match_{name}_p95_ms"] = (
                        timings(every, questions, mode, repeats))
        figures["keyword_top10_kept"], figures["keyword_top100_kept"] = keyword_agreement(searcher, every)
        started = time.perf_counter()
        searcher.catalogue()
        figures["catalogue_s"] = time.perf_counter() - started
        started = time.perf_counter()
        searcher.practice_map()
        figures["map_s"] = time.perf_counter() - started
    finally:
        searcher.close()
        every.close()

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "KB_INDEX_DIR": str(index), "KB_CORPUS_DIR": str(corpus)}
    figures.update(serve_side(env, repeats))
    for mode in ("keyword", "hybrid"):
        figures[f"kb_search_{mode}_s"], figures[f"kb_search_{mode}_rss_mb"], _ = _shared.kb_command(
            "search", COMMON[0], "--mode", mode, env=env)
    figures["kb_check_s"], figures["kb_check_rss_mb"], _ = _shared.kb_command("check", env=env)
    if uri:
        figures.update(milvus_side(settings, real, work, repeats, uri))
    # One file changed, indexed through kb's pipeline again (the drawn vectors, as the build): first with
    # SQLite's integrity check (as after anything but kb wrote the database: the page's first visit saves
    # the theme register), then another file, where nothing but that run wrote it since.
    (index / SOUND_NAME).unlink(missing_ok=True)
    for figure, changed in zip(("one_file_index_checked_s", "one_file_index_s"),
                               sorted((corpus / "laws" / "scale").rglob("*.md"))[:2]):
        changed.write_text(changed.read_text(encoding="utf-8") + "\n\n本法自公布之日起施行。\n", encoding="utf-8")
        started = time.perf_counter()
        index_paths(settings, embedder=drawn)
        figures[figure] = time.perf_counter() - started
        if uri:  # and its publish: only the changed file's chunks and terms (the second's is kept)
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
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it; where it holds an index "
                        "already, measure that one (one size; the one-file change edits it)")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.chunks, args.repeats = [3_000], 1
    if args.keep and len(args.chunks) > 1:
        parser.error("--keep takes one size")
    results = {}
    for size in args.chunks:  # each size printed when done: a 10⁶ run takes long
        with tempfile.TemporaryDirectory() as scratch:
            work = args.keep or Path(scratch)
            work.mkdir(parents=True, exist_ok=True)
            server, uri = _shared.lite_server(Path(scratch) / "milvus") if not args.no_milvus else (None, None)
            try:
                figures = results[size] = run(size, work, args.repeats, uri)
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
