"""Incremental indexing: only what changed is embedded, removed files disappear, a bad file
keeps its last good version, and a broken or busy index is a clear error, never corruption."""

from __future__ import annotations

import pytest

from kb.config import Settings
from kb.index.indexer import IndexMismatchError, index_paths
from kb.index.lock import IndexBusyError, WriterLock
from kb.index.store import Store
from kb.index.vectors import VectorIndex, vector_file
from kb.search import Searcher

DOCS = {
    "a.md": "# 委员工作站\n\n南岗区政协在街道建立委员工作站，委员定期接待群众。\n",
    "b.md": "# 书香政协\n\n委员读书分享栏目每周更新，委员在 APP 上交流读书心得。\n",
    "notes/c.txt": "律师委员扫码提供免费公益法律咨询。\n",
}


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "corpus"
    for name, text in DOCS.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def settings(corpus, tmp_path):
    return Settings(corpus_dir=corpus, index_dir=tmp_path / "index", chunk_size=100, chunk_overlap=20)


def _doc_ids(settings) -> list[str]:
    store = Store(settings.index_dir, create=False)
    try:
        return [d["doc_id"] for d in store.documents()]
    finally:
        store.close()


def test_add_change_rename_remove(settings, corpus, embedder):
    first = index_paths(settings, embedder=embedder)
    assert (first.added, first.generation) == (3, 1)
    assert _doc_ids(settings) == ["a.md", "b.md", "notes/c.txt"]

    again = index_paths(settings, embedder=embedder)
    assert (again.unchanged, again.chunks_embedded, again.generation) == (3, 0, 1)

    added = "工作站还成立了党支部，" * 7 + "把党的领导贯穿委员履职全过程。"
    (corpus / "a.md").write_text(DOCS["a.md"] + "\n" + added + "\n", encoding="utf-8")
    (corpus / "b.md").rename(corpus / "b2.md")
    (corpus / "notes" / "c.txt").unlink()
    report = index_paths(settings, embedder=embedder)
    assert (report.changed, report.renamed, report.removed, report.unchanged) == (1, 1, 1, 0)
    # Only the new paragraph is embedded: a.md's first chunk and the renamed file come from the cache.
    assert (report.chunks_embedded, report.chunks_reused) == (1, 2)
    assert _doc_ids(settings) == ["a.md", "b2.md"]
    assert vector_file(settings.index_dir, report.generation).exists()
    assert not vector_file(settings.index_dir, report.generation - 1).exists()


def test_indexing_one_path_leaves_the_rest(settings, corpus, embedder):
    index_paths(settings, embedder=embedder)
    (corpus / "a.md").unlink()
    report = index_paths(settings, [corpus / "notes"], embedder=embedder)
    assert report.removed == 0
    assert "a.md" in _doc_ids(settings)


def test_a_broken_file_keeps_its_last_good_version(settings, corpus, embedder):
    index_paths(settings, embedder=embedder)
    (corpus / "b.md").write_bytes(b"\x00\x00garbage")
    report = index_paths(settings, embedder=embedder)
    assert len(report.failed) == 1 and "b.md" in report.failed[0].reason
    assert "b.md" in _doc_ids(settings)
    searcher = Searcher(settings, embedder)
    assert any(h.doc_id == "b.md" for h in searcher.search("读书分享", k=3).hits)
    searcher.close()


def test_english_word_and_single_character(settings, embedder):
    index_paths(settings, embedder=embedder)
    searcher = Searcher(settings, embedder)
    assert searcher.search("app", mode="keyword", k=3).hits[0].doc_id == "b.md"
    assert searcher.search("APP", mode="keyword", k=3).hits[0].doc_id == "b.md"
    assert {h.doc_id for h in searcher.search("律", mode="keyword", k=3).hits} == {"notes/c.txt"}
    searcher.close()


def test_other_chunking_needs_a_rebuild(settings, embedder):
    index_paths(settings, embedder=embedder)
    changed = settings.model_copy(update={"chunk_size": 200})
    with pytest.raises(IndexMismatchError, match="kb index --rebuild"):
        index_paths(changed, embedder=embedder)
    report = index_paths(changed, rebuild=True, embedder=embedder)
    assert report.generation == 2


def test_missing_vector_file_is_rebuilt_from_sqlite(settings, embedder):
    report = index_paths(settings, embedder=embedder)
    vector_file(settings.index_dir, report.generation).unlink()
    searcher = Searcher(settings, embedder)
    assert searcher.search("法律咨询", mode="semantic", k=1).hits[0].doc_id == "notes/c.txt"
    searcher.close()


def test_second_writer_is_told_the_index_is_busy(settings, embedder):
    settings.index_dir.mkdir(parents=True)
    with WriterLock(settings.index_dir, wait=False), pytest.raises(IndexBusyError, match="busy"):
        index_paths(settings, embedder=embedder)


def test_a_crash_while_writing_leaves_the_last_generation(settings, corpus, embedder, monkeypatch):
    index_paths(settings, embedder=embedder)
    (corpus / "a.md").write_text("# 新内容\n\n全新的文字。\n", encoding="utf-8")
    import kb.index.indexer

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(kb.index.indexer.VectorIndex, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        index_paths(settings, embedder=embedder)
    monkeypatch.undo()
    searcher = Searcher(settings, embedder)
    assert searcher.generation == 1
    assert searcher.search("委员工作站", k=1).hits[0].doc_id == "a.md"
    assert "南岗区" in searcher.chunk(searcher.search("委员工作站", k=1).hits[0].chunk_id)["text"]
    searcher.close()


def test_searching_a_missing_index_is_a_clear_error(tmp_path):
    from kb.index.store import StoreError

    with pytest.raises(StoreError, match="kb index"):
        Searcher(Settings(index_dir=tmp_path / "nothing"))


def test_check_finds_and_repairs_derived_damage(settings, embedder):
    from kb.index.integrity import check_index, repair_index

    index_paths(settings, embedder=embedder)
    assert check_index(settings).ok
    store = Store(settings.index_dir)
    store.db.execute("DELETE FROM chunk_fts WHERE rowid = (SELECT min(chunk_id) FROM chunks)")
    store.close()
    vector_file(settings.index_dir, 1).write_bytes(b"not faiss")
    report = check_index(settings)
    assert not report.ok
    assert any("keyword index" in p for p in report.problems)
    assert any("cannot be read" in p for p in report.problems)
    repaired = repair_index(settings)
    assert repaired.ok and len(repaired.repaired) == 2
    searcher = Searcher(settings, embedder)
    assert searcher.search("委员工作站", mode="keyword", k=1).hits[0].doc_id == "a.md"
    searcher.close()


def test_check_reports_vectors_that_disagree(settings, embedder):
    import numpy as np

    from kb.index.integrity import check_index

    report = index_paths(settings, embedder=embedder)
    path = vector_file(settings.index_dir, report.generation)
    ids = np.array([1, 2], dtype=np.int64)
    VectorIndex.build(ids, np.ones((2, 384), dtype=np.float32)).save(path)
    assert any("vectors for" in p for p in check_index(settings).problems)
