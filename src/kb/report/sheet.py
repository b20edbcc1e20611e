"""The practice catalogue as an Excel workbook: one row a practice, one sheet of themes."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from kb.practices.export import HEADERS
from kb.practices.records import Catalogue
from kb.text import FORMULA_STARTS

# The practice's fields in the workbook's order, with their column widths; headers as in the CSV.
_PRACTICE_COLUMNS = tuple((HEADERS[field], width) for field, width in (
    ("unit", 28), ("unit_type", 10), ("year", 8), ("title", 40), ("theme", 24), ("lead", 60), ("figures", 50),
    ("keywords", 30), ("document_title", 40)))


def catalogue_xlsx(catalogue: Catalogue) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "创新实践"
    sheet.append([name for name, _ in _PRACTICE_COLUMNS])
    for practice in catalogue.practices:
        sheet.append([practice.unit, practice.unit_type, practice.year, practice.title, practice.theme,
                      practice.lead, "；".join(f.text for f in practice.figures), "、".join(practice.keywords),
                      practice.document_title])
    _format(sheet, _PRACTICE_COLUMNS)
    themes = book.create_sheet("主题")
    themes.append(["主题", "关键词", "实践数", "单位"])
    listed = {p.practice_id: p for p in catalogue.practices}
    for theme in catalogue.themes:
        members = [listed[pid] for pid in theme.practice_ids if pid in listed]
        if members:
            themes.append([theme.name, "、".join(theme.keywords), len(members), "、".join(p.unit for p in members)])
    _format(themes, (("主题", 28), ("关键词", 30), ("实践数", 8), ("单位", 80)))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _format(sheet, columns) -> None:
    """Widths, a bold header, wrapped text; and every text cell stored as text: openpyxl writes a string
    that starts with "=" as a formula, and text from documents (a heading =HYPERLINK(…), a unit =1+2政协)
    must never run in Excel or WPS."""
    for index, (_, width) in enumerate(columns, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = width
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if isinstance(cell.value, str):
                cell.data_type = "s"
                cell.quotePrefix = cell.value.startswith(FORMULA_STARTS)
    sheet.freeze_panes = "A2"
