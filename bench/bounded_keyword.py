"""What bounding the keyword work (kb.search.bounded, the `keyword_budget` setting) does to quality, on
the STARD dev split: keyword-mode nDCG@10 and R@100 with FTS5 over every match (budget 0), with the
default budget, and with the budget that takes the same share of this index's postings as the default
takes of 10⁶ passages (bench/scale_path.py), so that STARD's questions are bounded as a province's
common-word questions are there. For each: how many questions were bounded, and how many of them
return another top 100 than FTS5's (a question whose keyword top 100, scores included, is FTS5's has
the same hybrid ranking too: fusion reads nothing else of the keyword side).

The passages' vectors are drawn near real ones (keyword mode never reads them), so the index builds in
about a minute instead of the real eval index's 48.

    python bench/bounded_keyword.py
    python bench/bounded_keyword.py --smoke     # 300 distractors, 20 questions (CI)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import _shared

from kb.config import Settings
from kb.evaluate import documents_of, prepare, score
from kb.index.store import Store
from kb.model.embedder import Embedder
from kb.search import Searcher
from kb.search.bounded import plan
from kb.search.lexicon import expanded
from kb.tokenize import tokenize

# The passages of bench/scale_path.py's 10⁶ index, whose share of postings the scaled budget keeps.
MILLION = 1_080_587


def rankings(settings: Settings, embedder: Embedder, judged_set) -> tuple[dict, dict, float]:
    """Per question: the documents in keyword mode's order, and the top 100 chunks with their scores."""
    searcher = Searcher(settings, embedder)
    documents, chunks, seconds = {}, {}, 0.0
    try:
        for qid in judged_set.asked:
            started = time.perf_counter()
            response = searcher.search(judged_set.questions[qid], mode="keyword", k=100)
            seconds += time.perf_counter() - started
            documents[qid] = documents_of(response)
            chunks[qid] = [(hit.chunk_id, round(hit.score, 9)) for hit in response.hits]
    finally:
        searcher.close()
    return documents, chunks, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kb-bounded-") as work:
        folder = _shared.write_subset(Path(work) / "stard", 300, 20) if args.smoke else _shared.STARD
        # A throwaway index folder: the drawn vectors carry the real model's identity, and must never
        # land in a real index's eval cache.
        settings = Settings(index_dir=Path(work) / "index")
        real = Embedder(settings)
        corpus_rows = _shared.rows(folder)
        drawn = _shared.DrawnVectors(real, [row["text"][:400] for row in corpus_rows[:200]])
        started = time.perf_counter()
        judged_set = prepare(settings, *_shared.files(folder), drawn)
        print(f"{judged_set.documents} documents, {len(judged_set.asked)} questions; indexed in "
              f"{time.perf_counter() - started:.0f} s (vectors drawn, not embedded)")
        store = Store(judged_set.settings.index_dir, create=False)
        passages = store.chunk_count()
        frequencies = {qid: store.document_frequencies(
            list(dict.fromkeys(t.lower() for t in expanded(tokenize(judged_set.questions[qid])))))
            for qid in judged_set.asked}
        store.close()
        default = Settings.model_fields["keyword_budget"].default
        scaled = max(1, round(default * passages / MILLION))
        exact_documents, exact_chunks, exact_seconds = rankings(
            judged_set.settings.model_copy(update={"keyword_budget": 0}), real, judged_set)
        print(f"{passages} passages; budgets: 0 (every match), {default} (default), {scaled} (the default's share"
              f" at {MILLION} passages)")
        print(f"{'budget':>8} {'nDCG@10':>8} {'R@100':>7} {'bounded':>8} {'other top 100':>14} {'ms/query':>9}")
        exact = score("keyword", exact_documents, judged_set.judged)
        n = len(judged_set.asked)
        print(f"{0:>8} {exact.ndcg_at_10:8.4f} {exact.recall_at_100:7.4f} {0:>8} {0:>14} {exact_seconds / n * 1000:9.1f}")
        for budget in (default, scaled):
            documents, chunks, seconds = rankings(
                judged_set.settings.model_copy(update={"keyword_budget": budget}), real, judged_set)
            scores = score("keyword", documents, judged_set.judged)
            bounded = sum(plan(frequencies[qid], budget) is not None for qid in judged_set.asked)
            other = sum(chunks[qid] != exact_chunks[qid] for qid in judged_set.asked)
            print(f"{budget:>8} {scores.ndcg_at_10:8.4f} {scores.recall_at_100:7.4f} {bounded:>8} {other:>14}"
                  f" {seconds / n * 1000:9.1f}")


if __name__ == "__main__":
    main()
