"""Every format and encoding of the seed yields the seed's text and its practices; every bad
file is reported by name and reason, never stops a batch, and never touches indexed data."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from support import DATA, SEED

from kb.config import Settings
from kb.index.indexer import index_paths
from kb.ingest import IngestError, load
from kb.search import Searcher

FORMATS = DATA / "formats"
BAD = FORMATS / "bad"


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", re.sub(r"(?m)^#+ ", "", text))


SEED_TEXT = _norm(SEED.read_text(encoding="utf-8").split("---", 2)[2])


@pytest.mark.parametrize("name", sorted(p.name for p in FORMATS.glob("seed*")))
def test_every_format_yields_the_seed_text(name):
    doc = load(FORMATS / name, name)
    assert _norm(doc.text) == SEED_TEXT
    assert doc.metadata.title.startswith("守正创新实干担当")


@pytest.mark.parametrize("name", ["seed.docx", "seed.html", "seed.doc", "seed.wps", "seed.ofd", "seed-gbk.txt"])
def test_headings_from_styles_and_tags_give_the_twenty_practices(name):
    """Word styles and HTML tags; in .doc, .wps and plain text, the short lines that open with a unit;
    in OFD, the larger type of the headings."""
    doc = load(FORMATS / name, name)
    assert len({p.unit for p in doc.practices}) == 20


def test_html_drops_script_navigation_and_footer():
    doc = load(FORMATS / "seed.html", "seed.html")
    for noise in ("不应被索引", "新闻中心", "版权所有"):
        assert noise not in doc.text


def test_pdf_chunks_cite_their_pages():
    from kb.ingest.chunking import chunk_document

    doc = load(FORMATS / "seed.pdf", "seed.pdf")
    assert len(doc.page_starts) == 5
    pages = [c.page for c in chunk_document(doc, 360, 60)]
    assert pages[0] == 1 and pages[-1] == 5 and pages == sorted(pages)


@pytest.mark.parametrize(
    "name, reason",
    [
        ("empty.txt", "no text"),
        ("binary.txt", "binary"),
        ("truncated.docx", "not a readable .docx"),
        ("not-a-zip.docx", "not a readable .docx"),
        ("encrypted.docx", "password-protected"),
        ("truncated.pdf", "not a readable PDF"),
        ("encrypted.pdf", "encrypted PDF"),
        ("scanned.pdf", "no text layer"),
    ],
)
def test_bad_files_are_named_with_a_reason(name, reason):
    with pytest.raises(IngestError, match=re.escape(name) + ".*" + re.escape(reason)):
        load(BAD / name, name)


def test_a_one_character_file_is_indexed():
    assert load(BAD / "one-char.txt", "one-char.txt").text == "米"


def test_size_limit(tmp_path):
    big = tmp_path / "big.txt"
    big.write_bytes("委员工作站。\n".encode() * 200_000)
    with pytest.raises(IngestError, match="big.txt.*over the 1 MB limit"):
        load(big, "big.txt", max_bytes=1024 * 1024)


def test_a_batch_with_bad_files_indexes_the_rest(tmp_path, embedder):
    corpus = tmp_path / "corpus"
    shutil.copytree(BAD, corpus)
    shutil.copy(FORMATS / "seed.docx", corpus / "seed.docx")
    shutil.copy(FORMATS / "seed.docx", corpus / "copy-of-seed.docx")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    report = index_paths(settings, embedder=embedder)
    failed = {Path(f.path).name: f.reason for f in report.failed}
    assert set(failed) == {"empty.txt", "binary.txt", "truncated.docx", "not-a-zip.docx", "encrypted.docx",
                           "truncated.pdf", "encrypted.pdf", "scanned.pdf", "seed.docx", "not-word.wps",
                           "truncated.doc"}
    assert "same content as copy-of-seed.docx" in failed["seed.docx"]
    codes = {Path(f.path).name: f.code for f in report.failed}
    assert (codes["encrypted.docx"], codes["not-word.wps"], codes["scanned.pdf"]) == (
        "word_encrypted", "wps_not_word", "ocr_unreadable")  # OCR finds only black bars on that page
    # Nothing is passed over without a word: a type kb does not read is listed as skipped.
    assert [(Path(f.path).name, f.code) for f in report.skipped] == [("unsupported.xls", "unsupported")]
    assert "1 file(s) skipped" in report.summary()
    assert report.added == 2  # copy-of-seed.docx and one-char.txt
    searcher = Searcher(settings, embedder)
    top = searcher.search("律师委员扫码提供免费公益法律咨询", k=1).hits[0]
    assert top.doc_id == "copy-of-seed.docx" and top.unit == "市政协社会和法制委员会"
    searcher.close()

    (corpus / "one-char.txt").write_bytes(b"\x00\x00")
    again = index_paths(settings, embedder=embedder)
    assert "one-char.txt" in {Path(f.path).name for f in again.failed}
    searcher = Searcher(settings, embedder)
    assert searcher.search("米", mode="keyword", k=5).hits  # the last good version stays
    searcher.close()


def test_strict_stops_before_writing(tmp_path, embedder):
    from kb.index.store import Store

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(FORMATS / "seed.html", corpus / "a.html")
    shutil.copy(BAD / "scanned.pdf", corpus / "b.pdf")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    with pytest.raises(IngestError, match="b.pdf.*--strict"):
        index_paths(settings, embedder=embedder, strict=True)
    store = Store(settings.index_dir)
    assert store.manifest() is None and store.documents() == []
    store.close()


def test_beir_jsonl_rows_become_sections(tmp_path):
    path = tmp_path / "laws.jsonl"
    path.write_text(
        '{"_id": "a1", "title": "人民调解法第十七条", "text": "当事人可以向人民调解委员会申请调解。"}\n\n'
        '{"_id": "a2", "title": "", "text": "人民调解员应当由公道正派的成年公民担任。"}\n',
        encoding="utf-8",
    )
    doc = load(path, "laws.jsonl")
    assert [s.heading_path for s in doc.sections] == [["人民调解法第十七条"], ["a2"]]
    assert doc.text[doc.sections[1].start : doc.sections[1].end] == "人民调解员应当由公道正派的成年公民担任。"
    path.write_text('{"_id": "x"}\n', encoding="utf-8")
    with pytest.raises(IngestError, match="laws.jsonl: line 1"):
        load(path, "laws.jsonl")


def test_utf16_without_bom_and_gbk_are_detected(tmp_path):
    text = "五常市政协发挥协商优势，助力五常大米品牌价值提升。委员深入米企调研。\n" * 5
    for name, data in (("le.txt", text.encode("utf-16-le")), ("gbk.txt", text.encode("gbk"))):
        (tmp_path / name).write_bytes(data)
        assert load(tmp_path / name, name).text.strip() == text.strip()


def test_unit_from_first_lines_or_folder(tmp_path):
    folder = tmp_path / "五常市政协"
    folder.mkdir()
    (folder / "总结.txt").write_text("2023年工作总结\n\n今年围绕大米品牌开展协商。\n", encoding="utf-8")
    doc = load(folder / "总结.txt", "五常市政协/总结.txt")
    # A city's 政协 by itself: the name cannot tell a county-level city from a prefecture.
    assert (doc.metadata.unit, doc.metadata.unit_type, doc.metadata.year) == ("五常市政协", "市政协", 2023)
    (tmp_path / "b.txt").write_text("民盟哈尔滨市委 关于智库建设的报告\n\n正文。\n", encoding="utf-8")
    doc = load(tmp_path / "b.txt", "b.txt")
    assert (doc.metadata.unit, doc.metadata.unit_type) == ("民盟哈尔滨市委", "民主党派")
    (tmp_path / "c.md").write_text("---\nunit: 道里区政协\nyear: 2021\ndoc_type: 提案\n---\n# 标题\n\n正文。\n", encoding="utf-8")
    doc = load(tmp_path / "c.md", "c.md")
    assert (doc.metadata.unit, doc.metadata.unit_type, doc.metadata.year, doc.metadata.doc_type) == (
        "道里区政协", "区政协", 2021, "提案")


def test_every_format_is_found_by_search(tmp_path, embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    names = sorted(p.name for p in FORMATS.glob("seed*"))
    for name in names:
        shutil.copy(FORMATS / name, corpus / name)
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    report = index_paths(settings, embedder=embedder)
    assert report.added == len(names) and not report.failed
    searcher = Searcher(settings, embedder)
    for name in names:
        hits = searcher.search("律师委员扫码提供免费公益法律咨询", k=1, filters={"doc": [name]}).hits
        assert hits and "律师" in hits[0].text, name
    pdf_hit = searcher.search("书香政协 冰城书苑", k=1, filters={"doc": ["seed.pdf"]}).hits[0]
    assert pdf_hit.page is not None and pdf_hit.page >= 4
    searcher.close()


def test_ofd_pages_are_kept_and_headings_come_from_type_size():
    from kb.ingest.chunking import chunk_document

    doc = load(FORMATS / "seed.ofd", "seed.ofd")
    assert len(doc.page_starts) >= 4 and doc.text.startswith("# 守正创新实干担当")
    chunks = chunk_document(doc, 360, 60)
    lawyers = next(c for c in chunks if "律师委员" in c.text)
    assert lawyers.page is not None and lawyers.page >= 3 and lawyers.unit == "市政协社会和法制委员会"


def test_an_encrypted_word_97_file_keeps_its_own_reason(tmp_path):
    """Word 97-2003 marks an encrypted file in its FIB (fEncrypted); such a file is named as encrypted,
    not as damaged. The flag is set here in a copy of the real .doc fixture."""
    raw = bytearray((FORMATS / "seed.doc").read_bytes())
    fib = raw.find(bytes.fromhex("ECA5"))  # wIdent at the start of the WordDocument stream
    assert fib > 0
    raw[fib + 0x0B] |= 0x01  # the high byte of the flags word at 0x0A: 0x0100 is fEncrypted
    (tmp_path / "locked.doc").write_bytes(bytes(raw))
    with pytest.raises(IngestError) as caught:
        load(tmp_path / "locked.doc", "locked.doc")
    assert caught.value.reason.code == "word_encrypted" and "密码" in caught.value.reason.chinese()


def test_an_old_word_file_renamed_docx_is_read_as_what_it_is(tmp_path):
    shutil.copy(FORMATS / "seed.doc", tmp_path / "renamed.docx")
    assert _norm(load(tmp_path / "renamed.docx", "renamed.docx").text) == SEED_TEXT


@pytest.mark.parametrize(("name", "code", "chinese"), [
    ("scanned.pdf", "ocr_unreadable", "没有读出可信的文字"),
    ("encrypted.docx", "word_encrypted", "密码"),
    ("not-word.wps", "wps_not_word", "另存为 .docx"),
    ("truncated.doc", "doc_damaged", "Word 97-2003"),
    ("empty.txt", "no_text", "没有可读的文字"),
])
def test_reasons_are_codes_worded_in_english_and_in_chinese(name, code, chinese):
    with pytest.raises(IngestError) as caught:
        load(BAD / name, name)
    assert caught.value.reason.code == code and chinese in caught.value.reason.chinese()
    assert str(caught.value).startswith(str(BAD / name))


def test_without_ocr_a_scan_says_how_to_read_it(monkeypatch, tmp_path):
    from kb.ingest import ocr

    monkeypatch.setattr(ocr, "available", lambda: False)
    with pytest.raises(IngestError) as caught:
        load(FORMATS / "scan-seed.pdf", "scan-seed.pdf")
    assert caught.value.reason.code == "pdf_scanned" and "kb[ocr]" in str(caught.value)
    assert "扫描件" in caught.value.reason.chinese()
    with pytest.raises(IngestError) as caught:
        load(FORMATS / "photo-seed.jpg", "photo-seed.jpg")
    assert caught.value.reason.code == "image_needs_ocr"
    with pytest.raises(IngestError) as caught:
        load(FORMATS / "scan-seed.ofd", "scan-seed.ofd")
    assert caught.value.reason.code == "ofd_images_only"


@pytest.mark.parametrize("name", ["seed.doc", "seed.wps"])
def test_word_97_headings_come_from_paragraph_styles(name):
    """LibreOffice saved the .docx's Heading 1 and Heading 2 paragraphs; the style sheet says so."""
    lines = load(FORMATS / name, name).text.split("\n")
    assert lines[0] == "# 守正创新实干担当 奋力书写人民政协事业发展新篇章"
    assert sum(line.startswith("## ") for line in lines) == 20
    assert "## 民盟哈尔滨市委 完善 45721 专题智库模式 提高参政“含金量”" in lines
