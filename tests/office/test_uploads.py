"""Uploads into the corpus: safe names, duplicates by content, limits, and removal."""

from __future__ import annotations

from kb.config import Settings
from kb.office.uploads import add_and_index, add_files, remove_document, safe_name
from kb.search import Searcher

NOTICE = "# 关于委员工作站的通知\n\n南岗区政协在街道建立委员工作站，委员定期接待群众。\n".encode()


def test_safe_names():
    assert safe_name("../../etc/passwd.md") == "passwd.md"
    assert safe_name("C:\\Users\\王\\工作 总结（2022）.TXT") == "工作 总结（2022）.txt"
    assert safe_name("a;rm -rf $HOME|.md") == "a_rm -rf _HOME.md"
    assert safe_name("....md") == "document.md"
    assert len(safe_name("长" * 500 + ".md")) <= 120


def test_add_reports_duplicates_limits_and_types(tmp_path):
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", max_file_mb=1)
    result = add_files(settings, [
        ("通知.md", NOTICE),
        ("通知副本.md", NOTICE),
        ("通知.md", NOTICE + "补充。".encode()),
        ("big.txt", b"x" * (1024 * 1024 + 1)),
        ("slides.pptx", b"PK"),
        ("empty.txt", b"  \n"),
    ])
    assert result.saved == ["uploads/通知.md", "uploads/通知-2.md"]
    assert [d.name for d in result.duplicates] == ["通知副本.md"]
    assert "uploads/通知.md" in result.duplicates[0].english
    reasons = {r.name: r.reason for r in result.refused}
    assert [reasons[name].code for name in ("big.txt", "slides.pptx", "empty.txt")] == ["too_large", "unsupported", "empty"]
    assert "1 MB limit" in reasons["big.txt"].english() and "(.pptx)" in reasons["slides.pptx"].english()
    assert reasons["big.txt"].chinese().endswith("超过 1 MB 的上限") and reasons["empty.txt"].chinese() == "文件是空的"
    again = add_files(settings, [("again.md", NOTICE)])
    assert again.saved == [] and again.duplicates


def test_uploaded_file_becomes_searchable_and_can_be_removed(tmp_path, embedder):
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    _, report = add_and_index(settings, [("通知.md", NOTICE)], embedder=embedder)
    assert report.added == 1
    searcher = Searcher(settings, embedder)
    assert searcher.search("委员工作站接待群众", k=1).hits[0].doc_id == "uploads/通知.md"
    remove_document(settings, "uploads/通知.md")
    assert not (settings.corpus_dir / "uploads" / "通知.md").exists()
    assert searcher.search("委员工作站", mode="keyword", k=1).hits == []
    searcher.close()
