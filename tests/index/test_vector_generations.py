"""A generation that changes a few files updates the last generation's vector index instead of building
one afresh (at 10⁶ chunks a fresh inverted file reads every vector and trains for minutes), and the
updated index holds exactly the chunks SQLite holds, as a fresh build would."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

import kb.index.vectors as vectors_module
from kb.config import Settings
from kb.index.indexer import index_paths
from kb.index.integrity import check_index
from kb.index.store import Store
from kb.index.vectors import VectorIndex, vector_file
from kb.search import Searcher

TOPICS = ["委员工作站", "书香政协", "法律咨询", "民主监督", "提案办理", "社情民意", "界别协商", "乡村振兴",
          "营商环境", "生态保护", "文史资料", "港澳委员"]


@pytest.fixture
def settings(tmp_path, monkeypatch):
    # An inverted file from 10 vectors, so that a corpus of a few files takes the path of 10⁶ chunks.
    monkeypatch.setattr(vectors_module, "IVF_FROM", 10)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n, topic in enumerate(TOPICS):
        (corpus / f"{n:02d}.md").write_text(
            f"# {topic}\n\n某市政协围绕{topic}开展专题调研，形成调研报告并向党委政府提出了务实管用的建议。\n\n"
            f"委员们就{topic}走访基层一线，召开座谈会听取群众意见，梳理出一批急需解决的问题。\n\n"
            f"相关部门对{topic}的建议逐条研究办理，并在下一次协商会上通报了落实的进展情况。\n",
            encoding="utf-8")
    return Settings(corpus_dir=corpus, index_dir=tmp_path / "index", chunk_size=50, chunk_overlap=0)


def _loaded(settings: Settings, generation: int) -> VectorIndex:
    store = Store(settings.index_dir, create=False)
    try:
        factory = store.manifest().vector_index
    finally:
        store.close()
    return VectorIndex.load(vector_file(settings.index_dir, generation), factory)


def _centroids(index: VectorIndex) -> np.ndarray:
    quantizer = faiss.downcast_index(faiss.extract_index_ivf(index.index).quantizer)
    return quantizer.reconstruct_n(0, quantizer.ntotal)


def test_one_changed_file_updates_the_last_generations_vectors(settings, embedder):
    first = index_paths(settings, embedder=embedder)
    built = _loaded(settings, first.generation)
    assert built.factory.startswith("IVF") and built.factory.endswith(",Flat")

    changed = settings.corpus_dir / "03.md"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n民主监督小组跟踪黑土地保护条例的落实情况。\n",
                       encoding="utf-8")
    (settings.corpus_dir / "07.md").unlink()
    second = index_paths(settings, embedder=embedder)
    assert (second.changed, second.removed, second.generation) == (1, 1, 2)
    updated = _loaded(settings, second.generation)
    # The same trained lists: updated, not trained again.
    assert np.array_equal(_centroids(updated), _centroids(built))
    assert check_index(settings).ok  # exactly the chunks SQLite holds, no stale vector of 07.md
    store = Store(settings.index_dir, create=False)
    try:
        ids, stored = store.chunk_vectors(store.manifest().model.key(), updated.dimension)
    finally:
        store.close()
    assert np.array_equal(np.sort(updated.ids()), ids)
    assert np.allclose(updated.index.reconstruct_batch(ids), stored)

    searcher = Searcher(settings, embedder)
    try:
        hits = searcher.search("黑土地保护条例的落实", mode="semantic", k=3).hits
        assert hits[0].doc_id == "03.md"
        assert "07.md" not in {h.doc_id for h in searcher.search("乡村振兴", mode="semantic", k=20).hits}
    finally:
        searcher.close()


def test_a_rebuild_and_an_earlier_versions_file_are_built_afresh(settings, embedder):
    first = index_paths(settings, embedder=embedder)
    lists = faiss.extract_index_ivf(_loaded(settings, first.generation).index).nlist
    rebuilt = index_paths(settings, embedder=embedder, rebuild=True)
    assert rebuilt.generation == 2
    assert check_index(settings).ok

    # A file of an earlier version (IDMap2 over the inverted file) cannot remove vectors: its next
    # generation builds the native form.
    store = Store(settings.index_dir, create=False)
    try:
        manifest = store.manifest()
        ids, stored = store.chunk_vectors(manifest.model.key(), manifest.model.dimension)
        old_factory = f"IDMap2,IVF{lists},Flat"
        VectorIndex.build(ids, stored, old_factory).save(vector_file(settings.index_dir, manifest.generation))
        store.write_manifest(manifest.model_copy(update={"vector_index": old_factory}))
    finally:
        store.close()
    assert check_index(settings).ok
    (settings.corpus_dir / "00.md").unlink()
    third = index_paths(settings, embedder=embedder)
    assert _loaded(settings, third.generation).factory.startswith("IVF")
    assert check_index(settings).ok
