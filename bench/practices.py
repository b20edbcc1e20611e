"""Practices in other offices' layouts: the detector against the development set's gold, and
precedent search over the bundled corpus with the development documents added.

tests/data/practices/ holds 16 documents in 11 layouts (.md, .txt, .docx, .pdf) written for kb in the
manner of real CPPCC texts, gold.json (each document's practices: unit and a phrase inside it) and
questions.tsv (54 staff questions, 18 of them sharing few words with the text). Search is scored in
the order kb shows hits (sections, strong before weak) and in its flat fused ranking: R@1 is the
share of questions whose first hit is from the right document, R@3 among the first three.

    python bench/practices.py            # the bundled corpus + the 16 documents (about 2 minutes)
    python bench/practices.py --smoke    # the 16 documents alone, 12 questions (CI)
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import tempfile
import time
from pathlib import Path

import _shared

from kb.config import Settings
from kb.evaluate import score_practices
from kb.index.indexer import index_paths
from kb.model.embedder import Embedder
from kb.search import Searcher

ROOT = _shared.ROOT
DATA = ROOT / "tests" / "data" / "practices"


def detection() -> dict:
    gold = json.loads((DATA / "gold.json").read_text(encoding="utf-8"))
    scores = score_practices(DATA / "docs", gold)
    return {"gold": scores.gold, "found": scores.found, "right": scores.right, "precision": scores.precision,
            "recall": scores.recall, "misses": scores.misses, "wrong": scores.wrong}


def questions(limit: int | None = None) -> list[dict]:
    with open(DATA / "questions.tsv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return rows[:: max(1, len(rows) // limit)][:limit] if limit else rows


def search(with_bundled: bool, asked: list[dict]) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        corpus = Path(folder) / "corpus"
        if with_bundled:
            shutil.copytree(ROOT / "corpus", corpus)
        shutil.copytree(DATA / "docs", corpus / "devset")
        settings = Settings(corpus_dir=corpus, index_dir=Path(folder) / "index")
        embedder = Embedder(settings)
        started = time.perf_counter()
        report = index_paths(settings, embedder=embedder)
        indexed = time.perf_counter() - started
        searcher = Searcher(settings, embedder)
        counts = {"shown_r1": 0, "shown_r3": 0, "flat_r1": 0, "flat_r3": 0, "first_weak": 0,
                  "few_shown_r1": 0, "few": 0}
        misses = []
        for row in asked:
            want = f"devset/{row['doc']}"
            shown = [h.doc_id for h in searcher.search(row["query"], k=10, grouped=True).hits]
            flat = [h.doc_id for h in searcher.search(row["query"], k=10).hits]
            counts["shown_r1"] += shown[:1] == [want]
            counts["shown_r3"] += want in shown[:3]
            counts["flat_r1"] += flat[:1] == [want]
            counts["flat_r3"] += want in flat[:3]
            few = row["few_shared"] == "1"
            counts["few"] += few
            counts["few_shown_r1"] += few and shown[:1] == [want]
            if shown[:1] != [want]:
                misses.append(f"{row['query']} → {shown[0] if shown else '—'} (want {want})")
        searcher.close()
    total = len(asked)
    return {"documents": report.added, "index_seconds": indexed, "questions": total,
            **{name: counts[name] / total for name in ("shown_r1", "shown_r3", "flat_r1", "flat_r3")},
            "few_shared": counts["few"], "few_shared_shown_r1": counts["few_shown_r1"] / max(counts["few"], 1),
            "misses": misses}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="the 16 documents alone and 12 questions (CI)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    found = detection()
    print(f"practices: {found['right']} right of {found['found']} found, {found['gold']} in the gold file; "
          f"precision {found['precision']:.3f}, recall {found['recall']:.3f}")
    for line in found["wrong"]:
        print(f"  wrong: {line}")
    for line in found["misses"]:
        print(f"  missed: {line}")
    result = search(not args.smoke, questions(12 if args.smoke else None))
    corpus = "the 16 documents" if args.smoke else "the bundled corpus (28 documents) + the 16 documents"
    print(f"\nsearch over {corpus}, {result['questions']} questions ({result['few_shared']} sharing few words)")
    print("order         R@1     R@3")
    print(f"shown       {result['shown_r1']:.3f}   {result['shown_r3']:.3f}")
    print(f"flat        {result['flat_r1']:.3f}   {result['flat_r3']:.3f}")
    print(f"shown R@1 on the questions sharing few words: {result['few_shared_shown_r1']:.3f}")
    for line in result["misses"]:
        print(f"  not first: {line}")
    if args.json:
        args.json.write_text(json.dumps({"detection": found, "search": result}, ensure_ascii=False, indent=2),
                             encoding="utf-8")


if __name__ == "__main__":
    main()
