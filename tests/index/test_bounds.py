"""Bounded work per file: a file is sized before it is read, an archive before it is inflated, a .docx's
paragraphs before it is parsed, a PDF's or OFD's pages before any is read, and the passages a file is
cut into before any is embedded. Each file past a bound is named with its reason; the rest of the batch
is indexed."""

from __future__ import annotations

import shutil
from pathlib import Path

from support import DATA

from kb.config import Settings
from kb.index.indexer import index_paths


def test_a_file_over_the_limit_is_never_read(tmp_path, monkeypatch, embedder):
    """A 3 GB sparse file (no disk used) beside a real one: discovery does not read it, let alone whole,
    and the run names it too large and indexes the rest."""
    from kb import hashing
    from kb.ingest import discover

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "real.md").write_text("# 委员工作站\n\n南岗区政协在街道建立委员工作站。\n", encoding="utf-8")
    with open(corpus / "huge.txt", "wb") as handle:
        handle.truncate(3 * 1024**3)
    hashed = []
    real_hash = hashing.file_sha256
    monkeypatch.setattr("kb.ingest.file_sha256", lambda path: hashed.append(path.name) or real_hash(path))
    found = discover([corpus], corpus, max_bytes=50 * 1024 * 1024)
    assert hashed == ["real.md"] and {f.doc_id: f.content_hash for f in found.files}["huge.txt"] == ""
    report = index_paths(Settings(corpus_dir=corpus, index_dir=tmp_path / "index"), embedder=embedder)
    assert report.added == 1 and [f.code for f in report.failed] == ["too_large"]
    assert "huge.txt" in report.failed[0].reason and "3221.2 MB" in report.failed[0].reason


def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path, embedder):
    """A .docx and an .ofd of a few hundred KB whose one part inflates to 300 MB: each named, nothing
    inflated (the declared sizes are summed first), the rest of the batch indexed."""
    import zipfile

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "real.md").write_text("# 委员工作站\n\n南岗区政协在街道建立委员工作站。\n", encoding="utf-8")
    block = bytes(1024 * 1024)
    for name, member in (("bomb.docx", "word/media/image1.png"), ("bomb.ofd", "Doc_0/Res/image.png")):
        with zipfile.ZipFile(corpus / name, "w", zipfile.ZIP_DEFLATED) as archive, archive.open(member, "w") as part:
            for _ in range(300):
                part.write(block)
        assert (corpus / name).stat().st_size < 2 * 1024 * 1024
    report = index_paths(Settings(corpus_dir=corpus, index_dir=tmp_path / "index"), embedder=embedder)
    assert report.added == 1
    assert sorted((Path(f.path).name, f.code) for f in report.failed) == [("bomb.docx", "archive_too_large"),
                                                                         ("bomb.ofd", "archive_too_large")]
    assert "315 MB" in report.failed[0].reason and "200 MB" in report.failed[0].reason


def test_a_file_past_a_bound_is_named_and_the_batch_goes_on(tmp_path, embedder):
    """Each bound as a setting, lowered so that small real files meet it: a .docx of 60 paragraphs, a PDF
    of 5 pages and an OFD of 6, a text of many passages; the one file inside every bound is indexed."""
    import docx

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "real.md").write_text("# 委员工作站\n\n南岗区政协在街道建立委员工作站。\n", encoding="utf-8")
    many = docx.Document()
    for number in range(60):
        many.add_paragraph(f"第{number + 1}条 委员履职情况记录。")
    many.save(corpus / "many.docx")
    shutil.copy(DATA / "formats" / "seed.pdf", corpus / "report.pdf")
    shutil.copy(DATA / "formats" / "seed.ofd", corpus / "report.ofd")
    (corpus / "long.md").write_text("# 年鉴\n\n" + "道里区政协组织委员深入社区开展协商议事活动。" * 400, encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", max_paragraphs_per_file=50,
                        max_pages_per_file=4, max_chunks_per_file=20)
    report = index_paths(settings, embedder=embedder)
    assert report.added == 1
    assert sorted((Path(f.path).name, f.code) for f in report.failed) == [
        ("long.md", "too_many_chunks"), ("many.docx", "too_many_paragraphs"), ("report.ofd", "too_many_pages"),
        ("report.pdf", "too_many_pages")]
    reasons = {Path(f.path).name: f.reason for f in report.failed}
    assert "over 50 paragraphs" in reasons["many.docx"] and "5 pages, over the 4-page limit" in reasons["report.pdf"]
    assert "max_chunks_per_file" in reasons["long.md"]
    # With kb's defaults, every one of them is a document.
    assert index_paths(Settings(corpus_dir=corpus, index_dir=tmp_path / "default"), embedder=embedder).added == 5
