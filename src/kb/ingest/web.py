"""HTML saved from a web page: the main text and its headings, without scripts, styles,
navigation, headers, footers or side bars."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from kb.ingest.document import build_document
from kb.ingest.errors import IngestError
from kb.ingest.text import decode
from kb.records import Document

SKIPPED = {"script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "svg", "iframe"}
BLOCKS = {"p", "div", "li", "tr", "br", "section", "article", "main", "blockquote", "pre", "table", "dd", "dt"}
HEADINGS = {f"h{n}": n for n in range(1, 7)}
_CHARSET = re.compile(rb"<meta[^>]+charset=[\"']?([\w-]+)", re.IGNORECASE)


class _MainText(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.skip_depth = 0
        self.lines: list[str] = []
        self.current: list[str] = []
        self.heading = 0
        self.title = ""
        self.in_title = False

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED:
            self.skip_depth += 1
        elif tag == "title":
            self.in_title = True
        elif tag in HEADINGS or tag in BLOCKS:
            self._flush()
            self.heading = HEADINGS.get(tag, 0)

    def handle_endtag(self, tag):
        if tag in SKIPPED:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag == "title":
            self.in_title = False
        elif tag in HEADINGS or tag in BLOCKS:
            self._flush()

    def handle_data(self, data):
        if self.in_title:
            self.title += data
        elif not self.skip_depth:
            self.current.append(data)

    def _flush(self):
        text = " ".join("".join(self.current).split())
        if text:
            self.lines.append(f"{'#' * self.heading} {text}" if self.heading else text)
        self.current = []
        self.heading = 0


def load_html(path: Path, doc_id: str) -> Document:
    raw = path.read_bytes()
    declared = _CHARSET.search(raw[:2048])
    try:
        html = raw.decode(declared.group(1).decode()) if declared else decode(raw, path)
    except (LookupError, UnicodeDecodeError):
        html = decode(raw, path)
    parser = _MainText()
    try:
        parser.feed(html)
        parser.close()
    except Exception as exc:  # noqa: BLE001 — the stdlib parser is lenient; anything it still raises names the file
        raise IngestError(path, "html_damaged", detail=exc) from None
    parser._flush()
    return build_document(path, doc_id, "\n\n".join(parser.lines), raw, title=parser.title.strip())
