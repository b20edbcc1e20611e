"""Writes the Word and PDF documents of the practices development set from their text in sources/
(run once; the files in docs/ are committed).

    pip install reportlab && python tests/data/practices/make_files.py

A source line "# …" is a title and "## …" a heading (Word heading styles; larger type in the PDF);
every other line is a paragraph, as the office's own file would have it.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent


def blocks(path: Path) -> list[tuple[int, str]]:
    """(heading level or 0, text) per non-empty line."""
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            continue
        level = len(line) - len(line.lstrip("#"))
        found.append((level, line.lstrip("#").strip()))
    return found


def write_docx(source: Path, target: Path) -> None:
    import docx

    document = docx.Document()
    for level, text in blocks(source):
        if level:
            document.add_heading(text, level=level)
        else:
            document.add_paragraph(text)
    document.save(target)


def write_pdf(source: Path, target: Path) -> None:
    """The first line and the "#" titles in the title's size, "##" headings larger than the body."""
    sys.path.insert(0, str(HERE.parent))
    from make_fixtures import draw_pdf

    draw_pdf(target, [(15 if index == 0 or level == 1 else 13 if level else 11, text)
                      for index, (level, text) in enumerate(blocks(source))])


def main() -> None:
    for source in sorted((HERE / "sources").glob("*.txt")):
        target = HERE / "docs" / source.name.removesuffix(".txt")
        (write_docx if target.suffix == ".docx" else write_pdf)(source, target)
        print(f"wrote {target}")


if __name__ == "__main__":
    main()
