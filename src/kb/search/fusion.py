"""Combining rankings whose scores are on scales that cannot be added (cosine vs BM25): by
reciprocal rank, or by a convex mix of scores normalised per query (min-max over each retriever's
candidates). bench/quality.py compares the two on STARD dev; `fusion` in Settings picks one."""

from __future__ import annotations

FUSIONS = ("convex", "rrf")


def rrf(rankings: dict[str, list[int]], weights: dict[str, float], k: int) -> list[tuple[int, float]]:
    scores: dict[int, float] = {}
    for name, ranked in rankings.items():
        weight = weights.get(name, 1.0)
        for rank, item in enumerate(ranked, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))


def convex(scored: dict[str, list[tuple[int, float]]], weights: dict[str, float]) -> list[tuple[int, float]]:
    """Σ weight · (score − min) / (max − min) over the retrievers, divided by the weights' sum, so
    a fused score lies in [0, 1]; an item a retriever did not return gets 0 from it. Unlike RRF it
    keeps how far apart the candidates were, not only their order."""
    total = sum(weights.get(name, 1.0) for name in scored) or 1.0
    fused: dict[int, float] = {}
    for name, pairs in scored.items():
        if not pairs:
            continue
        weight = weights.get(name, 1.0) / total
        values = [score for _, score in pairs]
        low, high = min(values), max(values)
        for item, score in pairs:
            share = (score - low) / (high - low) if high > low else 1.0
            fused[item] = fused.get(item, 0.0) + weight * share
    return sorted(fused.items(), key=lambda pair: (-pair[1], pair[0]))
