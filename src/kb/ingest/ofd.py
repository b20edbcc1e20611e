"""OFD (GB/T 33190), the fixed-layout format government systems issue: a zip of XML files. The text
layer is read page by page in the order Document.xml lists the pages — each TextObject's TextCode,
objects on one baseline joined left to right, lines that fill the text width joined into their
paragraph — and lines set in a larger type than the body become headings. Every page keeps its
start offset, as for PDF, so a hit cites its page. A page that is images only (a scan issued as OFD)
is read by OCR (kb.ingest.ocr)."""

from __future__ import annotations

import posixpath
import statistics
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from kb.ingest import limits, ocr
from kb.ingest.archives import check_unpacked_size
from kb.ingest.document import build_document
from kb.ingest.errors import IngestError
from kb.records import Document


@dataclass
class _Line:
    y: float
    x: float
    right: float
    size: float
    text: str


def load_ofd(path: Path, doc_id: str) -> Document:
    raw = path.read_bytes()
    if not raw:
        raise IngestError(path, "empty")
    check_unpacked_size(path)
    try:
        with zipfile.ZipFile(path) as archive:
            doc_root, files = _page_files(archive)
            if len(files) > limits.current().pages:
                raise IngestError(path, "too_many_pages", pages=len(files), limit=limits.current().pages)
            media = _media(archive, doc_root)
            pages = [_page_lines(archive, page) for page in files]
            images = [[] if lines else _page_images(archive, page, media) for page, lines in zip(files, pages)]
    except IngestError:
        raise
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, ValueError) as exc:
        raise IngestError(path, "ofd_damaged", detail=f"{exc.__class__.__name__}: {exc}") from None
    body = _body_size([line for page in pages for line in page])
    texts = [_page_text(lines, body) for lines in pages]
    notes = []
    if any(images):
        if ocr.available():
            texts, notes = _ocr_images(texts, images, raw)
        elif not any(texts):
            raise IngestError(path, "ofd_images_only", pages=len(pages))
    if not any(t.strip() for t in texts):
        if any(images):
            raise IngestError(path, "ocr_unreadable", pages=len(pages), floor=ocr.MIN_CONFIDENCE)
        raise IngestError(path, "no_text")
    starts, offset = [], 0
    for text in texts:
        starts.append(offset)
        offset += len(text) + 2
    return build_document(path, doc_id, "\n\n".join(texts), raw, page_starts=starts, notes=notes)


def _ocr_images(texts: list[str], images: list[list[bytes]], raw: bytes) -> tuple[list[str], list]:
    """Pages that are images only (a scan issued as OFD), read by OCR; each image of a page in turn."""
    import hashlib
    import io

    from PIL import Image

    wanted = [(number, data) for number, page in enumerate(images) for data in page]
    read = ocr.read_pages(lambda i: Image.open(io.BytesIO(wanted[i][1])), len(wanted), hashlib.sha256(raw).hexdigest())
    texts, notes = list(texts), []
    for (number, _), page in zip(wanted, read):
        if page.text and page.confidence >= ocr.MIN_CONFIDENCE:
            texts[number] = (texts[number] + "\n\n" + page.text).strip()
        elif page.text:
            notes.append(ocr.low_confidence(number + 1, page.confidence))
    return texts, notes


def _media(archive: zipfile.ZipFile, doc_root: str) -> dict[str, str]:
    """MultiMedia resource id → its file in the package, from the document's resource files."""
    folder = posixpath.dirname(doc_root)
    document = ElementTree.fromstring(archive.read(doc_root))
    found: dict[str, str] = {}
    for tag in ("PublicRes", "DocumentRes"):
        for entry in _children(document, tag):
            res_file = _resolve(folder, (entry.text or "").strip())
            if res_file not in archive.namelist():
                continue
            res = ElementTree.fromstring(archive.read(res_file))
            base = _resolve(posixpath.dirname(res_file), res.get("BaseLoc", ""))
            for item in _children(res, "MultiMedia"):
                files = _children(item, "MediaFile")
                if files and files[0].text:
                    found[item.get("ID", "")] = _resolve(base, files[0].text.strip())
    return found


