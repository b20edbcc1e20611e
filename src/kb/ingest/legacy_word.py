"""Word 97-2003 `.doc`, and `.wps`, which WPS 文字 saves in the same format: the text from the
WordDocument stream's piece table (the maintained pure-Python reader `legacy-doc`), and headings from
the paragraph styles ([MS-DOC]: each paragraph's style in the FKP pages the FIB's PlcBtePapx lists,
the style sheet's built-in Heading 1–9 or a style named 标题 N / Heading N); beyond those, structure
comes from the text's own layout as in plain text (numbered titles, lines that open with a unit).
Encrypted files and .wps files of other formats are named refusals."""

from __future__ import annotations

import re
import struct
from pathlib import Path

from kb.ingest.document import build_document
from kb.ingest.errors import IngestError
from kb.records import Document

OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
_ENCRYPTED_FLAG = 0x0100  # FIB base, fEncrypted (MS-DOC 2.5.2)


def load_doc(path: Path, doc_id: str) -> Document:
    raw = path.read_bytes()
    return build_document(path, doc_id, word97_text(path, raw), raw)


def load_wps(path: Path, doc_id: str) -> Document:
    raw = path.read_bytes()
    if not raw.startswith(OLE_MAGIC):
        raise IngestError(path, "empty" if not raw else "wps_not_word")
    return build_document(path, doc_id, word97_text(path, raw, wps=True), raw)


def word97_text(path: Path, raw: bytes, wps: bool = False) -> str:
    """The text of a Word 97 binary file; also what an old .doc renamed .docx holds."""
    from legacy_doc import ExtractionOptions, LegacyDocError, extract_text
    from legacy_doc.ole import OleReader

    if not raw:
        raise IngestError(path, "empty")
    if not raw.startswith(OLE_MAGIC):
        raise IngestError(path, "wps_not_word" if wps else "doc_damaged", detail="not an OLE compound file")
    options = ExtractionOptions(max_file_bytes=max(len(raw), ExtractionOptions().max_file_bytes))
    try:
        ole = OleReader(raw, options=options)
        if ole.has_stream("EncryptedPackage"):  # a password-protected .docx is an OLE file too
            raise IngestError(path, "word_encrypted")
        if not ole.has_stream("WordDocument"):
            raise IngestError(path, "wps_not_word" if wps else "doc_damaged", detail="no WordDocument stream")
        stream = ole.read_stream("WordDocument")
        if len(stream) >= 0x0C and struct.unpack_from("<H", stream, 0x0A)[0] & _ENCRYPTED_FLAG:
            raise IngestError(path, "word_encrypted")
        text = extract_text(raw, options=options).text.replace("\r\n", "\n").replace("\r", "\n")
        headings = _heading_levels(ole, stream)
    except LegacyDocError as exc:
        raise IngestError(path, "doc_damaged", detail=exc) from None
    if not headings:
        return text
    return "\n".join(f"{'#' * headings[line.strip()]} {line.strip()}" if line.strip() in headings else line
                     for line in text.split("\n"))


def _u16(data: bytes, offset: int) -> int:
    return struct.unpack_from("<H", data, offset)[0]


def _u32(data: bytes, offset: int) -> int:
    return struct.unpack_from("<I", data, offset)[0]


def _heading_levels(ole, stream: bytes) -> dict[str, int]:
    """The text of each paragraph set in a heading style, with its level. Styles only add headings: a
    file whose style tables cannot be read gets none, never an error."""
    try:
        table = ole.read_stream("1Table" if _u16(stream, 0x0A) & 0x0200 else "0Table")
        fib = _fc_lcb_start(stream)
        levels = _style_levels(table, _u32(stream, fib + 8), _u32(stream, fib + 12))
        if not levels:
            return {}
        pieces = _pieces(table, _u32(stream, fib + 33 * 8), _u32(stream, fib + 33 * 8 + 4))
        plc_at, plc_size = _u32(stream, fib + 13 * 8), _u32(stream, fib + 13 * 8 + 4)
        plc = table[plc_at:plc_at + plc_size]
        count = (len(plc) - 4) // 8
        found: dict[str, int] = {}
        for index in range(count):
            page = _u32(plc, (count + 1) * 4 + index * 4) & 0x3FFFFF
            fkp = stream[page * 512:(page + 1) * 512]
            runs = fkp[511]
            for run in range(runs):
                at = fkp[(runs + 1) * 4 + run * 13] * 2  # where the run's PAPX starts, in words
                if not at:
                    continue
                style = _u16(fkp, at + 1) if fkp[at] else _u16(fkp, at + 2)
                if style in levels:
                    text = _decode(stream, pieces, _u32(fkp, run * 4), _u32(fkp, run * 4 + 4))
                    if text:
                        found.setdefault(text, levels[style])
        return found
    except (IndexError, struct.error, ValueError, KeyError):
        return {}


def _fc_lcb_start(stream: bytes) -> int:
    """Where FibRgFcLcb begins: after FibBase (32 bytes) and the counted FibRgW and FibRgLw arrays."""
    position = 32
    position += 2 + _u16(stream, position) * 2
    position += 2 + _u16(stream, position) * 4
    return position + 2


def _style_levels(table: bytes, at: int, size: int) -> dict[int, int]:
    """Style index → heading level, from the STSH: sti 1–9 are Word's Heading 1–9; a user style counts
    when it is named 标题 N or Heading N."""
    sheet = table[at:at + size]
    header = _u16(sheet, 0)
    count, base_size = _u16(sheet, 2), _u16(sheet, 4)
    position, levels = 2 + header, {}
    for index in range(count):
        length = _u16(sheet, position)
        std = sheet[position + 2:position + 2 + length]
        position += 2 + length
        if not length:
            continue
        sti = _u16(std, 0) & 0x0FFF
        characters = _u16(std, base_size) if base_size + 2 <= len(std) else 0
        name = std[base_size + 2:base_size + 2 + characters * 2].decode("utf-16-le", errors="replace")
        named = re.fullmatch(r"(?:heading|标题)\s*([1-9])", name.strip(), re.IGNORECASE)
        if 1 <= sti <= 9:
            levels[index] = sti
        elif named:
            levels[index] = int(named.group(1))
    return levels


def _pieces(table: bytes, at: int, size: int) -> list[tuple[int, int, bool]]:
    """(first byte, byte length, 8-bit) of each text piece of the CLX's piece table."""
    clx, position = table[at:at + size], 0
    while position < len(clx) and clx[position] == 0x01:  # Prc entries before the piece table
        position += 3 + _u16(clx, position + 1)
    if position >= len(clx) or clx[position] != 0x02:
        raise ValueError("no piece table")
    plc = clx[position + 5:position + 5 + _u32(clx, position + 1)]
    count = (len(plc) - 4) // 12
    pieces = []
    for index in range(count):
        characters = _u32(plc, (index + 1) * 4) - _u32(plc, index * 4)
        fc = _u32(plc, (count + 1) * 4 + index * 8 + 2)
        compressed = bool(fc & 0x40000000)
        start = (fc & 0x3FFFFFFF) // 2 if compressed else fc
        pieces.append((start, characters * (1 if compressed else 2), compressed))
    return pieces


def _decode(stream: bytes, pieces: list[tuple[int, int, bool]], start: int, end: int) -> str:
    for first, length, compressed in pieces:
        if first <= start < first + length:
            data = stream[start:min(end, first + length)]
            text = data.decode("cp1252", errors="replace") if compressed else data.decode("utf-16-le", errors="replace")
            return "".join(ch for ch in text if ch >= " " or ch == "\t").strip()
    return ""
