"""kb beside the ways peers search, on the same STARD dev corpus and queries, in one run:

- a Langchain-Chatchat-style keyword path: rank_bm25's BM25Okapi over jieba.lcut_for_search tokens,
  rebuilt from the texts on every query, as its ensemble retriever does (its tracker's complaint
  about slow keyword search). Its ranking equals one BM25Okapi built once, so quality comes from
  that over every query and latency from --rebuild-queries full rebuilds;
- bm25s over kb's tokens (the dataset's published reference);
- txtai's hybrid mode (its BM25 over Unicode word-boundary tokens, which for Chinese are single
  characters, fused with dense search) over the same model: fed the vectors kb stored for the same
  chunk texts and kb's query embeddings, so only the retrieval differs;
- kb keyword, semantic and hybrid through the real Searcher.

    python bench/peers.py            # full corpus (the cached eval index), 308 dev queries
    python bench/peers.py --smoke    # 100 distractors, 10 queries (CI)
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import _shared
import jieba
from quality import kb_modes
from rank_bm25 import BM25Okapi

from kb.config import Settings
from kb.evaluate import CUTOFFS, ModeScores, score
from kb.model.embedder import Embedder


def chatchat_tokens(text: str) -> list[str]:
    return [token for token in jieba.lcut_for_search(text) if token.strip()]


def chatchat_style(folder: Path, judged_set, rebuild_queries: int) -> ModeScores:
    corpus = _shared.rows(folder)
    ids = [row["_id"] for row in corpus]
    texts = [f"{row.get('title', '')}\n{row['text']}" for row in corpus]
    depth = min(max(CUTOFFS), len(ids))

    def top(bm25: BM25Okapi, question: str) -> list[str]:
        scores = bm25.get_scores(chatchat_tokens(question))
        return [ids[i] for i in scores.argsort()[::-1][:depth]]

    seconds = 0.0
    timed = judged_set.asked[:rebuild_queries]
    for qid in timed:
        started = time.perf_counter()
        top(BM25Okapi([chatchat_tokens(text) for text in texts]), judged_set.questions[qid])
        seconds += time.perf_counter() - started
    built_once = BM25Okapi([chatchat_tokens(text) for text in texts])
    ranked = {qid: top(built_once, judged_set.questions[qid]) for qid in judged_set.asked}
    result = score("chatchat-style BM25", ranked, judged_set.judged)
    return result.model_copy(update={"seconds_per_query": seconds / max(len(timed), 1)})


def txtai_hybrid(judged_set, embedder: Embedder) -> ModeScores:
    import numpy as np
    from txtai import Embeddings

    from kb.index.prepare import embed_text_from_context
    from kb.index.store import Store

    store = Store(judged_set.settings.index_dir, create=False)
    try:
        manifest = store.manifest()
        ids, vectors = store.chunk_vectors(manifest.model.key(), manifest.model.dimension)
        rows = {chunk_id: (doc_id, embed_text_from_context(context, text)) for chunk_id, doc_id, context, text
                in store.db.execute("SELECT chunk_id, doc_id, context, text FROM chunks")}
    finally:
        store.close()
    stored = {rows[int(chunk_id)][1]: vector for chunk_id, vector in zip(ids, vectors)}

    def transform(texts: list[str]) -> np.ndarray:
        return np.vstack([stored[t.removeprefix("passage: ")] if t.startswith("passage: ")
                          else embedder.embed_query(t.removeprefix("query: ")) for t in texts])

    index = Embeddings(method="external", transform=transform, hybrid=True, content=False,
                       instructions={"query": "query: ", "data": "passage: "})
    index.index((int(chunk_id), rows[int(chunk_id)][1], None) for chunk_id in ids)
    depth = min(max(CUTOFFS), len(ids))
    ranked, seconds = {}, 0.0
    for qid in judged_set.asked:
        started = time.perf_counter()
        found = index.search(judged_set.questions[qid], depth)
        seconds += time.perf_counter() - started
        ranked[qid] = list(dict.fromkeys(rows[int(chunk_id)][0] for chunk_id, _ in found))
    return score("txtai hybrid", ranked, judged_set.judged, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rebuild-queries", type=int, default=3, help="queries timed with a full BM25 rebuild")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    settings = Settings()
    work = tempfile.TemporaryDirectory()
    folder = _shared.STARD
    if args.smoke:
        folder = _shared.write_subset(Path(work.name) / "stard-smoke", 100, 10)
        settings = Settings(index_dir=Path(work.name) / "index")
        args.rebuild_queries = 1
    embedder = Embedder(settings)
    judged_set, kb_rows, _, _ = kb_modes(settings, embedder, folder)
    rows = [chatchat_style(folder, judged_set, args.rebuild_queries), _shared.bm25s_reference(folder, judged_set),
            txtai_hybrid(judged_set, embedder), *kb_rows]
    work.cleanup()

    hybrid = next(row for row in rows if row.mode == "hybrid")
    print(f"STARD dev: {judged_set.documents} documents, {len(judged_set.asked)} queries; "
          f"ratios are to kb hybrid")
    print(f"{'system':<22} {'nDCG@10':>8} {'R@100':>8} {'ms/query':>10} {'nDCG ×':>7} {'time ×':>8}")
    for row in rows:
        name = row.mode if row.mode.startswith(("chatchat", "bm25s", "txtai")) else f"kb {row.mode}"
        print(f"{name:<22} {row.ndcg_at_10:>8.4f} {row.recall_at_100:>8.4f} {row.seconds_per_query * 1000:>10.1f}"
              f" {row.ndcg_at_10 / hybrid.ndcg_at_10:>7.2f} {row.seconds_per_query / hybrid.seconds_per_query:>8.2f}")
    print(f"chatchat-style time: mean of {min(args.rebuild_queries, len(judged_set.asked))} queries, "
          "each rebuilding BM25 from the texts")
    if args.json:
        args.json.write_text(json.dumps({"documents": judged_set.documents, "queries": len(judged_set.asked),
                                         "rows": [row.model_dump() for row in rows]}, indent=1))


if __name__ == "__main__":
    main()
