"""Word and Excel exports, opened the way Word and Excel would read them (python-docx, openpyxl)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

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
    text = _paragraphs(search_docx(response, include_weak=True))
    assert text[0] == "检索结果：五常大米品牌" and text[1].startswith("检索：五常大米品牌 · 由 kb 导出于")
    sections = [f"{group.title}（{len(group.hits)}）" for group in response.groups]
    assert [line for line in text if line in sections] == sections
    for group in response.groups:
        for before, hit in zip([None, *group.hits], group.hits):
            passage = next(line for line in text if line.startswith(hit.text.split("\n")[0][:30]))
            source = next(line for line in text[text.index(passage):] if line.startswith("来源："))
            same = before is not None and before.document == hit.document
            assert source.startswith("来源：同上" if same else f"来源：《{hit.document}》"), source
            assert hit.heading_path[-1] in source and (not hit.unit or hit.unit in source)
            # The document's title is said once: not again as the first heading of the path.
            assert source.count(hit.heading_path[0]) == (0 if same else 1) or not hit.document.startswith(
                hit.heading_path[0])
    assert any(line.startswith("1. 五常市政协") for line in text)


def test_a_report_quotes_what_answers_unless_asked_for_more(searcher):
    response = searcher.search("五常大米品牌", k=5, grouped=True)
    weak = [hit for hit in response.hits if hit.weak]
    assert weak and len(weak) < len(response.hits)
    text = _paragraphs(search_docx(response))
    assert f"（{len(weak)} 条较弱的匹配未列入）" in text[1] and not any("较弱的匹配）" in line for line in text[2:])
    assert any("（较弱的匹配）" in line for line in _paragraphs(search_docx(response, include_weak=True)))


def test_reports_are_laid_out_as_official_documents(searcher, catalogue):
    """GB/T 9704: A4, 37/35/28/26 mm margins, 仿宋 三号 body on a fixed line, 方正小标宋 二号 title, 黑体 and
    楷体 headings in black, East Asian fonts named apart, page numbers on odd and even pages."""
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    response = searcher.search("五常大米品牌", k=3, grouped=True)
    practice = catalogue.practices[0]
    for data in (search_docx(response), practices_docx(catalogue, [practice]), cards_docx(catalogue.cards[:1])):
        document = docx.Document(io.BytesIO(data))
        section = document.sections[0]
        assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
        margins = (section.top_margin, section.bottom_margin, section.left_margin, section.right_margin)
        assert [round(m.mm) for m in margins] == [37, 35, 28, 26]

        def east_asian(style, styles=document.styles):
            return styles[style].element.rPr.rFonts.get(qn("w:eastAsia"))

        assert east_asian("Normal") == "仿宋" and document.styles["Normal"].font.size == Pt(16)
        assert document.styles["Normal"].paragraph_format.line_spacing == Pt(28)
        assert east_asian("公文标题") == "方正小标宋简体" and document.styles["公文标题"].font.size == Pt(22)
        assert east_asian("Heading 1") == "黑体" and east_asian("Heading 2") == "楷体"
        assert str(document.styles["Heading 1"].font.color.rgb) == "000000"
        assert document.paragraphs[0].style.name == "公文标题"
        assert document.settings.odd_and_even_pages_header_footer
        for footer in (section.footer, section.even_page_footer):
            assert 'w:instr="PAGE"' in footer._element.xml and "— " in footer.paragraphs[0].text
        assert round((section.page_width - section.left_margin - section.right_margin) / Mm(1)) == 156


def test_practice_and_card_reports(catalogue):
    practice = next(p for p in catalogue.practices if p.unit == "民盟哈尔滨市委")
    text = "\n".join(_paragraphs(practices_docx(catalogue, [practice])))
    assert f"{practice.unit}：{practice.title}" in text and practice.document_title in text
    assert "45721 专题智库模式" in text and "原文未说明" in text  # its card, with the gap shown
    card = next(c for c in catalogue.cards if c.unit == "民盟哈尔滨市委")
    card_text = "\n".join(_paragraphs(cards_docx([card])))
    assert card.name in card_text and "出处：" in card_text


SOFFICE = shutil.which("soffice")


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed (apt-get install libreoffice-writer-nogui)")
def test_reports_open_in_libreoffice_on_numbered_a4_pages(searcher, catalogue, tmp_path):
    """Each report opened by another word processor than the one that wrote it, rendered to PDF and its first
    page to an image (kept in REPORT_SCREENSHOTS when set, to be looked at): A4 pages, the title on the
    first, “— N —” at the foot of each."""
    import pypdfium2

    response = searcher.search("五常大米品牌", k=5, grouped=True)
    reports = {"检索结果": search_docx(response, include_weak=True),
               "创新实践": practices_docx(catalogue, catalogue.practices[:2]), "方法卡片": cards_docx(catalogue.cards)}
    for name, data in reports.items():
        (tmp_path / f"{name}.docx").write_bytes(data)
    subprocess.run([SOFFICE, "--headless", f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--convert-to",
                    "pdf", "--outdir", str(tmp_path), *(str(tmp_path / f"{n}.docx") for n in reports)],
                   check=True, capture_output=True, timeout=240)
    shots = Path(os.environ.get("REPORT_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    for name in reports:
        pdf = pypdfium2.PdfDocument(str(tmp_path / f"{name}.pdf"))
        for number, page in enumerate(pdf, start=1):
            width, height = page.get_size()
            assert abs(width - 595.3) < 1 and abs(height - 841.9) < 1, (name, number, width, height)
            text = page.get_textpage().get_text_range()
            assert f"— {number} —" in text or f"—{number}—" in text.replace(" ", ""), (name, number, text[-80:])
        first = pdf[0].get_textpage().get_text_range()
        assert first.lstrip().startswith(name[:2]), first[:80]
        image = pdf[0].render(scale=1.5).to_pil().convert("L")
        image.save(shots / f"report-{name}.png")
        inked = sum(image.histogram()[:128])  # pixels darker than mid-grey
        assert inked > 0.005 * image.width * image.height, f"{name}: the first page is nearly blank"


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
