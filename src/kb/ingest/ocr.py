"""Reading scans: pages of PDFs without a text layer, images, image-only OFD pages. The engine is
RapidOCR (PP-OCR detection and recognition models shipped inside its wheel, run on ONNX Runtime):
nothing is downloaded. It is the `ocr` install extra; without it a scan is refused, saying so.

Each page gives its text in reading order (lines top to bottom, a two-column page column by column,
lines that reach the right margin joined into their paragraph) and a confidence (the recognition
scores weighted by text length). A page under `MIN_CONFIDENCE` is left out and named, not indexed
as noise. Results are cached on disk by (file hash, page, engine version), so `kb index --rebuild`
never reads a page twice.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import statistics
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kb.cache import cache_home, write_atomically

MIN_CONFIDENCE = 0.6
RENDER_DPI = 200
# The indexer shows OCR progress by page: it sets this around the loading of a file.
page_progress: contextvars.ContextVar[Callable[[int, int], None] | None] = contextvars.ContextVar(
    "page_progress", default=None)
_ENGINE_LOCK = threading.Lock()
_engine = None


@dataclass(frozen=True)
class OcrPage:
    text: str
    confidence: float


def available() -> bool:
    try:
        import pypdfium2  # noqa: F401
        import rapidocr  # noqa: F401
    except ImportError:
        return False
    return True


def engine_version() -> str:
    from rapidocr import _version

    return f"rapidocr-{getattr(_version, '__version__', getattr(_version, 'version', '?'))}"


def _get_engine():
    global _engine
    with _ENGINE_LOCK:
        if _engine is None:
            from rapidocr import RapidOCR

            logging.getLogger("RapidOCR").setLevel(logging.WARNING)
            _engine = RapidOCR()
        return _engine


def read_pages(images: Callable[[int], object], pages: int, file_hash: str) -> list[OcrPage]:
    """OCR of ``pages`` pages; ``images(n)`` renders page n (a PIL image) when the cache lacks it."""
    report = page_progress.get()
    found = []
    for number in range(pages):
        cached = _cache_file(file_hash, number)
        if cached.exists():
            data = json.loads(cached.read_text(encoding="utf-8"))
            page = OcrPage(data["text"], data["confidence"])
        else:
            page = read_image(images(number))
            write_atomically(cached, json.dumps({"text": page.text, "confidence": page.confidence},
                                                ensure_ascii=False).encode("utf-8"))
        found.append(page)
        if report:
            report(number + 1, pages)
    return found


def low_confidence(page: int, confidence: float):
    from kb.reasons import Reason

    return Reason(code="ocr_low_confidence", facts={"page": str(page), "confidence": f"{confidence:.2f}",
                                                    "floor": f"{MIN_CONFIDENCE:.2f}"})


def read_image(image) -> OcrPage:
    import numpy as np

    result = _get_engine()(np.asarray(image.convert("RGB")))
    if result.boxes is None or not len(result.boxes):
        return OcrPage("", 0.0)
    boxes = [_Box(*_bounds(box), text, float(score)) for box, text, score in zip(result.boxes, result.txts, result.scores)
             if str(text).strip()]
    if not boxes:
        return OcrPage("", 0.0)
    total = sum(len(b.text) for b in boxes)
    confidence = sum(b.score * len(b.text) for b in boxes) / total
    return OcrPage(_reading_order(boxes, image.width), confidence)


@dataclass
class _Box:
    left: float
    top: float
    right: float
    bottom: float
    text: str
    score: float

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2


def _bounds(points) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def _reading_order(boxes: list[_Box], width: int) -> str:
    columns = _columns(boxes, width)
    return "\n\n".join(_column_text(column) for column in columns if column)


def _columns(boxes: list[_Box], width: int) -> list[list[_Box]]:
    """Two columns when a vertical band in the page's middle third is crossed by no line and each side
    holds at least a quarter of the lines; else one."""
    for gutter in range(int(width * 0.35), int(width * 0.65), max(1, width // 100)):
        left = [b for b in boxes if b.right <= gutter]
        right = [b for b in boxes if b.left >= gutter]
        if len(left) + len(right) == len(boxes) and min(len(left), len(right)) >= 0.25 * len(boxes):
            return [left, right]
    return [boxes]


def _column_text(boxes: list[_Box]) -> str:
    height = statistics.median(b.bottom - b.top for b in boxes)
    lines: list[list[_Box]] = []
    for box in sorted(boxes, key=lambda b: b.middle):
        if lines and abs(box.middle - statistics.fmean(b.middle for b in lines[-1])) < 0.5 * height:
            lines[-1].append(box)
        else:
            lines.append([box])
    margin = max(b.right for b in boxes)
    paragraphs: list[str] = []
    joining = False
    for line in lines:
        line.sort(key=lambda b: b.left)
        text = "".join(b.text for b in line).strip()
        if joining:
            paragraphs[-1] += text
        else:
            paragraphs.append(text)
        joining = line[-1].right >= margin - 2 * height and not text.endswith(("。", "！", "？", "：", "”"))
    return "\n\n".join(paragraphs)


def _cache_file(file_hash: str, page: int) -> Path:
    base = cache_home() / "ocr"
    version = hashlib.sha256(f"{engine_version()}/{RENDER_DPI}".encode()).hexdigest()[:12]
    return base / version / f"{file_hash}-{page}.json"