def _page_images(archive: zipfile.ZipFile, page_file: str, media: dict[str, str]) -> list[bytes]:
    page = ElementTree.fromstring(archive.read(page_file))
    names = [media.get(image.get("ResourceID", "")) for image in _children(page, "ImageObject")]
    return [archive.read(name) for name in names if name and name in archive.namelist()]


def _resolve(folder: str, location: str) -> str:
    """A location in the package: from its root when it starts with "/", else from ``folder``."""
    return location.lstrip("/") if location.startswith("/") else posixpath.normpath(posixpath.join(folder, location))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element, name: str):
    return [child for child in element.iter() if _local(child.tag) == name]


def _page_files(archive: zipfile.ZipFile) -> tuple[str, list[str]]:
    """The first document's Document.xml, and its pages' Content.xml in the order it lists them."""
    root = ElementTree.fromstring(archive.read("OFD.xml"))
    doc_root = _children(root, "DocRoot")[0].text.strip().lstrip("/")
    document = ElementTree.fromstring(archive.read(doc_root))
    folder = posixpath.dirname(doc_root)
    return doc_root, [_resolve(folder, location) for location in (page.get("BaseLoc", "")
                                                                  for page in _children(document, "Page")) if location]


def _page_lines(archive: zipfile.ZipFile, name: str) -> list[_Line]:
    page = ElementTree.fromstring(archive.read(name))
    found: list[_Line] = []
    for text_object in _children(page, "TextObject"):
        x, y, width, height = (float(v) for v in (text_object.get("Boundary") or "0 0 0 0").split()[:4])
        size = float(text_object.get("Size") or height or 1)
        text = "".join(code.text or "" for code in _children(text_object, "TextCode"))
        if text.strip():
            found.append(_Line(y=y, x=x, right=x + width, size=size, text=text))
    return _on_baselines(found)


def _on_baselines(objects: list[_Line]) -> list[_Line]:
    """Objects whose tops lie within half a line of each other are one line, read left to right."""
    lines: list[_Line] = []
    for item in sorted(objects, key=lambda o: (o.y, o.x)):
        if lines and abs(item.y - lines[-1].y) < 0.5 * max(item.size, lines[-1].size):
            line = lines[-1]
            line.text, line.right, line.size = line.text + item.text, max(line.right, item.right), max(line.size, item.size)
        else:
            lines.append(_Line(item.y, item.x, item.right, item.size, item.text))
    return lines


def _body_size(lines: list[_Line]) -> float:
    sizes = [round(line.size, 1) for line in lines for _ in line.text]
    return statistics.mode(sizes) if sizes else 1.0


def _page_text(lines: list[_Line], body: float) -> str:
    """Paragraphs: a body line reaching the text's right edge continues on the next line; a larger
    line is a heading (# for the largest sizes on the page set, ## below)."""
    if not lines:
        return ""
    right = max(line.right for line in lines)
    larger = sorted({round(line.size, 1) for line in lines if line.size > body * 1.15}, reverse=True)
    paragraphs: list[str] = []
    joining = False
    heading_size = None
    for line in lines:
        text = line.text.strip()
        full = line.right >= right - line.size * 1.5
        if line.size > body * 1.15:
            if joining and heading_size == round(line.size, 1):
                paragraphs[-1] += text  # a heading that wrapped onto the next line
            else:
                level = 1 if round(line.size, 1) == larger[0] else 2
                paragraphs.append(f"{'#' * level} {text}")
            heading_size, joining = round(line.size, 1), full
            continue
        if joining and heading_size is None:
            paragraphs[-1] += text
        else:
            paragraphs.append(text)
        heading_size, joining = None, full
    return "\n\n".join(paragraphs)
