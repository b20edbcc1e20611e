"""Word and Excel exports, opened the way Word and Excel would read them (python-docx, openpyxl)."""

from __future__ import annotations

import io

import docx
import openpyxl
import pytest
from support import kb

from kb.report import cards_docx, catalogue_xlsx, practices_docx, search_docx


@pytest.fixture(scope="module")
def catalogue(searcher):
    return searcher.catalogue()


def _paragraphs(data: bytes) -> list[str]:
    return [p.text for p in docx.Document(io.BytesIO(data)).paragraphs]


def test_search_report_has_each_passage_with_its_source(searcher):
    response = searcher.search("五常大米品牌", k=3, grouped=True)
    text = _paragraphs(search_docx(response))
    assert text[0] == "检索结果：五常大米品牌"
    sections = [f"{group.title}（{len(group.hits)}）" for group in response.groups]
    assert [line for line in text if line in sections] == sections
    for hit in response.hits:
        passage = next(line for line in text if line.startswith(hit.text[:30]))
        source = text[text.index(passage) + 1]
        assert source.startswith(f"来源：《{hit.document}》") and " › ".join(hit.heading_path) in source
        if hit.unit:
            assert hit.unit in source
    assert any(line.startswith("1. 五常市政协") for line in text)


def test_practice_and_card_reports(catalogue):
    practice = next(p for p in catalogue.practices if p.unit == "民盟哈尔滨市委")
    text = "\n".join(_paragraphs(practices_docx(catalogue, [practice])))
    assert f"{practice.unit}：{practice.title}" in text and practice.document_title in text
    assert "45721 专题智库模式" in text and "原文未说明" in text  # its card, with the gap shown
    card = next(c for c in catalogue.cards if c.unit == "民盟哈尔滨市委")
    card_text = "\n".join(_paragraphs(cards_docx([card])))
    assert card.name in card_text and "出处：" in card_text


def test_catalogue_workbook(catalogue):
    book = openpyxl.load_workbook(io.BytesIO(catalogue_xlsx(catalogue)))
    practices, themes = book["创新实践"], book["主题"]
    assert [c.value for c in practices[1]][:4] == ["单位", "单位类型", "年份", "标题"]
    assert practices.max_row == len(catalogue.practices) + 1
    assert {row[0].value for row in practices.iter_rows(min_row=2)} == {p.unit for p in catalogue.practices}
    assert themes.max_row == len(catalogue.themes) + 1


def test_cli_writes_word_and_excel(seed_index, tmp_path):
    report = tmp_path / "报告.docx"
    kb("search", "律师委员公益法律服务", "--format", "docx", "-o", str(report), index_dir=seed_index.index_dir)
    assert "市政协社会和法制委员会" in "\n".join(_paragraphs(report.read_bytes()))
    practices = tmp_path / "民盟.docx"
    kb("practices", "--unit", "民盟", "--format", "docx", "-o", str(practices), index_dir=seed_index.index_dir)
    assert "45721" in "\n".join(_paragraphs(practices.read_bytes()))
    sheet = tmp_path / "目录.xlsx"
    kb("practices", "--format", "xlsx", "-o", str(sheet), index_dir=seed_index.index_dir)
    assert openpyxl.load_workbook(sheet)["创新实践"].max_row > 10
    missing = kb("search", "律师", "--format", "docx", index_dir=seed_index.index_dir, check=False)
    assert missing.returncode == 2 and "-o FILE.docx" in missing.stderr
    nowhere = kb("search", "律师", "--format", "docx", "-o", str(tmp_path / "no" / "x.docx"),
                 index_dir=seed_index.index_dir, check=False)
    assert nowhere.returncode == 2 and "cannot write" in nowhere.stderr


HOSTILE = ('=HYPERLINK("http://example.invalid/x","点击查看详情")', "+1+2", "-3+4", "@SUM(A1)", "\t=1", "\r=1")


def _hostile(catalogue):
    """The catalogue with text from a hostile document: a formula in each field that reaches an export."""
    first, *rest = catalogue.practices
    bad = first.model_copy(update={"title": HOSTILE[0], "unit": "=1+2政协", "lead": HOSTILE[1],
                                   "theme": HOSTILE[2], "document_title": HOSTILE[3], "keywords": [HOSTILE[4]]})
    themes = [theme.model_copy(update={"name": HOSTILE[5]}) for theme in catalogue.themes]
    return catalogue.model_copy(update={"practices": [bad, *rest], "themes": themes})


def test_no_export_cell_is_a_live_formula(catalogue):
    """Every text cell of the workbook is stored as text (with Excel's quote prefix where it opens like a
    formula); every CSV cell that opens like one starts with an apostrophe."""
    import csv

    from kb.practices import export

    hostile = _hostile(catalogue)
    book = openpyxl.load_workbook(io.BytesIO(catalogue_xlsx(hostile)))
    texts = [cell for sheet in book for row in sheet.iter_rows() for cell in row if isinstance(cell.value, str)]
    assert all(cell.data_type == "s" for cell in texts)
    risky = [cell for cell in texts if cell.value.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert {cell.value for cell in risky} >= {HOSTILE[0], "=1+2政协", HOSTILE[1], HOSTILE[2], HOSTILE[3]}
    assert all(cell.quotePrefix for cell in risky)
    rows = list(csv.DictReader(io.StringIO(export(hostile, "csv").lstrip("\ufeff"))))
    cells = [value for row in rows for value in row.values()]
    assert not [value for value in cells if value.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert {"'" + HOSTILE[0], "'=1+2政协", "'" + HOSTILE[1], "'" + HOSTILE[2], "'" + HOSTILE[3]} <= set(cells)
