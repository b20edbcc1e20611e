"""The page and type of Chinese official documents (GB/T 9704-2012) for kb's Word reports: A4; margins
of 37 mm top, 35 mm bottom, 28 mm left and 26 mm right (a type area of 156 × 225 mm); the title in
方正小标宋简体 二号 (22 pt), centred; first-level headings in 黑体, second-level in 楷体, third-level in
仿宋 bold, the body in 仿宋, all 三号 (16 pt) on a fixed 28 pt line; page numbers “— 1 —” in 宋体 四号 at the
foot, odd pages on the right and even pages on the left.

Fonts are named as Word and WPS on staff PCs have them (黑体, 楷体, 仿宋, 宋体; 方正小标宋简体 where offices
install it, else Word substitutes a Song face), with the East Asian font set apart from the Latin one
(Times New Roman for figures and Latin words), as Word takes Chinese text's font from that attribute.
"""

from __future__ import annotations

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

LATIN = "Times New Roman"
BLACK = RGBColor(0, 0, 0)
GREY = RGBColor(0x59, 0x59, 0x59)
TITLE_STYLE = "公文标题"
NOTE_STYLE = "出处说明"
# style: (East Asian font, size in pt, bold)
_TYPE = {
    "Normal": ("仿宋", 16, False),
    "Heading 1": ("黑体", 16, False),
    "Heading 2": ("楷体", 16, False),
    "Heading 3": ("仿宋", 16, True),
    "Heading 4": ("仿宋", 16, True),
    "List Bullet": ("仿宋", 16, False),
}
LINE = Pt(28)


def official_document(title: str) -> Document:
    """A new document on GB/T 9704's page, its styles set, with ``title`` at the top."""
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.footer_distance = Mm(28) - Mm(7)  # the number sits about 7 mm below the type area
    for name, (font, size, bold) in _TYPE.items():
        _set_type(document.styles[name], font, size, bold)
        paragraph = document.styles[name].paragraph_format
        paragraph.line_spacing_rule, paragraph.line_spacing = WD_LINE_SPACING.EXACTLY, LINE
        paragraph.space_before = paragraph.space_after = Pt(0)
        # Two characters in, headings as the body: how official documents set their numbered headings.
        paragraph.first_line_indent = None if name == "List Bullet" else Pt(32)
    title_style = document.styles.add_style(TITLE_STYLE, 1)
    title_style.base_style = document.styles["Normal"]
    _set_type(title_style, "方正小标宋简体", 22, False)
    title_style.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title_style.paragraph_format.first_line_indent = Pt(0)
    title_style.paragraph_format.line_spacing = Pt(36)
    title_style.paragraph_format.space_after = LINE
    note_style = document.styles.add_style(NOTE_STYLE, 1)
    note_style.base_style = document.styles["Normal"]
    _set_type(note_style, "楷体", 12, False)
    note_style.font.color.rgb = GREY
    note_style.paragraph_format.line_spacing = Pt(20)
    _page_numbers(document)
    document.core_properties.title = title
    document.core_properties.author = "kb 政协创新工作知识库"
    document.add_paragraph(title, style=TITLE_STYLE)
    return document


def _set_type(style, east_asian: str, size: int, bold: bool) -> None:
    font = style.font
    font.name, font.size, font.bold, font.italic = LATIN, Pt(size), bold, False
    font.color.rgb = BLACK
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), east_asian)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)  # a theme font would win over the names set here


def _page_numbers(document: Document) -> None:
    """“— N —”, 宋体 四号: odd pages' on the right, even pages' on the left, each a character in."""
    document.settings.odd_and_even_pages_header_footer = True
    section = document.sections[0]
    for footer, alignment in ((section.footer, WD_ALIGN_PARAGRAPH.RIGHT),
                              (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT)):
        paragraph = footer.paragraphs[0]
        paragraph.alignment = alignment
        paragraph.paragraph_format.first_line_indent = Pt(0)
        if alignment is WD_ALIGN_PARAGRAPH.RIGHT:
            paragraph.paragraph_format.right_indent = Pt(14)
        else:
            paragraph.paragraph_format.left_indent = Pt(14)
        _number_run(paragraph, "— ")
        field = OxmlElement("w:fldSimple")
        field.set(qn("w:instr"), "PAGE")
        field.append(_number_run(None, "1"))
        paragraph._p.append(field)
        _number_run(paragraph, " —")


def _number_run(paragraph, text: str):
    """A run of the page number's type; added to ``paragraph``, or returned bare (for a field)."""
    run = OxmlElement("w:r")
    properties = OxmlElement("w:rPr")
    fonts = OxmlElement("w:rFonts")
    for attribute in ("w:ascii", "w:hAnsi"):
        fonts.set(qn(attribute), LATIN)
    fonts.set(qn("w:eastAsia"), "宋体")
    size = OxmlElement("w:sz")
    size.set(qn("w:val"), "28")  # half-points: 四号, 14 pt
    properties.append(fonts)
    properties.append(size)
    run.append(properties)
    body = OxmlElement("w:t")
    body.set(qn("xml:space"), "preserve")
    body.text = text
    run.append(body)
    if paragraph is not None:
        paragraph._p.append(run)
    return run
