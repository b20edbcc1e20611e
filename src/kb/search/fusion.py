"""Combining rankings whose scores are on scales that cannot be added (cosine vs BM25)."""

from __future__ import annotations


def rrf(rankings: dict[str, list[int]], weights: dict[str, float], k: int) -> list[tuple[int, float]]:
    scores: dict[int, float] = {}
    for name, ranked in rankings.items():
        weight = weights.get(name, 1.0)
        for rank, item in enumerate(ranked, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))
