"""Taking results out of kb: Word documents of search results, practices and approach cards, ready
to paste into a report, and the practice catalogue as an Excel workbook."""

from kb.report.sheet import catalogue_xlsx
from kb.report.word import cards_docx, practices_docx, search_docx

__all__ = ["cards_docx", "catalogue_xlsx", "practices_docx", "search_docx"]
