"""Retrieval quality per embedding precision and runtime on the STARD dev split: does bf16 or int8
(torch's, or ONNX Runtime's per-channel int8) lose nDCG@10 against fp32? Paired on one sub-corpus:
every relevant article plus a fixed random sample of distractors, each variant embedding the same
texts into its own eval index (fp32 is one identity on either runtime, so it is embedded once).

    python bench/precision_quality.py                    # 5,000 distractors, all 308 queries
    python bench/precision_quality.py --smoke            # 200 distractors, 20 queries (CI)

A sub-corpus is easier than the full 58,940 articles, so absolute scores are higher than in
README's table; the differences between precisions are what this measures.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from _shared import write_subset

from kb.config import Settings
from kb.evaluate import evaluate

VARIANTS = ("auto/fp32", "torch/bf16", "torch/int8", "onnx/int8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--distractors", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=308)
    parser.add_argument("--variant", choices=VARIANTS, action="append", help="only these (default: all)")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--index-dir", type=Path, default=None, help="keep the eval indexes here (default: temp)")
    args = parser.parse_args()
    if args.smoke:
        args.distractors, args.queries = 200, 20
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work) / f"stard-dev-sub{args.distractors}"
        write_subset(folder, args.distractors, args.queries)
        index_dir = args.index_dir or Path(work) / "index"
        rows = []
        for variant in args.variant or VARIANTS:
            runtime, precision = variant.split("/")
            settings = Settings(index_dir=index_dir, precision=precision, runtime=runtime)
            report = evaluate(settings, folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels",
                              ["semantic", "hybrid"])
            embed_rate = report.index.chunks_embedded / max(report.index.embedding_seconds, 1e-9)
            rows.append((variant, report, embed_rate))
    first = rows[0][1]
    print(f"{first.documents} documents ({args.distractors} random distractors + all relevant), {first.queries} queries")
    print(f"{'variant':<11} {'semantic nDCG@10':>17} {'hybrid nDCG@10':>15} {'Δ semantic':>11} {'embed p/s':>10}")
    base = {s.mode: s.ndcg_at_10 for s in first.scores}
    for precision, report, rate in rows:
        scores = {s.mode: s.ndcg_at_10 for s in report.scores}
        print(f"{precision:<11} {scores['semantic']:>17.4f} {scores['hybrid']:>15.4f}"
              f" {scores['semantic'] - base['semantic']:>+11.4f} {rate:>10.1f}")
    if args.json:
        args.json.write_text(json.dumps([{"variant": precision, "embed_passages_s": rate,
                                          "scores": [s.model_dump() for s in report.scores]}
                                         for precision, report, rate in rows], indent=1))


if __name__ == "__main__":
    main()
