"""Retrieval quality on the STARD dev split: kb's keyword, semantic and hybrid modes beside bm25s
over the same jieba tokens (an outside reference), then the sweeps that chose the defaults:
fusion weights and RRF k on the full corpus, chunk size on a paired sub-corpus.

    python bench/quality.py                       # full corpus (its eval index is cached) + sweeps
    python bench/quality.py --no-chunk-sweep      # skip the re-embedding sweep (about 15 minutes)
    python bench/quality.py --smoke               # 100 distractors, 10 queries, one chunk size (CI)

Dev split only: the held-back train queries are never read.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import _shared

from kb.config import Settings
from kb.evaluate import CUTOFFS, ModeScores, documents_of, evaluate, prepare, score
from kb.index.store import Store
from kb.model.embedder import Embedder
from kb.search import Searcher, convex, rrf

FUSION_GRID = [(s, w, k) for k in (20, 60, 120) for s, w in ((1, 0.5), (1, 0.75), (1, 1), (0.75, 1), (0.5, 1))]
# Convex fusion of per-query min-max normalised scores: the semantic share of the weights.
CONVEX_GRID = (0.3, 0.4, 0.5, 0.6, 0.7)
CHUNK_SIZES = (120, 240, 360, 720)


def kb_modes(settings: Settings, embedder: Embedder, folder: Path):
    """Each mode through the real Searcher; the single-mode chunk rankings are kept for the fusion sweep."""
    judged_set = prepare(settings, *_shared.files(folder), embedder)
    searcher = Searcher(judged_set.settings, embedder)
    embedder.embed_query("预热")
    rows, chunk_lists, owner = [], {}, {}
    try:
        for mode in ("keyword", "semantic", "hybrid"):
            ranked, seconds = {}, 0.0
            for qid in judged_set.asked:
                depth = max(CUTOFFS) if mode == "hybrid" else max(settings.candidates, max(CUTOFFS))
                response = searcher.search(judged_set.questions[qid], mode=mode, k=depth)
                seconds += response.seconds
                ranked[qid] = documents_of(response)
                if mode != "hybrid":
                    chunk_lists[(mode, qid)] = [(hit.chunk_id, (hit.semantic or hit.keyword).score)
                                                for hit in response.hits][: settings.candidates]
                    owner.update((hit.chunk_id, hit.doc_id) for hit in response.hits)
            rows.append(score(mode, ranked, judged_set.judged, seconds))
    finally:
        searcher.close()
    return judged_set, rows, chunk_lists, owner


def fusion_sweep(judged_set, chunk_lists, owner) -> list[tuple[str, float, float, int | None, ModeScores]]:
    """Both fusions over the same two stored rankings: (fusion, semantic w, keyword w, rrf k, scores)."""
    def ranked_by(fuse):
        ranked = {}
        for qid in judged_set.asked:
            fused = fuse(chunk_lists[("semantic", qid)], chunk_lists[("keyword", qid)])
            ranked[qid] = list(dict.fromkeys(owner[chunk_id] for chunk_id, _ in fused))[: max(CUTOFFS)]
        return score("hybrid", ranked, judged_set.judged)

    results = []
    for semantic_weight, keyword_weight, k in FUSION_GRID:
        weights = {"semantic": semantic_weight, "keyword": keyword_weight}
        results.append(("rrf", semantic_weight, keyword_weight, k, ranked_by(
            lambda sem, key, weights=weights, k=k: rrf(
                {"semantic": [i for i, _ in sem], "keyword": [i for i, _ in key]}, weights, k))))
    for share in CONVEX_GRID:
        weights = {"semantic": share, "keyword": round(1 - share, 2)}
        results.append(("convex", share, weights["keyword"], None, ranked_by(
            lambda sem, key, weights=weights: convex({"semantic": sem, "keyword": key}, weights))))
    return results


def chunk_sweep(embedder: Embedder, sizes, distractors: int, queries: int, index_dir: Path | None):
    results = []
    with tempfile.TemporaryDirectory() as work:
        folder = _shared.write_subset(Path(work) / f"stard-dev-sub{distractors}", distractors, queries)
        for size in sizes:
            settings = Settings(index_dir=index_dir or Path(work) / "index", chunk_size=size,
                                chunk_overlap=size // 6)
            report = evaluate(settings, *_shared.files(folder), embedder=embedder)
            store = Store(Path(report.index_dir), create=False)
            try:
                chunks = store.chunk_count()
            finally:
                store.close()
            results.append((size, size // 6, chunks, report))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-chunk-sweep", action="store_true")
    parser.add_argument("--distractors", type=int, default=5000, help="sub-corpus size for the chunk sweep")
    parser.add_argument("--index-dir", type=Path, help="where eval indexes live (default: the configured index)")
    parser.add_argument("--json", type=Path, help="also write every number here")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    settings = Settings() if args.index_dir is None else Settings(index_dir=args.index_dir)
    embedder = Embedder(settings)
    sizes = CHUNK_SIZES
    work = tempfile.TemporaryDirectory()
    folder = _shared.STARD
    if args.smoke:
        folder = _shared.write_subset(Path(work.name) / "stard-smoke", 100, 10)
        settings = Settings(index_dir=Path(work.name) / "index")
        sizes, args.distractors = (120,), 100

    judged_set, rows, chunk_lists, owner = kb_modes(settings, embedder, folder)
    reference = _shared.bm25s_reference(folder, judged_set)
    sweep = fusion_sweep(judged_set, chunk_lists, owner)
    chunks = [] if args.no_chunk_sweep else chunk_sweep(
        embedder, sizes, args.distractors, len(judged_set.asked), None if args.smoke else args.index_dir)
    work.cleanup()

    print(f"STARD dev: {judged_set.documents} documents, {len(judged_set.asked)} queries")
    print(f"{'mode':<9} {'nDCG@10':>8} {'MRR@10':>8} {'R@10':>8} {'R@100':>8} {'ms/query':>9}")
    for row in [*rows, reference]:
        print(f"{row.mode:<9} {row.ndcg_at_10:>8.4f} {row.mrr_at_10:>8.4f} {row.recall_at_10:>8.4f}"
              f" {row.recall_at_100:>8.4f} {row.seconds_per_query * 1000:>9.1f}")
    by_mode = {row.mode: row.ndcg_at_10 for row in rows}
    best_single = max(by_mode["keyword"], by_mode["semantic"])
    print(f"hybrid / bm25s = {by_mode['hybrid'] / reference.ndcg_at_10:.3f} (target ≥ 1.25, nDCG@10 ≥ 0.39); "
          f"hybrid − best single mode = {by_mode['hybrid'] - best_single:+.4f} (target ≥ +0.01)")

    print(f"\nfusion sweep over the two lists above (default: {settings.fusion}, weights "
          f"{settings.semantic_weight:g} / {settings.keyword_weight:g}, rrf k {settings.rrf_k})")
    print(f"{'fusion':<7} {'semantic w':>10} {'keyword w':>10} {'rrf k':>6} {'nDCG@10':>8} {'R@100':>8}")
    for fusion, semantic_weight, keyword_weight, k, row in sweep:
        print(f"{fusion:<7} {semantic_weight:>10} {keyword_weight:>10} {k if k else '':>6} {row.ndcg_at_10:>8.4f}"
              f" {row.recall_at_100:>8.4f}")

    if chunks:
        print(f"\nchunk size sweep ({chunks[0][3].documents} documents: every relevant article and "
              f"{args.distractors} random others; overlap = size / 6)")
        print(f"{'size':>5} {'overlap':>8} {'chunks':>7} {'keyword':>8} {'semantic':>9} {'hybrid':>8}")
        for size, overlap, count, report in chunks:
            ndcg = {s.mode: s.ndcg_at_10 for s in report.scores}
            print(f"{size:>5} {overlap:>8} {count:>7} {ndcg['keyword']:>8.4f}"
                  f" {ndcg['semantic']:>9.4f} {ndcg['hybrid']:>8.4f}")

    if args.json:
        args.json.write_text(json.dumps({
            "documents": judged_set.documents, "queries": len(judged_set.asked),
            "modes": [row.model_dump() for row in [*rows, reference]],
            "fusion": [{"fusion": f, "semantic_weight": s, "keyword_weight": w, "rrf_k": k, **row.model_dump()}
                       for f, s, w, k, row in sweep],
            "chunk_sizes": [{"size": size, "overlap": overlap, "chunks": count,
                             "scores": [s.model_dump() for s in report.scores]}
                            for size, overlap, count, report in chunks],
        }, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
