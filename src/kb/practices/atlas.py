"""A map of the practices: their embeddings laid out in two dimensions, so that practices drawn
close together are practices that read alike."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel

from kb.practices.records import Catalogue


class MapPoint(BaseModel):
    practice_id: str
    unit: str
    title: str
    theme: str
    x: float
    y: float


def practice_map(catalogue: Catalogue) -> list[MapPoint]:
    """t-SNE keeps each practice's nearest neighbours near it, which is what a reader looks for
    here; the layout is seeded, so the same catalogue always gives the same map."""
    vectors = catalogue.vectors
    count = len(catalogue.practices)
    if count == 0 or not len(vectors):
        return []
    if count < 4:
        # Too few for neighbourhoods: the two main directions of difference are the map.
        centred = vectors - vectors.mean(axis=0)
        _, _, directions = np.linalg.svd(centred, full_matrices=False)
        layout = centred @ directions[:2].T if count > 1 else np.zeros((1, 2))
        layout = np.pad(layout, ((0, 0), (0, 2 - layout.shape[1])))
    else:
        from sklearn.manifold import TSNE

        layout = TSNE(n_components=2, perplexity=min(30.0, (count - 1) / 3), init="pca", metric="cosine",
                      random_state=0).fit_transform(vectors.astype(np.float64))
    return [MapPoint(practice_id=p.practice_id, unit=p.unit, title=p.title, theme=p.theme,
                     x=round(float(x), 3), y=round(float(y), 3))
            for p, (x, y) in zip(catalogue.practices, layout)]
