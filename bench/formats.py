"""The formats an office really has: OCR of scans against the known text, the seed questions answered
from a scanned seed as from the text seed, and the text of .doc, .wps and .ofd against the .docx.

Scans are the seed PDF's pages rendered by pdfium in grey at 150, 200 and 300 dpi: as they are, rotated
by 1°, and JPEG-compressed at quality 60 (a phone's photo). Character accuracy is difflib's ratio of the
OCR text to the page's text layer, whitespace removed. The scanned seed (200 dpi, rotated 0.6°, JPEG 70,
an image-only PDF) and the text seed.pdf are indexed apart; for each of the 56 seed questions the first
practice shown must be the same unit.

    python bench/formats.py            # every page, every dpi and variant; the 56 questions (about 6 minutes)
    python bench/formats.py --smoke    # page 1 at 200 dpi; the formats' text (CI)
"""

from __future__ import annotations

import argparse
import csv
import difflib
import io
import json
import re
import tempfile
import time
from pathlib import Path

import _shared

from kb.config import Settings
from kb.index.indexer import index_paths
from kb.ingest import load, ocr
from kb.model.embedder import Embedder
from kb.records import PRACTICE
from kb.search import Searcher

ROOT = _shared.ROOT
FORMATS = ROOT / "tests" / "data" / "formats"


def similarity(truth: str, read: str) -> float:
    def strip(text: str) -> str:
        return re.sub(r"\s|#", "", text)

    return difflib.SequenceMatcher(None, strip(truth), strip(read), autojunk=False).ratio()


def render(page: int, dpi: int, variant: str):
    import pypdfium2
    from PIL import Image

    document = pypdfium2.PdfDocument(FORMATS / "seed.pdf")
    image = document[page].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
    document.close()
    if variant == "rotated":
        image = image.rotate(1.0, resample=Image.BICUBIC, expand=True, fillcolor=255)
    if variant == "jpeg":
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=60)
        image = Image.open(io.BytesIO(buffer.getvalue()))
    return image


def ocr_accuracy(pages: list[int], dpis: list[int]) -> list[dict]:
    from pypdf import PdfReader

    truth = [page.extract_text() for page in PdfReader(FORMATS / "seed.pdf").pages]
    rows = []
    for dpi in dpis:
        for variant in ("clean", "rotated", "jpeg"):
            scores, seconds = [], []
            for page in pages:
                image = render(page, dpi, variant)
                started = time.perf_counter()
                read = ocr.read_image(image)
                seconds.append(time.perf_counter() - started)
                scores.append(similarity(truth[page], read.text))
            rows.append({"dpi": dpi, "variant": variant, "pages": len(pages), "accuracy": sum(scores) / len(scores),
                         "worst": min(scores), "seconds_per_page": sum(seconds) / len(seconds)})
    return rows


def formats_text() -> dict[str, float]:
    original = load(FORMATS / "seed.docx", "seed.docx").text
    return {name: similarity(original, load(FORMATS / name, name).text) for name in ("seed.doc", "seed.wps", "seed.ofd")}


def scanned_seed(folder: Path) -> Path:
    images = [render(page, 200, "jpeg") for page in range(5)]
    target = folder / "scan" / "seed-scan.pdf"
    target.parent.mkdir(parents=True)
    images[0].save(target, "PDF", resolution=200, save_all=True, append_images=images[1:])
    return target


def first_practices(corpus: Path, index_dir: Path, questions: list[str], embedder: Embedder) -> list[str]:
    settings = Settings(corpus_dir=corpus, index_dir=index_dir)
    index_paths(settings, embedder=embedder)
    searcher = Searcher(settings, embedder)
    try:
        found = []
        for question in questions:
            hits = searcher.search(question, k=10, grouped=True).hits
            found.append(next((hit.unit for hit in hits if hit.kind == PRACTICE), ""))
        return found
    finally:
        searcher.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="page 1 at 200 dpi and the formats' text (CI)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    result: dict = {"formats": formats_text()}
    print("text of each format against the .docx (difflib ratio, whitespace removed)")
    for name, score in result["formats"].items():
        print(f"  {name:<10} {score:.4f}")
    if not ocr.available():
        print("OCR is not installed (pip install 'kb[ocr]'): no OCR figures")
        return
    result["ocr"] = ocr_accuracy([0] if args.smoke else list(range(5)), [200] if args.smoke else [150, 200, 300])
    print("\nOCR character accuracy against the text layer (RapidOCR, models in its wheel)")
    print("  dpi  variant   pages  accuracy   worst   s/page")
    for row in result["ocr"]:
        print(f"  {row['dpi']:>3}  {row['variant']:<8} {row['pages']:>5}   {row['accuracy']:.4f}  {row['worst']:.4f}"
              f"   {row['seconds_per_page']:.2f}")
    if not args.smoke:
        with open(ROOT / "tests" / "data" / "seed_queries.tsv", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        questions = [row["query"] for row in rows]
        embedder = Embedder(Settings())
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            (folder / "text").mkdir()
            (folder / "text" / "seed.pdf").write_bytes((FORMATS / "seed.pdf").read_bytes())
            scan = scanned_seed(folder)
            from_text = first_practices(folder / "text", folder / "text-index", questions, embedder)
            from_scan = first_practices(scan.parent, folder / "scan-index", questions, embedder)
        same = sum(a == b for a, b in zip(from_text, from_scan))
        right = sum(b == row["unit"] for b, row in zip(from_scan, rows))
        result["scanned_seed"] = {"questions": len(questions), "same_first_practice": same / len(questions),
                                  "right_from_scan": right / len(questions),
                                  "right_from_text": sum(a == row["unit"] for a, row in zip(from_text, rows)) / len(rows)}
        print(f"\nthe 56 seed questions on the scanned seed (200 dpi, JPEG 60) against the text seed.pdf: the same first "
              f"practice for {same}/{len(questions)} ({same / len(questions):.3f}); the right one "
              f"{right}/{len(questions)} from the scan, {result['scanned_seed']['right_from_text'] * len(rows):.0f}"
              f"/{len(rows)} from the text")
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
