"""PDF: text per page, with each page's start offset kept so chunks can cite their page.
A PDF without a text layer (a scan) is reported as such, not indexed as empty."""

from __future__ import annotations

import re
from pathlib import Path

from kb.ingest import limits, ocr
from kb.ingest.document import build_document
from kb.ingest.errors import IngestError
from kb.records import Document

_CJK = "\u3000-\u303f\u3400-\u9fff\uff00-\uffef“”‘’"
_SPACED = re.compile(f"(?<=[{_CJK}]) (?=[{_CJK}])")
_SENTENCE_END = ("。", "！", "？", "；", "”")
# A page with fewer characters in its text layer than this is a scan (a page number, a stamp at most).
SCANNED_CHARS = 10
_NUMBERED = re.compile(r"^(?:[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十]+[）)]|第[一二三四五六七八九十百]+条)")


def load_pdf(path: Path, doc_id: str) -> Document:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    raw = path.read_bytes()
    if not raw:
        raise IngestError(path, "empty")
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError(path, "pdf_encrypted")
        # The count the page tree declares first (no page is loaded for it), then the pages themselves.
        declared = reader.trailer["/Root"]["/Pages"].get("/Count", 0)
        bound = limits.current().pages
        if int(declared) > bound or len(reader.pages) > bound:
            raise IngestError(path, "too_many_pages", pages=max(int(declared), len(reader.pages)), limit=bound)
        pages = [page.extract_text() or "" for page in reader.pages]
    except IngestError:
        raise
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise IngestError(path, "pdf_damaged", detail=exc) from None
    except Exception as exc:  # noqa: BLE001 — pypdf raises many kinds on damaged files; none may stop a batch
        raise IngestError(path, "pdf_damaged", detail=f"{exc.__class__.__name__}: {exc}") from None
    texts = [_clean(page) for page in pages]
    scanned = [number for number, text in enumerate(texts) if len(text.strip()) < SCANNED_CHARS]
    notes = []
    if scanned:
        if not ocr.available():
            if len(scanned) == len(texts):
                raise IngestError(path, "pdf_scanned", pages=len(pages))
        else:
            texts, notes = _ocr_pages(path, raw, texts, scanned)
    starts, parts, offset = [], [], 0
    for text in texts:
        starts.append(offset)
        parts.append(text)
        offset += len(text) + 2
    return build_document(path, doc_id, "\n\n".join(parts), raw, page_starts=starts, notes=notes)


def _ocr_pages(path: Path, raw: bytes, texts: list[str], scanned: list[int]) -> tuple[list[str], list]:
    """The pages without a text layer, read by OCR; pages it is not sure of are left out and named."""
    import hashlib

    import pypdfium2

    document = pypdfium2.PdfDocument(raw)
    try:
        def render(index: int):
            return document[scanned[index]].render(scale=ocr.RENDER_DPI / 72, grayscale=True).to_pil()

        read = ocr.read_pages(render, len(scanned), hashlib.sha256(raw).hexdigest())
    finally:
        document.close()
    texts, notes = list(texts), []
    for number, page in zip(scanned, read):
        if page.text and page.confidence >= ocr.MIN_CONFIDENCE:
            texts[number] = page.text
        elif page.text:
            notes.append(ocr.low_confidence(number + 1, page.confidence))
    if not any(len(t.strip()) >= SCANNED_CHARS for t in texts):
        raise IngestError(path, "ocr_unreadable", pages=len(texts), floor=ocr.MIN_CONFIDENCE)
    return texts, notes


def _clean(text: str) -> str:
    """Undo what extraction does to Chinese: some producers place every character apart, so
    the text arrives as '五 常 市'. Where most CJK characters are spaced, single spaces between
    CJK characters go and longer runs (a real space) become one."""
    lines = []
    # Some fonts' code maps leave a NUL beside every character; no PDF text means one.
    for line in text.replace("\x00", "").splitlines():
        cjk = len(re.findall(f"[{_CJK}]", line))
        if cjk >= 4 and len(_SPACED.findall(line)) >= 0.6 * cjk:
            line = re.sub(r" {2,}", "\0", line)
            line = _SPACED.sub("", line).replace("\0", " ")
        lines.append(line.rstrip())
    return _rejoin("\n".join(lines))


def _rejoin(text: str) -> str:
    """Lines the page width wrapped belong to one paragraph: a line as long as the page's
    longest lines continues onto the next one; a shorter line (a heading, a paragraph's end)
    ends its paragraph, and so does a full line ending a sentence before a heading (a short line
    with no closing punctuation, or a numbered one: "一、…")."""
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines:
        return ""
    full = sorted(len(line) for line in lines)[int(len(lines) * 0.9)] if len(lines) > 3 else 10**9
    paragraphs: list[str] = []
    joining = False
    for index, line in enumerate(lines):
        if joining:
            paragraphs[-1] += line
        else:
            paragraphs.append(line)
        following = lines[index + 1] if index + 1 < len(lines) else ""
        joining = len(line) >= 0.9 * full and not (line.endswith(_SENTENCE_END) and _looks_like_heading(following, full))
    return "\n\n".join(paragraphs)


def _looks_like_heading(line: str, full: int) -> bool:
    line = line.strip()
    return bool(_NUMBERED.match(line)) or (len(line) < 0.9 * full and not line.endswith(_SENTENCE_END + "，,"))
