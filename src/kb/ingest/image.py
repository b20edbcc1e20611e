"""Photos and scans saved as images (.png, .jpg, .jpeg, .tif/.tiff with every frame a page, .bmp),
read by OCR (kb.ingest.ocr); each frame keeps its page."""

from __future__ import annotations

import hashlib
from pathlib import Path

from kb.ingest import ocr
from kb.ingest.document import build_document
from kb.ingest.errors import IngestError
from kb.records import Document

SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


def load_image(path: Path, doc_id: str) -> Document:
    raw = path.read_bytes()
    if not raw:
        raise IngestError(path, "empty")
    if not ocr.available():
        raise IngestError(path, "image_needs_ocr")
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(path)
        frames = getattr(image, "n_frames", 1)
        image.load()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise IngestError(path, "image_damaged", detail=exc) from None

    def frame(number: int):
        image.seek(number)
        return image.convert("L")

    pages = ocr.read_pages(frame, frames, hashlib.sha256(raw).hexdigest())
    texts, notes = [], []
    for number, page in enumerate(pages, start=1):
        if page.text and page.confidence >= ocr.MIN_CONFIDENCE:
            texts.append(page.text)
        else:
            texts.append("")
            if page.text:
                notes.append(ocr.low_confidence(number, page.confidence))
    if not any(t.strip() for t in texts):
        raise IngestError(path, "ocr_unreadable", pages=frames, floor=ocr.MIN_CONFIDENCE)
    starts, offset = [], 0
    for text in texts:
        starts.append(offset)
        offset += len(text) + 2
    return build_document(path, doc_id, "\n\n".join(texts), raw, page_starts=starts, notes=notes)
