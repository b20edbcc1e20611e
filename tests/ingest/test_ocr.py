"""Scans and photos read by OCR (RapidOCR, models in its wheel): the text of real renderings of the seed's
pages at 200 dpi (rotated, JPEG-compressed) and of a 150 dpi photo; the confidence floor; the page cache;
progress by page; and a folder of the seed in every office format indexed whole."""

from __future__ import annotations

import difflib
import re
import shutil

import pytest
from pypdf import PdfReader
from support import DATA

from kb.config import Settings
from kb.index.indexer import index_paths
from kb.ingest import load, ocr
from kb.search import Searcher

FORMATS = DATA / "formats"
pytestmark = pytest.mark.skipif(not ocr.available(), reason="the ocr extra is not installed")


@pytest.fixture(autouse=True)
def _own_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "ocr-cache"))


def _similarity(truth: str, read: str) -> float:
    return difflib.SequenceMatcher(None, re.sub(r"\s", "", truth), re.sub(r"\s", "", read), autojunk=False).ratio()


def _text_layer(page: int) -> str:
    return PdfReader(FORMATS / "seed.pdf").pages[page].extract_text()


def test_a_scanned_pdf_is_read_page_by_page_with_its_practices():
    doc = load(FORMATS / "scan-seed.pdf", "scan-seed.pdf")
    assert len(doc.page_starts) == 2 and not doc.notes
    first, second = doc.text[:doc.page_starts[1]], doc.text[doc.page_starts[1]:]
    assert _similarity(_text_layer(0), first) >= 0.97 and _similarity(_text_layer(3), second) >= 0.93
    units = [p.unit for p in doc.practices]
    assert "五常市政协" in units and "市政协社会和法制委员会" in units


def test_a_photo_of_a_page_is_read():
    doc = load(FORMATS / "photo-seed.jpg", "photo-seed.jpg")
    assert _similarity(_text_layer(3), doc.text) >= 0.95


def test_pages_are_read_once_then_come_from_the_cache(monkeypatch):
    load(FORMATS / "photo-seed.jpg", "photo-seed.jpg")

    def no_engine():
        raise AssertionError("OCR ran again for a page it had read")

    monkeypatch.setattr(ocr, "_get_engine", no_engine)
    assert "律师" in load(FORMATS / "photo-seed.jpg", "photo-seed.jpg").text


def test_a_page_under_the_confidence_floor_is_named_not_indexed(monkeypatch, tmp_path):
    """The engine's page result is replaced by one under the floor: the page is left out and named."""
    real = ocr.read_image
    pages = iter([None, ocr.OcrPage("模糊不清的乱码", 0.31)])

    def first_real_then_unsure(image):
        page = next(pages)
        return real(image) if page is None else page

    monkeypatch.setattr(ocr, "read_image", first_real_then_unsure)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    doc = load(FORMATS / "scan-seed.pdf", "scan-seed.pdf")
    assert "乱码" not in doc.text and "五常大米" in doc.text
    assert [(n.code, n.facts["page"]) for n in doc.notes] == [("ocr_low_confidence", "2")]
    assert "低于" in doc.notes[0].chinese()


def test_every_office_format_of_the_seed_indexes_with_its_text(tmp_path, embedder):
    """The folder the issue names: the seed as .doc, .wps, .ofd, a scanned PDF and a photo (and a scan
    issued as OFD, its page an image)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    names = ["seed.doc", "seed.wps", "seed.ofd", "scan-seed.pdf", "photo-seed.jpg", "scan-seed.ofd"]
    for name in names:
        shutil.copy(FORMATS / name, corpus / name)
    seen = []
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    report = index_paths(settings, embedder=embedder, progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert report.added == len(names) and not report.failed and not report.skipped, report.failed
    assert ("OCR", 2, 2) in seen and ("OCR", 1, 1) in seen  # the scan's two pages, the photo's one
    searcher = Searcher(settings, embedder)
    for name in names:
        hits = searcher.search("律师委员扫码提供免费公益法律咨询", k=1, filters={"doc": [name]}).hits
        assert hits and "律师" in hits[0].text, name
    assert searcher.search("五常大米品牌", k=1, filters={"doc": ["scan-seed.pdf"]}).hits[0].page == 1
    searcher.close()
